#pragma once
// The store's access to the file system: small helpers over POSIX calls that return Status.

#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace cairn::store {

wire::Status writeAll(int fd, std::string_view data);
wire::Result<std::string> readFile(const std::string& path);
// Makes a directory's entries (creations, renames, deletions) durable.
wire::Status syncDir(const std::string& dir);
wire::Status makeDirs(const std::string& dir);
// Writes path durably and atomically: a temporary file, fsync, rename, fsync of the directory.
wire::Status writeFileAtomic(const std::string& dir, const std::string& name,
                             std::string_view data);
// Names in dir that start with prefix and end with suffix, sorted.
wire::Result<std::vector<std::string>> listDir(const std::string& dir, std::string_view prefix,
                                               std::string_view suffix);

}  // namespace cairn::store
