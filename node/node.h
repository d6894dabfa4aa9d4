#pragma once
// Node: one Cairn node. Owns the rooms and decides the order of one turn of the event loop; knows
// nothing of what a request means.
//
// The rooms (each a file pair with its own contract): Loop (the reactor), ClientSocket (the client
// ROUTER), ClientService (what a request means), Waiters (requests waiting for a write, a read
// point, a rev or a change), Replica (the Paxos core and its WAL), Applier (the only writer of the
// store), PeerService (forwarding, read index, routing snapshot transfers), SnapshotSender and
// SnapshotReceiver (catching a follower up with a snapshot, in chunks, off the loop), Feed (the
// XPUB), Ctl (/ctl through the log), Snapshotter (snapshots and log compaction), Backups (the
// backups clients download with SNAPSHOT), Stats (counters).
//
// One turn: ready sockets are drained (subscriptions, peers, clients: requests become proposals,
// replies or waiters), due timers run (the core's tick, the feed's heartbeat), then commit():
// the Replica persists and sends what the core produced, the Applier applies what was chosen, the
// Feed publishes each change, Waiters answer the writers; then snapshots, /ctl upkeep, and the
// Waiters answer what the new head allows and expire what is late.
// Thread: start() and run() on the caller's thread, the only one that touches the rooms.

#include <cstdint>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "node/applier.h"
#include "node/backups.h"
#include "node/client_service.h"
#include "node/client_socket.h"
#include "node/config.h"
#include "node/ctl.h"
#include "node/feed.h"
#include "node/gate.h"
#include "node/identity.h"
#include "node/leases.h"
#include "node/loop.h"
#include "node/members.h"
#include "node/peer_service.h"
#include "node/replica.h"
#include "node/snapshot_receiver.h"
#include "node/snapshot_sender.h"
#include "node/snapshotter.h"
#include "node/stats.h"
#include "node/waiters.h"
#include "node/web/web.h"
#include "wire/status.h"

namespace cairn::node {

class Node {
 public:
  Node(Config cfg, zmq::context_t& ctx);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Recovers the data directory and binds the sockets. Nothing is served until run().
  wire::Status start();
  // Serves until stopFd becomes readable (a signalfd, or any fd); returns a process exit code.
  int run(int stopFd);

  const std::string& clientEndpoint() const { return clientAdvertised_; }
  const std::string& eventsEndpoint() const { return eventsAdvertised_; }
  // HOST:PORT of the web room (--http), empty without one.
  std::string webListening() const { return web_ ? web_->listening() : std::string(); }
  std::int64_t rev() const { return applier_->store().rev(); }
  std::int64_t id() const { return cfg_.id; }  // the data directory's, once started
  const std::string& startupNote() const { return startupNote_; }
  // start() refused because the data directory belongs elsewhere (exit kExitWrongData).
  bool wrongData() const { return wrongData_; }

 private:
  using Clock = std::chrono::steady_clock;
  void onRequest(Envelope env, std::string_view body);
  void commit();
  void endTurn(Clock::time_point now);
  void describe(wire::Reply& r) const;
  // Hands the web room a copy of the counters and SELF (every kFactsEvery, with --http).
  void publishFacts();
  // With --key: every member's peer endpoint names its key, this node's its own.
  wire::Status checkMemberKeys() const;
  // Applies the chosen commands, cutting a snapshot at each slot Snapshotter::nextCut() names.
  void apply(const Replica::Drained& d);
  // A snapshot from the leader, already durable: the store, the feed and the log move to it.
  void installSnapshot(store::Store snapshot, const SnapshotId& id, std::uint32_t from);
  // SIGHUP changed some user's grants, or removed a key: parked requests are checked again, and
  // the feed's subscribers subscribe again under them (Feed::reopen).
  void regranted();
  // The disk failed: this node stops taking part and serves SELF only (PROTOCOL.md, SELF).
  void halt(const wire::Status& why);
  std::string advertise(const std::string& bound) const;
  // Decides (and on a first start records) which cluster and member this data directory is.
  wire::Status adoptIdentity();
  // --join: asks the cluster to take this node in, before the data directory is touched.
  wire::Status joinCluster(IdentityRequest* req);
  // After each commit: connects to the members a change named, and notices this node's removal.
  void followMembership();
  // A node's client endpoint, from the configuration or /ctl ("" when unknown).
  std::string clientOf(std::uint32_t id) const;

  Config cfg_;
  zmq::context_t& ctx_;
  Stats stats_;
  Loop loop_;
  Gate gate_;  // before the sockets it secures: its ZAP handler must outlive them
  ClientSocket clients_;
  Feed feed_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<Applier> applier_;
  std::unique_ptr<Snapshotter> snapshotter_;
  std::unique_ptr<ClientService> service_;
  std::unique_ptr<Waiters> waiters_;
  bool feedLost_ = false;  // a new XPUB could not be set up (regranted): the node exits
  std::unique_ptr<PeerService> peers_;  // null for a node alone
  std::unique_ptr<Ctl> ctl_;
  std::unique_ptr<SnapshotSender> sender_;      // null for a node alone
  std::unique_ptr<SnapshotReceiver> receiver_;  // null for a node alone
  std::unique_ptr<Backups> backups_;
  std::unique_ptr<Members> members_;
  std::unique_ptr<Leases> leases_;
  std::unique_ptr<web::Web> web_;  // null without --http
  std::uint64_t ticks_ = 0;
  std::string clientAdvertised_;
  std::string eventsAdvertised_;
  std::string startupNote_;
  Identity identity_;
  std::string identityNote_;
  bool wrongData_ = false;
  Clock::time_point started_ = Clock::now();
  std::uint32_t lastLeader_ = 0;
  wire::Status halted_;  // why the node halted; OK while it serves
  // The configurations the transport was last told of (the one chosen, and the newest).
  wire::Membership peersLatest_;
  wire::Membership peersChosen_;
  std::uint64_t loggedConfig_ = UINT64_MAX;  // the configuration version last logged
  bool wasMember_ = false;                   // a configuration this node learned named it
  // A chosen change removed this node: it serves no client, and exits once the others lead.
  std::string removed_;
};

}  // namespace cairn::node
