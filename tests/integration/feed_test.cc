// The change feed: a SUB on a prefix sees exactly the matching changes; heartbeats carry the head.

#include <catch2/catch.hpp>
#include <zmq.hpp>

#include "bindings/cpp/client.h"
#include "tests/support/node_process.h"
#include "wire/codec.h"

using namespace cairn;

namespace {

struct Sub {
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::sub};
  Sub(const std::string& ep, const std::vector<std::string>& prefixes) {
    sock.set(zmq::sockopt::rcvtimeo, 5000);
    for (const auto& p : prefixes)
      sock.set(zmq::sockopt::subscribe, p);
    sock.set(zmq::sockopt::subscribe, std::string(wire::kHeartbeatTopic));
    sock.connect(ep);
  }
  // Receives [topic][body]; false on timeout.
  bool next(std::string* topic, std::string* body) {
    zmq::message_t t, b;
    if (!sock.recv(t)) return false;
    REQUIRE(t.more());
    REQUIRE(sock.recv(b));
    *topic = t.to_string();
    *body = b.to_string();
    return true;
  }
  // The subscription is live once the first heartbeat arrives (subscriptions are applied in order).
  wire::Heartbeat awaitHeartbeat() {
    std::string t, b;
    while (next(&t, &b)) {
      if (t == wire::kHeartbeatTopic) return *wire::decodeHeartbeat(b);
    }
    FAIL("no heartbeat");
    return {};
  }
};

}  // namespace

TEST_CASE("feed: a prefix subscriber sees exactly the matching changes, in order",
          "[integration][feed]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Sub sub(n.events(), {"/config/"});
  sub.awaitHeartbeat();
  client::Options o;
  o.endpoints = {n.client()};
  client::Client c(o);
  std::vector<wire::Event> want;
  const char* paths[] = {"/config/a", "/other", "/config/b/c", "/configx", "/config/a", "/c"};
  for (const char* p : paths) {
    auto r = c.set(p, std::string("v:") + p, -1);
    REQUIRE(r.isOk());
    if (std::string(p).rfind("/config/", 0) == 0)
      want.push_back({*r, p, "set", std::string("v:") + p, {}});
  }
  auto r = c.del("/config/b/c", -1);
  want.push_back({*r, "/config/b/c", "del", "", {}});
  std::vector<wire::Event> got;
  std::int64_t lastHeartbeatRev = -1;
  while (got.size() < want.size() || lastHeartbeatRev < *r) {
    std::string t, b;
    REQUIRE(sub.next(&t, &b));
    if (t == wire::kHeartbeatTopic) {
      lastHeartbeatRev = wire::decodeHeartbeat(b)->rev;
      continue;
    }
    auto e = wire::decodeEvent(b);
    REQUIRE(e.isOk());
    CHECK(e->path == t);
    got.push_back(*e);
  }
  // A heartbeat at the final rev came after every event: nothing else is on its way.
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(got[i].rev == want[i].rev);
    CHECK(got[i].path == want[i].path);
    CHECK(got[i].op == want[i].op);
    CHECK(got[i].value == want[i].value);
    // The node knows this subscriber's prefix, and chains its events: each names the previous
    // change under "/config/" (the first, the rev at which the node began tracking the prefix).
    std::vector<wire::PrefixRev> prev{{"/config/", i == 0 ? 0 : want[i - 1].rev}};
    CHECK(got[i].prev == prev);
  }
}

TEST_CASE("feed: heartbeats carry the head rev and the node id", "[integration][feed]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1", {"--id", "7"});
  client::Options o;
  o.endpoints = {n.client()};
  client::Client c(o);
  REQUIRE(c.set("/a", "1", -1).isOk());
  REQUIRE(c.set("/a", "2", -1).isOk());
  Sub sub(n.events(), {});
  auto hb = sub.awaitHeartbeat();
  CHECK(hb.rev == 2);
  CHECK(hb.id == 7);
}
