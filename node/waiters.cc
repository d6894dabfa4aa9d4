#include "node/waiters.h"

namespace cairn::node {

using wire::Err;
using wire::Reply;

Waiters::Waiters(const ClientService& service, Stats& stats, Hooks hooks)
    : service_(service), stats_(stats), hooks_(std::move(hooks)) {}

std::uint64_t Waiters::add(Envelope env, Action a, Clock::time_point now) {
  const std::uint64_t id = next_++;
  auto deadline = deadlines_.emplace(now + a.wait, id);
  switch (a.kind) {
    case Action::Kind::kWrite:
      writes_.emplace(id, Write{std::move(env), std::move(a.tag), now, a.wait, deadline});
      return id;
    case Action::Kind::kLinearRead: {
      LinearRead& r = reads_[id];
      r.env = std::move(env);
      r.req = std::move(a.request);
      r.wait = a.wait;
      r.deadline = deadline;
      r.asked = hooks_.askReadIndex(id);
      return 0;
    }
    case Action::Kind::kPark:
      parked_.emplace(
          id, Parked{std::move(env), std::move(a.request), std::move(a.glob), a.from, deadline});
      return 0;
    case Action::Kind::kReply:
    case Action::Kind::kSnapshot:  // Backups' (node.cc routes it there)
    case Action::Kind::kMembers:   // Members' (node.cc routes it there)
    case Action::Kind::kLease:     // Leases' (node.cc routes it there)
      break;
  }
  deadlines_.erase(deadline);
  return 0;
}

void Waiters::confirm(Envelope env, Reply reply, std::string tag, Clock::time_point now) {
  const std::uint64_t id = next_++;
  if (!hooks_.askLeadership(id)) {
    answer(env, Reply::error(Err::kUnavailable, "this node stopped leading; ask again"), tag);
    return;
  }
  LinearRead& r = reads_[id];
  r.env = std::move(env);
  r.req.tag = std::move(tag);
  r.wait = kWriteTimeout;
  r.deadline = deadlines_.emplace(now + r.wait, id);
  r.asked = true;
  r.prepared = std::move(reply);
}

void Waiters::answer(const Envelope& env, Reply r, const std::string& tag) {
  hooks_.send(env, r, tag);
}

void Waiters::applied(const Applier::Outcome& o, Clock::time_point now) {
  auto it = writes_.find(o.proposal);
  if (it == writes_.end()) return;
  Reply r = store::replyOf(o.status, o.rev, o.lease, o.succeeded, o.results);
  stats_.commitLatency.record(now - it->second.start);
  if (o.replayed) ++stats_.writesReplayed;
  answer(it->second.env, std::move(r), it->second.tag);
  deadlines_.erase(it->second.deadline);
  writes_.erase(it);
}

void Waiters::refused(std::uint64_t proposal) {
  auto it = writes_.find(proposal);
  if (it == writes_.end()) return;
  answer(it->second.env, Reply::error(Err::kUnavailable, "no leader can order this write now"),
         it->second.tag);
  deadlines_.erase(it->second.deadline);
  writes_.erase(it);
}

void Waiters::leaderChanged() {
  // A read point asked of the old leader may never come (it died with the request): ask the new
  // one. An answer that still comes from the old one is as good (it confirmed with a quorum).
  for (auto& [id, r] : reads_) {
    if (!r.index) r.asked = false;
  }
  for (auto it = writes_.begin(); it != writes_.end();) {
    if (hooks_.queued(it->first)) {  // never left this node: it goes to the new leader
      ++it;
      continue;
    }
    answer(it->second.env,
           Reply::error(Err::kTimeout,
                        "the leader changed before this write was chosen; it may or may not be "
                        "applied"),
           it->second.tag);
    deadlines_.erase(it->second.deadline);
    it = writes_.erase(it);
  }
}

void Waiters::readPoint(std::uint64_t ctx, std::uint64_t index) {
  auto it = reads_.find(ctx);
  if (it != reads_.end()) it->second.index = index;
}

void Waiters::readPointLost(std::uint64_t ctx) {
  auto it = reads_.find(ctx);
  if (it != reads_.end()) it->second.asked = false;
}

template <typename Waiting, typename ReplyFor>
void Waiters::answerEach(Waiting& waiting, ReplyFor replyFor) {
  for (auto it = waiting.begin(); it != waiting.end();) {
    auto& w = it->second;
    std::optional<Reply> r = replyFor(it->first, w);
    if (!r) {
      ++it;
      continue;
    }
    answer(w.env, std::move(*r), w.req.tag);
    deadlines_.erase(w.deadline);
    it = waiting.erase(it);
  }
}

void Waiters::service(std::uint64_t learned, Clock::time_point now) {
  if (!parked_.empty() && servedHead_ != service_.head()) serveParked();
  answerEach(reads_, [&](std::uint64_t id, LinearRead& r) -> std::optional<Reply> {
    if (r.index && (r.prepared || learned >= *r.index)) {
      if (r.prepared) return std::move(*r.prepared);
      return service_.read(r.req, service_.head(), r.env.identity);
    }
    if (!r.asked && r.prepared) {
      // Another node's confirmation would not do: this node's clock made the reply.
      return Reply::error(Err::kUnavailable,
                          "this node stopped leading before a quorum confirmed it; ask again");
    }
    if (!r.asked) r.asked = hooks_.askReadIndex(id);
    return std::nullopt;
  });
  expire(now);
}

void Waiters::serveParked() {
  const std::int64_t head = service_.head();
  servedHead_ = head;
  answerEach(parked_, [&](std::uint64_t, Parked& p) -> std::optional<Reply> {
    if (p.glob) return service_.tryWait(*p.glob, &p.from);
    if (p.from <= head) return service_.read(p.req, p.from, p.env.identity);
    return std::nullopt;
  });
}

void Waiters::regranted() {
  // A prepared reply (a KEEPALIVE's, done already) waits only for this node's confirmation.
  answerEach(reads_, [this](std::uint64_t, LinearRead& l) -> std::optional<Reply> {
    if (l.prepared) return std::nullopt;
    return service_.refusal(l.req, l.env.identity);
  });
  answerEach(parked_,
             [this](std::uint64_t, Parked& p) { return service_.refusal(p.req, p.env.identity); });
}

void Waiters::expire(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const std::uint64_t id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    if (auto w = writes_.find(id); w != writes_.end()) {
      const std::string within = " within " + quoteDuration(w->second.wait);
      Reply r = hooks_.withdraw(id)
                    ? Reply::error(Err::kUnavailable, "no leader with a quorum" + within +
                                                          "; the write was not applied")
                    : Reply::error(Err::kTimeout,
                                   "not chosen" + within + "; the write may or may not be applied");
      answer(w->second.env, std::move(r), w->second.tag);
      writes_.erase(w);
    } else if (auto l = reads_.find(id); l != reads_.end()) {
      const std::string within = quoteDuration(l->second.wait);
      answer(l->second.env,
             Reply::error(Err::kUnavailable,
                          l->second.prepared
                              ? "no quorum confirmed within " + within + " that this node leads"
                              : "no quorum confirmed a read point within " + within +
                                    " (use consistency \"local\" to read this node's state)"),
             l->second.req.tag);
      reads_.erase(l);
    } else if (auto p = parked_.find(id); p != parked_.end()) {
      Reply r = errorAt(
          wire::Status(Err::kTimeout, p->second.glob ? "no matching change before the timeout"
                                                     : "rev not reached before the timeout"),
          service_.head());
      answer(p->second.env, std::move(r), p->second.req.tag);
      parked_.erase(p);
    }
  }
}

void Waiters::abandon(const wire::Status& why) {
  const std::int64_t head = service_.head();
  for (auto& [id, w] : writes_) {
    Reply r =
        hooks_.queued(id)
            ? errorAt(why, head)
            : Reply::error(Err::kTimeout, why.detail() + "; the write may or may not be applied");
    answer(w.env, std::move(r), w.tag);
  }
  for (auto& [id, r] : reads_)
    answer(r.env, errorAt(why, head), r.req.tag);
  for (auto& [id, p] : parked_)
    answer(p.env, errorAt(why, head), p.req.tag);
  writes_.clear();
  reads_.clear();
  parked_.clear();
  deadlines_.clear();
}

std::optional<Waiters::Clock::time_point> Waiters::earliest() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

}  // namespace cairn::node
