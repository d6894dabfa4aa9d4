#include "store/memory_log.h"

#include <algorithm>
#include <cstdlib>

namespace cairn::store {

MemoryLog::MemoryLog(std::vector<WalRecord> recovered) : synced_(std::move(recovered)) {
  if (!synced_.empty()) lastSynced_ = synced_.back().index;
}

void MemoryLog::append(std::uint64_t index, std::string_view payload) {
  const std::uint64_t last = unsynced_.empty() ? lastSynced_ : unsynced_.back().index;
  // The same rule Wal::append states; a broken caller aborts loudly.
  if (last != 0 && index != last + 1) std::abort();
  unsynced_.push_back(WalRecord{index, std::string(payload)});
  bufferedBytes_ += payload.size() + kWalHeaderBytes;
}

wire::Status MemoryLog::sync() {
  if (unsynced_.empty()) return wire::Status::ok();
  if (failNext_) {
    wire::Status s = std::move(*failNext_);
    failNext_.reset();
    return s;
  }
  lastSynced_ = unsynced_.back().index;
  synced_.insert(synced_.end(), std::make_move_iterator(unsynced_.begin()),
                 std::make_move_iterator(unsynced_.end()));
  unsynced_.clear();
  bufferedBytes_ = 0;
  ++syncs_;
  return wire::Status::ok();
}

std::vector<std::string> MemoryLog::detachBefore(std::uint64_t index) {
  auto keep = std::find_if(synced_.begin(), synced_.end(),
                           [&](const WalRecord& r) { return r.index >= index; });
  synced_.erase(synced_.begin(), keep);
  return {};
}

std::vector<WalRecord> MemoryLog::survivors(std::size_t keepUnsynced) const {
  std::vector<WalRecord> out = synced_;
  keepUnsynced = std::min(keepUnsynced, unsynced_.size());
  out.insert(out.end(), unsynced_.begin(),
             unsynced_.begin() + static_cast<std::ptrdiff_t>(keepUnsynced));
  return out;
}

}  // namespace cairn::store
