#include "node/backups.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "node/client_service.h"
#include "node/log.h"
#include "store/file.h"
#include "store/snapshot.h"

namespace cairn::node {

using wire::Err;
using wire::Reply;
using wire::Status;

// An open backup file, unnamed; closed when the backup and the last read of it let go.
struct Backups::File {
  int fd = -1;
  std::uint64_t len = 0;
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

namespace {

using store::ioError;

// A file in `dir` that has no name: O_TMPFILE where the file system has it, else a hidden name
// (one the node's startup sweeps, ".snap-*.tmp") unlinked as soon as it is open.
wire::Result<int> openUnnamed(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  static std::atomic<std::uint64_t> made{0};
  const std::string path =
      dir + "/.snap-backup-" + std::to_string(::getpid()) + "-" + std::to_string(++made) + ".tmp";
  fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return ioError("create a file in " + dir);
  if (::unlink(path.c_str()) != 0) {
    Status s = ioError("unlink " + path);
    ::close(fd);
    return s;
  }
  return fd;
}

// Runs on the worker: the whole backup file, written from the image.
wire::Result<std::shared_ptr<Backups::File>> writeBackup(const store::Image& img,
                                                         const std::string& dir) {
  if (Status s = store::makeDirs(dir); !s.isOk()) return s;
  auto fd = openUnnamed(dir);
  if (!fd) return fd.status();
  auto f = std::make_shared<Backups::File>();
  f->fd = *fd;
  Status s = store::streamSnapshot(img, [&](std::string_view piece) {
    f->len += piece.size();
    return store::writeAll(f->fd, piece);
  });
  if (!s.isOk()) return s;
  return f;
}

}  // namespace

Backups::Backups(Options opts, const store::Store& store, Stats& stats, Send send)
    : opts_(std::move(opts)), store_(store), stats_(stats), send_(std::move(send)), worker_(10) {}

Backups::~Backups() = default;

void Backups::send(const Envelope& env, Reply r, const std::string& tag) {
  send_(env, r, tag);
}

void Backups::serve(Envelope env, const wire::Request& req, const std::string& tag,
                    Clock::time_point now) {
  if (!halted_.isOk()) return send(env, errorAt(halted_, store_.rev()), tag);
  if (!req.slot) return begin(std::move(env), tag, now);
  if (const std::size_t n = held(); n >= opts_.maxReads) {
    return send(env,
                Reply::error(Err::kUnavailable,
                             "this node holds " + std::to_string(n) +
                                 " backup chunk requests, the most it holds at once: ask for "
                                 "the next chunk once a reply came"),
                tag);
  }
  read(std::move(env), tag, static_cast<std::uint64_t>(*req.slot),
       static_cast<std::uint64_t>(req.offset.value_or(0)), now);
}

std::size_t Backups::held() const {
  std::size_t n = worker_.pending();
  for (const auto& [slot, b] : backups_)
    n += b.waiting.size();
  return n;
}

Reply Backups::describe(const Backup& b, std::uint64_t slot) const {
  Reply r;
  r.rev = b.rev;
  r.slot = static_cast<std::int64_t>(slot);
  r.len = static_cast<std::int64_t>(b.len);
  return r;
}

void Backups::begin(Envelope env, const std::string& tag, Clock::time_point now) {
  const std::uint64_t slot = store_.appliedIndex();
  auto it = backups_.find(slot);
  if (it == backups_.end()) {
    if (backups_.size() >= opts_.max) {
      // A backup already read to the end makes room (the least recently used such): a client
      // that backs up every few seconds must not wait for its own finished downloads to expire.
      auto done = backups_.end();
      for (auto b = backups_.begin(); b != backups_.end(); ++b) {
        if (b->second.readToEnd && b->second.waiting.empty() &&
            (done == backups_.end() || b->second.lastUsed < done->second.lastUsed)) {
          done = b;
        }
      }
      if (done != backups_.end()) backups_.erase(done);
    }
    if (backups_.size() >= opts_.max) {
      return send(
          env,
          Reply::error(
              Err::kUnavailable,
              "this node is already serving " + std::to_string(backups_.size()) +
                  " backups, the most it serves at once (each ends " +
                  quoteDuration(std::chrono::duration_cast<std::chrono::milliseconds>(opts_.idle)) +
                  " after its last request): try again later, or another node"),
          tag);
    }
    it = backups_.emplace(slot, Backup{}).first;
    Backup& b = it->second;
    b.generation = ++generation_;
    b.rev = store_.rev();
    worker_.post([this, slot, gen = b.generation, img = store_.image(),
                  dir = opts_.dir]() -> Worker::Completion {
      auto file = writeBackup(img, dir);
      return [this, slot, gen, file = std::move(file)]() mutable {
        written(slot, gen, std::move(file));
      };
    });
  }
  Backup& b = it->second;
  b.lastUsed = now;
  if (!b.file) {
    b.waiting.push_back(Waiting{std::move(env), tag, std::nullopt});
    return;
  }
  send(env, describe(b, slot), tag);
}

void Backups::written(std::uint64_t slot, std::uint64_t generation,
                      wire::Result<std::shared_ptr<File>> file) {
  auto it = backups_.find(slot);
  if (it == backups_.end() || it->second.generation != generation) return;  // dropped by halt()
  Backup& b = it->second;
  std::vector<Waiting> waiting = std::move(b.waiting);
  b.waiting.clear();
  if (!file) {
    logLine("backup at slot " + std::to_string(slot) + " not written: " + file.status().toString());
    const Status why(Err::kIo, "this node could not write the backup: " + file.status().detail());
    for (const Waiting& w : waiting)
      send(w.env, errorAt(why, store_.rev()), w.tag);
    backups_.erase(it);
    return;
  }
  b.file = std::move(file.value());
  b.len = b.file->len;
  b.lastUsed = std::max(b.lastUsed, Clock::now());  // its idle time starts when it can be read
  ++stats_.backupsWritten;
  logLine("backup at slot " + std::to_string(slot) + ", rev " + std::to_string(b.rev) + ": " +
          std::to_string(b.len) + " bytes");
  for (Waiting& w : waiting) {
    if (w.offset) {
      read(std::move(w.env), w.tag, slot, *w.offset, b.lastUsed);
    } else {
      send(w.env, describe(b, slot), w.tag);
    }
  }
}

void Backups::read(Envelope env, const std::string& tag, std::uint64_t slot, std::uint64_t offset,
                   Clock::time_point now) {
  auto it = backups_.find(slot);
  if (it == backups_.end()) {
    const Status gone(
        Err::kTooLate,
        "no backup at slot " + std::to_string(slot) +
            " is being served by this node (a backup ends " +
            quoteDuration(std::chrono::duration_cast<std::chrono::milliseconds>(opts_.idle)) +
            " after its last request, and with the node): begin again with a "
            "SNAPSHOT without slot");
    return send(env, errorAt(gone, store_.rev()), tag);
  }
  Backup& b = it->second;
  b.lastUsed = std::max(b.lastUsed, now);
  if (!b.file) {  // asked before its beginning was answered: served once it is written
    b.waiting.push_back(Waiting{std::move(env), tag, offset});
    return;
  }
  if (offset > b.len) {
    return send(env,
                Reply::error(Err::kRange, "offset " + std::to_string(offset) +
                                              " is past the end of the backup at slot " +
                                              std::to_string(slot) + " (" + std::to_string(b.len) +
                                              " bytes)"),
                tag);
  }
  if (b.len - offset <= opts_.chunk) b.readToEnd = true;
  readChunk(b, slot, std::move(env), tag, offset);
}

void Backups::readChunk(const Backup& b, std::uint64_t slot, Envelope env, std::string tag,
                        std::uint64_t offset) {
  Reply r = describe(b, slot);
  r.offset = static_cast<std::int64_t>(offset);
  const std::size_t n = static_cast<std::size_t>(std::min(opts_.chunk, b.len - offset));
  worker_.post([this, file = b.file, r = std::move(r), env = std::move(env), tag = std::move(tag),
                offset, n]() mutable -> Worker::Completion {
    std::string bytes;
    Status s = store::readAt(file->fd, offset, n, &bytes);
    return [this, s, r = std::move(r), bytes = std::move(bytes), env = std::move(env),
            tag = std::move(tag)]() mutable {
      if (!halted_.isOk()) return send(env, errorAt(halted_, store_.rev()), tag);
      if (!s.isOk()) {
        logLine("cannot read a backup: " + s.toString());
        const Status why(Err::kIo, "this node could not read the backup: " + s.detail());
        return send(env, errorAt(why, store_.rev()), tag);
      }
      stats_.backupBytesSent += bytes.size();
      r.value = std::move(bytes);
      send(env, std::move(r), tag);
    };
  });
}

void Backups::expire(Clock::time_point now) {
  for (auto it = backups_.begin(); it != backups_.end();) {
    const Backup& b = it->second;
    if (b.file && now - b.lastUsed >= opts_.idle) {
      logLine("backup at slot " + std::to_string(it->first) + " dropped: unused for " +
              quoteDuration(std::chrono::duration_cast<std::chrono::milliseconds>(opts_.idle)));
      it = backups_.erase(it);
      continue;
    }
    ++it;
  }
}

void Backups::halt(const Status& why) {
  halted_ = why;
  for (auto& [slot, b] : backups_) {
    for (const Waiting& w : b.waiting)
      send(w.env, errorAt(why, store_.rev()), w.tag);
  }
  backups_.clear();
}

}  // namespace cairn::node
