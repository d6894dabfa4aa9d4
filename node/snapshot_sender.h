#pragma once
// SnapshotSender: the leader's side of catching a follower up past its compacted log. The core
// names a peer that needs a snapshot (Ready::snapshotTo); this room sends it the newest snapshot
// file in chunks (snapshot_transfer.h: the window, the resends, the resume), at most one transfer
// per peer.
//
// Owns: the transfers and a Worker that opens the file and reads, checksums and encodes each
// chunk, so the loop only hands finished frames to the transport. A file being sent stays
// readable while the transfer holds it open, even when a newer snapshot deletes it.
// Called by: the node's event loop (want, acked, tick, stop, the worker's completions).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "node/snapshot_transfer.h"
#include "node/stats.h"
#include "node/worker.h"
#include "wire/peer.h"

namespace cairn::node {

class SnapshotSender {
 public:
  // `send` hands an encoded peer frame for `peer` to the transport.
  using Send = std::function<void(std::uint32_t peer, std::string frame)>;
  // `header`: this node's cluster and id, stamped on every message. Ticks are the node's.
  SnapshotSender(std::string snapDir, wire::PeerHeader header, ChunkSender::Options opts,
                 Stats& stats, Send send);

  // The core asks for a snapshot to `peer`: a transfer begins unless one is under way.
  void want(std::uint32_t peer, std::uint64_t now);
  void acked(const wire::NodeMessage& m, std::uint64_t now);
  // Resends what timed out; drops transfers whose peer stopped answering.
  void tick(std::uint64_t now);
  // This node stopped leading: its transfers end (the next leader begins its own).
  void stop();

  int fd() const { return worker_.fd(); }
  void runCompletions() { worker_.runCompletions(); }
  bool busy(std::uint32_t peer) const { return transfers_.count(peer) != 0; }
  bool verbose = false;

  struct File;  // an open snapshot file (snapshot_sender.cc)

 private:
  struct Transfer {
    std::uint64_t generation = 0;
    std::shared_ptr<File> file;
    std::optional<ChunkSender> sender;  // once the file is open
    std::uint64_t reading = 0;          // read jobs posted and not yet completed
  };
  void pump(std::uint32_t peer, Transfer& t);

  std::string dir_;
  wire::PeerHeader header_;
  ChunkSender::Options opts_;
  Stats& stats_;
  Send send_;
  std::map<std::uint32_t, Transfer> transfers_;
  std::uint64_t generation_ = 0;
  std::uint64_t now_ = 0;
  Worker worker_;  // last: destroyed first, so no completion outlives the state it uses
};

}  // namespace cairn::node
