#include "node/feed_users.h"

#include <optional>

namespace cairn::node {

namespace {

bool startsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

}  // namespace

std::string FeedUsers::heartbeatTopic(std::uint64_t n) {
  // The dot after the number: "!hb.1." is not a prefix of "!hb.12.".
  return std::string(wire::kHeartbeatTopic) + "." + std::to_string(n) + ".";
}

std::vector<std::string> FeedUsers::topics(const std::string& user, const Access& who,
                                           const std::string& topic) {
  auto it = number_.try_emplace(user, number_.size() + 1).first;
  const std::string beat = heartbeatTopic(it->second);
  std::vector<std::string> out;
  if (topic.empty() || topic[0] == '!') {
    // "" is everything: the user's paths and its heartbeats. A control topic: the heartbeats, if
    // it names them ("!", "!h", "!hb", or the user's own "!hb.<n>." and beyond).
    if (topic.empty() || startsWith(beat, topic)) {
      out.push_back(beat);
    } else if (startsWith(topic, beat)) {
      out.push_back(topic);
    }
    if (!topic.empty()) return out;
  } else if (topic[0] != '/') {
    return out;  // matches no path
  }
  const std::string_view under = topic.empty() ? std::string_view("/") : std::string_view(topic);
  if (who.mayReadAll(under)) {
    out.emplace_back(under);
  } else {
    for (std::string& p : who.readPrefixesUnder(under))
      out.push_back(std::move(p));
  }
  return out;
}

void FeedUsers::asked(const std::string& user, const std::string& topic) {
  if (!topic.empty() && topic[0] != '/') return;  // control topics are not claimed
  asked_[user].insert(topic);
}

void FeedUsers::dropped(const std::string& topic) {
  for (auto& [user, asked] : asked_)
    asked.erase(topic);
}

std::set<std::string> FeedUsers::grants(const ClientList& list) {
  std::set<std::string> out;
  for (const auto& [user, access] : list.users) {
    for (std::string& p : access.readPrefixesUnder("/"))
      out.insert(std::move(p));
  }
  return out;
}

std::vector<wire::PrefixRev> FeedUsers::claims(
    const std::set<std::string>& asked, const Access& who,
    const std::map<std::string, std::int64_t, std::less<>>& moved) {
  std::vector<wire::PrefixRev> out;
  for (const std::string& p : asked) {
    const std::string_view under = p.empty() ? std::string_view("/") : std::string_view(p);
    if (who.mayReadAll(under)) {
      auto m = moved.find(p);
      if (m != moved.end()) out.push_back(wire::PrefixRev{p, m->second});
      continue;
    }
    // Beyond the user's grants: the latest change under its read prefixes there, if one moved.
    std::optional<std::int64_t> latest;
    for (const std::string& g : who.readPrefixesUnder(under)) {
      auto m = moved.find(g);
      if (m != moved.end() && (!latest || m->second > *latest)) latest = m->second;
    }
    if (latest) out.push_back(wire::PrefixRev{p, *latest});
  }
  return out;
}

}  // namespace cairn::node
