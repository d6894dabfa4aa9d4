#pragma once
// The write-ahead log: numbered records in segment files, each checksummed.
//
// Format (see store/FORMAT.md): a segment "wal-<first index, 20 digits>.log" holds records
//   [crc32c u32][len u32][index u64][payload: len bytes]   (little-endian)
// where the CRC covers len, index and payload. A segment is preallocated, so an all-zero header
// marks the end of its data. Indices are consecutive across segments.
//
// Owns: the segment files in its directory and one write buffer.
// Called by: the node's event loop (one thread). append() only buffers; sync() makes everything
// appended so far durable with one write and one fdatasync (group commit).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace cairn::store {

struct WalRecord {
  std::uint64_t index = 0;
  std::string payload;
};

class Wal {
 public:
  struct Options {
    std::uint64_t segmentBytes = 64ull << 20;
    bool preallocate = true;
  };

  // Opens (or creates) the WAL in `dir` and returns every record in order. A torn tail (a bad
  // record after which nothing valid follows, in the last segment) is erased and reported through
  // *repaired. Any other damage (a bad record followed by valid ones, a gap in the indices) is
  // CORRUPT: the node must refuse to start rather than silently lose acknowledged writes. The
  // first record may have any index (older segments may have been dropped): the caller knows
  // whether that is legitimate.
  static wire::Result<std::unique_ptr<Wal>> open(const std::string& dir, Options opts,
                                                 std::vector<WalRecord>* out,
                                                 std::string* repaired);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Buffers a record; `index` must be lastIndex() + 1.
  void append(std::uint64_t index, std::string_view payload);
  // Writes every buffered record and fdatasyncs: once this returns OK they survive a crash.
  wire::Status sync();
  std::uint64_t lastIndex() const { return lastIndex_; }
  // Bytes appended but not yet written by sync().
  std::size_t buffered() const { return buf_.size(); }
  // Starts a new segment for the next record (when the current one holds any).
  wire::Status rotate();
  // Deletes, oldest first, every segment whose records all have indices < index.
  wire::Status dropBefore(std::uint64_t index);
  // The same split in two: forgets those segments and returns their paths, for the caller to
  // delete (removeFiles) where a slow unlink harms nobody. Until they are deleted a restart reads
  // them again, which is harmless: they hold only older records.
  std::vector<std::string> detachBefore(std::uint64_t index);
  static wire::Status removeFiles(const std::vector<std::string>& paths, const std::string& dir);
  const std::string& dir() const { return dir_; }

 private:
  struct Segment {
    std::uint64_t first;
    std::string name;
  };
  Wal(std::string dir, Options opts) : dir_(std::move(dir)), opts_(opts) {}
  wire::Status openSegment(std::uint64_t first);

  std::string dir_;
  Options opts_;
  std::vector<Segment> segments_;
  int fd_ = -1;
  std::uint64_t writeOff_ = 0;
  std::uint64_t lastIndex_ = 0;
  std::uint64_t bufferedLast_ = 0;
  std::string buf_;
};

// The records of one segment's bytes, as Wal::open reads them, with no file involved (the fuzz
// target reads arbitrary bytes through it). `*expect` is the index the next record must have (0:
// not known yet) and moves past each record read; only the `last` segment may end in a torn tail,
// which is dropped and described in *repaired. CORRUPT for any other damage. *tailOff is where
// the segment's data ends.
wire::Status scanWalSegment(std::string_view data, const std::string& name, bool last,
                            std::uint64_t* expect, std::vector<WalRecord>* out,
                            std::size_t* tailOff, std::string* repaired);

inline constexpr std::size_t kWalHeaderBytes = 16;
inline constexpr std::uint32_t kWalMaxRecord = 256u << 20;

}  // namespace cairn::store
