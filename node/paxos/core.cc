// The Core's acceptor and learner: step() and the rules each message obeys, recovery, compaction
// and the output. leader.cc holds the roles (elections) and the leader's work.
#include "node/paxos/core.h"

#include <algorithm>
#include <cassert>

namespace cairn::paxos {

using Type = PeerMessage::Type;

Core::Core(Config cfg, Durable d) : cfg_(std::move(cfg)), rng_(cfg_.seed) {
  std::sort(cfg_.members.begin(), cfg_.members.end());
  cfg_.members.erase(std::unique(cfg_.members.begin(), cfg_.members.end()), cfg_.members.end());
  assert(isMember(cfg_.id));
  for (std::uint32_t m : cfg_.members) {
    if (m != cfg_.id) peers_[m] = Peer{};
  }
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
  resetElectionTimer();
}

bool Core::isMember(std::uint32_t id) const {
  return std::binary_search(cfg_.members.begin(), cfg_.members.end(), id);
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
    out_.chosen.push_back(Slot{learned_, it->second.ballot, it->second.value});
    moved = true;
  }
  if (moved) out_.learned = learned_;
}

std::vector<Slot> Core::acceptedFrom(std::uint64_t from) const {
  std::vector<Slot> out;
  for (auto it = log_.lower_bound(from); it != log_.end(); ++it) {
    out.push_back(Slot{it->first, it->second.ballot, it->second.value});
  }
  return out;
}

void Core::installSnapshot(std::uint64_t slot) {
  if (slot <= learned_) return;
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
    // so that it stops claiming to lead while the others may have moved on.
    if (++electionElapsed_ >= cfg_.electionTicks) {
      electionElapsed_ = 0;
      std::size_t live = 1;
      for (const auto& [id, peer] : peers_) {
        if (now_ - peer.lastAck < static_cast<std::uint64_t>(cfg_.electionTicks)) ++live;
      }
      if (live < quorum()) becomeFollower(0);
    }
    return;
  }
  if (++electionElapsed_ >= electionTimeout_) {
    leader_ = 0;
    startProbe();
  }
}

void Core::campaign() {
  if (role_ != Role::kLeader) startPrepare();
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
  if (m.cluster != cfg_.cluster || m.to != cfg_.id || !isMember(m.from) || m.from == cfg_.id) {
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
  }
}

// The pre-vote, at the acceptor: it promises nothing, so a refused or forgotten probe costs no one
// a ballot.
void Core::onProbe(const PeerMessage& m) {
  // Yes only if a real Prepare would be promised and no leader is known to be alive: a node that
  // was cut off cannot depose a leader the rest of the cluster still hears.
  // A prober that has not learned what this node has compacted away could not lead safely (its
  // promises would lack those chosen values): no.
  if (m.ballot > promised_ && !hasLiveLeader() && m.learned >= compacted_) {
    reply(m, Type::kProbeOk, m.ballot);
  } else {
    reply(m, Type::kNack, promised_);
  }
}

// The pre-vote, at the prober: a quorum that would promise its ballot lets it prepare.
void Core::onProbeOk(const PeerMessage& m) {
  if (!probing_ || m.ballot != probeBallot_) return;
  probeOks_.insert(m.from);
  if (probeOks_.size() >= quorum()) startPrepare();
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
  Peer& peer = peers_.at(m.from);
  peer.learned = m.learned;  // the latest report: a restarted peer may have learned less
  peer.known = true;
  promises_[m.from] = m.entries;
  if (promises_.size() >= quorum()) becomeLeader();
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
  heardCommit_ = std::max(heardCommit_, m.commit);
  PeerMessage ack;
  ack.type = Type::kAccepted;
  ack.to = m.from;
  ack.ballot = m.ballot;
  ack.slot = m.slot;  // the read round, echoed
  for (const Slot& e : m.entries) {
    acceptLocal(e.slot, m.ballot, e.value);
    ack.entries.push_back(Slot{e.slot, m.ballot, std::string()});
  }
  // Every slot up to the leader's commit is chosen, in the leader's ballot: our entry there is the
  // chosen value if we accepted it in that ballot.
  for (auto it = log_.upper_bound(learned_); it != log_.end() && it->first <= m.commit; ++it) {
    if (it->second.ballot == m.ballot) it->second.chosen = true;
  }
  advanceLearned();
  ack.learned = learned_;
  send(std::move(ack));
}

// Phase 2b, at the leader. Only acceptances in our ballot count: a value a quorum has accepted in
// one ballot is chosen.
void Core::onAccepted(const PeerMessage& m) {
  if (role_ != Role::kLeader || m.ballot != promised_) return;
  Peer& peer = peers_.at(m.from);
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
    if (it->second.acks.size() >= quorum()) {
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
