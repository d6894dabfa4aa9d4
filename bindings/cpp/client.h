#pragma once
// The C++ client library: every verb of the client protocol over a ZeroMQ REQ socket.
//
// Failover does not depend on which node died. Sockets run with ZMQ_IMMEDIATE, so a request is
// only ever handed to a connection that completed its handshake: when the node in use is gone,
// the client opens connections to every other endpoint at once and sends to the first that
// completes (the one that answered last, or the leader for writes, when it is among them). A
// request that could not be handed to any node within `connectTimeout` provably never left:
// UNAVAILABLE, "no node answered at ...", for writes too.
//
// Once sent, a request is the zguide's Lazy Pirate: no reply within the timeout, or the
// connection lost before the reply (a socket monitor sees the node die at once), closes the
// socket — a REQ socket that missed a reply is stuck — and a request that is safe to repeat
// (reads, WAIT, CHANGES, REV, SELF, NOP, a TXN whose branches hold only "get" operations) goes to
// the next node, up to `attempts` sends. A TXN of gets is also asked again, until `writeDeadline`,
// when a node answers TIMEOUT (it goes through the log, and its slot's fate was unknown). Writes
// (SET, DEL, GRANT, REVOKE, a TXN with a write in either branch) are exactly-once
// (Options::exactlyOnce, the default): each carries the client's session and a sequence number, and
// one that got no definite answer (no reply, TIMEOUT, UNAVAILABLE, or IO from every node that
// answered after an earlier attempt may have been applied) is sent again with the same number until
// a node answers or `writeDeadline` passes; the node applies it once and answers every copy with
// the first reply. Only then is it TIMEOUT: it may or may not have been applied. Without
// exactlyOnce, a write that left and got no reply is TIMEOUT at once and never resent. A node that
// answers IO has halted (its disk failed) and applied nothing of the request: every request, writes
// included, then goes to the next node.
//
// Writes, and every TXN (even one of gets: it goes through the log), go to the leader once it is
// known (a SELF, then /ctl/nodes/ID/client read locally on the same node), sparing the cluster a
// forwarding hop; any node would accept them. A value over the cluster's limit (SELF's max_value),
// or a TXN whose values total more, is refused before it is sent: over the node's socket cap the
// connection would be dropped with no reply at all.
//
// A backup (SNAPSHOT) lives on the node that made it, so backup() keeps to that node for the
// whole download: its chunk requests never fail over. When that node goes away, or its backup
// ends (TOO_LATE) or it cannot serve it (UNAVAILABLE, IO), the download starts over once, on
// another node.
//
// Thread: a Client is used by one thread at a time (it owns its sockets).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "wire/keys.h"
#include "wire/message.h"
#include "wire/status.h"

namespace cairn::client {

using wire::Result;
using wire::Status;

struct Options {
  std::vector<std::string> endpoints;       // client endpoints of the nodes (HOST:PORT is tcp://)
  std::chrono::milliseconds timeout{5000};  // how long a request that left waits for its reply
  // How long to wait for any node to accept a connection before a request is UNAVAILABLE.
  std::chrono::milliseconds connectTimeout{1000};
  int attempts = 3;          // sends per repeatable request, each to another node when there is one
  bool localReads = false;   // read the node's own state, which may trail (consistency "local")
  bool preferLeader = true;  // send writes to the leader once known
  // Exactly-once writes (PROTOCOL.md §5): SET, DEL, GRANT, REVOKE and a TXN that writes carry
  // this client's session (a lease it grants itself at its first write, `sessionTtl`) and a
  // sequence number. A write that got no definite answer is sent again, same number, to whichever
  // node answers, until one answers or `writeDeadline` passes: it is applied once.
  bool exactlyOnce = true;
  std::chrono::milliseconds sessionTtl{60000};
  std::chrono::milliseconds writeDeadline{10000};  // also bounds the resends of a TXN of gets
  // CURVE (PROTOCOL.md §12): this client's key pair (none: plain text), and the nodes' public key
  // for endpoints that do not name theirs as tcp://KEY@host:port. A node that refuses the key
  // makes a request fail at once with "authentication refused by ...", not a timeout; every
  // connection is made anew, so a key the node lets in later (SIGHUP) works from then on.
  std::optional<wire::KeyPair> key;
  std::string serverKey;
};

// The keys a program's flags name: `keyFile` (a key pair, owner-only; "" for none) and
// `serverKey` (a key file or a Z85 key; "" for none). The error names the flag (--key,
// --server-key) and what is wrong.
struct ClientKeys {
  std::optional<wire::KeyPair> pair;
  std::string server;
};
Result<ClientKeys> loadClientKeys(const std::string& keyFile, const std::string& serverKey);

// (A request that every node refused at the handshake fails with PERMISSION.)
// Sets CURVE on a socket about to connect to `endpoint` (tcp://KEY@host:port or plain, see
// Options::key and serverKey); returns the endpoint to connect to, or BAD_REQUEST when the keys do
// not go together (a keyed endpoint without a key pair, a key pair with no server key).
Result<std::string> secureSocket(zmq::socket_t& s, const std::string& endpoint,
                                 const std::optional<wire::KeyPair>& key,
                                 const std::string& serverKey);
// What a socket monitor's handshake failure (`event`, `value`) says about `endpoint`, for people;
// empty for any other event.
std::string handshakeFailure(std::uint16_t event, std::uint32_t value, const std::string& endpoint,
                             bool curve);

// Splits "tcp://a:1,b:2" into endpoints, each normalized (normalizeEndpoint) when it can be.
std::vector<std::string> splitEndpoints(const std::string& list);
// A node's state as `cairn status` and the web viewer name it, from its SELF reply (null: it did
// not answer): "down", "halted", or its role ("leader", "follower", "candidate", "learner",
// "removed"; "up" for a node older than the role field).
std::string nodeState(const wire::Reply* self);

// Whether an error says only that no consensus was reached this time (TIMEOUT, UNAVAILABLE, IO:
// no leader, a leader change, a node down or halted), so that asking again later may get an
// answer; any other error is the cluster's final answer to that request.
bool noConsensus(wire::Err e);

// "HOST:PORT" becomes "tcp://HOST:PORT"; tcp://, ipc:// and inproc:// endpoints are kept.
// Anything else is BAD_REQUEST, saying what an endpoint looks like.
Result<std::string> normalizeEndpoint(const std::string& endpoint);

struct File {
  std::string value;
  std::int64_t rev = 0;   // 0: the file does not exist
  std::int64_t head = 0;  // the revision the read saw
};

struct Info {
  std::int64_t rev = 0;
  std::int64_t len = 0;
  bool dir = false;
  std::int64_t head = 0;
};

struct Change {
  std::int64_t rev = 0;
  std::string path;
  std::string op;  // "set" or "del"
  std::string value;
};

// A backup downloaded with SNAPSHOT (PROTOCOL.md §7): a snapshot file of the store.
struct Backup {
  std::int64_t rev = 0;   // the backup's head rev
  std::int64_t slot = 0;  // the log slot it holds every command up to
  std::int64_t len = 0;   // its length in bytes
  std::string endpoint;   // the node it came from
  int begun = 0;          // backups begun: 2 when the download started over on another node
  std::string why;        // when it started over: why the first node's download failed
};

// What a TXN did (PROTOCOL.md §7): which branch ran, at which rev, and one result per operation
// of that branch, in order (op, path, rev; a "get": value, and lease when one keeps the file, rev
// 0 for a missing file; a "deltree": len, the files it deleted).
struct TxnReply {
  bool succeeded = false;  // every compare held: "then" ran; otherwise "else" did
  std::int64_t rev = 0;    // the rev its writes share; the head rev if it wrote nothing
  std::vector<wire::Entry> results;
};

// Receives a backup's bytes in order, each piece at its offset. Offset 0 after bytes already came
// means the download started over (another node, another backup): drop what came before. An error
// returned stops the download, and backup() returns it.
using BackupSink = std::function<Status(std::int64_t offset, std::string_view bytes)>;

class Client {
 public:
  explicit Client(Options opts);
  Client(Options opts, zmq::context_t& ctx);
  ~Client();
  Client(const Client&) = delete;
  Client(Client&&) noexcept;  // the context it uses lives on the heap (or outside): a move is safe
  Client& operator=(const Client&) = delete;

  // Sends one request and returns its reply; an error reply comes back as its Status.
  Result<wire::Reply> call(const wire::Request& req);

  Result<File> get(const std::string& path, std::optional<std::int64_t> rev = std::nullopt);
  // Compare-and-set: rev -1 clobbers, 0 creates only, otherwise rev >= the file's rev. Returns the
  // new revision.
  Result<std::int64_t> set(const std::string& path, const std::string& value, std::int64_t rev);
  // The same, the file kept by lease `lease` (deleted when the lease ends; 0: no lease).
  Result<std::int64_t> set(const std::string& path, const std::string& value, std::int64_t rev,
                           std::uint64_t lease);
  Result<std::int64_t> del(const std::string& path, std::int64_t rev);
  // A transaction: its compares on the head, then one branch applied at one rev, all or nothing.
  // An operation that fails fails it whole (its Status names it: "then[2] (set /a): ..."), and
  // nothing is applied. Repeated after a lost reply only when it writes nothing (see above).
  Result<TxnReply> txn(const wire::Txn& t);

  // Leases (PROTOCOL.md §7, GRANT). A new lease of `ttl`; its id.
  Result<std::uint64_t> grant(std::chrono::milliseconds ttl);
  // Ends a lease now: its files are deleted at one rev, returned (the head if it kept none).
  Result<std::int64_t> revoke(std::uint64_t lease);
  // KEEPALIVE, at the leader (followed from NOT_LEADER): the lease's ttl, which starts again. The
  // lease is alive until at least the time this call was made plus that ttl (NOENT: it ended).
  Result<std::chrono::milliseconds> keepAlive(std::uint64_t lease);
  // LEASE: its ttl, files (entries) and, from the leader, the time left (remaining, ms).
  Result<wire::Reply> lease(std::uint64_t lease);
  Result<std::int64_t> rev();
  Result<std::int64_t> nop();
  Result<Info> stat(const std::string& path, std::optional<std::int64_t> rev = std::nullopt);
  // Every entry of a directory (all pages, read at one revision).
  Result<std::vector<wire::Entry>> getdir(const std::string& path,
                                          std::optional<std::int64_t> rev = std::nullopt,
                                          std::int64_t* head = nullptr);
  // Every file matching a glob, with values (all pages, read at one revision).
  Result<std::vector<wire::Entry>> walk(const std::string& glob,
                                        std::optional<std::int64_t> rev = std::nullopt,
                                        std::int64_t* head = nullptr);
  // The changes matching the glob at the first rev >= `rev` that has any (one, unless several
  // changes share the rev, as when a lease ends), in order; TIMEOUT if none within `wait`.
  Result<std::vector<Change>> wait(
      const std::string& glob, std::int64_t rev,
      std::chrono::milliseconds wait = std::chrono::milliseconds(30000));
  Result<wire::Reply> self();
  // One page of the changes matching a glob with rev >= `rev`, in rev order; *complete is the
  // rev up to which the page holds every matching change (ask again from *complete + 1).
  Result<std::vector<Change>> changes(const std::string& glob, std::int64_t rev,
                                      std::int64_t* complete, std::int64_t limit = 1000);

  // Asks a node for a linearizable REV (unless localReads), so its state holds every write
  // acknowledged before the call, then begins a backup of that state on the same node and hands
  // its bytes to `sink`, chunk by chunk, all from that node; starts over once on another node
  // (see above). The bytes are not checked here: the caller checks the file's CRC-32C.
  Result<Backup> backup(const BackupSink& sink);

  // A membership change (JOIN, PROMOTE, REMOVE) or MEMBERS, sent on to the leader when a node
  // answers NOT_LEADER with the leader's client endpoint (even one not among `endpoints`). The
  // reply; an error reply comes back as its Status.
  Result<wire::Reply> leaderCall(const wire::Request& req);
  // The configuration (MEMBERS), from the leader when one is known: with each member's progress.
  Result<wire::Reply> members();

  // The endpoint of the node that answered last ("" before any did).
  std::string endpoint() const;
  // The session (lease id) this client's writes carry; 0 before the first write, or without
  // exactlyOnce. The destructor revokes it (at most a second's wait).
  std::uint64_t session() const { return session_.value_or(0); }

 public:
  struct Conn;  // one REQ socket to one endpoint, with the monitor that sees it drop

 private:
  Client(Options opts, zmq::context_t* ctx);
  enum class Sent { kNotSent, kReply, kLost, kTimeout };

  // A connection that can take a request now, to an endpoint not in `skip`: the current one if
  // it still can, else the first of the others to complete its handshake. Null when none did
  // within connectTimeout; *why then says what was tried.
  Conn* connection(const std::vector<bool>& skip, std::string* why);
  std::unique_ptr<Conn> open(std::size_t index, std::string* why);
  Sent exchange(Conn& c, const std::string& body, std::chrono::milliseconds timeout,
                zmq::message_t* reply);
  // Moves to the leader's endpoint when this node is not the leader and the leader's endpoint is
  // one of ours. Once per connection: a failover looks again.
  Status findLeader();
  // `extra`: how much longer than the timeout to wait for the reply (a backup being written).
  Result<wire::Reply> send(const wire::Request& req,
                           std::chrono::milliseconds extra = std::chrono::milliseconds(0));
  // One backup from one node; *retry says whether another node may do better.
  Status backupOnce(const BackupSink& sink, Backup* b, bool* retry);
  Result<std::vector<wire::Entry>> pages(wire::Request req, std::int64_t* head);
  // A write under this client's session: sent until a definite answer or the write deadline.
  Result<wire::Reply> sessionCall(wire::Request req);
  // A TXN of gets only: it goes through the log but changes nothing, so one whose slot's fate is
  // unknown (TIMEOUT) or that no node could take is asked again until writeDeadline passes.
  Result<wire::Reply> readTxnCall(const wire::Request& req);

  Options opts_;
  std::vector<Status> badEndpoints_;  // per endpoint: why it cannot be used (ok if it can)
  std::unique_ptr<zmq::context_t> ownCtx_;
  zmq::context_t* ctx_;
  std::unique_ptr<Conn> conn_;
  std::optional<std::size_t> answered_;   // the endpoint that answered last
  std::optional<wire::Reply> lastError_;  // the last error reply a node sent
  bool leaderChecked_ = false;
  std::optional<std::int64_t> maxValue_;  // the cluster's value limit, once a SELF told it
  // Endpoints send() must not use (empty: none): a backup's chunks go to its node only.
  std::vector<bool> avoid_;
  std::optional<std::uint64_t> session_;  // exactly-once: the lease this client's writes carry
  std::uint64_t seq_ = 0;                 // the last sequence number a write of it took
  bool refusedAll_ = false;  // the last connection() failed because every node refused the keys
};

}  // namespace cairn::client
