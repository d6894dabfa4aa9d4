#include "bindings/cpp/lease.h"

namespace cairn::client {

using wire::Err;

namespace {

// 90% of the ttl: what a keep-alive answered buys, by the client's clock.
Lease::Clock::duration sure(std::chrono::milliseconds ttl) {
  return std::chrono::duration_cast<Lease::Clock::duration>(ttl * 9 / 10);
}

}  // namespace

Result<std::unique_ptr<Lease>> Lease::grant(const Options& opts, std::chrono::milliseconds ttl) {
  Client c(opts);
  const auto sent = Clock::now();
  auto id = c.grant(ttl);
  if (!id) return id.status();
  return std::unique_ptr<Lease>(new Lease(opts, *id, ttl, sent));
}

Lease::Lease(Options opts, std::uint64_t id, std::chrono::milliseconds ttl, Clock::time_point sent)
    : opts_(std::move(opts)),
      id_(id),
      ttl_(ttl),
      until_((sent + sure(ttl)).time_since_epoch().count()) {
  th_ = std::thread([this] { run(); });
}

Lease::~Lease() {
  (void)revoke();
}

bool Lease::alive() const {
  return lost().isOk() && Clock::now() < aliveUntil();
}

Status Lease::lost() const {
  std::lock_guard<std::mutex> l(mu_);
  return lost_;
}

Status Lease::revoke() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return Status::ok();
    stop_ = true;
  }
  cv_.notify_all();
  if (th_.joinable()) th_.join();
  Client c(opts_);
  auto r = c.revoke(id_);
  if (!r && r.status().code() != Err::kNoEnt) return r.status();
  return Status::ok();
}

void Lease::run() {
  Options o = opts_;
  o.timeout =
      std::min(o.timeout, std::chrono::milliseconds(std::max<std::int64_t>(ttl_.count() / 3, 200)));
  Client c(o);
  auto next = Clock::now() + ttl_ / 3;
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_until(l, next, [this] { return stop_; });
    if (stop_) return;
    l.unlock();
    const auto sent = Clock::now();
    auto r = c.keepAlive(id_);
    l.lock();
    if (r) {
      until_ = (sent + sure(*r)).time_since_epoch().count();
      next = sent + *r / 3;
      continue;
    }
    if (r.status().code() == Err::kNoEnt) {
      lost_ = r.status();
      return;
    }
    if (Clock::now() >= aliveUntil()) {
      lost_ = Status(Err::kTimeout, "lease " + std::to_string(id_) +
                                        ": no keep-alive answered within its ttl (" +
                                        r.status().toString() + ")");
      return;
    }
    next = Clock::now() + std::chrono::milliseconds(100);  // another node, or a new leader
  }
}

}  // namespace cairn::client
