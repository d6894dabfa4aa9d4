#pragma once
// The versioned tree: Cairn's state machine. It applies commands in log order and answers reads at
// any revision inside its history window.
//
// Owns: the current tree, one immutable root per retained revision, and the list of retained
// changes. Every root shares all unchanged nodes with its neighbours (see pmap.h), so keeping a
// window of N revisions costs O(N * depth * log(fanout)) nodes, not N copies.
// Called by: the node's event loop only (one thread). Reads never modify it.
// Determinism: apply() depends only on the store's state and the command, so every replica that
// applies the same commands in the same order reaches the same revisions and the same tree.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "store/pmap.h"
#include "store/sessions.h"
#include "wire/command.h"
#include "wire/message.h"
#include "wire/path.h"
#include "wire/status.h"

namespace cairn::store {

struct Node;
using NodeP = std::shared_ptr<const Node>;
using Bytes = std::shared_ptr<const std::string>;

// A file (value, rev) or a directory (children). A directory's rev is the rev of the last change
// anywhere below it. Directories exist only while they hold files.
struct Node {
  std::int64_t rev = 0;
  bool dir = false;
  Bytes value;              // files
  PMap<NodeP> children;     // directories
  std::uint64_t lease = 0;  // files: the lease whose end deletes it (0: none)
};

struct Change {
  std::int64_t rev = 0;
  std::string path;
  enum class Op : std::uint8_t { kSet, kDel } op = Op::kSet;
  Bytes value;  // the new value for kSet; empty for kDel
  const char* opName() const { return op == Op::kSet ? "set" : "del"; }
};

struct ApplyResult {
  wire::Status status;
  std::int64_t rev = 0;         // the new rev on success; the head rev otherwise
  std::vector<Change> changes;  // a successful SET or DEL: one; a REVOKE: one per file it deleted;
                                // a TXN: one per file its branch wrote, in operation order
  std::uint64_t lease = 0;      // a GRANT: the new lease's id
  // A TXN that applied: whether its compares held, and each operation's result, in order.
  std::optional<bool> succeeded;
  std::vector<wire::Entry> results;
  // A write of a session (exactly-once) that was applied before: this is its first reply, and
  // nothing changed now.
  bool replayed = false;
  // A write in a live session by the session's owner, applied or replayed: it renews the lease
  // (node/leases.h). Another user's write in it renews nothing.
  bool sessionUsed = false;
};

// A lease in the replicated state: its time to live and the files it keeps. When it ends (REVOKE,
// or expiry, which the leader decides and writes into the log as a REVOKE) its files are deleted,
// all at one rev. Replicas never expire a lease by their own clock: time is the leader's.
struct Lease {
  std::int64_t ttl = 0;         // ms
  std::string owner;            // the user whose GRANT made it ("" without grants)
  std::set<std::string> files;  // paths, in order
};
// Only a lease's owner may write under it as a session, keep files with it or revoke it: anyone
// else gets PERMISSION (`what`: "write in session", "keep files with", "revoke", and the node's
// "keep alive", "look at"). OK for the owner.
wire::Status leaseOwnerCheck(std::uint64_t id, const Lease& l, const std::string& user,
                             const char* what);
// The most files one lease keeps: its end is one rev, and a CHANGES page never splits a rev.
inline constexpr std::size_t kMaxLeaseFiles = 10000;
// The most live leases (GRANT beyond: TOO_LARGE), and a lease's ttl bounds in ms (GRANT outside
// them: RANGE). The least ttl is well above an election: a new leader gives every lease a full
// ttl, so none ends because of the election.
inline constexpr std::size_t kMaxLeases = 100000;
inline constexpr std::int64_t kMinLeaseTtl = 2000;
inline constexpr std::int64_t kMaxLeaseTtl = 24 * 3600 * 1000;

struct FileInfo {
  bool exists = false;
  bool dir = false;
  std::int64_t rev = 0;     // 0 for a missing file
  Bytes value;              // files only
  std::int64_t len = 0;     // a file's byte length, or a directory's number of entries
  std::uint64_t lease = 0;  // a file's lease (0: none)
};

// An immutable view of the tree at one applied log index: all a snapshot needs. Safe to read
// from another thread while the store goes on applying (the tree's nodes are never modified).
struct Image {
  NodeP root;
  std::int64_t rev = 0;
  std::uint64_t index = 0;
  std::string members;  // the cluster's configuration at `index` (see Store::members)
  // The leases at `index` by id, their files left out (they are the tree's files that name them),
  // and the id the next GRANT gets.
  std::map<std::uint64_t, Lease> leases;
  std::uint64_t nextLease = 1;
  std::uint64_t term = 0;  // the last leader's term written into the log (Store::term)
  Sessions sessions;       // the exactly-once reply table (a copy)
};

struct Page {
  std::vector<std::string> names;  // GETDIR: entry names; WALK: paths
  std::vector<NodeP> nodes;
  std::optional<std::string> next;  // continuation, when more entries remain
};

class Store {
 public:
  struct Options {
    std::int64_t historyRevs = 10000;  // how many past revisions stay readable (at least 1)
  };

  Store() : Store(Options()) {}
  explicit Store(Options opts);
  // A store whose only readable revision is `rev`, with tree `root` (used by snapshots); the
  // leases' files are found in the tree.
  Store(Options opts, NodeP root, std::int64_t rev, std::uint64_t appliedIndex,
        std::string members = {}, std::map<std::uint64_t, Lease> leases = {},
        std::uint64_t nextLease = 1, std::uint64_t term = 0, Sessions sessions = {});

  std::int64_t rev() const { return roots_.back().rev; }
  std::int64_t oldestRev() const { return roots_.front().rev; }
  // The first rev whose changes CHANGES and WAIT still return.
  std::int64_t changesFrom() const { return changesFrom_; }
  // The files at the head, and the bytes of their values.
  std::uint64_t files() const { return files_; }
  std::uint64_t valueBytes() const { return valueBytes_; }
  std::uint64_t appliedIndex() const { return appliedIndex_; }
  const NodeP& root() const { return roots_.back().root; }
  const Options& options() const { return opts_; }
  Image image() const;
  // The cluster's configuration as of appliedIndex() (wire::encodeMembership), kept with the tree
  // so that a snapshot carries it; empty until a change is applied (the bootstrap one holds).
  const std::string& members() const { return members_; }
  // A configuration chosen at log position `index` (>= appliedIndex()): no revision, no change.
  void setMembers(std::uint64_t index, std::string members);

  // Applies a command at log position `index` (>= appliedIndex(): the commands of one batch share
  // their slot's index).
  ApplyResult apply(std::uint64_t index, const wire::Command& c);

  // The live leases, by id; nullptr for one that never existed or has ended.
  const Lease* lease(std::uint64_t id) const;
  const std::map<std::uint64_t, Lease>& leases() const { return leases_; }
  std::uint64_t nextLease() const { return nextLease_; }  // the id the next GRANT gets
  // The term (wire::termOf) of the last leader that took office through the log (a kTerm command).
  // A leader keeps time for leases only once its own term is applied, and an expiry it proposed
  // takes effect only while its term is still the last: an expiry decided by a leader that has
  // since been replaced changes nothing, wherever in the log it lands.
  std::uint64_t term() const { return term_; }
  // The exactly-once reply table (sessions.h): what a write carrying a session finds.
  const Sessions& sessions() const { return sessions_; }

  // OK when `rev` is inside the window; TOO_LATE below it; RANGE above the head.
  wire::Status checkReadable(std::int64_t rev) const;

  // Reads at a readable rev (callers check first).
  FileInfo stat(std::string_view path, std::int64_t rev) const;
  // `visible` (when set) leaves out what it refuses, a file by its path, a directory by its
  // path with `dir` true (a walk does not descend into it): a page holds only visible entries,
  // and its `next` names one of them (a reader's permissions: nothing hidden leaks by a cursor).
  using Visible = std::function<bool(const std::string& path, bool dir)>;
  wire::Result<Page> getdir(std::string_view path, std::int64_t rev,
                            const std::optional<std::string>& after, std::size_t limit,
                            const Visible& visible = {}) const;
  wire::Result<Page> walk(const wire::Glob& glob, std::int64_t rev,
                          const std::optional<std::string>& after, std::size_t limit,
                          std::size_t maxBytes, const Visible& visible = {}) const;

  // The retained changes with rev >= from that match `glob`, in rev order (and in their order
  // within a rev): at most `limit` of them, and fewer once their values pass maxBytes, but never
  // part of a rev's matching changes (at least one rev's, whatever the limits). `complete` is the
  // rev up to which the page holds every matching change (the head when it was not cut short).
  // TOO_LATE when changes at `from` are no longer retained.
  struct ChangePage {
    std::vector<Change> changes;
    std::int64_t complete = 0;
  };
  wire::Result<ChangePage> changes(const wire::Glob& glob, std::int64_t from, std::size_t limit,
                                   std::size_t maxBytes) const;
  // The matching changes of the first rev >= from that has any; empty when none has happened yet.
  wire::Result<std::vector<Change>> firstChanges(const wire::Glob& glob, std::int64_t from) const;

  // Every file at `rev` as "path@rev=value" joined by single spaces (tests and debugging).
  std::string dump(std::int64_t rev) const;
  std::string dump() const { return dump(rev()); }

 private:
  struct Version {
    std::int64_t rev;
    NodeP root;
  };
  const NodeP& rootAt(std::int64_t rev) const;
  void push(std::int64_t rev, NodeP root, std::vector<Change> changes);
  // apply() without the exactly-once table.
  ApplyResult applyOnce(const wire::Command& c);
  ApplyResult grant(const wire::Command& c);
  ApplyResult revoke(const wire::Command& c);
  ApplyResult txn(const wire::Txn& t, const std::string& user);
  // Keeps leases_ in step with a file that was at `was` (lease 0: none) and is now kept by
  // `now` (0: none, or deleted).
  void relink(const std::string& path, std::uint64_t was, std::uint64_t now);

  Options opts_;
  std::deque<Version> roots_;   // contiguous revs, oldest first
  std::deque<Change> changes_;  // every change of the revs from changesFrom_, in order
  std::int64_t changesFrom_ = 1;
  std::uint64_t appliedIndex_ = 0;
  std::string members_;
  std::map<std::uint64_t, Lease> leases_;
  std::uint64_t nextLease_ = 1;
  std::uint64_t term_ = 0;
  Sessions sessions_;
  std::uint64_t files_ = 0;
  std::uint64_t valueBytes_ = 0;
};

// The client's reply to a write that was applied (its tag aside): what a proposer answers, and
// what the exactly-once table keeps and answers a retry with, built in this one place.
wire::Reply replyOf(const wire::Status& status, std::int64_t rev, std::uint64_t lease,
                    const std::optional<bool>& succeeded, const std::vector<wire::Entry>& results);

// Finds the node at a path in a tree; nullptr when missing (or below a file).
const Node* lookup(const NodeP& root, const std::vector<std::string>& comps);

}  // namespace cairn::store
