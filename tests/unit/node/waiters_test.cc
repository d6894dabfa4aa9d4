// Waiters: requests that wait for a write, a read point, a rev or a change, and their deadlines.
// Time is passed in; replies are captured through the Send hook.

#include <catch2/catch.hpp>

#include <set>

#include "node/waiters.h"
#include "tests/unit/node/rooms_support.h"

using namespace cairn;
using node::Action;
using node::Waiters;
using test::request;
using test::setCmd;
using wire::Err;
using wire::Verb;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct Harness : test::Rooms {
  explicit Harness(node::ClientService::Options o = {})
      : test::Rooms(o), waiters(service, stats, hooks()) {}

  Waiters::Hooks hooks() {
    Waiters::Hooks h;
    h.send = [this](const node::Envelope& env, wire::Reply& r, const std::string& tag) {
      sent.push_back({env.frames.at(0), tag, r});
    };
    h.askReadIndex = [this](std::uint64_t ctx) {
      asked.push_back(ctx);
      return leaderKnown;
    };
    h.withdraw = [this](std::uint64_t id) { return stillHere.erase(id) > 0; };
    h.queued = [this](std::uint64_t id) { return stillHere.count(id) > 0; };
    return h;
  }

  static node::Envelope from(const std::string& who) {
    node::Envelope e;
    e.frames = {who, ""};
    return e;
  }

  std::uint64_t add(const std::string& who, wire::Request r) {
    Action a = service.handle(std::move(r), "");
    REQUIRE(a.kind != Action::Kind::kReply);
    return waiters.add(from(who), std::move(a), t0);
  }

  struct Sent {
    std::string who;
    std::string tag;
    wire::Reply reply;
  };
  Waiters waiters;
  std::vector<Sent> sent;
  std::vector<std::uint64_t> asked;
  std::set<std::uint64_t> stillHere;
  bool leaderKnown = true;
  Clock::time_point t0 = Clock::now();
};

wire::Request setReq(std::string path, std::string value, std::string tag = "") {
  wire::Request r = request(Verb::kSet, std::move(path));
  r.rev = -1;
  r.value = std::move(value);
  r.tag = std::move(tag);
  return r;
}

}  // namespace

TEST_CASE("waiters: a write is answered when applied, with its rev and its tag", "[unit][node]") {
  Harness h;
  const std::uint64_t id = h.add("c1", setReq("/a", "1", "\x01"));
  REQUIRE(id != 0);
  CHECK(h.waiters.size() == 1);
  CHECK(h.waiters.earliest() == h.t0 + node::kWriteTimeout);
  auto applied = h.apply({setCmd("/a", "1")}, {id});
  h.waiters.applied(applied.outcomes.at(0), h.t0 + milliseconds(3));
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].who == "c1");
  CHECK(h.sent[0].tag == "\x01");
  CHECK(h.sent[0].reply.err == Err::kOk);
  CHECK(h.sent[0].reply.rev == 1);
  CHECK(h.waiters.size() == 0);
  CHECK(!h.waiters.earliest());
  CHECK(h.stats.commitLatency.count() == 1);
  CHECK(h.stats.commitLatency.last() == 3000);
}

TEST_CASE("waiters: a failed compare-and-set is answered with the error and the head",
          "[unit][node]") {
  Harness h;
  (void)h.apply({setCmd("/a", "1")});
  wire::Request r = setReq("/a", "2");
  r.rev = 0;
  const std::uint64_t id = h.add("c1", r);
  auto applied = h.apply({setCmd("/a", "2", 0)}, {id});
  h.waiters.applied(applied.outcomes.at(0), h.t0);
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].reply.err == Err::kRevMismatch);
  CHECK(h.sent[0].reply.rev == 1);
}

TEST_CASE("waiters: a late write is UNAVAILABLE if it never left, TIMEOUT if it did",
          "[unit][node]") {
  Harness h;
  const std::uint64_t kept = h.add("c1", setReq("/a", "1"));
  const std::uint64_t left = h.add("c2", setReq("/b", "1"));
  h.stillHere.insert(kept);
  h.waiters.service(0, h.t0 + node::kWriteTimeout - milliseconds(1));
  CHECK(h.sent.empty());
  h.waiters.service(0, h.t0 + node::kWriteTimeout);
  REQUIRE(h.sent.size() == 2);
  for (const auto& s : h.sent) {
    if (s.who == "c1") {
      CHECK(s.reply.err == Err::kUnavailable);
      CHECK(s.reply.detail.find("within 4 s; the write was not applied") != std::string::npos);
    } else {
      CHECK(s.reply.err == Err::kTimeout);
      CHECK(s.reply.detail.find("may or may not be applied") != std::string::npos);
    }
  }
  CHECK(h.waiters.size() == 0);
  (void)left;
}

TEST_CASE("waiters: a leader change answers the writes that left, keeps the queued ones",
          "[unit][node]") {
  Harness h;
  const std::uint64_t queued = h.add("c1", setReq("/a", "1"));
  (void)h.add("c2", setReq("/b", "1"));
  h.stillHere.insert(queued);
  h.waiters.leaderChanged();
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].who == "c2");
  CHECK(h.sent[0].reply.err == Err::kTimeout);
  CHECK(h.waiters.size() == 1);
  h.waiters.refused(queued);
  REQUIRE(h.sent.size() == 2);
  CHECK(h.sent[1].reply.err == Err::kUnavailable);
  CHECK(h.waiters.size() == 0);
}

TEST_CASE("waiters: a linearizable read waits until the chosen prefix reaches its read point",
          "[unit][node]") {
  node::ClientService::Options o;
  o.cluster = true;
  Harness h(o);
  (void)h.apply({setCmd("/a", "1")});
  h.leaderKnown = false;
  (void)h.add("r1", request(Verb::kGet, "/a"));
  REQUIRE(h.asked.size() == 1);  // asked at once, but no leader was known
  h.waiters.service(1, h.t0);
  REQUIRE(h.asked.size() == 2);  // asked again
  h.waiters.service(1, h.t0);
  CHECK(h.asked.size() == 3);
  h.leaderKnown = true;
  h.waiters.service(1, h.t0);
  CHECK(h.asked.size() == 4);
  h.waiters.service(1, h.t0);
  CHECK(h.asked.size() == 4);  // asked and not lost: not asked again
  h.waiters.readPointLost(h.asked.back());
  h.waiters.service(1, h.t0);
  CHECK(h.asked.size() == 5);
  h.waiters.readPoint(h.asked.back(), 2);
  h.waiters.service(1, h.t0);
  CHECK(h.sent.empty());  // slot 2 is not chosen here yet
  (void)h.apply({setCmd("/a", "2")});
  h.waiters.service(2, h.t0);
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].reply.value == "2");
  CHECK(h.sent[0].reply.head == 2);
}

TEST_CASE("waiters: a read point asked of a leader that is replaced is asked of the next",
          "[unit][node]") {
  node::ClientService::Options o;
  o.cluster = true;
  Harness h(o);
  (void)h.add("r1", request(Verb::kRev, ""));
  REQUIRE(h.asked.size() == 1);
  h.waiters.service(0, h.t0);
  CHECK(h.asked.size() == 1);  // asked and not lost
  h.waiters.leaderChanged();   // the leader died with the request
  h.waiters.service(0, h.t0);
  REQUIRE(h.asked.size() == 2);
  h.waiters.readPoint(h.asked.back(), 0);
  h.waiters.service(0, h.t0);
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].reply.err == Err::kOk);
  CHECK(h.sent[0].reply.rev == 0);
}

TEST_CASE("waiters: a linearizable read without a read point in time is UNAVAILABLE",
          "[unit][node]") {
  node::ClientService::Options o;
  o.cluster = true;
  Harness h(o);
  (void)h.add("r1", request(Verb::kGet, "/a"));
  h.waiters.service(0, h.t0 + node::kWriteTimeout);
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].reply.err == Err::kUnavailable);
  CHECK(h.sent[0].reply.detail.find("within 4 s") != std::string::npos);
}

TEST_CASE("waiters: a read at a future rev is served when the head reaches it", "[unit][node]") {
  Harness h;
  wire::Request r = request(Verb::kGet, "/a");
  r.rev = 2;
  (void)h.add("r1", r);
  (void)h.apply({setCmd("/a", "1")});
  h.waiters.service(0, h.t0);
  CHECK(h.sent.empty());
  (void)h.apply({setCmd("/a", "2"), setCmd("/a", "3")});
  h.waiters.service(0, h.t0);
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].reply.value == "2");  // at the rev asked for, not the head
  CHECK(h.sent[0].reply.head == 2);
}

TEST_CASE("waiters: a WAIT is answered by the first matching change only", "[unit][node]") {
  Harness h;
  (void)h.add("w1", request(Verb::kWait, "/config/**"));
  (void)h.apply({setCmd("/other", "x")});
  h.waiters.service(0, h.t0);
  CHECK(h.sent.empty());
  (void)h.apply({setCmd("/config/db", "y"), setCmd("/config/db", "z")});
  h.waiters.service(0, h.t0);
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].reply.rev == 2);
  CHECK(h.sent[0].reply.value == "y");
  CHECK(h.sent[0].reply.head == 3);
}

TEST_CASE("waiters: parked requests time out with the head, earliest deadline first",
          "[unit][node]") {
  Harness h;
  wire::Request w = request(Verb::kWait, "/x");
  w.timeoutMs = 50;
  wire::Request r = request(Verb::kGet, "/x");
  r.rev = 9;
  r.timeoutMs = 20;
  (void)h.add("w", w);
  (void)h.add("r", r);
  CHECK(h.waiters.earliest() == h.t0 + milliseconds(20));
  (void)h.apply({setCmd("/y", "1")});
  h.waiters.service(0, h.t0 + milliseconds(20));
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].who == "r");
  CHECK(h.sent[0].reply.err == Err::kTimeout);
  CHECK(h.sent[0].reply.head == 1);
  CHECK(h.waiters.earliest() == h.t0 + milliseconds(50));
  h.waiters.service(0, h.t0 + milliseconds(60));
  REQUIRE(h.sent.size() == 2);
  CHECK(h.sent[1].who == "w");
  CHECK(h.sent[1].reply.detail == "no matching change before the timeout");
  CHECK(!h.waiters.earliest());
}

TEST_CASE("waiters: a halted node answers every waiter, TIMEOUT only for writes that left",
          "[unit][node]") {
  node::ClientService::Options o;
  o.cluster = true;
  Harness h(o);
  const std::uint64_t queued = h.add("queued", setReq("/a", "1"));
  (void)h.add("left", setReq("/b", "1"));
  h.stillHere.insert(queued);
  (void)h.add("read", request(Verb::kGet, "/a"));
  (void)h.add("wait", request(Verb::kWait, "/a"));
  h.waiters.abandon(wire::Status(Err::kIo, "node 1 halted: disk"));
  REQUIRE(h.sent.size() == 4);
  for (const auto& s : h.sent) {
    INFO(s.who);
    if (s.who == "left") {
      CHECK(s.reply.err == Err::kTimeout);
      CHECK(s.reply.detail.find("may or may not be applied") != std::string::npos);
    } else {
      CHECK(s.reply.err == Err::kIo);
      CHECK(s.reply.detail == "node 1 halted: disk");
    }
  }
  CHECK(h.waiters.size() == 0);
  CHECK(!h.waiters.earliest());
}

TEST_CASE(
    "waiters: grants narrowed, a waiting read or WAIT its user may no longer make is refused at "
    "once, and the others wait on",
    "[unit][node]") {
  node::ClientService::Options o;
  o.cluster = true;
  Harness h(o);
  std::map<std::string, node::Access> users = {
      {"alice", node::Access({{node::Perm::kRead, "/app/"}})}};
  const node::Access none;
  h.service.setAccess([&](const std::string& user) -> const node::Access& {
    auto it = users.find(user);
    return it == users.end() ? none : it->second;
  });
  (void)h.apply({setCmd("/app/a/f", "1")});
  h.leaderKnown = false;  // reads wait for their read point
  auto add = [&](const std::string& who, wire::Request r) {
    Action a = h.service.handle(std::move(r), "alice");
    REQUIRE(a.kind != Action::Kind::kReply);
    node::Envelope env = Harness::from(who);
    env.identity = "alice";  // the user ZAP let the connection in as
    (void)h.waiters.add(std::move(env), std::move(a), h.t0);
  };
  add("read-b", request(Verb::kGet, "/app/b/f"));
  add("read-a", request(Verb::kGet, "/app/a/f"));
  add("wait-b", request(Verb::kWait, "/app/b/**"));
  add("wait-a", request(Verb::kWait, "/app/a/**"));
  h.waiters.regranted();
  CHECK(h.sent.empty());  // her grants allow all four still

  users["alice"] = node::Access({{node::Perm::kRead, "/app/a/"}});
  h.waiters.regranted();
  std::set<std::string> refused;
  for (const auto& s : h.sent) {
    CHECK(s.reply.err == Err::kPermission);
    refused.insert(s.who);
  }
  CHECK(refused == std::set<std::string>{"read-b", "wait-b"});

  // The read is answered at its read point, the WAIT by its change.
  h.sent.clear();
  h.leaderKnown = true;
  h.waiters.service(1, h.t0);
  REQUIRE_FALSE(h.asked.empty());
  h.waiters.readPoint(h.asked.back(), 1);
  h.waiters.service(1, h.t0);
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0].who == "read-a");
  CHECK(h.sent[0].reply.value == "1");
  (void)h.apply({setCmd("/app/a/g", "2")});
  h.waiters.service(2, h.t0);
  REQUIRE(h.sent.size() == 2);
  CHECK(h.sent[1].who == "wait-a");
  CHECK(h.sent[1].reply.value == "2");
}
