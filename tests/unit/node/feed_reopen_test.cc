// Feed::reopen: a new XPUB in the old one's place, bound again at the same address by the loop's
// calls to rebind(), never by blocking; its subscribers are let go and come back.

#include <catch2/catch.hpp>

#include <zmq.hpp>

#include "node/feed.h"
#include "node/stats.h"
#include "tests/support/node_process.h"

using namespace cairn;

namespace {

// True once a heartbeat the feed sends reaches `sub` (within 50 ms of being sent).
bool hearsHeartbeat(node::Feed& feed, zmq::socket_t& sub) {
  feed.heartbeat(1, 1, 0);
  sub.set(zmq::sockopt::rcvtimeo, 50);
  zmq::message_t topic;
  if (!sub.recv(topic)) return false;
  while (topic.more()) {
    zmq::message_t rest;
    if (!sub.recv(rest)) break;
    if (!rest.more()) break;
  }
  return true;
}

}  // namespace

TEST_CASE("feed: reopened, it binds its address again from the loop, and its subscribers return",
          "[unit][feed]") {
  zmq::context_t ctx;
  node::Stats stats;
  node::Feed feed(ctx, stats);
  // A port from the range no outgoing connection takes (test::freePort): none takes it while the
  // feed is between two XPUBs.
  const std::string at = "tcp://127.0.0.1:" + std::to_string(test::freePort());
  REQUIRE(feed.bind(at, 1000).isOk());
  CHECK(feed.boundEndpoint() == at);
  CHECK_FALSE(feed.rebindBy());

  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::subscribe, "!hb");
  REQUIRE(zmq_socket_monitor(sub.handle(), "inproc://feed-reopen-sub", ZMQ_EVENT_DISCONNECTED) ==
          0);
  zmq::socket_t monitor(ctx, zmq::socket_type::pair);
  monitor.set(zmq::sockopt::linger, 0);
  monitor.connect("inproc://feed-reopen-sub");
  // libzmq sends monitor events with a blocking send: they stop before `monitor` closes, also when
  // a REQUIRE below ends the test.
  struct StopMonitor {
    zmq::socket_t& sub;
    ~StopMonitor() { (void)zmq_socket_monitor(sub.handle(), nullptr, 0); }
  } stopMonitor{sub};
  sub.connect(at);
  REQUIRE(test::eventually([&] { return hearsHeartbeat(feed, sub); }));

  // Reopened: the SUB's connection ends. Until the new XPUB is bound, rebindBy() says when the
  // loop should try again, each try at most a second after the last.
  auto now = node::Feed::Clock::now();
  REQUIRE(feed.reopen(now).isOk());
  CHECK(feed.boundEndpoint() == at);
  REQUIRE(test::eventually([&] {
    zmq::message_t event;
    return monitor.recv(event, zmq::recv_flags::dontwait).has_value();
  }));
  int tries = 0;
  REQUIRE(test::eventually([&] {
    now = node::Feed::Clock::now();
    if (auto due = feed.rebindBy()) {
      CHECK(*due <= now + std::chrono::seconds(1));
      feed.rebind(now);
      ++tries;
    }
    return !feed.rebindBy();
  }));
  INFO("rebind() calls after reopen(): " << tries);
  // The SUB reconnects on its own, subscribes again, and hears the new XPUB.
  REQUIRE(test::eventually([&] { return hearsHeartbeat(feed, sub); }));
  CHECK(feed.boundEndpoint() == at);
}
