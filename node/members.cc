#include "node/members.h"

#include "node/client_service.h"
#include "node/identity.h"

namespace cairn::node {

using wire::Err;
using wire::Reply;
using wire::Request;
using wire::Status;
using wire::Verb;

Members::Members(std::uint32_t self, Options opts, Replica& replica, Hooks hooks)
    : self_(self), opts_(std::move(opts)), replica_(replica), hooks_(std::move(hooks)) {}

std::vector<wire::MemberInfo> Members::describe(const wire::Membership& m,
                                                const paxos::Core* leader) {
  std::vector<wire::MemberInfo> out;
  for (const wire::Member& e : m.members) {
    wire::MemberInfo i;
    i.id = e.id;
    i.role = e.voter ? "voter" : e.observer ? "observer" : "learner";
    i.peer = e.peer;
    i.client = e.client;
    i.events = e.events;
    if (leader) {
      if (e.id == leader->id()) {
        i.learned = static_cast<std::int64_t>(leader->learned());
      } else if (auto l = leader->peerLearned(e.id)) {
        i.learned = static_cast<std::int64_t>(*l);
      }
    }
    out.push_back(std::move(i));
  }
  return out;
}

void Members::reply(const Envelope& env, Reply r, const std::string& tag) {
  hooks_.send(env, r, tag);
}

wire::Result<wire::Membership> Members::next(const Request& req, std::uint32_t* member) const {
  const wire::Membership& cur = replica_.core().membership();
  wire::Membership n = cur;
  n.version = cur.version + 1;
  if (req.verb == Verb::kJoin) {
    for (const wire::Member& m : cur.members) {
      if (m.peer == *req.peer) {
        return Status(Err::kBadRequest,
                      "peer endpoint " + *req.peer + " is member " + std::to_string(m.id) + "'s");
      }
    }
    std::uint32_t id = cur.nextId;
    if (req.id) {
      if (*req.id < 1 || *req.id > 65535) return Status(Err::kRange, "id must be 1..65535");
      id = static_cast<std::uint32_t>(*req.id);
      if (cur.has(id)) {
        return Status(Err::kBadRequest, "id " + std::to_string(id) + " is taken: node " +
                                            std::to_string(id) + " is a member");
      }
      if (id < cur.nextId) {
        return Status(Err::kBadRequest, "id " + std::to_string(id) +
                                            " was handed out before (ids are never reused); "
                                            "join without --id, or with one >= " +
                                            std::to_string(cur.nextId));
      }
    }
    wire::Member m;
    m.id = id;
    m.voter = false;
    m.peer = *req.peer;
    m.client = req.client.value_or("");
    m.events = req.events.value_or("");
    m.observer = req.observer.value_or(false);
    auto at = std::lower_bound(n.members.begin(), n.members.end(), id,
                               [](const wire::Member& e, std::uint32_t v) { return e.id < v; });
    n.members.insert(at, m);
    n.nextId = std::max(n.nextId, id + 1);
    *member = id;
    return n;
  }
  const std::uint32_t id = static_cast<std::uint32_t>(*req.id);
  *member = id;
  const wire::Member* m = cur.find(id);
  if (!m) return Status(Err::kNoEnt, "node " + std::to_string(id) + " is not a member");
  if (req.verb == Verb::kPromote) {
    if (m->voter) return Status(Err::kBadRequest, "node " + std::to_string(id) + " is a voter");
    for (wire::Member& e : n.members) {
      if (e.id == id) e.voter = true;
    }
    return n;
  }
  if (m->voter && cur.voters().size() == 1) {
    return Status(Err::kBadRequest, "node " + std::to_string(id) + " is the last voter");
  }
  n.members.erase(std::remove_if(n.members.begin(), n.members.end(),
                                 [&](const wire::Member& e) { return e.id == id; }),
                  n.members.end());
  return n;
}

void Members::handle(Envelope env, const Request& req, Clock::time_point now) {
  const paxos::Core& core = replica_.core();
  const bool leading = core.role() == paxos::Core::Role::kLeader;
  if (req.verb == Verb::kMembers) {
    Reply r;
    r.members = describe(core.membership(), leading ? &core : nullptr);
    if (hooks_.complete) {
      for (wire::MemberInfo& m : *r.members)
        hooks_.complete(m);
    }
    r.config = static_cast<std::int64_t>(core.membership().version);
    r.cluster = clusterHex(core.membership().cluster);
    if (core.leader() != 0) r.leader = core.leader();
    reply(env, std::move(r), req.tag);
    return;
  }
  if (!leading) {
    const std::string ep = core.leader() != 0 ? hooks_.clientOf(core.leader()) : "";
    reply(env, notLeader("membership changes", core.leader(), ep), req.tag);
    return;
  }
  // A node that asks again after its JOIN timed out finds itself a member already.
  if (req.verb == Verb::kJoin) {
    for (const wire::Member& m : core.membership().members) {
      if (m.peer == *req.peer && !m.voter && m.client == req.client.value_or("") &&
          m.events == req.events.value_or("") && (!req.id || *req.id == m.id)) {
        Pending p{std::move(env),
                  req.tag,
                  req.verb,
                  m.id,
                  m,
                  core.learned(),
                  core.membership().version,
                  now};
        answer(p);
        return;
      }
    }
  }
  if (req.verb == Verb::kPromote && req.id) {
    const wire::Member* m = core.membership().find(static_cast<std::uint32_t>(*req.id));
    if (m && !m->voter) {
      if (Status s = caughtUp(core, m->id); !s.isOk()) {
        reply(env, Reply::error(s.code(), s.detail()), req.tag);
        return;
      }
    }
  }
  std::uint32_t member = 0;
  auto n = next(req, &member);
  if (!n) {
    reply(env, Reply::error(n.status().code(), n.status().detail()), req.tag);
    return;
  }
  auto slot = replica_.core().proposeMembership(*n);
  if (!slot) {
    reply(env, Reply::error(slot.status().code(), slot.status().detail()), req.tag);
    return;
  }
  hooks_.log(std::string(wire::verbName(req.verb)) + " node " + std::to_string(member) +
             ": configuration " + std::to_string(n->version) + " proposed at slot " +
             std::to_string(*slot));
  const wire::Member* joining = n->find(member);
  pending_.push_back(Pending{std::move(env), req.tag, req.verb, member,
                             joining ? *joining : wire::Member{}, *slot, n->version,
                             now + opts_.timeout});
}

bool Members::holds(const Pending& p, const wire::Membership& m) {
  if (m.version < p.version) return false;
  switch (p.verb) {
    case Verb::kJoin: {
      // Its id, with its endpoints: a JOIN another leader chose may have handed the id out.
      const wire::Member* got = m.find(p.member);
      return got && got->peer == p.joining.peer && got->client == p.joining.client &&
             got->events == p.joining.events;
    }
    case Verb::kPromote:
      return m.isVoter(p.member);
    default:
      return !m.has(p.member);
  }
}

void Members::answer(const Pending& p) {
  const paxos::Core& core = replica_.core();
  const wire::Membership& m = core.membership();
  Reply r;
  if (!holds(p, m)) {
    r = Reply::error(Err::kUnavailable,
                     "the change was not chosen (the leader changed meanwhile); try again");
  }
  r.config = static_cast<std::int64_t>(m.version);
  r.id = p.member;
  if (p.verb == Verb::kJoin && r.err == Err::kOk) {
    r.cluster = clusterHex(m.cluster);
    r.members = describe(m, nullptr);
    std::vector<wire::MemberInfo> boot;
    for (const auto& [id, ep] : opts_.bootstrap) {
      wire::MemberInfo i;
      i.id = id;
      i.role = "voter";
      i.peer = ep;
      boot.push_back(std::move(i));
    }
    r.bootstrap = std::move(boot);
  }
  if (core.leader() != 0) r.leader = core.leader();
  hooks_.send(p.env, r, p.tag);
}

// A learner counts in quorums only once it holds everything chosen before this leader first
// heard from it (its target), and is within kPromoteLag slots of the leader. Without the target, a
// fresh learner holding nothing would be within the lag of a small log: the values chosen before
// it joined would be on the old voters alone, and losing those (a cluster grown from one node)
// would leave the new quorum unable to recover them. The target is fixed once set, so a learner
// that keeps up with the writes reaches it however busy the cluster is.
Status Members::caughtUp(const paxos::Core& core, std::uint32_t id) const {
  auto l = core.peerLearned(id);
  auto target = targets_.find(id);
  if (!l || target == targets_.end()) {
    return Status(Err::kUnavailable,
                  "node " + std::to_string(id) + " has not answered the leader lately; try again");
  }
  const std::uint64_t need =
      std::max(target->second, core.learned() > kPromoteLag ? core.learned() - kPromoteLag : 0);
  if (*l < need) {
    return Status(Err::kUnavailable,
                  "node " + std::to_string(id) + " has not caught up (it has learned slot " +
                      std::to_string(*l) + " of " + std::to_string(need) + " it needs); try again");
  }
  return Status::ok();
}

void Members::watchLearners(const paxos::Core& core) {
  if (core.role() != paxos::Core::Role::kLeader) {
    targets_.clear();
    return;
  }
  for (auto it = targets_.begin(); it != targets_.end();) {
    const wire::Member* m = core.membership().find(it->first);
    it = m && !m->voter && core.peerLearned(it->first) ? std::next(it) : targets_.erase(it);
  }
  for (const wire::Member& e : core.membership().members) {
    if (!e.voter && core.peerLearned(e.id)) targets_.try_emplace(e.id, core.learned());
  }
}

void Members::maintain(Clock::time_point now) {
  const paxos::Core& core = replica_.core();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (core.learned() >= it->slot) {
      answer(*it);
      it = pending_.erase(it);
    } else if (now >= it->deadline) {
      Reply r = Reply::error(Err::kTimeout,
                             "the change was not chosen in time; it may still take effect "
                             "(see cairn members)");
      hooks_.send(it->env, r, it->tag);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  watchLearners(core);
  // Promote a learner that caught up, one at a time.
  if (core.role() != paxos::Core::Role::kLeader || core.changing()) return;
  if (promoting_ != 0 && core.learned() < promoting_) return;
  promoting_ = 0;
  // A copy: proposing may choose the change at once (a leader that is the only voter), and the
  // core then lets go of the configuration it replaced.
  const wire::Membership m = core.membership();
  for (const wire::Member& e : m.members) {
    if (e.voter || e.observer) continue;
    if (!caughtUp(core, e.id).isOk()) continue;
    const std::uint64_t l = *core.peerLearned(e.id);
    wire::Membership n = m;
    n.version = m.version + 1;
    for (wire::Member& x : n.members) {
      if (x.id == e.id) x.voter = true;
    }
    auto slot = replica_.core().proposeMembership(n);
    if (!slot) return;
    promoting_ = *slot;
    hooks_.log("promoting learner " + std::to_string(e.id) + " (it has learned slot " +
               std::to_string(l) + " of " + std::to_string(core.learned()) + "): configuration " +
               std::to_string(n.version) + " proposed at slot " + std::to_string(*slot));
    return;
  }
}

}  // namespace cairn::node
