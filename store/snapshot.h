#pragma once
// Snapshots: the whole tree at one applied log index, in one checksummed file
// "snap-<index, 20 digits>.snap" (format in store/FORMAT.md). A snapshot bounds the WAL: records
// up to its index can be deleted once it is durable.

#include <cstdint>
#include <optional>
#include <string>

#include "store/store.h"
#include "wire/status.h"

namespace cairn::store {

// Serializes the store's head to bytes (what writeSnapshot stores, and what a lagging peer will
// be sent).
std::string encodeSnapshot(const Store& s);
wire::Result<Store> decodeSnapshot(std::string_view bytes, Store::Options opts);

// Writes a snapshot of the head durably, then removes older snapshot files.
wire::Status writeSnapshot(const Store& s, const std::string& dir);
// Loads the newest snapshot in dir; nullopt when there is none. A damaged newest snapshot is
// CORRUPT (the WAL behind it may already be gone).
wire::Result<std::optional<Store>> loadSnapshot(const std::string& dir, Store::Options opts);

}  // namespace cairn::store
