#pragma once
// The bank workload's checker: a dedicated serializability check with real-time order, on the
// store's authoritative history of /bank/** (recorder.h) and what the transfer clients and
// readers recorded. It does not extend the per-key linearizability search of checker.h to
// several keys: the history already fixes one total order (the revs), so instead of searching
// for an order it replays that one and checks that every operation fits it.
//
// The workload (harness.cc, bank.h): accounts /bank/acct/<i> created together at one rev (the
// setup, the first rev of /bank/**) with a fixed total. A transfer reads two accounts, then sends
// one TXN whose compares are both accounts' revs as read and whose "then" sets both new balances
// (from first, then to), "else" gets both. Every value written is unique in the run
// ("<balance>:<writer>"), so each change in the history names the transfer that made it.
// Readers read every account at one rev (WALK of the head or of a past rev, a TXN of gets), and
// each transfer's own read is recorded as a read of two accounts.
//
// The history is replayed rev by rev, and:
// 1. Invariant: after the setup, at every rev, every account exists, none is negative, and the
//    balances sum to the total.
// 2. Atomicity, exactly once: every rev after the setup holds exactly one transfer's two writes,
//    in operation order, and nothing else; its compares held on the state just before it (each
//    account at the rev the transfer read). An acknowledged transfer whose "then" ran is at its
//    reply's rev; one answered "else" or failed definitely wrote nothing (an "else" reply's gets
//    must also show a compare that did not hold, at the reply's rev); one of unknown outcome
//    appears at most once. No value is written at two revs; none is written by no transfer.
// 3. Reads: each read equals the replayed state at its rev (every account it read, with its rev
//    and value; a read of every account has no more and no fewer).
// 4. Real-time order: an operation invoked after another was acknowledged is at a rev no lower
//    (a write: strictly higher) than that one's. Operations here are the transfers (a write at
//    its rev; an "else" reply reads the head it was applied at) and the reads of the head (WALK
//    without rev, TXN, GET); a read at an explicit past rev is exempt.
// 1-3 make the history equivalent to the serial execution of its revs, each transfer at its rev
// and each read at its rev: serializability (and snapshot reads). 4 makes that serial order
// agree with real time: strict serializability, the multi-key counterpart of linearizability.

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/fault/checker.h"

namespace cairn::fault {

// A balance as written: "<balance>:<writer>", the writer's part unique in the run.
// -1 when the value does not start with a non-negative integer and ':'.
std::int64_t bankBalance(const std::string& value);

// One account as a read found it: the file's rev (0: absent) and value.
using BankFile = std::pair<std::int64_t, std::string>;

struct BankTransfer {
  int client = 0;
  std::int64_t seq = 0;
  std::string from, to;
  std::int64_t amount = 0;
  std::int64_t fromRev = 0, toRev = 0;  // the revs read: the compares
  std::string fromValue, toValue;       // what "then" writes
  // "then" cannot succeed (its second set is create-only on an account that exists): the TXN
  // must fail whole, naming that operation, or take "else".
  bool doomed = false;
  std::int64_t invoke = 0;
  std::int64_t complete = std::numeric_limits<std::int64_t>::max();  // unknown: never
  Outcome outcome = Outcome::kUnknown;
  std::string err, detail;      // kFail
  bool succeeded = false;       // kOk: "then" ran
  std::int64_t rev = 0;         // kOk: the reply's rev (the writes'; "else": the head it read)
  std::vector<Change> results;  // kOk: one per operation, op "set" or "get" (value for gets)
};

struct BankRead {
  int client = 0;
  std::string how;           // for reports: "WALK", "WALK at rev", "TXN", "GET", ...
  bool linearizable = true;  // a read of the head: in the real-time order check
  bool every = true;         // it read every account (else only those in `files`)
  std::int64_t invoke = 0, complete = 0;
  std::int64_t rev = 0;                   // the rev it read at
  std::map<std::string, BankFile> files;  // path -> (rev, value); absent files omitted if every
};

struct BankResult {
  bool ok = true;
  std::size_t anomalies = 0;
  std::size_t transfersThen = 0, transfersElse = 0, transfersFailed = 0, transfersUnknown = 0;
  std::size_t unknownApplied = 0;  // of the unknown, those the history holds
  std::size_t readsChecked = 0;
  std::size_t revsReplayed = 0;
  std::string report;  // the anomalies (the first few of each kind), one per line
};

// `history`: every change of /bank/** from rev 1 through `head`; `accounts`: the account paths;
// `total`: their sum. Reads above `head` cannot be checked and are left out (not counted).
BankResult checkBank(const std::vector<Change>& history, std::int64_t head,
                     const std::vector<std::string>& accounts, std::int64_t total,
                     const std::vector<BankTransfer>& transfers,
                     const std::vector<BankRead>& reads);

}  // namespace cairn::fault
