#pragma once
// SnapshotReceiver: the follower's side of a snapshot transfer. Chunks from the leader are
// checked and written to a hidden file in the snapshot directory, in order; once the whole file
// is there and its checksum holds, it is made durable under its final name and decoded into a
// store, which the node then installs (Hooks::installed).
//
// Owns: a Worker, and on the worker's thread the ChunkReceiver (snapshot_transfer.h) with the
// file it writes; the loop only filters chunks and sends the acknowledgements the worker
// decides. Called by: the node's event loop. Chunks are taken from the leader only (while one is
// known), so a deposed leader's late transfer cannot make the follower start over.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "node/snapshot_transfer.h"
#include "node/stats.h"
#include "node/worker.h"
#include "store/store.h"
#include "wire/peer.h"

namespace cairn::node {

class SnapshotReceiver {
 public:
  struct Hooks {
    // Hands an encoded peer frame for `peer` to the transport.
    std::function<void(std::uint32_t peer, std::string frame)> send;
    // The snapshot `id` from `from` is durable in the snapshot directory, decoded as `store`.
    std::function<void(store::Store store, const SnapshotId& id, std::uint32_t from)> installed;
  };
  SnapshotReceiver(std::string snapDir, wire::PeerHeader header, store::Store::Options opts,
                   Stats& stats, Hooks hooks);
  ~SnapshotReceiver();

  // A chunk arrived. `learned`: this node's chosen prefix (a snapshot at or below it is not
  // needed); `leader`: the leader it follows, 0 when none is known.
  void chunk(wire::NodeMessage m, std::uint64_t learned, std::uint32_t leader);
  // Frees a replaced store on the worker's thread (a large tree takes long to free), then removes
  // the snapshot files older than `installed` (unless 0).
  void dispose(store::Store old, std::uint64_t installed);

  int fd() const { return worker_->fd(); }
  void runCompletions() { worker_->runCompletions(); }

 private:
  class FileSink;
  void ack(std::uint32_t peer, const SnapshotId& id, std::uint64_t next);
  void refused(const std::string& why);

  std::string dir_;
  wire::PeerHeader header_;
  store::Store::Options opts_;
  Stats& stats_;
  Hooks hooks_;
  std::chrono::steady_clock::time_point nextLog_{};
  std::uint64_t unlogged_ = 0;
  // Worker thread only, once constructed.
  std::unique_ptr<FileSink> sink_;
  ChunkReceiver rx_;
  std::unique_ptr<Worker> worker_;  // last: destroyed first (see ~SnapshotReceiver)
};

}  // namespace cairn::node
