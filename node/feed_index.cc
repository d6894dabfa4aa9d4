#include "node/feed_index.h"

namespace cairn::node {

void FeedIndex::subscription(std::string_view msg, std::int64_t head) {
  if (msg.empty()) return;
  std::string_view prefix = msg.substr(1);
  // Control topics ("!hb") are not paths; no change is ever published under them.
  if (!prefix.empty() && prefix[0] == '!') return;
  if (msg[0] == 1) {
    if (last_.count(prefix) != 0) return;
    if (last_.size() >= kMaxPrefixes) {
      ++untracked_;
      return;
    }
    last_.emplace(std::string(prefix), head);
    moved_.emplace(prefix);
  } else if (msg[0] == 0) {
    auto it = last_.find(prefix);
    if (it != last_.end()) {
      last_.erase(it);
    } else if (untracked_ > 0) {
      --untracked_;  // an XPUB reports an unsubscription only after its subscription
    }
    auto m = moved_.find(prefix);
    if (m != moved_.end()) moved_.erase(m);
  }
}

std::vector<wire::PrefixRev> FeedIndex::change(std::string_view path, std::int64_t rev) {
  std::vector<wire::PrefixRev> out;
  if (last_.empty()) return out;
  for (std::size_t n = 0; n <= path.size(); ++n) {
    auto it = last_.find(path.substr(0, n));
    if (it == last_.end()) continue;
    out.push_back(wire::PrefixRev{it->first, it->second});
    it->second = rev;
    moved_.insert(it->first);
  }
  return out;
}

void FeedIndex::reset(std::int64_t head) {
  for (auto& [prefix, rev] : last_) {
    rev = head;
    moved_.insert(prefix);
  }
}

std::vector<wire::PrefixRev> FeedIndex::takeMoved() {
  std::vector<wire::PrefixRev> out;
  out.reserve(moved_.size());
  for (const auto& p : moved_) {
    auto it = last_.find(p);
    if (it != last_.end()) out.push_back(wire::PrefixRev{p, it->second});
  }
  moved_.clear();
  return out;
}

}  // namespace cairn::node
