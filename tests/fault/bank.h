#pragma once
// The fault harness's bank workload (checked by bank_checker.h): accounts /bank/acct/<i> created
// together by one TXN, transfer clients moving money between two of them by TXNs with compares,
// readers summing every account at one rev.
//
// A transfer reads its two accounts (a TXN of two gets, or now and then two GETs), then sends
// one TXN: compares both accounts' revs with those read; "then" sets both new balances (from
// first, then to; the amount at most the from balance, so none goes negative); "else" gets both.
// One transfer in ten is doomed: its second set is create-only on an account that exists, so
// "then" cannot succeed and the TXN must fail whole (REV_MISMATCH naming then[1]) or take "else".
// Values are "<balance>:c<client>:<seq>:f|t", unique in the run, so the history names each
// write's transfer. A reader loops over a WALK of /bank/acct/* at the head, a WALK at a past rev
// (between the setup and the last head it saw), and a TXN of a get per account.
//
// TXNs are sent with Client::call. With exactly-once writes (BankOptions::exactlyOnce, the
// default) a transfer's TXN carries the client's session and is resent by the library until it
// gets a definite answer or its write deadline passes: TIMEOUT is an unknown outcome, and every
// other error (UNAVAILABLE included: the library says so only when no attempt may have been
// applied) a definite one, checked as such. Without them the transfer clients keep the setting
// from before the library knew a TXN that writes is a write: attempts = 1, and a TXN that left
// without an answer ("no reply from", a lost connection, UNAVAILABLE from the client, not from a
// node) has an unknown outcome, like a TIMEOUT.
//
// --debug-bank-split sends each transfer as two compare-and-set SETs instead of one TXN, and
// records it as if it were one: a broken client whose torn transfers the checker must catch.
//
// Thread: each run* function is one thread's loop, with its own Client, until `stop`.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bindings/cpp/client.h"
#include "tests/fault/bank_checker.h"

namespace cairn::fault {

struct BankOptions {
  std::vector<std::string> accounts;  // the account paths
  std::int64_t initial = 100;         // each account's balance at the setup
  bool split = false;                 // --debug-bank-split
  bool exactlyOnce = true;            // the clients' Options::exactlyOnce (see above)
  std::uint64_t seed = 1;
  std::function<std::int64_t()> now;  // ns on the harness's one clock
};

std::vector<std::string> bankAccounts(int n);  // /bank/acct/0 .. n-1

// What one thread recorded; errors that faults cause are counted ("step: ERR"), not anomalies.
struct BankLog {
  std::vector<BankTransfer> transfers;
  std::vector<BankRead> reads;
  std::map<std::string, int> errors;
};

// Creates every account in one TXN (if none exists yet: a retry after an unknown outcome finds
// them), and returns the rev they were created at. Fails after `tries` errors in a row.
client::Result<std::int64_t> bankSetUp(client::Client& c, const BankOptions& o, int tries);

void runBankTransfers(int id, client::Options co, const BankOptions& o, std::atomic<bool>& stop,
                      BankLog* out);
void runBankReader(int id, client::Options co, const BankOptions& o, std::int64_t setupRev,
                   std::atomic<bool>& stop, BankLog* out);

}  // namespace cairn::fault
