// The Core's roles and its leader's work: elections (probe, prepare, taking office, stepping
// down), proposing and the heartbeats that carry accepts and commits, catch-up of followers, and
// read points. core.cc holds the acceptor and learner, step() and the output.
#include "node/paxos/core.h"

#include <algorithm>
#include <cassert>

namespace cairn::paxos {

using Type = PeerMessage::Type;

// ---- roles ------------------------------------------------------------------------------------

void Core::becomeFollower(std::uint32_t leader) {
  dropReads();
  if (role_ == Role::kLeader) {
    // Slots this leader counted as chosen out of order, past its chosen prefix, were counted with
    // its own configurations there; one of those may never be chosen. Only the prefix is certain:
    // the values stay accepted, and the next leader decides the rest.
    for (auto it = log_.upper_bound(learned_); it != log_.end(); ++it)
      it->second.chosen = false;
  }
  role_ = Role::kFollower;
  leader_ = leader;
  probing_ = false;
  probeOks_.clear();
  promises_.clear();
  pending_.clear();
  outAccepts_.clear();
  for (auto& [id, peer] : peers_)
    peer.catchingUp = false;
  // What this node proposed in its ballot is no configuration of anyone's now.
  cfgs_.erase(cfgs_.upper_bound(learned_), cfgs_.end());
  leaving_.clear();
  cfgChanged_ = true;
  resetElectionTimer();
}

void Core::startProbe() {
  probing_ = true;
  probeBallot_ = nextBallot();
  probeOks_ = {cfg_.id};
  resetElectionTimer();
  if (cfgFor(learned_ + 1).majority(probeOks_.begin(), probeOks_.end())) {
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
  if (promisedEnough()) {
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
    std::string value = it == best.end() ? std::string() : std::move(it->second.value);
    // A configuration re-proposed here governs, in this ballot, the slots after it.
    noteMembership(s, value);
    proposeAt(s, std::move(value));
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
  if (role_ != Role::kLeader || handingOver()) return false;
  if (pending_.size() >= cfg_.window) return false;
  proposeAt(nextSlot_++, std::move(value));
  return true;
}

wire::Result<std::uint64_t> Core::proposeMembership(const wire::Membership& next) {
  if (role_ != Role::kLeader) return wire::Status(wire::Err::kNotLeader, "not the leader");
  if (changing()) {
    return wire::Status(wire::Err::kUnavailable, "another membership change is under way");
  }
  if (handingOver()) {
    return wire::Status(wire::Err::kUnavailable, "this leader was removed and is handing over");
  }
  if (learned_ < recoveryEnd_) {
    return wire::Status(wire::Err::kUnavailable, "the new leader is still recovering the log");
  }
  if (pending_.size() >= cfg_.window) return wire::Status(wire::Err::kUnavailable, "window full");
  if (wire::Status s = wire::checkChange(membership(), next); !s.isOk()) return s;
  const std::uint64_t slot = nextSlot_++;
  const std::string value = wire::encodeMembership(next);
  noteMembership(slot, value);
  proposeAt(slot, value);
  settle();
  return slot;
}

void Core::proposeAt(std::uint64_t slot, std::string value) {
  if (slot <= learned_) return;
  acceptLocal(slot, promised_, value);
  Pending& p = pending_[slot];
  p.acks.clear();
  const Cfg& c = cfgFor(slot);
  if (c.votes(cfg_.id)) p.acks.insert(cfg_.id);
  p.sentTick = now_;
  outAccepts_.push_back(Slot{slot, promised_, std::move(value)});
  if (c.majority(p.acks.begin(), p.acks.end())) {
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
    // something that no retransmission of ours will bring: send it chosen values. A catch-up
    // under way is driven by the peer's acks (onAccepted); a heartbeat only restarts one that
    // went quiet for an election timeout (a lost Learn or ack), instead of sending the same
    // values again every heartbeat to a peer busy applying them.
    const bool quiet = !peer.catchingUp ||
                       now_ - peer.learnSentAt >= static_cast<std::uint64_t>(cfg_.electionTicks);
    if (peer.known && peer.learned < learnedAtHeartbeat_ && quiet) sendLearn(m, peer.learned);
  }
  learnedAtHeartbeat_ = learned_;
}

PeerMessage Core::learnFrom(std::uint32_t to, std::uint64_t after) const {
  PeerMessage p;
  p.type = Type::kLearn;
  p.to = to;
  p.ballot = promised_;
  p.commit = learned_;
  std::size_t bytes = 0;
  for (auto it = log_.upper_bound(after); it != log_.end() && it->first <= learned_; ++it) {
    if (p.entries.size() >= cfg_.learnBatch || (bytes >= cfg_.learnBytes && !p.entries.empty())) {
      break;
    }
    bytes += it->second.value.size();
    p.entries.push_back(Slot{it->first, it->second.ballot, it->second.value});
  }
  return p;
}

void Core::sendLearn(std::uint32_t to, std::uint64_t after) {
  if (after < compacted_) {
    // What the peer misses is only in our snapshot now. Sending one is costly: at most once per
    // two election timeouts per peer.
    Peer& peer = peers_.at(to);
    if (!peer.snapshotSentAt ||
        now_ - *peer.snapshotSentAt >= static_cast<std::uint64_t>(2 * cfg_.electionTicks)) {
      peer.snapshotSentAt = now_;
      peer.learnSentAt = now_;
      peer.catchingUp = true;
      out_.snapshotTo.push_back(to);
    }
    return;
  }
  PeerMessage p = learnFrom(to, after);
  if (p.entries.empty()) return;
  Peer& peer = peers_.at(to);
  peer.catchingUp = true;
  peer.learnSentAt = now_;
  peer.learnBase = after;
  peer.learnSent = p.entries.back().slot;
  send(std::move(p));
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
  const bool confirmed = majorityOfEach([&](std::uint32_t id) {
    auto it = peers_.find(id);
    return it != peers_.end() && it->second.round >= readRound_;
  });
  if (!confirmed) return;
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

}  // namespace cairn::paxos
