#pragma once
// The log in memory (store/log.h's contract), for unit tests and the simulation: the twin of
// DiskLog that a test can crash at any point.
//
// It keeps the records made durable by sync() apart from those only appended since. A simulated
// crash is survivors(k): the synced records plus the first k unsynced ones (k = 0: the whole
// unsynced tail is lost; 0 < k: a torn tail), which the test hands to a new MemoryLog as the disk
// a restarted node finds. failNextSync(status) makes the next sync() return that error (an EIO,
// say) without making anything durable, as a disk that fails, or a process that dies inside its
// fdatasync, would.
//
// Owns: the records. Called by: one thread (the test's); it has no files, so detachBefore() drops
// records at once and returns nothing to remove.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/log.h"

namespace cairn::store {

class MemoryLog final : public Log {
 public:
  // `recovered` is what a restart found: it counts as durable.
  explicit MemoryLog(std::vector<WalRecord> recovered = {});

  void append(std::uint64_t index, std::string_view payload) override;
  wire::Status sync() override;
  std::uint64_t lastIndex() const override { return lastSynced_; }
  std::size_t buffered() const override { return bufferedBytes_; }
  wire::Status rotate() override { return wire::Status::ok(); }
  std::vector<std::string> detachBefore(std::uint64_t index) override;
  wire::Status removeFiles(const std::vector<std::string>&) const override {
    return wire::Status::ok();
  }

  // The next sync() that has records to write returns `s` and makes nothing durable.
  void failNextSync(wire::Status s) { failNext_ = std::move(s); }
  void cancelSyncFailure() { failNext_.reset(); }
  bool syncFailureArmed() const { return failNext_.has_value(); }
  // What the disk holds after a crash now: the synced records and the first `keepUnsynced` of
  // the unsynced ones (clamped to how many there are).
  std::vector<WalRecord> survivors(std::size_t keepUnsynced) const;

  const std::vector<WalRecord>& synced() const { return synced_; }
  const std::vector<WalRecord>& unsynced() const { return unsynced_; }
  std::uint64_t syncCount() const { return syncs_; }  // syncs that made records durable

 private:
  std::vector<WalRecord> synced_;
  std::vector<WalRecord> unsynced_;
  std::uint64_t lastSynced_ = 0;
  std::size_t bufferedBytes_ = 0;
  std::optional<wire::Status> failNext_;
  std::uint64_t syncs_ = 0;
};

}  // namespace cairn::store
