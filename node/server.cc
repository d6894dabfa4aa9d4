#include "node/server.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>

#include "store/file.h"
#include "store/snapshot.h"

namespace cairn::node {

using wire::Err;
using wire::Reply;
using wire::Request;
using wire::Status;
using wire::Verb;

namespace {

constexpr std::int64_t kDefaultPage = 1000;
constexpr std::int64_t kMaxPage = 10000;
constexpr std::size_t kWalkBytes = 4 << 20;
constexpr std::int64_t kDefaultWaitMs = 30000;
constexpr std::int64_t kDefaultFutureReadMs = 5000;
constexpr std::int64_t kMaxWaitMs = 3600 * 1000;
constexpr int kDrainBatch = 1024;
constexpr int kMaxFrames = 8;
constexpr auto kHeartbeatEvery = std::chrono::milliseconds(500);
constexpr auto kTick = std::chrono::milliseconds(10);
constexpr int kElectionTicks = 30;  // 300..600 ms without a leader starts an election
constexpr int kHeartbeatTicks = 5;
// A write not applied within this time is answered UNAVAILABLE (it never left this node) or
// TIMEOUT (a leader had it; it may still be applied). Below the client library's default timeout.
constexpr auto kWriteTimeout = std::chrono::milliseconds(4000);

bool isCtl(const std::vector<std::string>& comps) {
  return !comps.empty() && comps[0] == "ctl";
}

void logLine(const std::string& s) {
  std::string line = "cairnd: " + s + "\n";
  (void)!::write(2, line.data(), line.size());
}

std::string hostOf(const std::string& endpoint) {
  auto p = endpoint.find("://");
  if (p == std::string::npos) return "";
  auto h = endpoint.substr(p + 3);
  auto c = h.rfind(':');
  return c == std::string::npos ? h : h.substr(0, c);
}

}  // namespace

Server::Server(Config cfg, zmq::context_t& ctx)
    : cfg_(std::move(cfg)),
      ctx_(ctx),
      client_(ctx_, zmq::socket_type::router),
      pub_(ctx_, zmq::socket_type::xpub),
      snapshotter_(cfg_.dataDir + "/snap") {
  limits_.maxValue = static_cast<std::size_t>(cfg_.maxValue);
}

Server::~Server() = default;

std::string Server::advertise(const std::string& bound) const {
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

Status Server::start() {
  if (Status s = store::makeDirs(cfg_.dataDir); !s.isOk()) return s;
  std::string lockPath = cfg_.dataDir + "/LOCK";
  int lockFd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lockFd < 0 || ::flock(lockFd, LOCK_EX | LOCK_NB) != 0) {
    return Status(Err::kIo, "cannot lock " + lockPath + " (is another cairnd using " +
                                cfg_.dataDir + "?): " + std::strerror(errno));
  }
  // The lock is held until the process exits.

  store::Store::Options opts;
  opts.historyRevs = cfg_.historyRevs;
  paxos::Config pc;
  pc.id = static_cast<std::uint32_t>(cfg_.id);
  pc.members = {pc.id};
  if (!cfg_.cluster.empty()) {
    pc.members.clear();
    for (const auto& [id, ep] : cfg_.cluster)
      pc.members.push_back(id);
    pc.cluster = clusterId(cfg_.cluster);
  }
  pc.electionTicks = kElectionTicks;
  pc.heartbeatTicks = kHeartbeatTicks;
  pc.seed = static_cast<std::uint64_t>(cfg_.id) * 0x9e3779b97f4a7c15ull;
  auto opened = Replica::open(pc, cfg_.dataDir, opts);
  if (!opened) return opened.status();
  store_ = std::move(opened->store);
  replica_ = std::move(opened->replica);
  lastSnapshotIndex_ = store_->appliedIndex();
  // One member is a quorum of its own: lead now. Either way, re-apply what was chosen after the
  // snapshot.
  if (cfg_.cluster.empty()) replica_->core().campaign();
  commit();
  if (failed_) return Status(Err::kIo, "cannot persist the log");
  startupNote_ = "recovered rev " + std::to_string(store_->rev()) + " from " + opened->note;

  // Requests may carry a value up to the limit plus keys; larger messages still get a TOO_LARGE
  // reply up to twice the limit. Past this cap libzmq drops the connection (PROTOCOL.md, Limits).
  const std::int64_t cap = 2 * cfg_.maxValue + (64 << 10);
  std::string which = "client endpoint " + cfg_.clientEndpoint;
  try {
    client_.set(zmq::sockopt::maxmsgsize, cap);
    client_.set(zmq::sockopt::linger, 0);
    client_.set(zmq::sockopt::sndhwm, 100000);
    client_.set(zmq::sockopt::rcvhwm, 100000);
    client_.bind(cfg_.clientEndpoint);
    clientAdvertised_ = advertise(client_.get(zmq::sockopt::last_endpoint));
    which = "events endpoint " + cfg_.eventsEndpoint;
    pub_.set(zmq::sockopt::maxmsgsize, std::int64_t{8192});  // it only receives subscriptions
    pub_.set(zmq::sockopt::linger, 0);
    pub_.set(zmq::sockopt::sndhwm, static_cast<int>(cfg_.feedHwm));
    pub_.bind(cfg_.eventsEndpoint);
    eventsAdvertised_ = advertise(pub_.get(zmq::sockopt::last_endpoint));
  } catch (const zmq::error_t& e) {
    return Status(Err::kIo, "cannot bind " + which + ": " + e.what());
  }
  if (!cfg_.cluster.empty()) {
    auto connectTo = cfg_.cluster;
    for (const auto& [id, ep] : cfg_.peerVia)
      connectTo[id] = ep;  // parseArgs checked that every id is a member
    transport_ = std::make_unique<Transport>(ctx_, static_cast<std::uint32_t>(cfg_.id),
                                             clusterId(cfg_.cluster), connectTo, cfg_.peerEndpoint);
    if (Status s = transport_->start(); !s.isOk()) return s;
  }
  return Status::ok();
}

int Server::run(int stopFd) {
  {
    std::random_device rd;
    boot_ = static_cast<std::int64_t>(
                (std::uint64_t{rd()} << 31) ^ rd() ^
                static_cast<std::uint64_t>(
                    std::chrono::system_clock::now().time_since_epoch().count())) &
            0x7fffffffffffffff;
  }
  nextHeartbeat_ = Clock::now();
  nextTick_ = Clock::now() + kTick;
  while (!failed_) {
    auto now = Clock::now();
    auto wake = std::min(nextHeartbeat_, nextTick_);
    for (const auto& p : parked_) {
      wake = std::min(wake, p.deadline);
    }
    for (const auto& [id, w] : pending_) {
      wake = std::min(wake, w.deadline);
    }
    for (const auto& [id, r] : linReads_) {
      wake = std::min(wake, r.deadline);
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now);
    if (ms.count() < 0) ms = std::chrono::milliseconds(0);
    zmq::pollitem_t items[] = {
        {client_.handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, stopFd, ZMQ_POLLIN, 0},
        {pub_.handle(), 0, ZMQ_POLLIN, 0},
        {transport_ ? transport_->router().handle() : nullptr, 0, ZMQ_POLLIN, 0},
    };
    try {
      zmq::poll(items, transport_ ? 4 : 3, ms);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      if (e.num() == ETERM) break;
      throw;
    }
    if (items[1].revents & ZMQ_POLLIN) break;
    if (items[2].revents & ZMQ_POLLIN) drainSubscriptions();
    if (transport_ && (items[3].revents & ZMQ_POLLIN)) drainPeers();
    if (items[0].revents & ZMQ_POLLIN) drainClients();
    if (Clock::now() >= nextTick_) {
      replica_->tick();
      nextTick_ += kTick;
      if (nextTick_ < Clock::now()) nextTick_ = Clock::now() + kTick;
    }
    commit();
    maybeSnapshot();
    if (transport_) {
      if (replica_->core().leader() != lastLeader_) onLeaderChange();
      maintainCtl(Clock::now());
    }
    now = Clock::now();
    if (!pending_.empty()) expireWrites(now);
    if (!linReads_.empty()) serviceLinReads(now);
    if (!parked_.empty()) serviceParked(now);
    if (now >= nextHeartbeat_) {
      heartbeat();
      nextHeartbeat_ = now + kHeartbeatEvery;
    }
  }
  return failed_ ? 1 : 0;
}

void Server::drainClients() {
  for (int n = 0; n < kDrainBatch; ++n) {
    std::vector<zmq::message_t> frames;
    std::size_t total = 0;
    try {
      zmq::message_t m;
      if (!client_.recv(m, zmq::recv_flags::dontwait)) return;
      bool more = m.more();
      frames.push_back(std::move(m));
      ++total;
      while (more) {  // the rest of a multipart message is already here
        zmq::message_t part;
        (void)client_.recv(part, zmq::recv_flags::none);
        more = part.more();
        if (frames.size() < kMaxFrames) frames.push_back(std::move(part));
        ++total;
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == EAGAIN || e.num() == EINTR) return;
      throw;
    }
    Envelope env;
    env.frames.emplace_back(frames[0].to_string());
    std::size_t body = 1;
    if (frames.size() > 1 && frames[1].size() == 0) {
      env.frames.emplace_back();
      body = 2;
    }
    if (total != body + 1) {
      Reply r = Reply::error(Err::kBadRequest,
                             "a request is exactly one frame (after the "
                             "routing envelope); got " +
                                 std::to_string(total - body));
      reply(env, r, "");
      continue;
    }
    handle(std::move(env), frames[body].to_string_view());
  }
}

void Server::handle(Envelope env, std::string_view body) {
  Request req;
  Status s = wire::decodeRequest(body, limits_, &req);
  if (cfg_.verbose) {
    logLine(std::string("request ") + (s.isOk() ? wire::verbName(req.verb) : s.toString()) + " " +
            req.path.value_or(""));
  }
  if (!s.isOk()) {
    Reply r = Reply::error(s.code(), s.detail());
    reply(env, r, req.tag);
    return;
  }
  handleRequest(env, req);
}

void Server::handleRequest(Envelope& env, Request& req) {
  auto fail = [&](Err e, std::string detail) {
    Reply r = Reply::error(e, std::move(detail));
    reply(env, r, req.tag);
  };
  const std::int64_t head = store_->rev();
  switch (req.verb) {
    case Verb::kRev: {
      Reply r;
      r.rev = head;
      reply(env, r, req.tag);
      return;
    }
    case Verb::kSelf: {
      Reply r;
      r.id = cfg_.id;
      r.leader = replica_->core().leader();
      if (transport_) {
        r.dropped = static_cast<std::int64_t>(transport_->dropped() + replica_->core().dropped());
      }
      r.client = clientAdvertised_;
      r.events = eventsAdvertised_;
      r.version = CAIRN_VERSION;
      r.rev = head;
      reply(env, r, req.tag);
      return;
    }
    case Verb::kNop:
      queueWrite(env, req, wire::Command{});
      return;
    case Verb::kSet:
    case Verb::kDel: {
      if (!req.path) return fail(Err::kMissingArg, "missing \"path\"");
      auto comps = wire::splitPath(*req.path);
      if (!comps) return fail(comps.status().code(), comps.status().detail());
      if (comps->empty()) return fail(Err::kIsDir, "/ is a directory");
      if (isCtl(*comps)) return fail(Err::kReadonly, "/ctl is written only by the nodes");
      if (!req.rev) return fail(Err::kMissingArg, "missing \"rev\" (-1 to clobber, 0 to create)");
      if (*req.rev < -1) return fail(Err::kRange, "rev must be -1, 0 or a positive revision");
      wire::Command cmd;
      cmd.path = *req.path;
      cmd.rev = *req.rev;
      if (req.verb == Verb::kSet) {
        if (!req.value) return fail(Err::kMissingArg, "missing \"value\"");
        if (req.value->size() > static_cast<std::size_t>(cfg_.maxValue)) {
          return fail(Err::kTooLarge, "value is larger than " + std::to_string(cfg_.maxValue));
        }
        cmd.op = wire::Command::Op::kSet;
        cmd.value = std::move(*req.value);
      } else {
        cmd.op = wire::Command::Op::kDel;
      }
      queueWrite(env, req, std::move(cmd));
      return;
    }
    case Verb::kChanges: {
      // The node's own history: complete up to the reply's head, which needs no read point (a
      // feed consumer compares it with the heartbeats' heads).
      if (!req.path) return fail(Err::kMissingArg, "missing \"path\" (a glob)");
      auto g = wire::Glob::compile(*req.path);
      if (!g) return fail(g.status().code(), g.status().detail());
      if (!req.rev) return fail(Err::kMissingArg, "missing \"rev\" (the first rev wanted)");
      if (*req.rev < 0) return fail(Err::kRange, "rev must be >= 0");
      if (req.limit && (*req.limit < 1 || *req.limit > kMaxPage)) {
        return fail(Err::kRange, "limit must be in 1..10000");
      }
      auto page = store_->changes(
          *g, *req.rev, static_cast<std::size_t>(req.limit.value_or(kDefaultPage)), kWalkBytes);
      Reply r;
      if (!page) {
        r = Reply::error(page.status().code(), page.status().detail());
        r.head = store_->rev();
        reply(env, r, req.tag);
        return;
      }
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
      r.head = page->complete;
      reply(env, r, req.tag);
      return;
    }
    case Verb::kWait: {
      if (!req.path) return fail(Err::kMissingArg, "missing \"path\" (a glob)");
      auto g = wire::Glob::compile(*req.path);
      if (!g) return fail(g.status().code(), g.status().detail());
      if (req.rev && *req.rev < 0) return fail(Err::kRange, "rev must be >= 0");
      if (req.timeoutMs && (*req.timeoutMs < 0 || *req.timeoutMs > kMaxWaitMs)) {
        return fail(Err::kRange, "timeout must be in 0..3600000 ms");
      }
      Parked p;
      p.glob = std::move(g.value());
      p.from = req.rev.value_or(head + 1);
      p.deadline = Clock::now() + std::chrono::milliseconds(req.timeoutMs.value_or(kDefaultWaitMs));
      p.req = std::move(req);
      if (!tryWait(env, p)) {
        p.env = std::move(env);
        parked_.push_back(std::move(p));
      }
      return;
    }
    case Verb::kGet:
    case Verb::kStat:
    case Verb::kGetdir:
    case Verb::kWalk: {
      if (!req.path) return fail(Err::kMissingArg, "missing \"path\"");
      Status valid = req.verb == Verb::kWalk ? wire::Glob::compile(*req.path).status()
                                             : wire::splitPath(*req.path).status();
      if (!valid.isOk()) return fail(valid.code(), valid.detail());
      if (req.limit && (*req.limit < 1 || *req.limit > kMaxPage)) {
        return fail(Err::kRange, "limit must be in 1..10000");
      }
      if (req.rev && *req.rev < 0) return fail(Err::kRange, "rev must be >= 0");
      if (req.timeoutMs && (*req.timeoutMs < 0 || *req.timeoutMs > kMaxWaitMs)) {
        return fail(Err::kRange, "timeout must be in 0..3600000 ms");
      }
      if (req.consistency && *req.consistency != "linearizable" && *req.consistency != "local") {
        return fail(Err::kBadRequest, "consistency must be \"linearizable\" or \"local\"");
      }
      // In a cluster a read of the head is linearizable unless asked otherwise: it waits for a
      // read point that a quorum confirmed. A read at a given rev needs none (the past is fixed),
      // and a node alone applies every write before acknowledging it.
      if (transport_ && !req.rev && req.consistency.value_or("linearizable") == "linearizable" &&
          !cfg_.debugStaleReads) {
        std::uint64_t ctx = nextReadCtx_++;
        LinRead& lr = linReads_[ctx];
        lr.env = std::move(env);
        lr.req = std::move(req);
        lr.deadline = Clock::now() + kWriteTimeout;
        askReadIndex(ctx, lr);
        return;
      }
      std::int64_t at = req.rev.value_or(head);
      if (at > head) {  // a future rev: wait until it is applied
        Parked p;
        p.env = std::move(env);
        p.req = std::move(req);
        p.deadline = Clock::now() +
                     std::chrono::milliseconds(p.req.timeoutMs.value_or(kDefaultFutureReadMs));
        parked_.push_back(std::move(p));
        return;
      }
      serveRead(env, req, at);
      return;
    }
  }
}

void Server::serveRead(Envelope& env, Request& req, std::int64_t at) {
  if (Status s = store_->checkReadable(at); !s.isOk()) {
    Reply r = Reply::error(s.code(), s.detail());
    r.head = store_->rev();
    reply(env, r, req.tag);
    return;
  }
  Reply r;
  r.head = at;
  const std::size_t limit = static_cast<std::size_t>(req.limit.value_or(kDefaultPage));
  switch (req.verb) {
    case Verb::kGet: {
      store::FileInfo fi = store_->stat(*req.path, at);
      if (fi.dir) {
        r = Reply::error(Err::kIsDir, *req.path + " is a directory (use GETDIR)");
        r.head = at;
        break;
      }
      r.rev = fi.rev;
      r.value = fi.value ? *fi.value : std::string();
      break;
    }
    case Verb::kStat: {
      store::FileInfo fi = store_->stat(*req.path, at);
      r.rev = fi.rev;
      r.len = fi.len;
      r.dir = fi.dir;
      break;
    }
    case Verb::kGetdir: {
      auto page = store_->getdir(*req.path, at, req.after, limit);
      if (!page) {
        r = Reply::error(page.status().code(), page.status().detail());
        r.head = at;
        break;
      }
      r.rev = store_->stat(*req.path, at).rev;
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
      auto page = store_->walk(*g, at, req.after, limit, kWalkBytes);
      if (!page) {
        r = Reply::error(page.status().code(), page.status().detail());
        r.head = at;
        break;
      }
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
  reply(env, r, req.tag);
}

// Answers a WAIT from history if it can; false when it must wait for a future change.
bool Server::tryWait(Envelope& env, Parked& p) {
  auto found = store_->firstChange(*p.glob, p.from);
  if (!found) {
    Reply r = Reply::error(found.status().code(), found.status().detail());
    r.head = store_->rev();
    reply(env, r, p.req.tag);
    return true;
  }
  if (!found->has_value()) {
    p.from = std::max(p.from, store_->rev() + 1);  // nothing up to the head matched
    return false;
  }
  const store::Change& c = **found;
  Reply r;
  r.rev = c.rev;
  r.path = c.path;
  r.op = c.opName();
  r.value = *c.value;
  r.head = store_->rev();
  reply(env, r, p.req.tag);
  return true;
}

void Server::queueWrite(Envelope& env, const Request& req, wire::Command cmd) {
  pending_.emplace(nextProposal_,
                   PendingWrite{env, req.tag, req.verb, Clock::now() + kWriteTimeout});
  replica_->propose(std::move(cmd), nextProposal_++);
}

void Server::expireWrites(Clock::time_point now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    Reply r = replica_->withdraw(it->first)
                  ? Reply::error(Err::kUnavailable,
                                 "no leader with a quorum within 4 s; the write was not applied")
                  : Reply::error(Err::kTimeout,
                                 "not chosen within 4 s; the write may or may not be applied");
    reply(it->second.env, r, it->second.tag);
    it = pending_.erase(it);
  }
}

void Server::askReadIndex(std::uint64_t ctx, LinRead& r) {
  paxos::Core& core = replica_->core();
  if (core.readIndex(ctx, core.id())) {
    r.asked = true;
  } else if (core.leader() != 0) {
    wire::PeerMessage m;
    m.type = wire::PeerMessage::Type::kReadIndex;
    m.cluster = clusterId(cfg_.cluster);
    m.from = core.id();
    m.to = core.leader();
    m.slot = ctx;
    transport_->send(m);
    r.asked = true;
  }
  // Otherwise no leader is known yet: serviceLinReads asks again.
}

void Server::serviceLinReads(Clock::time_point now) {
  const std::uint64_t learned = replica_->core().learned();
  for (auto it = linReads_.begin(); it != linReads_.end();) {
    LinRead& r = it->second;
    if (r.index && learned >= *r.index) {
      serveRead(r.env, r.req, store_->rev());
      it = linReads_.erase(it);
      continue;
    }
    if (now >= r.deadline) {
      Reply rep = Reply::error(Err::kUnavailable,
                               "no quorum confirmed a read point within 4 s (use "
                               "consistency \"local\" to read this node's state)");
      reply(r.env, rep, r.req.tag);
      it = linReads_.erase(it);
      continue;
    }
    if (!r.asked) askReadIndex(it->first, r);
    ++it;
  }
}

void Server::sendSnapshot(std::uint32_t to) {
  store::Image img = store_->image();
  wire::PeerMessage m;
  m.type = wire::PeerMessage::Type::kSnapshot;
  m.cluster = clusterId(cfg_.cluster);
  m.from = replica_->core().id();
  m.to = to;
  m.ballot = replica_->core().promised();
  m.slot = img.index;
  m.entries.push_back(wire::Slot{img.index, wire::Ballot{}, store::encodeSnapshot(img)});
  transport_->send(m);
  if (cfg_.verbose) logLine("sent a snapshot at slot " + std::to_string(img.index));
}

void Server::installSnapshot(const wire::PeerMessage& m) {
  if (m.entries.empty() || m.slot <= replica_->core().learned()) return;
  auto st = store::decodeSnapshot(m.entries[0].value, store_->options());
  if (!st || st->appliedIndex() != m.slot) {
    logLine("dropped a bad snapshot from node " + std::to_string(m.from));
    return;
  }
  // The snapshot must be durable before the log behind it goes; a snapshot being written by the
  // snapshotter is older and no longer wanted.
  snapshotter_.abandon();
  Status s = store::writeSnapshot(st->image(), cfg_.dataDir + "/snap");
  if (s.isOk()) {
    store_ = std::make_unique<store::Store>(std::move(st.value()));
    feed_.reset(store_->rev());  // the revs it jumped over were never published
    lastSnapshotIndex_ = m.slot;
    s = replica_->installSnapshot(m.slot);
  }
  if (!s.isOk()) {
    logLine("FATAL: cannot install a snapshot: " + s.toString());
    failed_ = true;
    return;
  }
  logLine("installed a snapshot from node " + std::to_string(m.from) + " at slot " +
          std::to_string(m.slot) + ", rev " + std::to_string(store_->rev()));
}

void Server::onLeaderChange() {
  const bool hadLeader = lastLeader_ != 0;
  lastLeader_ = replica_->core().leader();
  if (!hadLeader) return;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (replica_->queued(it->first)) {  // never left this node: it goes to the new leader
      ++it;
      continue;
    }
    Reply r = Reply::error(Err::kTimeout,
                           "the leader changed before this write was chosen; it may or may "
                           "not be applied");
    reply(it->second.env, r, it->second.tag);
    it = pending_.erase(it);
  }
}

void Server::drainPeers() {
  std::vector<wire::PeerMessage> msgs;
  transport_->receive(&msgs, kDrainBatch);
  for (auto& m : msgs) {
    if (m.type == wire::PeerMessage::Type::kForward) {
      if (!m.entries.empty()) replica_->proposeForwarded(std::move(m.entries[0].value));
    } else if (m.type == wire::PeerMessage::Type::kReadIndex) {
      (void)replica_->core().readIndex(m.slot, m.from);  // not leading: the asker times out
    } else if (m.type == wire::PeerMessage::Type::kSnapshot) {
      installSnapshot(m);
    } else if (m.type == wire::PeerMessage::Type::kReadIndexOk) {
      auto it = linReads_.find(m.slot);
      if (it != linReads_.end()) it->second.index = m.commit;
    } else {
      replica_->step(m);
    }
  }
}

void Server::commit() {
  Replica::Early early;
  if (transport_) early = [this](const wire::PeerMessage& m) { transport_->send(m); };
  auto drained = replica_->drain(early);
  if (!drained) {
    logLine("FATAL: the log cannot persist writes: " + drained.status().toString());
    failed_ = true;
    return;
  }
  if (transport_) {
    for (const auto& m : drained->send)
      transport_->send(m);
  }
  for (const auto& rs : drained->reads) {
    if (rs.from == replica_->core().id()) {
      auto it = linReads_.find(rs.ctx);
      if (it != linReads_.end()) it->second.index = rs.index;
    } else if (transport_) {
      wire::PeerMessage m;
      m.type = wire::PeerMessage::Type::kReadIndexOk;
      m.cluster = clusterId(cfg_.cluster);
      m.from = replica_->core().id();
      m.to = rs.from;
      m.slot = rs.ctx;
      m.commit = rs.index;
      transport_->send(m);
    }
  }
  for (std::uint32_t to : drained->snapshotTo) {
    if (transport_) sendSnapshot(to);
  }
  for (const auto& rs : drained->readsLost) {
    auto it = linReads_.find(rs.ctx);
    if (rs.from == replica_->core().id() && it != linReads_.end()) it->second.asked = false;
  }
  for (std::uint64_t id : drained->refused) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    Reply r = Reply::error(Err::kUnavailable, "no leader can order this write now");
    reply(it->second.env, r, it->second.tag);
    pending_.erase(it);
  }
  if (drained->chosen.empty()) return;
  for (auto& c : drained->chosen) {
    store::ApplyResult res = store_->apply(c.slot, c.cmd);
    if (res.change) {
      publish(*res.change);
      if (res.change->path.compare(0, 5, "/ctl/") != 0) userChanges_ = true;
    }
    if (c.proposal == 0) continue;
    auto it = pending_.find(c.proposal);
    if (it == pending_.end()) continue;
    Reply r;
    if (!res.status.isOk()) {
      r = Reply::error(res.status.code(), res.status.detail());
    }
    r.rev = res.rev;
    reply(it->second.env, r, it->second.tag);
    pending_.erase(it);
  }
  if (!parked_.empty()) serviceParked(Clock::now());
}

void Server::proposeCtl(const std::string& path, const std::string& value) {
  store::FileInfo fi = store_->stat(path, store_->rev());
  if (fi.exists && !fi.dir && *fi.value == value) return;
  wire::Command cmd;
  cmd.op = wire::Command::Op::kSet;
  cmd.path = path;
  cmd.rev = -1;
  cmd.value = value;
  replica_->propose(std::move(cmd), 0);  // nobody waits for the reply
}

void Server::maintainCtl(Clock::time_point now) {
  const bool leading = replica_->core().role() == paxos::Core::Role::kLeader;
  const std::string self = std::to_string(cfg_.id);
  if (leading && !wasLeader_) {
    // One write per change of leader, not per heartbeat.
    proposeCtl("/ctl/leader", self);
    for (const auto& [id, ep] : cfg_.cluster)
      proposeCtl("/ctl/members/" + std::to_string(id), ep);
  }
  wasLeader_ = leading;
  if (now < nextCtlReport_) return;
  nextCtlReport_ = now + std::chrono::seconds(2);
  // Only once this node has caught up with a leader: its view of /ctl is current then.
  if (replica_->core().leader() == 0) return;
  proposeCtl("/ctl/nodes/" + self + "/client", clientAdvertised_);
  proposeCtl("/ctl/nodes/" + self + "/events", eventsAdvertised_);
  // The applied rev is reported after user writes only, so reports never feed themselves.
  if (userChanges_) {
    userChanges_ = false;
    proposeCtl("/ctl/nodes/" + self + "/applied", std::to_string(store_->rev()));
  }
}

void Server::maybeSnapshot() {
  if (auto done = snapshotter_.poll()) {
    // Only a durable snapshot lets the WAL behind it go. A failed one costs disk space, not
    // data: the WAL still holds everything, and the next interval tries again.
    Status s = done->status;
    const auto t0 = Clock::now();
    if (s.isOk()) s = replica_->finishCheckpoint(done->index);
    if (!s.isOk()) {
      logLine("snapshot at index " + std::to_string(done->index) + " failed: " + s.toString());
    } else if (cfg_.verbose) {
      const auto us =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
      logLine("snapshot at index " + std::to_string(done->index) + "; WAL checkpoint took " +
              std::to_string(us) + " us");
    }
  }
  const std::uint64_t idx = store_->appliedIndex();
  if (snapshotter_.busy() ||
      idx - lastSnapshotIndex_ < static_cast<std::uint64_t>(cfg_.snapshotEvery)) {
    return;
  }
  lastSnapshotIndex_ = idx;
  if (Status s = replica_->beginCheckpoint(idx); !s.isOk()) {
    logLine("snapshot at index " + std::to_string(idx) + " not begun: " + s.toString());
    return;
  }
  snapshotter_.start(store_->image());
}

void Server::serviceParked(Clock::time_point now) {
  const std::int64_t head = store_->rev();
  for (auto it = parked_.begin(); it != parked_.end();) {
    bool done = false;
    if (it->glob) {
      done = tryWait(it->env, *it);
    } else if (it->req.rev && *it->req.rev <= head) {
      serveRead(it->env, it->req, *it->req.rev);
      done = true;
    }
    if (!done && now >= it->deadline) {
      Reply r = Reply::error(Err::kTimeout, it->glob ? "no matching change before the timeout"
                                                     : "rev not reached before the timeout");
      r.head = head;
      reply(it->env, r, it->req.tag);
      done = true;
    }
    it = done ? parked_.erase(it) : std::next(it);
  }
}

void Server::publish(const store::Change& c) {
  wire::Event e;
  e.rev = c.rev;
  e.path = c.path;
  e.op = c.opName();
  e.value = *c.value;
  e.prev = feed_.change(c.path, c.rev);
  std::string body = wire::encodeEvent(e);
  try {
    pub_.send(zmq::buffer(c.path), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    pub_.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    logLine(std::string("publish failed: ") + e.what());
  }
}

void Server::drainSubscriptions() {
  for (int n = 0; n < kDrainBatch; ++n) {
    zmq::message_t m;
    try {
      if (!pub_.recv(m, zmq::recv_flags::dontwait)) return;
    } catch (const zmq::error_t& e) {
      if (e.num() == EAGAIN || e.num() == EINTR) return;
      throw;
    }
    feed_.subscription(m.to_string_view(), store_->rev());
  }
}

void Server::heartbeat() {
  wire::Heartbeat hb;
  hb.rev = store_->rev();
  hb.id = cfg_.id;
  hb.boot = boot_;
  hb.seq = ++heartbeatSeq_;
  hb.leader = replica_->core().leader();
  hb.last = feed_.takeMoved();
  hb.partial = feed_.partial();
  std::string body = wire::encodeHeartbeat(hb);
  try {
    pub_.send(zmq::buffer(wire::kHeartbeatTopic),
              zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    pub_.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    logLine(std::string("heartbeat failed: ") + e.what());
  }
}

void Server::reply(const Envelope& env, Reply& r, const std::string& tag) {
  r.tag = tag;
  std::string body = wire::encodeReply(r);
  try {
    for (const auto& f : env.frames) {
      client_.send(zmq::buffer(f), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    }
    client_.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    // The client is gone or not reading: its reply is dropped, everyone else is still served.
    if (cfg_.verbose) logLine(std::string("reply dropped: ") + e.what());
  }
}

}  // namespace cairn::node
