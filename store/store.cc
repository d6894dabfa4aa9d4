#include "store/store.h"

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "wire/codec.h"

namespace cairn::store {
namespace {

using wire::Err;
using wire::Status;

NodeP emptyDir() {
  auto n = std::make_shared<Node>();
  n->dir = true;
  return n;
}

// Calls fn(path, file) for every file below directory `d`, in path order.
template <class Fn>
void forEachFile(const Node& d, Fn&& fn) {
  std::vector<std::string> cur;
  auto rec = [&](auto& self, const Node& dir) -> void {
    dir.children.forEach([&](const std::string& name, const NodeP& c) {
      cur.push_back(name);
      if (c->dir) {
        self(self, *c);
      } else {
        fn(wire::joinPath(cur, cur.size()), *c);
      }
      cur.pop_back();
      return true;
    });
  };
  rec(rec, d);
}

// The root once its last file is gone.
NodeP emptyRoot(std::int64_t rev) {
  auto n = std::make_shared<Node>();
  n->dir = true;
  n->rev = rev;
  return n;
}

NodeP makeFile(Bytes value, std::int64_t rev, std::uint64_t lease) {
  auto n = std::make_shared<Node>();
  n->rev = rev;
  n->value = std::move(value);
  n->lease = lease;
  return n;
}

// A copy of directory `dir` (or a new one) with comps[i..] set to `file`.
NodeP setIn(const Node* dir, const std::vector<std::string>& comps, std::size_t i,
            const NodeP& file, std::int64_t rev) {
  auto nd = std::make_shared<Node>();
  nd->dir = true;
  nd->rev = rev;
  PMap<NodeP> ch = dir ? dir->children : PMap<NodeP>();
  if (i + 1 == comps.size()) {
    nd->children = ch.assign(comps[i], file);
  } else {
    const NodeP* c = ch.find(comps[i]);
    nd->children = ch.assign(comps[i], setIn(c ? c->get() : nullptr, comps, i + 1, file, rev));
  }
  return nd;
}

// A copy of directory `dir` without the file comps[i..]; nullptr when the copy would be empty.
// Precondition: the file exists.
NodeP delIn(const Node& dir, const std::vector<std::string>& comps, std::size_t i,
            std::int64_t rev) {
  PMap<NodeP> ch;
  if (i + 1 == comps.size()) {
    ch = dir.children.erase(comps[i]);
  } else {
    const NodeP* c = dir.children.find(comps[i]);
    assert(c);
    NodeP sub = delIn(**c, comps, i + 1, rev);
    ch = sub ? dir.children.assign(comps[i], std::move(sub)) : dir.children.erase(comps[i]);
  }
  if (ch.empty()) return nullptr;
  auto nd = std::make_shared<Node>();
  nd->dir = true;
  nd->rev = rev;
  nd->children = std::move(ch);
  return nd;
}

// Where a write to `comps` would land: the existing node (or null), or an error.
Status locateForWrite(const NodeP& root, const std::vector<std::string>& comps,
                      const Node** target) {
  *target = nullptr;
  if (comps.empty()) return Status(Err::kIsDir, "/ is a directory");
  const Node* cur = root.get();
  for (std::size_t i = 0; i < comps.size(); ++i) {
    const NodeP* c = cur->children.find(comps[i]);
    if (!c) return Status::ok();
    cur = c->get();
    if (i + 1 < comps.size() && !cur->dir) {
      return Status(Err::kNotDir, wire::joinPath(comps, i + 1) + " is a file");
    }
  }
  if (cur->dir) return Status(Err::kIsDir, wire::joinPath(comps, comps.size()) + " is a directory");
  *target = cur;
  return Status::ok();
}

Status casCheck(std::int64_t want, std::int64_t have) {
  if (want == -1 || (want >= 0 && want >= have)) return Status::ok();
  return Status(Err::kRevMismatch,
                "file is at rev " + std::to_string(have) + ", request has " + std::to_string(want));
}

// How many files are below directory `d`, counting no further than `limit` + 1.
std::size_t countFiles(const Node& d, std::size_t limit) {
  std::size_t n = 0;
  auto rec = [&](auto& self, const Node& dir) -> void {
    dir.children.forEach([&](const std::string&, const NodeP& c) {
      if (c->dir) {
        self(self, *c);
      } else {
        ++n;
      }
      return n <= limit;
    });
  };
  rec(rec, d);
  return n;
}

// Whether compare `c` holds for the node at its path (null: missing).
bool holds(const wire::Compare& c, const Node* n) {
  using wire::Compare;
  int order = 0;  // the path's side against the constant: <0, 0, >0
  switch (c.target) {
    case Compare::Target::kExists:
      return (n != nullptr) == c.exists;
    case Compare::Target::kRev: {
      const std::int64_t have = n ? n->rev : 0;
      order = have < c.rev ? -1 : have > c.rev ? 1 : 0;
      break;
    }
    case Compare::Target::kValue:
      if (!n || n->dir) return c.cmp == Compare::Cmp::kNe;  // it has no value: unequal to any
      order = n->value->compare(c.value);
      break;
  }
  switch (c.cmp) {
    case Compare::Cmp::kEq:
      return order == 0;
    case Compare::Cmp::kNe:
      return order != 0;
    case Compare::Cmp::kLt:
      return order < 0;
    case Compare::Cmp::kGt:
      return order > 0;
  }
  return false;
}

}  // namespace

wire::Reply replyOf(const wire::Status& status, std::int64_t rev, std::uint64_t lease,
                    const std::optional<bool>& succeeded, const std::vector<wire::Entry>& results) {
  wire::Reply r;
  if (!status.isOk()) r = wire::Reply::error(status.code(), status.detail());
  r.rev = rev;
  if (lease != 0) r.lease = static_cast<std::int64_t>(lease);  // a GRANT's new lease
  if (status.isOk() && succeeded) {                            // a TXN
    r.succeeded = succeeded;
    r.results = results;
  }
  return r;
}

const Node* lookup(const NodeP& root, const std::vector<std::string>& comps) {
  const Node* cur = root.get();
  for (const auto& name : comps) {
    if (!cur->dir) return nullptr;
    const NodeP* c = cur->children.find(name);
    if (!c) return nullptr;
    cur = c->get();
  }
  return cur;
}

// The node at an absolute path (a store's paths are valid: Change paths, lease files), or null.
const Node* lookupPath(const NodeP& root, std::string_view path) {
  const Node* cur = root.get();
  std::size_t i = 1;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (!cur->dir) return nullptr;
    const NodeP* c = cur->children.find(path.substr(i, j - i));
    if (!c) return nullptr;
    cur = c->get();
    i = j + 1;
  }
  return cur;
}

Store::Store(Options opts) : Store(opts, emptyDir(), 0, 0) {}

Store::Store(Options opts, NodeP root, std::int64_t rev, std::uint64_t appliedIndex,
             std::string members, std::map<std::uint64_t, Lease> leases, std::uint64_t nextLease,
             std::uint64_t term, Sessions sessions)
    : opts_(opts),
      changesFrom_(rev + 1),
      appliedIndex_(appliedIndex),
      members_(std::move(members)),
      nextLease_(nextLease),
      term_(term),
      sessions_(std::move(sessions)) {
  if (opts_.historyRevs < 1) opts_.historyRevs = 1;
  for (auto& [id, l] : leases) {
    Lease& mine = leases_[id];
    mine.ttl = l.ttl;
    mine.owner = std::move(l.owner);
  }
  // The files and their bytes, then kept up by push().
  auto count = [&](auto& self, const Node& dir) -> void {
    dir.children.forEach([&](const std::string&, const NodeP& c) {
      if (c->dir) {
        self(self, *c);
      } else {
        ++files_;
        valueBytes_ += c->value->size();
      }
      return true;
    });
  };
  count(count, *root);
  // The leases' files: every file of the tree that names a lease.
  if (!leases_.empty()) {
    forEachFile(*root, [&](const std::string& path, const Node& f) {
      if (f.lease == 0) return;
      auto l = leases_.find(f.lease);
      if (l != leases_.end()) l->second.files.insert(path);
    });
  }
  roots_.push_back(Version{rev, std::move(root)});
}

Image Store::image() const {
  Image img{root(), rev(), appliedIndex_, members_, {}, nextLease_, term_, sessions_};
  for (const auto& [id, l] : leases_) {
    Lease& copy = img.leases[id];
    copy.ttl = l.ttl;
    copy.owner = l.owner;
  }
  return img;
}

Status leaseOwnerCheck(std::uint64_t id, const Lease& l, const std::string& user,
                       const char* what) {
  if (l.owner == user) return Status::ok();
  return Status(Err::kPermission, "user " + (user.empty() ? std::string("(anonymous)") : user) +
                                      " may not " + what + " lease " + std::to_string(id) +
                                      ": another user's GRANT made it");
}

const Lease* Store::lease(std::uint64_t id) const {
  auto it = leases_.find(id);
  return it == leases_.end() ? nullptr : &it->second;
}

void Store::relink(const std::string& path, std::uint64_t was, std::uint64_t now) {
  if (was == now) return;
  if (was != 0) {
    auto it = leases_.find(was);
    if (it != leases_.end()) it->second.files.erase(path);
  }
  if (now != 0) leases_.at(now).files.insert(path);
}

void Store::push(std::int64_t rev, NodeP root, std::vector<Change> changes) {
  // A rev changes each path once at most, so the head before it holds every path's old file.
  for (const Change& c : changes) {
    const Node* was = lookupPath(this->root(), c.path);
    if (was) {
      --files_;
      valueBytes_ -= was->value->size();
    }
    if (c.op == Change::Op::kSet) {
      ++files_;
      valueBytes_ += c.value->size();
    }
  }
  roots_.push_back(Version{rev, std::move(root)});
  for (Change& c : changes)
    changes_.push_back(std::move(c));
  while (static_cast<std::int64_t>(roots_.size()) > opts_.historyRevs)
    roots_.pop_front();
  // A change is kept while the root it produced is: WAIT from the oldest readable rev works.
  while (!changes_.empty() && changes_.front().rev < roots_.front().rev)
    changes_.pop_front();
  changesFrom_ = std::max(changesFrom_, roots_.front().rev);
}

void Store::setMembers(std::uint64_t index, std::string members) {
  assert(index >= appliedIndex_);
  appliedIndex_ = index;
  members_ = std::move(members);
}

namespace {

// A result as the reply table keeps it: the client protocol's reply, without the tag.
std::string keepReply(const ApplyResult& r) {
  return wire::encodeReply(replyOf(r.status, r.rev, r.lease, r.succeeded, r.results));
}

ApplyResult replay(const std::string& kept) {
  ApplyResult r;
  r.replayed = true;
  auto rep = wire::decodeReply(kept);
  if (!rep) {  // cannot happen: the table holds what keepReply encoded
    r.status = Status(Err::kCorrupt, "a kept reply does not decode: " + rep.status().detail());
    return r;
  }
  r.status = rep->status();
  r.rev = rep->rev.value_or(0);
  r.lease = static_cast<std::uint64_t>(rep->lease.value_or(0));
  r.succeeded = rep->succeeded;
  if (rep->results) r.results = std::move(*rep->results);
  return r;
}

}  // namespace

ApplyResult Store::apply(std::uint64_t index, const wire::Command& c) {
  assert(index >= appliedIndex_);
  appliedIndex_ = index;
  if (c.session == 0) return applyOnce(c);
  ApplyResult res;
  res.rev = rev();
  auto sess = [&] { return "session " + std::to_string(c.session); };
  if (!lease(c.session)) {
    res.status = Status(Err::kTooLate, sess() +
                                           " has ended (its lease expired or was revoked): "
                                           "this write was not applied now; an earlier attempt "
                                           "of it may have been");
    return res;
  }
  // Another user's session: refused before the table is looked at, so that its replies are not
  // given away and this write does not take the owner's seq.
  if (Status s = leaseOwnerCheck(c.session, *lease(c.session), c.user, "write in session");
      !s.isOk()) {
    res.status = s;
    return res;
  }
  const std::string* kept = nullptr;
  switch (sessions_.seen(c.session, c.seq, &kept)) {
    case Sessions::Seen::kApplied: {
      ApplyResult r = replay(*kept);
      r.sessionUsed = true;
      return r;
    }
    case Sessions::Seen::kTooLate:
      res.status = Status(Err::kTooLate, sess() + " no longer keeps the reply of write " +
                                             std::to_string(c.seq) +
                                             ": it was not applied now; an earlier attempt of "
                                             "it may have been");
      return res;
    case Sessions::Seen::kNew:
      break;
  }
  res = applyOnce(c);
  // (Only a REVOKE can end the session it is written in: then nothing is kept.)
  if (c.op != wire::Command::Op::kRevoke || lease(c.session)) {
    sessions_.record(c.session, c.seq, keepReply(res));
  }
  res.sessionUsed = true;
  return res;
}

ApplyResult Store::applyOnce(const wire::Command& c) {
  ApplyResult res;
  res.rev = rev();
  if (c.op == wire::Command::Op::kNop) return res;
  if (c.op == wire::Command::Op::kGrant) return grant(c);
  if (c.op == wire::Command::Op::kRevoke) return revoke(c);
  if (c.op == wire::Command::Op::kTxn) {
    if (!c.txn) {
      res.status = Status(Err::kBadRequest, "a transaction without its operations");
      return res;
    }
    return txn(*c.txn, c.user);
  }
  if (c.op == wire::Command::Op::kTerm) {
    term_ = c.term;
    return res;
  }
  auto comps = wire::splitPath(c.path);
  if (!comps) {
    res.status = comps.status();
    return res;
  }
  const Node* target = nullptr;
  res.status = locateForWrite(root(), *comps, &target);
  if (!res.status.isOk()) return res;
  const std::int64_t have = target ? target->rev : 0;
  const std::int64_t next = rev() + 1;
  Change ch;
  ch.rev = next;
  ch.path = c.path;
  NodeP newRoot;
  const std::uint64_t had = target ? target->lease : 0;
  if (c.op == wire::Command::Op::kSet) {
    res.status = casCheck(c.rev, have);
    if (!res.status.isOk()) return res;
    if (c.lease != 0) {
      const Lease* l = lease(c.lease);
      if (!l) {
        res.status = Status(Err::kNoEnt, "lease " + std::to_string(c.lease) +
                                             " does not exist (it ended, or was never granted)");
        return res;
      }
      res.status = leaseOwnerCheck(c.lease, *l, c.user, "keep files with");
      if (!res.status.isOk()) return res;
      if (had != c.lease && l->files.size() >= kMaxLeaseFiles) {
        res.status = Status(Err::kTooLarge, "lease " + std::to_string(c.lease) + " keeps " +
                                                std::to_string(kMaxLeaseFiles) +
                                                " files already, the most one lease may keep");
        return res;
      }
    }
    ch.op = Change::Op::kSet;
    ch.value = std::make_shared<const std::string>(c.value);
    newRoot = setIn(root().get(), *comps, 0, makeFile(ch.value, next, c.lease), next);
    relink(c.path, had, c.lease);
  } else {
    if (!target) {
      res.status = Status(Err::kNoEnt, c.path + " does not exist");
      return res;
    }
    res.status = casCheck(c.rev, have);
    if (!res.status.isOk()) return res;
    ch.op = Change::Op::kDel;
    ch.value = std::make_shared<const std::string>();
    newRoot = delIn(*root(), *comps, 0, next);
    if (!newRoot) newRoot = emptyRoot(next);
    relink(c.path, had, 0);
  }
  res.rev = next;
  res.changes.push_back(ch);
  push(next, std::move(newRoot), {std::move(ch)});
  return res;
}

ApplyResult Store::grant(const wire::Command& c) {
  ApplyResult res;
  res.rev = rev();
  if (c.ttl < kMinLeaseTtl || c.ttl > kMaxLeaseTtl) {  // checked by the node too; here for all
    res.status = Status(Err::kRange, "a lease's ttl is " + std::to_string(kMinLeaseTtl) + ".." +
                                         std::to_string(kMaxLeaseTtl) + " ms");
    return res;
  }
  if (leases_.size() >= kMaxLeases) {
    res.status = Status(Err::kTooLarge, std::to_string(kMaxLeases) +
                                            " leases are live, the most there may be: revoke some");
    return res;
  }
  res.lease = nextLease_++;
  Lease& l = leases_[res.lease];
  l.ttl = c.ttl;
  l.owner = c.user;
  return res;
}

ApplyResult Store::revoke(const wire::Command& c) {
  ApplyResult res;
  res.rev = rev();
  if (c.term != 0 && c.term != term_) {
    // An expiry decided by a leader another has replaced since: the new one keeps the time now.
    res.status = Status(Err::kUnavailable, "the leader that let lease " + std::to_string(c.lease) +
                                               " expire no longer leads");
    return res;
  }
  auto it = leases_.find(c.lease);
  if (it == leases_.end()) {
    res.status = Status(Err::kNoEnt, "lease " + std::to_string(c.lease) +
                                         " does not exist (it ended, or was never granted)");
    return res;
  }
  if (c.term == 0) {  // a client's REVOKE (an expiry, which names its leader's term, is no one's)
    res.status = leaseOwnerCheck(c.lease, it->second, c.user, "revoke");
    if (!res.status.isOk()) return res;
  }
  const std::set<std::string> files = std::move(it->second.files);
  leases_.erase(it);
  sessions_.end(c.lease);
  if (files.empty()) return res;  // nothing to delete: no rev
  const std::int64_t next = rev() + 1;
  NodeP newRoot = root();
  auto value = std::make_shared<const std::string>();
  for (const std::string& path : files) {
    auto comps = wire::splitPath(path);
    assert(comps && lookup(newRoot, *comps));
    newRoot = delIn(*newRoot, *comps, 0, next);
    if (!newRoot) newRoot = emptyRoot(next);
    Change ch;
    ch.rev = next;
    ch.path = path;
    ch.op = Change::Op::kDel;
    ch.value = value;
    res.changes.push_back(std::move(ch));
  }
  res.rev = next;
  push(next, std::move(newRoot), res.changes);
  return res;
}

ApplyResult Store::txn(const wire::Txn& t, const std::string& user) {
  using wire::TxnOp;
  ApplyResult res;
  res.rev = rev();
  bool ok = true;
  for (const wire::Compare& c : t.compares) {
    auto comps = wire::splitPath(c.path);
    if (!comps || !holds(c, lookup(root(), *comps))) {
      ok = false;
      break;
    }
  }
  const std::vector<TxnOp>& ops = ok ? t.then : t.otherwise;
  const std::int64_t next = rev() + 1;
  NodeP work = root();  // the tree as the operations so far left it; the store's, once all apply
  std::vector<Change> changes;
  std::set<std::string> written;
  struct Relink {
    std::string path;
    std::uint64_t was, now;
  };
  std::vector<Relink> relinks;                   // applied only if every operation succeeds
  std::map<std::uint64_t, std::int64_t> gained;  // lease -> files it gains in this transaction
  auto value = std::make_shared<const std::string>();
  std::size_t read = 0;  // bytes the gets returned
  std::size_t i = 0;
  auto fail = [&](const TxnOp& op, Status s) {
    res.status =
        Status(s.code(), std::string(ok ? "then" : "else") + "[" + std::to_string(i) + "] (" +
                             wire::txnOpName(op.kind) + " " + op.path + "): " + s.detail());
    return res;
  };
  auto writeOnce = [&](const std::string& path) {
    return written.insert(path).second
               ? Status::ok()
               : Status(Err::kBadRequest, path + " is written twice in one transaction");
  };
  auto deleted = [&](const std::string& path, std::uint64_t had) {
    Change ch;
    ch.rev = next;
    ch.path = path;
    ch.op = Change::Op::kDel;
    ch.value = value;
    changes.push_back(std::move(ch));
    relinks.push_back(Relink{path, had, 0});
    if (had != 0) --gained[had];
  };
  for (; i < ops.size(); ++i) {
    const TxnOp& op = ops[i];
    auto comps = wire::splitPath(op.path);
    if (!comps) return fail(op, comps.status());
    wire::Entry e;
    e.op = wire::txnOpName(op.kind);
    e.path = op.path;
    e.rev = next;
    switch (op.kind) {
      case TxnOp::Kind::kGet: {
        const Node* n = lookup(work, *comps);
        if (n && n->dir) return fail(op, Status(Err::kIsDir, op.path + " is a directory"));
        e.rev = n ? n->rev : 0;
        e.value = n ? *n->value : std::string();
        read += e.value->size();
        if (read > wire::kMaxTxnReadBytes) {
          return fail(op, Status(Err::kTooLarge, "a transaction's gets return at most " +
                                                     std::to_string(wire::kMaxTxnReadBytes) +
                                                     " bytes in all; read the rest apart"));
        }
        if (n && n->lease != 0) e.lease = static_cast<std::int64_t>(n->lease);
        break;
      }
      case TxnOp::Kind::kSet: {
        const Node* target = nullptr;
        if (Status s = locateForWrite(work, *comps, &target); !s.isOk()) return fail(op, s);
        const std::uint64_t had = target ? target->lease : 0;
        if (Status s = casCheck(op.rev, target ? target->rev : 0); !s.isOk()) return fail(op, s);
        if (Status s = writeOnce(op.path); !s.isOk()) return fail(op, s);
        if (op.lease != 0) {
          const Lease* l = lease(op.lease);
          if (!l) {
            return fail(op, Status(Err::kNoEnt, "lease " + std::to_string(op.lease) +
                                                    " does not exist (it ended, or was never "
                                                    "granted)"));
          }
          if (Status s = leaseOwnerCheck(op.lease, *l, user, "keep files with"); !s.isOk()) {
            return fail(op, s);
          }
          if (had != op.lease && static_cast<std::int64_t>(l->files.size()) + gained[op.lease] >=
                                     static_cast<std::int64_t>(kMaxLeaseFiles)) {
            return fail(op, Status(Err::kTooLarge, "lease " + std::to_string(op.lease) +
                                                       " would keep more than " +
                                                       std::to_string(kMaxLeaseFiles) + " files"));
          }
        }
        Change ch;
        ch.rev = next;
        ch.path = op.path;
        ch.op = Change::Op::kSet;
        ch.value = std::make_shared<const std::string>(op.value);
        work = setIn(work.get(), *comps, 0, makeFile(ch.value, next, op.lease), next);
        changes.push_back(std::move(ch));
        relinks.push_back(Relink{op.path, had, op.lease});
        if (had != op.lease) {
          if (had != 0) --gained[had];
          if (op.lease != 0) ++gained[op.lease];
        }
        break;
      }
      case TxnOp::Kind::kDel: {
        const Node* target = nullptr;
        if (Status s = locateForWrite(work, *comps, &target); !s.isOk()) return fail(op, s);
        if (!target) return fail(op, Status(Err::kNoEnt, op.path + " does not exist"));
        if (Status s = casCheck(op.rev, target->rev); !s.isOk()) return fail(op, s);
        if (Status s = writeOnce(op.path); !s.isOk()) return fail(op, s);
        deleted(op.path, target->lease);
        work = delIn(*work, *comps, 0, next);
        if (!work) work = emptyRoot(next);
        break;
      }
      case TxnOp::Kind::kDelTree: {
        if (comps->empty()) {
          return fail(op, Status(Err::kReadonly, "/ holds /ctl, which only the nodes write"));
        }
        const Node* n = lookup(work, *comps);
        if (!n) return fail(op, Status(Err::kNoEnt, op.path + " does not exist"));
        if (op.rev != -1) {
          if (Status s = casCheck(op.rev, n->rev); !s.isOk()) return fail(op, s);
        }
        // Counted first, stopping past the limit: a subtree too large costs no walk of it all.
        if (n->dir && countFiles(*n, wire::kMaxTxnChanges - changes.size()) + changes.size() >
                          wire::kMaxTxnChanges) {
          return fail(op, Status(Err::kTooLarge, "a transaction changes at most " +
                                                     std::to_string(wire::kMaxTxnChanges) +
                                                     " files (a rev is delivered whole); this one "
                                                     "would change more: delete in parts"));
        }
        std::int64_t count = 0;
        Status dup;
        auto one = [&](const std::string& path, const Node& f) {
          if (Status s = writeOnce(path); !s.isOk() && dup.isOk()) dup = s;
          deleted(path, f.lease);
          ++count;
        };
        if (n->dir) {
          forEachFile(*n, [&](const std::string& rel, const Node& f) { one(op.path + rel, f); });
        } else {
          one(op.path, *n);
        }
        if (!dup.isOk()) return fail(op, dup);
        if (changes.size() > wire::kMaxTxnChanges) break;  // refused below
        work = delIn(*work, *comps, 0, next);
        if (!work) work = emptyRoot(next);
        e.len = count;
        break;
      }
    }
    if (changes.size() > wire::kMaxTxnChanges) {
      return fail(op, Status(Err::kTooLarge, "a transaction changes at most " +
                                                 std::to_string(wire::kMaxTxnChanges) +
                                                 " files (a rev is delivered whole); this one "
                                                 "would change more: delete in parts"));
    }
    res.results.push_back(std::move(e));
  }
  res.succeeded = ok;
  if (changes.empty()) return res;  // only reads: no rev
  for (const Relink& r : relinks)
    relink(r.path, r.was, r.now);
  res.rev = next;
  res.changes = changes;
  push(next, std::move(work), std::move(changes));
  return res;
}

Status Store::checkReadable(std::int64_t r) const {
  if (r > rev()) {
    return Status(Err::kRange,
                  "rev " + std::to_string(r) + " is after the head rev " + std::to_string(rev()));
  }
  if (r < oldestRev()) {
    return Status(Err::kTooLate, "rev " + std::to_string(r) +
                                     " is older than the history window (oldest readable rev " +
                                     std::to_string(oldestRev()) + ")");
  }
  return Status::ok();
}

const NodeP& Store::rootAt(std::int64_t r) const {
  assert(checkReadable(r).isOk());
  return roots_[static_cast<std::size_t>(r - oldestRev())].root;
}

FileInfo Store::stat(std::string_view path, std::int64_t r) const {
  FileInfo fi;
  auto comps = wire::splitPath(path);
  if (!comps) return fi;
  const Node* n = lookup(rootAt(r), *comps);
  if (!n) return fi;
  fi.exists = true;
  fi.dir = n->dir;
  fi.rev = n->rev;
  if (n->dir) {
    fi.len = static_cast<std::int64_t>(n->children.size());
  } else {
    fi.value = n->value;
    fi.len = static_cast<std::int64_t>(n->value->size());
    fi.lease = n->lease;
  }
  return fi;
}

wire::Result<Page> Store::getdir(std::string_view path, std::int64_t r,
                                 const std::optional<std::string>& after, std::size_t limit,
                                 const Visible& visible) const {
  auto comps = wire::splitPath(path);
  if (!comps) return comps.status();
  const Node* n = lookup(rootAt(r), *comps);
  if (!n) return Status(Err::kNoEnt, std::string(path) + " does not exist");
  if (!n->dir) return Status(Err::kNotDir, std::string(path) + " is a file");
  Page page;
  n->children.forEachFrom(after.value_or(""), !after.has_value(),
                          [&](const std::string& name, const NodeP& child) {
                            if (visible && !visible(wire::childPath(path, name), child->dir)) {
                              return true;
                            }
                            if (page.names.size() == limit) {
                              page.next = page.names.back();
                              return false;
                            }
                            page.names.push_back(name);
                            page.nodes.push_back(child);
                            return true;
                          });
  return page;
}

namespace {

// A depth-first walk in path order, pruned by the glob, resuming after a path.
struct Walker {
  const wire::Glob& glob;
  const std::vector<std::string>& after;  // components of the resume point; empty = from start
  std::size_t limit;
  std::size_t maxBytes;
  Page* page;
  const Store::Visible& visible;
  std::vector<std::string> cur;
  std::size_t bytes = 0;
  bool stop = false;

  // `bounded`: cur equals the first cur.size() components of `after`.
  void dir(const Node& d, const wire::Glob::States& s, bool bounded) {
    const std::size_t depth = cur.size();
    const bool resume = bounded && depth < after.size();
    std::string_view from = resume ? std::string_view(after[depth]) : std::string_view();
    // Descend into after[depth] itself only when the resume point lies below it.
    const bool inclusive = !resume || depth + 1 < after.size();
    auto visit = [&](const std::string& name, const NodeP& child) {
      wire::Glob::States ns = glob.step(s, name);
      if (ns.empty()) return true;
      const bool childBounded = resume && name == from;
      cur.push_back(name);
      if (visible && !visible(wire::joinPath(cur, cur.size()), child->dir)) {
        // hidden: neither listed nor entered
      } else if (child->dir) {
        if (glob.canDescend(ns)) dir(*child, ns, childBounded);
      } else if (glob.accepts(ns) && !childBounded) {
        emit(child);
      }
      cur.pop_back();
      return !stop;
    };
    if (const std::string* lit = glob.literalNext(s)) {
      if (*lit > from || (inclusive && *lit == from)) {
        if (const NodeP* c = d.children.find(*lit)) visit(*lit, *c);
      }
      return;
    }
    d.children.forEachFrom(from, inclusive, visit);
  }

  void emit(const NodeP& file) {
    if (page->names.size() == limit || (bytes >= maxBytes && !page->names.empty())) {
      page->next = page->names.back();
      stop = true;
      return;
    }
    page->names.push_back(wire::joinPath(cur, cur.size()));
    page->nodes.push_back(file);
    bytes += file->value->size();
  }
};

}  // namespace

wire::Result<Page> Store::walk(const wire::Glob& glob, std::int64_t r,
                               const std::optional<std::string>& after, std::size_t limit,
                               std::size_t maxBytes, const Visible& visible) const {
  std::vector<std::string> afterComps;
  if (after) {
    auto c = wire::splitPath(*after);
    if (!c) return c.status();
    afterComps = std::move(c.value());
  }
  Page page;
  Walker w{glob, afterComps, limit, maxBytes, &page, visible, {}, 0, false};
  w.dir(*rootAt(r), glob.start(), after.has_value());
  return page;
}

wire::Result<Store::ChangePage> Store::changes(const wire::Glob& glob, std::int64_t from,
                                               std::size_t limit, std::size_t maxBytes) const {
  from = std::max<std::int64_t>(from, 1);
  if (from < changesFrom_) {
    return Status(Err::kTooLate,
                  "changes before rev " + std::to_string(changesFrom_) + " are no longer retained");
  }
  ChangePage page;
  page.complete = rev();
  if (changes_.empty() || from > changes_.back().rev) return page;
  std::size_t bytes = 0;
  auto first = std::lower_bound(changes_.begin(), changes_.end(), from,
                                [](const Change& c, std::int64_t r) { return c.rev < r; });
  for (auto it = first; it != changes_.end(); ++it) {
    const Change& c = *it;
    if (!glob.matches(c.path)) continue;
    const bool full = page.changes.size() >= limit || bytes >= maxBytes;
    if (full && !page.changes.empty() && c.rev != page.changes.back().rev) {
      page.complete = page.changes.back().rev;  // a page ends between revs, never inside one
      break;
    }
    page.changes.push_back(c);
    bytes += c.value->size();
  }
  return page;
}

wire::Result<std::vector<Change>> Store::firstChanges(const wire::Glob& glob,
                                                      std::int64_t from) const {
  auto page = changes(glob, from, 1, SIZE_MAX);
  if (!page) return page.status();
  return std::move(page->changes);
}

std::string Store::dump(std::int64_t r) const {
  std::string out;
  forEachFile(*rootAt(r), [&](const std::string& path, const Node& f) {
    if (!out.empty()) out += ' ';
    out += path + "@" + std::to_string(f.rev) + "=" + *f.value;
  });
  return out;
}

}  // namespace cairn::store
