#include "node/snapshotter.h"

#include "node/log.h"
#include "store/snapshot.h"

#include <algorithm>
#include <chrono>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cairn::node {

wire::Status Snapshotter::step(Replica& replica, Stats& stats) {
  if (auto done = poll()) {
    if (done->status.isOk()) {
      stats.snapshotDuration.record(done->took);
      stats.snapshotLastBytes = done->bytes;
    }
    // A failed snapshot costs disk space, not data: the WAL still holds everything, and the next
    // interval tries again.
    const auto t0 = std::chrono::steady_clock::now();
    if (done->index <= adopted_) {
      // Overtaken by a snapshot from the leader, whose install checkpointed the log past it.
    } else if (!done->status.isOk()) {
      logLine("snapshot at index " + std::to_string(done->index) +
              " not written: " + done->status.toString());
    } else if (wire::Status s = replica.finishCheckpoint(done->index); !s.isOk()) {
      return wire::Status(s.code(), "the log failed at the checkpoint of snapshot " +
                                        std::to_string(done->index) + ": " + s.detail());
    } else if (verbose_) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
      logLine("snapshot at index " + std::to_string(done->index) + "; WAL checkpoint took " +
              std::to_string(us) + " us");
    }
  }
  return wire::Status::ok();
}

void Snapshotter::begin(Replica& replica, const store::Store& store) {
  last_ = nextCut();
  if (busy()) return;
  const std::uint64_t idx = store.appliedIndex();
  if (idx <= adopted_) return;
  if (wire::Status s = replica.beginCheckpoint(idx); !s.isOk()) {
    // A segment that could not be opened leaves the log as it was; the next cut tries again.
    logLine("snapshot at index " + std::to_string(idx) + " not begun: " + s.toString());
    return;
  }
  start(store.image());
}

void Snapshotter::adopted(std::uint64_t slot) {
  adopted_ = slot;
  last_ = std::max(last_, slot);
}

Snapshotter::~Snapshotter() {
  if (thread_.joinable()) thread_.join();
}

void Snapshotter::start(store::Image img) {
  index_ = img.index;
  done_.store(false, std::memory_order_relaxed);
  thread_ = std::thread([this, img = std::move(img)] {
    // The lowest CPU priority for this thread only (Linux nice values are per thread): encoding
    // a large tree must not take the cores from the event loops that serve requests. It still
    // gets whatever CPU is idle.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
    const auto t0 = std::chrono::steady_clock::now();
    status_ = store::writeSnapshot(img, dir_);
    took_ = std::chrono::steady_clock::now() - t0;
    struct stat st;
    const std::string file = dir_ + "/" + store::snapshotName(img.index);
    bytes_ = status_.isOk() && ::stat(file.c_str(), &st) == 0
                 ? static_cast<std::uint64_t>(st.st_size)
                 : 0;
    done_.store(true, std::memory_order_release);
  });
}

std::optional<Snapshotter::Outcome> Snapshotter::poll() {
  if (!thread_.joinable() || !done_.load(std::memory_order_acquire)) return std::nullopt;
  thread_.join();
  return Outcome{index_, status_, took_, bytes_};
}

}  // namespace cairn::node
