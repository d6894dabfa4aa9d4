// Ctl: /ctl kept current through the log, and only when something changed.

#include <catch2/catch.hpp>

#include "node/applier.h"
#include "node/ctl.h"
#include "node/replica.h"
#include "store/memory_log.h"
#include "tests/unit/node/rooms_support.h"

using namespace cairn;
using Clock = std::chrono::steady_clock;

namespace {

// A node alone on a memory log, leading, with its Applier: drain() chooses what was proposed.
struct Solo {
  Solo() {
    paxos::Config c;
    c.id = 1;
    c.members = {1};
    node::Replica::Recovered r;
    r.log = std::make_unique<store::MemoryLog>();
    r.incarnation = 1;
    auto o = node::Replica::open(c, std::move(r));
    REQUIRE(o.isOk());
    replica = std::move(o->replica);
    applier = std::make_unique<node::Applier>(std::move(o->store));
    replica->core().campaign();
    drain();
    REQUIRE(replica->core().role() == paxos::Core::Role::kLeader);
  }
  std::size_t drain() {
    auto d = replica->drain();
    REQUIRE(d.isOk());
    return applier->apply(d->chosen).changes.size();
  }
  std::string get(const std::string& path) const {
    const store::Store& s = applier->store();
    auto fi = s.stat(path, s.rev());
    return fi.exists ? *fi.value : "(none)";
  }
  std::unique_ptr<node::Replica> replica;
  std::unique_ptr<node::Applier> applier;
};

// That node's Ctl, which has run once, at t0, its first turn as leader.
struct Reported {
  Solo n;
  node::Ctl ctl{1, {{1, "tcp://p1"}}, *n.replica, n.applier->store()};
  const Clock::time_point t0 = Clock::now();
  Reported() {
    ctl.setEndpoints("tcp://c1", "tcp://e1");
    ctl.maintain(t0);
  }
};

}  // namespace

TEST_CASE("ctl: a new leader records itself and the members once, then only what changed",
          "[unit][node]") {
  Reported r;
  auto& [n, ctl, t0] = r;
  CHECK(n.drain() == 4);
  CHECK(n.get("/ctl/leader") == "1");
  CHECK(n.get("/ctl/members/1") == "tcp://p1");
  CHECK(n.get("/ctl/nodes/1/client") == "tcp://c1");
  CHECK(n.get("/ctl/nodes/1/events") == "tcp://e1");
  const std::int64_t rev = n.applier->store().rev();

  ctl.maintain(t0 + std::chrono::milliseconds(10));  // still leading, nothing due
  ctl.maintain(t0 + std::chrono::seconds(3));        // a report is due, but nothing changed
  CHECK(n.drain() == 0);
  CHECK(n.applier->store().rev() == rev);

  // User writes are no reason to write /ctl: it holds no applied revs any more (SELF does).
  n.replica->propose(test::setCmd("/user/x", "1"), 0);
  CHECK(n.drain() == 1);
  ctl.maintain(t0 + std::chrono::seconds(6));
  ctl.maintain(t0 + std::chrono::seconds(9));
  CHECK(n.drain() == 0);
  CHECK(n.applier->store().rev() == rev + 1);
  CHECK(n.get("/ctl/nodes/1/applied") == "(none)");

  // An applied rev an earlier version left in /ctl is removed, once.
  n.replica->propose(test::setCmd("/ctl/nodes/1/applied", "7"), 0);
  CHECK(n.drain() == 1);
  ctl.maintain(t0 + std::chrono::seconds(12));  // the next report is due (every 2 s)
  CHECK(n.drain() == 1);
  CHECK(n.get("/ctl/nodes/1/applied") == "(none)");
  ctl.maintain(t0 + std::chrono::seconds(15));
  CHECK(n.drain() == 0);

  // A changed endpoint is written, once.
  ctl.setEndpoints("tcp://c1b", "tcp://e1");
  ctl.maintain(t0 + std::chrono::seconds(18));
  CHECK(n.drain() == 1);
  CHECK(n.get("/ctl/nodes/1/client") == "tcp://c1b");
  ctl.maintain(t0 + std::chrono::seconds(21));
  CHECK(n.drain() == 0);
}

TEST_CASE("ctl: what a leader wrote of itself and lost is written again with its next report",
          "[unit][node]") {
  Reported r;
  auto& [n, ctl, t0] = r;
  // The four writes are lost before they are chosen (as a refused or unchosen slot would be).
  for (int k = 0; k < 4; ++k)
    CHECK(n.replica->withdraw(0));
  CHECK(n.drain() == 0);
  ctl.maintain(t0 + std::chrono::milliseconds(10));  // nothing due yet
  CHECK(n.drain() == 0);
  ctl.maintain(t0 + std::chrono::seconds(3));  // the report: all four again
  CHECK(n.drain() == 4);
  CHECK(n.get("/ctl/leader") == "1");
  CHECK(n.get("/ctl/members/1") == "tcp://p1");
  ctl.maintain(t0 + std::chrono::seconds(6));  // and then nothing, /ctl being right
  CHECK(n.drain() == 0);
}

TEST_CASE("ctl: a node alone writes nothing, but clears what a former cluster left in /ctl",
          "[unit][node]") {
  Solo n;
  {
    node::Ctl quiet(1, {{1, ""}}, *n.replica, n.applier->store(), /*lone=*/true);
    quiet.setEndpoints("tcp://c1", "tcp://e1");
    quiet.maintain(Clock::now());
    quiet.maintain(Clock::now() + std::chrono::seconds(3));
    CHECK(n.drain() == 0);
    CHECK(n.applier->store().rev() == 0);
  }
  // What a three-node cluster left behind, restored or forced down to node 1.
  for (const auto& [path, value] :
       std::vector<std::pair<std::string, std::string>>{{"/ctl/leader", "2"},
                                                        {"/ctl/members/1", "tcp://p1"},
                                                        {"/ctl/members/2", "tcp://p2"},
                                                        {"/ctl/members/13", "tcp://p13"},
                                                        {"/ctl/nodes/1/client", "tcp://c1"},
                                                        {"/ctl/nodes/2/client", "tcp://c2"},
                                                        {"/ctl/nodes/2/events", "tcp://e2"},
                                                        {"/ctl/nodes/13/client", "tcp://c13"}}) {
    n.replica->propose(test::setCmd(path, value), 0);
  }
  REQUIRE(n.drain() == 8);
  node::Ctl ctl(1, {{1, ""}}, *n.replica, n.applier->store(), /*lone=*/true);
  ctl.maintain(Clock::now());
  CHECK(n.drain() == 6);  // five files of strangers, and the leader
  CHECK(n.get("/ctl/leader") == "1");
  CHECK(n.get("/ctl/members/1") == "tcp://p1");
  CHECK(n.get("/ctl/nodes/1/client") == "tcp://c1");
  for (const char* gone : {"/ctl/members/2", "/ctl/members/13", "/ctl/nodes/2/client",
                           "/ctl/nodes/2/events", "/ctl/nodes/13/client"}) {
    CHECK(n.get(gone) == "(none)");
  }
  ctl.maintain(Clock::now() + std::chrono::seconds(3));
  CHECK(n.drain() == 0);
}
