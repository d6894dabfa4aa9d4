#include "node/log.h"

namespace cairn::node {

void LocalLog::propose(wire::Command cmd, std::uint64_t proposal) {
  std::uint64_t index = wal_->lastIndex() + pending_.size() + 1;
  wal_->append(index, wire::encodeCommand(cmd));
  pending_.push_back(Chosen{index, std::move(cmd), proposal});
}

wire::Result<std::vector<Chosen>> LocalLog::drain() {
  if (pending_.empty()) return std::vector<Chosen>();
  if (wire::Status s = wal_->sync(); !s.isOk()) return s;
  std::vector<Chosen> out;
  out.swap(pending_);
  return out;
}

}  // namespace cairn::node
