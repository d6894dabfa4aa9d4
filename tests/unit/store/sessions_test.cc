#include <catch2/catch.hpp>

#include "store/sessions.h"
#include "store/snapshot.h"
#include "store/store.h"
#include "wire/codec.h"
#include "wire/command.h"
#include "wire/txn.h"

#include <msgpack.hpp>

using cairn::store::ApplyResult;
using cairn::store::Sessions;
using cairn::store::Store;
using cairn::wire::Command;
using cairn::wire::Err;

namespace {

const std::string* keptReply(const Sessions& t, std::uint64_t s, std::uint64_t seq) {
  const std::string* r = nullptr;
  return t.seen(s, seq, &r) == Sessions::Seen::kApplied ? r : nullptr;
}

struct SessionsFixture {
  Store s;
  std::uint64_t index = 0;
  ApplyResult apply(Command c, std::uint64_t session = 0, std::uint64_t seq = 0) {
    c.session = session;
    c.seq = seq;
    return s.apply(++index, c);
  }
  std::uint64_t grant() {
    Command c{Command::Op::kGrant, "", -1, ""};
    c.ttl = 10000;
    return apply(c).lease;
  }
};

Command set(const std::string& p, const std::string& v, std::int64_t rev = -1) {
  return Command{Command::Op::kSet, p, rev, v};
}

}  // namespace

TEST_CASE("sessions: a session keeps its 64 latest replies and older seqs are refused",
          "[unit][store][sessions]") {
  Sessions t;
  for (std::uint64_t seq = 1; seq <= 70; ++seq)
    t.record(7, seq, "r" + std::to_string(seq));
  const std::string* r = nullptr;
  CHECK(t.seen(7, 6, &r) == Sessions::Seen::kTooLate);
  CHECK(t.seen(7, 7, &r) == Sessions::Seen::kApplied);
  CHECK(*r == "r7");
  CHECK(t.seen(7, 71, &r) == Sessions::Seen::kNew);
  CHECK(t.seen(8, 1, &r) == Sessions::Seen::kNew);  // another session
  CHECK(t.all().at(7).floor == 7);
  CHECK(t.all().at(7).replies.size() == Sessions::kWindow);
  // Out of order: a gap below the latest is still new, and applied once.
  t.record(9, 5, "five");
  CHECK(t.seen(9, 3, &r) == Sessions::Seen::kNew);
  t.record(9, 3, "three");
  REQUIRE(keptReply(t, 9, 3));
  CHECK(*keptReply(t, 9, 3) == "three");
  t.end(7);
  CHECK(t.seen(7, 70, &r) == Sessions::Seen::kNew);  // gone: the Store refuses ended sessions
  CHECK(t.all().count(7) == 0);
}

TEST_CASE("sessions: past the byte bound the oldest reply goes, whichever session holds it",
          "[unit][store][sessions]") {
  Sessions t;
  const std::string big(Sessions::kMaxBytes / 4, 'x');
  t.record(1, 1, big);  // the oldest
  t.record(2, 1, big);
  t.record(1, 2, big);
  t.record(2, 2, big);  // over the bound: session 1's seq 1 goes, and its floor rises
  const std::string* r = nullptr;
  CHECK(t.seen(1, 1, &r) == Sessions::Seen::kTooLate);
  CHECK(t.seen(1, 2, &r) == Sessions::Seen::kApplied);
  CHECK(t.seen(2, 1, &r) == Sessions::Seen::kApplied);
  CHECK(t.bytes() <= Sessions::kMaxBytes);
  // One reply larger than the bound alone is still kept: a retry of the latest finds it.
  t.record(3, 1, std::string(Sessions::kMaxBytes + 1, 'y'));
  CHECK(t.seen(3, 1, &r) == Sessions::Seen::kApplied);
  CHECK(t.seen(2, 2, &r) == Sessions::Seen::kTooLate);
}

TEST_CASE("sessions: a restore refuses what breaks the table's bounds", "[unit][store][sessions]") {
  Sessions t;
  Sessions::Session ok;
  ok.floor = 3;
  ok.replies.emplace_back(3, Sessions::Kept{5, "r"});
  CHECK(t.restore(4, ok).isOk());
  CHECK(t.nextAge() == 6);
  CHECK(t.restored().isOk());
  Sessions::Session below;
  below.floor = 4;
  below.replies.emplace_back(2, Sessions::Kept{9, "r"});
  CHECK(t.restore(6, below).code() == Err::kCorrupt);
  Sessions::Session many;
  for (std::uint64_t i = 1; i <= Sessions::kWindow + 1; ++i)
    many.replies.emplace_back(i, Sessions::Kept{100 + i, "r"});
  CHECK(t.restore(7, many).code() == Err::kCorrupt);
  CHECK(t.restore(4, ok).code() == Err::kCorrupt);  // twice
  Sessions::Session twice;
  twice.replies = {
      {3, Sessions::Kept{20, "r"}}, {1, Sessions::Kept{21, "r"}}, {3, Sessions::Kept{22, "r"}}};
  CHECK(t.restore(8, twice).code() == Err::kCorrupt);
  Sessions::Session unsorted;  // in any order: kept in seq order
  unsorted.replies = {{5, Sessions::Kept{30, "five"}}, {4, Sessions::Kept{31, "four"}}};
  CHECK(t.restore(9, unsorted).isOk());
  const std::string* r = nullptr;
  REQUIRE(t.seen(9, 4, &r) == Sessions::Seen::kApplied);
  CHECK(*r == "four");
  REQUIRE(t.seen(9, 5, &r) == Sessions::Seen::kApplied);
  CHECK(*r == "five");
  // Two replies of one age, in two sessions: the table as a whole is refused.
  Sessions::Session dupAge;
  dupAge.replies.emplace_back(1, Sessions::Kept{5, "r"});
  CHECK(t.restore(5, dupAge).isOk());
  CHECK(t.restored().code() == Err::kCorrupt);
}

TEST_CASE(
    "sessions: replies dropped by their windows and by ended sessions leave the byte bound "
    "exact",
    "[unit][store][sessions]") {
  // Many sessions, each past its window, some ended, then one large reply: the oldest live
  // replies go first, whichever session holds them, and the byte count matches what is kept.
  Sessions t;
  for (std::uint64_t s = 1; s <= 40; ++s)
    for (std::uint64_t q = 1; q <= Sessions::kWindow + 10; ++q)
      t.record(s, q, "reply");
  for (std::uint64_t s = 1; s <= 40; s += 2)
    t.end(s);
  std::size_t kept = 0;
  for (const auto& [id, s] : t.all()) {
    CHECK(s.floor == 11);
    CHECK(s.replies.size() == Sessions::kWindow);
    kept += s.replies.size();
  }
  CHECK(kept == 20 * Sessions::kWindow);
  CHECK(t.bytes() == kept * (5 + 64));
  // Four large replies in session 100, 690 bytes over the bound in all: the ten oldest live
  // replies go (69 bytes each), session 2's seqs 11..20, its older ones having gone already.
  const std::size_t big = (Sessions::kMaxBytes - t.bytes() - 4 * 64 + 690) / 4;
  for (std::uint64_t q = 1; q <= 4; ++q)
    t.record(100, q, std::string(big, 'b'));
  const std::string* r = nullptr;
  CHECK(t.bytes() <= Sessions::kMaxBytes);
  CHECK(t.seen(2, 20, &r) == Sessions::Seen::kTooLate);
  CHECK(t.seen(2, 21, &r) == Sessions::Seen::kApplied);
  CHECK(t.seen(4, 11, &r) == Sessions::Seen::kApplied);
  CHECK(t.seen(100, 1, &r) == Sessions::Seen::kApplied);
  CHECK(t.seen(100, 4, &r) == Sessions::Seen::kApplied);
  CHECK(t.seen(40, Sessions::kWindow + 10, &r) == Sessions::Seen::kApplied);
  std::size_t bytes = 0;
  for (const auto& [id, s] : t.all())
    for (const auto& [seq, k] : s.replies)
      bytes += k.reply.size() + 64;
  CHECK(t.bytes() == bytes);
}

TEST_CASE("sessions: a retried write gets its first reply, whatever it was, and changes nothing",
          "[unit][store][sessions]") {
  SessionsFixture f;
  const std::uint64_t s = f.grant();
  ApplyResult first = f.apply(set("/a", "1", 0), s, 1);
  REQUIRE(first.status.isOk());
  ApplyResult again = f.apply(set("/a", "1", 0), s, 1);  // a plain resend would be REV_MISMATCH
  CHECK(again.status.isOk());
  CHECK(again.replayed);
  CHECK(again.rev == first.rev);
  CHECK(again.changes.empty());
  CHECK(f.s.rev() == first.rev);
  // A failed TXN: the same error and detail.
  Command txn{Command::Op::kTxn, "", -1, ""};
  txn.txn = std::make_shared<const cairn::wire::Txn>(
      cairn::wire::Txn{{}, {cairn::wire::TxnOp::set("/a", "2", 0)}, {}});
  ApplyResult failed = f.apply(txn, s, 2);
  CHECK(failed.status.code() == Err::kRevMismatch);
  ApplyResult failedAgain = f.apply(txn, s, 2);
  CHECK(failedAgain.status.code() == Err::kRevMismatch);
  CHECK(failedAgain.status.detail() == failed.status.detail());
  CHECK(failedAgain.rev == failed.rev);
  // A GRANT: the same lease, not a second one.
  Command g{Command::Op::kGrant, "", -1, ""};
  g.ttl = 5000;
  ApplyResult l1 = f.apply(g, s, 3);
  ApplyResult l2 = f.apply(g, s, 3);
  CHECK(l1.lease != 0);
  CHECK(l2.lease == l1.lease);
  CHECK(f.s.nextLease() == l1.lease + 1);
  // Its own REVOKE ends the session: later writes of it are refused, applying nothing.
  Command rv{Command::Op::kRevoke, "", -1, "revoked"};
  rv.lease = s;
  CHECK(f.apply(rv, s, 4).status.isOk());
  CHECK(f.s.sessions().all().count(s) == 0);  // nothing kept for it (a snapshot could not hold it)
  ApplyResult late = f.apply(set("/b", "x"), s, 5);
  CHECK(late.status.code() == Err::kTooLate);
  CHECK(f.apply(set("/a", "1", 0), s, 1).status.code() == Err::kTooLate);
  CHECK(f.s.stat("/b", f.s.rev()).exists == false);
  // A session that never was.
  CHECK(f.apply(set("/b", "x"), 999, 1).status.code() == Err::kTooLate);
}

TEST_CASE("sessions: the table travels in a snapshot and answers the same after it",
          "[unit][store][sessions]") {
  SessionsFixture f;
  const std::uint64_t s = f.grant();
  const std::uint64_t other = f.grant();
  for (std::uint64_t seq = 1; seq <= 70; ++seq)
    REQUIRE(f.apply(set("/k", std::to_string(seq)), s, seq).status.isOk());
  ApplyResult refused = f.apply(set("/k/x", "1"), other, 1);  // NOTDIR, kept too
  CHECK(refused.status.code() == Err::kNotDir);
  auto back = cairn::store::decodeSnapshot(cairn::store::encodeSnapshot(f.s.image()), {});
  REQUIRE(back.isOk());
  CHECK(back->sessions().dump() == f.s.sessions().dump());
  Store& b = back.value();
  ApplyResult r = b.apply(f.index + 1, [&] {
    Command c = set("/k", "70");
    c.session = s;
    c.seq = 70;
    return c;
  }());
  CHECK(r.replayed);
  CHECK(r.rev == 70);
  Command c = set("/k/x", "1");
  c.session = other;
  c.seq = 1;
  ApplyResult r2 = b.apply(f.index + 2, c);
  CHECK(r2.status.code() == Err::kNotDir);
  CHECK(r2.status.detail() == refused.status.detail());
  c.seq = 2;
  CHECK(b.apply(f.index + 3, set("/k", "x")).status.isOk());
  Command stale = set("/k", "5");
  stale.session = s;
  stale.seq = 5;
  CHECK(b.apply(f.index + 4, stale).status.code() == Err::kTooLate);
}

TEST_CASE("sessions: commands with a session round-trip through the log's encoding",
          "[unit][store][sessions]") {
  Command c = set("/a", "v", 3);
  c.session = 12;
  c.seq = 99;
  auto back = cairn::wire::decodeCommand(cairn::wire::encodeCommand(c));
  REQUIRE(back);
  CHECK(*back == c);
  cairn::wire::Batch b;
  b.origin = 1;
  b.items.push_back({5, c});
  auto bb = cairn::wire::decodeBatch(cairn::wire::encodeBatch(b));
  REQUIRE(bb);
  CHECK(bb->items.at(0).cmd == c);
  CHECK(bb->items.at(0).cmd.session == 12);
  CHECK(bb->items.at(0).cmd.seq == 99);
}

namespace {

Command as(Command c, const std::string& user) {
  c.user = user;
  return c;
}

}  // namespace

TEST_CASE(
    "sessions: a lease is its granter's: another user can neither write in it, nor keep "
    "files with it, nor revoke it, nor read its replies",
    "[unit][store][sessions][security]") {
  SessionsFixture f;
  Command g{Command::Op::kGrant, "", -1, ""};
  g.ttl = 10000;
  const std::uint64_t lease = f.apply(as(g, "alice")).lease;
  REQUIRE(lease != 0);
  REQUIRE(f.s.lease(lease));
  CHECK(f.s.lease(lease)->owner == "alice");

  // Alice's write 1, then bob's copy of it: bob gets no reply of alice's, and nothing is applied.
  auto first = f.apply(as(set("/a", "alice"), "alice"), lease, 1);
  REQUIRE(first.status.isOk());
  const std::string table = f.s.sessions().dump();
  const std::int64_t rev = f.s.rev();
  CHECK(first.sessionUsed);  // alice's write renews her lease (node/leases.h)
  auto stolen = f.apply(as(set("/a", "bob"), "bob"), lease, 1);
  CHECK(stolen.status.code() == Err::kPermission);
  CHECK_FALSE(stolen.sessionUsed);  // bob's renews nothing
  CHECK(stolen.status.detail().find("user bob may not write in session lease") !=
        std::string::npos);
  CHECK_FALSE(stolen.replayed);
  // Bob's write 2 first: refused, and alice's own write 2 is then applied, not answered from a
  // reply bob left.
  CHECK(f.apply(as(set("/b", "bob"), "bob"), lease, 2).status.code() == Err::kPermission);
  CHECK(f.s.rev() == rev);
  CHECK(f.s.sessions().dump() == table);
  auto second = f.apply(as(set("/b", "alice"), "alice"), lease, 2);
  CHECK(second.status.isOk());
  CHECK_FALSE(second.replayed);
  CHECK(second.rev == rev + 1);
  CHECK(*f.s.stat("/b", f.s.rev()).value == "alice");

  // Files kept with alice's lease: bob's SET and TXN are refused; alice's are not.
  Command kept = as(set("/svc/bob", "x"), "bob");
  kept.lease = lease;
  CHECK(f.apply(kept).status.code() == Err::kPermission);
  Command txn{Command::Op::kTxn, "", -1, ""};
  cairn::wire::Txn t;
  t.then.push_back(cairn::wire::TxnOp::set("/svc/bob", "x", -1, lease));
  txn.txn = std::make_shared<const cairn::wire::Txn>(t);
  CHECK(f.apply(as(txn, "bob")).status.code() == Err::kPermission);
  CHECK(f.apply(as(txn, "alice")).status.isOk());
  CHECK(f.s.lease(lease)->files == std::set<std::string>{"/svc/bob"});
  // An anonymous command is another user too (a cluster either has grants or has none).
  CHECK(f.apply(kept = as(kept, "")).status.code() == Err::kPermission);

  // Revoked by bob: refused, the lease and its file stay. A leader's expiry (it names its term)
  // is no user's, and ends it.
  Command revoke{Command::Op::kRevoke, "", -1, "revoked"};
  revoke.lease = lease;
  CHECK(f.apply(as(revoke, "bob")).status.code() == Err::kPermission);
  REQUIRE(f.s.lease(lease));
  Command term{Command::Op::kTerm, "", -1, ""};
  term.term = 7;
  REQUIRE(f.apply(term).status.isOk());
  Command expiry{Command::Op::kRevoke, "", -1, "expired"};
  expiry.lease = lease;
  expiry.term = 7;
  CHECK(f.apply(expiry).status.isOk());
  CHECK_FALSE(f.s.lease(lease));
  CHECK_FALSE(f.s.stat("/svc/bob", f.s.rev()).exists);
}

TEST_CASE("sessions: lease owners travel in snapshots (version 5) and commands keep their user",
          "[unit][store][sessions][security]") {
  SessionsFixture f;
  Command g{Command::Op::kGrant, "", -1, ""};
  g.ttl = 10000;
  const std::uint64_t anon = f.apply(g).lease;
  // Without owners the snapshot is as before: version 4 (a session kept no reply yet: 3).
  {
    auto d = cairn::store::decodeSnapshot(cairn::store::encodeSnapshot(f.s.image()), {});
    REQUIRE(d.isOk());
    CHECK(d->lease(anon)->owner.empty());
  }
  const std::uint64_t owned = f.apply(as(g, "alice")).lease;
  REQUIRE(f.apply(as(set("/a", "1"), "alice"), owned, 1).status.isOk());
  const std::string bytes = cairn::store::encodeSnapshot(f.s.image());
  auto d = cairn::store::decodeSnapshot(bytes, {});
  INFO(d.status().toString());
  REQUIRE(d.isOk());
  REQUIRE(d->lease(owned));
  CHECK(d->lease(owned)->owner == "alice");
  CHECK(d->lease(anon)->owner.empty());
  CHECK(cairn::store::encodeSnapshot(d->image()) == bytes);
  // The restored store refuses bob as the original does, and replays alice's write 1 to alice.
  Store& r = d.value();
  Command stolen = as(set("/a", "2"), "bob");
  stolen.session = owned;
  stolen.seq = 1;
  CHECK(r.apply(100, stolen).status.code() == Err::kPermission);
  stolen.user = "alice";
  CHECK(r.apply(101, stolen).replayed);

  // The log's encoding keeps the user, alone and in a batch, and refuses an empty one.
  Command c = as(set("/x", "y"), "alice");
  auto back = cairn::wire::decodeCommand(cairn::wire::encodeCommand(c));
  REQUIRE(back.isOk());
  CHECK(*back == c);
  c.session = 3;
  c.seq = 9;
  back = cairn::wire::decodeCommand(cairn::wire::encodeCommand(c));
  REQUIRE(back.isOk());
  CHECK(*back == c);
  cairn::wire::Batch b;
  b.items.push_back({1, c});
  auto bb = cairn::wire::decodeBatch(cairn::wire::encodeBatch(b));
  REQUIRE(bb.isOk());
  CHECK(bb->items.at(0).cmd.user == "alice");
  // [SET, "/x", -1, "y", 0, 0, 0, 0, 0, ""]: an empty user is written as none, so it is refused.
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> p(buf);
  p.pack_array(10);
  p.pack_uint8(1);
  p.pack(std::string("/x"));
  p.pack_int64(-1);
  p.pack_bin(1);
  p.pack_bin_body("y", 1);
  for (int i = 0; i < 5; ++i)
    p.pack_uint64(0);
  p.pack(std::string());
  CHECK(cairn::wire::decodeCommand(std::string_view(buf.data(), buf.size())).status().code() ==
        Err::kCorrupt);
}
