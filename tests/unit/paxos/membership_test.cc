// The consensus core's membership changes: configurations in the log, learners, one change at a
// time, the candidate's chain of configurations, and a leader that removes itself.
#include <catch2/catch.hpp>

#include "node/paxos/core.h"
#include "wire/membership.h"

namespace {

using cairn::paxos::Config;
using cairn::paxos::Core;
using cairn::paxos::Durable;
using cairn::paxos::Ready;
using cairn::wire::Ballot;
using cairn::wire::Err;
using cairn::wire::Member;
using cairn::wire::Membership;
using cairn::wire::PeerMessage;
using cairn::wire::Slot;
using Type = PeerMessage::Type;

constexpr std::uint64_t kCluster = 77;

Config memberConfig(std::uint32_t id) {
  Config c;
  c.id = id;
  c.members = {1, 2, 3};
  c.cluster = kCluster;
  c.electionTicks = 10;
  c.heartbeatTicks = 2;
  c.seed = id;
  return c;
}

PeerMessage peerMsg(Type t, std::uint32_t from, std::uint32_t to, Ballot b) {
  PeerMessage m;
  m.type = t;
  m.cluster = kCluster;
  m.from = from;
  m.to = to;
  m.ballot = b;
  return m;
}

// An Accepted of `slots` from `from` to leader 1 in ballot {1, 1}.
PeerMessage acked(std::uint32_t from, std::vector<std::uint64_t> slots, std::uint64_t learned) {
  PeerMessage ok = peerMsg(Type::kAccepted, from, 1, Ballot{1, 1});
  for (std::uint64_t s : slots)
    ok.entries.push_back(Slot{s, Ballot{1, 1}, ""});
  ok.learned = learned;
  return ok;
}

Core leader() {
  Core c(memberConfig(1), Durable{});
  c.campaign();
  (void)c.ready();
  PeerMessage p = peerMsg(Type::kPromise, 2, 1, Ballot{1, 1});
  p.slot = 1;
  c.step(p);
  REQUIRE(c.role() == Core::Role::kLeader);
  (void)c.ready();
  return c;
}

Membership with(Membership m, Member add) {
  m.version += 1;
  m.members.push_back(add);
  m.nextId = std::max(m.nextId, add.id + 1);
  return m;
}

Membership promoted(Membership m, std::uint32_t id) {
  m.version += 1;
  for (auto& e : m.members) {
    if (e.id == id) e.voter = true;
  }
  return m;
}

Membership without(Membership m, std::uint32_t id) {
  m.version += 1;
  m.members.erase(std::remove_if(m.members.begin(), m.members.end(),
                                 [&](const Member& e) { return e.id == id; }),
                  m.members.end());
  return m;
}

const Member kLearner4{4, false, "tcp://p4", "tcp://c4", "tcp://e4", false};

bool sentTo(const Ready& r, Type t, std::uint32_t to) {
  for (const auto& m : r.send) {
    if (m.type == t && m.to == to) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("paxos: a learner is sent the log, and its acks count for nothing", "[unit][paxos]") {
  Core c = leader();
  auto slot = c.proposeMembership(with(c.membership(), kLearner4));
  REQUIRE(slot.isOk());
  CHECK(*slot == 1);
  CHECK(c.changing());
  Ready r = c.ready();
  CHECK(sentTo(r, Type::kAccept, 4));  // the learner hears it too
  // The learner's ack alone adds nothing: the change needs a majority of {1, 2, 3}.
  c.step(acked(4, {1}, 0));
  CHECK(c.learned() == 0);
  c.step(acked(2, {1}, 0));
  REQUIRE(c.learned() == 1);
  CHECK(!c.changing());
  REQUIRE(c.membership().find(4));
  CHECK(!c.membership().isVoter(4));
  // A write after it: leader and learner are not a majority of {1, 2, 3}.
  REQUIRE(c.propose("w"));
  (void)c.ready();
  c.step(acked(4, {2}, 1));
  CHECK(c.learned() == 1);
  c.step(acked(3, {2}, 1));
  CHECK(c.learned() == 2);
}

TEST_CASE("paxos: a promoted learner counts in the quorums after the change", "[unit][paxos]") {
  Core c = leader();
  REQUIRE(c.proposeMembership(with(c.membership(), kLearner4)).isOk());
  c.step(acked(2, {1}, 0));
  REQUIRE(c.learned() == 1);
  auto slot = c.proposeMembership(promoted(c.membership(), 4));
  REQUIRE(slot.isOk());
  CHECK(*slot == 2);
  // A write proposed while the promotion is under way is governed by it: {1, 2, 3, 4} needs 3.
  REQUIRE(c.propose("w"));
  (void)c.ready();
  c.step(acked(2, {2, 3}, 1));
  CHECK(c.learned() == 2);  // the promotion, by {1, 2} of {1, 2, 3}
  CHECK(c.membership().isVoter(4));
  CHECK(c.membership().quorum() == 3);
  c.step(acked(4, {3}, 2));  // the write: {1, 2, 4}
  CHECK(c.learned() == 3);
}

TEST_CASE("paxos: one membership change at a time, each one change, from the leader only",
          "[unit][paxos]") {
  Core follower(memberConfig(2), Durable{});
  Membership m = cairn::wire::votersOnly(kCluster, {1, 2, 3});
  CHECK(follower.proposeMembership(with(m, kLearner4)).status().code() == Err::kNotLeader);

  Core c = leader();
  const Membership cur = c.membership();
  // Two members at once, a new voter, a version that does not follow, another cluster's.
  Membership two = with(with(cur, kLearner4), Member{5, false, {}, {}, {}, false});
  two.version = cur.version + 1;  // one version, two members
  auto twoAtOnce = c.proposeMembership(two);
  CHECK(twoAtOnce.status().code() == Err::kBadRequest);
  CHECK_THAT(twoAtOnce.status().detail(), Catch::Contains("one member changes at a time"));
  CHECK(c.proposeMembership(with(cur, Member{4, true, {}, {}, {}, false})).status().code() ==
        Err::kBadRequest);
  Membership skip = with(cur, kLearner4);
  skip.version += 1;
  CHECK(c.proposeMembership(skip).status().code() == Err::kBadRequest);
  Membership other = with(cur, kLearner4);
  other.cluster = 1;
  CHECK(c.proposeMembership(other).status().code() == Err::kBadRequest);
  Membership twoOut = without(without(cur, 2), 3);
  twoOut.version = cur.version + 1;
  CHECK_THAT(c.proposeMembership(twoOut).status().detail(),
             Catch::Contains("one member changes at a time"));
  // One under way: the next waits.
  REQUIRE(c.proposeMembership(with(cur, kLearner4)).isOk());
  CHECK(c.proposeMembership(without(cur, 3)).status().code() == Err::kUnavailable);
}

TEST_CASE("paxos: a leader that removes itself hands over once a voter has caught up",
          "[unit][paxos]") {
  Core c = leader();
  auto slot = c.proposeMembership(without(c.membership(), 1));
  REQUIRE(slot.isOk());
  (void)c.ready();
  // Chosen by {1, 2} of {1, 2, 3}; node 2 has not learned it yet.
  c.step(acked(2, {1}, 0));
  REQUIRE(c.learned() == 1);
  CHECK(!c.membership().has(1));
  // Still leading (node 1 alone holds what 2 and 3 miss), proposing nothing new.
  CHECK(c.role() == Core::Role::kLeader);
  CHECK(!c.propose("w"));
  Ready r = c.ready();
  CHECK(!sentTo(r, Type::kTakeOver, 2));
  // Node 3 reports it has learned everything: it is asked to take over, and 1 steps down.
  c.step(acked(3, {}, 1));
  r = c.ready();
  CHECK(sentTo(r, Type::kTakeOver, 3));
  CHECK(c.role() == Core::Role::kFollower);
  // A node no configuration names as a voter never campaigns.
  for (int i = 0; i < 100; ++i)
    c.tick();
  r = c.ready();
  CHECK(!sentTo(r, Type::kProbe, 2));
  CHECK(!sentTo(r, Type::kPrepare, 2));
  CHECK(c.role() == Core::Role::kFollower);
}

TEST_CASE(
    "paxos: a leader whose change waits for a slow voter stays in office though the change's "
    "voters are not a quorum it hears",
    "[unit][paxos]") {
  // Node 3 is down. Leader 1 removes itself: {2, 3} would need node 3, but the change is chosen
  // under {1, 2, 3}, by 1 and 2. Node 2 answers heartbeats and is slow to accept the change. Had
  // 1 stepped down, no node could lead: a candidate would need a majority of {2, 3} as well.
  Core c = leader();
  auto slot = c.proposeMembership(without(c.membership(), 1));
  REQUIRE(slot.isOk());
  (void)c.ready();
  for (int i = 0; i < 40; ++i) {  // four election timeouts
    c.tick();
    if (i % 2 == 0) c.step(acked(2, {}, 0));
    (void)c.ready();
  }
  CHECK(c.role() == Core::Role::kLeader);
  CHECK(c.learned() == 0);
  c.step(acked(2, {*slot}, 0));
  CHECK(c.learned() == *slot);
  CHECK(!c.membership().has(1));
  // Hearing from nobody, a leader still steps down (here: one whose change is not yet chosen).
  Core d = leader();
  REQUIRE(d.proposeMembership(without(d.membership(), 3)).isOk());
  (void)d.ready();
  for (int i = 0; i < 25; ++i)
    d.tick();
  CHECK(d.role() == Core::Role::kFollower);
}

TEST_CASE("paxos: a take-over makes a caught-up voter prepare at once", "[unit][paxos]") {
  Core c(memberConfig(3), Durable{});
  PeerMessage a = peerMsg(Type::kAccept, 1, 3, Ballot{1, 1});
  a.entries.push_back(Slot{
      1, Ballot{1, 1},
      cairn::wire::encodeMembership(without(cairn::wire::votersOnly(kCluster, {1, 2, 3}), 1))});
  c.step(a);
  (void)c.ready();
  PeerMessage t = peerMsg(Type::kTakeOver, 1, 3, Ballot{1, 1});
  t.commit = 1;  // the change is chosen: 3 votes in {2, 3}
  c.step(t);
  CHECK(c.learned() == 1);
  CHECK(c.role() == Core::Role::kCandidate);
  Ready r = c.ready();
  CHECK(sentTo(r, Type::kPrepare, 2));
}

TEST_CASE("paxos: a candidate needs a majority of every configuration it would re-propose",
          "[unit][paxos]") {
  // Node 1 knows nothing chosen. Node 2 reports two changes accepted at slots 1 and 2: learner 4
  // added, then promoted. Promises from {1, 2} are a majority of {1, 2, 3}, not of {1, 2, 3, 4}.
  Core c(memberConfig(1), Durable{});
  c.campaign();
  (void)c.ready();
  const Membership boot = cairn::wire::votersOnly(kCluster, {1, 2, 3});
  const Membership added = with(boot, kLearner4);
  const Membership four = promoted(added, 4);
  PeerMessage p = peerMsg(Type::kPromise, 2, 1, Ballot{1, 1});
  p.slot = 1;
  p.entries = {Slot{1, Ballot{0, 2}, cairn::wire::encodeMembership(added)},
               Slot{2, Ballot{0, 2}, cairn::wire::encodeMembership(four)}};
  c.step(p);
  CHECK(c.role() == Core::Role::kCandidate);
  Ready r = c.ready();
  CHECK(sentTo(r, Type::kPrepare, 4));  // a voter of a configuration it had not heard of
  PeerMessage p4 = peerMsg(Type::kPromise, 4, 1, Ballot{1, 1});
  p4.slot = 1;
  c.step(p4);
  REQUIRE(c.role() == Core::Role::kLeader);
  // It re-proposes both, and the write after them is governed by {1, 2, 3, 4}.
  CHECK(c.latestMembership() == four);
  (void)c.ready();
  REQUIRE(c.propose("w"));
  (void)c.ready();
  PeerMessage from2 = peerMsg(Type::kAccepted, 2, 1, Ballot{1, 1});
  for (std::uint64_t s = 1; s <= 3; ++s)
    from2.entries.push_back(Slot{s, Ballot{1, 1}, ""});
  c.step(from2);
  CHECK(c.learned() == 2);  // both changes ({1, 2} of {1, 2, 3}), not the write ({1, 2} of four)
  PeerMessage from4 = peerMsg(Type::kAccepted, 4, 1, Ballot{1, 1});
  from4.entries.push_back(Slot{3, Ballot{1, 1}, ""});
  c.step(from4);
  CHECK(c.learned() == 3);
}

TEST_CASE("paxos: a change proposed against a replaced configuration changes nothing",
          "[unit][paxos]") {
  // Slot 1 holds a change chosen; slot 2 a stale one (also version 1) a later leader re-proposed.
  Core c(memberConfig(2), Durable{});
  const Membership boot = cairn::wire::votersOnly(kCluster, {1, 2, 3});
  PeerMessage a = peerMsg(Type::kAccept, 1, 2, Ballot{1, 1});
  a.entries = {Slot{1, Ballot{1, 1}, cairn::wire::encodeMembership(with(boot, kLearner4))},
               Slot{2, Ballot{1, 1}, cairn::wire::encodeMembership(without(boot, 3))}};
  a.commit = 2;
  c.step(a);
  REQUIRE(c.learned() == 2);
  CHECK(c.membership() == with(boot, kLearner4));
  Ready r = c.ready();
  CHECK(r.configs == std::vector<std::uint64_t>{1});  // slot 2 is applied as a no-op
}

TEST_CASE("paxos: a snapshot brings its configuration, and another cluster's is ignored",
          "[unit][paxos]") {
  Core c(memberConfig(2), Durable{});
  const Membership boot = cairn::wire::votersOnly(kCluster, {1, 2, 3});
  c.installSnapshot(10, with(boot, kLearner4));
  CHECK(c.membership() == with(boot, kLearner4));
  Membership foreign = without(boot, 3);
  foreign.cluster = 5;
  Durable d;
  d.applied = 3;
  d.members = foreign;
  Core fresh(memberConfig(2), d);
  CHECK(fresh.membership() == boot);
}

TEST_CASE("paxos: a removed node that probes is sent the log that removed it", "[unit][paxos]") {
  Core c = leader();
  REQUIRE(c.proposeMembership(without(c.membership(), 3)).isOk());
  (void)c.ready();
  c.step(acked(2, {1}, 0));
  REQUIRE(c.learned() == 1);
  (void)c.ready();
  // Node 3 restarted from a log that had not recorded its removal, and campaigns.
  PeerMessage probe = peerMsg(Type::kProbe, 3, 1, Ballot{5, 3});
  c.step(probe);
  Ready r = c.ready();
  CHECK(sentTo(r, Type::kNack, 3));
  const PeerMessage* learn = nullptr;
  for (const auto& m : r.send) {
    if (m.type == Type::kLearn && m.to == 3) learn = &m;
  }
  REQUIRE(learn);
  REQUIRE(learn->entries.size() == 1);
  CHECK(cairn::wire::isMembershipValue(learn->entries[0].value));
}
