// The store's file count and value bytes (Store::files, Store::valueBytes; /metrics reports them):
// kept by every kind of write, and counted again from a snapshot.

#include <catch2/catch.hpp>

#include "store/snapshot.h"
#include "store/store.h"
#include "tests/unit/store/store_fixture.h"

using cairn::store::Store;
using cairn::wire::Command;
using cairn::wire::Txn;
using cairn::wire::TxnOp;

namespace {

// (files, value bytes)
using Size = std::pair<std::uint64_t, std::uint64_t>;
struct SizeFixture : cairn::test::StoreFixture {
  Size size() const { return {s.files(), s.valueBytes()}; }
};

}  // namespace

TEST_CASE("store size: sets, overwrites and deletes move the file count and value bytes",
          "[unit][store]") {
  SizeFixture f;
  CHECK(f.size() == Size{0, 0});
  REQUIRE(f.set("/a", "12345").status.isOk());
  REQUIRE(f.set("/d/b", "xy").status.isOk());
  CHECK(f.size() == Size{2, 7});
  REQUIRE(f.set("/a", "1").status.isOk());  // an overwrite: the old bytes go
  CHECK(f.size() == Size{2, 3});
  REQUIRE(!f.cas("/a", "zzzz", 1).status.isOk());  // /a is newer: refused, nothing moves
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
  SizeFixture f;
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

  const auto lease = f.grant();
  REQUIRE(f.set("/l/1", "11", lease).status.isOk());
  REQUIRE(f.set("/l/2", "222", lease).status.isOk());
  CHECK(f.size() == Size{3, 9});
  REQUIRE(f.revoke(lease).status.isOk());
  CHECK(f.size() == Size{1, 4});
}

TEST_CASE("store size: a store read from a snapshot counts its files again", "[unit][store]") {
  SizeFixture f;
  REQUIRE(f.set("/a/b/c", "123").status.isOk());
  REQUIRE(f.set("/a/d", "45").status.isOk());
  REQUIRE(f.set("/e", "6789").status.isOk());
  auto d = cairn::store::decodeSnapshot(cairn::store::encodeSnapshot(f.s.image()), {});
  REQUIRE(d);
  CHECK(d->files() == 3);
  CHECK(d->valueBytes() == 9);
}
