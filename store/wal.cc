#include "store/wal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "store/crc32c.h"
#include "store/file.h"

namespace cairn::store {

using wire::Err;
using wire::Status;

namespace {

std::uint32_t get32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
std::uint64_t get64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::string segmentName(std::uint64_t first) {
  char b[64];
  std::snprintf(b, sizeof b, "wal-%020" PRIu64 ".log", first);
  return b;
}

enum class Parse { kOk, kEnd, kBad };

// Parses the record at `off`; kEnd for an all-zero header or the end of the data.
Parse parseAt(std::string_view data, std::size_t off, std::uint64_t* index,
              std::string_view* payload, std::size_t* next) {
  if (off == data.size()) return Parse::kEnd;
  if (data.size() - off < kWalHeaderBytes) {
    for (std::size_t i = off; i < data.size(); ++i) {
      if (data[i] != 0) return Parse::kBad;
    }
    return Parse::kEnd;
  }
  const char* h = data.data() + off;
  static const char kZero[kWalHeaderBytes] = {};
  if (std::memcmp(h, kZero, kWalHeaderBytes) == 0) return Parse::kEnd;
  std::uint32_t crc = get32(h);
  std::uint32_t len = get32(h + 4);
  if (len > kWalMaxRecord || len > data.size() - off - kWalHeaderBytes) return Parse::kBad;
  if (crc32c(std::string_view(h + 4, 12 + len)) != crc) return Parse::kBad;
  *index = get64(h + 8);
  *payload = std::string_view(h + kWalHeaderBytes, len);
  *next = off + kWalHeaderBytes + len;
  return Parse::kOk;
}

// True when a valid record with index >= minIndex starts anywhere after `off`: the sign that the
// damage at `off` is corruption in the middle of the log, not a torn tail.
bool validRecordAfter(std::string_view data, std::size_t off, std::uint64_t minIndex) {
  for (std::size_t p = off + 1; p + kWalHeaderBytes <= data.size(); ++p) {
    std::uint64_t idx;
    std::string_view pl;
    std::size_t nx;
    if (get64(data.data() + p + 8) < minIndex) continue;
    if (parseAt(data, p, &idx, &pl, &nx) == Parse::kOk) return true;
  }
  return false;
}

bool allZero(std::string_view data, std::size_t off) {
  for (std::size_t i = off; i < data.size(); ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

}  // namespace

Status scanWalSegment(std::string_view d, const std::string& name, bool last, std::uint64_t* expect,
                      std::vector<WalRecord>* out, std::size_t* tailOff, std::string* repaired) {
  std::size_t off = 0;
  while (true) {
    std::uint64_t idx = 0;
    std::string_view pl;
    std::size_t next = 0;
    Parse p = parseAt(d, off, &idx, &pl, &next);
    if (p == Parse::kOk && *expect != 0 && idx != *expect) {
      return Status(Err::kCorrupt, "WAL " + name + ": record at offset " + std::to_string(off) +
                                       " has index " + std::to_string(idx) + ", expected " +
                                       std::to_string(*expect));
    }
    if (p == Parse::kOk && idx == UINT64_MAX) {
      // No index could follow it (and 0 means "not known yet" to the check above).
      return Status(Err::kCorrupt, "WAL " + name + ": record at offset " + std::to_string(off) +
                                       " has index 2^64-1");
    }
    if (p == Parse::kOk) {
      out->push_back(WalRecord{idx, std::string(pl)});
      *expect = idx + 1;
      off = next;
      continue;
    }
    // End of this segment's data, cleanly or not.
    const bool clean = p == Parse::kEnd && allZero(d, off);
    if (!clean) {
      if (!last || validRecordAfter(d, off, *expect)) {
        return Status(
            Err::kCorrupt,
            "WAL " + name + " is damaged at offset " + std::to_string(off) +
                (last ? " and valid records follow the damage" : " and later segments exist") +
                ": refusing to start, acknowledged writes could be lost");
      }
      *repaired = "dropped a torn WAL tail in " + name + " at offset " + std::to_string(off) +
                  " (" + std::to_string(d.size() - off) + " bytes after it)";
    }
    *tailOff = off;
    return Status::ok();
  }
}

wire::Result<std::unique_ptr<Wal>> Wal::open(const std::string& dir, Options opts,
                                             std::vector<WalRecord>* out, std::string* repaired) {
  if (Status s = makeDirs(dir); !s.isOk()) return s;
  auto names = listDir(dir, "wal-", ".log");
  if (!names) return names.status();
  std::unique_ptr<Wal> w(new Wal(dir, opts));
  std::uint64_t expect = 0;  // the index the next record must have; 0 = not known yet
  std::size_t tailOff = 0;
  for (std::size_t si = 0; si < names->size(); ++si) {
    const std::string& name = (*names)[si];
    std::uint64_t first = std::strtoull(name.c_str() + 4, nullptr, 10);
    w->segments_.push_back(Segment{first, name});
    auto data = readFile(dir + "/" + name);
    if (!data) return data.status();
    if (Status s =
            scanWalSegment(*data, name, si + 1 == names->size(), &expect, out, &tailOff, repaired);
        !s.isOk()) {
      return s;
    }
  }
  // An empty WAL continues after its segment's name (the index its first record would have had).
  if (expect == 0 && !w->segments_.empty()) expect = w->segments_.back().first;
  w->lastIndex_ = expect == 0 ? 0 : expect - 1;
  w->bufferedLast_ = w->lastIndex_;
  if (w->segments_.empty()) {
    if (Status s = w->openSegment(w->lastIndex_ + 1); !s.isOk()) return s;
  } else {
    std::string path = dir + "/" + w->segments_.back().name;
    w->fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (w->fd_ < 0) return Status(Err::kIo, "open " + path + ": " + std::strerror(errno));
    w->writeOff_ = tailOff;
    if (!repaired->empty()) {
      // Erase the torn bytes so that later appends are followed by zeros, not by old garbage.
      off_t size = ::lseek(w->fd_, 0, SEEK_END);
      if (size > static_cast<off_t>(tailOff)) {
        std::string zeros(static_cast<std::size_t>(size) - tailOff, '\0');
        if (::pwrite(w->fd_, zeros.data(), zeros.size(), static_cast<off_t>(tailOff)) !=
                static_cast<ssize_t>(zeros.size()) ||
            ::fdatasync(w->fd_) != 0) {
          return Status(Err::kIo, "erasing torn WAL tail: " + std::string(std::strerror(errno)));
        }
      }
    }
  }
  return w;
}

Wal::~Wal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Wal::openSegment(std::uint64_t first) {
  std::string name = segmentName(first);
  std::string path = dir_ + "/" + name;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status(Err::kIo, "create " + path + ": " + std::strerror(errno));
  if (opts_.preallocate) {
    // Best effort: a file whose size does not change lets fdatasync skip the metadata flush.
    (void)::posix_fallocate(fd, 0, static_cast<off_t>(opts_.segmentBytes));
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return Status(Err::kIo, "fsync " + path + ": " + std::strerror(errno));
  }
  if (Status s = syncDir(dir_); !s.isOk()) {
    ::close(fd);
    return s;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  writeOff_ = 0;
  segments_.push_back(Segment{first, name});
  return Status::ok();
}

void Wal::append(std::uint64_t index, std::string_view payload) {
  char h[kWalHeaderBytes];
  std::uint32_t len = static_cast<std::uint32_t>(payload.size());
  std::memcpy(h + 4, &len, 4);
  std::memcpy(h + 8, &index, 8);
  std::uint32_t crc = crc32c(std::string_view(h + 4, 12));
  crc = crc32c(payload, crc);
  std::memcpy(h, &crc, 4);
  buf_.append(h, kWalHeaderBytes);
  buf_.append(payload);
  bufferedLast_ = index;
}

Status Wal::sync() {
  if (buf_.empty()) return Status::ok();
  if (writeOff_ > 0 && writeOff_ + buf_.size() > opts_.segmentBytes) {
    if (::fdatasync(fd_) != 0)
      return Status(Err::kIo, std::string("fdatasync: ") + std::strerror(errno));
    if (Status s = openSegment(lastIndex_ + 1); !s.isOk()) return s;
  }
  std::string_view d = buf_;
  std::uint64_t off = writeOff_;
  while (!d.empty()) {
    ssize_t n = ::pwrite(fd_, d.data(), d.size(), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(Err::kIo, std::string("WAL write: ") + std::strerror(errno));
    }
    d.remove_prefix(static_cast<std::size_t>(n));
    off += static_cast<std::uint64_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    return Status(Err::kIo, std::string("WAL fdatasync: ") + std::strerror(errno));
  }
  writeOff_ = off;
  lastIndex_ = bufferedLast_;
  buf_.clear();
  return Status::ok();
}

Status Wal::rotate() {
  if (writeOff_ == 0) return Status::ok();
  return openSegment(lastIndex_ + 1);
}

std::vector<std::string> Wal::detachBefore(std::uint64_t index) {
  std::vector<std::string> out;
  while (segments_.size() > 1 && segments_[1].first <= index) {
    out.push_back(dir_ + "/" + segments_.front().name);
    segments_.erase(segments_.begin());
  }
  return out;
}

Status Wal::removeFiles(const std::vector<std::string>& paths, const std::string& dir) {
  if (paths.empty()) return Status::ok();
  for (const std::string& path : paths) {
    if (::unlink(path.c_str()) != 0) {
      return Status(Err::kIo, "unlink " + path + ": " + std::strerror(errno));
    }
  }
  return syncDir(dir);
}

Status Wal::dropBefore(std::uint64_t index) {
  return removeFiles(detachBefore(index), dir_);
}

}  // namespace cairn::store
