// FeedUsers (node/feed_users.h): under grants, what each (un)subscription means for its
// connection and for the index, and what each user's own heartbeats claim.

#include "node/feed_users.h"

#include <catch2/catch.hpp>

using namespace cairn;
using node::Access;
using node::FeedUsers;
using node::Perm;
using wire::PrefixRev;
using Topics = std::vector<std::string>;
using Claims = std::vector<PrefixRev>;

namespace {

const Access kAlice({{Perm::kWrite, "/app/"}, {Perm::kRead, "/config/"}});
const Access kBob({{Perm::kAdmin, "/"}});

FeedUsers users() {
  return FeedUsers(
      [](const std::string& user) -> const Access& { return user == "alice" ? kAlice : kBob; });
}

std::string subscribed(const std::string& topic) {
  return std::string(1, '\1') + topic;
}
std::string unsubscribed(const std::string& topic) {
  return std::string(1, '\0') + topic;
}

}  // namespace

TEST_CASE("feed users: a subscription becomes what its user may read, and its own heartbeats",
          "[unit][feed]") {
  FeedUsers u = users();
  auto to = [&](const char* user, const std::string& topic) {
    return u.message(subscribed(topic), user).deliver;
  };
  // bob is the first user seen: heartbeat topic "!hb.1.", alice's "!hb.2.".
  CHECK(to("bob", "") == Topics{"!hb.1.", "/"});
  CHECK(to("alice", "") == Topics{"!hb.2.", "/app/", "/config/"});
  CHECK(to("alice", "/") == Topics{"/app/", "/config/"});
  CHECK(to("alice", "/a") == Topics{"/app/"});
  CHECK(to("alice", "/app/x/") == Topics{"/app/x/"});  // within her grants: as it is
  CHECK(to("alice", "/other/").empty());
  // Heartbeats: any prefix of her own topic, or that topic and beyond; never another's.
  CHECK(to("alice", "!hb") == Topics{"!hb.2."});
  CHECK(to("alice", "!") == Topics{"!hb.2."});
  CHECK(to("alice", "!hb.") == Topics{"!hb.2."});  // not bob's "!hb.1." too
  CHECK(to("alice", "!hb.2.x") == Topics{"!hb.2.x"});
  CHECK(to("alice", "!hb.1.").empty());
  CHECK(to("alice", "!other").empty());
  CHECK(to("alice", "x").empty());  // matches no path
  // An unsubscription stands for the same topics, for the connection to drop.
  CHECK(u.message(unsubscribed("/"), "alice").deliver == Topics{"/app/", "/config/"});
  // "!hb.1." is not a prefix of a twelfth user's topic.
  CHECK(FeedUsers::heartbeatTopic(12).rfind(FeedUsers::heartbeatTopic(1), 0) != 0);
  // What is not a (un)subscription means nothing.
  CHECK(u.message("", "alice").deliver.empty());
  CHECK(u.message("\x02/app/", "alice").deliver.empty());
}

TEST_CASE(
    "feed users: only a closed connection ends a prefix's tracking, never another user's "
    "unsubscription",
    "[unit][feed]") {
  FeedUsers u = users();
  CHECK(u.message(subscribed("/app/"), "alice").track);
  CHECK(!u.message(subscribed("/app/"), "bob").track);  // counted: two
  // bob unsubscribes /app/ twice (libzmq passes on an unsubscription of a topic a connection
  // never held): applied to his connection, counted for nothing.
  for (int i = 0; i < 2; ++i) {
    auto e = u.message(unsubscribed("/app/"), "bob");
    CHECK(e.deliver == Topics{"/app/"});
    CHECK(!e.track);
  }
  // alice's heartbeats still claim it.
  auto beats = u.heartbeats(Claims{{"/app/", 7}});
  REQUIRE(beats.size() == 2);
  CHECK(beats[0].last == Claims{{"/app/", 7}});
  // Connections close (libzmq's unsubscriptions, with no user): the last one ends it.
  CHECK(!u.message(unsubscribed("/app/"), nullptr).track);
  CHECK(u.message(unsubscribed("/app/"), nullptr).track);
  CHECK(u.heartbeats(Claims{{"/app/", 8}})[0].last.empty());
  CHECK(!u.message(unsubscribed("/never/"), nullptr).track);  // one nobody held
}

TEST_CASE(
    "feed users: each heartbeat claims its user's prefixes only, and says partial beyond "
    "its grants",
    "[unit][feed]") {
  FeedUsers u = users();
  (void)u.message(subscribed("/app/"), "alice");
  (void)u.message(subscribed("!hb"), "alice");  // control topics are not claimed
  (void)u.message(subscribed("/secret/"), "bob");
  const Claims moved{{"/app/", 30}, {"/secret/", 40}};
  auto beats = u.heartbeats(moved);
  REQUIRE(beats.size() == 2);
  CHECK(beats[0].topic == "!hb.1.");              // alice
  CHECK(beats[0].last == Claims{{"/app/", 30}});  // never bob's /secret/
  CHECK(!beats[0].partial);
  CHECK(beats[1].topic == "!hb.2.");  // bob
  CHECK(beats[1].last == Claims{{"/secret/", 40}});
  // A prefix beyond her grants cannot be claimed for her: her heartbeats say partial.
  (void)u.message(subscribed("/"), "alice");
  beats = u.heartbeats(Claims{{"/", 41}, {"/app/", 41}});
  CHECK(beats[0].last == Claims{{"/app/", 41}});
  CHECK(beats[0].partial);
  CHECK(!beats[1].partial);
  // Once that connection closed, her heartbeats are whole again.
  (void)u.message(unsubscribed("/"), nullptr);
  CHECK(!u.heartbeats(moved)[0].partial);
}

TEST_CASE(
    "feed users: past the cap a topic is delivered but not counted, and heartbeats say "
    "partial",
    "[unit][feed]") {
  FeedUsers u = users();
  for (std::size_t i = 0; i < FeedUsers::kMaxTopics; ++i)
    REQUIRE(u.message(subscribed("/app/" + std::to_string(i)), "alice").track);
  CHECK(!u.heartbeats({})[0].partial);
  auto e = u.message(subscribed("/app/more"), "alice");
  CHECK(e.deliver == Topics{"/app/more"});
  CHECK(!e.track);
  CHECK(u.heartbeats({})[0].partial);
}

TEST_CASE("feed users: an event keeps only the claims every user it reaches may read whole",
          "[unit][feed]") {
  FeedUsers u = users();
  (void)u.message(subscribed(""), "bob");         // everything: claims ""
  (void)u.message(subscribed("/app/"), "alice");  // within her grants
  (void)u.message(subscribed("/a"), "alice");     // beyond them: she gets /app/ for it
  auto claims = [&](const std::string& path, Claims prev) {
    u.dropUnsafeClaims(path, prev);
    return prev;
  };
  // /app/x reaches alice and bob: bob's "" and alice's own "/a" claim changes she may not read.
  CHECK(claims("/app/x", {{"", 9}, {"/a", 8}, {"/app/", 7}}) == Claims{{"/app/", 7}});
  // /apple and /other/y reach bob alone (alice may not read them): his claims stay.
  CHECK(claims("/apple", {{"", 9}, {"/a", 8}}) == Claims{{"", 9}, {"/a", 8}});
  CHECK(claims("/other/y", {{"", 9}}) == Claims{{"", 9}});
  // Once alice's connections closed, /app/x reaches bob alone.
  (void)u.message(unsubscribed("/app/"), nullptr);
  (void)u.message(unsubscribed("/a"), nullptr);
  CHECK(claims("/app/x", {{"", 9}}) == Claims{{"", 9}});
}
