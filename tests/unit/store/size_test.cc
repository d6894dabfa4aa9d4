// The store's file count and value bytes (Store::files, Store::valueBytes; /metrics reports them):
// kept by every kind of write, and counted again from a snapshot.

#include <catch2/catch.hpp>

#include "store/snapshot.h"
#include "store/store.h"

using cairn::store::Store;
using cairn::wire::Command;
using cairn::wire::Txn;
using cairn::wire::TxnOp;

namespace {

struct Fixture {
  Store s;
  std::uint64_t index = 0;
  cairn::store::ApplyResult apply(Command c) { return s.apply(++index, c); }
  cairn::store::ApplyResult set(const std::string& p, const std::string& v, std::int64_t rev = -1,
                                std::uint64_t lease = 0) {
    Command c{Command::Op::kSet, p, rev, v};
    c.lease = lease;
    return apply(c);
  }
  cairn::store::ApplyResult del(const std::string& p) {
    return apply(Command{Command::Op::kDel, p, -1, ""});
  }
  cairn::store::ApplyResult txn(Txn t) {
    Command c{Command::Op::kTxn, "", -1, ""};
    c.txn = std::make_shared<const Txn>(std::move(t));
    return apply(c);
  }
  // (files, bytes)
  std::pair<std::uint64_t, std::uint64_t> size() const { return {s.files(), s.valueBytes()}; }
};

using Size = std::pair<std::uint64_t, std::uint64_t>;

}  // namespace

TEST_CASE("store size: sets, overwrites and deletes move the file count and value bytes",
          "[unit][store]") {
  Fixture f;
  CHECK(f.size() == Size{0, 0});
  REQUIRE(f.set("/a", "12345").status.isOk());
  REQUIRE(f.set("/d/b", "xy").status.isOk());
  CHECK(f.size() == Size{2, 7});
  REQUIRE(f.set("/a", "1").status.isOk());  // an overwrite: the old bytes go
  CHECK(f.size() == Size{2, 3});
  REQUIRE(!f.set("/a", "zzzz", 1).status.isOk());  // /a is newer: refused, nothing moves
  CHECK(f.size() == Size{2, 3});
  REQUIRE(f.del("/d/b").status.isOk());
  CHECK(f.size() == Size{1, 1});
  REQUIRE(!f.del("/d/b").status.isOk());
  CHECK(f.size() == Size{1, 1});
  REQUIRE(f.set("/e", "").status.isOk());  // an empty file is a file
  CHECK(f.size() == Size{2, 1});
}

TEST_CASE(
    "store size: a transaction's sets, deletes and deltree, and a lease's end, count at "
    "once",
    "[unit][store]") {
  Fixture f;
  REQUIRE(f.set("/t/a", "aaa").status.isOk());
  REQUIRE(f.set("/t/b", "bb").status.isOk());
  REQUIRE(f.set("/u", "u").status.isOk());
  CHECK(f.size() == Size{3, 6});
  auto r =
      f.txn(Txn{{}, {TxnOp::set("/t/a", "A"), TxnOp::set("/v", "vvvv"), TxnOp::del("/u")}, {}});
  REQUIRE(r.status.isOk());
  CHECK(f.size() == Size{3, 7});  // /t/a 1, /t/b 2, /v 4
  REQUIRE(f.txn(Txn{{}, {TxnOp::delTree("/t")}, {}}).status.isOk());
  CHECK(f.size() == Size{1, 4});
  // A transaction that fails whole moves nothing.
  REQUIRE(!f.txn(Txn{{}, {TxnOp::set("/w", "w"), TxnOp::del("/nope")}, {}}).status.isOk());
  CHECK(f.size() == Size{1, 4});

  Command g{Command::Op::kGrant, "", -1, ""};
  g.ttl = 10000;
  const auto lease = f.apply(g).lease;
  REQUIRE(f.set("/l/1", "11", -1, lease).status.isOk());
  REQUIRE(f.set("/l/2", "222", -1, lease).status.isOk());
  CHECK(f.size() == Size{3, 9});
  Command end{Command::Op::kRevoke, "", -1, ""};
  end.lease = lease;
  REQUIRE(f.apply(end).status.isOk());
  CHECK(f.size() == Size{1, 4});
}

TEST_CASE("store size: a store read from a snapshot counts its files again", "[unit][store]") {
  Fixture f;
  REQUIRE(f.set("/a/b/c", "123").status.isOk());
  REQUIRE(f.set("/a/d", "45").status.isOk());
  REQUIRE(f.set("/e", "6789").status.isOk());
  auto d = cairn::store::decodeSnapshot(cairn::store::encodeSnapshot(f.s.image()), {});
  REQUIRE(d);
  CHECK(d->files() == 3);
  CHECK(d->valueBytes() == 9);
}
