#include "node/worker.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace cairn::node {

Worker::Worker(int niceness) {
  fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd_ < 0) std::abort();  // out of file descriptors at startup: nothing sensible to do
  thread_ = std::thread([this, niceness] { main(niceness); });
}

Worker::~Worker() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    jobs_.clear();
  }
  cv_.notify_one();
  thread_.join();
  ::close(fd_);
}

void Worker::post(Job job) {
  ++pending_;
  {
    std::lock_guard<std::mutex> l(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void Worker::runCompletions() {
  std::uint64_t n;
  while (::read(fd_, &n, sizeof n) > 0) {
  }
  std::deque<Completion> ready;
  {
    std::lock_guard<std::mutex> l(mu_);
    ready.swap(done_);
  }
  for (Completion& c : ready) {
    --pending_;
    if (c) c();
  }
}

void Worker::main(int niceness) {
  if (niceness != 0) {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), niceness);
  }
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [this] { return stop_ || !jobs_.empty(); });
    if (stop_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    l.unlock();
    Completion c = job();
    l.lock();
    if (stop_) return;
    done_.push_back(std::move(c));
    const std::uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof one);
  }
}

}  // namespace cairn::node
