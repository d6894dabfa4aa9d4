#pragma once
// PeerService: what travels between nodes besides the consensus core's own messages — client
// writes a follower forwards to the leader, read points asked of the leader and answered, and
// snapshots sent to a follower the log can no longer catch up (and, on arrival, decoded and
// checked before the node installs them). Membership changes will join it.
//
// Owns: the peer Transport (the ROUTER and one DEALER per member). Drives the Replica with what
// arrives; reads the store only to send it. Thread: the node's event loop. A node alone has no
// PeerService.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/replica.h"
#include "node/stats.h"
#include "node/transport.h"
#include "store/store.h"

namespace cairn::node {

class PeerService : public Outbox {
 public:
  struct Hooks {
    // A read point the leader confirmed for this node's linearizable read `ctx`.
    std::function<void(std::uint64_t ctx, std::uint64_t index)> readPoint;
    // A snapshot from `from` holding every slot up to `slot`, decoded and checked: the node
    // makes it durable and installs it.
    std::function<void(store::Store snapshot, std::uint64_t slot, std::uint32_t from)> snapshot;
  };
  // `connectTo`: every member's peer endpoint as this node dials it.
  PeerService(zmq::context_t& ctx, std::uint32_t self,
              const std::map<std::uint32_t, std::string>& members,
              std::map<std::uint32_t, std::string> connectTo, std::string bindEndpoint,
              Replica& replica, const store::Store& store, Stats& stats, Hooks hooks);
  wire::Status start();
  zmq::socket_t& socket() { return transport_.router(); }

  // Takes up to `max` waiting peer messages and acts on each (or, once stopped, drops them).
  void drain(int max);
  // The node halted: nothing received is acted on any more.
  void stop() { stopped_ = true; }
  void send(const wire::PeerMessage& m) override { transport_.send(m); }
  void send(const wire::NodeMessage& m) override { transport_.send(m); }
  // Acts on what a drain of the Replica produced for the peers: the messages to send, the read
  // points confirmed (this node's go to Hooks::readPoint, others' back to the asker), the
  // snapshots to send.
  void deliver(Replica::Drained& d);
  // Asks the leader (or this node's core, if it leads) for a read point for read `ctx`; false
  // when no leader is known yet.
  bool askReadIndex(std::uint64_t ctx);

  // Peer messages refused (malformed, foreign, spoofed) by the transport and the core.
  std::uint64_t dropped() const {
    return transport_.dropped() + replica_.core().dropped() + refused_;
  }
  bool verbose = false;

 private:
  wire::NodeMessage to(std::uint32_t peer, wire::NodeMessage::Type type) const;
  void act(wire::NodeMessage& m);
  void sendSnapshot(std::uint32_t peer);
  void receiveSnapshot(const wire::NodeMessage& m);

  std::uint32_t self_;
  std::uint64_t cluster_;
  Transport transport_;
  Replica& replica_;
  const store::Store& store_;
  Stats& stats_;
  Hooks hooks_;
  bool stopped_ = false;
  std::uint64_t refused_ = 0;  // node messages that decoded but made no sense
};

}  // namespace cairn::node
