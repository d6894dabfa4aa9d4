#include "store/log.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cairn::store {

wire::Result<std::unique_ptr<DiskLog>> DiskLog::open(const std::string& dir, Wal::Options opts,
                                                     std::vector<WalRecord>* out,
                                                     std::string* repaired) {
  auto wal = Wal::open(dir, opts, out, repaired);
  if (!wal) return wal.status();
  return std::unique_ptr<DiskLog>(new DiskLog(std::move(wal.value())));
}

DiskLog::DiskLog(std::unique_ptr<Wal> wal) : wal_(std::move(wal)), dir_(wal_->dir()) {
  // Test-only: see the class comment.
  if (const char* n = std::getenv("CAIRN_TEST_FAIL_SYNC_AFTER")) {
    failAfter_ = std::strtoull(n, nullptr, 10);
    failErrno_ = EIO;
    if (const char* e = std::getenv("CAIRN_TEST_FAIL_SYNC_ERRNO")) failErrno_ = std::atoi(e);
  }
}

wire::Status DiskLog::sync() {
  if (wal_->buffered() == 0) return wal_->sync();
  if (failAfter_ != 0 && ++syncs_ >= failAfter_) {
    return wire::Status(wire::Err::kIo, std::string("WAL fdatasync: ") + std::strerror(failErrno_) +
                                            " (injected by CAIRN_TEST_FAIL_SYNC_AFTER)");
  }
  return wal_->sync();
}

}  // namespace cairn::store
