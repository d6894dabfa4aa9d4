#pragma once
// Snapshot transfer: how a snapshot file crosses from a leader to a follower, as two pure state
// machines (no sockets, files, clocks or threads), so that cairnd's rooms (snapshot_sender.h,
// snapshot_receiver.h) and the simulation run the same rules.
//
// The bytes are one snapshot file (store/FORMAT.md), named by a SnapshotId: the log slot it
// holds, its length and its whole-file checksum (the CRC-32C its last four bytes carry). They go
// in chunks of at most kChunk bytes, each with its own checksum, in a sliding window of kWindow
// chunks (go-back-N): the receiver takes chunks only in order and acknowledges the offset it
// wants next, so drops, duplicates and reorders cost a resend, never a wrong byte. A transfer
// begins with an empty chunk at offset 0 (a hello): the receiver answers with what it already
// holds of that snapshot, so a transfer cut by a reconnect or a leader change resumes where it
// stopped when the new sender has the same snapshot (every node cuts its snapshots at the same
// slots, so it usually does). PROTOCOL.md §15 specifies the messages.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/peer.h"
#include "wire/status.h"

namespace cairn::node {

inline constexpr std::uint64_t kChunk = 1 << 20;
inline constexpr std::uint64_t kWindow = 8;

struct SnapshotId {
  std::uint64_t slot = 0;
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  bool operator==(const SnapshotId& o) const {
    return slot == o.slot && size == o.size && crc == o.crc;
  }
  bool operator!=(const SnapshotId& o) const { return !(*this == o); }
  std::string describe() const;
};

// A snapshot-chunk or snapshot-ack message about `id` (PROTOCOL.md §15.1), from `from` to `to`;
// the caller sets the offset (commit) and, for a chunk, the bytes and their crc.
wire::NodeMessage transferMessage(wire::NodeMessage::Type type, const wire::PeerHeader& from,
                                  std::uint32_t to, const SnapshotId& id);
// The snapshot a chunk or ack names.
inline SnapshotId idOf(const wire::NodeMessage& m) {
  return SnapshotId{m.slot, m.size, m.fileCrc};
}

// The sender's side of one transfer to one peer. Called by its owner (one thread); time is in
// whatever units the owner ticks.
class ChunkSender {
 public:
  struct Options {
    std::uint64_t chunk = kChunk;
    std::uint64_t window = kWindow;
    std::uint64_t retryAfter = 100;    // ticks without progress before the window is resent
    std::uint64_t giveUpAfter = 3000;  // ticks without any ack before the transfer is dropped
    // Most chunk bytes handed out per tick (0: no limit), so a transfer cannot take a whole
    // network link from the cluster's own traffic.
    std::uint64_t bytesPerTick = 0;
  };
  ChunkSender(SnapshotId id, Options o, std::uint64_t now);

  // A chunk to send: [offset, offset + length) of the file; length 0 is the hello.
  struct Chunk {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };
  // The chunks to send now (each once): the hello until it is answered, then whatever of the
  // window is unsent and this tick's byte budget allows. Resends come from tick().
  std::vector<Chunk> due();
  // The receiver holds [0, next) of `id`. An ack for another snapshot is ignored.
  void acked(const SnapshotId& id, std::uint64_t next, std::uint64_t now);
  // Resends from the offset the latest ack named once retryAfter passed without progress;
  // renews the byte budget.
  void tick(std::uint64_t now);

  const SnapshotId& id() const { return id_; }
  bool done() const { return acked_ == id_.size && greeted_; }
  bool greeted() const { return greeted_; }
  // No ack for giveUpAfter ticks: the peer is gone; drop the transfer.
  bool abandoned(std::uint64_t now) const { return now - heard_ >= opts_.giveUpAfter; }
  std::uint64_t acked() const { return acked_; }
  // Where the receiver said it stood when it answered the hello (bytes it already held).
  std::uint64_t resumedAt() const { return resumedAt_; }

 private:
  SnapshotId id_;
  Options opts_;
  bool greeted_ = false;  // the hello was answered
  bool helloDue_ = true;
  std::uint64_t acked_ = 0;     // the receiver holds [0, acked_)
  std::uint64_t sent_ = 0;      // chunks below this were sent since the last rewind
  std::uint64_t last_ = 0;      // the offset the latest ack named
  std::int64_t budget_ = 0;     // bytes allowed now (with bytesPerTick); overdrawn by one chunk
  std::uint64_t progress_ = 0;  // when acked_ last moved (or the window was last resent)
  std::uint64_t heard_ = 0;     // when any ack last came
  std::uint64_t resumedAt_ = 0;
};

// Where a receiver's bytes go: a file in cairnd, memory in the simulation.
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // Drops whatever it holds and begins holding `id` from offset 0.
  virtual wire::Status begin(const SnapshotId& id) = 0;
  virtual wire::Status append(std::string_view bytes) = 0;
  // Every byte arrived and checked: makes the snapshot durable (it may be installed once this
  // returned OK).
  virtual wire::Status finish(const SnapshotId& id) = 0;
};

// The receiver's side. Called by one thread: the one that owns the sink.
class ChunkReceiver {
 public:
  struct Outcome {
    std::optional<std::uint64_t> ack;  // the offset to acknowledge for the chunk's snapshot
    bool complete = false;             // the snapshot is whole, checked and durable in the sink
    wire::Status error;                // why the chunk was refused or the sink failed
  };
  // One chunk of `id` at `offset` (empty: a hello) whose bytes should checksum to `crc`.
  Outcome receive(const SnapshotId& id, std::uint64_t offset, std::string_view bytes,
                  std::uint32_t crc, ChunkSink& sink);
  // The snapshot in progress (slot 0: none).
  const SnapshotId& current() const { return id_; }
  // The snapshot completed last could not be installed after all: stop acknowledging it as held.
  void forget() { done_ = SnapshotId(); }
  std::uint64_t held() const { return next_; }

 private:
  SnapshotId id_;    // in progress
  SnapshotId done_;  // the last one completed: its late chunks are acknowledged whole
  std::uint64_t next_ = 0;
  std::uint32_t bodyCrc_ = 0;  // over [0, min(next_, size - 4))
  std::string trailer_;        // the bytes of [size - 4, next_)
};

}  // namespace cairn::node
