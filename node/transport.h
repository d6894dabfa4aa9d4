#pragma once
// The peer transport: one ROUTER bound on this node's peer endpoint, and one DEALER connected to
// every other member with this node's id as routing id. A message is one frame (wire/peer.h).
// A node with no endpoint for a sender (one a change added that it has not learned of) answers
// over the ROUTER, to the connection that sender opened; such answers arrive on our DEALERs.
//
// Owns: those sockets. Thread: the node's event loop. Sending never blocks: a message for a peer
// that is down or not reading is dropped, which Paxos tolerates (it retransmits what matters).
// Receiving checks each message against the routing id it came with, so a peer cannot speak for
// another; anything malformed, foreign or spoofed is dropped, counted by reason in Stats and
// logged (the first of each reason at once, then at most one line per reason every 10 s with the
// count), never trusted and never silent.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "node/stats.h"
#include "wire/peer.h"
#include "wire/status.h"

namespace cairn::node {

class Gate;

class Transport {
 public:
  Transport(zmq::context_t& ctx, std::uint32_t self, std::uint64_t cluster,
            std::map<std::uint32_t, std::string> members, std::string bindEndpoint, Stats& stats);
  // CURVE on every peer socket, before start(): the ROUTER lets in the members the Gate knows,
  // each DEALER checks the node it reaches by the key its endpoint names (tcp://KEY@host:port),
  // and a message must come from the member whose key its connection proved.
  void secure(const Gate* gate) { gate_ = gate; }
  wire::Status start();
  // Connects to nodes not connected yet, or whose endpoint changed (a membership change named
  // them). Nodes that left stay connected: a DEALER to a node that is gone costs nothing.
  wire::Status addPeers(const std::map<std::uint32_t, std::string>& peers);
  void send(const wire::PeerMessage& m) { sendFrame(m.to, wire::encodePeer(m)); }
  void send(const wire::NodeMessage& m) { sendFrame(m.to, wire::encodePeer(m)); }
  // Sends an encoded message to member `to`.
  void sendFrame(std::uint32_t to, const std::string& body);
  // Takes up to `max` waiting messages, decoded and checked.
  void receive(std::vector<wire::PeerFrame>* out, int max);
  // Takes up to `max` messages per peer that came back over our own DEALERs: the answers of a
  // node that has no endpoint for this one (see sendFrame).
  void receiveReplies(std::vector<wire::PeerFrame>* out, int max);
  zmq::socket_t& router() { return router_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  void refuse(PeerRefusal why, const std::string& routingId, const std::string& detail);
  // Decodes one message that came from node `from` (a routing id, or the DEALER's peer) and
  // keeps it if it is ours, refusing (and counting) anything else.
  void check(std::string_view body, const std::string& from, std::vector<wire::PeerFrame>* out);

  zmq::context_t& ctx_;
  std::uint32_t self_;
  std::uint64_t cluster_;
  std::map<std::uint32_t, std::string> members_;
  std::string bind_;
  zmq::socket_t router_;
  std::map<std::uint32_t, std::unique_ptr<zmq::socket_t>> dealers_;
  std::uint64_t dropped_ = 0;
  Stats& stats_;
  const Gate* gate_ = nullptr;
  std::array<std::chrono::steady_clock::time_point, 4> nextLog_{};
  std::array<std::uint64_t, 4> unlogged_{};
};

}  // namespace cairn::node
