#pragma once
// Snapshotter: when to snapshot the store and compact the log behind it. Writes each snapshot on
// a thread of its own, so a large tree never stalls the event loop.
//
// Once every `every` applied log slots, step() begins a WAL checkpoint and hands the writer thread
// an Image (an immutable root, see store.h); a later step() sees it durable and finishes the
// checkpoint (only a durable snapshot lets the WAL behind it go). The two threads share nothing
// mutable but the `done_` flag, which publishes status_ (written before done_ is set, read only
// after it is seen). Called by the event loop only.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "node/replica.h"
#include "store/store.h"
#include "wire/status.h"

namespace cairn::node {

class Snapshotter {
 public:
  // Snapshots go to `dir`; `lastIndex` is the log slot of the newest snapshot there.
  Snapshotter(std::string dir, std::uint64_t every, std::uint64_t lastIndex, bool verbose)
      : dir_(std::move(dir)), every_(every), last_(lastIndex), verbose_(verbose) {}
  ~Snapshotter();
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  // Finishes the checkpoint of a snapshot that became durable, and begins the next one when
  // `every` slots were applied since the last. A snapshot that could not be written costs disk
  // space, not data, and is only logged; an error returned means the log itself failed (the
  // replica refuses everything from now on) and the node must halt.
  [[nodiscard]] wire::Status step(Replica& replica, const store::Store& store);
  // Makes a snapshot received from the leader durable in dir, in place of any being written here
  // (older, and no longer wanted). The log behind it may go only once this returned OK.
  wire::Status adopt(const store::Image& img);

  bool busy() const { return thread_.joinable(); }
  // Starts writing `img`; must not be busy.
  void start(store::Image img);
  // When the last start() has finished: its index and status, once. Otherwise nullopt.
  struct Outcome {
    std::uint64_t index;
    wire::Status status;
  };
  std::optional<Outcome> poll();
  // Waits for a snapshot being written, and forgets its outcome.
  void abandon();

 private:
  std::string dir_;
  std::uint64_t every_;
  std::uint64_t last_;
  bool verbose_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::uint64_t index_ = 0;
  wire::Status status_;
};

}  // namespace cairn::node
