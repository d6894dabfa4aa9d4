// The fault harness's checkers must reject what is wrong, or the harness proves nothing: each
// hand-made history below is one kind of anomaly (or a tricky valid case).

#include "tests/fault/checker.h"

#include <catch2/catch.hpp>

using namespace cairn::fault;

namespace {

constexpr std::int64_t kNoReturn = std::numeric_limits<std::int64_t>::max();

Op set(int client, std::string v, std::int64_t cond, std::int64_t t0, std::int64_t t1,
       std::int64_t rev, std::string err = "") {
  Op o;
  o.client = client;
  o.kind = OpKind::kSet;
  o.key = "/k";
  o.value = std::move(v);
  o.cond = cond;
  o.invoke = t0;
  o.complete = t1;
  o.outcome = t1 == kNoReturn ? Outcome::kUnknown : err.empty() ? Outcome::kOk : Outcome::kFail;
  o.err = std::move(err);
  o.rev = rev;
  return o;
}

Op get(int client, std::int64_t t0, std::int64_t t1, std::string v, std::int64_t rev) {
  Op o;
  o.client = client;
  o.kind = OpKind::kGet;
  o.key = "/k";
  o.invoke = t0;
  o.complete = t1;
  o.outcome = Outcome::kOk;
  o.got = std::move(v);
  o.rev = rev;
  return o;
}

Op del(int client, std::int64_t cond, std::int64_t t0, std::int64_t t1, std::int64_t rev,
       std::string err = "") {
  Op o = set(client, "", cond, t0, t1, rev, std::move(err));
  o.kind = OpKind::kDel;
  return o;
}

}  // namespace

TEST_CASE("linearizability: a sequential history with compare-and-set passes", "[unit][fault]") {
  auto r = checkLinearizable({
      set(1, "a", 0, 0, 10, 1),                   // create
      get(2, 20, 30, "a", 1),                     //
      set(1, "b", 1, 40, 50, 2),                  // CAS at rev 1
      set(2, "c", 1, 60, 70, 0, "REV_MISMATCH"),  // stale CAS
      set(3, "d", 0, 80, 90, 0, "REV_MISMATCH"),  // create of an existing file
      del(1, -1, 100, 110, 3),                    //
      del(2, -1, 120, 130, 0, "NOENT"),           //
      get(3, 140, 150, "", 0),                    // absent
      set(2, "e", 7, 160, 170, 4),                // CAS on a missing file passes
      get(1, 180, 190, "e", 4),
  });
  INFO(r.report);
  CHECK(r.ok);
  CHECK(r.opsChecked == 10);
}

TEST_CASE("linearizability: a stale read is rejected, with its window", "[unit][fault]") {
  auto r = checkLinearizable({
      set(1, "a", -1, 0, 10, 1), set(1, "b", -1, 20, 30, 2),
      get(2, 40, 50, "a", 1),  // after "b" was acknowledged
  });
  CHECK_FALSE(r.ok);
  CHECK(r.key == "/k");
  CHECK(r.report.find("GET /k -> \"a\" rev 1") != std::string::npos);
}

TEST_CASE("linearizability: a lost acknowledged write is rejected", "[unit][fault]") {
  CHECK_FALSE(checkLinearizable({set(1, "a", -1, 0, 10, 1), get(2, 20, 30, "", 0)}).ok);
}

TEST_CASE("linearizability: concurrency allows either order, but not both", "[unit][fault]") {
  // The write spans both reads: absent then "a" is fine...
  CHECK(
      checkLinearizable({set(1, "a", -1, 0, 100, 1), get(2, 10, 20, "", 0), get(3, 30, 40, "a", 1)})
          .ok);
  // ...but once a read saw it, a later read cannot go back in time.
  CHECK_FALSE(
      checkLinearizable({set(1, "a", -1, 0, 100, 1), get(2, 10, 20, "a", 1), get(3, 30, 40, "", 0)})
          .ok);
}

TEST_CASE("linearizability: an unknown outcome may take effect late, or never", "[unit][fault]") {
  // A timed-out write that a later read sees took effect, at the rev that read reports.
  CHECK(checkLinearizable(
            {set(1, "a", -1, 0, kNoReturn, 0), get(2, 10, 20, "", 0), get(2, 30, 40, "a", 5)})
            .ok);
  // One that nobody sees may never have happened.
  CHECK(checkLinearizable({set(1, "a", -1, 0, kNoReturn, 0), get(2, 10, 20, "", 0)}).ok);
  // But once seen it cannot be undone without a write.
  CHECK_FALSE(checkLinearizable(
                  {set(1, "a", -1, 0, kNoReturn, 0), get(2, 30, 40, "a", 5), get(2, 50, 60, "", 0)})
                  .ok);
}

TEST_CASE("linearizability: compare-and-set outcomes must fit the state", "[unit][fault]") {
  // Create-only succeeding on an existing file.
  CHECK_FALSE(checkLinearizable({set(1, "a", -1, 0, 10, 1), set(2, "b", 0, 20, 30, 2)}).ok);
  // A mismatch reported on a missing file (rev 0 passes every CAS).
  CHECK_FALSE(checkLinearizable({set(1, "a", 5, 0, 10, 0, "REV_MISMATCH")}).ok);
  // NOENT on a file that exists.
  CHECK_FALSE(checkLinearizable({set(1, "a", -1, 0, 10, 1), del(2, -1, 20, 30, 0, "NOENT")}).ok);
  // Two writes that both claim to have won the same create.
  CHECK_FALSE(checkLinearizable(
                  {set(1, "a", 0, 0, 10, 1), set(2, "b", 0, 5, 15, 2), get(3, 20, 30, "b", 2)})
                  .ok);
}

TEST_CASE("feed check: exact, duplicated, gapped, too late", "[unit][fault]") {
  std::vector<Change> h = {
      {3, "/a/x", "set", "1"}, {5, "/a/y", "set", "2"}, {9, "/a/x", "del", ""}};
  CHECK(checkFeed(h, 1, h, 9, false).ok);
  CHECK(checkFeed(h, 4, {h[1], h[2]}, 9, false).ok);
  // Complete up to 5 means rev 9 need not have arrived yet.
  CHECK(checkFeed(h, 1, {h[0], h[1]}, 5, false).ok);
  auto dup = checkFeed(h, 1, {h[0], h[1], h[1], h[2]}, 9, false);
  CHECK_FALSE(dup.ok);
  CHECK(dup.report.find("repeats") != std::string::npos);
  auto gap = checkFeed(h, 1, {h[0], h[2]}, 9, false);
  CHECK_FALSE(gap.ok);
  CHECK(gap.report.find("rev 5") != std::string::npos);
  CHECK_FALSE(checkFeed(h, 1, {h[0]}, 9, false).ok);        // claims completeness it does not have
  CHECK_FALSE(checkFeed(h, 1, {h[1], h[0]}, 9, false).ok);  // out of order
  // TOO_LATE: a gap-free prefix is all that can be asked.
  CHECK(checkFeed(h, 1, {h[0]}, 3, true).ok);
  CHECK_FALSE(checkFeed(h, 1, {h[1]}, 5, true).ok);
}

TEST_CASE("feed check: a rev of several changes must arrive whole, in order, each once",
          "[unit][fault]") {
  // Rev 4 is a TXN's two writes; rev 6 a lease's end, deleting two files.
  std::vector<Change> h = {{2, "/b/x", "set", "1"},
                           {4, "/b/x", "set", "2"},
                           {4, "/b/y", "set", "3"},
                           {6, "/b/x", "del", ""},
                           {6, "/b/y", "del", ""}};
  CHECK(checkFeed(h, 1, h, 6, false).ok);
  // Complete to 4 while rev 6 is still to come.
  CHECK(checkFeed(h, 1, {h[0], h[1], h[2]}, 4, false).ok);
  // Part of rev 4, claiming it complete.
  auto part = checkFeed(h, 1, {h[0], h[1]}, 4, false);
  CHECK_FALSE(part.ok);
  CHECK(part.report.find("missing rev 4 set /b/y=3") != std::string::npos);
  // Its changes swapped.
  CHECK_FALSE(checkFeed(h, 1, {h[0], h[2], h[1], h[3], h[4]}, 6, false).ok);
  // One of them twice: the report names the repeat, not its sibling at the same rev.
  auto twice = checkFeed(h, 1, {h[0], h[1], h[1], h[2]}, 4, false);
  CHECK_FALSE(twice.ok);
  CHECK(twice.report.find("repeats delivered change 1") != std::string::npos);
  // A change the history does not have, at a rev delivered before, is not called a repeat.
  auto foreign = checkFeed(h, 1, {h[0], h[1], {4, "/b/z", "set", "9"}}, 4, false);
  CHECK_FALSE(foreign.ok);
  CHECK(foreign.report.find("repeats") == std::string::npos);
  // A watch that ended TOO_LATE may stop between revs, never inside one.
  CHECK(checkFeed(h, 1, {h[0], h[1], h[2]}, 4, true).ok);
  auto torn = checkFeed(h, 1, {h[0], h[1], h[2], h[3]}, 4, true);
  CHECK_FALSE(torn.ok);
  CHECK(torn.report.find("part of rev 6") != std::string::npos);
}

TEST_CASE("write check: acknowledged writes are in the history, nothing else is", "[unit][fault]") {
  std::vector<Op> ops = {set(1, "a", -1, 0, 10, 1), set(2, "b", -1, 0, kNoReturn, 0)};
  CHECK(checkWrites({{1, "/k", "set", "a"}, {2, "/k", "set", "b"}}, ops).ok);
  CHECK_FALSE(checkWrites({{2, "/k", "set", "b"}}, ops).ok);                         // lost
  CHECK_FALSE(checkWrites({{1, "/k", "set", "z"}}, ops).ok);                         // changed
  CHECK_FALSE(checkWrites({{1, "/k", "set", "a"}, {2, "/k", "set", "q"}}, ops).ok);  // phantom
}

namespace {

// A run of SETs with every outcome: acknowledged (a at rev 1, c at rev 3), of unknown outcome
// (b applied at rev 2, d never), failed definitely (e, f), and a DEL.
std::vector<Op> onceRun() {
  return {set(1, "a", -1, 0, 10, 1),
          set(2, "b", -1, 0, kNoReturn, 0),
          set(1, "c", 2, 20, 30, 3),
          set(3, "d", -1, 20, kNoReturn, 0),
          set(2, "e", 0, 40, 50, 0, "REV_MISMATCH"),
          set(3, "f", -1, 40, 50, 0, "UNAVAILABLE"),
          del(1, -1, 60, 70, 4)};
}

std::vector<Change> onceHistory() {
  return {
      {1, "/k", "set", "a"}, {2, "/k", "set", "b"}, {3, "/k", "set", "c"}, {4, "/k", "del", ""}};
}

}  // namespace

TEST_CASE("exactly once: every write applied once at most, the acknowledged at their rev, passes",
          "[unit][fault]") {
  auto r = checkOnce(onceHistory(), onceRun());
  INFO(r.report);
  CHECK(r.ok);
  CHECK(r.sets == 6);
  CHECK(r.unknown == 2);
  CHECK(r.unknownApplied == 1);
  CHECK(r.report.empty());
}

TEST_CASE("exactly once: a value at two revs is a write applied twice", "[unit][fault]") {
  // The unknown write b landed twice (a resend without its session), and so did the acknowledged
  // c: its reply names one of its revs, but it is at two.
  auto h = onceHistory();
  h.push_back({5, "/k", "set", "b"});
  h.push_back({6, "/k", "set", "c"});
  auto r = checkOnce(h, onceRun());
  CHECK_FALSE(r.ok);
  CHECK(r.duplicated == 2);
  CHECK(r.ackedMissing == 1);  // c is not applied once
  CHECK(r.report.find("applied 2 times: client 2 SET /k=b") != std::string::npos);
  CHECK(r.report.find("rev 2 set /k=b, rev 5 set /k=b") != std::string::npos);
}

TEST_CASE("exactly once: an acknowledged write missing, or at another rev, is rejected",
          "[unit][fault]") {
  auto h = onceHistory();
  h.erase(h.begin());  // a is gone
  auto missing = checkOnce(h, onceRun());
  CHECK_FALSE(missing.ok);
  CHECK(missing.ackedMissing == 1);
  CHECK(missing.report.find("acknowledged, not applied once at its rev: client 1 SET /k=a") !=
        std::string::npos);
  CHECK(missing.report.find("the history: none") != std::string::npos);

  auto moved = onceHistory();
  moved[2].rev = 7;  // c, acknowledged at rev 3
  CHECK_FALSE(checkOnce(moved, onceRun()).ok);
  auto elsewhere = onceHistory();
  elsewhere[2].path = "/other";
  CHECK_FALSE(checkOnce(elsewhere, onceRun()).ok);
}

TEST_CASE("exactly once: a write that failed definitely must not be in the history",
          "[unit][fault]") {
  // UNAVAILABLE promises the write was never applied, under exactly-once as without.
  auto h = onceHistory();
  h.push_back({5, "/k", "set", "f"});
  auto r = checkOnce(h, onceRun());
  CHECK_FALSE(r.ok);
  CHECK(r.failedApplied == 1);
  CHECK(r.duplicated == 0);
  CHECK(r.report.find("failed definitely, yet applied: client 3 SET /k=f cond -1 -> UNAVAILABLE") !=
        std::string::npos);
}

namespace {

Op rev(int client, std::int64_t t0, std::int64_t t1, std::int64_t head) {
  Op o;
  o.client = client;
  o.kind = OpKind::kRev;
  o.invoke = t0;
  o.complete = t1;
  o.outcome = Outcome::kOk;
  o.rev = head;
  return o;
}

}  // namespace

TEST_CASE("REV: a head below a write acknowledged before the REV began is rejected",
          "[unit][fault]") {
  // Client 1's write was acknowledged at 20 with rev 7; client 2 asked REV at 30 and heard 6.
  std::vector<Op> h = {set(1, "a", -1, 10, 20, 7), rev(2, 30, 40, 6)};
  auto r = checkRevs(h);
  CHECK(!r.ok);
  CHECK(r.report.find("stale REV") != std::string::npos);
  CHECK(r.report.find("head 6") != std::string::npos);
  // The per-key check does not see REV at all.
  CHECK(checkLinearizable(h).ok);
}

TEST_CASE("REV: overlapping a write either head is fine, after it at least its rev",
          "[unit][fault]") {
  std::vector<Op> h = {set(1, "a", -1, 10, 50, 7),  // acknowledged at 50
                       rev(2, 30, 40, 6),           // began before: may miss it
                       rev(3, 45, 60, 7),           // overlaps: may see it
                       rev(2, 55, 70, 9),           // later writes (not ours) moved the head
                       set(1, "b", -1, 80, 90, 0, "UNAVAILABLE"),  // failed: constrains nothing
                       rev(3, 95, 99, 9)};
  CHECK(checkRevs(h).ok);
  h.push_back(rev(4, 100, 110, 6));  // after the rev-7 write was acknowledged
  CHECK(!checkRevs(h).ok);
}

TEST_CASE(
    "backups: each must equal the history at its rev, and be no older than an acknowledged "
    "write",
    "[unit][fault]") {
  const std::vector<Change> history = {
      {1, "/k", "set", "a"}, {2, "/j", "set", "x"}, {3, "/k", "set", "b"}, {4, "/j", "del", ""}};
  const std::vector<Op> ops = {set(1, "b", -1, 10, 20, 3), del(2, -1, 30, 40, 4)};
  Backup at3;
  at3.client = 9;
  at3.invoke = 25;  // after the rev-3 write was acknowledged, before the rev-4 delete was
  at3.complete = 35;
  at3.rev = 3;
  at3.files = {{"/k", {3, "b"}}, {"/j", {2, "x"}}};
  Backup at4 = at3;
  at4.invoke = 50;
  at4.complete = 60;
  at4.rev = 4;
  at4.files = {{"/k", {3, "b"}}};
  CHECK(checkBackups(history, ops, {at3, at4}).ok);

  // A file the history does not have at that rev, a wrong value, a missing file: each caught.
  Backup extra = at4;
  extra.files["/j"] = {2, "x"};
  auto r = checkBackups(history, ops, {extra});
  CHECK_FALSE(r.ok);
  CHECK(r.report.find("holds /j@2") != std::string::npos);
  Backup wrong = at3;
  wrong.files["/k"] = {3, "a"};
  CHECK_FALSE(checkBackups(history, ops, {wrong}).ok);
  Backup missing = at3;
  missing.files.erase("/j");
  r = checkBackups(history, ops, {missing});
  CHECK_FALSE(r.ok);
  CHECK(r.report.find("lacks /j@2") != std::string::npos);

  // A backup asked for after the delete at rev 4 was acknowledged may not be the rev-3 state,
  // however exact that state is.
  Backup stale = at3;
  stale.invoke = 50;
  stale.complete = 60;
  r = checkBackups(history, ops, {stale});
  CHECK_FALSE(r.ok);
  CHECK(r.report.find("older than a write acknowledged") != std::string::npos);
}
