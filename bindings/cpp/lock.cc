#include "bindings/cpp/lock.h"

#include <algorithm>

namespace cairn::client {

using wire::Err;

namespace {

// The oldest entry of a queue directory (lowest rev), and the one just older than `rev`.
struct Places {
  const wire::Entry* first = nullptr;
  const wire::Entry* before = nullptr;
  bool found = false;  // an entry with rev `rev` is there
};

Places places(const std::vector<wire::Entry>& es, std::int64_t rev) {
  Places p;
  for (const auto& e : es) {
    if (e.dir.value_or(false)) continue;
    if (!p.first || e.rev < p.first->rev) p.first = &e;
    if (e.rev == rev) p.found = true;
    if (e.rev < rev && (!p.before || e.rev > p.before->rev)) p.before = &e;
  }
  return p;
}

}  // namespace

Mutex::Mutex(Client& client, const Lease& lease, std::string dir)
    : c_(client), lease_(lease), dir_(std::move(dir)) {
  key_ = dir_ + "/" + std::to_string(lease_.id());
}

Result<std::int64_t> Mutex::lock(std::chrono::milliseconds timeout,
                                 const std::function<bool()>& stop) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  if (rev_ == 0) {
    auto r = c_.set(key_, value_, 0, lease_.id());  // create only: one file per lease
    if (!r) return r.status();
    rev_ = *r;
  }
  while (true) {
    if (!lease_.alive()) {
      Status why = lease_.lost();
      return why.isOk() ? Status(Err::kTimeout, "the lease's keep-alives went unanswered") : why;
    }
    std::int64_t head = 0;
    auto es = c_.getdir(dir_, std::nullopt, &head);
    if (!es && es.status().code() != Err::kNoEnt) return es.status();
    const Places p = es ? places(*es, rev_) : Places{};
    if (!p.found) {
      return Status(Err::kNoEnt, key_ + " is gone: lease " + std::to_string(lease_.id()) +
                                     " ended before the lock was taken");
    }
    if (p.first && p.first->rev == rev_) return rev_;
    const auto now = Clock::now();
    if (now >= deadline || (stop && stop())) {
      (void)unlock();
      return Status(Err::kTimeout, now >= deadline ? "the lock " + dir_ + " was not taken in time"
                                                   : "gave up waiting for " + dir_);
    }
    // Wait for the one before to go (its delete is the next change of its path), waking now and
    // then to look at the lease.
    const auto wait =
        std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                 std::chrono::milliseconds(stop ? 300 : 2000));
    auto w = c_.wait(dir_ + "/" + p.before->name, head + 1, wait);
    if (!w && w.status().code() != Err::kTimeout) return w.status();
  }
}

Status Mutex::unlock() {
  if (rev_ == 0) return Status::ok();
  rev_ = 0;
  auto r = c_.del(key_, -1);
  if (!r && r.status().code() != Err::kNoEnt) return r.status();
  return Status::ok();
}

Election::Election(Client& client, const Lease& lease, std::string dir)
    : queue_(client, lease, std::move(dir)) {}

Result<std::int64_t> Election::campaign(const std::string& value, std::chrono::milliseconds timeout,
                                        const std::function<bool()>& stop) {
  queue_.value_ = value;
  return queue_.lock(timeout, stop);
}

Status Election::resign() {
  return queue_.unlock();
}

Result<Leader> Election::leader() {
  return leaderOf(queue_.c_, queue_.dir_);
}

Result<Leader> leaderOf(Client& client, const std::string& dir) {
  while (true) {
    std::int64_t head = 0;
    auto es = client.getdir(dir, std::nullopt, &head);
    if (!es) return es.status();
    const Places p = places(*es, 0);
    if (!p.first) return Status(Err::kNoEnt, "nobody stands in " + dir);
    const std::string key = dir + "/" + p.first->name;
    auto f = client.get(key, head);  // the same rev as the listing
    if (!f) return f.status();
    if (f->rev != 0) return Leader{key, f->value, f->rev};
  }
}

}  // namespace cairn::client
