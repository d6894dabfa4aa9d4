#pragma once
// Worker: one background thread for a room's slow work (file reads and writes, checksums,
// decoding a snapshot), so the event loop never waits on it.
//
// Owns: the thread, its job queue and the queue of completions. A job runs on the worker's thread
// and returns a completion, which runs on the loop's thread when the loop sees fd() readable and
// calls runCompletions(). Jobs run one at a time, in the order posted. Called by: the owning
// room, on the loop's thread. The destructor waits for the job running, drops the rest, and never
// runs their completions; so a completion may use its room freely.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace cairn::node {

class Worker {
 public:
  using Completion = std::function<void()>;
  using Job = std::function<Completion()>;

  // `niceness`: the thread's CPU priority (0 normal .. 19 lowest; Linux nice values are per
  // thread).
  explicit Worker(int niceness = 0);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void post(Job job);
  // Readable while completions wait.
  int fd() const { return fd_; }
  void runCompletions();
  // Jobs posted and not yet completed (their completions not yet run).
  std::size_t pending() const { return pending_; }

 private:
  void main(int niceness);

  int fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::deque<Completion> done_;
  bool stop_ = false;
  std::size_t pending_ = 0;  // loop thread only
  std::thread thread_;
};

}  // namespace cairn::node
