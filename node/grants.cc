#include "node/grants.h"

#include <algorithm>

#include "wire/command.h"
#include "wire/keys.h"
#include "wire/path.h"

namespace cairn::node {
namespace {

bool validUser(std::string_view u) {
  if (u.empty() || u.size() > wire::kMaxUser) return false;
  return std::all_of(u.begin(), u.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '@';
  });
}

const char* permName(Perm p) {
  switch (p) {
    case Perm::kRead:
      return "r";
    case Perm::kWrite:
      return "rw";
    case Perm::kAdmin:
      return "admin";
  }
  return "?";
}

}  // namespace

Access::Access(std::vector<Grant> grants) {
  // A prefix sorts before every prefix it is a prefix of, and on one prefix the stronger first: a
  // grant is covered only by one kept before it.
  std::sort(grants.begin(), grants.end(), [](const Grant& a, const Grant& b) {
    return a.prefix != b.prefix ? a.prefix < b.prefix : a.perm > b.perm;
  });
  for (Grant& g : grants) {
    const bool covered = std::any_of(grants_.begin(), grants_.end(), [&](const Grant& k) {
      return k.perm >= g.perm && wire::startsWith(g.prefix, k.prefix);
    });
    if (!covered) grants_.push_back(std::move(g));
  }
}

Access Access::everything() {
  Access a({{Perm::kAdmin, "/"}});
  a.all_ = true;
  return a;
}

bool Access::covers(Perm need, std::string_view path) const {
  if (all_) return true;
  for (const Grant& g : grants_) {
    if (g.perm >= need && wire::startsWith(path, g.prefix)) return true;
  }
  return false;
}

bool Access::mayReadBelow(std::string_view dir) const {
  if (all_) return true;
  std::string below(dir);
  if (below.empty() || below.back() != '/') below += '/';
  for (const Grant& g : grants_) {
    if (wire::startsWith(below, g.prefix) || wire::startsWith(g.prefix, below)) return true;
  }
  return covers(Perm::kRead, dir);
}

bool Access::writesSomewhere() const {
  if (all_) return true;
  return std::any_of(grants_.begin(), grants_.end(),
                     [](const Grant& g) { return g.perm >= Perm::kWrite; });
}

bool Access::clusterAdmin() const {
  if (all_) return true;
  return std::any_of(grants_.begin(), grants_.end(),
                     [](const Grant& g) { return g.perm == Perm::kAdmin && g.prefix == "/"; });
}

std::vector<std::string> Access::readPrefixesUnder(std::string_view topic) const {
  std::vector<std::string> out;
  if (all_) {
    out.emplace_back(topic);
    return out;
  }
  for (const Grant& g : grants_) {
    if (wire::startsWith(g.prefix, topic) &&
        std::find(out.begin(), out.end(), g.prefix) == out.end()) {
      out.push_back(g.prefix);
    }
  }
  return out;
}

std::string Access::describe() const {
  if (all_) return "everything";
  if (grants_.empty()) return "none";
  std::string s;
  for (const Grant& g : grants_) {
    if (!s.empty()) s += ", ";
    s += std::string(permName(g.perm)) + " " + g.prefix;
  }
  return s;
}

bool Access::operator==(const Access& o) const {
  if (all_ != o.all_ || grants_.size() != o.grants_.size()) return false;
  for (std::size_t i = 0; i < grants_.size(); ++i) {
    if (grants_[i].perm != o.grants_[i].perm || grants_[i].prefix != o.grants_[i].prefix)
      return false;
  }
  return true;
}

wire::Result<ClientList> parseClients(std::string_view text, const std::string& name) {
  using wire::Err;
  using wire::Status;
  ClientList list;
  std::map<std::string, std::vector<Grant>> grants;
  std::size_t at = 0;
  int lineNo = 0;
  while (at < text.size()) {
    std::size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(at, nl - at);
    at = nl + 1;
    ++lineNo;
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        ++i;
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r')
        ++j;
      if (j > i) words.emplace_back(line.substr(i, j - i));
      i = j;
    }
    // A comment: the whole line when its first word starts with #, else from a grant's word on
    // (a key may itself contain #).
    if (!words.empty() && words[0][0] == '#') continue;
    for (std::size_t w = 2; w < words.size(); ++w) {
      if (words[w][0] == '#') {
        words.resize(w);
        break;
      }
    }
    if (words.empty()) continue;
    const std::string where = name + " line " + std::to_string(lineNo) + ": ";
    if (!wire::isZ85Key(words[0])) {
      return Status(Err::kBadRequest,
                    where + "the first word must be a client's public key (40 Z85 characters, " +
                        "cairn keygen prints it), got \"" + words[0] + "\"");
    }
    if (words.size() < 4 || words.size() % 2 != 0) {
      return Status(Err::kBadRequest,
                    where + "want <public key> <user> <perm> <prefix> [<perm> <prefix> ...]");
    }
    if (!validUser(words[1])) {
      return Status(
          Err::kBadRequest,
          where + "a user name is 1..64 of A-Z a-z 0-9 _ - . @, got \"" + words[1] + "\"");
    }
    if (!list.userOfKey.emplace(words[0], words[1]).second) {
      return Status(Err::kBadRequest, where + "key " + words[0] + " is listed twice");
    }
    auto& mine = grants[words[1]];
    for (std::size_t w = 2; w + 1 < words.size(); w += 2) {
      Grant g;
      if (words[w] == "r") {
        g.perm = Perm::kRead;
      } else if (words[w] == "rw") {
        g.perm = Perm::kWrite;
      } else if (words[w] == "admin") {
        g.perm = Perm::kAdmin;
      } else {
        return Status(Err::kBadRequest,
                      where + "a permission is r, rw or admin, got \"" + words[w] + "\"");
      }
      g.prefix = words[w + 1];
      if (g.prefix[0] != '/') {
        return Status(Err::kBadRequest, where + "a prefix starts with /, got \"" + g.prefix + "\"");
      }
      mine.push_back(std::move(g));
    }
  }
  for (auto& [user, gs] : grants)
    list.users.emplace(user, Access(std::move(gs)));
  return list;
}

}  // namespace cairn::node
