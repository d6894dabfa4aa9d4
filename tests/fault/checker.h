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
// `complete`, in order, each once — or, if it ended with TOO_LATE, a gap-free prefix of them.
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

}  // namespace cairn::fault
