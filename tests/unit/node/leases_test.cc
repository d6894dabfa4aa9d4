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

struct Fixture {
  Store store;
  std::uint64_t index = 0;
  std::uint32_t leader = 1;
  Leases leases{
      1, store,
      Leases::Hooks{[this] { return leader; },
                    [](std::uint32_t id) { return "tcp://n" + std::to_string(id) + ":1"; }}};
  Leases::Clock::time_point t0{};

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
  Fixture f;
  const auto l = f.grant(3000);
  CHECK(f.leases.step(true, f.t0).empty());  // taking office: a full ttl from now
  CHECK(f.leases.earliest() == f.t0 + 3000ms);
  CHECK(f.leases.step(true, f.t0 + 2999ms).empty());
  auto ends = f.leases.step(true, f.t0 + 3000ms);
  REQUIRE(ends.size() == 1);
  CHECK(ends[0].op == Command::Op::kRevoke);
  CHECK(ends[0].lease == l);
  CHECK(ends[0].value == "expired");
  // Ending: not proposed again at once, and a keep-alive cannot save it now.
  CHECK(f.leases.step(true, f.t0 + 3100ms).empty());
  CHECK(f.keepAlive(l, f.t0 + 3100ms).err == Err::kNoEnt);
  // Still in the store after kRetry (the REVOKE was lost): proposed again.
  CHECK(f.leases.step(true, f.t0 + 3000ms + Leases::kRetry).size() == 1);
  // Applied: forgotten.
  f.apply(ends[0]);
  CHECK(f.leases.step(true, f.t0 + 60s).empty());
  CHECK(f.leases.tracked() == 0);
}

TEST_CASE("leases room: keep-alives renew, a new lease starts at its GRANT", "[unit][leases]") {
  Fixture f;
  const auto l = f.grant(3000);
  f.leases.step(true, f.t0);
  auto r = f.keepAlive(l, f.t0 + 2000ms);
  REQUIRE(r.status().isOk());
  CHECK(r.lease == static_cast<std::int64_t>(l));
  CHECK(r.ttl == 3000);
  CHECK(f.leases.step(true, f.t0 + 4000ms).empty());  // renewed at 2 s: ends at 5 s
  const auto m = f.grant(10000);                      // granted at 4 s
  CHECK(f.leases.step(true, f.t0 + 4000ms).empty());
  auto ends = f.leases.step(true, f.t0 + 5000ms);
  REQUIRE(ends.size() == 1);
  CHECK(ends[0].lease == l);
  f.apply(ends[0]);
  CHECK(f.leases.step(true, f.t0 + 13999ms).empty());
  ends = f.leases.step(true, f.t0 + 14000ms);
  REQUIRE(ends.size() == 1);
  CHECK(ends[0].lease == m);
  CHECK(f.keepAlive(999, f.t0).err == Err::kNoEnt);
}

TEST_CASE("leases room: only a leader in office keeps time, and a new term starts afresh",
          "[unit][leases]") {
  Fixture f;
  const auto l = f.grant(3000);
  // A follower: nothing ends, however late, and keep-alives name the leader.
  f.leader = 2;
  CHECK(f.leases.step(false, f.t0 + 1h).empty());
  auto r = f.keepAlive(l, f.t0);
  CHECK(r.err == Err::kNotLeader);
  CHECK(r.client == "tcp://n2:1");
  CHECK(r.leader == 2);
  f.leader = 0;
  CHECK(f.keepAlive(l, f.t0).err == Err::kUnavailable);
  f.leader = 1;  // elected, not yet in office
  CHECK(f.keepAlive(l, f.t0).err == Err::kUnavailable);
  // In office at 10 s: a full ttl from then, whatever happened before.
  CHECK(f.leases.step(true, f.t0 + 10s).empty());
  CHECK(f.leases.step(true, f.t0 + 12999ms).empty());
  // Out of office before it ends, back at 20 s: a full ttl again.
  CHECK(f.leases.step(false, f.t0 + 12s).empty());
  CHECK(f.leases.step(true, f.t0 + 20s).empty());
  CHECK(f.leases.step(true, f.t0 + 22999ms).empty());
  CHECK(f.leases.step(true, f.t0 + 23s).size() == 1);
}

TEST_CASE("leases room: LEASE tells the ttl, the files and, at the leader, the time left",
          "[unit][leases]") {
  Fixture f;
  const auto l = f.grant(3000);
  Command set{Command::Op::kSet, "/svc/a", -1, "x"};
  set.lease = l;
  f.apply(set);
  cairn::wire::Request q;
  q.verb = cairn::wire::Verb::kLease;
  q.lease = static_cast<std::int64_t>(l);
  f.leases.step(true, f.t0);
  auto r = f.leases.handle(q, f.t0 + 1000ms);
  REQUIRE(r.status().isOk());
  CHECK(r.ttl == 3000);
  CHECK(r.remaining == 2000);
  REQUIRE(r.entries);
  REQUIRE(r.entries->size() == 1);
  CHECK(r.entries->front().path == "/svc/a");
  // A follower sends it to the leader; with no leader known, it answers from its own state.
  f.leases.step(false, f.t0 + 1000ms);
  f.leader = 2;
  CHECK(f.leases.handle(q, f.t0).err == Err::kNotLeader);
  f.leader = 0;
  auto local = f.leases.handle(q, f.t0);
  REQUIRE(local.status().isOk());
  CHECK(!local.remaining);
  q.lease = 77;
  CHECK(f.leases.handle(q, f.t0).err == Err::kNoEnt);
}
