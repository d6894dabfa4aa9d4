#include "store/sessions.h"

#include <algorithm>

#include "store/crc32c.h"

namespace cairn::store {

namespace {
// What a kept reply counts against kMaxBytes: its bytes and the table's overhead for it.
std::size_t costOf(const std::string& reply) {
  return reply.size() + 64;
}

// The first reply at or above seq.
template <typename Replies>
auto find(Replies& replies, std::uint64_t seq) {
  return std::lower_bound(replies.begin(), replies.end(), seq,
                          [](const auto& e, std::uint64_t q) { return e.first < q; });
}
}  // namespace

Sessions::Seen Sessions::seen(std::uint64_t session, std::uint64_t seq,
                              const std::string** reply) const {
  auto s = sessions_.find(session);
  if (s == sessions_.end()) return Seen::kNew;
  if (seq < s->second.floor) return Seen::kTooLate;
  // A new write's seq is above every kept one (the common case): no search.
  const auto& replies = s->second.replies;
  if (replies.empty() || seq > replies.back().first) return Seen::kNew;
  auto r = find(replies, seq);
  if (r == replies.end() || r->first != seq) return Seen::kNew;
  *reply = &r->second.reply;
  return Seen::kApplied;
}

void Sessions::record(std::uint64_t session, std::uint64_t seq, std::string reply) {
  Session& s = sessions_[session];
  if (seq < s.floor) return;  // callers check seen() first
  // Above every kept seq (the common case): appended.
  const auto at =
      s.replies.empty() || seq > s.replies.back().first ? s.replies.end() : find(s.replies, seq);
  if (at != s.replies.end() && at->first == seq) return;
  bytes_ += costOf(reply);
  const std::uint64_t age = nextAge_++;
  byAge_.push_back(Aged{age, session, seq});  // ages only grow
  ++kept_;
  s.replies.emplace(at, seq, Kept{age, std::move(reply)});
  if (s.replies.size() > kWindow) dropThrough(session, s.replies.front().first);
  // The reply just kept stays, whatever its size, so a retry of the latest write finds it (unless
  // its seq is below others kept: the window or the bound may take it, and a retry is TOO_LATE).
  while (bytes_ > kMaxBytes && byAge_.front().age != age) {
    const Aged oldest = byAge_.front();
    if (live(oldest)) {
      dropThrough(oldest.session, oldest.seq);  // pops it (and any stale entries before it)
    } else {
      byAge_.pop_front();
    }
  }
  compact();
}

bool Sessions::live(const Aged& a) const {
  // A reply goes only with every reply below it (raising the floor past it) or with its session,
  // and lease ids are never reused.
  auto s = sessions_.find(a.session);
  return s != sessions_.end() && a.seq >= s->second.floor;
}

void Sessions::compact() {
  if (byAge_.size() <= 2 * kept_ + 1024) return;
  std::deque<Aged> keep;
  for (const Aged& a : byAge_)
    if (live(a)) keep.push_back(a);
  byAge_ = std::move(keep);
}

void Sessions::dropThrough(std::uint64_t session, std::uint64_t seq) {
  Session& s = sessions_.at(session);
  while (!s.replies.empty() && s.replies.front().first <= seq) {
    bytes_ -= costOf(s.replies.front().second.reply);
    --kept_;
    s.replies.pop_front();
  }
  s.floor = std::max(s.floor, seq + 1);
  while (!byAge_.empty() && !live(byAge_.front()))
    byAge_.pop_front();
}

void Sessions::end(std::uint64_t session) {
  auto s = sessions_.find(session);
  if (s == sessions_.end()) return;
  for (const auto& [seq, kept] : s->second.replies)
    bytes_ -= costOf(kept.reply);
  kept_ -= s->second.replies.size();
  sessions_.erase(s);
  compact();
}

wire::Status Sessions::restore(std::uint64_t session, Session s) {
  if (session == 0 || s.floor == 0 || s.replies.size() > kWindow || sessions_.count(session)) {
    return wire::Status(wire::Err::kCorrupt, "malformed session in snapshot");
  }
  std::sort(s.replies.begin(), s.replies.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < s.replies.size(); ++i) {
    if (s.replies[i].first == s.replies[i - 1].first) {
      return wire::Status(wire::Err::kCorrupt, "a session reply twice in snapshot");
    }
  }
  for (const auto& [seq, kept] : s.replies) {
    if (seq < s.floor || kept.age == 0) {
      return wire::Status(wire::Err::kCorrupt, "malformed session reply in snapshot");
    }
  }
  for (const auto& [seq, kept] : s.replies) {  // checked whole: now kept
    byAge_.push_back(Aged{kept.age, session, seq});
    ++kept_;
    bytes_ += costOf(kept.reply);
    nextAge_ = std::max(nextAge_, kept.age + 1);
  }
  sessions_[session] = std::move(s);
  return wire::Status::ok();
}

wire::Status Sessions::restored() {
  std::sort(byAge_.begin(), byAge_.end(),
            [](const Aged& a, const Aged& b) { return a.age < b.age; });
  for (std::size_t i = 1; i < byAge_.size(); ++i) {
    if (byAge_[i].age == byAge_[i - 1].age) {
      return wire::Status(wire::Err::kCorrupt, "two session replies of one age in snapshot");
    }
  }
  return wire::Status::ok();
}

std::vector<std::uint64_t> Sessions::ids() const {
  std::vector<std::uint64_t> out;
  out.reserve(sessions_.size());
  for (const auto& e : sessions_)
    out.push_back(e.first);
  std::sort(out.begin(), out.end());
  return out;
}

std::string Sessions::dump() const {
  std::string out;
  for (std::uint64_t id : ids()) {
    const Session& s = sessions_.at(id);
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
