#include "tests/fault/bank.h"

#include <algorithm>
#include <random>
#include <thread>

namespace cairn::fault {

using wire::Err;
using wire::Status;

namespace {

wire::Request txnRequest(wire::Txn t) {
  wire::Request q;
  q.verb = wire::Verb::kTxn;
  q.txn = std::move(t);
  return q;
}

// A TXN of a get per path, as a read at the reply's rev.
wire::Txn gets(const std::vector<std::string>& paths) {
  wire::Txn t;
  for (const auto& p : paths)
    t.then.push_back(wire::TxnOp::get(p));
  return t;
}

// Whether a failed request may still have been applied. TIMEOUT says so. Without exactly-once,
// so may UNAVAILABLE, when the client library made it up for a TXN that left and got no answer
// (see bank.h); with it, the library answers TIMEOUT whenever an attempt may have been applied.
bool mayHaveApplied(const Status& s, bool exactlyOnce) {
  if (s.code() == Err::kTimeout) return true;
  if (exactlyOnce || s.code() != Err::kUnavailable) return false;
  const std::string& d = s.detail();
  return d.find("no reply from") != std::string::npos ||
         d.find("lost before the reply") != std::string::npos ||
         d.find("socket error") != std::string::npos;
}

std::vector<Change> resultsOf(const wire::Reply& r) {
  std::vector<Change> out;
  for (const auto& e : r.results.value_or(std::vector<wire::Entry>{}))
    out.push_back(Change{e.rev, e.path, e.op.value_or(""), e.value.value_or("")});
  return out;
}

void nap(std::mt19937_64& rng, int lo, int hi) {
  std::this_thread::sleep_for(
      std::chrono::milliseconds(lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo))));
}

}  // namespace

std::vector<std::string> bankAccounts(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i)
    v.push_back("/bank/acct/" + std::to_string(i));
  return v;
}

client::Result<std::int64_t> bankSetUp(client::Client& c, const BankOptions& o, int tries) {
  wire::Txn t;
  for (std::size_t i = 0; i < o.accounts.size(); ++i) {
    t.compares.push_back(wire::Compare::existsIs(o.accounts[i], false));
    t.then.push_back(wire::TxnOp::set(
        o.accounts[i], std::to_string(o.initial) + ":setup:" + std::to_string(i), 0));
  }
  Status last;
  for (int n = 0; n < tries; ++n) {
    auto r = c.call(txnRequest(t));
    if (r) {
      // "else": an earlier try that timed out created them. Either way the accounts exist; the
      // rev of the first is the setup's (no transfer has run yet).
      auto f = c.get(o.accounts[0]);
      if (f && f->rev > 0) return f->rev;
      last = f ? Status(Err::kOther, o.accounts[0] + " is absent after the setup") : f.status();
    } else {
      last = r.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a leader to be elected
  }
  return last;
}

void runBankTransfers(int id, client::Options co, const BankOptions& o, std::atomic<bool>& stop,
                      BankLog* out) {
  co.exactlyOnce = o.exactlyOnce;
  if (!o.exactlyOnce) co.attempts = 1;  // a TXN must not be sent twice (bank.h)
  client::Client c(co);
  std::mt19937_64 rng(o.seed * 4099 + static_cast<std::uint64_t>(id));
  const auto n = static_cast<std::uint64_t>(o.accounts.size());
  auto error = [&](const std::string& step, const Status& st) {
    ++out->errors[step + ": " + wire::errName(st.code())];
  };
  for (std::int64_t seq = 0; !stop; ++seq) {
    std::string from = o.accounts[rng() % n], to;
    do {
      to = o.accounts[rng() % n];
    } while (to == from);
    // The read: usually one TXN of two gets (both at one rev), now and then two GETs.
    std::map<std::string, BankFile> read;
    bool readOk = true;
    if (rng() % 4 != 0) {
      BankRead r;
      r.client = id;
      r.how = "TXN read of transfer #" + std::to_string(seq);
      r.every = false;
      r.invoke = o.now();
      auto g = c.call(txnRequest(gets({from, to})));
      r.complete = o.now();
      if (!g) {
        error("transfer read (TXN)", g.status());
        readOk = false;
      } else {
        r.rev = g->rev.value_or(0);
        for (const Change& ch : resultsOf(*g))
          r.files[ch.path] = {ch.rev, ch.value};
        read = r.files;
        out->reads.push_back(std::move(r));
      }
    } else {
      for (const std::string* p : {&from, &to}) {
        BankRead r;
        r.client = id;
        r.how = "GET of transfer #" + std::to_string(seq);
        r.every = false;
        r.invoke = o.now();
        auto g = c.get(*p);
        r.complete = o.now();
        if (!g) {
          error("transfer read (GET)", g.status());
          readOk = false;
          break;
        }
        r.rev = g->head;
        r.files[*p] = {g->rev, g->value};
        read[*p] = r.files[*p];
        out->reads.push_back(std::move(r));
      }
    }
    if (!readOk || read.size() != 2) {
      nap(rng, 50, 200);  // a fault is on
      continue;
    }
    std::int64_t bf = bankBalance(read[from].second), bt = bankBalance(read[to].second);
    if (bf < 0 || bt < 0) {  // the checker reports the read; nothing sensible to move
      ++out->errors["transfer read: a balance that is no number"];
      continue;
    }
    if (bf == 0) {  // move the other way
      std::swap(from, to);
      std::swap(bf, bt);
    }
    BankTransfer t;
    t.client = id;
    t.seq = seq;
    t.from = from;
    t.to = to;
    t.amount = bf == 0 ? 0 : 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(bf));
    t.fromRev = read[from].first;
    t.toRev = read[to].first;
    const std::string tag = ":c" + std::to_string(id) + ":" + std::to_string(seq);
    t.fromValue = std::to_string(bf - t.amount) + tag + ":f";
    t.toValue = std::to_string(bt + t.amount) + tag + ":t";
    t.doomed = !o.split && rng() % 10 == 0;
    Status st;
    t.invoke = o.now();
    if (o.split) {
      // The broken client: two writes, each compare-and-set on the rev read, claimed as one.
      auto w1 = c.set(from, t.fromValue, t.fromRev);
      auto w2 = w1 ? c.set(to, t.toValue, t.toRev) : w1;
      st = w2.status();
      if (w2) {
        t.succeeded = true;
        t.rev = *w2;
        t.results = {Change{*w2, from, "set", ""}, Change{*w2, to, "set", ""}};
      }
    } else {
      wire::Txn x;
      x.compares = {wire::Compare::revIs(from, t.fromRev), wire::Compare::revIs(to, t.toRev)};
      x.then = {wire::TxnOp::set(from, t.fromValue, -1),
                wire::TxnOp::set(to, t.toValue, t.doomed ? 0 : -1)};
      x.otherwise = {wire::TxnOp::get(from), wire::TxnOp::get(to)};
      auto r = c.call(txnRequest(std::move(x)));
      st = r.status();
      if (r) {
        t.succeeded = r->succeeded.value_or(false);
        t.rev = r->rev.value_or(0);
        t.results = resultsOf(*r);
      }
    }
    if (st.isOk()) {
      t.outcome = Outcome::kOk;
      t.complete = o.now();
    } else if (mayHaveApplied(st, o.exactlyOnce)) {
      t.outcome = Outcome::kUnknown;  // complete stays "never"
      error("transfer (unknown)", st);
    } else {
      t.outcome = Outcome::kFail;
      t.complete = o.now();
      t.err = wire::errName(st.code());
      t.detail = st.detail();
      if (!t.doomed) error("transfer", st);
    }
    out->transfers.push_back(std::move(t));
  }
}

void runBankReader(int id, client::Options co, const BankOptions& o, std::int64_t setupRev,
                   std::atomic<bool>& stop, BankLog* out) {
  co.exactlyOnce = o.exactlyOnce;
  client::Client c(co);
  std::mt19937_64 rng(o.seed * 7331 + static_cast<std::uint64_t>(id));
  std::int64_t lastHead = setupRev;
  for (int n = 0; !stop; ++n) {
    BankRead r;
    r.client = id;
    wire::Status st;
    r.invoke = o.now();
    switch (n % 3) {
      case 0: {  // every account at the head: linearizable
        r.how = "WALK";
        std::int64_t head = 0;
        auto w = c.walk("/bank/acct/*", std::nullopt, &head);
        st = w.status();
        if (w) {
          r.rev = head;
          for (const auto& e : *w)
            r.files[e.path] = {e.rev, e.value.value_or("")};
        }
        break;
      }
      case 1: {  // every account at a past rev: the history's state there, however long ago
        // (Every other one within the last 1000 revs: a node that restarted from a snapshot, or
        // installed one, answers TOO_LATE below it.)
        r.how = "WALK at rev";
        r.linearizable = false;
        const std::int64_t span =
            n % 2 ? lastHead - setupRev + 1 : std::min<std::int64_t>(lastHead - setupRev + 1, 1000);
        r.rev = lastHead - static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span));
        auto w = c.walk("/bank/acct/*", r.rev);
        st = w.status();
        if (w) {
          for (const auto& e : *w)
            r.files[e.path] = {e.rev, e.value.value_or("")};
        }
        break;
      }
      default: {  // a TXN of a get per account: at the rev it was applied at
        r.how = "TXN";
        auto t = c.call(txnRequest(gets(o.accounts)));
        st = t.status();
        if (t) {
          r.rev = t->rev.value_or(0);
          for (const Change& ch : resultsOf(*t))
            r.files[ch.path] = {ch.rev, ch.value};
        }
        break;
      }
    }
    r.complete = o.now();
    if (!st.isOk()) {
      ++out->errors[r.how + ": " + wire::errName(st.code())];
      nap(rng, 50, 200);  // a fault is on
      continue;
    }
    if (r.linearizable) lastHead = std::max(lastHead, r.rev);
    out->reads.push_back(std::move(r));
    nap(rng, 0, 20);
  }
}

}  // namespace cairn::fault
