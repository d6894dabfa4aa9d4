#pragma once
// The store's access to the file system: small helpers over POSIX calls that return Status.

#include <functional>
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
// Where a streamed file's bytes go, in order; an error ends the stream.
using Append = std::function<wire::Status(std::string_view)>;
// The same, with the bytes handed to `append` piece by piece by `produce`: a large file is never
// whole in memory. Written in 1 MiB chunks with paced writeback (see file.cc).
wire::Status writeFileAtomic(const std::string& dir, const std::string& name,
                             const std::function<wire::Status(const Append& append)>& produce);
// Names in dir that start with prefix and end with suffix, sorted.
wire::Result<std::vector<std::string>> listDir(const std::string& dir, std::string_view prefix,
                                               std::string_view suffix);

}  // namespace cairn::store
