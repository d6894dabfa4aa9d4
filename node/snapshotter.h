#pragma once
// Snapshotter: when to snapshot the store and compact the log behind it. Writes each snapshot on
// a thread of its own, so a large tree never stalls the event loop.
//
// Snapshots are cut at the same slots on every node — the first state at or past each multiple
// of `every` (nextCut()) — so that two nodes' snapshots at a slot are the same bytes and a
// transfer cut short by a leader change resumes from the new leader (snapshot_transfer.h). At a
// cut, begin() starts a WAL checkpoint and hands the writer thread an Image (an immutable root,
// see store.h); a later step() sees it durable and finishes the checkpoint (only a durable
// snapshot lets the WAL behind it go). The two threads share nothing mutable but the `done_` flag,
// which publishes status_ (written before done_ is set, read only after it is seen). Called by
// the event loop only.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "node/replica.h"
#include "node/stats.h"
#include "store/store.h"
#include "wire/status.h"

namespace cairn::node {

class Snapshotter {
 public:
  // Snapshots go to `dir`; `lastIndex` is the log slot of the newest snapshot there.
  Snapshotter(std::string dir, std::uint64_t every, std::uint64_t lastIndex, bool verbose)
      : dir_(std::move(dir)), every_(every == 0 ? 1 : every), last_(lastIndex), verbose_(verbose) {}
  ~Snapshotter();
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  // Finishes the checkpoint of a snapshot that became durable. A snapshot that could not be
  // written costs disk space, not data, and is only logged; an error returned means the log
  // itself failed (the replica refuses everything from now on) and the node must halt.
  // Counts each snapshot written in `stats` (its duration and size).
  [[nodiscard]] wire::Status step(Replica& replica, Stats& stats);
  // The next slot to cut a snapshot at: the caller applies the chosen slots up to it, and if the
  // node learned that slot, calls begin() before it applies any later one.
  std::uint64_t nextCut() const { return (last_ / every_ + 1) * every_; }
  // Begins a snapshot of `store` (at the cut), unless one is still being written: that cut is
  // then skipped.
  void begin(Replica& replica, const store::Store& store);
  // A snapshot received from the leader at `slot` is durable in dir and installed: a snapshot
  // being written here is older and no longer wanted (its checkpoint is not finished).
  void adopted(std::uint64_t slot);

  bool busy() const { return thread_.joinable(); }
  // Starts writing `img`; must not be busy.
  void start(store::Image img);
  // When the last start() has finished: its index and status, once. Otherwise nullopt.
  struct Outcome {
    std::uint64_t index;
    wire::Status status;
    std::chrono::nanoseconds took{0};  // writing it, durably
    std::uint64_t bytes = 0;           // the file's size, when written
  };
  std::optional<Outcome> poll();

 private:
  std::string dir_;
  std::uint64_t every_;
  std::uint64_t last_;         // the last cut (or the snapshot the node started from)
  std::uint64_t adopted_ = 0;  // the last snapshot received from the leader
  bool verbose_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::uint64_t index_ = 0;
  wire::Status status_;
  std::chrono::nanoseconds took_{0};
  std::uint64_t bytes_ = 0;
};

}  // namespace cairn::node
