#pragma once
// Writes snapshots on a thread of its own, so a large tree never stalls the event loop.
//
// The event loop hands it an Image (an immutable root, see store.h) and polls for the outcome;
// the two threads share nothing mutable but the `done_` flag, which publishes status_ (written
// before done_ is set, read only after it is seen).

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "store/store.h"
#include "wire/status.h"

namespace cairn::node {

class Snapshotter {
 public:
  explicit Snapshotter(std::string dir) : dir_(std::move(dir)) {}
  ~Snapshotter();
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

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
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::uint64_t index_ = 0;
  wire::Status status_;
};

}  // namespace cairn::node
