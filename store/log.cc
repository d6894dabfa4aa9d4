#include "store/log.h"

namespace cairn::store {

wire::Result<std::unique_ptr<DiskLog>> DiskLog::open(const std::string& dir, Wal::Options opts,
                                                     std::vector<WalRecord>* out,
                                                     std::string* repaired) {
  auto wal = Wal::open(dir, opts, out, repaired);
  if (!wal) return wal.status();
  return std::unique_ptr<DiskLog>(new DiskLog(std::move(wal.value())));
}

DiskLog::DiskLog(std::unique_ptr<Wal> wal) : wal_(std::move(wal)), dir_(wal_->dir()) {}

}  // namespace cairn::store
