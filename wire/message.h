#pragma once
// The client protocol's messages as C++ values. Every field mirrors a key of PROTOCOL.md one to
// one; the codec (codec.h) is the only place that turns them into bytes and back.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"
#include "wire/txn.h"

namespace cairn::wire {

enum class Verb : std::uint8_t {
  kGet,
  kSet,
  kDel,
  kRev,
  kWait,
  kWalk,
  kGetdir,
  kStat,
  kNop,
  kSelf,
  kChanges,
  kSnapshot,
  kMembers,    // the configuration, as this node knows it (the leader adds each member's progress)
  kJoin,       // a new node asks to join as a learner (the leader only)
  kPromote,    // a learner becomes a voter (the leader only)
  kRemove,     // a member leaves (the leader only)
  kGrant,      // a new lease with a ttl
  kRevoke,     // a lease ends now, and its files with it
  kKeepalive,  // a lease's ttl starts again (the leader only)
  kLease,      // a lease's ttl, time left and files
  kTxn,        // compares, then one of two lists of operations, at one rev
  kLast = kTxn,  // the last verb: arrays indexed by verb take kLast + 1
};

const char* verbName(Verb v);
// Matches the protocol's upper-case names, ignoring ASCII case.
std::optional<Verb> verbFromName(std::string_view name);

// A client request: one msgpack map with string keys.
struct Request {
  Verb verb = Verb::kNop;
  std::optional<std::string> path;  // a path, or a glob for WAIT and WALK
  std::optional<std::int64_t> rev;
  std::optional<std::string> value;
  std::string tag;  // the packed msgpack bytes of "tag", echoed verbatim; empty when absent
  std::optional<std::string> after;   // paging: continue after this name (GETDIR) or path (WALK)
  std::optional<std::int64_t> limit;  // paging: at most this many entries
  std::optional<std::int64_t> timeoutMs;   // key "timeout": how long WAIT or a future read waits
  std::optional<std::string> consistency;  // "linearizable" (default) or "local"
  std::optional<std::int64_t> slot;        // SNAPSHOT: the log slot that names a backup
  std::optional<std::int64_t> offset;      // SNAPSHOT: the first byte of the backup wanted
  std::optional<std::int64_t> id;          // JOIN (the id wanted), PROMOTE, REMOVE: a member
  std::optional<std::string> peer;         // JOIN: the new node's endpoints
  std::optional<std::string> client;
  std::optional<std::string> events;
  std::optional<bool> observer;  // JOIN: stay a learner for good (cairnd --learner)
  std::optional<std::int64_t>
      lease;                        // SET: the lease that keeps the file; REVOKE, KEEPALIVE, LEASE
  std::optional<std::int64_t> ttl;  // GRANT: the lease's time to live, ms
  // Exactly-once writes (SET, DEL, TXN, GRANT, REVOKE): the client's session (a lease id) and the
  // write's number in it.
  std::optional<std::int64_t> session;
  std::optional<std::int64_t> seq;
  // TXN: keys "if", "then" and "else" (present when any of them is).
  std::optional<Txn> txn;
};

// One member of the configuration (MEMBERS, JOIN), or of the bootstrap one (JOIN, id and peer).
struct MemberInfo {
  std::int64_t id = 0;
  std::string role;  // "voter", "learner" or "observer" (a learner for good)
  std::string peer;
  std::string client;
  std::string events;
  std::optional<std::int64_t> learned;  // MEMBERS answered by the leader: its chosen prefix
  bool operator==(const MemberInfo& o) const {
    return id == o.id && role == o.role && peer == o.peer && client == o.client &&
           events == o.events && learned == o.learned;
  }
};

// One entry of a GETDIR page (name, rev, dir) or of a WALK page (path, rev, value).
struct Entry {
  std::string name;
  std::string path;
  std::int64_t rev = 0;
  std::optional<bool> dir;
  std::optional<std::string> value;
  std::optional<std::string> op;  // CHANGES: "set" or "del" (with path, rev, value); TXN results
  std::optional<std::int64_t> len = std::nullopt;    // TXN results: files a "deltree" deleted
  std::optional<std::int64_t> lease = std::nullopt;  // TXN results: a "get" of a file a lease keeps
};

// One of a node's counters, as SELF reports them (PROTOCOL.md §7, SELF).
struct Counter {
  std::string name;
  std::int64_t value = 0;
  bool operator==(const Counter& o) const { return name == o.name && value == o.value; }
};

// A reply: one msgpack map with string keys. Absent optionals are absent keys.
struct Reply {
  Err err = Err::kOk;
  std::string detail;
  std::string tag;  // packed msgpack bytes, copied from the request
  std::optional<std::int64_t> rev;
  std::optional<std::string> path;
  std::optional<std::string> value;
  std::optional<std::string> op;
  std::optional<std::int64_t> len;
  std::optional<bool> dir;
  std::optional<std::vector<Entry>> entries;
  std::optional<std::string> next;  // paging: pass as "after" to get the next page
  std::optional<std::int64_t> head;
  std::optional<std::int64_t> id;
  std::optional<std::int64_t> leader;
  std::optional<std::int64_t> dropped;  // SELF: peer messages refused (malformed, foreign, spoofed)
  std::optional<std::string> client;
  std::optional<std::string> events;
  std::optional<std::string> version;
  // SELF: why this node stopped serving (its disk failed); absent while it serves.
  std::optional<std::string> halted;
  std::optional<std::vector<Counter>> stats;  // SELF: the node's counters
  // SELF, the node's status (PROTOCOL.md §7, SELF):
  std::optional<std::string> role;       // "leader", "follower", "candidate" or "halted"
  std::optional<std::int64_t> slot;      // the log slot applied last
  std::optional<std::int64_t> lag;       // slots known chosen, not yet applied here
  std::optional<std::int64_t> uptimeMs;  // key "uptime_ms"
  std::optional<std::int64_t> fsyncUs;   // key "fsync_us": the last log sync, microseconds
  std::optional<std::int64_t> maxValue;  // key "max_value": the largest value a SET may carry
  std::optional<std::int64_t> offset;    // SNAPSHOT: where in the backup `value` begins
  std::optional<std::vector<MemberInfo>> members;    // MEMBERS, JOIN: the configuration
  std::optional<std::vector<MemberInfo>> bootstrap;  // JOIN: the cluster's first configuration
  std::optional<std::string> cluster;                // MEMBERS, JOIN: the cluster id, 16 hex
  std::optional<std::int64_t> config;     // MEMBERS, JOIN, PROMOTE, REMOVE: the version it holds
  std::optional<std::int64_t> lease;      // GRANT, KEEPALIVE, LEASE; GET, STAT: the file's lease
  std::optional<std::int64_t> ttl;        // GRANT, KEEPALIVE, LEASE: the lease's ttl, ms
  std::optional<std::int64_t> remaining;  // LEASE from the leader: ms left by its clock
  std::optional<bool> succeeded;          // TXN: every compare held (the "then" branch ran)
  std::optional<std::vector<Entry>> results;  // TXN: one per operation of the branch that ran

  static Reply error(Err e, std::string detail) {
    Reply r;
    r.err = e;
    r.detail = std::move(detail);
    return r;
  }
  Status status() const { return Status(err, detail); }
};

// A subscribed topic prefix and a rev: in an event, the rev of the previous change under that
// prefix; in a heartbeat, the rev of the latest one. See PROTOCOL.md, "Change feed".
struct PrefixRev {
  std::string prefix;
  std::int64_t rev = 0;
  bool operator==(const PrefixRev& o) const { return prefix == o.prefix && rev == o.rev; }
};

// One applied mutation, as published on the change feed (topic = path).
struct Event {
  std::int64_t rev = 0;
  std::string path;
  std::string op;  // "set" or "del"
  std::string value;
  // For each prefix some subscriber of this node holds that the path falls under: no change under
  // the prefix has a rev strictly between prev and rev. Empty for a rev of several changes.
  std::vector<PrefixRev> prev;
  // Several changes at one rev (a transaction, a lease's end): this is change i of n, in order
  // (keys "i" and "n", sent only when n > 1).
  std::int64_t i = 0;
  std::int64_t n = 1;
};

// The feed's control topic. Paths always begin with '/', so no path can start with it. A node
// with grants (PROTOCOL.md §12.3) sends each user heartbeats of its own, on a topic that begins
// with it ("!hb.<n>."): a message is a heartbeat when its topic begins with "!hb".
inline constexpr std::string_view kHeartbeatTopic = "!hb";
inline bool isHeartbeatTopic(std::string_view topic) {
  return topic.substr(0, kHeartbeatTopic.size()) == kHeartbeatTopic;
}

struct Heartbeat {
  std::int64_t rev = 0;     // the node's head rev: every change up to it was published before
  std::int64_t id = 0;      // the node's id
  std::int64_t boot = 0;    // differs each time the node starts (a feed restarts with it)
  std::int64_t seq = 0;     // 1, 2, 3... within one boot: a missing number is a lost heartbeat
  std::int64_t leader = 0;  // the leader this node follows, 0 when it knows none
  // The prefixes whose latest change moved since heartbeat seq-1, with that change's rev (or a
  // rev at which the node started tracking the prefix).
  std::vector<PrefixRev> last;
  // Some subscriber's prefix is not tracked (too many prefixes): `last` cannot be trusted to
  // list every prefix that moved.
  bool partial = false;
};

}  // namespace cairn::wire
