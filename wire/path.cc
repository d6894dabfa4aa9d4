#include "wire/path.h"

#include <algorithm>

namespace cairn::wire {
namespace {

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

Status badPath(std::string_view path, const char* why) {
  std::string shown(path.substr(0, 200));
  return Status(Err::kBadPath, "bad path \"" + shown + "\": " + why);
}

// Splits on '/', checking each component with `ok`.
template <class CharOk>
Result<std::vector<std::string>> split(std::string_view path, CharOk ok, const char* rule) {
  if (path.empty() || path[0] != '/') return badPath(path, "must begin with /");
  if (path.size() > kMaxPathLen) return badPath(path, "longer than 4096 bytes");
  std::vector<std::string> comps;
  if (path == "/") return comps;
  std::size_t i = 1;
  while (true) {
    std::size_t j = path.find('/', i);
    std::string_view c =
        path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (c.empty()) return badPath(path, "empty component (double or trailing /)");
    for (char ch : c) {
      if (!ok(ch)) return badPath(path, rule);
    }
    comps.emplace_back(c);
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return comps;
}

}  // namespace

Status checkNoDotNames(std::string_view path) {
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view c = path.substr(i, j - i);
    if (c == "." || c == "..") return badPath(path, "\".\" and \"..\" are not names");
    i = j + 1;
  }
  return Status::ok();
}

Result<std::vector<std::string>> splitPath(std::string_view path) {
  return split(path, isNameChar, "components may hold only A-Z a-z 0-9 . _ -");
}

std::string joinPath(const std::vector<std::string>& comps, std::size_t n) {
  if (n == 0) return "/";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += '/';
    out += comps[i];
  }
  return out;
}

std::string childPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out != "/") out += '/';
  out += name;
  return out;
}

bool componentMatches(std::string_view pat, std::string_view s) {
  // Iterative wildcard matching with one backtrack point (the last '*').
  std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || pat[p] == s[i])) {
      ++p;
      ++i;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*')
    ++p;
  return p == pat.size();
}

Result<Glob> Glob::compile(std::string_view pattern) {
  auto comps = split(
      pattern, [](char c) { return isNameChar(c) || c == '*' || c == '?'; },
      "glob components may hold only A-Z a-z 0-9 . _ - * ?");
  if (!comps) return comps.status();
  Glob g;
  g.pattern_ = std::string(pattern);
  g.comps_ = std::move(comps.value());
  for (const auto& c : g.comps_) {
    g.literal_.push_back(c.find_first_of("*?") == std::string::npos);
  }
  return g;
}

// "**" may match zero components, except as the last component, where it matches one or more:
// "/a/**" matches everything below /a but not /a itself, and "/a/**/b" matches /a/b.
void Glob::close(States* s) const {
  for (std::size_t k = 0; k < s->size(); ++k) {
    std::size_t i = (*s)[k];
    if (i + 1 < comps_.size() && comps_[i] == "**" &&
        std::find(s->begin(), s->end(), i + 1) == s->end()) {
      s->push_back(i + 1);
    }
  }
}

Glob::States Glob::start() const {
  States s{0};
  close(&s);
  return s;
}

Glob::States Glob::step(const States& s, std::string_view component) const {
  States out;
  auto add = [&](std::size_t i) {
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  };
  for (std::size_t i : s) {
    if (i >= comps_.size()) continue;
    if (comps_[i] == "**") {
      add(i);
      add(i + 1);
    } else if (componentMatches(comps_[i], component)) {
      add(i + 1);
    }
  }
  close(&out);
  return out;
}

bool Glob::accepts(const States& s) const {
  return std::find(s.begin(), s.end(), comps_.size()) != s.end();
}

bool Glob::canDescend(const States& s) const {
  for (std::size_t i : s) {
    if (i < comps_.size()) return true;
  }
  return false;
}

const std::string* Glob::literalNext(const States& s) const {
  const std::string* lit = nullptr;
  for (std::size_t i : s) {
    if (i >= comps_.size()) continue;
    if (!literal_[i]) return nullptr;
    if (lit && *lit != comps_[i]) return nullptr;
    lit = &comps_[i];
  }
  return lit;
}

bool Glob::matchesComponents(const std::vector<std::string>& comps) const {
  States s = start();
  for (const auto& c : comps) {
    s = step(s, c);
    if (s.empty()) return false;
  }
  return accepts(s);
}

bool Glob::matches(std::string_view path) const {
  auto comps = splitPath(path);
  return comps && matchesComponents(*comps);
}

bool isCtlPath(std::string_view path) {
  constexpr std::string_view kCtl = "/ctl";
  return path.substr(0, kCtl.size()) == kCtl &&
         (path.size() == kCtl.size() || path[kCtl.size()] == '/');
}

}  // namespace cairn::wire
