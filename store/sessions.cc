#include "store/sessions.h"

#include <algorithm>

#include "store/crc32c.h"

namespace cairn::store {

namespace {
// What a kept reply counts against kMaxBytes: its bytes and the table's overhead for it.
std::size_t costOf(const std::string& reply) {
  return reply.size() + 64;
}
}  // namespace

Sessions::Seen Sessions::seen(std::uint64_t session, std::uint64_t seq,
                              const std::string** reply) const {
  auto s = sessions_.find(session);
  if (s == sessions_.end()) return Seen::kNew;
  if (seq < s->second.floor) return Seen::kTooLate;
  auto r = s->second.replies.find(seq);
  if (r == s->second.replies.end()) return Seen::kNew;
  *reply = &r->second.reply;
  return Seen::kApplied;
}

void Sessions::record(std::uint64_t session, std::uint64_t seq, std::string reply) {
  Session& s = sessions_[session];
  if (seq < s.floor || s.replies.count(seq)) return;  // callers check seen() first
  bytes_ += costOf(reply);
  const std::uint64_t age = nextAge_++;
  byAge_[age] = {session, seq};
  s.replies[seq] = Kept{age, std::move(reply)};
  if (s.replies.size() > kWindow) dropThrough(session, s.replies.begin()->first);
  // The reply just kept stays, whatever its size: a retry of the latest write always finds it.
  while (bytes_ > kMaxBytes && byAge_.begin()->first != age) {
    const auto [os, oseq] = byAge_.begin()->second;
    dropThrough(os, oseq);
  }
}

void Sessions::dropThrough(std::uint64_t session, std::uint64_t seq) {
  Session& s = sessions_.at(session);
  while (!s.replies.empty() && s.replies.begin()->first <= seq) {
    auto it = s.replies.begin();
    bytes_ -= costOf(it->second.reply);
    byAge_.erase(it->second.age);
    s.replies.erase(it);
  }
  s.floor = std::max(s.floor, seq + 1);
}

void Sessions::end(std::uint64_t session) {
  auto s = sessions_.find(session);
  if (s == sessions_.end()) return;
  for (const auto& [seq, kept] : s->second.replies) {
    bytes_ -= costOf(kept.reply);
    byAge_.erase(kept.age);
  }
  sessions_.erase(s);
}

wire::Status Sessions::restore(std::uint64_t session, Session s) {
  if (session == 0 || s.floor == 0 || s.replies.size() > kWindow || sessions_.count(session)) {
    return wire::Status(wire::Err::kCorrupt, "malformed session in snapshot");
  }
  for (auto& [seq, kept] : s.replies) {
    if (seq < s.floor || kept.age == 0 || byAge_.count(kept.age)) {
      return wire::Status(wire::Err::kCorrupt, "malformed session reply in snapshot");
    }
    byAge_[kept.age] = {session, seq};
    bytes_ += costOf(kept.reply);
    nextAge_ = std::max(nextAge_, kept.age + 1);
  }
  sessions_[session] = std::move(s);
  return wire::Status::ok();
}

std::string Sessions::dump() const {
  std::string out;
  for (const auto& [id, s] : sessions_) {
    if (!out.empty()) out += ' ';
    out += std::to_string(id) + ":" + std::to_string(s.floor) + "[";
    bool first = true;
    for (const auto& [seq, kept] : s.replies) {
      out += (first ? "" : ",") + std::to_string(seq) + "@" + std::to_string(kept.age) + "#" +
             std::to_string(crc32c(kept.reply, 0));
      first = false;
    }
    out += "]";
  }
  return out + " next=" + std::to_string(nextAge_);
}

}  // namespace cairn::store
