#include <catch2/catch.hpp>

#include "store/store.h"
#include "tests/unit/store/store_fixture.h"

using cairn::store::ApplyResult;
using cairn::store::Store;
using cairn::wire::Command;
using cairn::wire::Compare;
using cairn::wire::Err;
using cairn::wire::Glob;
using cairn::wire::Txn;
using cairn::wire::TxnOp;

using TxnFixture = cairn::test::StoreFixture;

TEST_CASE("txn: every write of the branch lands at one rev, in operation order",
          "[unit][store][txn]") {
  TxnFixture f;
  f.set("/acct/a", "100");  // rev 1
  f.set("/acct/b", "50");   // rev 2
  ApplyResult r = f.txn(
      {{Compare::valueIs("/acct/a", "100"), Compare::revIs("/acct/b", 2)},
       {TxnOp::set("/acct/a", "90", 1), TxnOp::set("/acct/b", "60", 2), TxnOp::get("/acct/a")},
       {TxnOp::get("/acct/a")}});
  REQUIRE(r.status.isOk());
  CHECK(r.succeeded == true);
  CHECK(r.rev == 3);
  CHECK(f.s.rev() == 3);
  CHECK(f.s.dump() == "/acct/a@3=90 /acct/b@3=60");
  CHECK(f.s.dump(2) == "/acct/a@1=100 /acct/b@2=50");  // rev 2 is still the tree before it
  REQUIRE(r.changes.size() == 2);
  CHECK(r.changes[0].path == "/acct/a");
  CHECK(r.changes[1].path == "/acct/b");
  CHECK(r.changes[0].rev == 3);
  CHECK(r.changes[1].rev == 3);
  REQUIRE(r.results.size() == 3);
  CHECK(*r.results[0].op == "set");
  CHECK(r.results[0].rev == 3);
  CHECK(*r.results[2].op == "get");
  CHECK(*r.results[2].value == "90");  // a read sees the writes before it in the branch
  CHECK(r.results[2].rev == 3);
  // CHANGES and WAIT return the rev whole.
  auto page = f.s.changes(*Glob::compile("/acct/**"), 3, 1, SIZE_MAX);
  REQUIRE(page);
  CHECK(page->changes.size() == 2);
}

TEST_CASE("txn: compares choose the branch", "[unit][store][txn]") {
  TxnFixture f;
  f.set("/a", "x");  // rev 1
  struct Case {
    Compare c;
    bool holds;
  };
  const Case cases[] = {
      {Compare::revIs("/a", 1), true},
      {Compare::revIs("/a", 2), false},
      {Compare::revIs("/a", 1, Compare::Cmp::kNe), false},
      {Compare::revIs("/a", 2, Compare::Cmp::kLt), true},
      {Compare::revIs("/a", 1, Compare::Cmp::kLt), false},
      {Compare::revIs("/a", 0, Compare::Cmp::kGt), true},
      {Compare::revIs("/missing", 0), true},  // a missing file is at rev 0
      {Compare::revIs("/", 1), true},         // a directory's rev is its last change's
      {Compare::valueIs("/a", "x"), true},
      {Compare::valueIs("/a", "y"), false},
      {Compare::valueIs("/a", "y", Compare::Cmp::kNe), true},
      {Compare::valueIs("/a", "y", Compare::Cmp::kLt), true},  // bytewise
      {Compare::valueIs("/a", "w", Compare::Cmp::kGt), true},
      {Compare::valueIs("/missing", ""), false},  // no value: equal to nothing
      {Compare::valueIs("/missing", "", Compare::Cmp::kNe), true},
      {Compare::valueIs("/", "", Compare::Cmp::kEq), false},  // nor has a directory
      {Compare::existsIs("/a", true), true},
      {Compare::existsIs("/a", false), false},
      {Compare::existsIs("/missing", false), true},
      {Compare::existsIs("/a/below", false), true},  // below a file: missing
  };
  for (const Case& c : cases) {
    INFO(c.c.path << " " << cairn::wire::compareTargetName(c.c.target) << " "
                  << cairn::wire::compareCmpName(c.c.cmp));
    ApplyResult r = f.txn({{c.c}, {TxnOp::get("/a")}, {}});
    REQUIRE(r.status.isOk());
    CHECK(r.succeeded == c.holds);
    CHECK(r.results.size() == (c.holds ? 1u : 0u));
  }
  // Every compare must hold; a branch of reads takes no rev.
  ApplyResult r = f.txn({{Compare::revIs("/a", 1), Compare::valueIs("/a", "nope")},
                         {TxnOp::set("/a", "t")},
                         {TxnOp::get("/a")}});
  CHECK(r.succeeded == false);
  CHECK(r.rev == 1);
  CHECK(f.s.rev() == 1);
  CHECK(f.s.dump() == "/a@1=x");
}

TEST_CASE("txn: one failing operation fails it all and changes nothing", "[unit][store][txn]") {
  TxnFixture f;
  f.set("/a", "1");  // rev 1
  f.set("/f", "2");  // rev 2
  const std::string before = f.s.dump();
  struct Case {
    std::vector<TxnOp> ops;
    Err want;
    const char* detail;  // the start of the error's detail
  };
  const Case cases[] = {
      {{TxnOp::set("/b", "x"), TxnOp::set("/a", "y", 0)}, Err::kRevMismatch, "then[1] (set /a): "},
      {{TxnOp::set("/b", "x"), TxnOp::del("/nope")}, Err::kNoEnt, "then[1] (del /nope): "},
      {{TxnOp::set("/b", "x"), TxnOp::set("/f/g", "y")}, Err::kNotDir, "then[1] (set /f/g): "},
      {{TxnOp::set("/d/e", "x"), TxnOp::set("/d", "y")}, Err::kIsDir, "then[1] (set /d): "},
      {{TxnOp::set("/b", "x"), TxnOp::del("/a", 0)}, Err::kRevMismatch, "then[1] (del /a): "},
      {{TxnOp::set("/b", "x"), TxnOp::set("/b", "y")}, Err::kBadRequest, "then[1] (set /b): "},
      {{TxnOp::delTree("/d")}, Err::kNoEnt, "then[0] (deltree /d): "},
      {{TxnOp::set("/d/x", "1"), TxnOp::delTree("/d")}, Err::kBadRequest, "then[1] (deltree /d): "},
      {{TxnOp::delTree("/", -1)}, Err::kReadonly, "then[0] (deltree /): "},
      {{TxnOp::set("/b", "x"), TxnOp::delTree("/a", 0)},
       Err::kRevMismatch,
       "then[1] (deltree /a): "},
      {{TxnOp::get("/"), TxnOp::set("/b", "x")}, Err::kIsDir, "then[0] (get /): "},
  };
  for (const Case& c : cases) {
    INFO(c.detail);
    ApplyResult r = f.txn({{}, c.ops, {}});
    CHECK(r.status.code() == c.want);
    CHECK(r.status.detail().rfind(c.detail, 0) == 0);
    CHECK(r.rev == 2);
    CHECK(r.changes.empty());
    CHECK(f.s.rev() == 2);
    CHECK(f.s.dump() == before);
  }
}

TEST_CASE("txn: deltree deletes a file or a whole subtree at one rev", "[unit][store][txn]") {
  TxnFixture f;
  f.set("/svc/a/1", "x");                                          // 1
  f.set("/svc/a/2", "y");                                          // 2
  f.set("/svc/b", "z");                                            // 3
  f.set("/svcx", "keep");                                          // 4
  ApplyResult r = f.txn({{}, {TxnOp::delTree("/svc/a", 1)}, {}});  // the subtree is at rev 2
  CHECK(r.status.code() == Err::kRevMismatch);
  r = f.txn({{}, {TxnOp::delTree("/svc", 3), TxnOp::set("/svc/c", "new")}, {}});
  REQUIRE(r.status.isOk());
  CHECK(r.rev == 5);
  REQUIRE(r.results.size() == 2);
  CHECK(r.results[0].len == 3);
  REQUIRE(r.changes.size() == 4);
  CHECK(r.changes[0].path == "/svc/a/1");
  CHECK(r.changes[1].path == "/svc/a/2");
  CHECK(r.changes[2].path == "/svc/b");
  CHECK(r.changes[3].path == "/svc/c");
  CHECK(f.s.dump() == "/svc/c@5=new /svcx@4=keep");
  r = f.txn({{}, {TxnOp::delTree("/svcx")}, {}});  // a file alone
  REQUIRE(r.status.isOk());
  CHECK(r.results[0].len == 1);
  CHECK(f.s.dump() == "/svc/c@5=new");
}

TEST_CASE("txn: lease links move only when it applies", "[unit][store][txn]") {
  TxnFixture f;
  const std::uint64_t l = f.grant();
  f.set("/e/1", "x", l);  // rev 1, kept by l
  f.set("/e/2", "y", l);  // rev 2
  // A failing transaction that would have unlinked /e/1 and linked /n leaves the lease as it was.
  TxnOp withLease = TxnOp::set("/n", "v");
  withLease.lease = l;
  ApplyResult r = f.txn({{}, {TxnOp::del("/e/1"), withLease, TxnOp::del("/missing")}, {}});
  CHECK(r.status.code() == Err::kNoEnt);
  REQUIRE(f.s.lease(l));
  CHECK(f.s.lease(l)->files == std::set<std::string>{"/e/1", "/e/2"});
  r = f.txn({{}, {TxnOp::del("/e/1"), withLease}, {}});
  REQUIRE(r.status.isOk());
  CHECK(f.s.lease(l)->files == std::set<std::string>{"/e/2", "/n"});
  r = f.txn({{}, {TxnOp::delTree("/e")}, {}});
  REQUIRE(r.status.isOk());
  CHECK(f.s.lease(l)->files == std::set<std::string>{"/n"});
  // A lease that does not exist fails the transaction.
  TxnOp bad = TxnOp::set("/m", "v");
  bad.lease = 99;
  r = f.txn({{}, {bad}, {}});
  CHECK(r.status.code() == Err::kNoEnt);
}

TEST_CASE("txn: a subtree delete over the change limit is refused whole", "[unit][store][txn]") {
  TxnFixture f;
  for (std::size_t i = 0; i <= cairn::wire::kMaxTxnChanges; ++i)
    f.set("/big/" + std::to_string(i), "x");
  const std::int64_t head = f.s.rev();
  ApplyResult r = f.txn({{}, {TxnOp::delTree("/big")}, {}});
  CHECK(r.status.code() == Err::kTooLarge);
  CHECK(f.s.rev() == head);
  CHECK(f.s.stat("/big/0", head).exists);
}

TEST_CASE("txn: commands round-trip through the log's encoding", "[unit][store][txn]") {
  Txn t{{Compare::revIs("/a", 3, Compare::Cmp::kGt),
         Compare::valueIs("/b", std::string("\0\xff", 2)), Compare::existsIs("/c", false)},
        {TxnOp::set("/a", "v", 3), TxnOp::del("/b", -1), TxnOp::delTree("/d", 7), TxnOp::get("/e")},
        {TxnOp::get("/a")}};
  t.then[0].lease = 12;
  Command c{Command::Op::kTxn, "", -1, ""};
  c.txn = std::make_shared<const Txn>(t);
  auto back = cairn::wire::decodeCommand(cairn::wire::encodeCommand(c));
  REQUIRE(back);
  REQUIRE(back->txn);
  CHECK(*back->txn == t);
  CHECK(*back == c);
  cairn::wire::Batch b;
  b.origin = 2;
  b.items.push_back({7, c});
  auto bb = cairn::wire::decodeBatch(cairn::wire::encodeBatch(b));
  REQUIRE(bb);
  CHECK(bb->items.at(0).cmd == c);
  // A txn body that does not decode is CORRUPT, never a crash.
  std::string bytes = cairn::wire::encodeCommand(c);
  bytes[bytes.size() - 3] = '\xc1';  // a byte msgpack never uses
  CHECK(!cairn::wire::decodeCommand(bytes).isOk());
}

TEST_CASE("txn: gets return at most 4 MiB in all", "[unit][store][txn]") {
  TxnFixture f;
  const std::string mib(1 << 20, 'x');
  for (int i = 0; i < 5; ++i)
    f.set("/big/" + std::to_string(i), mib);
  const std::int64_t head = f.s.rev();
  ApplyResult four = f.txn(
      {{},
       {TxnOp::get("/big/0"), TxnOp::get("/big/1"), TxnOp::get("/big/2"), TxnOp::get("/big/3")},
       {}});
  CHECK(four.status.isOk());
  ApplyResult five = f.txn({{},
                            {TxnOp::set("/w", "x"), TxnOp::get("/big/0"), TxnOp::get("/big/1"),
                             TxnOp::get("/big/2"), TxnOp::get("/big/3"), TxnOp::get("/big/4")},
                            {}});
  CHECK(five.status.code() == Err::kTooLarge);
  CHECK(five.status.detail().rfind("then[5] (get /big/4): ", 0) == 0);
  CHECK(f.s.rev() == head);  // its write is undone with it
}
