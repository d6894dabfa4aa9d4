#include "node/transport.h"

#include "bindings/cpp/client.h"

#include "node/gate.h"
#include "node/log.h"
#include "wire/keys.h"

#include <cerrno>

namespace cairn::node {

namespace {
constexpr std::int64_t kMaxPeerMessage = 256 << 20;
constexpr auto kRefusalLogEvery = std::chrono::seconds(10);
}  // namespace

Transport::Transport(zmq::context_t& ctx, std::uint32_t self, std::uint64_t cluster,
                     std::map<std::uint32_t, std::string> members, std::string bindEndpoint,
                     Stats& stats)
    : ctx_(ctx),
      self_(self),
      cluster_(cluster),
      members_(std::move(members)),
      bind_(std::move(bindEndpoint)),
      router_(ctx_, zmq::socket_type::router),
      stats_(stats) {}

void Transport::refuse(PeerRefusal why, const std::string& routingId, const std::string& detail) {
  ++dropped_;
  const auto i = static_cast<std::size_t>(why);
  ++stats_.peerRefused[i];
  ++unlogged_[i];
  const auto now = std::chrono::steady_clock::now();
  if (now < nextLog_[i]) return;
  nextLog_[i] = now + kRefusalLogEvery;
  logLine("refused " + std::to_string(unlogged_[i]) + " peer message(s) (" + refusalName(why) +
          "), the last from connection '" + routingId + "': " + detail);
  unlogged_[i] = 0;
}

wire::Status Transport::start() {
  try {
    router_.set(zmq::sockopt::maxmsgsize, kMaxPeerMessage);
    router_.set(zmq::sockopt::linger, 0);
    router_.set(zmq::sockopt::rcvhwm, 100000);
    if (gate_ != nullptr) {
      if (wire::Status s = gate_->serve(router_, Gate::kPeerDomain); !s.isOk()) return s;
    }
    router_.bind(wire::splitKeyedEndpoint(bind_).endpoint);
  } catch (const zmq::error_t& e) {
    return wire::Status(wire::Err::kIo, "cannot bind peer endpoint " + bind_ + ": " + e.what());
  }
  auto first = std::move(members_);
  members_.clear();
  return addPeers(first);
}

wire::Status Transport::addPeers(const std::map<std::uint32_t, std::string>& peers) {
  for (const auto& [id, ep] : peers) {
    if (id == self_ || ep.empty()) continue;
    auto known = members_.find(id);
    if (known != members_.end() && known->second == ep) continue;
    try {
      auto d = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
      d->set(zmq::sockopt::routing_id, std::to_string(self_));
      // What is queued when the node stops may go for a moment: a removed leader's take-over.
      d->set(zmq::sockopt::linger, 200);
      d->set(zmq::sockopt::sndhwm, 100000);
      d->set(zmq::sockopt::immediate, 1);  // no queueing for a peer that is not connected
      d->set(zmq::sockopt::reconnect_ivl, 50);
      d->set(zmq::sockopt::reconnect_ivl_max, 1000);
      const std::optional<wire::KeyPair> none;
      const auto& key = gate_ != nullptr ? gate_->keyPair() : none;
      if (key && wire::splitKeyedEndpoint(ep).key.empty()) {
        return wire::Status(wire::Err::kBadRequest,
                            "node " + std::to_string(id) + "'s peer endpoint " + ep +
                                " names no key (tcp://KEY@host:port): this node runs CURVE");
      }
      if (key) {
        // A CURVE client of the key the endpoint names, as any client of a node is.
        auto target = client::secureSocket(*d, ep, key, "");
        if (!target) return target.status();
        d->connect(*target);
      } else {
        d->connect(wire::splitKeyedEndpoint(ep).endpoint);  // plain text: a named key is unused
      }
      dealers_[id] = std::move(d);
      members_[id] = ep;
    } catch (const zmq::error_t& e) {
      return wire::Status(wire::Err::kIo, "cannot connect to node " + std::to_string(id) + " at " +
                                              ep + ": " + e.what());
    }
  }
  return wire::Status::ok();
}

void Transport::sendFrame(std::uint32_t to, const std::string& body) {
  try {
    auto it = dealers_.find(to);
    if (it != dealers_.end()) {
      (void)it->second->send(zmq::buffer(body), zmq::send_flags::dontwait);
      return;
    }
    // A node this one has no endpoint for (a member a change added that it has not learned of
    // yet): the answer goes back over the connection that node opened to our ROUTER, if any
    // (a ROUTER drops a message for a routing id it does not know).
    const std::string rid = std::to_string(to);
    if (router_.send(zmq::buffer(rid), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      (void)router_.send(zmq::buffer(body), zmq::send_flags::dontwait);
    }
  } catch (const zmq::error_t&) {
    // Dropped: the peer is unreachable right now.
  }
}

void Transport::receiveReplies(std::vector<wire::PeerFrame>* out, int max) {
  for (auto& [id, dealer] : dealers_) {
    for (int n = 0; n < max; ++n) {
      zmq::message_t body;
      try {
        if (!dealer->recv(body, zmq::recv_flags::dontwait)) break;
      } catch (const zmq::error_t& e) {
        if (e.num() == EAGAIN || e.num() == EINTR) break;
        throw;
      }
      if (body.more()) {  // a DEALER's peer sends one frame per message
        zmq::message_t rest;
        while (body.more() && dealer->recv(rest, zmq::recv_flags::dontwait))
          body.move(rest);
        refuse(PeerRefusal::kFrames, std::to_string(id), "not one frame");
        continue;
      }
      check(body.to_string_view(), std::to_string(id), out);
    }
  }
}

void Transport::check(std::string_view body, const std::string& from,
                      std::vector<wire::PeerFrame>* out) {
  auto m = wire::decodePeer(body);
  if (!m) {
    refuse(PeerRefusal::kMalformed, from,
           m.status().detail() + " (" + std::to_string(body.size()) + " bytes)");
    return;
  }
  const wire::PeerHeader& h = wire::headerOf(*m);
  // Any node of the cluster: one that joined may speak before this node has learned of it.
  if (h.cluster != cluster_ || h.to != self_ || h.from == 0) {
    refuse(PeerRefusal::kForeign, from,
           "cluster " + std::to_string(h.cluster) + ", from node " + std::to_string(h.from) +
               " to node " + std::to_string(h.to));
    return;
  }
  if (std::to_string(h.from) != from) {
    refuse(PeerRefusal::kSpoofed, from, "claims to come from node " + std::to_string(h.from));
    return;
  }
  out->push_back(std::move(m.value()));
}

void Transport::receive(std::vector<wire::PeerFrame>* out, int max) {
  for (int n = 0; n < max; ++n) {
    zmq::message_t id;
    try {
      if (!router_.recv(id, zmq::recv_flags::dontwait)) return;
      std::vector<zmq::message_t> parts;
      bool more = id.more();
      while (more) {
        zmq::message_t p;
        (void)router_.recv(p, zmq::recv_flags::none);
        more = p.more();
        if (parts.size() < 2) parts.push_back(std::move(p));
      }
      if (parts.size() != 1) {
        refuse(PeerRefusal::kFrames, id.to_string(), "not one frame");
        continue;
      }
      if (gate_ != nullptr && gate_->secure()) {
        // The routing id is the sender's to choose; its key is not.
        const char* user = zmq_msg_gets(parts[0].handle(), "User-Id");
        const std::string proved = user == nullptr ? "" : user;
        if (proved != "node:" + id.to_string()) {
          refuse(PeerRefusal::kSpoofed, id.to_string(),
                 "its key is " + (proved.empty() ? std::string("no member's") : proved + "'s"));
          continue;
        }
      }
      check(parts[0].to_string_view(), id.to_string(), out);
    } catch (const zmq::error_t& e) {
      if (e.num() == EAGAIN || e.num() == EINTR) return;
      throw;
    }
  }
}

}  // namespace cairn::node
