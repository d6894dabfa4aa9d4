#include "tests/fault/checker.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace cairn::fault {

namespace {

// One Cairn file. `rev` is known unless the file was last written by an operation whose outcome
// (and so whose rev) nobody observed.
struct State {
  bool exists = false;
  bool revKnown = true;
  std::int64_t rev = 0;  // the file's rev (0 when absent)
  std::string value;
  std::string key() const {
    return std::string(exists ? "E" : "-") + (revKnown ? std::to_string(rev) : "?") + ":" + value;
  }
};

// Whether compare-and-set with `cond` passes against the state: 1 yes, 0 no, -1 cannot tell.
int casPasses(const State& s, std::int64_t cond) {
  if (cond == -1) return 1;
  if (!s.exists) return cond >= 0 ? 1 : 0;
  if (cond == 0) return 0;  // an existing file is at rev >= 1
  if (!s.revKnown) return -1;
  return cond >= s.rev ? 1 : 0;
}

// The model: applies op to s; false if op cannot happen in state s.
bool step(const Op& op, const State& s, State* next) {
  *next = s;
  const bool ok = op.outcome == Outcome::kOk;
  const bool unknown = op.outcome == Outcome::kUnknown;
  switch (op.kind) {
    case OpKind::kGet:
      if (op.rev == 0) return !s.exists;
      if (!s.exists || s.value != op.got || (s.revKnown && s.rev != op.rev)) return false;
      next->revKnown = true;
      next->rev = op.rev;
      return true;
    case OpKind::kSet: {
      const int pass = casPasses(s, op.cond);
      if (ok || unknown) {  // linearized = it took effect
        if (pass == 0) return false;
        if (op.rev > 0 && s.revKnown && s.exists && op.rev <= s.rev) return false;
        next->exists = true;
        next->value = op.value;
        next->revKnown = op.rev > 0;
        next->rev = op.rev;
        return true;
      }
      return op.err == "REV_MISMATCH" && pass != 1;
    }
    case OpKind::kRev:
      return true;  // never placed: relevant() leaves it out
    case OpKind::kDel: {
      if (ok || unknown) {
        if (!s.exists || casPasses(s, op.cond) == 0) return false;
        next->exists = false;
        next->revKnown = true;
        next->rev = 0;
        next->value.clear();
        return true;
      }
      if (op.err == "NOENT") return !s.exists;
      return op.err == "REV_MISMATCH" && s.exists && casPasses(s, op.cond) != 1;
    }
  }
  return false;
}

// An operation the model has a say in: reads that succeeded, writes that succeeded, failed in
// the model's own way, or may have.
bool relevant(const Op& op) {
  if (op.kind == OpKind::kRev) return false;  // a global property: checkRevs
  if (op.outcome == Outcome::kOk) return true;
  if (op.kind == OpKind::kGet) return false;  // a read without a result constrains nothing
  if (op.outcome == Outcome::kUnknown) return true;
  return op.err == "REV_MISMATCH" || op.err == "NOENT";
}

std::string describe(const Op& op) {
  std::ostringstream o;
  o << "client " << op.client << " ";
  switch (op.kind) {
    case OpKind::kGet:
      o << "GET " << op.key;
      break;
    case OpKind::kSet:
      o << "SET " << op.key << "=" << op.value << " cond " << op.cond;
      break;
    case OpKind::kDel:
      o << "DEL " << op.key << " cond " << op.cond;
      break;
    case OpKind::kRev:
      o << "REV";
      break;
  }
  o << " -> ";
  if (op.outcome == Outcome::kUnknown) {
    o << "unknown";
  } else if (op.outcome == Outcome::kFail) {
    o << op.err;
  } else if (op.kind == OpKind::kRev) {
    o << "head " << op.rev;
  } else if (op.kind == OpKind::kGet) {
    o << (op.rev == 0 ? std::string("absent") : "\"" + op.got + "\" rev " + std::to_string(op.rev));
  } else {
    o << "ok rev " << op.rev;
  }
  o << "  [" << op.invoke / 1000 << " us, ";
  if (op.complete == std::numeric_limits<std::int64_t>::max()) {
    o << "never]";
  } else {
    o << op.complete / 1000 << " us]";
  }
  return o.str();
}

struct Node {
  int op = -1;
  bool call = true;
  Node* match = nullptr;  // a call's return node (null: the outcome is unknown)
  Node* prev = nullptr;
  Node* next = nullptr;
};

void lift(Node* call) {
  call->prev->next = call->next;
  if (call->next) call->next->prev = call->prev;
  if (Node* r = call->match) {
    r->prev->next = r->next;
    if (r->next) r->next->prev = r->prev;
  }
}

void unlift(Node* call) {
  if (Node* r = call->match) {
    r->prev->next = r;
    if (r->next) r->next->prev = r;
  }
  call->prev->next = call;
  if (call->next) call->next->prev = call;
}

// Wing & Gong / Lowe over one key's operations.
bool checkKey(const std::vector<Op>& ops, std::string* report) {
  const std::size_t n = ops.size();
  struct Event {
    std::int64_t t;
    bool call;
    int op;
  };
  std::vector<Event> evs;
  for (std::size_t i = 0; i < n; ++i) {
    evs.push_back({ops[i].invoke, true, static_cast<int>(i)});
    if (ops[i].outcome != Outcome::kUnknown) {
      evs.push_back({ops[i].complete, false, static_cast<int>(i)});
    }
  }
  // At equal times calls come first: the operations count as concurrent (the lenient reading).
  std::sort(evs.begin(), evs.end(), [](const Event& a, const Event& b) {
    if (a.t != b.t) return a.t < b.t;
    return a.call && !b.call;
  });
  std::vector<Node> nodes(evs.size() + 1);
  std::vector<Node*> callOf(n, nullptr), retOf(n, nullptr);
  Node* head = &nodes[0];
  Node* prev = head;
  for (std::size_t i = 0; i < evs.size(); ++i) {
    Node* x = &nodes[i + 1];
    x->op = evs[i].op;
    x->call = evs[i].call;
    x->prev = prev;
    prev->next = x;
    prev = x;
    (x->call ? callOf : retOf)[static_cast<std::size_t>(x->op)] = x;
  }
  for (std::size_t i = 0; i < n; ++i)
    callOf[i]->match = retOf[i];

  std::size_t returnsLeft = 0;
  for (std::size_t i = 0; i < n; ++i)
    returnsLeft += retOf[i] ? 1 : 0;
  // The set of operations linearized so far, as a 128-bit Zobrist hash (XOR of a random pair per
  // operation): O(1) per step however long the history. A collision could only make the search
  // skip a branch — a false alarm, never a missed anomaly — at odds of about 2^-128 per pair.
  std::vector<std::uint64_t> z1(n), z2(n);
  std::uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto mix = [&seed] {
    seed += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  for (std::size_t i = 0; i < n; ++i) {
    z1[i] = mix();
    z2[i] = mix();
  }
  std::uint64_t h1 = 0, h2 = 0;
  std::unordered_set<std::string> cache;
  auto cacheKey = [&](const State& s, std::size_t op) {
    std::string k(16, '\0');
    const std::uint64_t a = h1 ^ z1[op], b = h2 ^ z2[op];
    std::memcpy(k.data(), &a, 8);
    std::memcpy(k.data() + 8, &b, 8);
    return k + s.key();
  };
  struct Frame {
    Node* call;
    State before;
  };
  std::vector<Frame> stack;
  State state;
  // For the report: the deepest partial order found, and the operation that could not follow it.
  std::size_t deepest = 0;
  int stuck = -1;
  std::vector<int> deepestOrder;
  State deepestState;

  Node* entry = head->next;
  while (returnsLeft > 0) {
    if (entry == nullptr) break;  // only unknown operations are left: nothing depends on them
    if (entry->call) {
      const Op& op = ops[static_cast<std::size_t>(entry->op)];
      State next;
      if (step(op, state, &next)) {
        const std::size_t i = static_cast<std::size_t>(entry->op);
        if (cache.insert(cacheKey(next, i)).second) {
          h1 ^= z1[i];
          h2 ^= z2[i];
          stack.push_back({entry, state});
          state = next;
          if (entry->match) --returnsLeft;
          lift(entry);
          entry = head->next;
          continue;
        }
      }
      entry = entry->next;
      continue;
    }
    // A return whose call is not in the order yet: the order so far cannot be extended.
    if (stack.size() >= deepest) {
      deepest = stack.size();
      stuck = entry->op;
      deepestOrder.clear();
      for (const auto& f : stack)
        deepestOrder.push_back(f.call->op);
      deepestState = state;
    }
    if (stack.empty()) break;
    Frame f = stack.back();
    stack.pop_back();
    state = f.before;
    const std::size_t op = static_cast<std::size_t>(f.call->op);
    h1 ^= z1[op];
    h2 ^= z2[op];
    unlift(f.call);
    if (f.call->match) ++returnsLeft;
    entry = f.call->next;
  }
  if (returnsLeft == 0) return true;

  // The failing window: the operation that could not be placed and every operation overlapping
  // it in time, after the longest order the search found.
  std::ostringstream o;
  const Op& x = ops[static_cast<std::size_t>(stuck)];
  o << "key " << x.key << ": no linearization places\n  " << describe(x) << "\n";
  o << "after the longest order found (" << deepest << " of " << n << " operations), which ends\n";
  const std::size_t show = std::min<std::size_t>(deepestOrder.size(), 8);
  for (std::size_t i = deepestOrder.size() - show; i < deepestOrder.size(); ++i)
    o << "    " << describe(ops[static_cast<std::size_t>(deepestOrder[i])]) << "\n";
  o << "  with the file " << (deepestState.exists ? "= \"" + deepestState.value + "\"" : "absent")
    << (deepestState.revKnown ? " at rev " + std::to_string(deepestState.rev) : "") << "\n";
  o << "operations overlapping it in time:\n";
  for (std::size_t i = 0; i < n; ++i) {
    if (static_cast<int>(i) == stuck) continue;
    if (ops[i].invoke <= x.complete && ops[i].complete >= x.invoke) {
      o << "    " << describe(ops[i]) << "\n";
    }
  }
  *report = o.str();
  return false;
}

}  // namespace

LinearizabilityResult checkLinearizable(const std::vector<Op>& history) {
  // A write whose outcome is unknown but whose value some read returned did take effect, at the
  // rev that read reports (values are unique per write).
  std::unordered_map<std::string, std::int64_t> seenRev;
  for (const auto& op : history) {
    if (op.kind == OpKind::kGet && op.outcome == Outcome::kOk && op.rev > 0) {
      seenRev[op.key + '\0' + op.got] = op.rev;
    }
  }
  std::map<std::string, std::vector<Op>> byKey;  // each in invocation order
  for (Op op : history) {
    if (!relevant(op)) continue;
    if (op.kind == OpKind::kSet && op.outcome == Outcome::kUnknown) {
      auto it = seenRev.find(op.key + '\0' + op.value);
      if (it != seenRev.end()) op.rev = it->second;
    }
    byKey[op.key].push_back(std::move(op));
  }
  LinearizabilityResult r;
  for (auto& [key, ops] : byKey) {
    std::stable_sort(ops.begin(), ops.end(),
                     [](const Op& a, const Op& b) { return a.invoke < b.invoke; });
    r.opsChecked += ops.size();
    std::string report;
    if (!checkKey(ops, &report)) {
      r.ok = false;
      r.key = key;
      r.report = report;
      return r;
    }
  }
  return r;
}

namespace {

std::string show(const Change& c) {
  return "rev " + std::to_string(c.rev) + " " + c.op + " " + c.path +
         (c.op == "set" ? "=" + c.value : "");
}

}  // namespace

FeedResult checkFeed(const std::vector<Change>& history, std::int64_t from,
                     const std::vector<Change>& got, std::int64_t complete, bool tooLate) {
  FeedResult r;
  std::vector<Change> want;
  for (const auto& c : history) {
    if (c.rev >= from && (tooLate || c.rev <= complete)) want.push_back(c);
  }
  // Change by change: a rev of several changes (a lease's end, a TXN) is several entries of both,
  // in the order they were applied.
  std::size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i])
    ++i;
  std::ostringstream o;
  if (i < got.size()) {
    o << "delivered change " << i << " is " << show(got[i]) << " but the history has "
      << (i < want.size() ? show(want[i]) : std::string("nothing more"));
    if (i > 0) o << " (after " << show(got[i - 1]) << ")";
    for (std::size_t k = 0; k < i; ++k) {
      if (got[k] == got[i]) o << "; it repeats delivered change " << k;
    }
    r.ok = false;
  } else if (!tooLate && i < want.size()) {
    o << "complete up to rev " << complete << " but missing " << show(want[i])
      << (i > 0 ? " (after " + show(got[i - 1]) + ")" : std::string());
    r.ok = false;
  } else if (tooLate && i > 0 && i < want.size() && want[i].rev == got[i - 1].rev) {
    // Ended early, but in the middle of a rev: a rev is delivered whole or not at all.
    o << "ended with TOO_LATE after delivering part of rev " << got[i - 1].rev << ": missing "
      << show(want[i]) << " (after " << show(got[i - 1]) << ")";
    r.ok = false;
  }
  r.report = o.str();
  return r;
}

FeedResult checkRevs(const std::vector<Op>& history) {
  std::vector<const Op*> writes, revs;
  for (const auto& op : history) {
    if (op.outcome != Outcome::kOk) continue;
    if (op.kind == OpKind::kRev) revs.push_back(&op);
    if (op.kind == OpKind::kSet || op.kind == OpKind::kDel) writes.push_back(&op);
  }
  std::sort(writes.begin(), writes.end(),
            [](const Op* a, const Op* b) { return a->complete < b->complete; });
  std::sort(revs.begin(), revs.end(),
            [](const Op* a, const Op* b) { return a->invoke < b->invoke; });
  FeedResult r;
  std::ostringstream o;
  std::size_t w = 0;
  const Op* highest = nullptr;  // the acknowledged write with the highest rev so far
  int shown = 0;
  for (const Op* rv : revs) {
    for (; w < writes.size() && writes[w]->complete < rv->invoke; ++w) {
      if (!highest || writes[w]->rev > highest->rev) highest = writes[w];
    }
    if (highest && rv->rev < highest->rev) {
      r.ok = false;
      if (shown++ < 5) {
        o << "stale REV: " << describe(*rv) << " after " << describe(*highest)
          << " was acknowledged\n";
      }
    }
  }
  r.report = o.str();
  return r;
}

FeedResult checkWrites(const std::vector<Change>& history, const std::vector<Op>& ops) {
  FeedResult r;
  std::unordered_map<std::int64_t, const Change*> at;
  for (const auto& c : history)
    at[c.rev] = &c;
  std::unordered_set<std::string> written;
  std::ostringstream o;
  for (const auto& op : ops) {
    if (op.kind == OpKind::kSet) written.insert(op.key + '\0' + op.value);
    if (op.outcome != Outcome::kOk || op.kind == OpKind::kGet || op.kind == OpKind::kRev) continue;
    auto it = at.find(op.rev);
    const bool isSet = op.kind == OpKind::kSet;
    if (it == at.end() || it->second->path != op.key || it->second->op != (isSet ? "set" : "del") ||
        (isSet && it->second->value != op.value)) {
      o << "acknowledged write lost or changed: " << describe(op) << "; history at rev " << op.rev
        << ": " << (it == at.end() ? std::string("nothing") : show(*it->second)) << "\n";
      r.ok = false;
    }
  }
  for (const auto& c : history) {
    if (c.op == "set" && !written.count(c.path + '\0' + c.value)) {
      o << "phantom write in the history: " << show(c) << "\n";
      r.ok = false;
    }
  }
  r.report = o.str();
  return r;
}

OnceResult checkOnce(const std::vector<Change>& history, const std::vector<Op>& ops) {
  OnceResult r;
  std::unordered_map<std::string, std::vector<const Change*>> at;  // value -> its changes
  for (const auto& c : history) {
    if (c.op == "set") at[c.value].push_back(&c);
  }
  std::map<std::string, int> shown;  // per kind: the first few are told
  std::ostringstream o;
  auto tell = [&](const std::string& kind, const std::string& what) {
    if (++shown[kind] <= 5) o << kind << ": " << what << "\n";
  };
  auto changes = [](const std::vector<const Change*>& cs) {
    std::string s;
    for (const Change* c : cs)
      s += (s.empty() ? "" : ", ") + show(*c);
    return s.empty() ? std::string("none") : s;
  };
  const std::vector<const Change*> none;
  std::unordered_set<std::string> isWritten;
  for (const auto& op : ops) {
    if (op.kind != OpKind::kSet) continue;
    ++r.sets;
    isWritten.insert(op.value);
    auto it = at.find(op.value);
    const std::vector<const Change*>& cs = it == at.end() ? none : it->second;
    if (cs.size() > 1) {
      ++r.duplicated;
      tell("applied " + std::to_string(cs.size()) + " times", describe(op) + "; " + changes(cs));
    }
    switch (op.outcome) {
      case Outcome::kOk:
        if (cs.size() != 1 || cs[0]->rev != op.rev || cs[0]->path != op.key) {
          ++r.ackedMissing;
          tell("acknowledged, not applied once at its rev",
               describe(op) + "; the history: " + changes(cs));
        }
        break;
      case Outcome::kFail:
        if (!cs.empty()) {
          ++r.failedApplied;
          tell("failed definitely, yet applied", describe(op) + "; the history: " + changes(cs));
        }
        break;
      case Outcome::kUnknown:
        ++r.unknown;
        if (!cs.empty()) ++r.unknownApplied;
        break;
    }
  }
  // Two SETs of one value would make the history ambiguous: a harness bug, reported as one.
  if (isWritten.size() != r.sets) {
    tell("harness", std::to_string(r.sets - isWritten.size()) +
                        " SETs wrote a value another SET of the run wrote too");
  }
  for (const auto& [kind, n] : shown) {
    if (n > 5) o << "  (" << n - 5 << " more " << kind << ")\n";
  }
  r.ok = shown.empty();
  r.report = o.str();
  return r;
}

FeedResult checkBackups(const std::vector<Change>& history, const std::vector<Op>& ops,
                        const std::vector<Backup>& backups) {
  FeedResult r;
  std::ostringstream o;
  // Freshness: a backup's rev is a head a client was told, as REV's is.
  std::vector<Op> asRevs;
  for (const Op& op : ops) {
    if (op.kind == OpKind::kSet || op.kind == OpKind::kDel) asRevs.push_back(op);
  }
  for (const Backup& b : backups) {
    Op rv;
    rv.client = b.client;
    rv.kind = OpKind::kRev;
    rv.invoke = b.invoke;
    rv.complete = b.complete;
    rv.outcome = Outcome::kOk;
    rv.rev = b.rev;
    asRevs.push_back(rv);
  }
  if (auto fresh = checkRevs(asRevs); !fresh.ok) {
    r.ok = false;
    o << "a backup older than a write acknowledged before it was asked for (shown as REV):\n"
      << fresh.report;
  }
  // Exactness: the history replayed up to each backup's rev.
  std::vector<const Backup*> byRev;
  for (const Backup& b : backups)
    byRev.push_back(&b);
  std::sort(byRev.begin(), byRev.end(),
            [](const Backup* a, const Backup* b) { return a->rev < b->rev; });
  std::map<std::string, std::pair<std::int64_t, std::string>> state;
  std::size_t next = 0;
  int shown = 0;
  for (const Backup* b : byRev) {
    for (; next < history.size() && history[next].rev <= b->rev; ++next) {
      const Change& c = history[next];
      if (c.op == "set") {
        state[c.path] = {c.rev, c.value};
      } else {
        state.erase(c.path);
      }
    }
    if (b->files == state) continue;
    r.ok = false;
    if (shown++ >= 3) continue;
    o << "backup at rev " << b->rev << " by client " << b->client << " differs from the history:";
    for (const auto& [path, f] : state) {
      auto it = b->files.find(path);
      if (it == b->files.end()) {
        o << " lacks " << path << "@" << f.first << ";";
      } else if (it->second != f) {
        o << " " << path << " is @" << it->second.first << " \"" << it->second.second
          << "\", the history has @" << f.first << " \"" << f.second << "\";";
      }
    }
    for (const auto& [path, f] : b->files) {
      if (!state.count(path)) o << " holds " << path << "@" << f.first << ", not in the history;";
    }
    o << "\n";
  }
  r.report = o.str();
  return r;
}

namespace {

std::string ms(std::int64_t ns) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(3);
  o << static_cast<double>(ns) / 1e6 << " ms";
  return o.str();
}

std::string showWrite(const Section& s) {
  switch (s.write) {
    case Guarded::kSkipped:
      return "no write (" + s.why + ")";
    case Guarded::kOk:
      return "wrote " + std::to_string(s.wrote);
    case Guarded::kMismatch:
      return "write of " + std::to_string(s.wrote) + " REV_MISMATCH";
    case Guarded::kFailed:
      return "write of " + std::to_string(s.wrote) + " failed (" + s.why + ")";
    case Guarded::kUnknown:
      return "write of " + std::to_string(s.wrote) + " unknown";
  }
  return "?";
}

std::string showSection(const Section& s) {
  return "holder " + std::to_string(s.holder) + " (lease " + std::to_string(s.lease) + ") token " +
         std::to_string(s.token) + " [" + ms(s.start) + ", " + ms(s.end) + "] " +
         (s.alive ? "alive" : "LAPSED") + ", " + showWrite(s);
}

bool overlap(const Section& a, const Section& b) {
  return a.start < b.end && b.start < a.end;
}

}  // namespace

LockResult checkLocks(const std::vector<Section>& sections) {
  LockResult r;
  r.sections = sections.size();
  std::vector<const Section*> all, live;
  for (const auto& s : sections) {
    all.push_back(&s);
    if (s.alive) live.push_back(&s);
  }
  const auto byStart = [](const Section* a, const Section* b) {
    return a->start != b->start ? a->start < b->start : a->token < b->token;
  };
  std::sort(all.begin(), all.end(), byStart);
  std::sort(live.begin(), live.end(), byStart);
  r.alive = live.size();
  r.lapsed = r.sections - r.alive;
  std::ostringstream o, lapsed;
  int shown = 0;
  for (std::size_t i = 0; i < live.size(); ++i) {
    // Sorted by start: the sections that overlap live[i] and start later follow it at once.
    for (std::size_t j = i + 1; j < live.size() && live[j]->start < live[i]->end; ++j) {
      ++r.overlaps;
      if (shown++ < 5) {
        o << "two holders at once: " << showSection(*live[i]) << "; and " << showSection(*live[j])
          << "\n";
      }
    }
    if (i > 0 && live[i]->token <= live[i - 1]->token) {
      ++r.inversions;
      if (shown++ < 10) {
        o << "fencing token not increasing: " << showSection(*live[i]) << " started after "
          << showSection(*live[i - 1]) << "\n";
      }
    }
  }
  int shownLapsed = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i]->alive) continue;
    for (std::size_t j = 0; j < all.size(); ++j) {
      if (j == i || !overlap(*all[i], *all[j])) continue;
      ++r.lapsedOverlaps;
      if (shownLapsed++ < 5) {
        lapsed << "  " << showSection(*all[i]) << " overlaps " << showSection(*all[j]) << "\n";
      }
      break;
    }
  }
  r.ok = r.overlaps == 0 && r.inversions == 0;
  r.report = o.str();
  r.lapsedReport = lapsed.str();
  return r;
}

FeedResult checkCounter(const std::vector<Section>& sections, std::int64_t finalValue) {
  FeedResult r;
  std::ostringstream o;
  std::map<std::int64_t, const Section*> acked;  // value -> the section that wrote it
  std::int64_t ok = 0, unknown = 0;
  for (const auto& s : sections) {
    if (s.write == Guarded::kUnknown) ++unknown;
    if (s.write != Guarded::kOk) continue;
    ++ok;
    auto [it, fresh] = acked.emplace(s.wrote, &s);
    if (!fresh) {
      r.ok = false;
      o << "lost update: two acknowledged increments wrote " << s.wrote << ": "
        << showSection(*it->second) << "; and " << showSection(s) << "\n";
    }
    if (s.wrote > finalValue) {
      r.ok = false;
      o << "acknowledged increment lost: " << showSection(s) << ", but the counter ends at "
        << finalValue << "\n";
    }
  }
  if (finalValue > ok + unknown) {
    r.ok = false;
    o << "the counter ends at " << finalValue << ", but only " << ok
      << " increments were acknowledged"
      << " and " << unknown << " had an unknown outcome\n";
  }
  int shown = 0;
  for (const auto& x : sections) {
    if (!x.alive || x.write != Guarded::kMismatch) continue;
    bool explained = false;
    for (const auto& y : sections) {
      if (&y == &x) continue;
      if ((y.write == Guarded::kUnknown && y.start < x.end) ||
          (y.write == Guarded::kOk && overlap(x, y))) {
        explained = true;
        break;
      }
    }
    if (explained) continue;
    r.ok = false;
    if (shown++ < 5) {
      o << "the counter changed under an alive holder, and no other write could have done it: "
        << showSection(x) << "\n";
    }
  }
  r.report = o.str();
  return r;
}

LeaseResult checkLeasePromises(const std::vector<LeaseEvent>& events) {
  LeaseResult r;
  std::map<std::uint64_t, const LeaseEvent*> best;  // per lease: the promise that ends last
  for (const auto& e : events) {
    if (e.kind != LeaseSeen::kPromise) continue;
    ++r.promises;
    auto& b = best[e.lease];
    if (!b || e.until > b->until) b = &e;
  }
  r.leases = best.size();
  std::ostringstream o;
  for (const auto& e : events) {
    if (e.kind == LeaseSeen::kPromise) continue;
    auto it = best.find(e.lease);
    if (it == best.end() || e.answered >= it->second->until) continue;
    ++r.checked;
    if (e.kind != LeaseSeen::kAbsent) continue;
    ++r.violations;
    if (r.violations <= 5) {
      const LeaseEvent& p = *it->second;
      o << "lease " << e.lease << " (keeper " << e.keeper << ") ended while promised: " << e.what
        << " sent at " << ms(e.sent) << ", answered at " << ms(e.answered)
        << ", found it gone; but " << p.what << " sent at " << ms(p.sent) << " (answered at "
        << ms(p.answered) << ") promised it alive until " << ms(p.until) << ", "
        << ms(p.until - e.answered) << " after that answer\n";
    }
  }
  r.ok = r.violations == 0;
  r.report = o.str();
  return r;
}

}  // namespace cairn::fault
