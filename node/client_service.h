#pragma once
// ClientService: what a client request means. A request (its bytes, or decoded) and the caller's
// identity in; one Action out: a reply now, a command to propose, a linearizable read to confirm,
// or a wait to park. New verbs and, later, permission checks live here.
//
// Owns: its options and whether the node halted; reads the store (which only the Applier writes).
// No sockets, no clock, no log: the node turns an Action into effects (Waiters holds what waits;
// the Replica orders writes). Thread: the node's event loop. Also serves the reads that Waiters
// releases later (read at a rev, WAIT from history), so every reply of a read is built here.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "node/grants.h"
#include "node/stats.h"
#include "store/store.h"
#include "wire/codec.h"
#include "wire/command.h"
#include "wire/message.h"
#include "wire/path.h"

namespace cairn::node {

// Limits and defaults of the client protocol that the node enforces (PROTOCOL.md §10).
inline constexpr std::int64_t kDefaultPage = 1000;
inline constexpr std::int64_t kMaxPage = 10000;
inline constexpr std::size_t kWalkBytes = 4 << 20;
inline constexpr std::chrono::milliseconds kDefaultWait{30000};
inline constexpr std::chrono::milliseconds kDefaultFutureRead{5000};
inline constexpr std::chrono::milliseconds kMaxWait{3600 * 1000};
// A write not applied within this time is answered UNAVAILABLE (it never left this node) or
// TIMEOUT (a leader had it; it may still be applied); a linearizable read without a confirmed
// read point by then is UNAVAILABLE. Below the client library's default timeout.
inline constexpr std::chrono::milliseconds kWriteTimeout{4000};
// A lease's ttl bounds. The least is well above an election (a new leader gives every lease a full
// ttl anyway, so none ends because of the election).
inline constexpr std::chrono::milliseconds kMinTtl{2000};
inline constexpr std::chrono::milliseconds kMaxTtl{24 * 3600 * 1000};

// "4 s", "30 s", "250 ms": a duration as error messages quote it.
std::string quoteDuration(std::chrono::milliseconds d);

// An error reply that tells the client the head rev it was refused at.
wire::Reply errorAt(const wire::Status& s, std::int64_t head);

// The answer of a node that does not lead to a request only the leader serves: NOT_LEADER with
// the leader's id and client endpoint (`leaderClient`, "" when unknown) for the client to ask
// there, or UNAVAILABLE when no leader is known (`leader` 0). `what`: "membership changes", ...
wire::Reply notLeader(const std::string& what, std::uint32_t leader,
                      const std::string& leaderClient);

struct Action {
  enum class Kind {
    kReply,       // send `reply` now
    kWrite,       // propose `command`; the reply comes when it is applied, or at `wait`
    kLinearRead,  // serve `request` at the head once a quorum confirmed a read point
    kPark,        // a WAIT (`glob` set) or a read at a future rev `from`: wait up to `wait`
    kSnapshot,    // a SNAPSHOT `request`, checked: Backups begins a backup or reads a chunk
    kMembers,     // MEMBERS, JOIN, PROMOTE or REMOVE `request`, checked: for the Members room
    kLease,       // KEEPALIVE or LEASE `request`, checked: for the Leases room
  };
  Kind kind = Kind::kReply;
  std::string tag;  // the request's tag, for the reply
  wire::Reply reply;
  wire::Command command;
  wire::Request request;
  std::optional<wire::Glob> glob;
  std::int64_t from = 0;  // WAIT: the first rev of interest; a parked read: the rev it reads
  std::chrono::milliseconds wait{0};
  int verb = -1;  // the request's verb (a wire::Verb's number); -1 if it did not decode
};

class ClientService {
 public:
  struct Options {
    std::int64_t maxValue = 1 << 20;
    // Part of a cluster: reads of the head wait for a read point a quorum confirmed.
    bool cluster = false;
    // Deliberately wrong, for the fault harness: linearizable reads answered locally.
    bool staleReads = false;
    bool verbose = false;
  };
  // Fills SELF's node-level fields (id, leader, endpoints, counters) into a reply.
  using Describe = std::function<void(wire::Reply&)>;

  ClientService(Options opts, const store::Store& store, Stats& stats, Describe describe);
  // A caller's rights by its user (the Gate's). Without one, everyone may do everything.
  using AccessOf = std::function<const Access&(const std::string& user)>;
  void setAccess(AccessOf accessOf) { accessOf_ = std::move(accessOf); }

  // Decodes and handles a request's bytes; a request that does not decode is answered here.
  Action handle(std::string_view body, const std::string& identity);
  Action handle(wire::Request req, const std::string& identity);

  // The refusal (PERMISSION, for a path or another user's lease) `user` gets for `req` under the
  // grants in force now, if any: handle() answers it, and a waiting request is checked again
  // after a reload.
  std::optional<wire::Reply> refusal(const wire::Request& req, const std::string& user) const;

  // The reply to a read (GET, STAT, GETDIR, WALK) at `at`, which must not be past the head; a
  // listing shows only what `user` may read.
  wire::Reply read(const wire::Request& req, std::int64_t at, const std::string& user) const;
  // A WAIT for `glob` from rev `*from`, answered from history if a change matched; otherwise
  // nullopt, and *from moves past the head (nothing up to it matched).
  std::optional<wire::Reply> tryWait(const wire::Glob& glob, std::int64_t* from) const;

  std::int64_t head() const { return store_.rev(); }

  // The node can no longer persist anything: from now on every request but SELF is answered
  // with `why`.
  void halt(wire::Status why) { halted_ = std::move(why); }
  // A change removed this node: every request but SELF and MEMBERS is answered `why`.
  void removed(wire::Status why) { removed_ = std::move(why); }

 private:
  const Access& access(const std::string& user) const;
  // PERMISSION when `who` may not do what `req` asks (listings are filtered later instead).
  std::optional<Action> authorize(const wire::Request& req, const std::string& user,
                                  const Access& who) const;
  // The action for a request `identity` may make, its write (if any) not yet stamped with them.
  Action route(wire::Request& req, const std::string& identity);
  Action write(wire::Request& req);
  bool linearizable(const wire::Request& req) const;
  Action linearRead(wire::Request& req);
  Action readOrPark(wire::Request& req, const std::string& identity);
  Action changes(const wire::Request& req) const;
  Action wait(wire::Request& req);
  Action snapshot(wire::Request& req) const;
  Action members(wire::Request& req) const;
  Action lease(wire::Request& req) const;
  Action txn(wire::Request& req) const;
  // A write's session and seq (exactly-once), checked and put into its command.
  Action withSession(const wire::Request& req, Action a) const;

  Options opts_;
  const store::Store& store_;
  Stats& stats_;
  Describe describe_;
  AccessOf accessOf_;
  Access everything_ = Access::everything();
  wire::DecodeLimits limits_;
  wire::Status halted_;
  wire::Status removed_;
};

}  // namespace cairn::node
