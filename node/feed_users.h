#pragma once
// FeedUsers: the change feed under CURVE, where each subscriber is a user with read grants
// (PROTOCOL.md §12.3, "The feed"). A PUB sends one message to every subscriber whose topics match
// it, so what one user must not learn cannot ride in a message others receive. This room decides,
// for the Feed:
//  - which topics a subscription becomes on its connection (the XPUB runs in manual mode): a
//    prefix the user may read whole as it is; one that reaches beyond becomes the user's read
//    prefixes under it; a subscription to the heartbeats (or to everything) becomes the user's own
//    heartbeat topic, "!hb.<n>." (n: a number the node gave the user);
//  - what each user's heartbeat claims: only prefixes that user subscribed to, each to the latest
//    change under it that the user may read. A prefix the user may not read whole is claimed from
//    the user's read prefixes under it, which the Feed tracks for every listed user (grants()).
// So a heartbeat names no prefix another user subscribed to, and no claim counts a change its
// reader may not read.
//
// Pure bookkeeping: no sockets. Thread: the node's event loop.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/grants.h"
#include "wire/message.h"

namespace cairn::node {

class FeedUsers {
 public:
  // The topics a subscription to (or an unsubscription from) `topic` by `user` stands for: the
  // XPUB subscribes the connection to each (or unsubscribes it). Control topics other than the
  // user's heartbeats stand for nothing.
  std::vector<std::string> topics(const std::string& user, const Access& who,
                                  const std::string& topic);
  // `user` subscribed to `topic`: its heartbeats claim it (a path prefix) from now on.
  void asked(const std::string& user, const std::string& topic);
  // Nobody subscribes to `topic` any more: no heartbeat claims it now.
  void dropped(const std::string& topic);

  // One heartbeat's claims per user that ever subscribed: its heartbeat topic and its claims, from
  // `moved` (the prefixes whose latest change moved since the last heartbeat, FeedIndex::takeMoved;
  // it includes the read prefixes of grants()).
  template <typename AccessOf>
  std::vector<std::pair<std::string, std::vector<wire::PrefixRev>>> heartbeats(
      const std::vector<wire::PrefixRev>& moved, const AccessOf& accessOf) const {
    std::map<std::string, std::int64_t, std::less<>> byPrefix;
    for (const wire::PrefixRev& m : moved)
      byPrefix.emplace(m.prefix, m.rev);
    std::vector<std::pair<std::string, std::vector<wire::PrefixRev>>> out;
    for (const auto& [user, n] : number_) {
      auto asked = asked_.find(user);
      out.emplace_back(heartbeatTopic(n), asked == asked_.end()
                                              ? std::vector<wire::PrefixRev>{}
                                              : claims(asked->second, accessOf(user), byPrefix));
    }
    return out;
  }

  // The read prefixes of every user in `list`: the Feed tracks them always, so that a claim for a
  // prefix a user may not read whole can be made from the parts it may read.
  static std::set<std::string> grants(const ClientList& list);
  static std::string heartbeatTopic(std::uint64_t n);

 private:
  static std::vector<wire::PrefixRev> claims(
      const std::set<std::string>& asked, const Access& who,
      const std::map<std::string, std::int64_t, std::less<>>& moved);

  std::map<std::string, std::uint64_t> number_;         // user -> n of its "!hb.<n>."
  std::map<std::string, std::set<std::string>> asked_;  // user -> path topics it subscribed to
};

}  // namespace cairn::node
