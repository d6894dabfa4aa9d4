#pragma once
// Paths and globs. A path is "/" or "/" followed by components joined with "/", each component
// matching [A-Za-z0-9._-]+. A glob is a path whose components may also use "?" (one character),
// "*" (any run of characters inside one component) and "**" (a whole component: any number of
// components). See PROTOCOL.md, "Paths and globs", for the edge cases pinned by tests.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace cairn::wire {

inline constexpr std::size_t kMaxPathLen = 4096;

// Splits a valid path into its components ("/" has none); BAD_PATH otherwise.
Result<std::vector<std::string>> splitPath(std::string_view path);

// The path of the first n components ("/" when n is 0).
std::string joinPath(const std::vector<std::string>& comps, std::size_t n);

// The path of `name` inside directory `dir`: "/" + "a" is "/a", "/x" + "a" is "/x/a". `dir`
// must be a path (it is not checked); `name` is one component, or one glob component such as
// "**" to make the glob of everything below `dir`.
std::string childPath(std::string_view dir, std::string_view name);

// Whether `s` begins with `prefix`: a path with a grant's prefix, a topic with a subscription's.
inline bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// True for /ctl and every path below it: the cluster's own files, which only nodes write
// (PROTOCOL.md §4; clients get READONLY).
bool isCtlPath(std::string_view path);

// BAD_PATH if a component is "." or "..": paths are never resolved, so such names would only
// mislead. Requests are held to it (except DEL, so that a file an earlier version let through can
// be removed); the store is not, so a log written before the rule replays unchanged.
Status checkNoDotNames(std::string_view path);

// A compiled glob. Matching works component by component, so a walk can prune subtrees.
class Glob {
 public:
  static Result<Glob> compile(std::string_view pattern);

  const std::string& pattern() const { return pattern_; }
  bool matches(std::string_view path) const;
  bool matchesComponents(const std::vector<std::string>& comps) const;

  // Matching as a set of positions in the pattern (an NFA), for pruned walks.
  using States = std::vector<std::size_t>;
  States start() const;
  States step(const States& s, std::string_view component) const;
  bool accepts(const States& s) const;
  // True when some descendant of a directory reaching `s` could still match.
  bool canDescend(const States& s) const;
  // The literal component that must come next from `s`, when every live state demands the same
  // literal (lets a walk look one child up instead of scanning the directory).
  const std::string* literalNext(const States& s) const;

 private:
  std::string pattern_;
  std::vector<std::string> comps_;
  std::vector<bool> literal_;
  void close(States* s) const;
};

// Wildcard match of one component against one glob component ("?", "*").
bool componentMatches(std::string_view pat, std::string_view s);

}  // namespace cairn::wire
