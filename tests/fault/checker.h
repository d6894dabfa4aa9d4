#pragma once
// The fault harness's checkers: linearizability of a key-value history, and the feed guarantee.
//
// Linearizability is checked per key (it is a local property), with the algorithm of Wing & Gong
// as improved by Lowe — the one Porcupine uses: search for an order of the operations that
// respects real time and the model, backtracking, with a cache of (operations linearized, model
// state) already explored. The model is one Cairn file: SET and DEL with Cairn's compare-and-set
// (-1 clobbers, 0 creates only, R succeeds if the file's rev <= R; a missing file is at rev 0),
// GET returning the value and rev. An operation whose outcome is unknown (a timeout) may take
// effect at any point after its invocation, or never: it has no return event and needs no place
// in the order unless something else depends on it. A definite failure other than the model's
// own (REV_MISMATCH, NOENT) had no effect and is left out.
//
// Locks and leases (PROTOCOL.md §7) have checkers of their own, on what the harness's lock
// holders and lease keepers recorded, all times on the one steady clock of the harness:
// - checkLocks: mutual exclusion and fencing. Among the critical sections whose holder's lease was
//   still alive() at the section's end, no two overlap in real time, and the fencing tokens
//   strictly increase in the order the sections started. A section whose lease lapsed may overlap
//   another (its holder was told to stop acting): those are counted and shown, not anomalies.
// - checkCounter: the counter the holders increment by compare-and-set on the rev they read. Every
//   acknowledged increment wrote a different value, none above the final one, and the final value
//   is no more than the acknowledged increments plus those of unknown outcome (no lost update, no
//   phantom). An alive holder's REV_MISMATCH is a lost race: an anomaly unless another section's
//   write could have landed between its read and its write (one that overlaps it, or one of
//   unknown outcome sent before it ended).
// - checkLeasePromises: a lease answered alive (GRANT or KEEPALIVE sent at t, with ttl) is alive
//   until t + ttl. A keeper's linearizable GET of its leased file that found it gone, answered
//   before some promise's end (or a KEEPALIVE or a SET with the lease answered NOENT before it),
//   proves the lease ended while promised. Observation times are answer times: sound, as the
//   absence was true at some point before the answer.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cairn::fault {

enum class OpKind { kGet, kSet, kDel, kRev };
enum class Outcome { kOk, kFail, kUnknown };

struct Op {
  int client = 0;
  OpKind kind = OpKind::kGet;
  std::string key;
  std::string value;        // SET: the value written (unique per write in a run)
  std::int64_t cond = -1;   // SET/DEL: -1 clobber, 0 create only, R compare-and-set
  std::int64_t invoke = 0;  // ns, one clock for the whole history
  std::int64_t complete = std::numeric_limits<std::int64_t>::max();  // unknown: never
  Outcome outcome = Outcome::kUnknown;
  std::string err;       // kFail: the error name (REV_MISMATCH, NOENT, UNAVAILABLE, ...)
  std::int64_t rev = 0;  // SET/DEL ok: the new rev; GET ok: the file's rev (0: absent); REV ok:
                         // the head rev
  std::string got;       // GET ok: the value
};

struct LinearizabilityResult {
  bool ok = true;
  std::size_t opsChecked = 0;
  std::string key;     // the key whose history is not linearizable
  std::string report;  // the failing window: the op that cannot be placed, and its neighbours
};

// Checks every key's history; stops at the first key that is not linearizable.
LinearizabilityResult checkLinearizable(const std::vector<Op>& history);

// One change of the store's history, or one change a watcher delivered.
struct Change {
  std::int64_t rev = 0;
  std::string path, op, value;
  bool operator==(const Change& o) const {
    return rev == o.rev && path == o.path && op == o.op && value == o.value;
  }
};

struct FeedResult {
  bool ok = true;
  std::string report;
};

// A watcher on `glob` from rev `from` delivered `got`, and reported itself complete up to
// `complete` (or ended with TOO_LATE, `tooLate`). `history` is the store's complete history of
// the glob from `from` on. The watcher must have delivered exactly the history's changes up to
// `complete`, in order, each once — or, if it ended with TOO_LATE, a gap-free prefix of them that
// does not end inside a rev. Changes are compared one by one, so a rev of several changes (a
// lease's end, a TXN's writes) must arrive whole, in the order of the history.
FeedResult checkFeed(const std::vector<Change>& history, std::int64_t from,
                     const std::vector<Change>& got, std::int64_t complete, bool tooLate);

// REV is linearizable: a REV that succeeded reports a head at least the rev of every write
// acknowledged before the REV was invoked (the head never goes back on what a client was told).
// REV operations are checked here only; the per-key checks ignore them.
FeedResult checkRevs(const std::vector<Op>& history);

// A backup (SNAPSHOT, cairn snapshot save) a client took during the run.
struct Backup {
  int client = 0;
  std::int64_t invoke = 0;    // ns, when the client asked
  std::int64_t complete = 0;  // ns, when it held the whole file
  std::int64_t rev = 0;       // the backup's head rev
  // The files it holds under the checked prefix: path -> (rev, value).
  std::map<std::string, std::pair<std::int64_t, std::string>> files;
};

// Every backup holds exactly the files the history has at the backup's rev (each with its rev
// and value, none more), and that rev is at least the rev of every write acknowledged before the
// backup was asked for (a backup is as linearizable as REV). `history` is the store's complete
// history of the prefix from rev 1.
FeedResult checkBackups(const std::vector<Change>& history, const std::vector<Op>& ops,
                        const std::vector<Backup>& backups);

// Every acknowledged write is in the history at its rev with its value, and every change in the
// history was written by some operation of the run (no phantom writes); `history` covers every
// key of the run from rev 1.
FeedResult checkWrites(const std::vector<Change>& history, const std::vector<Op>& ops);

// Exactly once (PROTOCOL.md §5.1): every SET of the run wrote a value unique in the run, so each
// "set" change of `history` names the one operation that made it. No value is in two changes (a
// write applied twice, as a plain resend of a write whose reply was lost would be); an
// acknowledged SET's value is in exactly one change, at its reply's rev, on its key; a SET that
// failed definitely (REV_MISMATCH, UNAVAILABLE, TOO_LATE, any error but TIMEOUT) is in none: a
// definite failure changed nothing. One of unknown outcome may be in one change, or none.
// `history` covers every key of the run from rev 1 through a barrier after the last write was
// answered; a write of unknown outcome applied after it is not seen (so neither is its copy).
struct OnceResult {
  bool ok = true;
  std::size_t sets = 0;            // SETs of the run
  std::size_t unknown = 0;         // of those, of unknown outcome
  std::size_t unknownApplied = 0;  // of those, the ones the history holds (not anomalies)
  std::size_t duplicated = 0;      // values in more than one change
  std::size_t ackedMissing = 0;   // acknowledged SETs not in one change, at their rev, on their key
  std::size_t failedApplied = 0;  // SETs that failed definitely, in the history all the same
  std::string report;             // the first few of each kind, one per line
};

OnceResult checkOnce(const std::vector<Change>& history, const std::vector<Op>& ops);

// What a lock holder's guarded write (the counter, compare-and-set on the rev it read) did.
enum class Guarded {
  kSkipped,   // not sent: its lease was not alive(), or the read failed
  kOk,        // acknowledged
  kMismatch,  // REV_MISMATCH: the counter changed after the holder read it
  kFailed,    // another definite failure (UNAVAILABLE, ...): no effect
  kUnknown,   // TIMEOUT: it may land, even later
};

// One critical section of a lock holder (a Mutex's lock() returned the token ... unlock()).
struct Section {
  int holder = 0;
  std::uint64_t lease = 0;
  std::int64_t token = 0;  // the fencing token lock() returned
  std::int64_t start = 0;  // ns: when lock() returned
  std::int64_t end = 0;    // ns: right before unlock() was called
  bool alive = false;      // the holder's Lease::alive(), asked right after `end`
  Guarded write = Guarded::kSkipped;
  std::int64_t wrote = 0;  // the counter value it wrote (the value read + 1), when sent
  std::string why;         // kSkipped, kFailed: why
};

struct LockResult {
  bool ok = true;
  std::size_t sections = 0;        // every section recorded
  std::size_t alive = 0;           // those checked: the lease alive at the end
  std::size_t overlaps = 0;        // pairs of alive sections that overlap: anomalies
  std::size_t inversions = 0;      // alive sections whose token is not above the previous one's
  std::size_t lapsed = 0;          // sections whose lease was not alive at the end
  std::size_t lapsedOverlaps = 0;  // of those, the ones that overlap another section
  std::string report;              // the anomalies (the first few of each kind)
  std::string lapsedReport;        // the lapsed sections that overlap another (not anomalies)
};

// Mutual exclusion and fencing of the sections of one lock (see the top of this file).
LockResult checkLocks(const std::vector<Section>& sections);

// The guarded counter against the sections' writes and its value at the end (0: absent).
FeedResult checkCounter(const std::vector<Section>& sections, std::int64_t finalValue);

// What a lease keeper saw of its lease.
enum class LeaseSeen {
  kPromise,  // GRANT or KEEPALIVE answered: alive until `until`
  kPresent,  // a linearizable GET found the leased file
  kAbsent,   // the file was gone (GET rev 0), or the lease was (KEEPALIVE or SET answered NOENT)
};

struct LeaseEvent {
  int keeper = 0;
  std::uint64_t lease = 0;
  LeaseSeen kind = LeaseSeen::kPromise;
  std::int64_t sent = 0;      // ns: when the request was sent
  std::int64_t answered = 0;  // ns: when its answer came
  std::int64_t until = 0;     // kPromise: sent + the ttl answered
  std::string what;           // the request, for reports: GRANT, KEEPALIVE, GET, ...
};

struct LeaseResult {
  bool ok = true;
  std::size_t leases = 0;      // leases with at least one promise
  std::size_t promises = 0;    // promises answered
  std::size_t checked = 0;     // observations answered before a promise of their lease ended
  std::size_t violations = 0;  // of those, the ones that found the lease gone
  std::string report;          // the first few violations
};

// No lease ended while promised: every kAbsent observation of a lease answered after every
// promise of that lease ended (promises made after the absence included: an ended lease cannot
// be renewed, ids are never reused).
LeaseResult checkLeasePromises(const std::vector<LeaseEvent>& events);

}  // namespace cairn::fault
