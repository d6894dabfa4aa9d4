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

// ---- roles ------------------------------------------------------------------------------------

void Core::becomeFollower(std::uint32_t leader) {
  dropReads();
  role_ = Role::kFollower;
  leader_ = leader;
  probing_ = false;
  probeOks_.clear();
  promises_.clear();
  pending_.clear();
  outAccepts_.clear();
  for (auto& [id, peer] : peers_)
    peer.catchingUp = false;
  resetElectionTimer();
}

void Core::startProbe() {
  probing_ = true;
  probeBallot_ = nextBallot();
  probeOks_ = {cfg_.id};
  resetElectionTimer();
  if (probeOks_.size() >= quorum()) {
    startPrepare();
    return;
  }
  PeerMessage p;
  p.type = Type::kProbe;
  p.ballot = probeBallot_;
  p.learned = learned_;
  broadcast(p);
}

void Core::startPrepare() {
  // Prepare with the ballot a quorum just said yes to, unless something higher came along since.
  const Ballot b = probing_ && probeBallot_ > promised_ ? probeBallot_ : nextBallot();
  probing_ = false;
  probeOks_.clear();
  role_ = Role::kCandidate;
  leader_ = 0;
  persistPromise(b);
  from_ = learned_ + 1;
  promises_.clear();
  promises_[cfg_.id] = acceptedFrom(from_);
  resetElectionTimer();
  if (promises_.size() >= quorum()) {
    becomeLeader();
    return;
  }
  PeerMessage p;
  p.type = Type::kPrepare;
  p.ballot = promised_;
  p.slot = from_;
  broadcast(p);
}

void Core::becomeLeader() {
  role_ = Role::kLeader;
  leader_ = cfg_.id;
  heartbeatElapsed_ = 0;
  electionElapsed_ = 0;
  for (auto& [id, peer] : peers_) {
    peer.lastAck = now_;  // a promise is a sign of life
    peer.round = 0;
  }
  // For each open slot, the value with the highest ballot among the promises; no-ops for holes.
  std::map<std::uint64_t, Slot> best;
  for (auto& [from, entries] : promises_) {
    for (Slot& s : entries) {
      auto it = best.find(s.slot);
      if (it == best.end() || it->second.ballot < s.ballot) best[s.slot] = s;
    }
  }
  promises_.clear();
  std::uint64_t last = learned_;
  if (!best.empty()) last = std::max(last, best.rbegin()->first);
  pending_.clear();
  nextSlot_ = learned_ + 1;
  for (std::uint64_t s = learned_ + 1; s <= last; ++s) {
    auto it = best.find(s);
    proposeAt(s, it == best.end() ? std::string() : std::move(it->second.value));
  }
  nextSlot_ = last + 1;
  recoveryEnd_ = last;
  learnedAtHeartbeat_ = learned_;
  dropReads();
  roundDone_ = readRound_;
  // Announce leadership at once: with the re-proposals (sent by ready()), or with a heartbeat.
  if (outAccepts_.empty()) {
    heartbeat();
  } else {
    heartbeatElapsed_ = 0;
  }
}

// ---- proposing --------------------------------------------------------------------------------

bool Core::propose(std::string value) {
  if (role_ != Role::kLeader) return false;
  if (pending_.size() >= cfg_.window) return false;
  proposeAt(nextSlot_++, std::move(value));
  return true;
}

void Core::proposeAt(std::uint64_t slot, std::string value) {
  if (slot <= learned_) return;
  acceptLocal(slot, promised_, value);
  Pending& p = pending_[slot];
  p.acks = {cfg_.id};
  p.sentTick = now_;
  outAccepts_.push_back(Slot{slot, promised_, std::move(value)});
  if (p.acks.size() >= quorum()) {
    pending_.erase(slot);
    markChosen(slot);
    advanceLearned();
  }
}

void Core::flushAccepts() {
  // New values go out at once; so does a commit that moved with nothing new to carry it, so
  // followers apply (and publish) a write as soon as it is chosen, not at the next heartbeat.
  if (outAccepts_.empty() && !(role_ == Role::kLeader && learned_ > commitSent_)) return;
  if (role_ == Role::kLeader) {
    PeerMessage p;
    p.type = Type::kAccept;
    p.ballot = promised_;
    p.commit = learned_;
    commitSent_ = learned_;
    p.slot = readRound_;
    p.entries = std::move(outAccepts_);
    broadcast(p);
  }
  outAccepts_.clear();
}

void Core::heartbeat() {
  heartbeatElapsed_ = 0;
  for (const auto& [m, peer] : peers_) {
    PeerMessage p;
    p.type = Type::kAccept;
    p.to = m;
    p.ballot = promised_;
    p.commit = learned_;
    commitSent_ = learned_;
    p.slot = readRound_;
    // Resend what this peer has not acknowledged and was sent at least a heartbeat ago.
    for (auto& [slot, pend] : pending_) {
      if (pend.acks.count(m) ||
          now_ - pend.sentTick < static_cast<std::uint64_t>(cfg_.heartbeatTicks)) {
        continue;
      }
      auto it = log_.find(slot);
      if (it != log_.end()) p.entries.push_back(Slot{slot, promised_, it->second.value});
    }
    send(std::move(p));
    // A peer whose chosen prefix has not caught up with ours of one heartbeat ago missed
    // something that no retransmission of ours will bring: send it chosen values.
    if (peer.learned < learnedAtHeartbeat_) sendLearn(m, peer.learned);
  }
  learnedAtHeartbeat_ = learned_;
}

void Core::sendLearn(std::uint32_t to, std::uint64_t after) {
  if (after < compacted_) {
    // What the peer misses is only in our snapshot now. Sending one is costly: at most once per
    // two election timeouts per peer.
    Peer& peer = peers_.at(to);
    if (!peer.snapshotSentAt ||
        now_ - *peer.snapshotSentAt >= static_cast<std::uint64_t>(2 * cfg_.electionTicks)) {
      peer.snapshotSentAt = now_;
      peer.catchingUp = true;
      out_.snapshotTo.push_back(to);
    }
    return;
  }
  PeerMessage p;
  p.type = Type::kLearn;
  p.to = to;
  p.ballot = promised_;
  p.commit = learned_;
  for (auto it = log_.upper_bound(after); it != log_.end() && it->first <= learned_; ++it) {
    if (p.entries.size() >= cfg_.learnBatch) break;
    p.entries.push_back(Slot{it->first, it->second.ballot, it->second.value});
  }
  if (p.entries.empty()) return;
  peers_.at(to).catchingUp = true;
  send(std::move(p));
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
  peer.learned = std::max(peer.learned, m.learned);
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
      sendLearn(m.from, m.learned);  // the reply to a Learn: keep the catch-up going
    }
  }
}

// Catch-up. A Learn carries only chosen values, and a slot's chosen value never changes: they are
// taken whatever the Learn's ballot (a higher one has already made a candidate or leader step
// down).
void Core::onLearn(const PeerMessage& m) {
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

// ---- linearizable reads -------------------------------------------------------------------------

bool Core::readIndex(std::uint64_t ctx, std::uint32_t from) {
  if (role_ != Role::kLeader) return false;
  PendingRead r;
  r.state = ReadState{ctx, from, std::max(learned_, recoveryEnd_)};
  // A round already in flight may have started before this request: wait for the next one.
  r.round = readRound_ + 1;
  reads_.push_back(r);
  if (roundDone_ == readRound_) startReadRound();
  return true;
}

void Core::startReadRound() {
  ++readRound_;
  heartbeat();  // carries the round number to every peer now
  confirmReads();
}

void Core::confirmReads() {
  if (role_ != Role::kLeader || roundDone_ == readRound_) return;
  std::size_t acks = 1;
  for (const auto& [id, peer] : peers_) {
    if (peer.round >= readRound_) ++acks;
  }
  if (acks < quorum()) return;
  roundDone_ = readRound_;
  bool waiting = false;
  std::vector<PendingRead> rest;
  for (auto& r : reads_) {
    if (r.round <= roundDone_) {
      out_.reads.push_back(r.state);
    } else {
      rest.push_back(r);
      waiting = true;
    }
  }
  reads_.swap(rest);
  if (waiting) startReadRound();
}

void Core::dropReads() {
  for (auto& r : reads_)
    out_.readsLost.push_back(r.state);
  reads_.clear();
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
