// Applier: chosen commands in, store changes and this node's outcomes out.

#include <catch2/catch.hpp>

#include "tests/unit/node/rooms_support.h"
#include "wire/membership.h"

using namespace cairn;
using test::delCmd;
using test::setCmd;

TEST_CASE("applier: each successful write is one change at the next rev", "[unit][node]") {
  test::Rooms t;
  auto a = t.apply({setCmd("/a", "1"), setCmd("/b/c", "2"), delCmd("/a")});
  REQUIRE(a.changes.size() == 3);
  CHECK(a.changes[0].rev == 1);
  CHECK(a.changes[1].path == "/b/c");
  CHECK(a.changes[2].op == store::Change::Op::kDel);
  CHECK(a.changes[2].rev == 3);
  CHECK(t.applier.store().dump() == "/b/c@2=2");
  CHECK(a.outcomes.empty());  // no proposal ids: other nodes' commands
}

TEST_CASE("applier: outcomes only for this node's proposals, failures change nothing",
          "[unit][node]") {
  test::Rooms t;
  (void)t.apply({setCmd("/a", "1")});
  auto a = t.apply({setCmd("/a", "2", 0), setCmd("/x", "y"), setCmd("/a/b", "z")}, {11, 0, 12});
  REQUIRE(a.outcomes.size() == 2);
  CHECK(a.outcomes[0].proposal == 11);
  CHECK(a.outcomes[0].status.code() == wire::Err::kRevMismatch);
  CHECK(a.outcomes[0].rev == 1);  // the head when it failed
  CHECK(a.outcomes[1].proposal == 12);
  CHECK(a.outcomes[1].status.code() == wire::Err::kNotDir);
  REQUIRE(a.changes.size() == 1);  // only /x changed, at rev 2: failures consume no rev
  CHECK(a.changes[0].rev == 2);
  CHECK(t.applier.store().rev() == 2);
}

TEST_CASE("applier: two appliers fed the same log hold the same tree", "[unit][node]") {
  test::Rooms x, y;
  std::vector<wire::Command> log = {setCmd("/a", "1"), setCmd("/a", "2", 1),   setCmd("/a", "3", 1),
                                    delCmd("/b"),      setCmd("/b/c", "4", 0), delCmd("/a", 2)};
  (void)x.apply(log);
  (void)y.apply(log);
  CHECK(x.applier.store().rev() == y.applier.store().rev());
  CHECK(x.applier.store().dump() == y.applier.store().dump());
  CHECK(x.applier.store().dump() == "/b/c@3=4");
}

TEST_CASE("applier: an installed store replaces the tree and the head", "[unit][node]") {
  test::Rooms t;
  (void)t.apply({setCmd("/a", "1")});
  store::Store other;
  (void)other.apply(1, setCmd("/z", "9"));
  (void)other.apply(2, setCmd("/z", "10"));
  const store::Store& before = t.applier.store();
  t.applier.install(std::move(other));
  CHECK(&t.applier.store() == &before);  // readers' references stay valid
  CHECK(t.applier.store().rev() == 2);
  CHECK(t.applier.store().dump() == "/z@2=10");
}

TEST_CASE("stats: a histogram's quantiles to within a power of two", "[unit][node]") {
  node::Histogram h;
  CHECK(h.quantile(0.5) == 0);
  for (int i = 0; i < 98; ++i)
    h.add(100);  // bucket [64, 128)
  h.add(5000);   // [4096, 8192)
  h.add(0);
  CHECK(h.count() == 100);
  CHECK(h.quantile(0.01) == 0);
  CHECK(h.quantile(0.5) == 127);
  CHECK(h.quantile(0.99) == 127);
  CHECK(h.quantile(1.0) == 8191);
  CHECK(h.last() == 0);
}

TEST_CASE("applier: a configuration is kept with the store, at no revision", "[unit][node]") {
  test::Rooms t;
  wire::Membership add = wire::votersOnly(9, {1, 2, 3});
  add.version = 1;
  add.members.push_back(wire::Member{4, false, "tcp://p4", "", "", false});
  add.nextId = 5;
  std::vector<node::Chosen> log = {node::Chosen{1, {}, 0, wire::encodeMembership(add)},
                                   node::Chosen{2, {}, 0, {}}};  // a stale one: a no-op
  auto a = t.applier.apply(log);
  CHECK(a.changes.empty());
  CHECK(t.applier.store().appliedIndex() == 2);
  CHECK(t.applier.store().members() == wire::encodeMembership(add));
  CHECK(t.applier.store().rev() == 0);
}
