#pragma once
// Grants: who each client key belongs to and what that user may do, read from cairnd --clients
// (PROTOCOL.md §12). One line per key:
//   <public key, Z85> <user> <perm> <prefix> [<perm> <prefix> ...]
// perm is r (read), rw (read and write) or admin (read, write, and on / the cluster's own verbs:
// membership changes, backups). A prefix is a string prefix of paths, as the feed's topics are:
// "/app/" covers everything under /app, "/app" also /apple. A line whose first word starts with #,
// or a word starting with # after a line's grants, begins a comment. A user may have several keys;
// its grants are those of all its lines.
//
// Pure: no sockets, no files (the Gate room reads the file and answers ZAP). Thread: any.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace cairn::node {

enum class Perm { kRead = 1, kWrite = 2, kAdmin = 3 };

struct Grant {
  Perm perm = Perm::kRead;
  std::string prefix;
};

// One user's rights. A default-made Access has none; Access::everything() has all (plain mode).
class Access {
 public:
  Access() = default;
  // The same rights have one form, whatever the order or repeats of the lines that gave them:
  // sorted, and without a grant that another covers (as strong, on a prefix of its prefix). So ==
  // says whether two lists grant the same (Gate::reload).
  explicit Access(std::vector<Grant> grants);
  static Access everything();

  // `path` (a file or a directory) may be read / written.
  bool mayRead(std::string_view path) const { return covers(Perm::kRead, path); }
  bool mayWrite(std::string_view path) const { return covers(Perm::kWrite, path); }
  // Every path that starts with `prefix` may be read / written (a grant's prefix is its prefix).
  bool mayReadAll(std::string_view prefix) const { return covers(Perm::kRead, prefix); }
  bool mayWriteAll(std::string_view prefix) const { return covers(Perm::kWrite, prefix); }
  // Some path at or below directory `dir` may be read: a listing of `dir` shows something.
  bool mayReadBelow(std::string_view dir) const;
  // Anything may be written (GRANT: a lease is of use only to a writer).
  bool writesSomewhere() const;
  // No grant at all.
  bool none() const { return !all_ && grants_.empty(); }
  // Admin on "/": membership changes and backups.
  bool clusterAdmin() const;
  // The read prefixes under `topic` (a feed subscription that reaches beyond the user's grants
  // becomes these).
  std::vector<std::string> readPrefixesUnder(std::string_view topic) const;
  // "r /app/, rw /app/tmp/" (or "none"), for error messages.
  std::string describe() const;
  bool operator==(const Access& o) const;

 private:
  bool covers(Perm need, std::string_view path) const;
  std::vector<Grant> grants_;
  bool all_ = false;
};

struct ClientList {
  std::map<std::string, std::string> userOfKey;  // public key (Z85) -> user
  std::map<std::string, Access> users;           // user -> its rights
};

// Parses a --clients file's text; BAD_REQUEST names the file and line of the first mistake.
wire::Result<ClientList> parseClients(std::string_view text, const std::string& name);

}  // namespace cairn::node
