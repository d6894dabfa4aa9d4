// The replica on a MemoryLog: what its drain() sends before and after the log's sync, and what a
// crash or a failed sync leaves.

#include <catch2/catch.hpp>

#include "node/replica.h"
#include "store/memory_log.h"

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
                   std::vector<store::WalRecord> disk = {}, std::uint64_t incarnation = 1) {
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
  auto o = node::Replica::open(c, std::move(r));
  REQUIRE(o.isOk());
  m.replica = std::move(o->replica);
  m.store = std::move(o->store);
  return m;
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
