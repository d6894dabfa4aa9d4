#pragma once
// The log a replica makes its promises and accepted values durable in: numbered records, appended
// in order, made durable together by sync() (group commit).
//
// Contract, for every implementation:
//   - append() only buffers. A record appended is NOT durable, and must not be relied on (no
//     message that reveals it may leave), until a later sync() returns OK.
//   - sync() makes every record appended so far durable with one flush. Once it returns OK those
//     records survive any crash. When it returns an error, nothing is known about them: a crash
//     may keep any prefix of the records appended since the last good sync (a torn tail) or none,
//     and the caller must stop using the log (a later sync() that returns OK proves nothing:
//     after a failed fdatasync Linux may already have dropped the dirty pages).
//   - A crash loses exactly the records not yet synced, or keeps a prefix of them. It never loses
//     or reorders a synced record, and never keeps a record without the ones before it.
//   - Indices are consecutive: append(index) takes lastAppended + 1. After a restart the caller
//     reads the surviving records (WalRecord) and continues after the last of them.
//
// Implementations: DiskLog (below; store::Wal's segment files and fdatasync) for cairnd, and
// MemoryLog (store/memory_log.h) for unit tests and the simulation, which can lose or tear its
// unsynced tail at a simulated crash and fail a sync on demand.
//
// Owns: the records. Called by: the replica, on the event loop's thread; only removeFiles() may
// run on another thread (see there).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/wal.h"
#include "wire/status.h"

namespace cairn::store {

class Log {
 public:
  virtual ~Log() = default;

  // Buffers record `index` (the index after the last one appended).
  virtual void append(std::uint64_t index, std::string_view payload) = 0;
  // Makes every record appended so far durable (see the contract above).
  [[nodiscard]] virtual wire::Status sync() = 0;
  // The index of the last record made durable by sync() (or recovered at open).
  virtual std::uint64_t lastIndex() const = 0;
  // Bytes appended but not yet made durable.
  virtual std::size_t buffered() const = 0;
  // Starts a new segment for the next record, so that detachBefore() can later let go of
  // everything before it. A log without segments may do nothing.
  [[nodiscard]] virtual wire::Status rotate() = 0;
  // Forgets the records with indices < `index` that it can (whole segments, for the disk); those
  // must all be durable and no longer needed by a restart. Returns what the caller must hand to
  // removeFiles() to release their space (nothing, for a log without files). Until then a restart
  // may read them again, which is harmless: they hold only older records.
  virtual std::vector<std::string> detachBefore(std::uint64_t index) = 0;
  // Deletes what detachBefore() returned. Safe to call from another thread while the log is in
  // use (it touches only the files it is given and the directory).
  [[nodiscard]] virtual wire::Status removeFiles(const std::vector<std::string>& paths) const = 0;
};

// The log on disk: store::Wal's segment files, one write and one fdatasync per sync().
//
// Test-only fault injection (never set these in production): with CAIRN_TEST_FAIL_SYNC_AFTER=N
// in the environment, the Nth sync() that has records to write, and every one after it, fails
// without writing: with EIO, or with the errno given by CAIRN_TEST_FAIL_SYNC_ERRNO (e.g. 28 for
// ENOSPC). It lets an integration test watch a real cairnd whose disk fails.
class DiskLog final : public Log {
 public:
  // Opens (or creates) the WAL in `dir`; see Wal::open for `out` and `repaired`.
  static wire::Result<std::unique_ptr<DiskLog>> open(const std::string& dir, Wal::Options opts,
                                                     std::vector<WalRecord>* out,
                                                     std::string* repaired);

  void append(std::uint64_t index, std::string_view payload) override {
    wal_->append(index, payload);
  }
  wire::Status sync() override;
  std::uint64_t lastIndex() const override { return wal_->lastIndex(); }
  std::size_t buffered() const override { return wal_->buffered(); }
  wire::Status rotate() override { return wal_->rotate(); }
  std::vector<std::string> detachBefore(std::uint64_t index) override {
    return wal_->detachBefore(index);
  }
  wire::Status removeFiles(const std::vector<std::string>& paths) const override {
    return Wal::removeFiles(paths, dir_);
  }

 private:
  explicit DiskLog(std::unique_ptr<Wal> wal);

  std::unique_ptr<Wal> wal_;
  const std::string dir_;        // the WAL's directory, read by removeFiles() on another thread
  std::uint64_t syncs_ = 0;      // syncs that had records to write
  std::uint64_t failAfter_ = 0;  // CAIRN_TEST_FAIL_SYNC_AFTER (0: never)
  int failErrno_ = 0;
};

}  // namespace cairn::store
