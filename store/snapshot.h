#pragma once
// Snapshots: the whole tree at one applied log index, in one checksummed file
// "snap-<index, 20 digits>.snap" (format in store/FORMAT.md). A snapshot bounds the WAL: records
// up to its index can be deleted once it is durable.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "store/file.h"
#include "store/store.h"
#include "wire/status.h"

namespace cairn::store {

// Serializes an image of the tree to bytes (what writeSnapshot stores, and what a lagging peer
// will be sent). Reads only the image, so it may run on another thread than the store's.
std::string encodeSnapshot(const Image& img);
// The same bytes, handed to `append` in pieces of about 1 MiB as they are encoded (the checksum
// last): writeSnapshot never holds a whole snapshot in memory. Stops at append's first error.
wire::Status streamSnapshot(const Image& img, const Append& append);
// Called now and then by a decode with the offset read up to (it reads twice: the checksum
// first, then the tree; 0 marks the start of the second pass).
using Progress = std::function<void(std::size_t offset)>;
wire::Result<Store> decodeSnapshot(std::string_view bytes, Store::Options opts,
                                   const Progress& progress = {});

// The file name of the snapshot at log index `index`.
std::string snapshotName(std::uint64_t index);
// Writes a snapshot durably, then removes older snapshot files (a newer one, received from the
// leader meanwhile, stays). Thread-safe like encodeSnapshot.
wire::Status writeSnapshot(const Image& img, const std::string& dir);
// Removes the snapshot files in dir older than the one at `index`.
void removeOlderSnapshots(const std::string& dir, std::uint64_t index);
// The newest snapshot file in dir, if any.
struct SnapshotFile {
  std::uint64_t index = 0;
  std::string path;
};
wire::Result<std::optional<SnapshotFile>> newestSnapshot(const std::string& dir);
// Decodes one snapshot file (mapped, not copied to the heap).
wire::Result<Store> loadSnapshotFile(const std::string& path, Store::Options opts);
// Loads the newest snapshot in dir; nullopt when there is none. A damaged newest snapshot is
// CORRUPT (the WAL behind it may already be gone).
wire::Result<std::optional<Store>> loadSnapshot(const std::string& dir, Store::Options opts);

}  // namespace cairn::store
