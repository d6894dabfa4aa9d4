#include "node/feed_users.h"

#include <algorithm>

#include "wire/path.h"

namespace cairn::node {

namespace {

// A path topic as a prefix of paths: "" (everything) is "/".
std::string_view pathsOf(const std::string& topic) {
  return topic.empty() ? std::string_view("/") : std::string_view(topic);
}

}  // namespace

std::string FeedUsers::heartbeatTopic(std::uint64_t n) {
  // The dot after the number: "!hb.1." is not a prefix of "!hb.12.".
  return std::string(wire::kHeartbeatTopic) + "." + std::to_string(n) + ".";
}

void FeedUsers::forgetConnections() {
  count_.clear();
  asked_.clear();
  askers_.clear();
  overflow_ = false;
}

FeedUsers::Effect FeedUsers::message(std::string_view msg, const char* user) {
  Effect e;
  if (msg.empty() || (msg[0] != 0 && msg[0] != 1)) return e;  // not a (un)subscription
  const bool subscribe = msg[0] == 1;
  const std::string topic(msg.substr(1));
  if (subscribe) {
    auto it = count_.find(topic);
    if (it != count_.end()) {
      ++it->second;
    } else if (count_.size() < kMaxTopics) {
      count_.emplace(topic, 1);
      e.track = true;
    } else {
      overflow_ = true;
    }
    if (user == nullptr) return e;
    if (topic.empty() || topic[0] == '/') {
      asked_[user].insert(topic);
      askers_[topic].insert(user);
    }
  } else if (user == nullptr) {
    // A connection closed holding `topic`.
    auto it = count_.find(topic);
    if (it != count_.end() && --it->second == 0) {
      count_.erase(it);
      e.track = true;
      for (auto& [who, asked] : asked_)
        asked.erase(topic);
      askers_.erase(topic);
    }
    return e;
  }
  e.deliver = topics(user, topic);
  return e;
}

std::vector<std::string> FeedUsers::topics(const std::string& user, const std::string& topic) {
  auto it = number_.try_emplace(user, number_.size() + 1).first;
  const std::string beat = heartbeatTopic(it->second);
  std::vector<std::string> out;
  if (topic.empty() || topic[0] == '!') {
    // "" is everything: the user's paths and its heartbeats. A control topic: the heartbeats, if
    // it names them ("!", "!h", "!hb", or the user's own "!hb.<n>." and beyond).
    if (topic.empty() || wire::startsWith(beat, topic)) {
      out.push_back(beat);
    } else if (wire::startsWith(topic, beat)) {
      out.push_back(topic);
    }
    if (!topic.empty()) return out;
  } else if (topic[0] != '/') {
    return out;  // matches no path
  }
  const Access& who = accessOf_(user);
  const std::string_view paths = pathsOf(topic);
  if (who.mayReadAll(paths)) {
    out.emplace_back(paths);
  } else {
    for (std::string& p : who.readPrefixesUnder(paths))
      out.push_back(std::move(p));
  }
  return out;
}

std::vector<FeedUsers::Beat> FeedUsers::heartbeats(
    const std::vector<wire::PrefixRev>& moved) const {
  std::map<std::string_view, std::int64_t> byPrefix;
  for (const wire::PrefixRev& m : moved)
    byPrefix.emplace(m.prefix, m.rev);
  std::vector<Beat> out;
  for (const auto& [user, n] : number_) {
    Beat b;
    b.topic = heartbeatTopic(n);
    b.partial = overflow_;
    auto asked = asked_.find(user);
    if (asked != asked_.end()) {
      const Access& who = accessOf_(user);
      for (const std::string& p : asked->second) {
        if (!who.mayReadAll(pathsOf(p))) {
          b.partial = true;  // beyond its grants: never claimed
          continue;
        }
        auto m = byPrefix.find(p);
        if (m != byPrefix.end()) b.last.push_back(wire::PrefixRev{p, m->second});
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

void FeedUsers::dropUnsafeClaims(std::string_view path, std::vector<wire::PrefixRev>& prev) const {
  for (std::size_t len = 0; len <= path.size() && !prev.empty(); ++len) {
    auto it = askers_.find(path.substr(0, len));
    if (it == askers_.end()) continue;
    for (const std::string& user : it->second) {
      const Access& who = accessOf_(user);
      if (!who.mayRead(path)) continue;  // the event does not reach this user
      prev.erase(std::remove_if(
                     prev.begin(), prev.end(),
                     [&](const wire::PrefixRev& c) { return !who.mayReadAll(pathsOf(c.prefix)); }),
                 prev.end());
    }
  }
}

}  // namespace cairn::node
