#pragma once
// A replica: the consensus core with its durable state, the seam between the event loop and
// whoever decides the order of commands.
//
// Owns: the Paxos core and the log (store/log.h) that makes its promises and accepted values
// durable: the WAL on disk in cairnd, a MemoryLog in tests and the simulation.
// Called by: the node's event loop only. The loop proposes commands; drain() batches them into
// one slot, persists everything the core produced with one fdatasync (group commit), and only
// then hands back the messages to send and the commands now chosen, in log order.
//
// WAL records (store/FORMAT.md): 'P' a promise, 'A' an accepted value, 'L' the chosen prefix (a
// hint), 'C' a checkpoint, 'I' a snapshot installed from the leader. As a snapshot at slot S
// begins, beginCheckpoint(S) starts a new segment with the state that must survive (the promise,
// the values after S, the hint); once the snapshot is durable, finishCheckpoint(S) records 'C'
// and deletes the segments before the newest checkpoint at or below S - retain, and lets the core
// forget the slots up to S - retain. The `retain` slots kept behind each snapshot, in memory and
// in the WAL across restarts (nothing is copied for it: older segments simply stay), let a
// follower that far behind catch up from the log: a snapshot of a large store costs far more to
// send and install.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "node/chosen.h"
#include "node/paxos/core.h"
#include "store/log.h"
#include "store/store.h"
#include "wire/command.h"
#include "wire/status.h"

namespace cairn::node {

// Where a drain sends the messages that may leave before its fdatasync (see Replica::drain).
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void send(const wire::PeerMessage& m) = 0;
  virtual void send(const wire::NodeMessage& m) = 0;
};

class Replica {
 public:
  struct Opened;
  // Log slots kept behind each snapshot, unless the caller says otherwise (cairnd: --log-retain).
  static constexpr std::uint64_t kRetain = 10000;
  // Recovers `dataDir` (DIR/snap, DIR/wal): the newest snapshot becomes the store, the WAL the
  // core's durable state. `retain`: see Recovered::retain.
  static wire::Result<Opened> open(const paxos::Config& cfg, const std::string& dataDir,
                                   store::Store::Options storeOpts, std::uint64_t retain = kRetain);
  // What a replica recovers from, when the caller brought the log and the store itself (tests,
  // the simulation): the records that survived in `log`, oldest first, and the store from the
  // newest durable snapshot (or an empty one).
  struct Recovered {
    std::unique_ptr<store::Log> log;
    std::vector<store::WalRecord> records;
    std::unique_ptr<store::Store> store;
    // Tells this run's batches from an earlier run's (wire::Batch); 0 draws a random one. The
    // simulation passes a seeded one, so that a seed replays byte for byte.
    std::uint64_t incarnation = 0;
    // Chosen log slots kept behind each snapshot (0: none, every lagging peer past the snapshot
    // needs one). What a restart finds of them is served again.
    std::uint64_t retain = kRetain;
  };
  static wire::Result<Opened> open(const paxos::Config& cfg, Recovered r);

  // Queues a command for the next slot; `proposal` (non-zero) names it in the Chosen output.
  // A follower forwards its queued commands to the leader; with no leader known they wait.
  void propose(wire::Command cmd, std::uint64_t proposal);
  // Takes back a queued command that has not left this node yet; false once it was proposed or
  // forwarded (its outcome is then decided elsewhere).
  bool withdraw(std::uint64_t proposal);
  // True while the command is still queued here (not yet proposed or forwarded).
  bool queued(std::uint64_t proposal) const;
  // A batch forwarded by a follower: proposed as it is when this node leads, else dropped (the
  // follower's client then times out, not knowing the outcome). False, and nothing proposed, when
  // the batch does not decode.
  bool proposeForwarded(std::string batch);
  void step(const wire::PeerMessage& m) { core_.step(m); }
  void tick() { core_.tick(); }

  struct Drained {
    std::vector<Chosen> chosen;
    std::vector<wire::PeerMessage> send;
    std::vector<wire::NodeMessage> forward;  // batches for the leader, when drain had no outbox
    std::optional<std::chrono::nanoseconds> synced;  // how long the log's sync took, if it ran
    std::vector<std::uint64_t> refused;   // proposals this node cannot order now (not the leader)
    std::vector<paxos::ReadState> reads;  // confirmed read points (see Core::readIndex)
    std::vector<paxos::ReadState> readsLost;  // read points the core gave up on
    std::vector<std::uint32_t> snapshotTo;    // peers to send a snapshot of the store
    // The chosen slots themselves, no-ops included, in slot order: what `chosen` was decoded
    // from (the simulation checks them; the event loop may ignore them).
    std::vector<wire::Slot> slots;
  };
  // Proposes what was queued, persists the core's output (one fdatasync), then returns it. An
  // error means the disk failed: nothing may be sent or acknowledged any more, and every later
  // drain() and checkpoint returns the same error (a retried fdatasync that succeeds proves
  // nothing about the records the failed one held).
  //
  // Messages that promise nothing about this node's state — a leader's accepts (a request to
  // vote, which any proposer may make before, or without, voting itself) and forwarded client
  // batches — go to `early` (when given) before the fdatasync, so the followers' disks work while
  // ours does.
  // Promises and votes (and replies to reads) still leave only after it. The leader's own vote
  // counts towards a quorum before it is durable, but a quorum needs a follower's vote too, which
  // is read only after this drain's fdatasync returned.
  wire::Result<Drained> drain(Outbox* early = nullptr);

  // Called as a snapshot of the store at `slot` begins: later records go to a fresh segment that
  // opens with the promise, the values after `slot` and the chosen prefix as they stand now, so
  // that finishCheckpoint(slot), once the snapshot is durable, can drop the segments the log
  // kept behind it no longer needs without copying the values accepted while the snapshot was
  // written, and compact the core's log up to `slot - retain`.
  wire::Status beginCheckpoint(std::uint64_t slot);
  wire::Status finishCheckpoint(std::uint64_t slot);
  // Both steps back to back: compacts the WAL and the core at a snapshot of `slot` that is
  // already durable.
  wire::Status checkpoint(std::uint64_t slot);
  // Called once a snapshot received from the leader is durable and has become the store;
  // `members`: the store's configuration (store::Store::members()).
  wire::Status installSnapshot(std::uint64_t slot, const std::string& members);

  // Makes durable what the log holds in memory (the chosen prefix hints drain() lets wait for the
  // next sync): a node that stops cleanly restarts knowing all it had learned.
  wire::Status flush() { return log_->buffered() > 0 ? sync() : failed_; }

  ~Replica();  // waits for a deletion of old WAL segments in progress
  // Waits until the segments checkpoints let go so far are deleted.
  void finishDeletions();

  const paxos::Core& core() const { return core_; }
  paxos::Core& core() { return core_; }

 private:
  Replica(const paxos::Config& cfg, paxos::Durable d, std::unique_ptr<store::Log> log,
          std::uint64_t incarnation, std::uint64_t retain);
  void append(char type, const std::string& body);
  // Syncs the log; the first failure sticks (see drain()).
  wire::Status sync();

  // Deletes the WAL segments a checkpoint let go (Log::removeFiles) on a thread of its own: an
  // unlink of a 64 MiB segment took 12-60 ms here (the disk is mounted with discard), which the
  // event loop must not wait for. One deletion at a time; files that arrive meanwhile wait for the
  // next checkpoint.
  void reap(std::vector<std::string> paths);
  // Appends what a checkpoint at `slot` restates: the promise, the values the core holds after
  // `slot` and the chosen prefix.
  void restate(std::uint64_t slot);
  // The slot a checkpoint at `slot` keeps the log after: slot - retain, at least 0.
  std::uint64_t keepAfter(std::uint64_t slot) const { return slot > retain_ ? slot - retain_ : 0; }

  paxos::Core core_;
  std::unique_ptr<store::Log> log_;
  wire::Status failed_;  // the first failed sync; ok until then
  std::vector<std::string> unreaped_;
  std::uint64_t cutSlot_ = 0;   // the slot of the checkpoint begun, 0 when none is
  std::uint64_t cutFirst_ = 0;  // the first record of the segment that checkpoint began
  std::thread reaper_;
  std::atomic<bool> reaping_{false};
  std::uint64_t seq_ = 0;  // index of the last WAL record appended
  std::uint64_t cluster_ = 0;
  std::uint64_t retain_ = 0;
  // Checkpoints whose WAL segments are kept, oldest first: (slot, first record of its segment).
  std::deque<std::pair<std::uint64_t, std::uint64_t>> kept_;
  wire::Batch batch_;
};

struct Replica::Opened {
  std::unique_ptr<Replica> replica;
  std::unique_ptr<store::Store> store;
  std::string note;  // what recovery found, for the startup line
};

}  // namespace cairn::node
