// The replica on a MemoryLog: what its drain() sends before and after the log's sync, and what a
// crash or a failed sync leaves.

#include <catch2/catch.hpp>

#include "node/replica.h"
#include "store/memory_log.h"
#include "store/snapshot.h"

using namespace cairn;
using wire::Command;
using wire::PeerMessage;

namespace {

struct MemReplica {
  std::unique_ptr<node::Replica> replica;
  store::MemoryLog* log = nullptr;  // owned by replica
  std::unique_ptr<store::Store> store;
};

MemReplica openMem(std::uint32_t id, std::vector<std::uint32_t> members,
                   std::vector<store::WalRecord> disk = {}, std::uint64_t incarnation = 1,
                   std::uint64_t retain = node::Replica::kRetain, std::string snapshot = "") {
  paxos::Config c;
  c.id = id;
  c.members = std::move(members);
  auto log = std::make_unique<store::MemoryLog>(disk);
  MemReplica m;
  m.log = log.get();
  node::Replica::Recovered r;
  r.records = std::move(disk);
  r.log = std::move(log);
  r.incarnation = incarnation;
  r.retain = retain;
  if (!snapshot.empty()) {
    auto st = store::decodeSnapshot(snapshot, store::Store::Options());
    REQUIRE(st.isOk());
    r.store = std::make_unique<store::Store>(std::move(st.value()));
  }
  auto o = node::Replica::open(c, std::move(r));
  REQUIRE(o.isOk());
  m.replica = std::move(o->replica);
  m.store = std::move(o->store);
  return m;
}

const PeerMessage* find(const std::vector<PeerMessage>& ms, PeerMessage::Type t, std::uint32_t to) {
  for (const auto& m : ms) {
    if (m.type == t && m.to == to) return &m;
  }
  return nullptr;
}

PeerMessage reply(PeerMessage::Type t, const PeerMessage& to) {
  PeerMessage m;
  m.type = t;
  m.cluster = to.cluster;
  m.from = to.to;
  m.to = to.from;
  m.ballot = to.ballot;
  m.slot = to.slot;
  return m;
}

// Node 1 of {1, 2, 3} leads, with node 2's promise.
void lead(MemReplica& m) {
  m.replica->core().campaign();
  auto d = m.replica->drain();
  REQUIRE(d.isOk());
  const PeerMessage* prepare = find(d->send, PeerMessage::Type::kPrepare, 2);
  REQUIRE(prepare);
  m.replica->step(reply(PeerMessage::Type::kPromise, *prepare));
  REQUIRE(m.replica->drain().isOk());
  REQUIRE(m.replica->core().role() == paxos::Core::Role::kLeader);
}

// The leader chooses `n` writes, one slot each, with node 2's votes, and applies them.
void choose(MemReplica& m, int n) {
  for (int i = 0; i < n; ++i) {
    m.replica->propose(Command{Command::Op::kSet, "/k" + std::to_string(i), -1, "v"}, 1);
    auto d = m.replica->drain();
    REQUIRE(d.isOk());
    const PeerMessage* accept = find(d->send, PeerMessage::Type::kAccept, 2);
    REQUIRE(accept);
    PeerMessage ok = reply(PeerMessage::Type::kAccepted, *accept);
    for (const auto& e : accept->entries)
      ok.entries.push_back(wire::Slot{e.slot, accept->ballot, ""});
    m.replica->step(ok);
    d = m.replica->drain();
    REQUIRE(d.isOk());
    REQUIRE(d->chosen.size() == 1);
    (void)m.store->apply(d->chosen[0].slot, d->chosen[0].cmd);
  }
}

std::vector<PeerMessage::Type> types(const std::vector<PeerMessage>& ms) {
  std::vector<PeerMessage::Type> t;
  for (const auto& m : ms)
    t.push_back(m.type);
  return t;
}

}  // namespace

TEST_CASE("replica: a write drained on a memory log survives a crash that loses the unsynced tail",
          "[unit][node]") {
  std::vector<store::WalRecord> disk;
  {
    MemReplica m = openMem(1, {1});
    m.replica->core().campaign();
    m.replica->propose(Command{Command::Op::kSet, "/a", -1, "1"}, 7);
    auto d = m.replica->drain();
    REQUIRE(d.isOk());
    REQUIRE(d->chosen.size() == 1);
    CHECK(d->chosen[0].proposal == 7);
    REQUIRE(d->slots.size() == 1);
    CHECK(d->slots[0].slot == d->chosen[0].slot);
    disk = m.log->survivors(0);
  }
  MemReplica m = openMem(1, {1}, disk, 2);
  m.replica->core().campaign();
  auto d = m.replica->drain();
  REQUIRE(d.isOk());
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].cmd.path == "/a");
  CHECK(d->chosen[0].proposal == 0);  // proposed by an earlier incarnation
}

TEST_CASE("replica: after a failed sync it sends, chooses and checkpoints nothing any more",
          "[unit][node]") {
  MemReplica m = openMem(1, {1});
  m.replica->core().campaign();
  REQUIRE(m.replica->drain().isOk());
  m.replica->propose(Command{Command::Op::kSet, "/a", -1, "1"}, 7);
  m.log->failNextSync(wire::Status(wire::Err::kIo, "EIO"));
  auto d = m.replica->drain();
  CHECK(d.status().code() == wire::Err::kIo);
  // The log would now sync without complaint; the replica must not believe it.
  m.replica->tick();
  CHECK(m.replica->drain().status().code() == wire::Err::kIo);
  CHECK(m.replica->checkpoint(1).code() == wire::Err::kIo);
  CHECK(m.log->lastIndex() < 3);  // the accepted value never became durable
}

TEST_CASE("replica: a leader's accepts leave before its sync, a follower's vote only after it",
          "[unit][node]") {
  MemReplica a = openMem(1, {1, 2, 3});
  MemReplica b = openMem(2, {1, 2, 3});
  struct Collect : node::Outbox {
    std::vector<PeerMessage> msgs;
    void send(const PeerMessage& m) override { msgs.push_back(m); }
    void send(const wire::NodeMessage&) override {}
  } out;
  auto* collect = &out;
  std::vector<PeerMessage>& early = out.msgs;
  // 1 prepares, 2 promises, 1 leads.
  a.replica->core().campaign();
  auto da = a.replica->drain(collect);
  REQUIRE(da.isOk());
  CHECK(early.empty());  // a prepare carries this node's own promise: after the sync
  for (const auto& msg : da->send) {
    if (msg.to == 2) b.replica->step(msg);
  }
  auto db = b.replica->drain(collect);
  REQUIRE(db.isOk());
  CHECK(early.empty());  // the promise waits for the sync
  for (const auto& msg : db->send)
    a.replica->step(msg);
  REQUIRE(a.replica->drain(collect).isOk());
  REQUIRE(a.replica->core().role() == paxos::Core::Role::kLeader);
  early.clear();
  // The leader's accept leaves even though its own sync then fails.
  a.replica->propose(Command{Command::Op::kSet, "/a", -1, "1"}, 7);
  a.log->failNextSync(wire::Status(wire::Err::kIo, "crash inside fdatasync"));
  CHECK(!a.replica->drain(collect).isOk());
  std::vector<PeerMessage> accepts;
  for (const auto& msg : early) {
    CHECK(msg.type == PeerMessage::Type::kAccept);
    if (msg.to == 2) accepts.push_back(msg);
  }
  REQUIRE(!accepts.empty());
  // The follower's vote does not leave when its sync fails.
  early.clear();
  for (const auto& msg : accepts)
    b.replica->step(msg);
  b.log->failNextSync(wire::Status(wire::Err::kIo, "crash inside fdatasync"));
  CHECK(!b.replica->drain(collect).isOk());
  CHECK(types(early).empty());
}

TEST_CASE("replica: a restart keeps `retain` chosen slots behind its snapshot, and serves them",
          "[unit][node]") {
  for (std::uint64_t retain : {0, 5, 30}) {
    INFO("retain " << retain);
    std::vector<store::WalRecord> disk;
    std::string snap;
    std::uint64_t at = 0;
    {
      MemReplica m = openMem(1, {1, 2, 3}, {}, 1, retain);
      lead(m);
      choose(m, 20);
      at = m.store->appliedIndex();
      REQUIRE(at == 20);
      snap = store::encodeSnapshot(m.store->image());
      REQUIRE(m.replica->checkpoint(at).isOk());
      choose(m, 3);  // after the snapshot
      disk = m.log->survivors(0);
    }
    const std::uint64_t kept = std::min<std::uint64_t>(retain, at);
    MemReplica m = openMem(1, {1, 2, 3}, disk, 2, retain, snap);
    CHECK(m.replica->core().compacted() == at - kept);
    auto d = m.replica->drain();
    REQUIRE(d.isOk());
    // Only what follows the snapshot is applied again (as far as the chosen prefix on disk says:
    // the last one waits for a leader).
    REQUIRE(d->slots.size() == 2);
    CHECK(d->slots.front().slot == at + 1);
    // As leader again it sends node 3, at the oldest slot kept, what follows from its log; node 2,
    // one slot further behind, needs a snapshot (when anything was compacted at all).
    lead(m);
    const bool compacted = kept < at;
    for (auto [id, learned] :
         {std::pair{2u, compacted ? at - kept - 1 : 0}, std::pair{3u, at - kept}}) {
      PeerMessage ok;
      ok.type = PeerMessage::Type::kAccepted;
      ok.from = id;
      ok.to = 1;
      ok.ballot = m.replica->core().promised();
      ok.learned = learned;
      m.replica->step(ok);
    }
    m.replica->tick();
    m.replica->tick();  // a heartbeat
    d = m.replica->drain();
    REQUIRE(d.isOk());
    const PeerMessage* learn = find(d->send, PeerMessage::Type::kLearn, 3);
    REQUIRE(learn);
    REQUIRE(!learn->entries.empty());
    CHECK(learn->entries.front().slot == at - kept + 1);
    CHECK(learn->entries.back().slot == at + 2);
    CHECK(d->snapshotTo ==
          (compacted ? std::vector<std::uint32_t>{2} : std::vector<std::uint32_t>{}));
  }
}

TEST_CASE(
    "replica: a value accepted behind a snapshot from the leader is never kept after a restart",
    "[unit][node]") {
  // Node 2 accepts "lost" at slots 1..3 from leader 1, then is cut off; the others choose other
  // values there and compact them, and node 2 installs their snapshot at slot 3.
  MemReplica m = openMem(2, {1, 2, 3}, {}, 1, 10);
  PeerMessage accept;
  accept.type = PeerMessage::Type::kAccept;
  accept.from = 1;
  accept.to = 2;
  accept.ballot = wire::Ballot{1, 1};
  for (std::uint64_t s = 1; s <= 3; ++s)
    accept.entries.push_back(wire::Slot{s, accept.ballot, "lost"});
  m.replica->step(accept);
  REQUIRE(m.replica->drain().isOk());
  store::Store other;
  for (std::uint64_t s = 1; s <= 3; ++s)
    (void)other.apply(s, Command{Command::Op::kSet, "/k", -1, std::to_string(s)});
  const std::string snap = store::encodeSnapshot(other.image());
  // A crash after the snapshot became durable and before the replica heard of it, or after.
  std::vector<store::WalRecord> before = m.log->survivors(0);
  REQUIRE(m.replica->installSnapshot(3, {}).isOk());
  std::vector<store::WalRecord> after = m.log->survivors(0);
  for (const auto& disk : {before, after}) {
    MemReplica r = openMem(2, {1, 2, 3}, disk, 2, 10, snap);
    CHECK(r.replica->core().compacted() == 3);
    CHECK(r.replica->core().acceptedFrom(1).empty());
  }
}
