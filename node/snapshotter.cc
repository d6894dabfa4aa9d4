#include "node/snapshotter.h"

#include "store/snapshot.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cairn::node {

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
    status_ = store::writeSnapshot(img, dir_);
    done_.store(true, std::memory_order_release);
  });
}

void Snapshotter::abandon() {
  if (thread_.joinable()) thread_.join();
}

std::optional<Snapshotter::Outcome> Snapshotter::poll() {
  if (!thread_.joinable() || !done_.load(std::memory_order_acquire)) return std::nullopt;
  thread_.join();
  return Outcome{index_, status_};
}

}  // namespace cairn::node
