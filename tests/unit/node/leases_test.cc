// The Leases room on its own: a store it reads, a leader it is told about, time it is given.

#include <catch2/catch.hpp>

#include "node/leases.h"
#include "store/store.h"

using cairn::node::Leases;
using cairn::store::Store;
using cairn::wire::Command;
using cairn::wire::Err;
using namespace std::chrono_literals;

namespace {

struct LeasesFixture {
  Store store;
  std::uint64_t index = 0;
  std::uint32_t leader = 1;
  Leases leases{
      1, store,
      Leases::Hooks{[this] { return leader; },
                    [](std::uint32_t id) { return "tcp://n" + std::to_string(id) + ":1"; }}};
  Leases::Clock::time_point t0{};
  std::uint64_t term = cairn::wire::termOf(1, 1);

  std::vector<Command> step(bool inOffice, Leases::Clock::time_point now) {
    return leases.step(inOffice, term, now);
  }
  // In office at `now`: its TERM proposed, applied, and the clock starts.
  void takeOffice(Leases::Clock::time_point now) {
    auto cmds = step(true, now);
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].op == Command::Op::kTerm);
    CHECK(cmds[0].term == term);
    apply(cmds[0]);
    CHECK(step(true, now).empty());
  }

  std::uint64_t grant(std::int64_t ttl) {
    Command c{Command::Op::kGrant, "", -1, ""};
    c.ttl = ttl;
    return store.apply(++index, c).lease;
  }
  void apply(const Command& c) { (void)store.apply(++index, c); }
  cairn::wire::Reply keepAlive(std::uint64_t id, Leases::Clock::time_point now) {
    cairn::wire::Request q;
    q.verb = cairn::wire::Verb::kKeepalive;
    q.lease = static_cast<std::int64_t>(id);
    return leases.handle(q, now);
  }
};

}  // namespace

TEST_CASE("leases room: the leader ends a lease once its ttl passes, once", "[unit][leases]") {
  LeasesFixture f;
  const auto l = f.grant(3000);
  f.takeOffice(f.t0);  // a full ttl from now
  CHECK(f.leases.earliest() == f.t0 + 3000ms);
  CHECK(f.step(true, f.t0 + 2999ms).empty());
  auto ends = f.step(true, f.t0 + 3000ms);
  REQUIRE(ends.size() == 1);
  CHECK(ends[0].op == Command::Op::kRevoke);
  CHECK(ends[0].lease == l);
  CHECK(ends[0].value == "expired");
  CHECK(ends[0].term == f.term);  // void if another leader's term comes first
  // Ending: not proposed again at once, and a keep-alive cannot save it now.
  CHECK(f.step(true, f.t0 + 3100ms).empty());
  CHECK(f.keepAlive(l, f.t0 + 3100ms).err == Err::kNoEnt);
  // Still in the store after kRetry (the REVOKE was lost): proposed again.
  CHECK(f.step(true, f.t0 + 3000ms + Leases::kRetry).size() == 1);
  // Applied: forgotten.
  f.apply(ends[0]);
  CHECK(f.step(true, f.t0 + 60s).empty());
  CHECK(f.leases.tracked() == 0);
}

TEST_CASE("leases room: keep-alives renew, a new lease starts at its GRANT", "[unit][leases]") {
  LeasesFixture f;
  const auto l = f.grant(3000);
  f.takeOffice(f.t0);
  auto r = f.keepAlive(l, f.t0 + 2000ms);
  REQUIRE(r.status().isOk());
  CHECK(r.lease == static_cast<std::int64_t>(l));
  CHECK(r.ttl == 3000);
  CHECK(f.step(true, f.t0 + 4000ms).empty());  // renewed at 2 s: ends at 5 s
  const auto m = f.grant(10000);               // granted at 4 s
  CHECK(f.step(true, f.t0 + 4000ms).empty());
  auto ends = f.step(true, f.t0 + 5000ms);
  REQUIRE(ends.size() == 1);
  CHECK(ends[0].lease == l);
  f.apply(ends[0]);
  CHECK(f.step(true, f.t0 + 13999ms).empty());
  ends = f.step(true, f.t0 + 14000ms);
  REQUIRE(ends.size() == 1);
  CHECK(ends[0].lease == m);
  CHECK(f.keepAlive(999, f.t0).err == Err::kNoEnt);
}

TEST_CASE("leases room: only a leader in office keeps time, and a new term starts afresh",
          "[unit][leases]") {
  LeasesFixture f;
  const auto l = f.grant(3000);
  // A follower: nothing ends, however late, and keep-alives name the leader.
  f.leader = 2;
  CHECK(f.step(false, f.t0 + 1h).empty());
  auto r = f.keepAlive(l, f.t0);
  CHECK(r.err == Err::kNotLeader);
  CHECK(r.client == "tcp://n2:1");
  CHECK(r.leader == 2);
  f.leader = 0;
  CHECK(f.keepAlive(l, f.t0).err == Err::kUnavailable);
  f.leader = 1;  // elected, not yet in office
  CHECK(f.keepAlive(l, f.t0).err == Err::kUnavailable);
  // In office at 10 s, its TERM not applied yet: no time kept, keep-alives wait.
  auto first = f.step(true, f.t0 + 10s);
  REQUIRE(first.size() == 1);
  CHECK(first[0].op == Command::Op::kTerm);
  CHECK(f.step(true, f.t0 + 12s).empty());  // proposed once, again only after kRetry
  CHECK(f.keepAlive(l, f.t0 + 12s).err == Err::kUnavailable);
  auto again = f.step(true, f.t0 + 10s + Leases::kRetry);
  REQUIRE(again.size() == 1);
  // Applied at 15 s: a full ttl from then, whatever happened before.
  f.apply(again[0]);
  CHECK(f.step(true, f.t0 + 15s).empty());
  CHECK(f.step(true, f.t0 + 17999ms).empty());
  // Out of office before it ends, back at 20 s with a new term: a full ttl again.
  CHECK(f.step(false, f.t0 + 17s).empty());
  f.term = cairn::wire::termOf(3, 1);
  f.takeOffice(f.t0 + 20s);
  CHECK(f.step(true, f.t0 + 22999ms).empty());
  CHECK(f.step(true, f.t0 + 23s).size() == 1);
}

TEST_CASE("leases room: LEASE tells the ttl, the files and, at the leader, the time left",
          "[unit][leases]") {
  LeasesFixture f;
  const auto l = f.grant(3000);
  Command set{Command::Op::kSet, "/svc/a", -1, "x"};
  set.lease = l;
  f.apply(set);
  cairn::wire::Request q;
  q.verb = cairn::wire::Verb::kLease;
  q.lease = static_cast<std::int64_t>(l);
  f.takeOffice(f.t0);
  auto r = f.leases.handle(q, f.t0 + 1000ms);
  REQUIRE(r.status().isOk());
  CHECK(r.ttl == 3000);
  CHECK(r.remaining == 2000);
  REQUIRE(r.entries);
  REQUIRE(r.entries->size() == 1);
  CHECK(r.entries->front().path == "/svc/a");
  // A follower sends it to the leader; with no leader known, it answers from its own state.
  f.step(false, f.t0 + 1000ms);
  f.leader = 2;
  CHECK(f.leases.handle(q, f.t0).err == Err::kNotLeader);
  f.leader = 0;
  auto local = f.leases.handle(q, f.t0);
  REQUIRE(local.status().isOk());
  CHECK(!local.remaining);
  q.lease = 77;
  CHECK(f.leases.handle(q, f.t0).err == Err::kNoEnt);
}

TEST_CASE("leases room: a session's writes restart its ttl, at most once per ttl/64",
          "[unit][leases]") {
  LeasesFixture f;
  const auto s = f.grant(6400);  // ttl/64 = 100 ms
  f.takeOffice(f.t0);
  CHECK(f.leases.earliest() == f.t0 + 6400ms);
  f.leases.used({s}, f.t0 + 99ms);  // under ttl/64 since the last renewal: left as it is
  CHECK(f.leases.earliest() == f.t0 + 6400ms);
  f.leases.used({s}, f.t0 + 100ms);  // restarted
  CHECK(f.leases.earliest() == f.t0 + 6500ms);
  f.leases.used({s, s}, f.t0 + 5000ms);
  CHECK(f.leases.earliest() == f.t0 + 11400ms);
  CHECK(f.step(true, f.t0 + 11399ms).empty());
  auto ends = f.step(true, f.t0 + 11400ms);
  REQUIRE(ends.size() == 1);
  CHECK(ends[0].lease == s);
  // Not in office: nothing is renewed (the next leader keeps the time).
  LeasesFixture g;
  const auto t = g.grant(6400);
  g.leases.used({t}, g.t0 + 1s);
  CHECK(g.leases.earliest() == std::nullopt);
}
