#include "node/leases.h"

#include <string>

#include "node/client_service.h"

namespace cairn::node {

using wire::Err;
using wire::Reply;

namespace {

Reply noLease(std::uint64_t id, const char* why) {
  return Reply::error(Err::kNoEnt, "lease " + std::to_string(id) + " " + why);
}

}  // namespace

Reply Leases::elsewhere(const std::string& what) const {
  const std::uint32_t leader = hooks_.leader();
  if (leader == self_)
    return Reply::error(Err::kUnavailable, "this node is taking office; try again");
  return notLeader(what, leader, leader != 0 ? hooks_.clientOf(leader) : "");
}

Reply Leases::handle(const wire::Request& req, Clock::time_point now) {
  const auto id = static_cast<std::uint64_t>(req.lease.value_or(0));
  if (req.verb == wire::Verb::kLease) {
    // The time left is the leader's to tell; with no leader known, this node's state will do.
    if (!inOffice_ && hooks_.leader() != 0) return elsewhere("LEASE requests");
    return info(id, now);
  }
  if (!inOffice_) return elsewhere("keep-alives");
  return keepAlive(id, now);
}

void Leases::track(std::uint64_t id, std::int64_t ttl, Clock::time_point now) {
  Live& l = live_[id];
  l.deadline = deadlines_.emplace(now + std::chrono::milliseconds(ttl), id);
}

void Leases::renew(Live& l, std::uint64_t id, std::int64_t ttl, Clock::time_point now) {
  deadlines_.erase(l.deadline);
  l.deadline = deadlines_.emplace(now + std::chrono::milliseconds(ttl), id);
}

std::vector<wire::Command> Leases::step(bool inOffice, std::uint64_t term, Clock::time_point now) {
  std::vector<wire::Command> out;
  // A cluster that never granted a lease writes no term (and nothing new on disk or the wire).
  const bool termed = store_.term() == term || store_.nextLease() == 1;
  if (!inOffice || !termed) {
    if (inOffice_) {  // out of office: the next leader keeps the time
      live_.clear();
      deadlines_.clear();
      inOffice_ = false;
    }
    if (!inOffice) {
      termAsked_.reset();
      return out;
    }
    // In office, its term not applied yet: propose it (again after kRetry, or for a new term).
    if (term_ != term || !termAsked_ || now - *termAsked_ >= kRetry) {
      term_ = term;
      termAsked_ = now;
      wire::Command c;
      c.op = wire::Command::Op::kTerm;
      c.term = term;
      out.push_back(std::move(c));
    }
    return out;
  }
  termAsked_.reset();
  const auto& leases = store_.leases();
  if (!inOffice_) {  // taking office: every lease gets a full ttl from now
    inOffice_ = true;
    for (const auto& [id, l] : leases)
      track(id, l.ttl, now);
    seenNext_ = store_.nextLease();
  }
  if (store_.nextLease() != seenNext_) {  // granted since the last turn
    for (auto it = leases.lower_bound(seenNext_); it != leases.end(); ++it)
      track(it->first, it->second.ttl, now);
    seenNext_ = store_.nextLease();
  }
  if (live_.size() != leases.size()) {  // some ended (a REVOKE was applied)
    for (auto it = live_.begin(); it != live_.end();) {
      if (leases.count(it->first)) {
        ++it;
        continue;
      }
      deadlines_.erase(it->second.deadline);
      it = live_.erase(it);
    }
  }
  std::vector<std::uint64_t> due;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now; ++it)
    due.push_back(it->second);
  for (std::uint64_t id : due) {
    // Ending: its REVOKE is proposed, and proposed again after kRetry if it is still here then.
    Live& l = live_.at(id);
    l.ending = true;
    deadlines_.erase(l.deadline);
    l.deadline = deadlines_.emplace(now + kRetry, id);
    wire::Command c;
    c.op = wire::Command::Op::kRevoke;
    c.lease = id;
    c.value = "expired";
    c.term = term;  // void if another leader's TERM is applied first
    out.push_back(std::move(c));
  }
  return out;
}

void Leases::used(const std::vector<std::uint64_t>& sessions, Clock::time_point now) {
  if (!inOffice_) return;
  for (std::uint64_t id : sessions) {
    auto it = live_.find(id);
    const store::Lease* lease = store_.lease(id);
    if (it == live_.end() || !lease || it->second.ending) continue;
    const auto fresh = now + std::chrono::milliseconds(lease->ttl);
    if (fresh - it->second.deadline->first < std::chrono::milliseconds(lease->ttl / 64)) continue;
    renew(it->second, id, lease->ttl, now);
  }
}

Reply Leases::keepAlive(std::uint64_t id, Clock::time_point now) {
  const store::Lease* lease = store_.lease(id);
  auto it = live_.find(id);
  if (!lease || it == live_.end())
    return noLease(id, "does not exist (it ended, or was never granted)");
  if (it->second.ending) return noLease(id, "expired: its files are being deleted");
  renew(it->second, id, lease->ttl, now);
  Reply r;
  r.lease = static_cast<std::int64_t>(id);
  r.ttl = lease->ttl;
  return r;
}

Reply Leases::info(std::uint64_t id, Clock::time_point now) const {
  const store::Lease* lease = store_.lease(id);
  if (!lease) return noLease(id, "does not exist (it ended, or was never granted)");
  Reply r;
  r.lease = static_cast<std::int64_t>(id);
  r.ttl = lease->ttl;
  r.head = store_.rev();
  std::vector<wire::Entry> files;  // built apart: GCC's ASan build misjudges emplace() here
  files.reserve(lease->files.size());
  for (const std::string& path : lease->files) {
    wire::Entry e;
    e.path = path;
    e.rev = store_.stat(path, store_.rev()).rev;
    files.push_back(std::move(e));
  }
  r.entries = std::move(files);
  if (auto it = live_.find(id); it != live_.end()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(it->second.deadline->first - now);
    r.remaining = it->second.ending ? 0 : std::max<std::int64_t>(0, left.count());
  }
  return r;
}

std::optional<Leases::Clock::time_point> Leases::earliest() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

}  // namespace cairn::node
