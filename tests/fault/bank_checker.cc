#include "tests/fault/bank_checker.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_map>

namespace cairn::fault {

std::int64_t bankBalance(const std::string& value) {
  const std::size_t colon = value.find(':');
  if (colon == 0 || colon == std::string::npos || colon > 18) return -1;
  std::int64_t b = 0;
  for (std::size_t i = 0; i < colon; ++i) {
    if (value[i] < '0' || value[i] > '9') return -1;
    b = b * 10 + (value[i] - '0');
  }
  return b;
}

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

std::string us(std::int64_t ns) {
  return ns == kNever ? std::string("never") : std::to_string(ns / 1000) + " us";
}

std::string showTransfer(const BankTransfer& t) {
  std::ostringstream o;
  o << "client " << t.client << " transfer #" << t.seq << " (" << t.amount << " from " << t.from
    << "@" << t.fromRev << " to " << t.to << "@" << t.toRev << (t.doomed ? ", doomed" : "")
    << ") -> ";
  switch (t.outcome) {
    case Outcome::kOk:
      o << (t.succeeded ? "then" : "else") << " at rev " << t.rev;
      break;
    case Outcome::kFail:
      o << t.err;
      break;
    case Outcome::kUnknown:
      o << "unknown";
      break;
  }
  o << " [" << us(t.invoke) << ", " << us(t.complete) << "]";
  return o.str();
}

std::string showRead(const BankRead& r) {
  return "client " + std::to_string(r.client) + " " + r.how + " at rev " + std::to_string(r.rev) +
         " [" + us(r.invoke) + ", " + us(r.complete) + "]";
}

std::string showChange(const Change& c) {
  return c.op + " " + c.path + (c.op == "set" ? "=" + c.value : "");
}

std::string showFile(const BankFile& f) {
  return f.first == 0 ? std::string("absent") : "@" + std::to_string(f.first) + " " + f.second;
}

// The anomalies, counted by kind; the first few of each are shown.
class Anomalies {
 public:
  void add(const std::string& kind, const std::string& what) {
    ++count_;
    if (++byKind_[kind] <= 5) o_ << kind << ": " << what << "\n";
  }
  std::size_t count() const { return count_; }
  std::string report() const {
    std::string s = o_.str();
    for (const auto& [kind, n] : byKind_) {
      if (n > 5) s += "  (" + std::to_string(n - 5) + " more " + kind + ")\n";
    }
    return s;
  }

 private:
  std::ostringstream o_;
  std::map<std::string, int> byKind_;
  std::size_t count_ = 0;
};

// What is checked against the state at a rev: a read, or an "else" reply (its gets).
struct Probe {
  std::int64_t rev;
  const BankRead* read;          // or
  const BankTransfer* transfer;  // an "else" reply
};

}  // namespace

BankResult checkBank(const std::vector<Change>& history, std::int64_t head,
                     const std::vector<std::string>& accounts, std::int64_t total,
                     const std::vector<BankTransfer>& transfers,
                     const std::vector<BankRead>& reads) {
  BankResult res;
  Anomalies bad;
  const std::set<std::string> isAccount(accounts.begin(), accounts.end());

  // Who wrote each value. Values are unique per write in a run; two transfers with one value
  // would make the history ambiguous: a harness bug, reported as such.
  std::unordered_map<std::string, std::size_t> owner;
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const BankTransfer& t = transfers[i];
    for (const std::string* v : {&t.fromValue, &t.toValue}) {
      if (!owner.emplace(*v, i).second) {
        bad.add("harness", "two transfers write " + *v + ": " + showTransfer(t) + "; and " +
                               showTransfer(transfers[owner[*v]]));
      }
    }
    switch (t.outcome) {
      case Outcome::kOk:
        ++(t.succeeded ? res.transfersThen : res.transfersElse);
        break;
      case Outcome::kFail:
        ++res.transfersFailed;
        break;
      case Outcome::kUnknown:
        ++res.transfersUnknown;
        break;
    }
  }

  // The probes, by rev: each is checked against the state once every rev up to its own applied.
  std::vector<Probe> probes;
  for (const BankRead& r : reads) {
    if (r.rev <= head) probes.push_back({r.rev, &r, nullptr});
  }
  for (const BankTransfer& t : transfers) {
    if (t.outcome == Outcome::kOk && !t.succeeded && t.rev <= head)
      probes.push_back({t.rev, nullptr, &t});
  }
  std::stable_sort(probes.begin(), probes.end(),
                   [](const Probe& a, const Probe& b) { return a.rev < b.rev; });

  std::map<std::string, BankFile> state;  // the replayed accounts (and anything else written)
  auto fileAt = [&](const std::string& path) {
    auto it = state.find(path);
    return it == state.end() ? BankFile{0, ""} : it->second;
  };
  auto checkRead = [&](const BankRead& r) {
    ++res.readsChecked;
    std::string diff;
    for (const auto& [path, f] : r.files) {
      const BankFile want = fileAt(path);
      if (f != want)
        diff += " " + path + " read " + showFile(f) + ", history " + showFile(want) + ";";
    }
    if (r.every) {
      for (const auto& [path, f] : state) {
        if (!r.files.count(path)) diff += " " + path + " not read, history " + showFile(f) + ";";
      }
    }
    if (!diff.empty())
      bad.add("read differs from the history at its rev", showRead(r) + ":" + diff);
  };
  auto checkElse = [&](const BankTransfer& t) {
    // Its gets are a read of both accounts at the reply's rev, where a compare did not hold.
    BankRead r;
    r.client = t.client;
    r.how = "TXN else of transfer #" + std::to_string(t.seq);
    r.every = false;
    r.invoke = t.invoke;
    r.complete = t.complete;
    r.rev = t.rev;
    for (const Change& c : t.results)
      r.files[c.path] = {c.rev, c.value};
    if (t.results.size() != 2 || t.results[0].op != "get" || t.results[0].path != t.from ||
        t.results[1].op != "get" || t.results[1].path != t.to) {
      bad.add("reply",
              "\"else\" should be gets of " + t.from + " and " + t.to + ": " + showTransfer(t));
    }
    checkRead(r);
    if (fileAt(t.from).first == t.fromRev && fileAt(t.to).first == t.toRev) {
      bad.add("else although every compare held",
              showTransfer(t) + ": at rev " + std::to_string(t.rev) + " " + t.from + " is " +
                  showFile(fileAt(t.from)) + ", " + t.to + " is " + showFile(fileAt(t.to)));
    }
  };
  std::size_t nextProbe = 0;
  auto probeBelow = [&](std::int64_t rev) {  // every probe at a rev < `rev`
    for (; nextProbe < probes.size() && probes[nextProbe].rev < rev; ++nextProbe) {
      const Probe& p = probes[nextProbe];
      if (p.read) {
        checkRead(*p.read);
      } else {
        checkElse(*p.transfer);
      }
    }
  };

  std::vector<std::int64_t> appliedAt(transfers.size(), 0);
  std::unordered_map<std::string, std::int64_t> writtenAt;  // value -> the rev that wrote it
  bool setUp = false;
  for (std::size_t b = 0; b < history.size() && history[b].rev <= head;) {
    const std::int64_t rev = history[b].rev;
    std::size_t e = b;
    while (e < history.size() && history[e].rev == rev)
      ++e;
    const std::vector<Change> changes(history.begin() + static_cast<std::ptrdiff_t>(b),
                                      history.begin() + static_cast<std::ptrdiff_t>(e));
    b = e;
    probeBelow(rev);
    ++res.revsReplayed;
    std::string all;
    for (const Change& c : changes)
      all += (all.empty() ? "" : ", ") + showChange(c);
    const std::string at = "rev " + std::to_string(rev) + " (" + all + ")";

    bool again = false;  // a value written at an earlier rev is written again here
    for (const Change& c : changes) {
      if (c.op != "set" || !isAccount.count(c.path)) {
        bad.add("a change that is no account's balance", at);
      } else if (auto [it, fresh] = writtenAt.emplace(c.value, rev); !fresh) {
        again = true;
        bad.add("a value written twice",
                c.value + " at rev " + std::to_string(it->second) + " and again at " + at);
      }
    }
    if (!setUp) {
      // The setup: every account created, at one rev.
      std::set<std::string> created;
      for (const Change& c : changes)
        if (c.op == "set") created.insert(c.path);
      if (created != isAccount || changes.size() != accounts.size())
        bad.add("setup", "the first rev of the history is not every account created once: " + at);
      setUp = true;
    } else {
      std::set<std::size_t> by;
      for (const Change& c : changes) {
        auto it = owner.find(c.value);
        if (it == owner.end()) {
          bad.add("a write no transfer made", at);
        } else {
          by.insert(it->second);
        }
      }
      if (by.size() > 1) {
        std::string who;
        for (std::size_t i : by)
          who += "; " + showTransfer(transfers[i]);
        bad.add("one rev holds the writes of several transfers", at + who);
      }
      for (std::size_t i : by) {
        const BankTransfer& t = transfers[i];
        const std::vector<Change> want = {{rev, t.from, "set", t.fromValue},
                                          {rev, t.to, "set", t.toValue}};
        if (by.size() == 1 && changes != want) {
          bad.add("torn transfer: a rev holds part of a transfer, or more",
                  at + " but " + showTransfer(t) + " writes " + showChange(want[0]) + ", " +
                      showChange(want[1]));
        }
        if (appliedAt[i] != 0) {
          // Its writes again, or the rest of a torn transfer (reported above).
          if (again) {
            bad.add("a transfer applied twice",
                    showTransfer(t) + " at rev " + std::to_string(appliedAt[i]) + " and " + at);
          }
          continue;
        }
        appliedAt[i] = rev;
        if (fileAt(t.from).first != t.fromRev || fileAt(t.to).first != t.toRev) {
          bad.add("a transfer applied although a compare failed",
                  showTransfer(t) + " at " + at + ", but before it " + t.from + " was " +
                      showFile(fileAt(t.from)) + " and " + t.to + " was " + showFile(fileAt(t.to)));
        }
        if (t.doomed) bad.add("a doomed transfer applied", showTransfer(t) + " at " + at);
        if (t.outcome == Outcome::kOk && t.succeeded && t.rev != rev) {
          bad.add("an acknowledged transfer at another rev than its reply's",
                  showTransfer(t) + " is at " + at);
        } else if (t.outcome == Outcome::kOk && !t.succeeded) {
          bad.add("a transfer answered \"else\" wrote", showTransfer(t) + " is at " + at);
        } else if (t.outcome == Outcome::kFail) {
          bad.add("a transfer that failed wrote", showTransfer(t) + " is at " + at);
        } else if (t.outcome == Outcome::kUnknown) {
          ++res.unknownApplied;
        }
      }
    }
    for (const Change& c : changes) {
      if (c.op == "set") {
        state[c.path] = {c.rev, c.value};
      } else {
        state.erase(c.path);
      }
    }
    // The invariant, on the state this rev left.
    std::int64_t sum = 0;
    std::string balances, wrong;
    for (const std::string& a : accounts) {
      auto it = state.find(a);
      const std::int64_t v = it == state.end() ? -1 : bankBalance(it->second.second);
      if (it == state.end()) {
        wrong += " " + a + " absent;";
      } else if (v < 0) {
        wrong += " " + a + " is " + it->second.second + ";";
      } else {
        sum += v;
      }
      balances += " " + (it == state.end() ? std::string("-") : std::to_string(v));
    }
    if (sum != total || !wrong.empty()) {
      bad.add("the invariant broken", "after " + at + " the balances are" + balances + ", sum " +
                                          std::to_string(sum) + " of " + std::to_string(total) +
                                          (wrong.empty() ? "" : ";" + wrong));
    }
  }
  probeBelow(head + 1);

  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const BankTransfer& t = transfers[i];
    if (t.outcome == Outcome::kOk && t.succeeded) {
      if (appliedAt[i] == 0) bad.add("an acknowledged transfer lost", showTransfer(t));
      const std::vector<std::pair<std::string, std::string>> want = {{"set", t.from},
                                                                     {"set", t.to}};
      std::vector<std::pair<std::string, std::string>> got;
      bool atRev = true;
      for (const Change& c : t.results) {
        got.emplace_back(c.op, c.path);
        atRev = atRev && c.rev == t.rev;
      }
      if (got != want || !atRev)
        bad.add("reply",
                "\"then\" should be sets of both accounts at the reply's rev: " + showTransfer(t));
      if (t.doomed) bad.add("a doomed transfer acknowledged", showTransfer(t));
    }
    if (t.doomed && t.outcome == Outcome::kFail && t.err == "REV_MISMATCH" &&
        t.detail.find("then[1]") == std::string::npos) {
      bad.add("a failed TXN's error does not name the operation",
              showTransfer(t) + ": \"" + t.detail + "\"");
    }
  }

  // Real-time order. Each operation with a place in the serial order: its rev, whether it wrote.
  struct Placed {
    std::int64_t invoke, complete, rev;
    bool write;
    std::string what;
  };
  std::vector<Placed> placed;
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const BankTransfer& t = transfers[i];
    if (t.outcome == Outcome::kOk) {
      placed.push_back({t.invoke, t.complete, t.rev, t.succeeded, showTransfer(t)});
    } else if (t.outcome == Outcome::kUnknown && appliedAt[i] != 0) {  // never a predecessor
      placed.push_back({t.invoke, kNever, appliedAt[i], true,
                        showTransfer(t) + ", applied at rev " + std::to_string(appliedAt[i])});
    }
  }
  for (const BankRead& r : reads) {
    if (r.linearizable) placed.push_back({r.invoke, r.complete, r.rev, false, showRead(r)});
  }
  std::vector<const Placed*> byComplete, byInvoke;
  for (const Placed& p : placed) {
    byInvoke.push_back(&p);
    if (p.complete != kNever) byComplete.push_back(&p);
  }
  std::sort(byComplete.begin(), byComplete.end(),
            [](const Placed* a, const Placed* b) { return a->complete < b->complete; });
  std::sort(byInvoke.begin(), byInvoke.end(),
            [](const Placed* a, const Placed* b) { return a->invoke < b->invoke; });
  const Placed* highest = nullptr;  // of the operations acknowledged so far, the one at the top
  std::size_t k = 0;
  for (const Placed* p : byInvoke) {
    for (; k < byComplete.size() && byComplete[k]->complete < p->invoke; ++k) {
      if (!highest || byComplete[k]->rev > highest->rev) highest = byComplete[k];
    }
    if (highest && (p->rev < highest->rev || (p->write && p->rev == highest->rev))) {
      bad.add("real-time order: placed before an operation acknowledged before it began",
              p->what + " began after " + highest->what + " was acknowledged");
    }
  }

  res.anomalies = bad.count();
  res.ok = res.anomalies == 0;
  res.report = bad.report();
  return res;
}

}  // namespace cairn::fault
