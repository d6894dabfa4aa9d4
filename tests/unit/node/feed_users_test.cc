// FeedUsers (node/feed_users.h): under grants, what a subscription becomes on its connection, and
// what each user's own heartbeats claim.

#include "node/feed_users.h"

#include <catch2/catch.hpp>

using namespace cairn;
using node::Access;
using node::FeedUsers;
using node::Grant;
using node::Perm;
using wire::PrefixRev;
using Topics = std::vector<std::string>;
using Claims = std::vector<PrefixRev>;

namespace {

const Access kAlice({{Perm::kWrite, "/app/"}, {Perm::kRead, "/config/"}});
const Access kBob({{Perm::kAdmin, "/"}});

const Access& accessOf(const std::string& user) {
  return user == "alice" ? kAlice : kBob;
}

}  // namespace

TEST_CASE("feed users: a subscription becomes what its user may read, and its own heartbeats",
          "[unit][feed]") {
  FeedUsers u;
  // bob is the first user seen: heartbeat topic "!hb.1.", alice's "!hb.2.".
  CHECK(u.topics("bob", kBob, "") == Topics{"!hb.1.", "/"});
  CHECK(u.topics("alice", kAlice, "") == Topics{"!hb.2.", "/app/", "/config/"});
  CHECK(u.topics("alice", kAlice, "/") == Topics{"/app/", "/config/"});
  CHECK(u.topics("alice", kAlice, "/a") == Topics{"/app/"});
  CHECK(u.topics("alice", kAlice, "/app/x/") == Topics{"/app/x/"});  // within: as it is
  CHECK(u.topics("alice", kAlice, "/other/").empty());
  // Heartbeats: any prefix of her own topic, or that topic and beyond; never another's.
  CHECK(u.topics("alice", kAlice, "!hb") == Topics{"!hb.2."});
  CHECK(u.topics("alice", kAlice, "!") == Topics{"!hb.2."});
  CHECK(u.topics("alice", kAlice, "!hb.2.x") == Topics{"!hb.2.x"});
  CHECK(u.topics("alice", kAlice, "!hb.1.").empty());
  CHECK(u.topics("alice", kAlice, "!hb.") == Topics{"!hb.2."});  // not bob's "!hb.1." too
  CHECK(u.topics("alice", kAlice, "!other").empty());
  CHECK(u.topics("alice", kAlice, "x").empty());  // matches no path
  // "!hb.1." is not a prefix of a twelfth user's topic.
  CHECK(FeedUsers::heartbeatTopic(12).rfind(FeedUsers::heartbeatTopic(1), 0) != 0);
}

TEST_CASE("feed users: each heartbeat claims its user's prefixes only, from what it may read",
          "[unit][feed]") {
  FeedUsers u;
  (void)u.topics("alice", kAlice, "/app/");
  u.asked("alice", "/app/");
  (void)u.topics("alice", kAlice, "/");
  u.asked("alice", "/");    // beyond her grants
  u.asked("alice", "!hb");  // control topics are not claimed
  (void)u.topics("bob", kBob, "/secret/");
  u.asked("bob", "/secret/");
  // What moved: bob's prefix, and the grant prefixes the Feed tracks for everyone.
  const Claims moved{{"/", 40}, {"/app/", 30}, {"/config/", 35}, {"/secret/", 40}};
  auto beats = u.heartbeats(moved, accessOf);
  REQUIRE(beats.size() == 2);
  CHECK(beats[0].first == "!hb.1.");  // alice
  // "/" from her read prefixes under it (35, not the 40 under /secret/); never /secret/.
  CHECK(beats[0].second == Claims{{"/", 35}, {"/app/", 30}});
  CHECK(beats[1].first == "!hb.2.");  // bob
  CHECK(beats[1].second == Claims{{"/secret/", 40}});
  // Only /secret/ moved: alice's heartbeat claims nothing.
  beats = u.heartbeats(Claims{{"/", 41}, {"/secret/", 41}}, accessOf);
  CHECK(beats[0].second.empty());
  CHECK(beats[1].second == Claims{{"/secret/", 41}});
  // Once nobody subscribes to /app/, it is not claimed.
  u.dropped("/app/");
  beats = u.heartbeats(moved, accessOf);
  CHECK(beats[0].second == Claims{{"/", 35}});
}

TEST_CASE("feed users: the grant prefixes tracked for everyone are every user's read prefixes",
          "[unit][feed]") {
  node::ClientList l;
  l.users.emplace("alice", kAlice);
  l.users.emplace("bob", kBob);
  l.users.emplace("carol", Access({{Perm::kRead, "/app/"}, {Perm::kRead, "/logs/"}}));
  CHECK(FeedUsers::grants(l) == std::set<std::string>{"/", "/app/", "/config/", "/logs/"});
}
