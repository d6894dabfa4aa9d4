// The lock and lease checkers must reject what is wrong: each hand-made history below is one
// kind of anomaly (two alive holders at once, a token that goes back, a lost update, a lease that
// ended while promised), or a valid case they must let pass (a lapsed holder overlapping, a
// mismatch an unknown write explains, an absence after every promise ended).

#include "tests/fault/checker.h"

#include <catch2/catch.hpp>

using namespace cairn::fault;

namespace {

Section sec(int holder, std::int64_t token, std::int64_t start, std::int64_t end, bool alive,
            Guarded write = Guarded::kSkipped, std::int64_t wrote = 0) {
  Section s;
  s.holder = holder;
  s.lease = static_cast<std::uint64_t>(100 + token);
  s.token = token;
  s.start = start;
  s.end = end;
  s.alive = alive;
  s.write = write;
  s.wrote = wrote;
  s.why = write == Guarded::kFailed ? "UNAVAILABLE" : write == Guarded::kSkipped ? "test" : "";
  return s;
}

LeaseEvent promise(std::uint64_t lease, std::int64_t sent, std::int64_t answered,
                   std::int64_t ttl) {
  LeaseEvent e;
  e.lease = lease;
  e.kind = LeaseSeen::kPromise;
  e.sent = sent;
  e.answered = answered;
  e.until = sent + ttl;
  e.what = "KEEPALIVE";
  return e;
}

LeaseEvent seen(std::uint64_t lease, bool present, std::int64_t sent, std::int64_t answered) {
  LeaseEvent e;
  e.lease = lease;
  e.kind = present ? LeaseSeen::kPresent : LeaseSeen::kAbsent;
  e.sent = sent;
  e.answered = answered;
  e.what = "GET";
  return e;
}

}  // namespace

TEST_CASE("locks: sections one after another, tokens increasing, pass", "[unit][fault]") {
  auto r = checkLocks({sec(1, 10, 0, 100, true), sec(2, 12, 110, 200, true),
                       sec(3, 15, 210, 300, true), sec(1, 19, 305, 400, true)});
  INFO(r.report);
  CHECK(r.ok);
  CHECK(r.sections == 4);
  CHECK(r.alive == 4);
  CHECK(r.lapsed == 0);
}

TEST_CASE("locks: two alive holders at once are caught", "[unit][fault]") {
  // Holder 2 acquired at 90, before holder 1 released at 100.
  auto r =
      checkLocks({sec(1, 10, 0, 100, true), sec(2, 12, 90, 200, true), sec(3, 15, 210, 300, true)});
  CHECK_FALSE(r.ok);
  CHECK(r.overlaps == 1);
  CHECK(r.inversions == 0);
  CHECK(r.report.find("two holders at once") != std::string::npos);
  CHECK(r.report.find("holder 1") != std::string::npos);
  CHECK(r.report.find("holder 2") != std::string::npos);
  // A section inside another one's is caught too, not only the next one's.
  auto inner = checkLocks(
      {sec(1, 10, 0, 500, true), sec(2, 12, 100, 200, true), sec(3, 15, 300, 400, true)});
  CHECK_FALSE(inner.ok);
  CHECK(inner.overlaps == 2);
}

TEST_CASE("locks: a holder whose lease lapsed may overlap, and is counted apart", "[unit][fault]") {
  auto r = checkLocks(
      {sec(1, 10, 0, 500, false), sec(2, 12, 300, 400, true), sec(3, 15, 410, 450, true)});
  INFO(r.report);
  CHECK(r.ok);
  CHECK(r.alive == 2);
  CHECK(r.lapsed == 1);
  CHECK(r.lapsedOverlaps == 1);
  CHECK(r.lapsedReport.find("LAPSED") != std::string::npos);
}

TEST_CASE("locks: fencing tokens must increase in the order sections started", "[unit][fault]") {
  auto r =
      checkLocks({sec(1, 10, 0, 100, true), sec(2, 9, 110, 200, true), sec(3, 15, 210, 300, true)});
  CHECK_FALSE(r.ok);
  CHECK(r.overlaps == 0);
  CHECK(r.inversions == 1);
  CHECK(r.report.find("fencing token") != std::string::npos);
  // Equal tokens: two holders of one queue file.
  CHECK_FALSE(checkLocks({sec(1, 10, 0, 100, true), sec(2, 10, 110, 200, true)}).ok);
  // A lapsed section's token is not ordered.
  CHECK(
      checkLocks({sec(1, 10, 0, 100, true), sec(2, 9, 110, 200, false), sec(3, 15, 210, 300, true)})
          .ok);
}

TEST_CASE("counter: every acknowledged increment counts once", "[unit][fault]") {
  std::vector<Section> s = {
      sec(1, 10, 0, 100, true, Guarded::kOk, 1), sec(2, 12, 110, 200, true, Guarded::kOk, 2),
      sec(3, 15, 210, 300, true, Guarded::kSkipped),
      sec(1, 19, 310, 400, true, Guarded::kFailed, 3), sec(2, 22, 410, 500, true, Guarded::kOk, 3)};
  auto r = checkCounter(s, 3);
  INFO(r.report);
  CHECK(r.ok);
  // Ending below an acknowledged increment: it was lost.
  CHECK_FALSE(checkCounter(s, 2).ok);
  // Ending above what was written: a phantom (or a failed write that took effect).
  auto phantom = checkCounter(s, 4);
  CHECK_FALSE(phantom.ok);
  CHECK(phantom.report.find("ends at 4") != std::string::npos);
}

TEST_CASE("counter: two acknowledged increments to the same value are a lost update",
          "[unit][fault]") {
  // Both read 1 and both CAS-wrote 2 successfully: compare-and-set was broken, or both held.
  std::vector<Section> s = {sec(1, 10, 0, 100, true, Guarded::kOk, 1),
                            sec(2, 12, 110, 200, true, Guarded::kOk, 2),
                            sec(3, 15, 210, 300, true, Guarded::kOk, 2)};
  auto r = checkCounter(s, 2);
  CHECK_FALSE(r.ok);
  CHECK(r.report.find("lost update") != std::string::npos);
}

TEST_CASE("counter: an alive holder's REV_MISMATCH needs another write to explain it",
          "[unit][fault]") {
  // Nothing else wrote: the read was stale, or another holder wrote unseen.
  std::vector<Section> s = {sec(1, 10, 0, 100, true, Guarded::kOk, 1),
                            sec(2, 12, 110, 200, true, Guarded::kMismatch, 1)};
  auto r = checkCounter(s, 1);
  CHECK_FALSE(r.ok);
  CHECK(r.report.find("changed under an alive holder") != std::string::npos);
  // An earlier write of unknown outcome may have landed late: explained.
  s.insert(s.begin(), sec(3, 8, -100, -10, true, Guarded::kUnknown, 1));
  CHECK(checkCounter(s, 1).ok);
  // A lapsed holder's mismatch is expected (its lease went while it held the lock).
  CHECK(checkCounter({sec(1, 10, 0, 100, true, Guarded::kOk, 1),
                      sec(2, 12, 110, 200, false, Guarded::kMismatch, 1)},
                     1)
            .ok);
  // An acknowledged write of an overlapping (lapsed) holder explains it.
  CHECK(checkCounter({sec(1, 10, 0, 300, false, Guarded::kOk, 1),
                      sec(2, 12, 110, 200, true, Guarded::kMismatch, 1)},
                     1)
            .ok);
}

TEST_CASE("leases: an absence after every promise ended is fine, before is a violation",
          "[unit][fault]") {
  const std::int64_t ttl = 2000;
  std::vector<LeaseEvent> ok = {
      promise(7, 0, 10, ttl),      // alive until 2000
      seen(7, true, 20, 30),       // checked, present
      promise(7, 600, 620, ttl),   // alive until 2600
      seen(7, true, 630, 640),     // checked
      seen(7, false, 2500, 2700),  // answered after 2600: not checked
      promise(8, 0, 5, ttl),       // another lease
      seen(8, true, 1000, 1010),
  };
  auto r = checkLeasePromises(ok);
  INFO(r.report);
  CHECK(r.ok);
  CHECK(r.leases == 2);
  CHECK(r.promises == 3);
  CHECK(r.checked == 3);
  CHECK(r.violations == 0);

  // Gone at 2590 < 2600: the lease ended while promised.
  auto bad = ok;
  bad.push_back(seen(7, false, 2500, 2590));
  r = checkLeasePromises(bad);
  CHECK_FALSE(r.ok);
  CHECK(r.violations == 1);
  CHECK(r.report.find("lease 7") != std::string::npos);
  CHECK(r.report.find("ended while promised") != std::string::npos);

  // A KEEPALIVE answered after the file was seen gone renews an ended lease: also a violation.
  std::vector<LeaseEvent> revived = {promise(9, 0, 10, ttl), seen(9, false, 2100, 2200),
                                     promise(9, 2300, 2310, ttl)};
  CHECK_FALSE(checkLeasePromises(revived).ok);

  // Another lease's promise says nothing about this one.
  CHECK(checkLeasePromises({promise(8, 0, 10, ttl), seen(7, false, 20, 30)}).ok);
}
