#pragma once
// The store's access to the file system: small helpers over POSIX calls that return Status.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace cairn::store {

// IO: "`what`: " and errno's message (call it right after the call that failed).
wire::Status ioError(const std::string& what);
wire::Status writeAll(int fd, std::string_view data);
// Reads exactly n bytes at offset off into *out; IO if the file ends first.
wire::Status readAt(int fd, std::uint64_t off, std::size_t n, std::string* out);
wire::Result<std::string> readFile(const std::string& path);
// Makes a directory's entries (creations, renames, deletions) durable.
wire::Status syncDir(const std::string& dir);
wire::Status makeDirs(const std::string& dir);
// Writes path durably and atomically: a temporary file, fsync, rename, fsync of the directory.
wire::Status writeFileAtomic(const std::string& dir, const std::string& name,
                             std::string_view data);
// Where a streamed file's bytes go, in order; an error ends the stream.
using Append = std::function<wire::Status(std::string_view)>;
// The same, with the bytes handed to `append` piece by piece by `produce`: a large file is never
// whole in memory. Written in 1 MiB chunks with paced writeback (see file.cc).
wire::Status writeFileAtomic(const std::string& dir, const std::string& name,
                             const std::function<wire::Status(const Append& append)>& produce);
// A file written durably and atomically in pieces over time: bytes go to a hidden temporary file
// in `dir` (with paced writeback, see file.cc), and commit() makes it `name` (fsync, rename, fsync
// of the directory). Destroyed uncommitted, it leaves nothing behind. One thread at a time.
class AtomicFile {
 public:
  // `writer` tells apart the temporary files of writers that may make the same name at once (a
  // snapshot cut here and the same snapshot received from the leader).
  static wire::Result<AtomicFile> create(const std::string& dir, const std::string& name,
                                         const std::string& writer = "");
  AtomicFile(AtomicFile&& o) noexcept;
  AtomicFile& operator=(AtomicFile&& o) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  wire::Status append(std::string_view data);
  wire::Status commit();
  std::uint64_t size() const { return size_; }

 private:
  AtomicFile() = default;
  void discard();
  std::string dir_, name_, tmp_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // bytes appended
  std::uint64_t off_ = 0;   // bytes written out
  std::string buf_;
};

// A file mapped read-only into memory, unmapped when destroyed: a large file read once without a
// copy on the heap.
class MappedFile {
 public:
  static wire::Result<MappedFile> open(const std::string& path);
  MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr; }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile& operator=(MappedFile&&) = delete;
  ~MappedFile();
  std::string_view view() const { return std::string_view(data_, size_); }
  // Drops the pages of [0, upTo) from memory (read again from the file if touched).
  void release(std::size_t upTo);

 private:
  MappedFile(const char* d, std::size_t n) : data_(d), size_(n) {}
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Names in dir that start with prefix and end with suffix, sorted.
wire::Result<std::vector<std::string>> listDir(const std::string& dir, std::string_view prefix,
                                               std::string_view suffix);

}  // namespace cairn::store
