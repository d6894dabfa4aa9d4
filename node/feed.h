#pragma once
// Feed: the change feed's XPUB. Publishes each applied change on its path's topic with the claims
// that let a subscriber detect a lost event (FeedIndex), reads its subscribers' prefixes, and
// sends the heartbeats (PROTOCOL.md, "Change feed").
//
// Owns: the XPUB socket and the FeedIndex. Thread: the node's event loop. Sending never blocks:
// a subscriber at its high-water mark loses messages, which its claims let it detect.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "node/feed_index.h"
#include "node/feed_users.h"
#include "node/stats.h"
#include "store/store.h"
#include "wire/status.h"

namespace cairn::node {

class Feed {
 public:
  using Clock = std::chrono::steady_clock;
  Feed(zmq::context_t& ctx, Stats& stats);
  // Binds `endpoint`; `hwm` messages are queued per subscriber before it loses some.
  wire::Status bind(const std::string& endpoint, std::int64_t hwm);
  std::string boundEndpoint() const;
  zmq::socket_t& socket() { return pub_; }
  ~Feed();
  // Has libzmq report the XPUB's connections on monitor() (the loop polls it), for subscribers().
  wire::Status countConnections();
  zmq::socket_t& monitor() { return monitor_; }
  // Takes up to `max` connection events; subscribers() counts the connections open.
  void drainMonitor(int max);
  std::uint64_t subscribers() const { return subscribers_; }

  // Subscriptions by user (CURVE with ZAP; before bind()): a subscriber gets only the topics its
  // user may read, and heartbeats of its own that claim only what it may read (FeedUsers). The
  // XPUB then runs in manual mode. `serve` makes an XPUB the Gate's server (Gate::serve), for
  // those reopen() makes.
  void filterBy(FeedUsers::AccessOf accessOf, std::function<wire::Status(zmq::socket_t&)> serve);
  // The users' grants changed. What a connection receives was settled by its subscriptions when
  // they came, and libzmq cannot change it later, so this closes every subscriber's connection:
  // a new XPUB takes the old one's place, bound again at the same address as soon as the address
  // is free (rebind()), and each subscriber subscribes again under the grants in force
  // (PROTOCOL.md §12.3). An error: the new XPUB could not be set up, and is not bound.
  wire::Status reopen(Clock::time_point now);
  // After reopen(): when the loop should call rebind() (nullopt once bound again).
  std::optional<Clock::time_point> rebindBy() const { return rebindAt_; }
  // Binds the new XPUB if it is time to try and the address is free; else tries again later.
  void rebind(Clock::time_point now);

  // Takes up to `max` subscription messages; prefixes first seen are claimed from `head`.
  void drainSubscriptions(int max, std::int64_t head);
  // Publishes applied changes, in order; the changes of one rev are numbered i of n.
  void publish(const std::vector<store::Change>& changes);
  // The history jumped to `head` without a change for each rev (a snapshot was installed).
  void reset(std::int64_t head) { index_.reset(head); }
  // `head`: every change up to it was published before. `leader`: 0 when none is known.
  void heartbeat(std::int64_t head, std::int64_t id, std::int64_t leader);

 private:
  void send(std::string_view topic, const std::string& body);
  // A subscription message under filterBy: its user's topics subscribed (or unsubscribed).
  void filtered(const zmq::message_t& m, std::int64_t head);

  // Sets a new XPUB's options (and makes it the Gate's server under filterBy).
  wire::Status configure();

  static constexpr auto kFirstRebindWait = std::chrono::milliseconds(2);
  static constexpr auto kMaxRebindWait = std::chrono::milliseconds(1000);
  static constexpr int kRebindFailuresLogged = 10;  // about a second of waits: logged once

  std::unique_ptr<FeedUsers> users_;  // under filterBy
  std::function<wire::Status(zmq::socket_t&)> serve_;
  zmq::context_t& ctx_;
  std::int64_t hwm_ = 0;
  int opened_ = 0;        // XPUBs opened: names each one's monitor
  std::string endpoint_;  // where bind() bound the feed (its port, when it asked for any)
  std::optional<Clock::time_point> rebindAt_;  // reopened and not bound yet: next try
  int rebindFailures_ = 0;                     // since reopen(): the next wait doubles with each

  zmq::socket_t pub_;      // an XPUB, so the node learns its subscribers' prefixes
  zmq::socket_t monitor_;  // PAIR: the XPUB's connection events (countConnections)
  bool monitoring_ = false;
  std::uint64_t subscribers_ = 0;
  Stats& stats_;
  FeedIndex index_;
  std::int64_t boot_;  // differs each time the node starts: a feed restarts with it
  std::int64_t seq_ = 0;
};

}  // namespace cairn::node
