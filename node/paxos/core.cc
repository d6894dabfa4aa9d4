// The Core's acceptor and learner: step() and the rules each message obeys, recovery, compaction
// and the output. leader.cc holds the roles (elections) and the leader's work.
#include "node/paxos/core.h"

#include <algorithm>
#include <cassert>

namespace cairn::paxos {

using Type = PeerMessage::Type;

Core::Core(Config cfg, Durable d) : cfg_(std::move(cfg)), rng_(cfg_.seed) {
  wire::Membership base = cfg_.bootstrap.members.empty()
                              ? wire::votersOnly(cfg_.cluster, cfg_.members)
                              : cfg_.bootstrap;
  if (d.members && d.members->cluster == cfg_.cluster) base = *d.members;
  cfgs_[d.applied] = makeCfg(std::move(base));
  cfgChanged_ = true;
  promised_ = d.promised;
  maxRound_ = promised_.round;
  compacted_ = d.applied;
  learned_ = d.applied;
  // The log kept behind the snapshot: values the replica vouches for as chosen (see
  // Durable::retained). learned_ stays at applied: the store already holds these slots.
  for (Slot& s : d.retained) {
    if (s.slot > d.applied) continue;
    auto it = log_.find(s.slot);
    if (it == log_.end() || it->second.ballot < s.ballot) {
      log_[s.slot] = Entry{s.ballot, std::move(s.value), true};
    }
    maxRound_ = std::max(maxRound_, s.ballot.round);
  }
  // Only the unbroken run that ends at applied can be served by Learn: below a gap, a peer needs
  // the snapshot.
  while (compacted_ > 0 && log_.count(compacted_))
    --compacted_;
  log_.erase(log_.begin(), log_.upper_bound(compacted_));
  for (Slot& s : d.accepted) {
    if (s.slot <= d.applied) continue;
    auto it = log_.find(s.slot);
    if (it == log_.end() || it->second.ballot <= s.ballot) {
      log_[s.slot] = Entry{s.ballot, std::move(s.value), false};
    }
    maxRound_ = std::max(maxRound_, s.ballot.round);
  }
  // Slots up to the recorded chosen prefix were chosen before the restart: hand them out again
  // so the store, rebuilt from its snapshot, catches up.
  for (auto& [slot, e] : log_) {
    if (slot > d.learned) break;
    e.chosen = true;
  }
  advanceLearned();
  settle();
  resetElectionTimer();
}

// ---- configurations ---------------------------------------------------------------------------

Core::Cfg Core::makeCfg(wire::Membership m) {
  Cfg c;
  c.voters = m.voters();
  c.quorum = c.voters.size() / 2 + 1;
  c.m = std::move(m);
  return c;
}

const Core::Cfg& Core::cfgFor(std::uint64_t slot) const {
  auto it = cfgs_.lower_bound(slot);  // the first at or after slot: governs only later ones
  if (it != cfgs_.begin()) --it;
  return it->second;
}

bool Core::majorityOfEach(const std::function<bool(std::uint32_t)>& acked) const {
  for (auto it = cfgs_.begin(); it != cfgs_.end(); ++it) {
    auto next = std::next(it);
    if (next != cfgs_.end() && next->first <= learned_) continue;  // superseded before the prefix
    std::size_t n = 0;
    for (std::uint32_t v : it->second.voters)
      n += (v == cfg_.id ? role_ == Role::kLeader : acked(v)) ? 1 : 0;
    if (n < it->second.quorum) return false;
  }
  return true;
}

bool Core::noteMembership(std::uint64_t slot, const std::string& value) {
  // Proposals are checked; a chosen value that does not decode changes nothing. Nor does one of
  // the cluster this data belonged to before it was forced or restored into a new one, nor a
  // change proposed against a configuration another change has since replaced (re-proposed by a
  // later leader).
  auto m = wire::takesEffect(cfgFor(slot).m, value);
  if (!m) return false;
  cfgs_[slot] = makeCfg(std::move(*m));
  cfgChanged_ = true;
  return true;
}

void Core::settle() {
  if (!cfgChanged_) return;
  cfgChanged_ = false;
  // Keep the newest configuration at or before the chosen prefix, and what follows it.
  auto keep = cfgs_.upper_bound(learned_);
  if (keep != cfgs_.begin()) --keep;
  cfgs_.erase(cfgs_.begin(), keep);
  std::set<std::uint32_t> named;
  for (const auto& [slot, c] : cfgs_) {
    for (const wire::Member& m : c.m.members) {
      if (m.id != cfg_.id) named.insert(m.id);
    }
  }
  for (std::uint32_t id : named) {
    leaving_.erase(id);
    auto [it, added] = peers_.try_emplace(id);
    if (added) it->second.lastAck = now_;
  }
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (named.count(it->first)) {
      ++it;
    } else if (role_ == Role::kLeader && !leaving_.count(it->first)) {
      // Told of the change by the commits it is still sent, for a few election timeouts.
      leaving_[it->first] = now_ + static_cast<std::uint64_t>(5 * cfg_.electionTicks);
      ++it;
    } else if (role_ != Role::kLeader || now_ >= leaving_[it->first]) {
      leaving_.erase(it->first);
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  handOver();
}

bool Core::mayCampaign() const {
  // A voter of the configuration after the chosen prefix, or of one this node accepted after it
  // (in its log, chained as a candidate would re-propose them): the voters of a change that was
  // chosen but whose commit they never heard would otherwise all wait for one another.
  wire::Membership cur = cfgFor(learned_ + 1).m;
  if (cur.isVoter(cfg_.id)) return true;
  for (auto it = log_.upper_bound(learned_); it != log_.end(); ++it) {
    if (auto m = wire::takesEffect(cur, it->second.value)) {
      cur = std::move(*m);
      if (cur.isVoter(cfg_.id)) return true;
    }
  }
  return false;
}

bool Core::handingOver() const {
  return role_ == Role::kLeader && !cfgFor(learned_ + 1).votes(cfg_.id);
}

void Core::handOver() {
  // Not before what it re-proposed on taking office is chosen: until then its chosen prefix, and
  // so the configuration it would hand over in, may be older than the log it recovered.
  if (!handingOver() || learned_ < recoveryEnd_) return;
  // A chosen change left this leader out. It goes on leading (proposing nothing new) until a voter
  // of the configuration now in effect has learned all it has: it may be the only node that holds
  // what the others miss (its log, its snapshot). That voter then campaigns at once, instead of
  // after an election timeout.
  const Cfg& now = cfgFor(learned_ + 1);
  std::uint32_t best = 0;
  for (std::uint32_t v : now.voters) {
    auto it = peers_.find(v);
    if (it != peers_.end() && it->second.known && it->second.learned >= learned_) best = v;
  }
  if (best == 0) return;
  flushAccepts();  // the commit that tells them first
  PeerMessage t;
  t.type = Type::kTakeOver;
  t.to = best;
  t.ballot = promised_;
  t.commit = learned_;
  send(std::move(t));
  becomeFollower(0);
}

std::optional<std::uint64_t> Core::peerLearned(std::uint32_t id) const {
  if (role_ != Role::kLeader) return std::nullopt;
  auto it = peers_.find(id);
  if (it == peers_.end() || !it->second.known ||
      now_ - it->second.lastAck >= static_cast<std::uint64_t>(cfg_.electionTicks)) {
    return std::nullopt;
  }
  return it->second.learned;
}

void Core::resetElectionTimer() {
  electionElapsed_ = 0;
  electionTimeout_ = cfg_.electionTicks +
                     static_cast<int>(rng_() % static_cast<std::uint64_t>(cfg_.electionTicks));
}

bool Core::hasLiveLeader() const {
  if (role_ == Role::kLeader) return true;
  return leader_ != 0 && electionElapsed_ < cfg_.electionTicks;
}

Ballot Core::nextBallot() const {
  return Ballot{std::max(maxRound_, promised_.round) + 1, cfg_.id};
}

void Core::send(PeerMessage m) {
  m.cluster = cfg_.cluster;
  m.from = cfg_.id;
  out_.send.push_back(std::move(m));
}

void Core::broadcast(const PeerMessage& proto) {
  for (const auto& [id, peer] : peers_) {
    PeerMessage p = proto;
    p.to = id;
    send(std::move(p));
  }
}

void Core::reply(const PeerMessage& to, Type t, Ballot b) {
  PeerMessage m;
  m.type = t;
  m.to = to.from;
  m.ballot = b;
  m.learned = learned_;
  send(std::move(m));
}

void Core::persistPromise(const Ballot& b) {
  promised_ = b;
  maxRound_ = std::max(maxRound_, b.round);
  out_.promised = b;
}

void Core::acceptLocal(std::uint64_t slot, const Ballot& b, std::string value) {
  if (slot <= learned_) return;  // already chosen: the value cannot change
  Entry& e = log_[slot];
  if (e.chosen) return;
  e.ballot = b;
  e.value = std::move(value);
  out_.accepted.push_back(Slot{slot, b, e.value});
}

void Core::markChosen(std::uint64_t slot) {
  auto it = log_.find(slot);
  if (it != log_.end()) it->second.chosen = true;
}

void Core::advanceLearned() {
  bool moved = false;
  while (true) {
    auto it = log_.find(learned_ + 1);
    if (it == log_.end() || !it->second.chosen) break;
    ++learned_;
    if (noteMembership(learned_, it->second.value)) out_.configs.push_back(learned_);
    out_.chosen.push_back(Slot{learned_, it->second.ballot, it->second.value});
    moved = true;
  }
  if (moved) cfgChanged_ = true;  // older configurations may be forgotten now
  if (moved) out_.learned = learned_;
}

std::vector<Slot> Core::acceptedFrom(std::uint64_t from) const {
  std::vector<Slot> out;
  for (auto it = log_.lower_bound(from); it != log_.end(); ++it) {
    out.push_back(Slot{it->first, it->second.ballot, it->second.value});
  }
  return out;
}

void Core::installSnapshot(std::uint64_t slot, const std::optional<wire::Membership>& members) {
  if (slot <= learned_) return;
  if (members && members->cluster == cfg_.cluster) {
    cfgs_[slot] = makeCfg(*members);
  } else {
    cfgs_[slot] = cfgFor(learned_ + 1);  // no change was ever chosen: still the bootstrap one
  }
  cfgChanged_ = true;
  learned_ = slot;
  compacted_ = std::max(compacted_, slot);
  log_.erase(log_.begin(), log_.upper_bound(slot));
  out_.learned = learned_;
  advanceLearned();  // values after the snapshot may already be known
  if (leader_ != 0 && leader_ != cfg_.id) {
    PeerMessage ack;
    ack.type = Type::kAccepted;
    ack.to = leader_;
    ack.ballot = promised_;
    ack.learned = learned_;
    send(std::move(ack));
  }
  settle();
}

void Core::compact(std::uint64_t upTo) {
  upTo = std::min(upTo, learned_);
  log_.erase(log_.begin(), log_.upper_bound(upTo));
  compacted_ = std::max(compacted_, upTo);
}

// ---- time -------------------------------------------------------------------------------------

void Core::tick() {
  ++now_;
  if (role_ == Role::kLeader) {
    if (++heartbeatElapsed_ >= cfg_.heartbeatTicks) heartbeat();
    // Check quorum: a leader that has not heard from a quorum for an election timeout steps down,
    // so that it stops claiming to lead while the others may have moved on. The quorum is of the
    // configuration in effect after the chosen prefix only, not of a change this leader has
    // proposed and not yet chosen: that change is chosen under the configuration before it, so a
    // leader that still hears from a majority of that one can finish it, while stepping down would
    // leave no node able to lead (a candidate needs a majority of the change's voters too, which
    // a change made while a voter is down may not have). Reads still need a majority of each.
    if (++electionElapsed_ >= cfg_.electionTicks) {
      electionElapsed_ = 0;
      std::vector<std::uint32_t> heard{cfg_.id};
      for (const auto& [id, peer] : peers_) {
        if (now_ - peer.lastAck < static_cast<std::uint64_t>(cfg_.electionTicks))
          heard.push_back(id);
      }
      const bool live = cfgFor(learned_ + 1).majority(heard.begin(), heard.end());
      // A leader that a change removed stays until it has handed over: the voters of the new
      // configuration may not know yet that they are (a higher ballot still deposes it).
      if (!live && !handingOver()) becomeFollower(0);
    }
    if (!leaving_.empty()) cfgChanged_ = true;  // some may be let go now
    settle();
    handOver();
    return;
  }
  if (++electionElapsed_ >= electionTimeout_) {
    leader_ = 0;
    // Only a voter campaigns: a learner, or a node a change removed, waits to be told.
    if (mayCampaign()) {
      startProbe();
    } else {
      // A campaign this non-voter began (see onProbe) that got nowhere ends here: the next voter
      // that needs it may start another.
      becomeFollower(0);
    }
  }
  settle();
}

void Core::campaign() {
  if (role_ != Role::kLeader && mayCampaign()) startPrepare();
  settle();
}

// ---- messages ---------------------------------------------------------------------------------

namespace {

// Whether a message's ballot is one some proposer began phase 1 with: a Prepare or Accept (its
// sender's ballot), a Learn (its sender's, which it leads), a Nack (one its sender promised), a
// Promise or Accepted (ours, echoed). Not a pre-vote's (Probe, ProbeOk): that ballot is only asked
// about.
bool claimsBallot(Type t) {
  return t == Type::kPrepare || t == Type::kPromise || t == Type::kNack || t == Type::kAccept ||
         t == Type::kAccepted || t == Type::kLearn;
}

}  // namespace

void Core::step(const PeerMessage& m) {
  // Any node of the cluster may speak: who counts towards a quorum is decided per message. A node
  // this one has not heard of may be a member a change made that it has not learned yet: a node
  // that joins follows a leader it does not know, and one far behind promises to one.
  if (m.cluster != cfg_.cluster || m.to != cfg_.id || m.from == 0 || m.from == cfg_.id) {
    ++dropped_;
    return;
  }
  // Our next ballot is above every ballot seen, so it is not refused for what we already know.
  maxRound_ = std::max(maxRound_, m.ballot.round);
  // The higher-ballot rule. A ballot above our promise has been begun by another proposer, and the
  // acceptors that promised it refuse ours: a candidate or leader of a lower ballot steps down (and
  // follows the sender of an Accept, which leads that ballot). An acceptor asked to take part in it
  // (Prepare, Accept) promises it, durably, before it replies; word of it (Nack, Learn) makes no
  // promise. Safety never rests on stepping down (acceptors refuse the lower ballot, and the higher
  // ballot's leader re-proposes any value the lower one may have chosen): this is for liveness.
  if (claimsBallot(m.type) && m.ballot > promised_) {
    if (m.type == Type::kPrepare || m.type == Type::kAccept) persistPromise(m.ballot);
    if (role_ != Role::kFollower) becomeFollower(m.type == Type::kAccept ? m.from : 0);
  }
  switch (m.type) {
    case Type::kProbe:
      onProbe(m);
      break;
    case Type::kProbeOk:
      onProbeOk(m);
      break;
    case Type::kPrepare:
      onPrepare(m);
      break;
    case Type::kPromise:
      onPromise(m);
      break;
    case Type::kNack:  // a refusal asks no more than the two rules above
      break;
    case Type::kAccept:
      onAccept(m);
      break;
    case Type::kAccepted:
      onAccepted(m);
      break;
    case Type::kLearn:
      onLearn(m);
      break;
    case Type::kTakeOver:
      onTakeOver(m);
      break;
  }
  settle();
  handOver();
}

// The pre-vote, at the acceptor: it promises nothing, so a refused or forgotten probe costs no one
// a ballot.
void Core::onProbe(const PeerMessage& m) {
  // Yes only if a real Prepare would be promised and no leader is known to be alive: a node that
  // was cut off cannot depose a leader the rest of the cluster still hears.
  // A prober that has not learned what this node has compacted away could not lead safely (its
  // promises would lack those chosen values): no.
  // A node that is no voter here (a learner, or one a change removed) is not helped to lead,
  // unless it has learned more than this node: then it may know of a change that made it one.
  if (m.ballot > promised_ && !hasLiveLeader() && m.learned >= compacted_ &&
      (latestMembership().isVoter(m.from) || m.learned > learned_)) {
    reply(m, Type::kProbeOk, m.ballot);
  } else {
    reply(m, Type::kNack, promised_);
    // A node no configuration here names, which knows less: one a change removed, restarted from
    // a log that had not recorded its removal. The log tells it (a Learn is taken from anyone).
    if (!latestMembership().has(m.from) && m.learned < learned_ && m.learned >= compacted_) {
      PeerMessage l = learnFrom(m.from, m.learned);
      if (!l.entries.empty()) send(std::move(l));
    }
    // A voter behind what this node compacted can only catch up from this node's snapshot, which
    // only a leader sends. If this node is no voter (a change removed it, or it learns only), no
    // timeout of its own would make it lead: it campaigns now, and hands over once a voter has
    // caught up (handOver()).
    if (m.learned < compacted_ && role_ == Role::kFollower && !probing_ && !hasLiveLeader() &&
        !cfgFor(learned_ + 1).votes(cfg_.id)) {
      startProbe();
    }
  }
}

// The pre-vote, at the prober: a quorum that would promise its ballot lets it prepare.
void Core::onProbeOk(const PeerMessage& m) {
  if (!probing_ || m.ballot != probeBallot_) return;
  probeOks_.insert(m.from);
  if (cfgFor(learned_ + 1).majority(probeOks_.begin(), probeOks_.end())) startPrepare();
}

// Phase 1b, at the acceptor. A promise is never broken: a ballot below it is refused. Otherwise the
// ballot is our promise now (step() made it durable if it is higher), and we report every value
// we accepted at the slots asked about, with its ballot, so the new leader re-proposes any value
// that may have been chosen there.
void Core::onPrepare(const PeerMessage& m) {
  if (m.ballot < promised_) {
    reply(m, Type::kNack, promised_);
    return;
  }
  leader_ = 0;
  resetElectionTimer();
  PeerMessage p;
  p.type = Type::kPromise;
  p.to = m.from;
  p.ballot = m.ballot;
  p.slot = m.slot;
  p.learned = learned_;
  p.commit = compacted_;  // values at slots <= this are gone from entries: see onPromise
  p.entries = acceptedFrom(m.slot);
  send(std::move(p));
}

// Phase 1b, at the proposer. Only promises for our current ballot count; with a quorum of them, no
// lower ballot can choose anything new, and we know every value it may have chosen: we lead.
void Core::onPromise(const PeerMessage& m) {
  if (role_ != Role::kCandidate || m.ballot != promised_) return;
  // A promiser that compacted slots we still need has left their (chosen) values out: leading
  // now could choose something else there. Step aside for a node that knows more.
  if (m.commit >= from_) {
    becomeFollower(0);
    return;
  }
  auto pit = peers_.find(m.from);
  if (pit == peers_.end()) return;
  pit->second.learned = m.learned;  // the latest report: a restarted peer may have learned less
  pit->second.known = true;
  promises_[m.from] = m.entries;
  if (promisedEnough()) becomeLeader();
}

// Whether the promises gathered let this candidate lead: a majority of the configuration in effect
// after its chosen prefix, and of every configuration among the values it would re-propose (what
// was chosen under one of them is then reported by one of its voters). Asks the voters of such a
// configuration that it has not asked yet.
bool Core::promisedEnough() {
  std::vector<std::uint32_t> from;
  for (const auto& [id, entries] : promises_)
    from.push_back(id);
  if (!cfgFor(from_).majority(from.begin(), from.end())) return false;
  std::map<std::uint64_t, const Slot*> best;
  for (const auto& [id, entries] : promises_) {
    for (const Slot& s : entries) {
      auto it = best.find(s.slot);
      if (it == best.end() || it->second->ballot < s.ballot) best[s.slot] = &s;
    }
  }
  bool enough = true;
  wire::Membership cur = cfgFor(from_).m;
  for (const auto& [slot, s] : best) {
    auto m = wire::takesEffect(cur, s->value);
    if (!m) continue;  // no configuration, or one that would change nothing
    cur = *m;
    const Cfg c = makeCfg(std::move(*m));
    if (!c.majority(from.begin(), from.end())) enough = false;
    for (std::uint32_t v : c.voters) {
      if (v == cfg_.id || peers_.count(v)) continue;
      peers_[v] = Peer{};
      PeerMessage p;
      p.type = Type::kPrepare;
      p.to = v;
      p.ballot = promised_;
      p.slot = from_;
      send(std::move(p));
    }
  }
  return enough;
}

// Phase 2b, at the acceptor. A ballot below our promise is refused. Otherwise the ballot is our
// promise now (step() made it durable if it is higher): we accept its values, durably before the
// Accepted goes out, and follow its sender, who leads it.
void Core::onAccept(const PeerMessage& m) {
  if (m.ballot < promised_) {
    reply(m, Type::kNack, promised_);
    return;
  }
  if (role_ != Role::kFollower || leader_ != m.from || probing_) becomeFollower(m.from);
  electionElapsed_ = 0;
  PeerMessage ack;
  ack.type = Type::kAccepted;
  ack.to = m.from;
  ack.ballot = m.ballot;
  ack.slot = m.slot;  // the read round, echoed
  for (const Slot& e : m.entries) {
    acceptLocal(e.slot, m.ballot, e.value);
    ack.entries.push_back(Slot{e.slot, m.ballot, std::string()});
  }
  learnCommit(m.ballot, m.commit);
  ack.learned = learned_;
  send(std::move(ack));
}

void Core::learnCommit(const Ballot& ballot, std::uint64_t commit) {
  heardCommit_ = std::max(heardCommit_, commit);
  // Every slot up to the leader's commit is chosen, in the leader's ballot: our entry there is the
  // chosen value if we accepted it in that ballot.
  for (auto it = log_.upper_bound(learned_); it != log_.end() && it->first <= commit; ++it) {
    if (it->second.ballot == ballot) it->second.chosen = true;
  }
  advanceLearned();
}

// The leader leaves the voters and asks this node to lead in its place: prepare now rather than
// wait out an election timeout, if the commit it sends makes this node a voter.
void Core::onTakeOver(const PeerMessage& m) {
  if (m.ballot < promised_ || role_ != Role::kFollower) return;
  learnCommit(m.ballot, m.commit);
  if (mayCampaign()) startPrepare();
}

// Phase 2b, at the leader. Only acceptances in our ballot count: a value a quorum has accepted in
// one ballot is chosen.
void Core::onAccepted(const PeerMessage& m) {
  if (role_ != Role::kLeader || m.ballot != promised_) return;
  auto pit = peers_.find(m.from);
  if (pit == peers_.end()) return;
  Peer& peer = pit->second;
  peer.lastAck = now_;
  peer.learned = m.learned;  // the latest report: a restarted peer may have learned less
  peer.known = true;
  if (m.slot > peer.round) {
    peer.round = m.slot;
    confirmReads();
  }
  for (const Slot& e : m.entries) {
    auto it = pending_.find(e.slot);
    if (it == pending_.end()) continue;
    it->second.acks.insert(m.from);
    if (cfgFor(e.slot).majority(it->second.acks.begin(), it->second.acks.end())) {
      pending_.erase(it);
      markChosen(e.slot);
    }
  }
  advanceLearned();
  if (peer.catchingUp) {
    if (m.learned >= learned_) {
      peer.catchingUp = false;
    } else if (m.entries.empty()) {
      // The reply to a Learn (or a heartbeat): keep the catch-up going with the slots after the
      // last ones sent, once the peer has learned all before the latest Learn (two in flight).
      if (m.learned >= peer.learnBase) {
        sendLearn(m.from, std::max(peer.learnSent, m.learned));
      } else if (now_ - peer.learnSentAt >= static_cast<std::uint64_t>(cfg_.electionTicks)) {
        sendLearn(m.from, m.learned);  // a Learn was lost, or the peer restarted: from its prefix
      }
    }
  }
}

// Catch-up. A Learn carries only chosen values, and a slot's chosen value never changes: they are
// taken whatever the Learn's ballot (a higher one has already made a candidate or leader step
// down).
void Core::onLearn(const PeerMessage& m) {
  heardCommit_ = std::max(heardCommit_, m.commit);
  if (m.ballot >= promised_ && role_ == Role::kFollower && m.from == leader_) electionElapsed_ = 0;
  for (const Slot& e : m.entries) {
    if (e.slot <= learned_) continue;
    Entry& le = log_[e.slot];
    if (le.chosen) continue;
    le.ballot = e.ballot;
    le.value = e.value;
    le.chosen = true;
    out_.accepted.push_back(e);  // kept like an accepted value: it is the chosen one
  }
  advanceLearned();
  PeerMessage ack;
  ack.type = Type::kAccepted;
  ack.to = m.from;
  ack.ballot = m.ballot;
  ack.learned = learned_;
  send(std::move(ack));
}

// ---- output -----------------------------------------------------------------------------------

bool Core::hasReady() const {
  return !out_.empty() || !outAccepts_.empty() ||
         (role_ == Role::kLeader && learned_ > commitSent_);
}

Ready Core::ready() {
  flushAccepts();
  Ready r = std::move(out_);
  out_ = Ready();
  return r;
}

}  // namespace cairn::paxos
