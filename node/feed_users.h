#pragma once
// FeedUsers: the change feed under CURVE, where each subscriber is a user with read grants
// (PROTOCOL.md §12.3, "The feed"). A PUB sends one message to every subscriber whose topics match
// it, so what one user must not learn cannot ride in a message others receive. The XPUB runs in
// manual mode and hands each (un)subscription to this room, which decides:
//  - which topics it stands for on its connection: a prefix the user may read whole as it is; one
//    that reaches beyond becomes the user's read prefixes under it; a subscription to the
//    heartbeats (or to everything) becomes the user's own heartbeat topic, "!hb.<n>." (n: a number
//    the node gave the user);
//  - which prefixes the FeedIndex tracks: those some connection holds. A connection's closing is
//    reported by libzmq as unsubscriptions with no user, one per topic it still held; only those
//    end a subscription's count. An unsubscription a user sends is applied to its own connection
//    and counts for nothing: libzmq passes on one for a topic that connection never held, so a
//    user could otherwise end the tracking of another's prefix. (Counts may stay higher than the
//    connections holding a topic; a prefix tracked longer costs a slot of the index, never a
//    missed change.)
//  - what each user's heartbeat claims: only prefixes that user subscribed to. One it may not read
//    whole it cannot follow (a fill from history beyond its grants is refused), so its heartbeats
//    say `partial` rather than claim it;
//  - which claims an event may carry: an event goes to every user that subscribed above its path
//    and may read it, so it keeps a claim only if each of them may read the claimed prefix whole.
// So a heartbeat names no prefix another user subscribed to, and no claim, in a heartbeat or an
// event, counts a change its reader may not read.
//
// Pure bookkeeping: no sockets. Thread: the node's event loop.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "node/grants.h"
#include "wire/message.h"

namespace cairn::node {

class FeedUsers {
 public:
  using AccessOf = std::function<const Access&(const std::string& user)>;
  explicit FeedUsers(AccessOf accessOf) : accessOf_(std::move(accessOf)) {}

  // What one message read from the XPUB means.
  struct Effect {
    // The topics to subscribe the message's connection to (or unsubscribe it from).
    std::vector<std::string> deliver;
    // The FeedIndex takes the message: its topic's first subscription (tracking starts) or the
    // close of the last connection that held it (tracking stops).
    bool track = false;
  };
  // `msg`: "\x01" + topic subscribes, "\x00" + topic unsubscribes; `user`: the connection's, or
  // null for libzmq's own unsubscriptions when a connection closes.
  Effect message(std::string_view msg, const char* user);

  // One heartbeat per user that ever subscribed: its topic, the claims it may have from `moved`
  // (FeedIndex::takeMoved), and whether something it subscribed to goes unclaimed.
  struct Beat {
    std::string topic;
    std::vector<wire::PrefixRev> last;
    bool partial = false;
  };
  std::vector<Beat> heartbeats(const std::vector<wire::PrefixRev>& moved) const;

  // Drops from an event's claims (`prev`, for a change at `path`) each prefix that some user who
  // receives the event may not read whole. That user is one that subscribed to a topic `path`
  // starts with and may read `path`; a dropped claim costs those who follow it a fill from
  // history, never a missed change.
  void dropUnsafeClaims(std::string_view path, std::vector<wire::PrefixRev>& prev) const;

  // Every connection closed at once (the feed was reopened): nothing is subscribed. Each user
  // keeps its heartbeat topic.
  void forgetConnections();

  static std::string heartbeatTopic(std::uint64_t n);
  // Topics counted at most (the FeedIndex's cap): one more is delivered but not counted, and every
  // heartbeat says partial from then on (its end would go unseen).
  static constexpr std::size_t kMaxTopics = 100000;

 private:
  // The topics a subscription to `topic` by `user` stands for on its connection.
  std::vector<std::string> topics(const std::string& user, const std::string& topic);

  AccessOf accessOf_;
  std::map<std::string, std::uint64_t> count_;          // topic -> subscriptions counted
  std::map<std::string, std::uint64_t> number_;         // user -> n of its "!hb.<n>."
  std::map<std::string, std::set<std::string>> asked_;  // user -> path topics it subscribed to
  std::map<std::string, std::set<std::string>, std::less<>> askers_;  // asked_, topic -> users
  bool overflow_ = false;  // a topic past kMaxTopics was refused
};

}  // namespace cairn::node
