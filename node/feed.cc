#include "node/feed.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "node/log.h"
#include "wire/codec.h"

namespace cairn::node {

namespace {

std::int64_t newBoot() {
  std::random_device rd;
  return static_cast<std::int64_t>(
             (std::uint64_t{rd()} << 31) ^ rd() ^
             static_cast<std::uint64_t>(
                 std::chrono::system_clock::now().time_since_epoch().count())) &
         0x7fffffffffffffff;
}

}  // namespace

Feed::Feed(zmq::context_t& ctx, Stats& stats)
    : ctx_(ctx),
      pub_(ctx, zmq::socket_type::xpub),
      monitor_(ctx, zmq::socket_type::pair),
      stats_(stats),
      boot_(newBoot()) {}

wire::Status Feed::bind(const std::string& endpoint, std::int64_t hwm) {
  hwm_ = hwm;
  if (wire::Status s = configure(); !s.isOk()) return s;
  try {
    pub_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return wire::Status(wire::Err::kIo,
                        "cannot bind events endpoint " + endpoint + ": " + e.what());
  }
  endpoint_ = pub_.get(zmq::sockopt::last_endpoint);
  return wire::Status::ok();
}

wire::Status Feed::configure() {
  ++opened_;
  try {
    if (serve_) {
      if (wire::Status s = serve_(pub_); !s.isOk()) return s;
    }
    if (users_) pub_.set(zmq::sockopt::xpub_manual, 1);
    pub_.set(zmq::sockopt::maxmsgsize, std::int64_t{8192});  // it only receives subscriptions
    pub_.set(zmq::sockopt::linger, 0);
    pub_.set(zmq::sockopt::sndhwm, static_cast<int>(hwm_));
  } catch (const zmq::error_t& e) {
    return wire::Status(wire::Err::kIo, std::string("cannot open the events socket: ") + e.what());
  }
  return wire::Status::ok();
}

wire::Status Feed::reopen(Clock::time_point now) {
  const bool monitored = monitoring_;
  if (monitoring_) (void)zmq_socket_monitor(pub_.handle(), nullptr, 0);
  monitoring_ = false;
  pub_.close();
  monitor_.close();
  pub_ = zmq::socket_t(ctx_, zmq::socket_type::xpub);
  monitor_ = zmq::socket_t(ctx_, zmq::socket_type::pair);
  // Every subscription was its connection's, and every connection is gone.
  subscribers_ = 0;
  index_ = FeedIndex();
  if (users_) users_->forgetConnections();
  if (wire::Status s = configure(); !s.isOk()) return s;
  if (monitored) {
    if (wire::Status s = countConnections(); !s.isOk()) return s;
  }
  rebindAt_ = now;
  rebindFailures_ = 0;
  rebind(now);
  return wire::Status::ok();
}

void Feed::rebind(Clock::time_point now) {
  if (!rebindAt_ || now < *rebindAt_) return;
  try {
    pub_.bind(endpoint_);
  } catch (const zmq::error_t& e) {
    // The address stays taken until libzmq's own threads have closed the previous XPUB's
    // listener, moments after its close(); or another program took it meanwhile. Tried again,
    // less often the longer it takes, never by blocking the loop.
    if (++rebindFailures_ == kRebindFailuresLogged) {
      logLine("the feed cannot bind " + endpoint_ + " again yet: " + e.what() +
              "; it tries again every " + std::to_string(kMaxRebindWait.count()) +
              " ms until it can");
    }
    // 2 ms, doubled after each failure, up to a second.
    rebindAt_ =
        now + std::min<Clock::duration>(kFirstRebindWait * (1 << std::min(rebindFailures_ - 1, 10)),
                                        kMaxRebindWait);
    return;
  }
  if (rebindFailures_ >= kRebindFailuresLogged)
    logLine("the feed is bound at " + endpoint_ + " again");
  rebindAt_.reset();
}

Feed::~Feed() {
  // libzmq's I/O thread sends monitor events with a blocking send: stop them before the PAIR that
  // takes them closes.
  if (monitoring_) (void)zmq_socket_monitor(pub_.handle(), nullptr, 0);
}

wire::Status Feed::countConnections() {
  // Unique per feed and XPUB: the inproc name space is the context's.
  const std::string mon = "inproc://cairn-feed-monitor-" + std::to_string(boot_) + "-" +
                          std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "-" +
                          std::to_string(opened_);
  try {
    // libzmq binds `mon` with a PAIR of its own, which sends the events to ours.
    if (zmq_socket_monitor(pub_.handle(), mon.c_str(),
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
      throw zmq::error_t();
    }
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(mon);
  } catch (const zmq::error_t& e) {
    return wire::Status(wire::Err::kIo,
                        std::string("cannot watch the feed's connections: ") + e.what());
  }
  monitoring_ = true;
  return wire::Status::ok();
}

std::string Feed::boundEndpoint() const {
  return endpoint_;
}

void Feed::drainSubscriptions(int max, std::int64_t head) {
  for (int n = 0; n < max; ++n) {
    zmq::message_t m;
    try {
      if (!pub_.recv(m, zmq::recv_flags::dontwait)) return;
    } catch (const zmq::error_t& e) {
      if (e.num() == EAGAIN || e.num() == EINTR) return;
      throw;
    }
    if (users_) {
      filtered(m, head);
    } else {
      index_.subscription(m.to_string_view(), head);
    }
  }
}

void Feed::filterBy(FeedUsers::AccessOf accessOf,
                    std::function<wire::Status(zmq::socket_t&)> serve) {
  users_ = std::make_unique<FeedUsers>(std::move(accessOf));
  serve_ = std::move(serve);
}

void Feed::filtered(const zmq::message_t& m, std::int64_t head) {
  const std::string_view msg = m.to_string_view();
  // With no user: libzmq's own unsubscriptions of a connection that closed.
  const char* user = zmq_msg_gets(const_cast<zmq_msg_t*>(m.handle()), "User-Id");
  const FeedUsers::Effect e = users_->message(msg, user);
  if (e.track) index_.subscription(msg, head);
  for (const std::string& t : e.deliver) {
    if (msg[0] == 1) {
      pub_.set(zmq::sockopt::subscribe, t);
    } else {
      pub_.set(zmq::sockopt::unsubscribe, t);
    }
  }
}

void Feed::drainMonitor(int max) {
  for (int n = 0; n < max; ++n) {
    zmq::message_t event;
    zmq::message_t where;
    try {
      if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
      if (event.more()) (void)monitor_.recv(where, zmq::recv_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == EAGAIN || e.num() == EINTR) return;
      throw;
    }
    if (event.size() < sizeof(std::uint16_t)) continue;
    std::uint16_t what = 0;
    std::memcpy(&what, event.data(), sizeof what);
    if (what == ZMQ_EVENT_ACCEPTED) {
      ++subscribers_;
    } else if (what == ZMQ_EVENT_DISCONNECTED && subscribers_ > 0) {
      --subscribers_;
    }
  }
}

void Feed::publish(const std::vector<store::Change>& changes) {
  for (std::size_t k = 0; k < changes.size();) {
    std::size_t end = k + 1;  // the changes of one rev are next to each other
    while (end < changes.size() && changes[end].rev == changes[k].rev)
      ++end;
    for (std::size_t j = k; j < end; ++j) {
      const store::Change& c = changes[j];
      wire::Event e;
      e.rev = c.rev;
      e.path = c.path;
      e.op = c.opName();
      e.value = *c.value;
      e.prev = index_.change(c.path, c.rev);
      e.i = static_cast<std::int64_t>(j - k);
      e.n = static_cast<std::int64_t>(end - k);
      // No claims for a rev of several changes: any subscriber that follows claims (those written
      // before `n` existed too) takes the rev from history, whole. The index still moves on, so
      // heartbeats' `last` stays true.
      if (e.n > 1) e.prev.clear();
      if (users_ && !e.prev.empty()) users_->dropUnsafeClaims(c.path, e.prev);
      send(c.path, wire::encodeEvent(e));
    }
    k = end;
  }
}

void Feed::heartbeat(std::int64_t head, std::int64_t id, std::int64_t leader) {
  wire::Heartbeat hb;
  hb.rev = head;
  hb.id = id;
  hb.boot = boot_;
  hb.seq = ++seq_;
  hb.leader = leader;
  if (!users_) {
    hb.last = index_.takeMoved();
    hb.partial = index_.partial();
    send(wire::kHeartbeatTopic, wire::encodeHeartbeat(hb));
    return;
  }
  // Under grants, each user's own: its topic, and claims of its prefixes only.
  for (FeedUsers::Beat& b : users_->heartbeats(index_.takeMoved())) {
    hb.last = std::move(b.last);
    hb.partial = index_.partial() || b.partial;
    send(b.topic, wire::encodeHeartbeat(hb));
  }
}

void Feed::send(std::string_view topic, const std::string& body) {
  try {
    pub_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    pub_.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    ++stats_.feedDrops;
    logLine(std::string("publish failed: ") + e.what());
  }
}

}  // namespace cairn::node
