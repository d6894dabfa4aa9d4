#include "node/snapshot_sender.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/log.h"
#include "store/crc32c.h"
#include "store/file.h"
#include "store/snapshot.h"

namespace cairn::node {

using wire::Err;
using wire::Status;
using Type = wire::NodeMessage::Type;

// An open snapshot file; closed when the last transfer or read job lets go of it.
struct SnapshotSender::File {
  int fd = -1;
  SnapshotId id;
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

namespace {

using store::ioError;

// Opens the newest snapshot in dir and reads its identity (the checksum is its last 4 bytes).
wire::Result<std::shared_ptr<SnapshotSender::File>> openNewest(const std::string& dir) {
  auto newest = store::newestSnapshot(dir);
  if (!newest) return newest.status();
  if (!newest->has_value()) return Status(Err::kNoEnt, "no snapshot in " + dir);
  auto f = std::make_shared<SnapshotSender::File>();
  const std::string& path = (*newest)->path;
  f->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) return ioError("open " + path);
  struct stat st;
  if (::fstat(f->fd, &st) != 0) return ioError("stat " + path);
  f->id.slot = (*newest)->index;
  f->id.size = static_cast<std::uint64_t>(st.st_size);
  if (f->id.size < 4) return Status(Err::kCorrupt, path + " is too short for a snapshot");
  std::string crc;
  if (Status s = store::readAt(f->fd, f->id.size - 4, 4, &crc); !s.isOk()) return s;
  std::memcpy(&f->id.crc, crc.data(), 4);
  return f;
}
}  // namespace

SnapshotSender::SnapshotSender(std::string snapDir, wire::PeerHeader header,
                               ChunkSender::Options opts, Stats& stats, Send send)
    : dir_(std::move(snapDir)),
      header_(header),
      opts_(opts),
      stats_(stats),
      send_(std::move(send)),
      worker_(10) {}

void SnapshotSender::want(std::uint32_t peer, std::uint64_t now) {
  now_ = now;
  if (transfers_.count(peer)) return;
  Transfer& t = transfers_[peer];
  t.generation = ++generation_;
  const std::uint64_t gen = t.generation;
  worker_.post([this, peer, gen, dir = dir_]() -> Worker::Completion {
    auto f = openNewest(dir);
    return [this, peer, gen, f = std::move(f)]() mutable {
      auto it = transfers_.find(peer);
      if (it == transfers_.end() || it->second.generation != gen) return;
      if (!f) {
        logLine("cannot send a snapshot to node " + std::to_string(peer) + ": " +
                f.status().toString());
        transfers_.erase(it);
        return;
      }
      Transfer& t = it->second;
      t.file = std::move(f.value());
      t.sender.emplace(t.file->id, opts_, now_);
      logLine("sending the " + t.file->id.describe() + " to node " + std::to_string(peer));
      pump(peer, t);
    };
  });
}

void SnapshotSender::pump(std::uint32_t peer, Transfer& t) {
  // Reads still waiting on the worker (a busy machine) hold back the next ones, resends included:
  // at most a window of them queues per transfer.
  if (t.reading > 0) return;
  for (const ChunkSender::Chunk& c : t.sender->due()) {
    wire::NodeMessage m = transferMessage(Type::kSnapshotChunk, header_, peer, t.file->id);
    m.commit = c.offset;
    if (c.length == 0) {  // the hello
      m.crc = store::crc32c("");
      send_(peer, wire::encodePeer(m));
      continue;
    }
    ++t.reading;
    worker_.post([this, peer, gen = t.generation, file = t.file, c,
                  m = std::move(m)]() mutable -> Worker::Completion {
      Status s = store::readAt(file->fd, c.offset, static_cast<std::size_t>(c.length), &m.value);
      std::string frame;
      if (s.isOk()) {
        m.crc = store::crc32c(m.value);
        frame = wire::encodePeer(m);
      }
      return [this, peer, gen, s, c, frame = std::move(frame)]() mutable {
        auto it = transfers_.find(peer);
        if (it == transfers_.end() || it->second.generation != gen) return;
        --it->second.reading;
        if (!s.isOk()) {
          logLine("cannot read the snapshot for node " + std::to_string(peer) + ": " +
                  s.toString());
          transfers_.erase(it);
          return;
        }
        stats_.snapshotBytesSent += c.length;
        send_(peer, std::move(frame));
      };
    });
  }
}

void SnapshotSender::acked(const wire::NodeMessage& m, std::uint64_t now) {
  now_ = now;
  auto it = transfers_.find(m.from);
  if (it == transfers_.end() || !it->second.sender) return;
  Transfer& t = it->second;
  const SnapshotId id = idOf(m);
  const bool greeted = t.sender->greeted();
  t.sender->acked(id, m.commit, now);
  if (!greeted && t.sender->greeted() && t.sender->resumedAt() > 0 && !t.sender->done()) {
    ++stats_.snapshotsResumed;
    logLine("resuming the " + t.file->id.describe() + " to node " + std::to_string(m.from) +
            " at byte " + std::to_string(t.sender->resumedAt()));
  }
  if (t.sender->done()) {
    if (t.sender->resumedAt() == t.file->id.size) {
      // It answered the hello holding it all: it needed nothing (it caught up meanwhile).
      if (verbose) logLine("node " + std::to_string(m.from) + " needs no snapshot any more");
    } else {
      ++stats_.snapshotsSent;
      logLine("sent the " + t.file->id.describe() + " to node " + std::to_string(m.from));
    }
    transfers_.erase(it);
    return;
  }
  pump(m.from, t);
}

void SnapshotSender::tick(std::uint64_t now) {
  now_ = now;
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    Transfer& t = it->second;
    if (t.sender && t.sender->abandoned(now)) {
      ++stats_.snapshotsAbandoned;
      logLine("node " + std::to_string(it->first) + " stopped taking the " + t.file->id.describe() +
              " at byte " + std::to_string(t.sender->acked()) + "; dropped the transfer");
      it = transfers_.erase(it);
      continue;
    }
    if (t.sender) {
      t.sender->tick(now);
      pump(it->first, t);
    }
    ++it;
  }
}

void SnapshotSender::stop() {
  transfers_.clear();
}

}  // namespace cairn::node
