#pragma once
// Lease: a lease granted and kept alive by a thread of its own (PROTOCOL.md §7, "Leases").
//
// It grants the lease, then sends a KEEPALIVE to the leader every third of the ttl, on its own
// connection, until revoke() or destruction (which revokes it). alive() says whether the lease is
// surely alive now: a keep-alive sent at t was answered, and now < t + 90% of the ttl (10% kept
// for the clocks' drift). Code that holds a lock or leadership by the lease stops acting as holder
// once alive() is false; lost() says the lease is gone for good (NOENT, or no answer in time).
// Thread-safe: the keep-alive thread and the caller share only atomics and a mutex-guarded status.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "bindings/cpp/client.h"

namespace cairn::client {

class Lease {
 public:
  using Clock = std::chrono::steady_clock;
  // Grants a lease of `ttl` through `opts`' endpoints and starts keeping it alive.
  static Result<std::unique_ptr<Lease>> grant(const Options& opts, std::chrono::milliseconds ttl);
  ~Lease();  // revokes it (its files go now, not a ttl later), best effort
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  std::uint64_t id() const { return id_; }
  std::chrono::milliseconds ttl() const { return ttl_; }
  bool alive() const;
  // The time until which the lease is surely alive (see above).
  Clock::time_point aliveUntil() const { return Clock::time_point(Clock::duration(until_.load())); }
  // Why the lease is gone (OK while it is not): NOENT when the cluster ended it, TIMEOUT when no
  // keep-alive was answered before aliveUntil().
  Status lost() const;
  // Ends it now; the keep-alives stop.
  Status revoke();

 private:
  Lease(Options opts, std::uint64_t id, std::chrono::milliseconds ttl, Clock::time_point sent);
  void run();

  Options opts_;
  std::uint64_t id_;
  std::chrono::milliseconds ttl_;
  std::atomic<Clock::rep> until_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Status lost_;
  std::thread th_;
};

}  // namespace cairn::client
