#pragma once
// What the change feed tells a subscriber about the changes it did not see.
//
// A PUB socket filters by topic prefix, and drops messages for a subscriber whose queue is full.
// A subscriber to "/config/" therefore cannot tell from the revs it receives whether a change
// under "/config/" went missing: the revs in between belong to other paths. The node learns every
// prefix its subscribers hold (an XPUB reports the first subscription to a prefix and the last
// unsubscription), and for each such prefix remembers the rev of the latest change under it. Each
// event then carries, for the subscribed prefixes its path falls under, the rev of the previous
// change under that prefix; each heartbeat carries the prefixes whose latest change moved since
// the previous heartbeat. With both, a subscriber detects every lost event (PROTOCOL.md, "Change
// feed"). A claim may be later than the truth (a prefix first seen, or history that jumped over a
// snapshot, is claimed from the head), which costs a subscriber a needless catch-up, never a
// missed change.
//
// Pure bookkeeping: the server owns the socket. Thread: the node's event loop only.

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "wire/message.h"

namespace cairn::node {

class FeedIndex {
 public:
  // Prefixes tracked at most; a subscriber of an untracked prefix sees events without a claim for
  // it and must catch up from history, so the cap costs speed, never correctness.
  static constexpr std::size_t kMaxPrefixes = 100000;

  // A message read from the XPUB: "\x01" + prefix subscribes, "\x00" + prefix unsubscribes.
  void subscription(std::string_view msg, std::int64_t head);
  // A change at `path` with `rev`: returns each tracked prefix of path with the rev of its
  // previous change, and makes rev its latest.
  std::vector<wire::PrefixRev> change(std::string_view path, std::int64_t rev);
  // The history jumped to `head` without a change for each rev (a snapshot was installed).
  void reset(std::int64_t head);
  // The prefixes whose latest change moved since the previous call, with that rev.
  std::vector<wire::PrefixRev> takeMoved();

  std::size_t size() const { return last_.size(); }
  // Some subscribed prefix is not tracked: heartbeats must say so.
  bool partial() const { return untracked_ > 0; }

 private:
  std::map<std::string, std::int64_t, std::less<>> last_;
  std::set<std::string, std::less<>> moved_;
  std::size_t untracked_ = 0;  // subscriptions refused at the cap and not yet withdrawn
};

}  // namespace cairn::node
