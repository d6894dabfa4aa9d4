#include "node/client_service.h"

#include <set>

#include "node/log.h"

namespace cairn::node {

using wire::Err;
using wire::Reply;
using wire::Request;
using wire::Status;
using wire::Verb;

std::string quoteDuration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

Reply notLeader(const std::string& what, std::uint32_t leader, const std::string& leaderClient) {
  if (leader == 0) return Reply::error(Err::kUnavailable, "no leader is known now; try again");
  Reply r =
      Reply::error(Err::kNotLeader, what + " go to the leader (node " + std::to_string(leader) +
                                        (leaderClient.empty() ? "" : " at " + leaderClient) + ")");
  r.leader = leader;
  if (!leaderClient.empty()) r.client = leaderClient;
  return r;
}

Reply errorAt(const Status& s, std::int64_t head) {
  Reply r = Reply::error(s.code(), s.detail());
  r.head = head;
  return r;
}

namespace {

Action replyWith(Reply r, std::string tag) {
  Action a;
  a.kind = Action::Kind::kReply;
  a.reply = std::move(r);
  a.tag = std::move(tag);
  return a;
}

Action fail(const Request& req, Err e, std::string detail) {
  return replyWith(Reply::error(e, std::move(detail)), req.tag);
}

std::optional<Action> checkLimit(const Request& req) {
  if (req.limit && (*req.limit < 1 || *req.limit > kMaxPage)) {
    return fail(req, Err::kRange, "limit must be in 1.." + std::to_string(kMaxPage));
  }
  return std::nullopt;
}

std::optional<Action> checkConsistency(const Request& req) {
  if (req.consistency && *req.consistency != "linearizable" && *req.consistency != "local") {
    return fail(req, Err::kBadRequest, "consistency must be \"linearizable\" or \"local\"");
  }
  return std::nullopt;
}

std::optional<Action> checkTimeout(const Request& req) {
  if (req.timeoutMs && (*req.timeoutMs < 0 || *req.timeoutMs > kMaxWait.count())) {
    return fail(req, Err::kRange,
                "timeout must be in 0.." + std::to_string(kMaxWait.count()) + " ms");
  }
  return std::nullopt;
}

}  // namespace

ClientService::ClientService(Options opts, const store::Store& store, Stats& stats,
                             Describe describe)
    : opts_(opts), store_(store), stats_(stats), describe_(std::move(describe)) {
  limits_.maxValue = static_cast<std::size_t>(opts_.maxValue);
}

Action ClientService::handle(std::string_view body, const std::string& identity) {
  Request req;
  Status s = wire::decodeRequest(body, limits_, &req);
  if (opts_.verbose) {
    logLine(std::string("request ") + (s.isOk() ? wire::verbName(req.verb) : s.toString()) + " " +
            req.path.value_or(""));
  }
  if (!s.isOk()) {
    ++stats_.undecodable;
    return replyWith(Reply::error(s.code(), s.detail()), req.tag);
  }
  const int verb = static_cast<int>(req.verb);
  Action a = handle(std::move(req), identity);
  a.verb = verb;
  return a;
}

Action ClientService::handle(Request req, const std::string& identity) {
  stats_.countRequest(req.verb);
  if (!halted_.isOk() && req.verb != Verb::kSelf) {
    return replyWith(errorAt(halted_, head()), req.tag);
  }
  if (!removed_.isOk() && req.verb != Verb::kSelf && req.verb != Verb::kMembers) {
    return replyWith(Reply::error(removed_.code(), removed_.detail()), req.tag);
  }
  if (req.path && req.verb != Verb::kDel) {
    if (Status s = wire::checkNoDotNames(*req.path); !s.isOk())
      return fail(req, s.code(), s.detail());
  }
  if (auto denied = authorize(req, identity, access(identity))) return *denied;
  Action a = route(req, identity);
  // Leases are their granter's (Command::user): the store checks at apply, on every node alike.
  if (a.kind == Action::Kind::kWrite) a.command.user = identity;
  return a;
}

Action ClientService::route(Request& req, const std::string& identity) {
  switch (req.verb) {
    case Verb::kRev: {
      if (auto bad = checkConsistency(req)) return *bad;
      if (linearizable(req)) return linearRead(req);
      Reply r;
      r.rev = head();
      return replyWith(std::move(r), req.tag);
    }
    case Verb::kSelf: {
      Reply r;
      if (describe_) describe_(r);
      r.version = CAIRN_VERSION;
      r.rev = head();
      return replyWith(std::move(r), req.tag);
    }
    case Verb::kNop: {
      Action a;
      a.kind = Action::Kind::kWrite;
      a.tag = req.tag;
      a.wait = kWriteTimeout;
      return a;
    }
    case Verb::kSet:
    case Verb::kDel:
      return withSession(req, write(req));
    case Verb::kChanges:
      return changes(req);
    case Verb::kWait:
      return wait(req);
    case Verb::kSnapshot:
      return snapshot(req);
    case Verb::kMembers:
    case Verb::kJoin:
    case Verb::kPromote:
    case Verb::kRemove:
      return members(req);
    case Verb::kGrant:
    case Verb::kRevoke:
      return withSession(req, lease(req));
    case Verb::kKeepalive:
    case Verb::kLease:
      return lease(req);
    case Verb::kGet:
    case Verb::kStat:
    case Verb::kGetdir:
    case Verb::kWalk:
      return readOrPark(req, identity);
    case Verb::kTxn:
      return withSession(req, txn(req));
  }
  return fail(req, Err::kUnknownVerb, "unknown verb");
}

std::optional<wire::Reply> ClientService::refusal(const Request& req,
                                                  const std::string& user) const {
  auto denied = authorize(req, user, access(user));
  return denied ? std::optional<wire::Reply>(std::move(denied->reply)) : std::nullopt;
}

const Access& ClientService::access(const std::string& user) const {
  return accessOf_ ? accessOf_(user) : everything_;
}

namespace {

// The part of a glob before its first wildcard: every path it matches starts with it.
std::string_view literalPrefix(std::string_view glob) {
  return glob.substr(0, std::min(glob.find('*'), glob.find('?')));
}

}  // namespace

std::optional<Action> ClientService::authorize(const Request& req, const std::string& user,
                                               const Access& who) const {
  auto deny = [&](const std::string& what, std::string_view path) {
    return fail(req, Err::kPermission,
                "user " + (user.empty() ? std::string("(anonymous)") : user) + " may not " + what +
                    (path.empty() ? "" : " " + std::string(path)) + " (grants: " + who.describe() +
                    ")");
  };
  const std::string_view path = req.path ? std::string_view(*req.path) : std::string_view();
  // A user with no grant (one a reload removed, say) may do nothing at all.
  if (who.none()) return deny("do anything: it has no grants", "");
  // A lease is its granter's alone (store::leaseOwnerCheck): refused here at once when this node
  // knows the lease, and by the store at apply in any case (this node may not have applied the
  // GRANT yet). KEEPALIVE and LEASE are not in the log: this is their only check.
  auto notOwner = [&](const std::optional<std::int64_t>& id, const char* what) {
    const store::Lease* l = id && *id > 0 ? store_.lease(static_cast<std::uint64_t>(*id)) : nullptr;
    Status s =
        l ? store::leaseOwnerCheck(static_cast<std::uint64_t>(*id), *l, user, what) : Status::ok();
    return s.isOk() ? std::nullopt : std::optional<Action>(fail(req, s.code(), s.detail()));
  };
  if (auto denied = notOwner(req.session, "write in session")) return denied;
  switch (req.verb) {
    case Verb::kSelf:
    case Verb::kRev:
    case Verb::kNop:
    case Verb::kMembers:
    case Verb::kWalk:  // filtered: a walk lists only what the user may read
      return std::nullopt;
    case Verb::kGet:
      if (req.path && !who.mayRead(path)) return deny("read", path);
      return std::nullopt;
    case Verb::kStat:
    case Verb::kGetdir:
      if (req.path && !who.mayReadBelow(path)) return deny("read", path);
      return std::nullopt;
    case Verb::kWait:
    case Verb::kChanges:
      // A wait or a changes page cannot leave out what the user may not see without lying about
      // what happened: it must be about readable paths only.
      if (req.path && !who.mayReadAll(literalPrefix(path))) {
        return deny("watch all of", path);
      }
      return std::nullopt;
    case Verb::kSet:
    case Verb::kDel:
      if (req.path && !who.mayWrite(path)) return deny("write", path);
      if (req.verb == Verb::kSet) return notOwner(req.lease, "keep files with");
      return std::nullopt;
    case Verb::kGrant:
      if (!who.writesSomewhere()) return deny("grant leases: it may write nothing", "");
      return std::nullopt;
    case Verb::kRevoke:
    case Verb::kKeepalive:
    case Verb::kLease: {
      if (!who.writesSomewhere()) return deny("use leases: it may write nothing", "");
      const char* what = req.verb == Verb::kRevoke      ? "revoke"
                         : req.verb == Verb::kKeepalive ? "keep alive"
                                                        : "look at";
      if (auto denied = notOwner(req.lease, what)) return denied;
      // A lease's end deletes its files, and LEASE lists them: its owner must still be one who
      // may write every one (a reload may have narrowed its grants since it kept them).
      if (!req.lease || *req.lease < 1) return std::nullopt;
      if (const store::Lease* l = store_.lease(static_cast<std::uint64_t>(*req.lease))) {
        for (const std::string& f : l->files) {
          if (!who.mayWrite(f))
            return deny("use lease " + std::to_string(*req.lease) + ", which keeps", f);
        }
      }
      return std::nullopt;
    }
    case Verb::kTxn: {
      if (!req.txn) return std::nullopt;
      const wire::Txn& t = *req.txn;
      for (std::size_t i = 0; i < t.compares.size(); ++i) {
        if (!who.mayRead(t.compares[i].path)) {
          return deny("read (if[" + std::to_string(i) + "])", t.compares[i].path);
        }
      }
      for (const auto& [name, list] :
           {std::pair{"then", &t.then}, std::pair{"else", &t.otherwise}}) {
        for (std::size_t i = 0; i < list->size(); ++i) {
          const wire::TxnOp& op = (*list)[i];
          const std::string where = " (" + std::string(name) + "[" + std::to_string(i) + "])";
          if (op.kind == wire::TxnOp::Kind::kGet) {
            if (!who.mayRead(op.path)) return deny("read" + where, op.path);
          } else if (op.kind == wire::TxnOp::Kind::kDelTree) {
            if (!who.mayWriteAll(op.path)) return deny("delete all of" + where, op.path);
          } else if (!who.mayWrite(op.path)) {
            return deny("write" + where, op.path);
          } else if (op.kind == wire::TxnOp::Kind::kSet && op.lease != 0) {
            if (auto denied = notOwner(static_cast<std::int64_t>(op.lease), "keep files with")) {
              return denied;
            }
          }
        }
      }
      return std::nullopt;
    }
    case Verb::kSnapshot:
      if (!who.clusterAdmin()) return deny("download backups: that takes admin on /", "");
      return std::nullopt;
    case Verb::kJoin:
    case Verb::kPromote:
    case Verb::kRemove:
      if (!who.clusterAdmin()) return deny("change the membership: that takes admin on /", "");
      return std::nullopt;
  }
  return std::nullopt;
}

Action ClientService::withSession(const Request& req, Action a) const {
  if (!req.session && !req.seq) return a;
  if (a.kind != Action::Kind::kWrite) return a;  // refused already
  if (!req.session) return fail(req, Err::kMissingArg, "\"seq\" without \"session\"");
  if (!req.seq) {
    return fail(req, Err::kMissingArg, "missing \"seq\" (the write's number in its session)");
  }
  if (*req.session < 1) return fail(req, Err::kRange, "session must be >= 1 (a GRANT's id)");
  if (*req.seq < 1) return fail(req, Err::kRange, "seq must be >= 1");
  a.command.session = static_cast<std::uint64_t>(*req.session);
  a.command.seq = static_cast<std::uint64_t>(*req.seq);
  return a;
}

Action ClientService::write(Request& req) {
  if (!req.path) return fail(req, Err::kMissingArg, "missing \"path\"");
  auto comps = wire::splitPath(*req.path);
  if (!comps) return fail(req, comps.status().code(), comps.status().detail());
  if (comps->empty()) return fail(req, Err::kIsDir, "/ is a directory");
  if (wire::isCtlPath(*req.path))
    return fail(req, Err::kReadonly, "/ctl is written only by the nodes");
  if (!req.rev) return fail(req, Err::kMissingArg, "missing \"rev\" (-1 to clobber, 0 to create)");
  if (*req.rev < -1) return fail(req, Err::kRange, "rev must be -1, 0 or a positive revision");
  Action a;
  a.kind = Action::Kind::kWrite;
  a.tag = req.tag;
  a.wait = kWriteTimeout;
  a.command.path = *req.path;
  a.command.rev = *req.rev;
  if (req.verb == Verb::kSet) {
    if (!req.value) return fail(req, Err::kMissingArg, "missing \"value\"");
    if (req.value->size() > static_cast<std::size_t>(opts_.maxValue)) {
      const Status s = wire::tooLarge(req.value->size(), static_cast<std::size_t>(opts_.maxValue));
      return fail(req, s.code(), s.detail());
    }
    a.command.op = wire::Command::Op::kSet;
    a.command.value = std::move(*req.value);
    if (req.lease) {
      if (*req.lease < 1) return fail(req, Err::kRange, "lease must be >= 1 (a GRANT's id)");
      a.command.lease = static_cast<std::uint64_t>(*req.lease);
    }
  } else {
    a.command.op = wire::Command::Op::kDel;
  }
  return a;
}

Action ClientService::changes(const Request& req) const {
  // The node's own history: complete up to the reply's head, which needs no read point (a feed
  // consumer compares it with the heartbeats' heads).
  if (!req.path) return fail(req, Err::kMissingArg, "missing \"path\" (a glob)");
  auto g = wire::Glob::compile(*req.path);
  if (!g) return fail(req, g.status().code(), g.status().detail());
  if (!req.rev) return fail(req, Err::kMissingArg, "missing \"rev\" (the first rev wanted)");
  if (*req.rev < 0) return fail(req, Err::kRange, "rev must be >= 0");
  if (auto bad = checkLimit(req)) return *bad;
  const store::Store& st = store_;
  auto page = st.changes(*g, *req.rev, static_cast<std::size_t>(req.limit.value_or(kDefaultPage)),
                         kWalkBytes);
  if (!page) return replyWith(errorAt(page.status(), st.rev()), req.tag);
  Reply r;
  r.entries.emplace();
  r.entries->reserve(page->changes.size());
  for (const auto& c : page->changes) {
    wire::Entry e;
    e.path = c.path;
    e.rev = c.rev;
    e.op = c.opName();
    e.value = *c.value;
    r.entries->push_back(std::move(e));
  }
  // Asked from beyond the head: nothing in [rev, rev - 1] is missing, and "continue at head + 1"
  // must not move backwards.
  r.head = std::max(page->complete, *req.rev - 1);
  return replyWith(std::move(r), req.tag);
}

Action ClientService::wait(Request& req) {
  if (!req.path) return fail(req, Err::kMissingArg, "missing \"path\" (a glob)");
  auto g = wire::Glob::compile(*req.path);
  if (!g) return fail(req, g.status().code(), g.status().detail());
  if (req.rev && *req.rev < 0) return fail(req, Err::kRange, "rev must be >= 0");
  if (auto bad = checkTimeout(req)) return *bad;
  std::int64_t from = req.rev.value_or(head() + 1);
  if (auto r = tryWait(*g, &from)) return replyWith(std::move(*r), req.tag);
  Action a;
  a.kind = Action::Kind::kPark;
  a.tag = req.tag;
  a.glob = std::move(g.value());
  a.from = from;
  a.wait = req.timeoutMs ? std::chrono::milliseconds(*req.timeoutMs) : kDefaultWait;
  a.request = std::move(req);
  return a;
}

// Only the shape is checked here: which backups exist and how long they are is the Backups room's.
Action ClientService::snapshot(Request& req) const {
  if (req.offset && !req.slot) {
    return fail(req, Err::kMissingArg,
                "missing \"slot\" (the backup's, from the reply to the SNAPSHOT that began it)");
  }
  if (req.slot && !req.offset) return fail(req, Err::kMissingArg, "missing \"offset\"");
  if (req.slot && *req.slot < 0) return fail(req, Err::kRange, "slot must be >= 0");
  if (req.offset && *req.offset < 0) return fail(req, Err::kRange, "offset must be >= 0");
  Action a;
  a.kind = Action::Kind::kSnapshot;
  a.tag = req.tag;
  a.request = std::move(req);
  return a;
}

// Only the shape is checked here: what the configuration allows is the Members room's.
Action ClientService::members(Request& req) const {
  if (req.verb == Verb::kJoin) {
    if (!req.peer || req.peer->empty()) {
      return fail(req, Err::kMissingArg, "missing \"peer\" (the joining node's peer endpoint)");
    }
    if (req.peer->find("://") == std::string::npos) {
      return fail(req, Err::kBadRequest,
                  "peer endpoint \"" + *req.peer + "\" is not an endpoint like tcp://host:port");
    }
    for (const char* wild : {"://*:", "://0.0.0.0:", "://[::]:"}) {
      if (req.peer->find(wild) != std::string::npos) {
        return fail(req, Err::kBadRequest,
                    "peer endpoint \"" + *req.peer +
                        "\" names no host the others can reach: give the joining node's address");
      }
    }
  } else if (req.verb != Verb::kMembers) {
    if (!req.id) return fail(req, Err::kMissingArg, "missing \"id\" (the member's)");
    if (*req.id < 1) return fail(req, Err::kRange, "id must be >= 1");
  }
  Action a;
  a.kind = Action::Kind::kMembers;
  a.tag = req.tag;
  a.request = std::move(req);
  return a;
}

// GRANT and REVOKE go through the log; KEEPALIVE and LEASE are for the Leases room, which keeps the
// leader's clock.
Action ClientService::lease(Request& req) const {
  Action a;
  a.tag = req.tag;
  if (req.verb == Verb::kGrant) {
    if (!req.ttl) return fail(req, Err::kMissingArg, "missing \"ttl\" (milliseconds)");
    if (*req.ttl < kMinTtl.count() || *req.ttl > kMaxTtl.count()) {
      return fail(req, Err::kRange,
                  "ttl must be between " + quoteDuration(kMinTtl) + " and " +
                      quoteDuration(kMaxTtl) + " (" + std::to_string(kMinTtl.count()) + ".." +
                      std::to_string(kMaxTtl.count()) + " ms)");
    }
    a.kind = Action::Kind::kWrite;
    a.wait = kWriteTimeout;
    a.command.op = wire::Command::Op::kGrant;
    a.command.ttl = *req.ttl;
    return a;
  }
  if (!req.lease) return fail(req, Err::kMissingArg, "missing \"lease\" (a GRANT's id)");
  if (*req.lease < 1) return fail(req, Err::kRange, "lease must be >= 1 (a GRANT's id)");
  if (req.verb == Verb::kRevoke) {
    a.kind = Action::Kind::kWrite;
    a.wait = kWriteTimeout;
    a.command.op = wire::Command::Op::kRevoke;
    a.command.lease = static_cast<std::uint64_t>(*req.lease);
    a.command.value = "revoked";
    return a;
  }
  a.kind = Action::Kind::kLease;
  a.request = std::move(req);
  return a;
}

// A TXN's shape, every path and its size; what the compares find and whether the writes succeed
// is decided where it is applied (store/store.h), at one rev.
Action ClientService::txn(Request& req) const {
  if (!req.txn) {
    return fail(req, Err::kMissingArg, "a TXN needs \"if\", \"then\" or \"else\" (arrays)");
  }
  const wire::Txn& t = *req.txn;
  const std::size_t ops = t.compares.size() + t.then.size() + t.otherwise.size();
  if (ops > wire::kMaxTxnOps) {
    return fail(req, Err::kTooLarge,
                "the transaction has " + std::to_string(ops) +
                    " compares and operations; at most " + std::to_string(wire::kMaxTxnOps) +
                    " are allowed");
  }
  std::size_t bytes = 0;
  auto checkPath = [&](const std::string& where, const std::string& path) -> std::optional<Action> {
    auto comps = wire::splitPath(path);
    Status s = comps.isOk() ? wire::checkNoDotNames(path) : comps.status();
    if (!s.isOk()) return fail(req, s.code(), where + ": " + s.detail());
    return std::nullopt;
  };
  for (std::size_t i = 0; i < t.compares.size(); ++i) {
    const wire::Compare& c = t.compares[i];
    if (auto bad = checkPath("if[" + std::to_string(i) + "]", c.path)) return *bad;
    bytes += c.value.size();
  }
  for (const auto& [name, list] : {std::pair{"then", &t.then}, std::pair{"else", &t.otherwise}}) {
    std::set<std::string_view> written;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const wire::TxnOp& op = (*list)[i];
      const std::string where = std::string(name) + "[" + std::to_string(i) + "]";
      if (auto bad = checkPath(where, op.path)) return *bad;
      bytes += op.value.size();
      if (op.kind == wire::TxnOp::Kind::kGet) continue;
      if (op.path == "/") {
        return op.kind == wire::TxnOp::Kind::kDelTree
                   ? fail(req, Err::kReadonly, where + ": / holds /ctl, which only the nodes write")
                   : fail(req, Err::kIsDir, where + ": / is a directory");
      }
      if (wire::isCtlPath(op.path))
        return fail(req, Err::kReadonly, where + ": /ctl is written only by the nodes");
      if (!written.insert(op.path).second) {
        return fail(req, Err::kBadRequest,
                    where + ": " + op.path + " is written twice in one transaction");
      }
    }
  }
  if (bytes > static_cast<std::size_t>(opts_.maxValue)) {
    return fail(req, Err::kTooLarge,
                "the transaction's values total " + std::to_string(bytes) +
                    " bytes; a transaction carries at most " + std::to_string(opts_.maxValue) +
                    " (cairnd --max-value)");
  }
  // Paths add at most 128 x 4 KiB: only a transaction with large values can pass the log's limit.
  if (const std::size_t size = bytes > (1 << 20) ? wire::encodeTxn(t).size() : 0;
      size > wire::kMaxTxnBytes) {
    return fail(req, Err::kTooLarge,
                "the transaction is " + std::to_string(size) + " bytes in the log; at most " +
                    std::to_string(wire::kMaxTxnBytes) + " are allowed");
  }
  Action a;
  a.kind = Action::Kind::kWrite;
  a.tag = req.tag;
  a.wait = kWriteTimeout;
  a.command.op = wire::Command::Op::kTxn;
  a.command.txn = std::make_shared<const wire::Txn>(std::move(*req.txn));
  return a;
}

// In a cluster a read of the head (REV included) is linearizable unless asked otherwise: it waits
// for a read point that a quorum confirmed. A read at a given rev needs none (the past is fixed),
// and a node alone applies every write before acknowledging it.
bool ClientService::linearizable(const Request& req) const {
  return opts_.cluster && req.consistency.value_or("linearizable") == "linearizable" &&
         !opts_.staleReads;
}

Action ClientService::linearRead(Request& req) {
  Action a;
  a.kind = Action::Kind::kLinearRead;
  a.tag = req.tag;
  a.wait = kWriteTimeout;
  a.request = std::move(req);
  return a;
}

Action ClientService::readOrPark(Request& req, const std::string& identity) {
  if (!req.path) return fail(req, Err::kMissingArg, "missing \"path\"");
  Status valid = req.verb == Verb::kWalk ? wire::Glob::compile(*req.path).status()
                                         : wire::splitPath(*req.path).status();
  if (!valid.isOk()) return fail(req, valid.code(), valid.detail());
  if (auto bad = checkLimit(req)) return *bad;
  if (req.rev && *req.rev < 0) return fail(req, Err::kRange, "rev must be >= 0");
  if (auto bad = checkTimeout(req)) return *bad;
  if (auto bad = checkConsistency(req)) return *bad;
  if (!req.rev && linearizable(req)) return linearRead(req);
  const std::int64_t at = req.rev.value_or(head());
  if (at > head()) {  // a future rev: wait until it is applied
    Action a;
    a.kind = Action::Kind::kPark;
    a.tag = req.tag;
    a.from = at;
    a.wait = req.timeoutMs ? std::chrono::milliseconds(*req.timeoutMs) : kDefaultFutureRead;
    a.request = std::move(req);
    return a;
  }
  return replyWith(read(req, at, identity), req.tag);
}

namespace {

// What a listing shows `who`: everything (no filter) when it may read everything; otherwise the
// files it may read and the directories with something it may read below.
store::Store::Visible visibleTo(const Access& who) {
  if (who.mayReadAll("/")) return {};
  return [&who](const std::string& path, bool dir) {
    return dir ? who.mayReadBelow(path) : who.mayRead(path);
  };
}

}  // namespace

Reply ClientService::read(const Request& req, std::int64_t at, const std::string& user) const {
  const store::Store& st = store_;
  const Access& who = access(user);
  if (Status s = st.checkReadable(at); !s.isOk()) return errorAt(s, st.rev());
  Reply r;
  r.head = at;
  const std::size_t limit = static_cast<std::size_t>(req.limit.value_or(kDefaultPage));
  switch (req.verb) {
    case Verb::kGet: {
      store::FileInfo fi = st.stat(*req.path, at);
      if (fi.dir)
        return errorAt(Status(Err::kIsDir, *req.path + " is a directory (use GETDIR)"), at);
      r.rev = fi.rev;
      r.value = fi.value ? *fi.value : std::string();
      if (fi.lease != 0) r.lease = static_cast<std::int64_t>(fi.lease);
      break;
    }
    case Verb::kRev:
      r.rev = at;
      r.head.reset();  // REV's answer is its rev (PROTOCOL.md §7)
      break;
    case Verb::kStat: {
      store::FileInfo fi = st.stat(*req.path, at);
      r.rev = fi.rev;
      r.len = fi.len;
      r.dir = fi.dir;
      if (fi.lease != 0) r.lease = static_cast<std::int64_t>(fi.lease);
      break;
    }
    case Verb::kGetdir: {
      auto page = st.getdir(*req.path, at, req.after, limit, visibleTo(who));
      if (!page) return errorAt(page.status(), at);
      r.rev = st.stat(*req.path, at).rev;
      r.entries.emplace();
      r.entries->reserve(page->names.size());
      for (std::size_t i = 0; i < page->names.size(); ++i) {
        wire::Entry e;
        e.name = std::move(page->names[i]);
        e.rev = page->nodes[i]->rev;
        e.dir = page->nodes[i]->dir;
        r.entries->push_back(std::move(e));
      }
      r.next = page->next;
      break;
    }
    case Verb::kWalk: {
      auto g = wire::Glob::compile(*req.path);
      auto page = st.walk(*g, at, req.after, limit, kWalkBytes, visibleTo(who));
      if (!page) return errorAt(page.status(), at);
      r.entries.emplace();
      r.entries->reserve(page->names.size());
      for (std::size_t i = 0; i < page->names.size(); ++i) {
        wire::Entry e;
        e.path = std::move(page->names[i]);
        e.rev = page->nodes[i]->rev;
        e.value = *page->nodes[i]->value;
        r.entries->push_back(std::move(e));
      }
      r.next = page->next;
      break;
    }
    default:
      break;
  }
  return r;
}

std::optional<Reply> ClientService::tryWait(const wire::Glob& glob, std::int64_t* from) const {
  const store::Store& st = store_;
  auto found = st.firstChanges(glob, *from);
  if (!found) return errorAt(found.status(), st.rev());
  if (found->empty()) {
    *from = std::max(*from, st.rev() + 1);  // nothing up to the head matched
    return std::nullopt;
  }
  const store::Change& c = found->front();
  Reply r;
  r.rev = c.rev;
  r.path = c.path;
  r.op = c.opName();
  r.value = *c.value;
  r.head = st.rev();
  if (found->size() > 1) {
    // Several matching changes share the rev (a lease's end): all of them, so that a WAIT loop
    // from rev + 1 misses none.
    std::vector<wire::Entry> all;
    for (const store::Change& m : *found) {
      wire::Entry e;
      e.path = m.path;
      e.rev = m.rev;
      e.op = m.opName();
      e.value = *m.value;
      all.push_back(std::move(e));
    }
    r.entries = std::move(all);
  }
  return r;
}

}  // namespace cairn::node
