#include "store/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cairn::store {

using wire::Err;
using wire::Status;

namespace {
Status ioError(const std::string& what) {
  return Status(Err::kIo, what + ": " + std::strerror(errno));
}
}  // namespace

Status writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ioError("write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::ok();
}

wire::Result<std::string> readFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ioError("open " + path);
  std::string out;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = ioError("read " + path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Status syncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ioError("open " + dir);
  int rc = ::fsync(fd);
  Status s = rc == 0 ? Status::ok() : ioError("fsync " + dir);
  ::close(fd);
  return s;
}

Status makeDirs(const std::string& dir) {
  std::string cur;
  std::size_t i = 0;
  while (i <= dir.size()) {
    std::size_t j = dir.find('/', i);
    if (j == std::string::npos) j = dir.size();
    cur = dir.substr(0, j);
    if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      return ioError("mkdir " + cur);
    }
    i = j + 1;
  }
  return Status::ok();
}

namespace {
// Writes a large file in chunks and starts each chunk's writeback as it goes, waiting for the one
// before: at most two chunks are ever in flight, so a snapshot of many megabytes never lands on
// the disk as one burst that a WAL fdatasync of the same node would queue behind. The caller's
// fsync then finds little left to write.
constexpr std::size_t kWritebackChunk = 1 << 20;

class PacedWriter {
 public:
  explicit PacedWriter(int fd) : fd_(fd) {}
  Status append(std::string_view data) {
    while (!data.empty()) {
      const std::size_t n = std::min(kWritebackChunk - buf_.size(), data.size());
      buf_.append(data.data(), n);
      data.remove_prefix(n);
      if (buf_.size() == kWritebackChunk) {
        if (Status s = flush(); !s.isOk()) return s;
      }
    }
    return Status::ok();
  }
  Status flush() {
    if (buf_.empty()) return Status::ok();
    if (Status s = writeAll(fd_, buf_); !s.isOk()) return s;
    // Best effort: sync_file_range only schedules and waits for writeback; durability still
    // comes from the fsync that follows.
    (void)::sync_file_range(fd_, static_cast<off_t>(off_), static_cast<off_t>(buf_.size()),
                            SYNC_FILE_RANGE_WRITE);
    if (off_ >= kWritebackChunk) {
      (void)::sync_file_range(
          fd_, static_cast<off_t>(off_ - kWritebackChunk), static_cast<off_t>(kWritebackChunk),
          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    off_ += buf_.size();
    buf_.clear();
    return Status::ok();
  }

 private:
  int fd_;
  std::size_t off_ = 0;
  std::string buf_;
};
}  // namespace

Status writeFileAtomic(const std::string& dir, const std::string& name, std::string_view data) {
  return writeFileAtomic(dir, name, [&](const Append& append) { return append(data); });
}

Status writeFileAtomic(const std::string& dir, const std::string& name,
                       const std::function<Status(const Append& append)>& produce) {
  std::string tmp = dir + "/." + name + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ioError("open " + tmp);
  PacedWriter w(fd);
  Status s = produce([&](std::string_view piece) { return w.append(piece); });
  if (s.isOk()) s = w.flush();
  if (s.isOk() && ::fsync(fd) != 0) s = ioError("fsync " + tmp);
  ::close(fd);
  if (!s.isOk()) {
    ::unlink(tmp.c_str());
    return s;
  }
  std::string final = dir + "/" + name;
  if (::rename(tmp.c_str(), final.c_str()) != 0) return ioError("rename " + tmp);
  return syncDir(dir);
}

wire::Result<std::vector<std::string>> listDir(const std::string& dir, std::string_view prefix,
                                               std::string_view suffix) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return ioError("opendir " + dir);
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.size() >= prefix.size() + suffix.size() && n.substr(0, prefix.size()) == prefix &&
        n.substr(n.size() - suffix.size()) == suffix) {
      out.emplace_back(n);
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cairn::store
