#include "node/recovery.h"

#include "store/file.h"
#include "store/snapshot.h"

namespace cairn::node {

wire::Result<Recovered> recover(const std::string& dataDir, store::Store::Options opts) {
  Recovered r;
  if (wire::Status s = store::makeDirs(dataDir + "/snap"); !s.isOk()) return s;
  auto snap = store::loadSnapshot(dataDir + "/snap", opts);
  if (!snap) return snap.status();
  if (snap->has_value()) {
    r.store = std::make_unique<store::Store>(std::move(**snap));
  } else {
    r.store = std::make_unique<store::Store>(opts);
  }
  r.snapshotIndex = r.store->appliedIndex();
  std::vector<store::WalRecord> records;
  auto wal = store::Wal::open(dataDir + "/wal", store::Wal::Options(), r.snapshotIndex, &records,
                              &r.repaired);
  if (!wal) return wal.status();
  r.wal = std::move(wal.value());
  for (const auto& rec : records) {
    auto cmd = wire::decodeCommand(rec.payload);
    if (!cmd) {
      return wire::Status(wire::Err::kCorrupt,
                          "WAL record " + std::to_string(rec.index) + ": " + cmd.status().detail());
    }
    (void)r.store->apply(rec.index, *cmd);
    ++r.replayed;
  }
  return r;
}

}  // namespace cairn::node
