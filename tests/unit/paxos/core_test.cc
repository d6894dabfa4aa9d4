// One rule of the consensus core per test: a step, then an assertion on its output.

#include <catch2/catch.hpp>

#include <algorithm>

#include "node/paxos/core.h"
#include "wire/peer.h"

using namespace cairn::paxos;
using Type = PeerMessage::Type;

namespace {

Config config(std::uint32_t id, std::vector<std::uint32_t> members = {1, 2, 3}) {
  Config c;
  c.id = id;
  c.members = std::move(members);
  c.cluster = 77;
  c.electionTicks = 10;
  c.heartbeatTicks = 2;
  c.seed = id;
  return c;
}

PeerMessage msg(Type t, std::uint32_t from, std::uint32_t to, Ballot b) {
  PeerMessage m;
  m.type = t;
  m.cluster = 77;
  m.from = from;
  m.to = to;
  m.ballot = b;
  return m;
}

const PeerMessage* find(const Ready& r, Type t, std::uint32_t to) {
  for (const auto& m : r.send) {
    if (m.type == t && m.to == to) return &m;
  }
  return nullptr;
}

// Makes `id` the leader of a 3-node cluster at round 1 by feeding it one promise.
Core leaderOf(std::uint32_t id, Durable d = {}) {
  Core c(config(id), std::move(d));
  c.campaign();
  Ready r = c.ready();
  REQUIRE(r.promised == Ballot{1, id});
  std::uint32_t other = id == 1 ? 2 : 1;
  PeerMessage p = msg(Type::kPromise, other, id, Ballot{1, id});
  p.slot = 1;
  c.step(p);
  REQUIRE(c.role() == Core::Role::kLeader);
  (void)c.ready();
  return c;
}

// Node 1 leads and has chosen slots 1..6, all of them accepted and learned by node 2; its log
// keeps only slots 5..6 (1..4 are in a snapshot).
Core leaderCompactedTo4() {
  Core c = leaderOf(1);
  for (int i = 0; i < 6; ++i)
    REQUIRE(c.propose("v" + std::to_string(i)));
  (void)c.ready();
  PeerMessage ok = msg(Type::kAccepted, 2, 1, Ballot{1, 1});
  for (std::uint64_t s = 1; s <= 6; ++s)
    ok.entries.push_back(Slot{s, Ballot{1, 1}, ""});
  ok.learned = 6;
  c.step(ok);
  REQUIRE(c.learned() == 6);
  c.compact(4);
  return c;
}

}  // namespace

TEST_CASE("paxos: an acceptor promises a higher ballot, persists it, reports its accepted values",
          "[unit][paxos]") {
  Durable d;
  d.promised = Ballot{1, 1};
  d.accepted = {Slot{1, Ballot{1, 1}, "a"}, Slot{2, Ballot{1, 1}, "b"}, Slot{3, Ballot{1, 1}, "c"}};
  Core c(config(2), d);
  PeerMessage p = msg(Type::kPrepare, 3, 2, Ballot{2, 3});
  p.slot = 2;
  c.step(p);
  Ready r = c.ready();
  REQUIRE(r.promised == Ballot{2, 3});
  const PeerMessage* promise = find(r, Type::kPromise, 3);
  REQUIRE(promise);
  CHECK(promise->ballot == Ballot{2, 3});
  REQUIRE(promise->entries.size() == 2);  // slots >= 2 only
  CHECK(promise->entries[0] == Slot{2, Ballot{1, 1}, "b"});
  CHECK(promise->entries[1] == Slot{3, Ballot{1, 1}, "c"});
}

TEST_CASE("paxos: an acceptor refuses a prepare below its promise", "[unit][paxos]") {
  Durable d;
  d.promised = Ballot{5, 1};
  Core c(config(2), d);
  c.step(msg(Type::kPrepare, 3, 2, Ballot{4, 3}));
  Ready r = c.ready();
  CHECK(!r.promised);
  const PeerMessage* nack = find(r, Type::kNack, 3);
  REQUIRE(nack);
  CHECK(nack->ballot == Ballot{5, 1});
  CHECK(!find(r, Type::kPromise, 3));
}

TEST_CASE("paxos: an acceptor accepts at its promised ballot and persists before replying",
          "[unit][paxos]") {
  Durable d;
  d.promised = Ballot{2, 1};
  Core c(config(2), d);
  PeerMessage a = msg(Type::kAccept, 1, 2, Ballot{2, 1});
  a.entries = {Slot{1, Ballot{2, 1}, "x"}, Slot{2, Ballot{2, 1}, "y"}};
  c.step(a);
  Ready r = c.ready();
  REQUIRE(r.accepted.size() == 2);
  CHECK(r.accepted[0] == Slot{1, Ballot{2, 1}, "x"});
  const PeerMessage* ack = find(r, Type::kAccepted, 1);
  REQUIRE(ack);
  CHECK(ack->entries.size() == 2);
  CHECK(r.chosen.empty());  // accepted is not chosen
  CHECK(c.leader() == 1);
}

TEST_CASE("paxos: an acceptor refuses an accept below its promise", "[unit][paxos]") {
  Durable d;
  d.promised = Ballot{3, 3};
  Core c(config(2), d);
  PeerMessage a = msg(Type::kAccept, 1, 2, Ballot{2, 1});
  a.entries = {Slot{1, Ballot{2, 1}, "x"}};
  c.step(a);
  Ready r = c.ready();
  CHECK(r.accepted.empty());
  REQUIRE(find(r, Type::kNack, 1));
  CHECK(find(r, Type::kNack, 1)->ballot == Ballot{3, 3});
}

TEST_CASE("paxos: a follower learns up to the commit only what it accepted in that ballot",
          "[unit][paxos]") {
  Durable d;
  d.promised = Ballot{2, 1};
  d.accepted = {Slot{1, Ballot{1, 3}, "old"}};  // from an earlier leader
  Core c(config(2), d);
  PeerMessage a = msg(Type::kAccept, 1, 2, Ballot{2, 1});
  a.entries = {Slot{2, Ballot{2, 1}, "new"}};
  a.commit = 2;
  c.step(a);
  Ready r = c.ready();
  // Slot 1 holds a value of ballot 1, not of the committing ballot 2: it may not be the chosen
  // one, so nothing is learned (slot 2 waits behind it).
  CHECK(r.chosen.empty());
  CHECK(c.learned() == 0);
  a.entries = {Slot{1, Ballot{2, 1}, "chosen"}};
  c.step(a);
  r = c.ready();
  REQUIRE(r.chosen.size() == 2);
  CHECK(r.chosen[0].value == "chosen");
  CHECK(r.chosen[1].value == "new");
  CHECK(c.learned() == 2);
}

TEST_CASE("paxos: a new leader re-proposes the highest-ballot values and fills holes with no-ops",
          "[unit][paxos]") {
  Core c(config(1), Durable{});
  c.campaign();
  Ready r = c.ready();
  const Ballot b{1, 1};
  REQUIRE(r.promised == b);
  REQUIRE(find(r, Type::kPrepare, 2));
  CHECK(find(r, Type::kPrepare, 2)->slot == 1);
  PeerMessage p = msg(Type::kPromise, 2, 1, b);
  p.slot = 1;
  p.entries = {Slot{1, Ballot{0, 2}, "low"}, Slot{3, Ballot{0, 3}, "three"}};
  PeerMessage q = msg(Type::kPromise, 3, 1, b);
  q.entries = {Slot{1, Ballot{0, 3}, "high"}};
  c.step(p);
  CHECK(c.role() == Core::Role::kLeader);  // 2 of 3 promised (itself and node 2)
  r = c.ready();
  const PeerMessage* acc = find(r, Type::kAccept, 2);
  REQUIRE(acc);
  REQUIRE(acc->entries.size() == 3);
  CHECK(acc->entries[0].value == "low");  // node 3's promise did not arrive in time
  CHECK(acc->entries[1].value == "");     // a hole: no-op
  CHECK(acc->entries[2].value == "three");
  for (const auto& e : acc->entries)
    CHECK(e.ballot == b);
  CHECK(r.accepted.size() == 3);  // the leader accepts its own proposals, durably
}

TEST_CASE("paxos: the highest accepted ballot wins across promises", "[unit][paxos]") {
  Core c(config(1, {1, 2, 3, 4, 5}), Durable{});
  c.campaign();
  (void)c.ready();
  const Ballot b{1, 1};
  PeerMessage p = msg(Type::kPromise, 2, 1, b);
  p.entries = {Slot{1, Ballot{0, 2}, "low"}};
  PeerMessage q = msg(Type::kPromise, 3, 1, b);
  q.entries = {Slot{1, Ballot{0, 3}, "high"}};
  c.step(p);
  c.step(q);
  REQUIRE(c.role() == Core::Role::kLeader);
  Ready r = c.ready();
  REQUIRE(find(r, Type::kAccept, 2));
  CHECK(find(r, Type::kAccept, 2)->entries.at(0).value == "high");
}

TEST_CASE("paxos: a value is chosen when a quorum accepted it, and not before", "[unit][paxos]") {
  Core c = leaderOf(1);
  REQUIRE(c.propose("v1"));
  REQUIRE(c.propose("v2"));
  Ready r = c.ready();
  const PeerMessage* acc = find(r, Type::kAccept, 2);
  REQUIRE(acc);
  CHECK(acc->entries.size() == 2);  // both slots in one message per peer
  CHECK(r.chosen.empty());
  PeerMessage ok = msg(Type::kAccepted, 3, 1, Ballot{1, 1});
  ok.entries = {Slot{2, Ballot{1, 1}, ""}};
  c.step(ok);
  r = c.ready();
  CHECK(r.chosen.empty());  // slot 2 is chosen, but slot 1 is not yet: nothing to apply
  ok.entries = {Slot{1, Ballot{1, 1}, ""}};
  c.step(ok);
  r = c.ready();
  REQUIRE(r.chosen.size() == 2);
  CHECK(r.chosen[0].slot == 1);
  CHECK(r.chosen[0].value == "v1");
  CHECK(r.chosen[1].value == "v2");
  CHECK(r.learned == 2u);
}

TEST_CASE("paxos: only a leader takes proposals, and only within its window", "[unit][paxos]") {
  Core f(config(2), Durable{});
  CHECK(!f.propose("x"));
  Config cfg = config(1);
  cfg.window = 2;
  Core c(cfg, Durable{});
  c.campaign();
  PeerMessage p = msg(Type::kPromise, 2, 1, Ballot{1, 1});
  c.step(p);
  REQUIRE(c.role() == Core::Role::kLeader);
  CHECK(c.propose("a"));
  CHECK(c.propose("b"));
  CHECK(!c.propose("c"));
}

TEST_CASE("paxos: a probe persists nothing and is refused while a leader is alive",
          "[unit][paxos]") {
  Core c(config(2), Durable{});
  c.step(msg(Type::kProbe, 3, 2, Ballot{1, 3}));
  Ready r = c.ready();
  CHECK(!r.promised);
  CHECK(find(r, Type::kProbeOk, 3));
  // Node 1 leads and is heard from: node 3's probe gets a no.
  c.step(msg(Type::kAccept, 1, 2, Ballot{1, 1}));
  (void)c.ready();
  c.step(msg(Type::kProbe, 3, 2, Ballot{2, 3}));
  r = c.ready();
  CHECK(!find(r, Type::kProbeOk, 3));
  CHECK(find(r, Type::kNack, 3));
}

TEST_CASE("paxos: a follower probes, then prepares, after its election timeout", "[unit][paxos]") {
  Core c(config(2), Durable{});
  Ready r;
  for (int i = 0; i < 20 && !find(r, Type::kProbe, 1); ++i) {
    c.tick();
    r = c.ready();
  }
  REQUIRE(find(r, Type::kProbe, 1));
  CHECK(!r.promised);  // probing persists nothing
  Ballot b = find(r, Type::kProbe, 1)->ballot;
  PeerMessage ok = msg(Type::kProbeOk, 1, 2, b);
  c.step(ok);
  r = c.ready();
  REQUIRE(r.promised == b);
  CHECK(c.role() == Core::Role::kCandidate);
  CHECK(find(r, Type::kPrepare, 1));
  CHECK(find(r, Type::kPrepare, 3));
}

TEST_CASE("paxos: a leader that hears from no quorum steps down", "[unit][paxos]") {
  Core c = leaderOf(1);
  for (int i = 0; i < 30; ++i) {
    c.tick();
    (void)c.ready();
  }
  CHECK(c.role() == Core::Role::kFollower);
  // With acknowledgements it stays.
  Core d = leaderOf(1);
  for (int i = 0; i < 30; ++i) {
    d.tick();
    (void)d.ready();
    PeerMessage ack = msg(Type::kAccepted, 2, 1, Ballot{1, 1});
    d.step(ack);
  }
  CHECK(d.role() == Core::Role::kLeader);
}

TEST_CASE("paxos: a higher ballot makes a leader step down", "[unit][paxos]") {
  Core c = leaderOf(1);
  c.step(msg(Type::kNack, 2, 1, Ballot{5, 3}));
  CHECK(c.role() == Core::Role::kFollower);
  Core d = leaderOf(1);
  PeerMessage a = msg(Type::kAccept, 3, 1, Ballot{2, 3});
  d.step(a);
  CHECK(d.role() == Core::Role::kFollower);
  CHECK(d.leader() == 3);
}

TEST_CASE("paxos: a single member leads and chooses alone", "[unit][paxos]") {
  Core c(config(1, {1}), Durable{});
  c.campaign();
  REQUIRE(c.role() == Core::Role::kLeader);
  REQUIRE(c.propose("solo"));
  Ready r = c.ready();
  REQUIRE(r.chosen.size() == 1);
  CHECK(r.chosen[0].value == "solo");
  CHECK(r.accepted.size() == 1);  // persisted in the same Ready, before it is applied
  CHECK(r.send.empty());
}

TEST_CASE("paxos: messages from no node or other clusters are dropped and counted",
          "[unit][paxos]") {
  Core c(config(2), Durable{});
  PeerMessage p = msg(Type::kPrepare, 0, 2, Ballot{9, 9});  // from no node
  c.step(p);
  p = msg(Type::kPrepare, 3, 2, Ballot{9, 3});
  p.cluster = 1;  // another cluster
  c.step(p);
  p = msg(Type::kPrepare, 3, 4, Ballot{9, 3});  // addressed to someone else
  c.step(p);
  CHECK(c.dropped() == 3);
  CHECK(!c.hasReady());
  CHECK(c.promised().isZero());
}

TEST_CASE("paxos: a follower that missed slots gets them in a Learn", "[unit][paxos]") {
  Core c = leaderOf(1);
  for (int i = 0; i < 5; ++i)
    REQUIRE(c.propose("v" + std::to_string(i)));
  (void)c.ready();
  PeerMessage ok = msg(Type::kAccepted, 2, 1, Ballot{1, 1});
  for (std::uint64_t s = 1; s <= 5; ++s)
    ok.entries.push_back(Slot{s, Ballot{1, 1}, ""});
  ok.learned = 5;
  c.step(ok);
  REQUIRE(c.learned() == 5);
  (void)c.ready();
  // Node 3 reports it has learned nothing; after two heartbeats the leader sends chosen values.
  PeerMessage behind = msg(Type::kAccepted, 3, 1, Ballot{1, 1});
  c.step(behind);
  const PeerMessage* learn = nullptr;
  Ready r;
  for (int i = 0; i < 6 && !learn; ++i) {
    c.tick();
    r = c.ready();
    learn = find(r, Type::kLearn, 3);
  }
  REQUIRE(learn);
  REQUIRE(learn->entries.size() == 5);
  CHECK(learn->entries[4].value == "v4");
  // The follower takes them as chosen, persists them, and applies them.
  Core f(config(3), Durable{});
  f.step(*learn);
  Ready fr = f.ready();
  CHECK(fr.chosen.size() == 5);
  CHECK(fr.accepted.size() == 5);
}

TEST_CASE("paxos: a restart recovers the promise and re-delivers the chosen prefix",
          "[unit][paxos]") {
  Durable d;
  d.promised = Ballot{4, 2};
  d.accepted = {Slot{1, Ballot{1, 1}, "a"}, Slot{1, Ballot{3, 2}, "a2"}, Slot{2, Ballot{3, 2}, "b"},
                Slot{3, Ballot{3, 2}, "c"}};
  d.learned = 2;
  Core c(config(2), d);
  CHECK(c.promised() == Ballot{4, 2});
  Ready r = c.ready();
  REQUIRE(r.chosen.size() == 2);
  CHECK(r.chosen[0].value == "a2");  // the highest ballot for slot 1
  CHECK(r.chosen[1].value == "b");
  CHECK(c.learned() == 2);
  // Slots already in the snapshot are not handed out again.
  d.applied = 1;
  Core s(config(2), d);
  r = s.ready();
  REQUIRE(r.chosen.size() == 1);
  CHECK(r.chosen[0].slot == 2);
}

namespace {

// What node 1 finds at a restart after a snapshot at slot 100: chosen values kept behind it at
// slots 60..100 (but `missing`), values accepted at 101..120 and a chosen prefix recorded up to
// 110.
Durable snapshotAt100(std::uint64_t missing = 0) {
  Durable d;
  d.promised = Ballot{1, 2};
  d.applied = 100;
  d.learned = 110;
  for (std::uint64_t s = 60; s <= 120; ++s) {
    if (s == missing) continue;
    (s <= 100 ? d.retained : d.accepted).push_back(Slot{s, Ballot{1, 2}, "v" + std::to_string(s)});
  }
  return d;
}

// Node 1 leads at ballot {2, 1} with node 2's promise, and hears that node 2 has learned
// `learned2` and node 3 `learned3`; returns the Ready of its next heartbeat.
Ready leadAndHeartbeat(Core& c, std::uint64_t learned2, std::uint64_t learned3) {
  c.campaign();
  Ready r = c.ready();
  REQUIRE(r.promised == Ballot{2, 1});
  const PeerMessage* prepare = find(r, Type::kPrepare, 2);
  REQUIRE(prepare);
  CHECK(prepare->slot == c.learned() + 1);
  PeerMessage p = msg(Type::kPromise, 2, 1, Ballot{2, 1});
  p.slot = prepare->slot;
  c.step(p);
  REQUIRE(c.role() == Core::Role::kLeader);
  (void)c.ready();
  for (auto [id, learned] : {std::pair{2u, learned2}, std::pair{3u, learned3}}) {
    PeerMessage ok = msg(Type::kAccepted, id, 1, Ballot{2, 1});
    ok.learned = learned;
    c.step(ok);
  }
  (void)c.ready();
  for (int i = 0; i < 2; ++i)  // heartbeatTicks
    c.tick();
  return c.ready();
}

}  // namespace

TEST_CASE("paxos: a restart keeps the chosen log behind its snapshot and serves it by Learn",
          "[unit][paxos]") {
  Core c(config(1), snapshotAt100());
  CHECK(c.compacted() == 59);
  CHECK(c.learned() == 110);
  Ready r = c.ready();  // only what follows the snapshot is handed out again
  REQUIRE(r.chosen.size() == 10);
  CHECK(r.chosen.front().slot == 101);
  CHECK(r.chosen.back().slot == 110);
  // As leader, it sends node 3 (at slot 70) the slots after 70 from its log; node 2 (at 50) is
  // behind the log kept: it needs a snapshot.
  r = leadAndHeartbeat(c, 50, 70);
  const PeerMessage* learn = find(r, Type::kLearn, 3);
  REQUIRE(learn);
  REQUIRE(learn->entries.size() == 40);
  CHECK(learn->entries.front().slot == 71);
  CHECK(learn->entries.front().value == "v71");
  CHECK(learn->entries.back().slot == 110);
  CHECK(r.snapshotTo == std::vector<std::uint32_t>{2});
}

TEST_CASE("paxos: a gap in the log kept behind the snapshot compacts everything below it",
          "[unit][paxos]") {
  Core c(config(1), snapshotAt100(80));
  CHECK(c.compacted() == 80);
  CHECK(c.learned() == 110);
  Ready r = leadAndHeartbeat(c, 80, 70);
  const PeerMessage* learn = find(r, Type::kLearn, 2);
  REQUIRE(learn);
  CHECK(learn->entries.front().slot == 81);
  CHECK(r.snapshotTo == std::vector<std::uint32_t>{3});
}

TEST_CASE("paxos: accepted values behind the snapshot are neither kept nor served",
          "[unit][paxos]") {
  // They may have lost: the slot may have come in a snapshot from the leader.
  Durable d = snapshotAt100();
  for (Slot& s : d.retained)
    s.value = "lost";
  d.accepted.insert(d.accepted.begin(), d.retained.begin(), d.retained.end());
  d.retained.clear();
  Core c(config(1), d);
  CHECK(c.compacted() == 100);
  CHECK(c.acceptedFrom(1).front().slot == 101);
}

TEST_CASE("paxos: the log kept behind the snapshot counts for probes and promises",
          "[unit][paxos]") {
  Core c(config(1), snapshotAt100());
  // A prober that has learned what this node compacted may lead: it gets the rest in a promise.
  PeerMessage probe = msg(Type::kProbe, 2, 1, Ballot{2, 2});
  probe.learned = 59;
  c.step(probe);
  Ready r = c.ready();
  CHECK(find(r, Type::kProbeOk, 2));
  PeerMessage prepare = msg(Type::kPrepare, 2, 1, Ballot{2, 2});
  prepare.slot = 60;
  c.step(prepare);
  r = c.ready();
  const PeerMessage* promise = find(r, Type::kPromise, 2);
  REQUIRE(promise);
  CHECK(promise->commit == 59);
  REQUIRE(promise->entries.size() == 61);  // 60..120
  CHECK(promise->entries.front() == Slot{60, Ballot{1, 2}, "v60"});
  // With it, a candidate that has learned 59 leads and re-proposes the chosen values from 60 on.
  for (std::uint64_t learned : {59, 58}) {
    Durable cd;
    cd.applied = learned;
    Core cand(config(2), cd);
    cand.campaign();
    (void)cand.ready();
    PeerMessage p = *promise;
    p.ballot = cand.promised();
    p.slot = learned + 1;
    cand.step(p);
    if (learned == 58) {  // the promise lacks slot 59, which it needs: it steps aside
      CHECK(cand.role() == Core::Role::kFollower);
      continue;
    }
    REQUIRE(cand.role() == Core::Role::kLeader);
    Ready cr = cand.ready();
    const PeerMessage* accept = find(cr, Type::kAccept, 3);
    REQUIRE(accept);
    REQUIRE(accept->entries.size() == 61);
    CHECK(accept->entries.front().slot == 60);
    CHECK(accept->entries.front().value == "v60");
  }
  // And a prober behind the log kept is refused.
  probe.learned = 58;
  probe.ballot = Ballot{3, 2};
  c.step(probe);
  CHECK(find(c.ready(), Type::kNack, 2));
}

TEST_CASE("paxos: peer messages survive the codec", "[unit][paxos][wire]") {
  PeerMessage m = msg(Type::kPromise, 2, 1, Ballot{7, 2});
  m.slot = 3;
  m.commit = 4;
  m.learned = 5;
  m.entries = {Slot{3, Ballot{6, 1}, std::string("v\0", 2)}, Slot{4, Ballot{0, 0}, ""}};
  auto frame = cairn::wire::decodePeer(cairn::wire::encodePeer(m));
  REQUIRE(frame.isOk());
  const PeerMessage* d = std::get_if<PeerMessage>(&*frame);
  REQUIRE(d);
  CHECK(d->type == m.type);
  CHECK(d->cluster == 77);
  CHECK(d->from == 2);
  CHECK(d->to == 1);
  CHECK(d->ballot == m.ballot);
  CHECK(d->slot == 3);
  CHECK(d->commit == 4);
  CHECK(d->learned == 5);
  CHECK(d->entries == m.entries);
  CHECK(!cairn::wire::decodePeer("\x93\x01\x02\x03").isOk());
  CHECK(!cairn::wire::decodePeer("garbage").isOk());
  std::string bytes = cairn::wire::encodePeer(m);
  CHECK(!cairn::wire::decodePeer(bytes.substr(0, bytes.size() - 2)).isOk());
}

TEST_CASE("paxos: a peer behind the compacted log is sent a snapshot, then Learns the rest",
          "[unit][paxos]") {
  Core c = leaderCompactedTo4();
  (void)c.ready();
  c.step(msg(Type::kAccepted, 3, 1, Ballot{1, 1}));  // node 3 has learned nothing
  Ready r;
  bool asked = false;
  for (int i = 0; i < 6 && !asked; ++i) {
    c.tick();
    r = c.ready();
    asked = std::count(r.snapshotTo.begin(), r.snapshotTo.end(), 3u) > 0;
  }
  REQUIRE(asked);
  CHECK(!find(r, Type::kLearn, 3));  // nothing it could learn from the log alone
  // Node 3 installs the snapshot at slot 4 and acknowledges; the leader continues with 5 and 6.
  Core f(config(3), Durable{});
  f.step(msg(Type::kAccept, 1, 3, Ballot{1, 1}));
  (void)f.ready();
  f.installSnapshot(4, std::nullopt);
  Ready fr = f.ready();
  CHECK(f.learned() == 4);
  CHECK(fr.learned == 4u);
  const PeerMessage* ack = find(fr, Type::kAccepted, 1);
  REQUIRE(ack);
  CHECK(ack->learned == 4);
  c.step(*ack);
  r = c.ready();
  const PeerMessage* learn = find(r, Type::kLearn, 3);
  REQUIRE(learn);
  REQUIRE(learn->entries.size() == 2);
  CHECK(learn->entries[0].slot == 5);
  f.step(*learn);
  fr = f.ready();
  REQUIRE(fr.chosen.size() == 2);
  CHECK(fr.chosen[1].value == "v5");
}

TEST_CASE("paxos: a leader asks no snapshot for a peer it has not heard from since it started",
          "[unit][paxos]") {
  // After a full restart every peer's chosen prefix is unknown, not 0: a peer that has the log
  // must not be sent the store before it has said where it stands.
  Core c = leaderCompactedTo4();
  (void)c.ready();
  PeerMessage alive = msg(Type::kAccepted, 2, 1, Ballot{1, 1});  // node 2 keeps it leading
  alive.learned = 6;
  for (int i = 0; i < 30; ++i) {
    c.tick();
    c.step(alive);
    Ready r = c.ready();
    CHECK(std::count(r.snapshotTo.begin(), r.snapshotTo.end(), 3u) == 0);
    CHECK_FALSE(find(r, Type::kLearn, 3));
  }
  // Once it reports its prefix (here: all but the last slot), it learns the rest from the log.
  PeerMessage ack = msg(Type::kAccepted, 3, 1, Ballot{1, 1});
  ack.learned = c.learned() - 1;
  c.step(ack);
  bool learned = false;
  for (int i = 0; i < 6 && !learned; ++i) {
    c.tick();
    Ready r = c.ready();
    CHECK(r.snapshotTo.empty());
    learned = find(r, Type::kLearn, 3) != nullptr;
  }
  CHECK(learned);
}

TEST_CASE("paxos: a read point waits for a quorum round that started after it", "[unit][paxos]") {
  Core c = leaderOf(1);
  REQUIRE(c.readIndex(7, 1));
  Ready r = c.ready();
  CHECK(r.reads.empty());
  const PeerMessage* hb = find(r, Type::kAccept, 2);
  REQUIRE(hb);
  std::uint64_t round = hb->slot;
  CHECK(round > 0);
  PeerMessage stale = msg(Type::kAccepted, 2, 1, Ballot{1, 1});
  stale.slot = round - 1;  // an acknowledgement of an older round proves nothing
  c.step(stale);
  CHECK(c.ready().reads.empty());
  PeerMessage fresh = msg(Type::kAccepted, 2, 1, Ballot{1, 1});
  fresh.slot = round;
  c.step(fresh);
  r = c.ready();
  REQUIRE(r.reads.size() == 1);
  CHECK(r.reads[0].ctx == 7);
  CHECK(r.reads[0].index == c.learned());
  Core f(config(2), Durable{});
  CHECK(!f.readIndex(1, 2));  // only a leader gives read points
}

// Found by the simulation: a promiser that had compacted chosen slots left their values out of
// its promise, and a candidate behind it re-proposed no-ops there: two values chosen for a slot.
TEST_CASE("paxos: a candidate behind a promiser's compaction point does not lead",
          "[unit][paxos]") {
  Core c(config(1), Durable{});  // has learned nothing
  c.campaign();
  (void)c.ready();
  PeerMessage p = msg(Type::kPromise, 2, 1, Ballot{1, 1});
  p.slot = 1;
  p.commit = 40;  // node 2 holds slots 1..40 only in a snapshot
  c.step(p);
  CHECK(c.role() == Core::Role::kFollower);
  // And such a node is refused at the probe already.
  Durable d;
  d.applied = 40;
  Core up(config(2), d);
  PeerMessage probe = msg(Type::kProbe, 1, 2, Ballot{2, 1});
  probe.learned = 10;
  up.step(probe);
  Ready r = up.ready();
  CHECK(!find(r, Type::kProbeOk, 1));
  CHECK(find(r, Type::kNack, 1));
  probe.learned = 40;
  up.step(probe);
  CHECK(find(up.ready(), Type::kProbeOk, 1));
}

// ---- the higher-ballot rule: one per message type ---------------------------------------------

namespace {

// Makes node 1 a candidate at ballot {1, 1}: it has prepared and heard no promise yet.
Core candidate() {
  Core c(config(1), Durable{});
  c.campaign();
  (void)c.ready();
  REQUIRE(c.role() == Core::Role::kCandidate);
  REQUIRE(c.promised() == Ballot{1, 1});
  return c;
}

}  // namespace

TEST_CASE("paxos: a higher-ballot Prepare makes a leader or candidate step down and promise it",
          "[unit][paxos]") {
  Core leader = leaderOf(1);
  Core cand = candidate();
  for (Core* c : {&leader, &cand}) {
    PeerMessage p = msg(Type::kPrepare, 3, 1, Ballot{5, 3});
    p.slot = 1;
    c->step(p);
    Ready r = c->ready();
    CHECK(c->role() == Core::Role::kFollower);
    CHECK(c->leader() == 0);
    CHECK(r.promised == Ballot{5, 3});  // durable before the Promise goes out
    CHECK(c->promised() == Ballot{5, 3});
    REQUIRE(find(r, Type::kPromise, 3));
    CHECK(find(r, Type::kPromise, 3)->ballot == Ballot{5, 3});
  }
}

TEST_CASE(
    "paxos: a higher-ballot Accept makes a leader or candidate step down, promise it and "
    "follow its sender",
    "[unit][paxos]") {
  Core leader = leaderOf(1);
  Core cand = candidate();
  for (Core* c : {&leader, &cand}) {
    PeerMessage a = msg(Type::kAccept, 3, 1, Ballot{2, 3});
    a.entries = {Slot{1, Ballot{2, 3}, "x"}};
    c->step(a);
    Ready r = c->ready();
    CHECK(c->role() == Core::Role::kFollower);
    CHECK(c->leader() == 3);
    CHECK(r.promised == Ballot{2, 3});
    REQUIRE(r.accepted.size() == 1);
    CHECK(r.accepted[0] == Slot{1, Ballot{2, 3}, "x"});
    REQUIRE(find(r, Type::kAccepted, 3));
    CHECK(find(r, Type::kAccepted, 3)->ballot == Ballot{2, 3});
  }
}

TEST_CASE("paxos: a higher-ballot Nack makes a leader or candidate step down without promising it",
          "[unit][paxos]") {
  Core leader = leaderOf(1);
  REQUIRE(leader.readIndex(9, 1));
  (void)leader.ready();
  Core cand = candidate();
  for (Core* c : {&leader, &cand}) {
    c->step(msg(Type::kNack, 2, 1, Ballot{5, 3}));
    Ready r = c->ready();
    CHECK(c->role() == Core::Role::kFollower);
    CHECK(!r.promised);  // word of a ballot is not a request to promise it
    CHECK(c->promised() == Ballot{1, 1});
    // Its next ballot is above the one it was refused for.
    c->campaign();
    REQUIRE(c->ready().promised);
    CHECK(c->promised().round > 5);
  }
  // A read point the leader could no longer confirm is given up, not answered.
  Core l = leaderOf(1);
  REQUIRE(l.readIndex(9, 1));
  (void)l.ready();
  l.step(msg(Type::kNack, 2, 1, Ballot{5, 3}));
  Ready r = l.ready();
  REQUIRE(r.readsLost.size() == 1);
  CHECK(r.readsLost[0].ctx == 9);
  CHECK(r.reads.empty());
}

TEST_CASE("paxos: a Nack at or below the promise, or to a follower, changes no role",
          "[unit][paxos]") {
  Core c = leaderOf(1);
  c.step(msg(Type::kNack, 2, 1, Ballot{1, 1}));
  c.step(msg(Type::kNack, 3, 1, Ballot{0, 3}));
  CHECK(c.role() == Core::Role::kLeader);
  Core f(config(2), Durable{});
  f.step(msg(Type::kNack, 3, 2, Ballot{5, 3}));
  CHECK(f.role() == Core::Role::kFollower);
  CHECK(!f.ready().promised);
  CHECK(f.promised().isZero());
}

// A behaviour change of the refactor that put this rule in one place: a Learn used to leave a
// candidate or leader as it was. Its ballot is one a quorum promised (only a leader sends Learn),
// so the lower ballot can never again win a quorum: stepping down loses nothing.
TEST_CASE(
    "paxos: a higher-ballot Learn makes a leader or candidate step down without promising "
    "it, and its values are learned",
    "[unit][paxos]") {
  Core leader = leaderOf(1);
  Core cand = candidate();
  for (Core* c : {&leader, &cand}) {
    PeerMessage l = msg(Type::kLearn, 3, 1, Ballot{5, 3});
    l.commit = 1;
    l.entries = {Slot{1, Ballot{5, 3}, "v"}};
    c->step(l);
    Ready r = c->ready();
    CHECK(c->role() == Core::Role::kFollower);
    CHECK(!r.promised);
    CHECK(c->promised() == Ballot{1, 1});
    REQUIRE(r.chosen.size() == 1);
    CHECK(r.chosen[0].value == "v");
    REQUIRE(find(r, Type::kAccepted, 3));
  }
  // A Learn from a leader of a lower ballot still teaches chosen values, and deposes no one.
  Core c = leaderOf(1);
  PeerMessage l = msg(Type::kLearn, 2, 1, Ballot{0, 2});
  l.commit = 1;
  l.entries = {Slot{1, Ballot{0, 2}, "old"}};
  c.step(l);
  CHECK(c.role() == Core::Role::kLeader);
  REQUIRE(c.ready().chosen.size() == 1);
}

TEST_CASE(
    "paxos: a Promise or Accepted above a leader's ballot (no correct peer sends one) also "
    "makes it step down",
    "[unit][paxos]") {
  for (Type t : {Type::kPromise, Type::kAccepted}) {
    Core c = leaderOf(1);
    c.step(msg(t, 2, 1, Ballot{5, 2}));
    Ready r = c.ready();
    CHECK(c.role() == Core::Role::kFollower);
    CHECK(!r.promised);
  }
}

TEST_CASE("paxos: a higher-ballot Probe or ProbeOk makes no one step down or promise",
          "[unit][paxos]") {
  Core leader = leaderOf(1);
  leader.step(msg(Type::kProbe, 3, 1, Ballot{5, 3}));
  Ready r = leader.ready();
  CHECK(leader.role() == Core::Role::kLeader);
  CHECK(!r.promised);
  CHECK(leader.promised() == Ballot{1, 1});
  CHECK(find(r, Type::kNack, 3));  // it leads: no
  leader.step(msg(Type::kProbeOk, 3, 1, Ballot{5, 3}));
  CHECK(leader.role() == Core::Role::kLeader);
  CHECK(!leader.ready().promised);

  Core cand = candidate();
  cand.step(msg(Type::kProbe, 3, 1, Ballot{5, 3}));
  r = cand.ready();
  CHECK(cand.role() == Core::Role::kCandidate);
  CHECK(!r.promised);
  CHECK(cand.promised() == Ballot{1, 1});
  CHECK(find(r, Type::kProbeOk, 3));  // it knows no live leader: yes, and still no promise
  cand.step(msg(Type::kProbeOk, 3, 1, Ballot{5, 3}));
  CHECK(cand.role() == Core::Role::kCandidate);
  CHECK(!cand.ready().promised);
}

// ---- per-peer state across terms ----------------------------------------------------------------

TEST_CASE("paxos: a new term keeps what the leader knows of each peer's log and restarts the rest",
          "[unit][paxos]") {
  Core c = leaderCompactedTo4();                     // node 2 has learned all six
  c.step(msg(Type::kAccepted, 3, 1, Ballot{1, 1}));  // node 3 has learned nothing
  Ready r;
  bool asked = false;
  for (int i = 0; i < 6 && !asked; ++i) {
    c.tick();
    r = c.ready();
    asked = std::count(r.snapshotTo.begin(), r.snapshotTo.end(), 3u) > 0;
  }
  REQUIRE(asked);  // node 3 is catching up, by a snapshot
  PeerMessage installed = msg(Type::kAccepted, 3, 1, Ballot{1, 1});
  installed.learned = 4;
  {
    // In this term, node 3's ack of the snapshot is answered at once with the rest.
    Core same = c;
    same.step(installed);
    CHECK(find(same.ready(), Type::kLearn, 3));
  }

  // Node 1 steps down and, a tick later, leads again in ballot 6.
  c.step(msg(Type::kNack, 2, 1, Ballot{5, 2}));
  REQUIRE(c.role() == Core::Role::kFollower);
  c.campaign();
  r = c.ready();
  REQUIRE(r.promised == Ballot{6, 1});
  PeerMessage p = msg(Type::kPromise, 2, 1, Ballot{6, 1});
  p.slot = 7;
  p.learned = 6;  // a promise reports the promiser's chosen prefix
  c.step(p);
  REQUIRE(c.role() == Core::Role::kLeader);
  r = c.ready();
  // Kept: node 2 has learned everything (no Learn, no snapshot for it), and node 3 was asked to
  // get a snapshot less than two election timeouts ago (not asked again).
  CHECK(r.snapshotTo.empty());
  CHECK(!find(r, Type::kLearn, 2));
  CHECK(!find(r, Type::kLearn, 3));
  // Restarted: node 3's catch-up belonged to the old term. Its ack in the new ballot is not a
  // reply to a Learn of ours; the next heartbeat sends it what it misses.
  installed.ballot = Ballot{6, 1};
  c.step(installed);
  CHECK(!find(c.ready(), Type::kLearn, 3));
  const PeerMessage* learn = nullptr;
  for (int i = 0; i < 4 && !learn; ++i) {
    c.tick();
    r = c.ready();
    learn = find(r, Type::kLearn, 3);
  }
  REQUIRE(learn);
  REQUIRE(learn->entries.size() == 2);
  CHECK(learn->entries[0].slot == 5);
  CHECK(learn->ballot == Ballot{6, 1});
}
