#pragma once
// A watch that never misses a change: every change matching a glob from a rev on, in rev order,
// each exactly once, or an explicit TOO_LATE.
//
// This is the zguide's Clone pattern. The Watcher subscribes to the node's feed first (the
// glob's literal prefix and the heartbeat topic), then fills from the node's history with
// CHANGES, dropping feed events it already has by rev. The feed is the fast path; history is the
// truth. The node chains its events per subscribed prefix and lists in each heartbeat the
// prefixes that changed (PROTOCOL.md, "Change feed"), so a lost event — the PUB dropped it at the
// high-water mark, the connection broke, the node restarted — shows as a chain that does not
// join or a heartbeat number that skips, and the Watcher fills the gap from history before it
// delivers anything later. A node that goes silent (no heartbeat within `silence`) or that knows
// no leader for as long is left for the next endpoint; the watch resumes after the last rev it
// delivered, so the switch is invisible to the application.
//
// Thread: a Watcher is used by one thread at a time.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bindings/cpp/client.h"
#include "wire/path.h"

namespace cairn::client {

struct WatchOptions {
  std::vector<std::string> endpoints;  // client endpoints; each node's feed is learned with SELF
  std::string glob;
  // The first rev wanted. Unset: the changes after the head of the first node reached.
  std::optional<std::int64_t> fromRev;
  std::chrono::milliseconds silence{2000};  // no heartbeat (or no leader) this long: switch node
  std::chrono::milliseconds timeout{2000};  // per request to a node
  std::int64_t pageSize = 1000;             // changes per history request
  // CURVE, as Options::key and serverKey: the feed's endpoint (from SELF) names its node's key.
  // A round of nodes that all refuse the keys ends the watch with PERMISSION.
  std::optional<wire::KeyPair> key;
  std::string serverKey;
};

struct Notice {
  enum class Kind { kChange, kProgress };
  Kind kind = Kind::kChange;
  Change change;  // kChange only
  // Every matching change with a rev up to `complete` has been delivered (for kChange,
  // change.rev, or change.rev - 1 when more changes of that rev follow: they come next).
  std::int64_t complete = 0;
};

struct WatchStats {
  std::int64_t fromFeed = 0;     // changes delivered as the feed pushed them
  std::int64_t fromHistory = 0;  // changes delivered from CHANGES pages
  std::int64_t duplicates = 0;   // feed events dropped because their rev was already delivered
  std::int64_t gaps = 0;         // losses detected (a chain that did not join, a skipped heartbeat)
  std::int64_t switches = 0;     // times the watcher left a node (silence, no leader, errors)
  std::int64_t heartbeats = 0;   // heartbeats received: the feed is live once there is one
};

class Watcher {
 public:
  explicit Watcher(WatchOptions opts);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // The next notice, waiting at most `wait`; nullopt when there was none in time. An error ends
  // the watch: TOO_LATE (every node has compacted its history past the next rev wanted: read the
  // state at a rev and watch again from there), BAD_PATH (the glob), RANGE.
  Result<std::optional<Notice>> next(std::chrono::milliseconds wait);

  // Every matching change up to this rev has been returned by next() (-1 before the start is
  // known, which is when the first node answers).
  std::int64_t complete() const { return delivered_; }
  const WatchStats& stats() const { return stats_; }
  // The client endpoint of the node the watcher follows, empty when it follows none.
  std::string node() const;
  // Why the watcher last left a node ("left EP: no heartbeat for 2000 ms"), empty if it never did.
  const std::string& lastSwitch() const { return lastSwitch_; }

 private:
  using Clock = std::chrono::steady_clock;
  bool attach();  // to endpoints_[current_]; false if the node could not be reached
  void detach(const std::string& why);  // why is empty when the node was never reached
  // One page of history from complete_ + 1; clears needFill_ when the page was the last.
  void fillOnce();
  void onEvent(std::string_view body);
  void onHeartbeat(std::string_view body);
  void queueProgress();

  WatchOptions opts_;
  std::optional<wire::Glob> glob_;
  Status bad_;  // a problem with the options, reported by next()
  std::string prefix_;
  zmq::context_t ctx_{1};
  std::unique_ptr<Client> client_;  // requests to the node followed
  std::unique_ptr<zmq::socket_t> sub_;
  std::size_t current_ = 0;
  std::int64_t complete_ = -1;   // -1 until the start is known
  std::int64_t reported_ = -1;   // the last complete rev a queued notice carried
  std::int64_t delivered_ = -1;  // the last complete rev next() returned
  bool needFill_ = false;
  std::size_t tooLate_ = 0;  // nodes in a row that answered TOO_LATE
  std::deque<Notice> queue_;
  std::optional<Status> ended_;
  // The heartbeat stream of the node followed.
  bool haveBeat_ = false;
  std::int64_t boot_ = 0, seq_ = 0, nodeId_ = 0;
  Clock::time_point lastBeat_;
  Clock::time_point lastPoll_;  // when the watcher last looked at the feed
  std::optional<Clock::time_point> leaderlessSince_;
  Clock::time_point retryAt_;
  WatchStats stats_;
  std::string lastSwitch_;
  std::size_t refusals_ = 0;  // nodes in a row that refused this watcher's keys
};

// The longest literal prefix of a glob: what a feed subscription for it selects.
std::string globPrefix(const std::string& glob);

}  // namespace cairn::client
