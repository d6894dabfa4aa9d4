#include "node/node.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/join.h"
#include "node/log.h"
#include "store/file.h"
#include "wire/keys.h"

namespace cairn::node {

using wire::Err;
using wire::Status;

namespace {

constexpr int kDrainBatch = 1024;
constexpr auto kHeartbeatEvery = std::chrono::milliseconds(500);
constexpr auto kFactsEvery = std::chrono::milliseconds(500);  // to the web room (--http)
// A peer is reachable (cairn_peers_reachable) if a message of its came this recently.
constexpr auto kPeerHeardWithin = std::chrono::seconds(2);
constexpr auto kTick = std::chrono::milliseconds(10);
constexpr int kElectionTicks = 30;  // 300..600 ms without a leader starts an election
constexpr int kHeartbeatTicks = 5;

std::string hostOf(const std::string& endpoint) {
  auto p = endpoint.find("://");
  if (p == std::string::npos) return "";
  auto h = endpoint.substr(p + 3);
  auto c = h.rfind(':');
  return c == std::string::npos ? h : h.substr(0, c);
}

// Holds the data directory's lock until the process exits.
Status lockDataDir(const std::string& dir) {
  std::string lockPath = dir + "/LOCK";
  int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return Status(Err::kIo, "cannot lock " + lockPath + " (is another cairnd using " + dir +
                                "?): " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace

Node::Node(Config cfg, zmq::context_t& ctx)
    : cfg_(std::move(cfg)),
      ctx_(ctx),
      gate_(ctx_, stats_),
      clients_(ctx_, stats_),
      feed_(ctx_, stats_) {
  clients_.verbose = cfg_.verbose;
}

Node::~Node() = default;

namespace {

// A --peer-via endpoint, with the key of the member it stands for (unless it names one).
std::string viaWithKey(const std::string& via, const std::string& member) {
  if (!wire::splitKeyedEndpoint(via).key.empty()) return via;
  return wire::keyedEndpoint(via, wire::splitKeyedEndpoint(member).key);
}

}  // namespace

Status Node::checkMemberKeys() const {
  for (const auto* eps : {&cfg_.cluster, &identity_.peers}) {
    for (const auto& [id, ep] : *eps) {
      if (ep.empty()) continue;
      const std::string key = wire::splitKeyedEndpoint(ep).key;
      if (key.empty()) {
        return Status(Err::kBadRequest,
                      "with --key every member's peer endpoint names its key, as "
                      "tcp://KEY@host:port (KEY: the member's public key, from cairn keygen); "
                      "node " +
                          std::to_string(id) + "'s is " + ep);
      }
      if (id == static_cast<std::uint32_t>(cfg_.id) && key != gate_.key().publicKey) {
        return Status(Err::kBadRequest, "this node's peer endpoint " + ep + " names key " + key +
                                            ", but --key holds " + gate_.key().publicKey);
      }
    }
  }
  return Status::ok();
}

std::string Node::advertise(const std::string& bound) const {
  // "tcp://0.0.0.0:7102" is where the node listens, not where a client can connect.
  std::string host = hostOf(bound);
  if (host != "0.0.0.0" && host != "[::]" && host != "*") return bound;
  std::string repl = cfg_.advertiseHost;
  if (repl.empty()) {
    std::string ch = hostOf(clientAdvertised_);
    repl = (ch.empty() || ch == "0.0.0.0" || ch == "[::]") ? "127.0.0.1" : ch;
  }
  auto p = bound.find(host);
  return bound.substr(0, p) + repl + bound.substr(p + host.size());
}

Status Node::adoptIdentity() {
  IdentityRequest req;
  req.id = static_cast<std::uint32_t>(cfg_.id);
  req.idGiven = cfg_.idGiven;
  req.cluster = cfg_.cluster;
  req.peerEndpoint = cfg_.peerEndpoint;
  req.forceNewCluster = cfg_.forceNewCluster;
  if (!cfg_.join.empty()) {
    if (Status s = joinCluster(&req); !s.isOk()) return s;
  }
  auto d = prepareDataDir(cfg_.dataDir, req, cfg_.restoreFile, cfg_.historyRevs, &wrongData_);
  if (!d) return d.status();
  identity_ = d->identity;
  identityNote_ += d->note;
  // From here on the identity is the truth: the flags only bootstrapped it.
  cfg_.id = identity_.node;
  cfg_.cluster.clear();
  // A node runs the peer protocol once it has a peer endpoint, alone too: nodes can join it then.
  const auto self = identity_.members.find(identity_.node);
  const bool reachable = self != identity_.members.end() && !self->second.empty();
  if (identity_.members.size() > 1 || identity_.joined != 0 || reachable) {
    cfg_.cluster = identity_.members;
  }
  if (cfg_.peerEndpoint.empty()) {
    // A bootstrap member is in the first configuration; a node that joined, in the one it joined.
    for (const auto* eps : {&identity_.members, &identity_.peers}) {
      auto self = eps->find(identity_.node);
      if (self != eps->end()) cfg_.peerEndpoint = self->second;
    }
  }
  return Status::ok();
}

Status Node::joinCluster(IdentityRequest* req) {
  if (auto held = loadIdentity(cfg_.dataDir); held && !*held && holdsData(cfg_.dataDir)) {
    // Refused before the cluster is asked: a JOIN chosen for a node that then does not start
    // would leave a learner nobody runs.
    wrongData_ = true;
    return Status(Err::kBadRequest,
                  "--join takes an empty --data directory, and this one already holds a node's "
                  "data");
  }
  if (auto held = loadIdentity(cfg_.dataDir); held && *held) {
    // A restart with --join still on its command line: the same cluster, or a mistake.
    auto there = clusterAt(ctx_, cfg_.join, gate_.keyPair());
    if (there && *there != (*held)->cluster) {
      wrongData_ = true;
      return Status(Err::kBadRequest, "this --data directory belongs to cluster " +
                                          clusterHex((*held)->cluster) + " (node " +
                                          std::to_string((*held)->node) + "), and " + cfg_.join +
                                          " is cluster " + clusterHex(*there) +
                                          ": a node joins with an empty --data directory");
    }
    identityNote_ = "--join ignored: this directory is node " + std::to_string((*held)->node) +
                    " of cluster " + clusterHex((*held)->cluster) + " already; ";
    return Status::ok();
  }
  JoinRequest j;
  j.endpoint = cfg_.join;
  if (cfg_.idGiven) j.id = static_cast<std::uint32_t>(cfg_.id);
  j.peer = cfg_.peerEndpoint;
  j.key = gate_.keyPair();
  if (gate_.secure()) {
    j.peer = wire::keyedEndpoint(wire::splitKeyedEndpoint(j.peer).endpoint, gate_.publicKey());
  }
  // Endpoints with a port of their own are known before they are bound; /ctl has them later.
  auto known = [&](const std::string& ep) {
    const std::string port = ep.substr(ep.rfind(':') + 1);
    const bool numbered =
        !port.empty() && port != "0" && port.find_first_not_of("0123456789") == std::string::npos;
    return numbered ? advertise(ep) : std::string();
  };
  j.client = wire::keyedEndpoint(known(cfg_.clientEndpoint), gate_.publicKey());
  j.events = wire::keyedEndpoint(known(cfg_.eventsEndpoint), gate_.publicKey());
  j.observer = cfg_.learner;
  bool refused = false;
  auto id = cairn::node::joinCluster(ctx_, j, &refused);
  if (!id) {
    wrongData_ = refused;
    return id.status();
  }
  req->joined = std::move(id.value());
  return Status::ok();
}

Status Node::start() {
  if (Status s = gate_.start(cfg_.keyFile, cfg_.clientsFile, !cfg_.debugNoZap); !s.isOk()) {
    return s;
  }
  const bool existed = ::access(cfg_.dataDir.c_str(), F_OK) == 0;
  if (Status s = store::makeDirs(cfg_.dataDir); !s.isOk()) return s;
  if (Status s = lockDataDir(cfg_.dataDir); !s.isOk()) return s;
  if (Status s = adoptIdentity(); !s.isOk()) {
    if (!existed) {  // a refusal leaves no trace, not even the directory
      ::unlink((cfg_.dataDir + "/LOCK").c_str());
      ::rmdir(cfg_.dataDir.c_str());
    }
    return s;
  }

  store::Store::Options opts;
  opts.historyRevs = cfg_.historyRevs;
  paxos::Config pc;
  pc.id = static_cast<std::uint32_t>(cfg_.id);
  pc.members = {pc.id};
  if (!cfg_.cluster.empty()) {
    pc.members.clear();
    for (const auto& [id, ep] : cfg_.cluster)
      pc.members.push_back(id);
  }
  pc.cluster = identity_.cluster;
  pc.bootstrap = wire::votersOnly(identity_.cluster, pc.members);
  for (wire::Member& m : pc.bootstrap.members) {
    auto ep = identity_.members.find(m.id);
    if (ep != identity_.members.end()) m.peer = ep->second;
  }
  pc.electionTicks = kElectionTicks;
  pc.heartbeatTicks = kHeartbeatTicks;
  pc.seed = static_cast<std::uint64_t>(cfg_.id) * 0x9e3779b97f4a7c15ull;
  // Transfers and snapshot writes cut short by a crash leave hidden temporary files behind.
  if (auto tmps = store::listDir(cfg_.dataDir + "/snap", ".snap-", ".tmp")) {
    for (const auto& n : *tmps)
      ::unlink((cfg_.dataDir + "/snap/" + n).c_str());
  }
  auto opened = Replica::open(pc, cfg_.dataDir, opts, static_cast<std::uint64_t>(cfg_.logRetain));
  if (!opened) return opened.status();
  replica_ = std::move(opened->replica);
  applier_ = std::make_unique<Applier>(std::move(opened->store));
  snapshotter_ = std::make_unique<Snapshotter>(cfg_.dataDir + "/snap",
                                               static_cast<std::uint64_t>(cfg_.snapshotEvery),
                                               applier_->store().appliedIndex(), cfg_.verbose);

  ClientService::Options so;
  so.maxValue = cfg_.maxValue;
  so.cluster = !cfg_.cluster.empty();
  so.staleReads = cfg_.debugStaleReads;
  so.verbose = cfg_.verbose;
  service_ = std::make_unique<ClientService>(so, applier_->store(), stats_,
                                             [this](wire::Reply& r) { describe(r); });
  Waiters::Hooks wh;
  wh.send = [this](const Envelope& env, wire::Reply& r, const std::string& tag) {
    clients_.send(env, r, tag);
  };
  wh.askReadIndex = [this](std::uint64_t ctx) { return peers_ && peers_->askReadIndex(ctx); };
  wh.askLeadership = [this](std::uint64_t ctx) {
    return peers_ && replica_->core().readIndex(ctx, replica_->core().id());
  };
  wh.withdraw = [this](std::uint64_t id) { return replica_->withdraw(id); };
  wh.queued = [this](std::uint64_t id) { return replica_->queued(id); };
  waiters_ = std::make_unique<Waiters>(*service_, stats_, std::move(wh));
  Backups::Options bo;
  bo.dir = cfg_.dataDir + "/snap";
  backups_ =
      std::make_unique<Backups>(bo, applier_->store(), stats_,
                                [this](const Envelope& env, wire::Reply& r,
                                       const std::string& tag) { clients_.send(env, r, tag); });

  // The only voter is a quorum of its own: lead now. Either way, re-apply what was chosen after the
  // snapshot.
  const auto voters = replica_->core().membership().voters();
  if (voters.size() == 1 && voters.front() == pc.id) replica_->core().campaign();
  commit();
  if (!halted_.isOk()) return halted_;
  startupNote_ = identityNote_ + "; recovered rev " + std::to_string(applier_->store().rev()) +
                 " from " + opened->note;
  // Recovery read the whole WAL into memory and decoded the snapshot: give back what the heap
  // kept of it, so the node's footprint is its state, not its recovery's peak.
  ::malloc_trim(0);

  // Requests may carry a value up to the limit plus keys; larger messages still get a TOO_LARGE
  // reply up to twice the limit. Past this cap libzmq drops the connection (PROTOCOL.md, Limits).
  const std::int64_t cap = 2 * cfg_.maxValue + (64 << 10);
  // With a key, clients and subscribers are let in by the Gate, each request carries its user, and
  // each subscriber gets only what its user may read. The endpoints are advertised with the key
  // (tcp://KEY@host:port), so that a client that learns one (/ctl, NOT_LEADER) can check the node.
  if (Status st = gate_.serve(clients_.socket(), Gate::kClientDomain); !st.isOk()) return st;
  if (gate_.secure()) {
    clients_.authenticated = true;
    auto accessOf = [this](const std::string& user) -> const Access& { return gate_.access(user); };
    feed_.filterBy(accessOf,
                   [this](zmq::socket_t& s) { return gate_.serve(s, Gate::kClientDomain); });
    service_->setAccess(accessOf);
  }
  const std::string key = gate_.publicKey();
  // An endpoint copied from a ready line may name the node's key: it binds without it.
  for (auto [flag, ep] :
       {std::pair{"--client", &cfg_.clientEndpoint}, std::pair{"--events", &cfg_.eventsEndpoint}}) {
    const wire::KeyedEndpoint k = wire::splitKeyedEndpoint(*ep);
    if (!k.key.empty() && k.key != key) {
      return Status(Err::kBadRequest, std::string(flag) + " " + *ep + " names key " + k.key +
                                          (key.empty() ? ", and this node has none (--key)"
                                                       : ", and this node's is " + key));
    }
    *ep = k.endpoint;
  }
  if (Status s = clients_.bind(cfg_.clientEndpoint, cap); !s.isOk()) return s;
  clientAdvertised_ = wire::keyedEndpoint(advertise(clients_.boundEndpoint()), key);
  if (Status s = feed_.bind(cfg_.eventsEndpoint, cfg_.feedHwm); !s.isOk()) return s;
  eventsAdvertised_ = wire::keyedEndpoint(advertise(feed_.boundEndpoint()), key);

  if (!cfg_.cluster.empty()) {
    auto connectTo = cfg_.cluster;
    for (const auto& [id, ep] : identity_.peers)
      connectTo[id] = ep;
    for (const auto& [id, ep] : cfg_.peerVia) {
      // (the others when a change names them) A proxy is not the node: its key stays the node's.
      if (connectTo.count(id)) connectTo[id] = viaWithKey(ep, connectTo[id]);
    }
    PeerService::Hooks ph;
    ph.readPoint = [this](std::uint64_t ctx, std::uint64_t index) {
      waiters_->readPoint(ctx, index);
    };
    ph.snapshotTo = [this](std::uint32_t peer) { sender_->want(peer, ticks_); };
    ph.chunk = [this](wire::NodeMessage m) {
      receiver_->chunk(std::move(m), replica_->core().learned(), replica_->core().leader());
    };
    ph.chunkAck = [this](const wire::NodeMessage& m) { sender_->acked(m, ticks_); };
    peers_ = std::make_unique<PeerService>(ctx_, static_cast<std::uint32_t>(cfg_.id),
                                           identity_.cluster, std::move(connectTo),
                                           cfg_.peerEndpoint, *replica_, stats_, std::move(ph));
    peers_->verbose = cfg_.verbose;
    if (gate_.secure()) {
      if (Status s = checkMemberKeys(); !s.isOk()) return s;
      // Before the peer sockets open: the members' first connections must find their keys known.
      gate_.followMembers({&replica_->core().membership(), &replica_->core().latestMembership()},
                          identity_.peers);
      peers_->secure(&gate_);
    }
    if (Status s = peers_->start(); !s.isOk()) return s;
    auto sendFrame = [this](std::uint32_t peer, const std::string& frame) {
      peers_->sendFrame(peer, frame);
    };
    ChunkSender::Options co;
    co.chunk = static_cast<std::uint64_t>(cfg_.snapshotChunk);
    co.retryAfter = 100;    // ticks: 1 s without progress resends the window
    co.giveUpAfter = 3000;  // 30 s without an ack ends the transfer
    co.bytesPerTick = static_cast<std::uint64_t>(cfg_.snapshotRate) / 100;  // ticks of 10 ms
    if (cfg_.snapshotRate > 0 && co.bytesPerTick == 0) co.bytesPerTick = 1;
    sender_ = std::make_unique<SnapshotSender>(cfg_.dataDir + "/snap", peers_->header(), co, stats_,
                                               sendFrame);
    sender_->verbose = cfg_.verbose;
    SnapshotReceiver::Hooks rh;
    rh.send = sendFrame;
    rh.installed = [this](store::Store st, const SnapshotId& id, std::uint32_t from) {
      installSnapshot(std::move(st), id, from);
    };
    receiver_ = std::make_unique<SnapshotReceiver>(cfg_.dataDir + "/snap", peers_->header(), opts,
                                                   stats_, std::move(rh));
  }
  ctl_ = std::make_unique<Ctl>(static_cast<std::uint32_t>(cfg_.id), identity_.members, *replica_,
                               applier_->store(), /*lone=*/cfg_.cluster.empty());
  ctl_->setEndpoints(clientAdvertised_, eventsAdvertised_);
  Members::Options mo;
  mo.bootstrap = identity_.members;
  Members::Hooks mh;
  mh.send = [this](const Envelope& env, wire::Reply& r, const std::string& tag) {
    clients_.send(env, r, tag);
  };
  mh.clientOf = [this](std::uint32_t id) { return clientOf(id); };
  mh.complete = [this](wire::MemberInfo& m) {
    // Endpoints a configuration does not name (the bootstrap members') are in /ctl.
    const store::Store& st = applier_->store();
    for (auto [name, field] : {std::pair{"client", &m.client}, std::pair{"events", &m.events}}) {
      if (!field->empty()) continue;
      store::FileInfo fi = st.stat("/ctl/nodes/" + std::to_string(m.id) + "/" + name, st.rev());
      if (fi.exists && !fi.dir) *field = std::string(*fi.value);
    }
  };
  mh.log = [](const std::string& line) { logLine(line); };
  members_ =
      std::make_unique<Members>(static_cast<std::uint32_t>(cfg_.id), mo, *replica_, std::move(mh));
  Leases::Hooks lh;
  lh.leader = [this] { return replica_->core().leader(); };
  lh.clientOf = [this](std::uint32_t id) { return clientOf(id); };
  leases_ = std::make_unique<Leases>(static_cast<std::uint32_t>(cfg_.id), applier_->store(),
                                     std::move(lh));
  // A member a change removed stays removed: it must not vote or serve again.
  const wire::Membership& m = replica_->core().membership();
  const auto self = static_cast<std::uint32_t>(cfg_.id);
  wasMember_ = m.has(self);
  if (!wasMember_ && m.version >= identity_.joined) {
    wrongData_ = true;
    return Status(Err::kBadRequest,
                  "node " + std::to_string(self) + " was removed from cluster " +
                      clusterHex(identity_.cluster) + " (configuration " +
                      std::to_string(m.version) +
                      "): it may not vote or serve again. To bring this machine back, empty its "
                      "--data directory and start it with --join");
  }
  if (!cfg_.http.empty()) {
    web::WebOptions wo;
    wo.listen = cfg_.http;
    // The bound endpoint (the advertised one may be a name only others resolve), a wildcard host
    // read as this machine's loopback.
    wo.clientEndpoint = clients_.boundEndpoint();
    for (const auto& [any, loop] :
         {std::pair<std::string, std::string>{"tcp://0.0.0.0:", "tcp://127.0.0.1:"},
          {"tcp://[::]:", "tcp://[::1]:"}}) {
      if (wo.clientEndpoint.rfind(any, 0) == 0)
        wo.clientEndpoint = loop + wo.clientEndpoint.substr(any.size());
    }
    wo.nodeId = cfg_.id;
    wo.historyRevs = cfg_.historyRevs;
    wo.key = gate_.keyPair();
    wo.clientEndpoint = wire::keyedEndpoint(wo.clientEndpoint, gate_.publicKey());
    auto w = web::Web::start(ctx_, wo);
    if (!w) return w.status();
    web_ = std::move(*w);
    if (Status s = feed_.countConnections(); !s.isOk()) return s;
  }
  return Status::ok();
}

void Node::publishFacts() {
  const store::Store& st = applier_->store();
  Stats::Gauges& g = stats_.gauges;
  g.storeFiles = st.files();
  g.storeBytes = st.valueBytes();
  g.historyOldest = st.oldestRev();
  g.changesFrom = st.changesFrom();
  g.feedSubscribers = feed_.subscribers();
  const auto self = static_cast<std::uint32_t>(cfg_.id);
  g.peers = 0;
  for (const wire::Member& e : replica_->core().membership().members) {
    if (e.id != self) ++g.peers;
  }
  g.peersReachable = 0;
  const auto now = Clock::now();
  for (const wire::Member& e : replica_->core().membership().members) {
    if (e.id == self || !peers_) continue;
    auto heard = peers_->lastHeard(e.id);
    if (heard && now - *heard <= kPeerHeardWithin) ++g.peersReachable;
  }
  wire::Reply r;
  describe(r);
  r.stats.reset();  // the web takes every counter from the copy of Stats
  r.version = CAIRN_VERSION;
  r.rev = st.rev();
  web_->publish(stats_, r, now);
}

std::string Node::clientOf(std::uint32_t id) const {
  if (const wire::Member* m = replica_->core().membership().find(id); m && !m->client.empty()) {
    return m->client;
  }
  const store::Store& st = applier_->store();
  store::FileInfo fi = st.stat("/ctl/nodes/" + std::to_string(id) + "/client", st.rev());
  return fi.exists && !fi.dir ? std::string(*fi.value) : std::string();
}

void Node::followMembership() {
  const paxos::Core& core = replica_->core();
  const wire::Membership& latest = core.latestMembership();
  // Keyed on the configurations themselves: two leaders may propose different ones of a version.
  if (peers_ && (latest != peersLatest_ || core.membership() != peersChosen_)) {
    peersLatest_ = latest;
    peersChosen_ = core.membership();
    std::map<std::uint32_t, std::string> eps;
    for (const wire::Membership* m : {&core.membership(), &latest}) {
      for (const wire::Member& e : m->members) {
        if (!e.peer.empty()) eps[e.id] = e.peer;
      }
    }
    for (const auto& [id, ep] : cfg_.peerVia) {
      if (eps.count(id)) eps[id] = viaWithKey(ep, eps[id]);
    }
    if (Status s = peers_->addPeers(eps); !s.isOk()) logLine(s.toString());
    gate_.followMembers({&core.membership(), &latest}, identity_.peers);
  }
  const auto self = static_cast<std::uint32_t>(cfg_.id);
  const wire::Membership& m = core.membership();
  if (m.version != loggedConfig_) {
    loggedConfig_ = m.version;
    std::string voters, learners;
    for (const wire::Member& e : m.members) {
      std::string& list = e.voter ? voters : learners;
      list += (list.empty() ? "" : ",") + std::to_string(e.id);
    }
    logLine("configuration " + std::to_string(m.version) + ": voters " + voters +
            (learners.empty() ? "" : ", learners " + learners));
  }
  if (m.has(self)) {
    wasMember_ = true;
  } else if ((wasMember_ || m.version >= identity_.joined) && removed_.empty()) {
    // (A node that joined and was removed before it learned its own join was a member too.)
    removed_ = "node " + std::to_string(self) + " was removed from the cluster (configuration " +
               std::to_string(m.version) + "); ask another node";
    service_->removed(Status(Err::kUnavailable, removed_));
    logLine("REMOVED: " + removed_ + ". It serves no client and no longer votes.");
  }
  // Done once it does not lead: every value chosen is held by a majority of the configuration it
  // was chosen under, and consecutive configurations overlap, so the voters left recover the log
  // without it. A leader leaves once it has handed over (its take-over flushed as it closes).
  if (!removed_.empty() && core.role() != paxos::Core::Role::kLeader) {
    logLine("removed from the cluster: this node exits");
    loop_.stop();
  }
}

int Node::run(int stopFd) {
  loop_.onReadable(stopFd, [this, stopFd] {
    // SIGHUP reads --clients again; anything else (SIGTERM, SIGINT, a plain fd) stops the node.
    signalfd_siginfo si;
    if (::read(stopFd, &si, sizeof si) == static_cast<ssize_t>(sizeof si) &&
        si.ssi_signo == SIGHUP) {
      if (gate_.reload()) regranted();
      return;
    }
    loop_.stop();
  });
  if (gate_.secure()) loop_.onReadable(gate_.zap(), [this] { gate_.drainZap(kDrainBatch); });
  if (web_) {
    loop_.onReadable(feed_.monitor(), [this] { feed_.drainMonitor(kDrainBatch); });
    publishFacts();
    loop_.every(kFactsEvery, [this](Clock::time_point) { publishFacts(); });
  }
  loop_.onReadable(feed_.socket(),
                   [this] { feed_.drainSubscriptions(kDrainBatch, applier_->store().rev()); });
  if (peers_) {
    loop_.onReadable(peers_->socket(), [this] { peers_->drain(kDrainBatch); });
    loop_.onReadable(sender_->fd(), [this] { sender_->runCompletions(); });
    loop_.onReadable(receiver_->fd(), [this] { receiver_->runCompletions(); });
  }
  loop_.onReadable(backups_->fd(), [this] { backups_->runCompletions(); });
  loop_.onReadable(clients_.socket(), [this] {
    clients_.drain(kDrainBatch, [this](Envelope env, std::string_view body) {
      onRequest(std::move(env), body);
    });
  });
  loop_.every(kTick, [this](Clock::time_point) {
    if (!halted_.isOk()) return;
    ++ticks_;
    // Answers that come back over our DEALERs do not wake the loop (it polls the ROUTER).
    if (peers_) peers_->drainReplies(kDrainBatch);
    replica_->tick();
    if (sender_) sender_->tick(ticks_);
  });
  // A halted node falls silent on its feed, so watchers move to another node.
  loop_.every(kHeartbeatEvery, [this](Clock::time_point) {
    if (halted_.isOk())
      feed_.heartbeat(applier_->store().rev(), cfg_.id, replica_->core().leader());
  });
  loop_.every(std::chrono::seconds(1), [this](Clock::time_point now) { backups_->expire(now); });
  loop_.wakeBy([this] { return feed_.rebindBy(); });
  loop_.atTurnEnd([this](Clock::time_point now) { feed_.rebind(now); });
  loop_.wakeBy([this] {
    auto w = waiters_->earliest();
    if (!halted_.isOk()) return w;  // a halted node keeps no time for leases
    auto l = leases_->earliest();
    if (w && l) return std::optional<Clock::time_point>(std::min(*w, *l));
    return w ? w : l;
  });
  loop_.atTurnEnd([this](Clock::time_point now) { endTurn(now); });
  feed_.heartbeat(applier_->store().rev(), cfg_.id, replica_->core().leader());
  const bool polled = loop_.run();
  if (halted_.isOk()) {
    if (Status s = replica_->flush(); !s.isOk())
      logLine("cannot sync the log on the way out: " + s.toString());
  }
  return polled && halted_.isOk() && !feedLost_ ? 0 : 1;
}

void Node::onRequest(Envelope env, std::string_view body) {
  Action a = service_->handle(body, env.identity);
  env.verb = a.verb;
  switch (a.kind) {
    case Action::Kind::kReply:
      clients_.send(env, a.reply, a.tag);
      return;
    case Action::Kind::kWrite: {
      wire::Command cmd = std::move(a.command);
      const std::uint64_t id = waiters_->add(std::move(env), std::move(a), Clock::now());
      replica_->propose(std::move(cmd), id);
      return;
    }
    case Action::Kind::kLinearRead:
    case Action::Kind::kPark:
      (void)waiters_->add(std::move(env), std::move(a), Clock::now());
      return;
    case Action::Kind::kSnapshot:
      backups_->serve(std::move(env), a.request, a.tag, Clock::now());
      return;
    case Action::Kind::kLease: {
      const auto now = Clock::now();
      wire::Reply r = leases_->handle(a.request, now);
      // A renewal leaves once a quorum confirmed this node still leads (a node alone needs none).
      // NOENT too: a deposed leader that does not know it yet must not tell a client its lease
      // is gone.
      const bool leaderSaid = r.status().isOk() || r.err == wire::Err::kNoEnt;
      if (leaderSaid && a.request.verb == wire::Verb::kKeepalive && peers_) {
        waiters_->confirm(std::move(env), std::move(r), a.tag, now);
      } else {
        clients_.send(env, r, a.tag);
      }
      return;
    }
    case Action::Kind::kMembers:
      if (a.request.verb == wire::Verb::kJoin && !peers_) {
        wire::Reply r = wire::Reply::error(
            Err::kBadRequest,
            "this node runs alone, with no peer endpoint: nodes can join a cluster started with "
            "--cluster, or a node restarted with --peer");
        clients_.send(env, r, a.tag);
        return;
      }
      members_->handle(std::move(env), a.request, Clock::now());
      return;
  }
}

void Node::endTurn(Clock::time_point now) {
  if (!halted_.isOk()) return;
  commit();
  if (!halted_.isOk()) return;
  if (Status s = snapshotter_->step(*replica_, stats_); !s.isOk()) {
    halt(s);
    return;
  }
  if (peers_) {
    // Transfers are the leader's: a node that stopped leading ends its own.
    if (replica_->core().role() != paxos::Core::Role::kLeader) sender_->stop();
    if (replica_->core().leader() != lastLeader_) {
      const bool hadLeader = lastLeader_ != 0;
      lastLeader_ = replica_->core().leader();
      ++stats_.leaderChanges;
      if (web_) publishFacts();  // /healthz and the viewer learn it now, not at the next period
      const wire::Ballot& b = replica_->core().promised();
      logLine(lastLeader_ != 0 ? "leader: node " + std::to_string(lastLeader_) + " (ballot " +
                                     std::to_string(b.round) + "." + std::to_string(b.node) + ")"
                               : "no leader known now");
      if (hadLeader) waiters_->leaderChanged();
    }
  }
  ctl_->maintain(now);
  members_->maintain(now);
  const paxos::Core& core = replica_->core();
  const std::uint64_t term = wire::termOf(core.promised().round, core.promised().node);
  for (wire::Command& c : leases_->step(core.inOffice(), term, now))
    replica_->propose(std::move(c), 0);  // nobody waits: the REVOKE's changes are the news
  followMembership();
  waiters_->service(replica_->core().learned(), Clock::now());
}

void Node::installSnapshot(store::Store snapshot, const SnapshotId& id, std::uint32_t from) {
  if (!halted_.isOk()) return;
  if (id.slot <= replica_->core().learned()) {  // caught up from the log meanwhile
    receiver_->dispose(std::move(snapshot), 0);
    return;
  }
  snapshotter_->adopted(id.slot);
  receiver_->dispose(applier_->install(std::move(snapshot)), id.slot);
  feed_.reset(applier_->store().rev());  // the revs it jumped over were never published
  if (Status s = replica_->installSnapshot(id.slot, applier_->store().members()); !s.isOk()) {
    halt(Status(s.code(), "cannot install a snapshot: " + s.detail()));
    return;
  }
  ++stats_.snapshotsInstalled;
  logLine("installed the " + id.describe() + " from node " + std::to_string(from) + ", rev " +
          std::to_string(applier_->store().rev()));
}

void Node::regranted() {
  waiters_->regranted();
  if (Status s = feed_.reopen(Clock::now()); !s.isOk()) {
    // An XPUB that could not be made the Gate's server must not be bound: the node stops rather
    // than serve its feed to anyone, or not at all.
    logLine("cannot open the feed again after the grants or keys changed: " + s.toString() +
            "; this node exits");
    feedLost_ = true;
    loop_.stop();
    return;
  }
  logLine(
      "the grants or the client keys changed: the feed closed its subscribers' connections; "
      "each subscribes again under the new grants");
}

void Node::halt(const Status& why) {
  if (!halted_.isOk()) return;
  halted_ = why;
  logLine("HALTED: " + why.toString() +
          "; this node takes no further part and answers only SELF until it is restarted");
  const Status refusal(Err::kIo, "node " + std::to_string(cfg_.id) + " halted: " + why.detail());
  service_->halt(refusal);
  waiters_->abandon(refusal);
  backups_->halt(refusal);
  if (peers_) {
    peers_->stop();
    sender_->stop();
  }
}

void Node::commit() {
  auto drained = replica_->drain(peers_.get());
  if (!drained) {
    const Status& s = drained.status();
    halt(Status(s.code(), (s.code() == Err::kCorrupt ? "the log holds what it cannot read: "
                                                     : "the log cannot persist writes: ") +
                              s.detail()));
    return;
  }
  if (drained->synced) stats_.syncLatency.record(*drained->synced);
  if (peers_) peers_->deliver(*drained);
  for (const auto& rs : drained->readsLost) {
    if (rs.from == replica_->core().id()) waiters_->readPointLost(rs.ctx);
  }
  for (std::uint64_t id : drained->refused)
    waiters_->refused(id);
  apply(*drained);
}

void Node::apply(const Replica::Drained& d) {
  if (d.slots.empty()) return;
  const std::uint64_t reached = d.slots.back().slot;  // every slot up to here is chosen
  const Chosen* next = d.chosen.data();
  const Chosen* end = next + d.chosen.size();
  while (true) {
    const std::uint64_t cut = snapshotter_->nextCut();
    const Chosen* upTo = next;
    while (upTo != end && upTo->slot <= cut)
      ++upTo;
    if (upTo != next) {
      const auto began = Clock::now();
      Applier::Applied applied = applier_->apply(next, upTo);
      const auto now = Clock::now();
      stats_.applyLatency.record(now - began);
      feed_.publish(applied.changes);
      if (leases_ && !applied.sessions.empty()) leases_->used(applied.sessions, now);
      for (const Applier::Outcome& o : applied.outcomes)
        waiters_->applied(o, now);
      next = upTo;
    }
    if (reached < cut) break;
    snapshotter_->begin(*replica_, applier_->store());  // the state after slot `cut` exactly
  }
  if (!d.chosen.empty()) stats_.batchSize.add(d.chosen.size());
  stats_.slotsChosen += d.chosen.size();
}

void Node::describe(wire::Reply& r) const {
  r.id = cfg_.id;
  r.leader = halted_.isOk() ? replica_->core().leader() : 0;  // it follows nobody any more
  if (peers_) r.dropped = static_cast<std::int64_t>(peers_->dropped());
  r.client = clientAdvertised_;
  r.events = eventsAdvertised_;
  if (!halted_.isOk()) r.halted = halted_.detail();
  const paxos::Core& core = replica_->core();
  if (!halted_.isOk()) {
    r.role = "halted";
  } else if (!removed_.empty()) {
    r.role = "removed";
  } else if (core.role() == paxos::Core::Role::kLeader) {
    r.role = "leader";
  } else if (!core.membership().isVoter(static_cast<std::uint32_t>(cfg_.id))) {
    r.role = "learner";  // a member that follows the log and never votes (or not one yet)
  } else {
    r.role = core.role() == paxos::Core::Role::kCandidate ? "candidate" : "follower";
  }
  r.slot = static_cast<std::int64_t>(core.learned());  // applied as soon as learned (commit())
  r.lag = static_cast<std::int64_t>(core.chosenHeard() - core.learned());
  r.uptimeMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count();
  r.fsyncUs = static_cast<std::int64_t>(stats_.syncLatency.last());
  r.maxValue = cfg_.maxValue;
  r.stats = stats_.counters();
}

}  // namespace cairn::node
