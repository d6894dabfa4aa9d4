#include "node/peer_service.h"

#include "node/log.h"

namespace cairn::node {

using Type = wire::NodeMessage::Type;

PeerService::PeerService(zmq::context_t& ctx, std::uint32_t self, std::uint64_t cluster,
                         std::map<std::uint32_t, std::string> connectTo, std::string bindEndpoint,
                         Replica& replica, Stats& stats, Hooks hooks)
    : self_(self),
      cluster_(cluster),
      transport_(ctx, self, cluster_, std::move(connectTo), std::move(bindEndpoint), stats),
      replica_(replica),
      hooks_(std::move(hooks)) {}

wire::Status PeerService::start() {
  return transport_.start();
}

wire::NodeMessage PeerService::to(std::uint32_t peer, Type type) const {
  wire::NodeMessage m;
  m.type = type;
  m.cluster = cluster_;
  m.from = self_;
  m.to = peer;
  return m;
}

void PeerService::drain(int max) {
  std::vector<wire::PeerFrame> msgs;
  transport_.receive(&msgs, max);
  handle(msgs);
}

void PeerService::drainReplies(int max) {
  std::vector<wire::PeerFrame> msgs;
  transport_.receiveReplies(&msgs, max);
  handle(msgs);
}

void PeerService::handle(std::vector<wire::PeerFrame>& msgs) {
  if (!msgs.empty()) {
    const auto now = std::chrono::steady_clock::now();
    for (const auto& f : msgs)
      heard_[wire::headerOf(f).from] = now;
  }
  for (auto& f : msgs) {
    if (stopped_) return;  // the node halted, maybe on the message before
    if (auto* m = std::get_if<wire::PeerMessage>(&f)) {
      replica_.step(*m);
    } else {
      act(std::get<wire::NodeMessage>(f));
    }
  }
}

void PeerService::act(wire::NodeMessage& m) {
  switch (m.type) {
    case Type::kForward:
      if (!replica_.proposeForwarded(std::move(m.value))) {
        ++refused_;
        logLine("dropped a forwarded batch from node " + std::to_string(m.from) +
                " that does not decode");
      }
      break;
    case Type::kReadIndex:
      (void)replica_.core().readIndex(m.slot, m.from);  // not leading: the asker times out
      break;
    case Type::kReadIndexOk:
      hooks_.readPoint(m.slot, m.commit);
      break;
    case Type::kSnapshotChunk:
      hooks_.chunk(std::move(m));
      break;
    case Type::kSnapshotAck:
      hooks_.chunkAck(m);
      break;
  }
}

bool PeerService::askReadIndex(std::uint64_t ctx) {
  paxos::Core& core = replica_.core();
  if (core.readIndex(ctx, core.id())) return true;
  if (core.leader() == 0) return false;
  wire::NodeMessage m = to(core.leader(), Type::kReadIndex);
  m.slot = ctx;
  transport_.send(m);
  return true;
}

void PeerService::deliver(Replica::Drained& d) {
  for (const auto& m : d.send)
    transport_.send(m);
  for (const auto& m : d.forward)
    transport_.send(m);
  for (const auto& rs : d.reads) {
    if (rs.from == self_) {
      hooks_.readPoint(rs.ctx, rs.index);
      continue;
    }
    wire::NodeMessage m = to(rs.from, Type::kReadIndexOk);
    m.slot = rs.ctx;
    m.commit = rs.index;
    transport_.send(m);
  }
  for (std::uint32_t peer : d.snapshotTo)
    hooks_.snapshotTo(peer);
}

}  // namespace cairn::node
