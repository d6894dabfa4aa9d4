#pragma once
// Starting a node from its data directory: the newest snapshot, then every WAL record after it.

#include <memory>
#include <string>

#include "store/store.h"
#include "store/wal.h"
#include "wire/status.h"

namespace cairn::node {

struct Recovered {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::Wal> wal;
  std::uint64_t snapshotIndex = 0;
  std::uint64_t replayed = 0;
  std::string repaired;  // non-empty when a torn WAL tail was dropped
};

// Layout: DIR/snap/snap-*.snap and DIR/wal/wal-*.log.
wire::Result<Recovered> recover(const std::string& dataDir, store::Store::Options opts);

}  // namespace cairn::node
