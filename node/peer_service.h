#pragma once
// PeerService: what travels between nodes besides the consensus core's own messages — client
// writes a follower forwards to the leader, and read points asked of the leader and answered —
// and the router of snapshot transfers (their chunks and acknowledgements go to the rooms that
// send and receive snapshots, through Hooks). Membership changes will join it.
//
// Owns: the peer Transport (the ROUTER and one DEALER per member). Drives the Replica with what
// arrives. Thread: the node's event loop. A node alone has no PeerService.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/replica.h"
#include "node/stats.h"
#include "node/transport.h"

namespace cairn::node {

class PeerService : public Outbox {
 public:
  struct Hooks {
    // A read point the leader confirmed for this node's linearizable read `ctx`.
    std::function<void(std::uint64_t ctx, std::uint64_t index)> readPoint;
    // The core asks for a snapshot to be sent to `peer` (its log no longer holds what it needs).
    std::function<void(std::uint32_t peer)> snapshotTo;
    // A chunk of a snapshot sent to this node, and an acknowledgement of one it sent.
    std::function<void(wire::NodeMessage m)> chunk;
    std::function<void(const wire::NodeMessage& m)> chunkAck;
  };
  // `connectTo`: every member's peer endpoint as this node dials it.
  PeerService(zmq::context_t& ctx, std::uint32_t self, std::uint64_t cluster,
              std::map<std::uint32_t, std::string> connectTo, std::string bindEndpoint,
              Replica& replica, Stats& stats, Hooks hooks);
  wire::Status start();
  // CURVE on the peer sockets, the Gate deciding who gets in (before start()).
  void secure(const Gate* gate) { transport_.secure(gate); }
  // The answers that came back over our DEALERs (Transport::receiveReplies): rare, so polled on
  // the tick rather than on every wake-up (each poll of a socket is a system call).
  void drainReplies(int max);
  // Connects to nodes a membership change named (Transport::addPeers).
  wire::Status addPeers(const std::map<std::uint32_t, std::string>& peers) {
    return transport_.addPeers(peers);
  }
  zmq::socket_t& socket() { return transport_.router(); }

  // Takes up to `max` waiting peer messages and acts on each (or, once stopped, drops them).
  void drain(int max);
  // The node halted: nothing received is acted on any more.
  void stop() { stopped_ = true; }
  void send(const wire::PeerMessage& m) override { transport_.send(m); }
  void send(const wire::NodeMessage& m) override { transport_.send(m); }
  // A frame already encoded (a snapshot chunk, encoded off the loop).
  void sendFrame(std::uint32_t peer, const std::string& frame) {
    transport_.sendFrame(peer, frame);
  }
  // Who this node is on the wire: its cluster and id.
  wire::PeerHeader header() const { return wire::PeerHeader{cluster_, self_, 0}; }
  // Acts on what a drain of the Replica produced for the peers: the messages to send, the read
  // points confirmed (this node's go to Hooks::readPoint, others' back to the asker), the
  // peers that need a snapshot (to Hooks::snapshotTo).
  void deliver(Replica::Drained& d);
  // Asks the leader (or this node's core, if it leads) for a read point for read `ctx`; false
  // when no leader is known yet.
  bool askReadIndex(std::uint64_t ctx);

  // Peer messages refused (malformed, foreign, spoofed) by the transport and the core.
  std::uint64_t dropped() const {
    return transport_.dropped() + replica_.core().dropped() + refused_;
  }
  // When a message from node `id` last came (nullopt: never). A follower hears mostly from its
  // leader; a leader from every live member.
  std::optional<std::chrono::steady_clock::time_point> lastHeard(std::uint32_t id) const {
    auto it = heard_.find(id);
    if (it == heard_.end()) return std::nullopt;
    return it->second;
  }
  bool verbose = false;

 private:
  wire::NodeMessage to(std::uint32_t peer, wire::NodeMessage::Type type) const;
  void act(wire::NodeMessage& m);
  void handle(std::vector<wire::PeerFrame>& msgs);

  std::uint32_t self_;
  std::uint64_t cluster_;
  Transport transport_;
  Replica& replica_;
  Hooks hooks_;
  bool stopped_ = false;
  std::uint64_t refused_ = 0;  // node messages that decoded but made no sense
  std::map<std::uint32_t, std::chrono::steady_clock::time_point> heard_;  // by sender
};

}  // namespace cairn::node
