// The bank checker must reject what is wrong: one hand-made run that passes (transfers that took
// "then", "else", failed, or had an unknown outcome, applied or not; reads of every account and of
// two), and variants of it that each break one rule — a torn transfer, a sum that changes, a read
// that is not the state at its rev, a transfer applied twice, a stale read, and more.

#include "tests/fault/bank_checker.h"

#include <catch2/catch.hpp>

using namespace cairn::fault;

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
const std::vector<std::string> kAccounts = {"/bank/acct/0", "/bank/acct/1", "/bank/acct/2"};
const std::string& a0 = kAccounts[0];
const std::string& a1 = kAccounts[1];
const std::string& a2 = kAccounts[2];
constexpr std::int64_t kTotal = 300;

BankTransfer transfer(int client, std::int64_t seq, const std::string& from, std::int64_t fromRev,
                      std::int64_t fromBalance, const std::string& to, std::int64_t toRev,
                      std::int64_t toBalance, std::int64_t amount) {
  BankTransfer t;
  t.client = client;
  t.seq = seq;
  t.from = from;
  t.to = to;
  t.amount = amount;
  t.fromRev = fromRev;
  t.toRev = toRev;
  const std::string tag = ":c" + std::to_string(client) + ":" + std::to_string(seq);
  t.fromValue = std::to_string(fromBalance - amount) + tag + ":f";
  t.toValue = std::to_string(toBalance + amount) + tag + ":t";
  return t;
}

// Acknowledged: "then" ran at `rev`.
BankTransfer then(BankTransfer t, std::int64_t t0, std::int64_t t1, std::int64_t rev) {
  t.invoke = t0;
  t.complete = t1;
  t.outcome = Outcome::kOk;
  t.succeeded = true;
  t.rev = rev;
  t.results = {{rev, t.from, "set", ""}, {rev, t.to, "set", ""}};
  return t;
}

std::vector<Change> writes(const BankTransfer& t, std::int64_t rev) {
  return {{rev, t.from, "set", t.fromValue}, {rev, t.to, "set", t.toValue}};
}

BankRead read(int client, std::string how, std::int64_t t0, std::int64_t t1, std::int64_t rev,
              std::map<std::string, BankFile> files, bool every = true) {
  BankRead r;
  r.client = client;
  r.how = std::move(how);
  r.linearizable = r.how != "WALK at rev";
  r.every = every;
  r.invoke = t0;
  r.complete = t1;
  r.rev = rev;
  r.files = std::move(files);
  return r;
}

// The passing run, with its parts named so that the tests below can break them.
struct Run {
  std::vector<Change> history;
  std::int64_t head = 8;
  std::vector<BankTransfer> transfers;
  std::vector<BankRead> reads;
  BankResult check() const { return checkBank(history, head, kAccounts, kTotal, transfers, reads); }
};

// rev 1: the setup; rev 3: 30 from 0 to 1; rev 5: 50 from 1 to 2; rev 7: 10 from 2 to 0, whose
// client never heard back. A transfer that read rev 1 took "else" at rev 5; one of unknown outcome
// never landed; a doomed one failed. Reads of every account at revs 4, 5 and 1 (a past rev), and
// a GET of one at 8.
Run validRun() {
  Run r;
  r.history = {
      {1, a0, "set", "100:setup:0"}, {1, a1, "set", "100:setup:1"}, {1, a2, "set", "100:setup:2"}};
  const BankTransfer t1 = then(transfer(1, 0, a0, 1, 100, a1, 1, 100, 30), 10, 20, 3);
  const BankTransfer t2 = then(transfer(2, 0, a1, 3, 130, a2, 1, 100, 50), 30, 40, 5);
  BankTransfer t3 = transfer(1, 1, a0, 1, 100, a2, 1, 100, 5);  // read before t1
  t3.invoke = 25;
  t3.complete = 45;
  t3.outcome = Outcome::kOk;
  t3.rev = 5;
  t3.results = {{3, a0, "get", "70:c1:0:f"}, {5, a2, "get", "150:c2:0:t"}};
  BankTransfer t4 = transfer(2, 1, a2, 5, 150, a1, 5, 80, 1);  // unknown, never applied
  t4.invoke = 50;
  BankTransfer t5 = transfer(1, 2, a2, 5, 150, a0, 3, 70, 10);  // unknown, applied at rev 7
  t5.invoke = 60;
  BankTransfer t6 = transfer(2, 2, a0, 7, 80, a1, 5, 80, 3);  // doomed: failed whole
  t6.doomed = true;
  t6.invoke = 80;
  t6.complete = 85;
  t6.outcome = Outcome::kFail;
  t6.err = "REV_MISMATCH";
  t6.detail = "then[1] (set /bank/acct/1): file is at rev 5, request has 0";
  for (const auto* t : {&t1, &t2})
    for (const Change& c : writes(*t, t->rev))
      r.history.push_back(c);
  for (const Change& c : writes(t5, 7))
    r.history.push_back(c);
  r.transfers = {t1, t2, t3, t4, t5, t6};
  r.reads = {
      read(1, "TXN read of transfer #1", 5, 8, 1,
           {{a0, {1, "100:setup:0"}}, {a2, {1, "100:setup:2"}}}, false),
      read(3, "WALK", 22, 24, 4,
           {{a0, {3, "70:c1:0:f"}}, {a1, {3, "130:c1:0:t"}}, {a2, {1, "100:setup:2"}}}),
      read(3, "TXN", 41, 43, 5,
           {{a0, {3, "70:c1:0:f"}}, {a1, {5, "80:c2:0:f"}}, {a2, {5, "150:c2:0:t"}}}),
      read(4, "WALK at rev", 90, 95, 1,
           {{a0, {1, "100:setup:0"}}, {a1, {1, "100:setup:1"}}, {a2, {1, "100:setup:2"}}}),
      read(4, "GET", 70, 72, 8, {{a0, {7, "80:c1:2:t"}}}, false),
  };
  return r;
}

bool has(const BankResult& r, const std::string& what) {
  return r.report.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("bank: a run of then, else, failed and unknown transfers, and reads at revs, passes",
          "[unit][fault]") {
  auto r = validRun().check();
  INFO(r.report);
  CHECK(r.ok);
  CHECK(r.transfersThen == 2);
  CHECK(r.transfersElse == 1);
  CHECK(r.transfersFailed == 1);
  CHECK(r.transfersUnknown == 2);
  CHECK(r.unknownApplied == 1);
  CHECK(r.readsChecked == 6);  // five reads and the "else" reply's gets
  CHECK(r.revsReplayed == 4);
}

TEST_CASE("bank: a transfer torn over two revs is rejected", "[unit][fault]") {
  Run run = validRun();
  // The second transfer's writes at revs 4 and 5, each alone: the sum is off at rev 4.
  run.history[5].rev = 4;
  std::stable_sort(run.history.begin(), run.history.end(),
                   [](const Change& a, const Change& b) { return a.rev < b.rev; });
  auto r = run.check();
  CHECK_FALSE(r.ok);
  CHECK(has(r, "torn transfer"));
  CHECK(has(r, "the invariant broken: after rev 4 (set /bank/acct/1=80:c2:0:f)"));
  CHECK(has(r, "sum 250 of 300"));
  CHECK_FALSE(has(r, "applied twice"));  // its other half is the rest of it, not a repeat
}

TEST_CASE("bank: a transfer whose two writes do not add up changes the sum", "[unit][fault]") {
  Run run = validRun();
  // It moved 30 out of account 0 and 40 into account 1 (what it wrote, and what the history has).
  BankTransfer& t1 = run.transfers[0];
  t1.toValue = "140:c1:0:t";
  run.history[4].value = t1.toValue;
  run.reads[1].files[a1].second = t1.toValue;
  auto r = run.check();
  CHECK_FALSE(r.ok);
  CHECK(has(r, "the invariant broken"));
  CHECK(has(r, "sum 310 of 300"));
}

TEST_CASE("bank: a read that is not the state at its rev is rejected", "[unit][fault]") {
  Run run = validRun();
  // The WALK at rev 4 has account 1 as it was before the first transfer: a torn read.
  run.reads[1].files[a1] = {1, "100:setup:1"};
  auto r = run.check();
  CHECK_FALSE(r.ok);
  CHECK(has(r, "read differs from the history at its rev: client 3 WALK at rev 4"));
  CHECK(has(r, "/bank/acct/1 read @1 100:setup:1, history @3 130:c1:0:t"));
  // A read of every account that missed one.
  Run missing = validRun();
  missing.reads[2].files.erase(a2);
  CHECK(has(missing.check(), "/bank/acct/2 not read"));
  // The "else" reply's gets are a read too.
  Run elseRead = validRun();
  elseRead.transfers[2].results[1] = {1, a2, "get", "100:setup:2"};
  CHECK(has(elseRead.check(), "TXN else of transfer #1 at rev 5"));
}

TEST_CASE("bank: a transfer applied twice is rejected", "[unit][fault]") {
  Run run = validRun();
  run.head = 10;
  for (const Change& c : writes(run.transfers[0], 9))
    run.history.push_back(c);
  auto r = run.check();
  CHECK_FALSE(r.ok);
  CHECK(has(r, "a transfer applied twice: client 1 transfer #0"));
  CHECK(has(r, "a value written twice: 70:c1:0:f at rev 3 and again at rev 9"));
  // One of unknown outcome may land once, not twice.
  Run unknown = validRun();
  unknown.head = 10;
  for (const Change& c : writes(unknown.transfers[4], 9))
    unknown.history.push_back(c);
  CHECK(has(unknown.check(), "a transfer applied twice: client 1 transfer #2"));
}

TEST_CASE("bank: writes of an else, failed, doomed or unrecorded transfer are rejected",
          "[unit][fault]") {
  // The "else" transfer's writes are in the history after all (say, a resent TXN landed).
  Run elseWrote = validRun();
  elseWrote.head = 10;
  BankTransfer& t3 = elseWrote.transfers[2];
  t3.fromRev = 7;  // so that its compares hold there: only its outcome is wrong
  t3.toRev = 7;
  for (const Change& c : writes(t3, 9))
    elseWrote.history.push_back(c);
  auto r = elseWrote.check();
  CHECK(has(r, "a transfer answered \"else\" wrote: client 1 transfer #1"));
  // The doomed transfer's writes landed.
  Run doomed = validRun();
  doomed.head = 10;
  for (const Change& c : writes(doomed.transfers[5], 9))
    doomed.history.push_back(c);
  r = doomed.check();
  CHECK(has(r, "a doomed transfer applied"));
  CHECK(has(r, "a transfer that failed wrote"));
  // A write nobody made.
  Run phantom = validRun();
  phantom.head = 10;
  phantom.history.push_back({9, a0, "set", "80:zz"});
  CHECK(has(phantom.check(), "a write no transfer made"));
  // A failed TXN's error must name the operation that failed.
  Run vague = validRun();
  vague.transfers[5].detail = "file is at rev 5, request has 0";
  CHECK(has(vague.check(), "does not name the operation"));
}

TEST_CASE("bank: transfers applied although a compare failed, or lost, are rejected",
          "[unit][fault]") {
  // The second transfer read account 1 at rev 1, before the first transfer wrote it at rev 3.
  Run stale = validRun();
  stale.transfers[1].fromRev = 1;
  CHECK(has(stale.check(), "a transfer applied although a compare failed: client 2 transfer #0"));
  // An "else" whose compares all held.
  Run held = validRun();
  held.transfers[2].fromRev = 3;
  held.transfers[2].toRev = 5;
  CHECK(has(held.check(), "else although every compare held"));
  // An acknowledged transfer the history does not have (nor anything after it).
  Run lost = validRun();
  lost.history.resize(3);
  lost.head = 3;
  lost.transfers = {lost.transfers[0]};
  lost.reads.clear();
  CHECK(has(lost.check(), "an acknowledged transfer lost: client 1 transfer #0"));
  // Nor may the history start with anything but every account created at one rev.
  Run setup = validRun();
  setup.history[2].rev = 2;
  CHECK(has(setup.check(), "setup"));
}

TEST_CASE("bank: reads and transfers must respect real time", "[unit][fault]") {
  // A TXN of reads that began after the rev-5 transfer was acknowledged, and read rev 4.
  Run run = validRun();
  run.reads.push_back(
      read(5, "TXN", 50, 55, 4,
           {{a0, {3, "70:c1:0:f"}}, {a1, {3, "130:c1:0:t"}}, {a2, {1, "100:setup:2"}}}));
  auto r = run.check();
  CHECK_FALSE(r.ok);
  CHECK(has(r,
            "real-time order: placed before an operation acknowledged before it began: client 5 "
            "TXN at rev 4"));
  // The same read at a past rev is no anomaly: it asked for that rev.
  Run past = validRun();
  past.reads.push_back(
      read(5, "WALK at rev", 50, 55, 4,
           {{a0, {3, "70:c1:0:f"}}, {a1, {3, "130:c1:0:t"}}, {a2, {1, "100:setup:2"}}}));
  CHECK(past.check().ok);
  // A write at or below the rev of a read answered before it began.
  Run write = validRun();
  write.reads[2].complete = 29;  // the TXN read at rev 5, answered before t2 (rev 5) began
  write.reads[2].invoke = 26;
  CHECK(has(write.check(), "client 2 transfer #0"));
}
