#pragma once
// One Cairn node: the client ROUTER, the change-feed PUB and the event loop that drives them.
//
// Owns: the sockets, the store, the log, and the requests waiting for a future rev or a change.
// Thread: run() is the node's only thread that touches any of this. Each loop iteration drains the
// client socket, hands every write to the Log, then in order: the log's chosen commands are
// applied to the store, writers get their replies, the feed publishes the changes, and parked
// requests that can now be answered are answered.

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "node/config.h"
#include "node/feed.h"
#include "node/replica.h"
#include "node/snapshotter.h"
#include "node/transport.h"
#include "store/store.h"
#include "wire/codec.h"
#include "wire/message.h"
#include "wire/path.h"

namespace cairn::node {

class Server {
 public:
  Server(Config cfg, zmq::context_t& ctx);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Recovers the data directory and binds the sockets. Nothing is served until run().
  wire::Status start();
  // Serves until stopFd becomes readable (a signalfd, or any fd) ; returns a process exit code.
  int run(int stopFd);

  const std::string& clientEndpoint() const { return clientAdvertised_; }
  const std::string& eventsEndpoint() const { return eventsAdvertised_; }
  std::int64_t rev() const { return store_->rev(); }
  const std::string& startupNote() const { return startupNote_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Envelope {
    std::vector<std::string> frames;  // routing id, then the empty delimiter if the client sent one
  };
  struct PendingWrite {
    Envelope env;
    std::string tag;
    wire::Verb verb;
    Clock::time_point deadline;  // answered UNAVAILABLE or TIMEOUT if not applied by then
  };
  // A linearizable read at the head, waiting for a confirmed read point (cluster mode).
  struct LinRead {
    Envelope env;
    wire::Request req;
    Clock::time_point deadline;
    std::optional<std::uint64_t> index;  // the read point, once confirmed
    bool asked = false;
  };
  struct Parked {
    Envelope env;
    wire::Request req;
    std::optional<wire::Glob> glob;  // WAIT
    std::int64_t from = 0;           // WAIT: the first rev of interest
    Clock::time_point deadline;
  };

  void drainClients();
  void handle(Envelope env, std::string_view body);
  void handleRequest(Envelope& env, wire::Request& req);
  // Answers a read at a readable rev, or parks it; returns false if parked.
  void serveRead(Envelope& env, wire::Request& req, std::int64_t rev);
  bool tryWait(Envelope& env, Parked& p);
  void commit();
  void askReadIndex(std::uint64_t ctx, LinRead& r);
  void serviceLinReads(Clock::time_point now);
  void drainPeers();
  void sendSnapshot(std::uint32_t to);
  void installSnapshot(const wire::PeerMessage& m);
  void expireWrites(Clock::time_point now);
  // When the leader changes, writes already handed to the old one may be lost: their clients
  // hear so at once (TIMEOUT, outcome unknown) rather than at the deadline.
  void onLeaderChange();
  void queueWrite(Envelope& env, const wire::Request& req, wire::Command cmd);
  void publish(const store::Change& c);
  void heartbeat();
  // Reads the subscriptions the feed's XPUB reports into feed_.
  void drainSubscriptions();
  void serviceParked(Clock::time_point now);
  void reply(const Envelope& env, wire::Reply& r, const std::string& tag);
  void maybeSnapshot();
  // Keeps /ctl describing the cluster (cluster mode): the leader, the members' peer endpoints,
  // each node's client and feed endpoints and, when user data changed, its applied rev.
  void maintainCtl(Clock::time_point now);
  void proposeCtl(const std::string& path, const std::string& value);
  std::string advertise(const std::string& bound) const;

  Config cfg_;
  zmq::context_t& ctx_;
  zmq::socket_t client_;
  zmq::socket_t pub_;  // an XPUB, so the node learns its subscribers' prefixes
  FeedIndex feed_;
  std::int64_t boot_ = 0;
  std::int64_t heartbeatSeq_ = 0;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<Transport> transport_;  // null for a node alone
  wire::DecodeLimits limits_;
  std::string clientAdvertised_;
  std::string eventsAdvertised_;
  std::string startupNote_;
  std::uint64_t nextProposal_ = 1;
  std::unordered_map<std::uint64_t, PendingWrite> pending_;
  std::list<Parked> parked_;
  std::map<std::uint64_t, LinRead> linReads_;
  std::uint64_t nextReadCtx_ = 1;
  std::uint64_t lastSnapshotIndex_ = 0;
  Clock::time_point nextHeartbeat_;
  Clock::time_point nextTick_;
  Snapshotter snapshotter_;
  bool wasLeader_ = false;
  std::uint32_t lastLeader_ = 0;
  bool userChanges_ = false;  // a change outside /ctl was applied since the last report
  Clock::time_point nextCtlReport_;
  bool failed_ = false;
};

}  // namespace cairn::node
