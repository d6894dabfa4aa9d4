// FeedIndex: the claims the change feed makes about the changes a subscriber did not see.

#include "node/feed_index.h"

#include <catch2/catch.hpp>

using cairn::node::FeedIndex;
using cairn::wire::PrefixRev;
using V = std::vector<PrefixRev>;

namespace {
std::string sub(const std::string& prefix) {
  return std::string(1, '\1') + prefix;
}
std::string unsub(const std::string& prefix) {
  return std::string(1, '\0') + prefix;
}
}  // namespace

TEST_CASE("feed index: events chain the changes under each subscribed prefix", "[unit][feed]") {
  FeedIndex f;
  CHECK(f.change("/a/x", 1).empty());  // nobody subscribed: no claims, no bookkeeping
  f.subscription(sub("/a/"), 1);
  f.subscription(sub(""), 1);
  f.subscription(sub("!hb"), 1);  // a control topic, never a path
  CHECK(f.size() == 2);
  CHECK(f.takeMoved() == V{{"", 1}, {"/a/", 1}});  // tracked from the head they were seen at
  CHECK(f.change("/a/x", 2) == V{{"", 1}, {"/a/", 1}});
  CHECK(f.change("/b", 3) == V{{"", 2}});
  CHECK(f.change("/a/y", 4) == V{{"", 3}, {"/a/", 2}});
  CHECK(f.takeMoved() == V{{"", 4}, {"/a/", 4}});
  CHECK(f.takeMoved().empty());
  f.subscription(sub("/a/x"), 4);  // a path is a prefix of itself
  CHECK(f.change("/a/x", 5) == V{{"", 4}, {"/a/", 4}, {"/a/x", 4}});
  CHECK(f.change("/a/xy", 6) == V{{"", 5}, {"/a/", 5}, {"/a/x", 5}});
  f.subscription(unsub("/a/"), 6);
  CHECK(f.change("/a/x", 7) == V{{"", 6}, {"/a/x", 6}});
  CHECK(f.takeMoved() == V{{"", 7}, {"/a/x", 7}});
}

TEST_CASE("feed index: a jump in history restarts every claim at the head", "[unit][feed]") {
  FeedIndex f;
  f.subscription(sub("/a/"), 0);
  CHECK(f.change("/a/1", 3) == V{{"/a/", 0}});
  (void)f.takeMoved();
  f.reset(50);  // revs 4..50 came in a snapshot: no claim may reach below 50
  CHECK(f.takeMoved() == V{{"/a/", 50}});
  CHECK(f.change("/a/1", 51) == V{{"/a/", 50}});
}

TEST_CASE("feed index: malformed subscription messages change nothing", "[unit][feed]") {
  FeedIndex f;
  f.subscription("", 1);
  f.subscription("\x02/a", 1);
  f.subscription(unsub("/never"), 1);
  CHECK(f.size() == 0);
  f.subscription(sub("/a"), 1);
  f.subscription(sub("/a"), 9);  // a repeated subscription keeps the older, exact claim
  CHECK(f.change("/a", 10) == V{{"/a", 1}});
}

TEST_CASE("feed index: past the cap, heartbeats admit they are partial", "[unit][feed]") {
  FeedIndex f;
  for (std::size_t i = 0; i < FeedIndex::kMaxPrefixes; ++i)
    f.subscription(sub("/p/" + std::to_string(i)), 0);
  CHECK_FALSE(f.partial());
  f.subscription(sub("/over"), 0);
  CHECK(f.partial());
  CHECK(f.change("/over", 1).empty());  // its subscriber gets no claim: it must ask history
  f.subscription(unsub("/over"), 1);
  CHECK_FALSE(f.partial());
}
