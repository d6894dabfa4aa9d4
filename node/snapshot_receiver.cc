#include "node/snapshot_receiver.h"

#include <malloc.h>

#include <optional>

#include "node/log.h"
#include "store/file.h"
#include "store/snapshot.h"

namespace cairn::node {

using wire::Err;
using wire::Status;
using Type = wire::NodeMessage::Type;

namespace {
// Chunks waiting for the worker beyond which more are dropped (the sender resends): twice the
// window, so a well-behaved sender never meets it.
constexpr std::size_t kMaxQueued = 2 * kWindow + 2;
constexpr auto kLogEvery = std::chrono::seconds(10);
}  // namespace

// The chunks go to "<dir>/.snap-<slot>.snap.received.tmp" (not the temporary file of a snapshot
// this node may be cutting at the same slot), renamed to the snapshot's own name at finish: the
// two are the same bytes, so whichever rename comes last leaves the same file.
class SnapshotReceiver::FileSink : public ChunkSink {
 public:
  explicit FileSink(std::string dir) : dir_(std::move(dir)) {}
  Status begin(const SnapshotId& id) override {
    file_.reset();
    auto f = store::AtomicFile::create(dir_, store::snapshotName(id.slot), "received");
    if (!f) return f.status();
    file_.emplace(std::move(f.value()));
    return Status::ok();
  }
  Status append(std::string_view bytes) override {
    if (!file_) return Status(Err::kIo, "no snapshot file open");
    return file_->append(bytes);
  }
  Status finish(const SnapshotId&) override {
    if (!file_) return Status(Err::kIo, "no snapshot file open");
    Status s = file_->commit();
    file_.reset();
    return s;
  }

 private:
  std::string dir_;
  std::optional<store::AtomicFile> file_;
};

SnapshotReceiver::SnapshotReceiver(std::string snapDir, wire::PeerHeader header,
                                   store::Store::Options opts, Stats& stats, Hooks hooks)
    : dir_(std::move(snapDir)),
      header_(header),
      opts_(opts),
      stats_(stats),
      hooks_(std::move(hooks)),
      sink_(std::make_unique<FileSink>(dir_)),
      worker_(std::make_unique<Worker>(10)) {}  // below the loops that serve requests

// The worker goes first: it may still be writing through the sink.
SnapshotReceiver::~SnapshotReceiver() {
  worker_.reset();
}

void SnapshotReceiver::ack(std::uint32_t peer, const SnapshotId& id, std::uint64_t next) {
  wire::NodeMessage m = transferMessage(Type::kSnapshotAck, header_, peer, id);
  m.commit = next;
  hooks_.send(peer, wire::encodePeer(m));
}

void SnapshotReceiver::refused(const std::string& why) {
  ++stats_.snapshotChunksRefused;
  const auto now = std::chrono::steady_clock::now();
  if (now < nextLog_) {
    ++unlogged_;
    return;
  }
  logLine("refused a snapshot chunk: " + why +
          (unlogged_ ? " (and " + std::to_string(unlogged_) + " more since the last line)" : ""));
  unlogged_ = 0;
  nextLog_ = now + kLogEvery;
}

void SnapshotReceiver::chunk(wire::NodeMessage m, std::uint64_t learned, std::uint32_t leader) {
  const SnapshotId id = idOf(m);
  if (m.slot <= learned) {
    ack(m.from, id, m.size);  // this node already holds every slot the snapshot does
    return;
  }
  if (leader != 0 && m.from != leader) {
    refused("from node " + std::to_string(m.from) + ", not the leader (node " +
            std::to_string(leader) + ")");
    return;
  }
  if (worker_->pending() >= kMaxQueued) {
    refused("too many chunks waiting to be written");
    return;
  }
  worker_->post([this, m = std::move(m), id]() -> Worker::Completion {
    const SnapshotId before = rx_.current();
    ChunkReceiver::Outcome o = rx_.receive(id, m.commit, m.value, m.crc, *sink_);
    const bool began = rx_.current() == id && before != id;
    std::shared_ptr<store::Store> decoded;
    Status loaded;
    if (o.complete) {
      auto st = store::loadSnapshotFile(dir_ + "/" + store::snapshotName(id.slot), opts_);
      if (!st) {
        loaded = st.status();
      } else if (st->appliedIndex() != id.slot) {
        loaded = Status(Err::kCorrupt, "it holds slot " + std::to_string(st->appliedIndex()));
      } else {
        decoded = std::make_shared<store::Store>(std::move(st.value()));
      }
      // A snapshot that will not be installed must not be acknowledged as held any more.
      if (!loaded.isOk()) rx_.forget();
    }
    // Bytes taken in order (a duplicate or a gap is only acknowledged).
    const bool took =
        !m.value.empty() && (o.complete || (o.ack && *o.ack == m.commit + m.value.size()));
    const std::size_t taken = took ? m.value.size() : 0;
    return
        [this, o, id, began, from = m.from, taken, loaded, decoded = std::move(decoded)]() mutable {
          if (began) {
            logLine("receiving the " + id.describe() + " from node " + std::to_string(from));
          }
          if (!o.error.isOk()) refused(o.error.toString());
          if (o.ack) ack(from, id, *o.ack);
          stats_.snapshotBytesReceived += taken;
          if (!o.complete) return;
          if (!loaded.isOk()) {
            // Checked whole, durable, and still undecodable: a bug, not a transmission error.
            logLine("the " + id.describe() + " from node " + std::to_string(from) +
                    " does not decode: " + loaded.toString());
            return;
          }
          hooks_.installed(std::move(*decoded), id, from);
        };
  });
}

void SnapshotReceiver::dispose(store::Store old, std::uint64_t installed) {
  worker_->post([this, installed, old = std::make_shared<store::Store>(std::move(old))]() mutable {
    old.reset();
    ::malloc_trim(0);  // the replaced tree's memory back to the system, not kept in the heap
    if (installed != 0) store::removeOlderSnapshots(dir_, installed);
    return Worker::Completion();
  });
}

}  // namespace cairn::node
