// Leases in the store: granted and ended through commands only, their files deleted at one rev,
// history and snapshots keeping them. The store never reads a clock (node/leases.h decides expiry).

#include <catch2/catch.hpp>

#include "store/snapshot.h"
#include "store/store.h"
#include "wire/command.h"

using cairn::store::Change;
using cairn::store::Store;
using cairn::wire::Command;
using cairn::wire::Err;
using cairn::wire::Glob;

namespace {

struct LeaseFixture {
  Store s;
  std::uint64_t index = 0;
  cairn::store::ApplyResult set(const std::string& p, const std::string& v, std::uint64_t lease,
                                std::int64_t rev = -1) {
    Command c{Command::Op::kSet, p, rev, v};
    c.lease = lease;
    return s.apply(++index, c);
  }
  cairn::store::ApplyResult del(const std::string& p) {
    return s.apply(++index, Command{Command::Op::kDel, p, -1, ""});
  }
  std::uint64_t grant(std::int64_t ttl) {
    Command c{Command::Op::kGrant, "", -1, ""};
    c.ttl = ttl;
    auto r = s.apply(++index, c);
    REQUIRE(r.status.isOk());
    CHECK(r.changes.empty());
    return r.lease;
  }
  cairn::store::ApplyResult revoke(std::uint64_t lease) {
    Command c{Command::Op::kRevoke, "", -1, "revoked"};
    c.lease = lease;
    return s.apply(++index, c);
  }
  std::set<std::string> files(std::uint64_t lease) const {
    const auto* l = s.lease(lease);
    return l ? l->files : std::set<std::string>{};
  }
};

}  // namespace

TEST_CASE("leases: a grant takes no rev, ids are never reused, the ttl is kept",
          "[unit][store][lease]") {
  LeaseFixture f;
  f.set("/a", "1", 0);
  const auto a = f.grant(5000);
  const auto b = f.grant(3000);
  CHECK(a == 1);
  CHECK(b == 2);
  CHECK(f.s.rev() == 1);
  REQUIRE(f.s.lease(a));
  CHECK(f.s.lease(a)->ttl == 5000);
  CHECK(f.revoke(a).status.isOk());
  CHECK(f.grant(2000) == 3);  // not 1 again
  CHECK(!f.s.lease(a));
  Command bad{Command::Op::kGrant, "", -1, ""};
  CHECK(f.s.apply(++f.index, bad).status.code() == Err::kRange);  // no ttl
}

TEST_CASE("leases: a file is kept by the lease it was last written with", "[unit][store][lease]") {
  LeaseFixture f;
  const auto l = f.grant(5000);
  const auto m = f.grant(5000);
  CHECK(f.set("/svc/a", "1", l).status.isOk());
  CHECK(f.set("/svc/b", "2", l).status.isOk());
  CHECK(f.set("/svc/c", "3", m).status.isOk());
  CHECK(f.files(l) == std::set<std::string>{"/svc/a", "/svc/b"});
  // Rewritten without a lease: no longer the lease's (as etcd's put without --lease).
  CHECK(f.set("/svc/b", "2b", 0).status.isOk());
  CHECK(f.files(l) == std::set<std::string>{"/svc/a"});
  // Moved to another lease, deleted: likewise.
  CHECK(f.set("/svc/a", "1b", m).status.isOk());
  CHECK(f.files(l).empty());
  CHECK(f.files(m) == std::set<std::string>{"/svc/a", "/svc/c"});
  CHECK(f.del("/svc/c").status.isOk());
  CHECK(f.files(m) == std::set<std::string>{"/svc/a"});
  // An unknown lease is NOENT and changes nothing; so is a failed compare-and-set.
  const auto head = f.s.rev();
  auto r = f.set("/svc/x", "x", 99);
  CHECK(r.status.code() == Err::kNoEnt);
  CHECK(r.status.toString().find("lease 99") != std::string::npos);
  CHECK(f.set("/svc/a", "x", l, 1).status.code() == Err::kRevMismatch);
  CHECK(f.s.rev() == head);
  CHECK(f.files(l).empty());
  // A file's lease is part of it at every rev of the history.
  CHECK(f.s.stat("/svc/a", head).lease == m);
  CHECK(f.s.stat("/svc/a", 3).lease == l);  // rev 3: its first write
  CHECK(f.s.stat("/svc/b", head).lease == 0);
}

TEST_CASE("leases: the end of a lease deletes all its files at one rev", "[unit][store][lease]") {
  LeaseFixture f;
  const auto l = f.grant(5000);
  f.set("/x/keep", "k", 0);
  f.set("/x/e/1", "1", l);
  f.set("/y/e/2", "2", l);
  f.set("/x/e/3", "3", l);
  const auto before = f.s.rev();
  auto r = f.revoke(l);
  REQUIRE(r.status.isOk());
  CHECK(r.rev == before + 1);
  REQUIRE(r.changes.size() == 3);
  for (const Change& c : r.changes) {
    CHECK(c.rev == before + 1);
    CHECK(c.op == Change::Op::kDel);
  }
  CHECK(r.changes[0].path == "/x/e/1");  // in path order
  CHECK(r.changes[2].path == "/y/e/2");
  CHECK(f.s.dump() == "/x/keep@1=k");
  CHECK(f.s.dump(before) == "/x/e/1@2=1 /x/e/3@4=3 /x/keep@1=k /y/e/2@3=2");
  // Ending it again, or a lease with no files: NOENT, and no rev either way.
  CHECK(f.revoke(l).status.code() == Err::kNoEnt);
  const auto empty = f.grant(2000);
  auto none = f.revoke(empty);
  CHECK(none.status.isOk());
  CHECK(none.changes.empty());
  CHECK(f.s.rev() == before + 1);
}

TEST_CASE("leases: CHANGES pages and WAIT never split a rev", "[unit][store][lease]") {
  LeaseFixture f;
  const auto l = f.grant(5000);
  for (int i = 0; i < 5; ++i)
    f.set("/e/" + std::to_string(i), "v", l);  // revs 1..5
  f.set("/other", "o", 0);                     // rev 6
  f.revoke(l);                                 // rev 7: five deletes
  f.set("/e/after", "a", 0);                   // rev 8
  auto g = Glob::compile("/e/*");
  // A page of at most 2 changes that reaches rev 7 holds all five of its changes.
  auto p = f.s.changes(*g, 5, 2, SIZE_MAX);
  REQUIRE(p.isOk());
  REQUIRE(p->changes.size() == 6);  // rev 5, then rev 7 whole
  CHECK(p->changes.front().rev == 5);
  CHECK(p->changes.back().rev == 7);
  CHECK(p->complete == 7);
  p = f.s.changes(*g, 8, 2, SIZE_MAX);
  REQUIRE(p->changes.size() == 1);
  CHECK(p->changes.front().path == "/e/after");
  // From rev 6: rev 7 is the first with a match, and all its matches come together.
  auto w = f.s.firstChanges(*g, 6);
  REQUIRE(w.isOk());
  CHECK(w->size() == 5);
  auto one = f.s.firstChanges(*Glob::compile("/e/3"), 6);
  REQUIRE(one->size() == 1);
  CHECK(one->front().rev == 7);
}

TEST_CASE("leases: a snapshot keeps them, their files and the next id", "[unit][store][lease]") {
  LeaseFixture f;
  const auto l = f.grant(5000);
  const auto m = f.grant(7000);
  const auto gone = f.grant(2000);
  f.revoke(gone);
  f.set("/a/1", "1", l);
  f.set("/a/2", "2", m);
  f.set("/b", "b", 0);
  auto d = cairn::store::decodeSnapshot(cairn::store::encodeSnapshot(f.s.image()), {});
  REQUIRE(d.isOk());
  CHECK(d->dump() == f.s.dump());
  REQUIRE(d->lease(l));
  CHECK(d->lease(l)->ttl == 5000);
  CHECK(d->lease(l)->files == std::set<std::string>{"/a/1"});
  CHECK(d->lease(m)->files == std::set<std::string>{"/a/2"});
  CHECK(!d->lease(gone));
  // It goes on as the original does: the next grant gets the same id, revokes the same files.
  Command g{Command::Op::kGrant, "", -1, ""};
  g.ttl = 3000;
  CHECK(d->apply(f.index + 1, g).lease == f.grant(3000));
  Command r{Command::Op::kRevoke, "", -1, ""};
  r.lease = m;
  CHECK(d->apply(f.index + 1, r).changes.size() == 1);
  // Without leases ever granted, the header stays the older one (version 1 or 2).
  Store plain;
  plain.apply(1, Command{Command::Op::kSet, "/a", -1, "1"});
  const std::string bytes = cairn::store::encodeSnapshot(plain.image());
  CHECK(bytes[8] == static_cast<char>(0x93));  // fixarray of 3: [1, index, rev]
}

TEST_CASE("leases: an expiry counts only while its leader's term is the last one applied",
          "[unit][store][lease]") {
  LeaseFixture f;
  const auto l = f.grant(5000);
  f.set("/e/1", "1", l);
  Command t1{Command::Op::kTerm, "", -1, ""};
  t1.term = cairn::wire::termOf(4, 1);
  f.s.apply(++f.index, t1);
  CHECK(f.s.term() == t1.term);
  CHECK(f.s.rev() == 1);  // a term changes no file
  // Leader 1 decides the expiry; leader 2 takes office before it is applied.
  Command expiry{Command::Op::kRevoke, "", -1, "expired"};
  expiry.lease = l;
  expiry.term = t1.term;
  Command t2 = t1;
  t2.term = cairn::wire::termOf(5, 2);
  f.s.apply(++f.index, t2);
  auto r = f.s.apply(++f.index, expiry);
  CHECK(r.status.code() == Err::kUnavailable);
  CHECK(r.changes.empty());
  REQUIRE(f.s.lease(l));  // still alive: leader 2 keeps the time now
  // Leader 2's own expiry counts; so does a client's REVOKE (no term) at any time.
  expiry.term = t2.term;
  CHECK(f.s.apply(++f.index, expiry).changes.size() == 1);
  CHECK(!f.s.lease(l));
  // The term travels in snapshots.
  auto d = cairn::store::decodeSnapshot(cairn::store::encodeSnapshot(f.s.image()), {});
  REQUIRE(d.isOk());
  CHECK(d->term() == t2.term);
  // Out-of-range ttls are refused here too, whatever a node checked before.
  Command g{Command::Op::kGrant, "", -1, ""};
  g.ttl = cairn::store::kMaxLeaseTtl + 1;
  CHECK(f.s.apply(++f.index, g).status.code() == Err::kRange);
}

TEST_CASE("leases: one lease keeps at most kMaxLeaseFiles files", "[unit][store][lease]") {
  LeaseFixture f;
  const auto l = f.grant(5000);
  for (std::size_t i = 0; i < cairn::store::kMaxLeaseFiles; ++i)
    REQUIRE(f.set("/f/" + std::to_string(i), "", l).status.isOk());
  CHECK(f.set("/f/over", "", l).status.code() == Err::kTooLarge);
  CHECK(f.set("/f/0", "again", l).status.isOk());  // a file it keeps already may be rewritten
  auto r = f.revoke(l);
  CHECK(r.changes.size() == cairn::store::kMaxLeaseFiles);
  CHECK(f.s.dump().empty());
}

TEST_CASE("leases: commands with a lease or a ttl round-trip, older ones decode unchanged",
          "[unit][wire][lease]") {
  Command c{Command::Op::kSet, "/a", 3, "v"};
  c.lease = 42;
  auto d = cairn::wire::decodeCommand(cairn::wire::encodeCommand(c));
  REQUIRE(d.isOk());
  CHECK(*d == c);
  Command g{Command::Op::kGrant, "", -1, ""};
  g.ttl = 10000;
  CHECK(*cairn::wire::decodeCommand(cairn::wire::encodeCommand(g)) == g);
  Command plain{Command::Op::kSet, "/a", -1, "v"};
  const std::string bytes = cairn::wire::encodeCommand(plain);
  CHECK(bytes[0] == static_cast<char>(0x94));  // the 4-element array records always had
  cairn::wire::Batch b;
  b.items.push_back({7, c});
  b.items.push_back({8, plain});
  auto db = cairn::wire::decodeBatch(cairn::wire::encodeBatch(b));
  REQUIRE(db.isOk());
  CHECK(db->items[0].cmd == c);
  CHECK(db->items[1].cmd == plain);
  Command unknown{static_cast<Command::Op>(9), "", -1, ""};
  CHECK(cairn::wire::decodeCommand(cairn::wire::encodeCommand(unknown)).status().code() ==
        Err::kCorrupt);
}
