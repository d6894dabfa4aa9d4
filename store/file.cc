#include "store/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cairn::store {

using wire::Err;
using wire::Status;

Status ioError(const std::string& what) {
  return Status(Err::kIo, what + ": " + std::strerror(errno));
}

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

Status readAt(int fd, std::uint64_t off, std::size_t n, std::string* out) {
  out->resize(n);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out->data() + got, n - got, static_cast<off_t>(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ioError("pread");
    if (r == 0) return Status(Err::kIo, "the file ends before offset " + std::to_string(off + n));
    got += static_cast<std::size_t>(r);
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

// A large file is written in chunks, and each chunk's writeback starts as it goes, waiting for
// the one before: at most two chunks are ever in flight, so a snapshot of many megabytes never
// lands on the disk as one burst that a WAL fdatasync of the same node would queue behind. The
// fsync at commit then finds little left to write.
namespace {
constexpr std::size_t kWritebackChunk = 1 << 20;
}  // namespace

wire::Result<AtomicFile> AtomicFile::create(const std::string& dir, const std::string& name,
                                            const std::string& writer) {
  AtomicFile f;
  f.dir_ = dir;
  f.name_ = name;
  f.tmp_ = dir + "/." + name + (writer.empty() ? "" : "." + writer) + ".tmp";
  f.fd_ = ::open(f.tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f.fd_ < 0) return ioError("open " + f.tmp_);
  return f;
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept {
  *this = std::move(o);
}

AtomicFile& AtomicFile::operator=(AtomicFile&& o) noexcept {
  if (this == &o) return *this;
  discard();
  dir_ = std::move(o.dir_);
  name_ = std::move(o.name_);
  tmp_ = std::move(o.tmp_);
  fd_ = o.fd_;
  size_ = o.size_;
  off_ = o.off_;
  buf_ = std::move(o.buf_);
  o.fd_ = -1;
  return *this;
}

AtomicFile::~AtomicFile() {
  discard();
}

void AtomicFile::discard() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
  fd_ = -1;
}

Status AtomicFile::append(std::string_view data) {
  if (fd_ < 0) return Status(Err::kIo, "append to a closed file " + tmp_);
  size_ += data.size();
  while (!data.empty()) {
    const std::size_t n = std::min(kWritebackChunk - buf_.size(), data.size());
    buf_.append(data.data(), n);
    data.remove_prefix(n);
    if (buf_.size() < kWritebackChunk) break;
    if (Status s = writeAll(fd_, buf_); !s.isOk()) return s;
    // Best effort: sync_file_range only schedules and waits for writeback; durability still
    // comes from the fsync at commit.
    (void)::sync_file_range(fd_, static_cast<off_t>(off_), static_cast<off_t>(buf_.size()),
                            SYNC_FILE_RANGE_WRITE);
    if (off_ >= kWritebackChunk) {
      (void)::sync_file_range(
          fd_, static_cast<off_t>(off_ - kWritebackChunk), static_cast<off_t>(kWritebackChunk),
          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    off_ += buf_.size();
    buf_.clear();
  }
  return Status::ok();
}

Status AtomicFile::commit() {
  if (fd_ < 0) return Status(Err::kIo, "commit of a closed file " + tmp_);
  Status s = writeAll(fd_, buf_);
  buf_.clear();
  if (s.isOk() && ::fsync(fd_) != 0) s = ioError("fsync " + tmp_);
  if (!s.isOk()) {
    discard();
    return s;
  }
  ::close(fd_);
  fd_ = -1;
  const std::string final = dir_ + "/" + name_;
  if (::rename(tmp_.c_str(), final.c_str()) != 0) {
    Status r = ioError("rename " + tmp_);
    ::unlink(tmp_.c_str());
    return r;
  }
  return syncDir(dir_);
}

Status writeFileAtomic(const std::string& dir, const std::string& name, std::string_view data) {
  return writeFileAtomic(dir, name, [&](const Append& append) { return append(data); });
}

Status writeFileAtomic(const std::string& dir, const std::string& name,
                       const std::function<Status(const Append& append)>& produce) {
  auto f = AtomicFile::create(dir, name);
  if (!f) return f.status();
  if (Status s = produce([&](std::string_view piece) { return f->append(piece); }); !s.isOk()) {
    return s;
  }
  return f->commit();
}

wire::Result<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ioError("open " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = ioError("stat " + path);
    ::close(fd);
    return s;
  }
  const std::size_t n = static_cast<std::size_t>(st.st_size);
  if (n == 0) {
    ::close(fd);
    return MappedFile(nullptr, 0);
  }
  void* p = ::mmap(nullptr, n, PROT_READ, MAP_PRIVATE, fd, 0);
  Status err = p == MAP_FAILED ? ioError("mmap " + path) : Status::ok();
  ::close(fd);
  if (!err.isOk()) return err;
  (void)::madvise(p, n, MADV_SEQUENTIAL);
  return MappedFile(static_cast<const char*>(p), n);
}

void MappedFile::release(std::size_t upTo) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t n = std::min(upTo, size_) / page * page;
  if (n > 0) (void)::madvise(const_cast<char*>(data_), n, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
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
