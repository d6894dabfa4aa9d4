// A client that keeps going whichever node dies, errors that say what happened, and a head rev
// that moves only with the users' own writes. The CLI and the client library, against real nodes
// killed with SIGKILL.

#include <catch2/catch.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bindings/cpp/client.h"
#include "tests/support/node_process.h"
#include "wire/codec.h"

using namespace cairn;
using test::clientFor;
using Clock = std::chrono::steady_clock;

namespace {

struct Timed {
  test::RunResult r;
  double ms = 0;
};

Timed runCli(const std::string& addr, std::vector<std::string> args) {
  std::vector<std::string> argv = {CAIRN_BIN, "--addr", addr};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto t0 = Clock::now();
  Timed t;
  t.r = test::runProgram(argv);
  t.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return t;
}

// Durations of commands, summarized for the test's output (a benchmark figure, not a check).
struct Times {
  std::vector<double> ms;
  std::string summary() const {
    if (ms.empty()) return "none";
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    char buf[128];
    std::snprintf(buf, sizeof buf, "%zu commands, p50 %.0f ms, p99 %.0f ms, max %.0f ms", s.size(),
                  s[s.size() / 2], s[std::min(s.size() - 1, s.size() * 99 / 100)], s.back());
    return buf;
  }
};

std::int64_t headOf(const std::string& endpoint) {
  auto c = clientFor(endpoint);
  auto r = c.rev();
  REQUIRE(r.isOk());
  return *r;
}

}  // namespace

TEST_CASE("failover: with any one node killed, first, middle or last in --addr, the CLI goes on",
          "[integration][failover]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  // The README's order: node 1 first. Restarted nodes keep their endpoints, so one list serves.
  const std::string addr = c.client(1) + "," + c.client(2) + "," + c.client(3);
  {
    auto cl = clientFor(addr);
    REQUIRE(cl.set("/f/probe", "here", -1).isOk());
  }
  for (int victim = 1; victim <= 3; ++victim) {
    INFO("node " << victim << " killed");
    std::atomic<bool> stop{false};
    std::atomic<int> written{0};
    Times writes, reads;
    std::vector<std::string> failures, readFailures;  // one per thread
    std::vector<std::string> unknown;  // writes in flight at the kill: outcome unknown
    std::thread writer([&] {
      for (int i = 0; !stop; ++i) {
        const std::string key = "/f/n" + std::to_string(victim) + "/" + std::to_string(i);
        auto t = runCli(addr, {"set", key, std::to_string(i)});
        if (t.r.code == 0) {
          writes.ms.push_back(t.ms);
          written = i + 1;
        } else if (t.r.err.find("may or may not") != std::string::npos) {
          unknown.push_back(t.r.err);
        } else {
          failures.push_back("set: " + t.r.err);
        }
      }
    });
    std::thread reader([&] {
      while (!stop) {
        auto t = runCli(addr, {"get", "/f/probe"});
        if (t.r.code == 0 && t.r.out == "here") {
          reads.ms.push_back(t.ms);
        } else {
          readFailures.push_back("get: exit " + std::to_string(t.r.code) + " " + t.r.out + t.r.err);
        }
      }
    });
    REQUIRE(test::eventually([&] { return written >= 20; }, 30000));
    c.kill9(victim);
    const int before = written;
    REQUIRE(test::eventually([&] { return written >= before + 40; }, 60000));
    stop = true;
    writer.join();
    reader.join();
    std::printf(
        "failover: node %d of 3 killed: set %s; get %s; %zu write(s) in flight at the "
        "kill with outcome unknown\n",
        victim, writes.summary().c_str(), reads.summary().c_str(), unknown.size());
    failures.insert(failures.end(), readFailures.begin(), readFailures.end());
    for (const auto& f : failures)
      UNSCOPED_INFO(f);
    CHECK(failures.empty());
    // Only a write that had reached the killed node can be in doubt, and there was one kill.
    CHECK(unknown.size() <= 1);
    c.restart(victim);
    REQUIRE(c.awaitLeader(20000) > 0);
    const std::int64_t h = headOf(addr);
    REQUIRE(test::awaitRev(c.client(victim), h));
  }
}

TEST_CASE("failover: nothing listening fails within about a second and says where it looked",
          "[integration][failover]") {
  const std::string addr = "tcp://127.0.0.1:" + std::to_string(test::freePort()) +
                           ",127.0.0.1:" + std::to_string(test::freePort());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"get", "/x"}, std::vector<std::string>{"set", "/x", "1"},
        std::vector<std::string>{"rev"}}) {
    INFO(args[0]);
    auto t = runCli(addr, args);
    std::printf("failover: nothing listening: cairn %s failed after %.0f ms\n", args[0].c_str(),
                t.ms);
    CHECK(t.r.code == 2);
    CHECK(t.r.out.empty());
    CHECK(t.r.err.find("no node answered at tcp://127.0.0.1:") != std::string::npos);
    CHECK(t.r.err.find(", tcp://127.0.0.1:") != std::string::npos);  // HOST:PORT made tcp://
    CHECK(t.r.err.find("is cairnd running?") != std::string::npos);
    CHECK(t.r.err.find("may or may not") == std::string::npos);  // nothing was ever sent
  }
  auto t = runCli("nonsense", {"get", "/x"});
  CHECK(t.r.code == 2);
  CHECK(t.r.err.find("bad endpoint \"nonsense\"") != std::string::npos);
}

TEST_CASE("failover: HOST:PORT works wherever an endpoint does", "[integration][failover]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  const std::string bare = n.client().substr(std::string("tcp://").size());
  auto t = runCli(bare, {"set", "/hp", "yes"});
  CHECK(t.r.code == 0);
  t = runCli(bare, {"get", "/hp"});
  CHECK(t.r.code == 0);
  CHECK(t.r.out == "yes");
}

TEST_CASE("failover: an oversized value is refused naming the limit, over REQ and DEALER",
          "[integration][failover]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1", {"--max-value", "100000"});
  // The CLI (client library) refuses before sending, whatever the size: nothing to time out.
  for (std::size_t size : {std::size_t{100001}, std::size_t{5} << 20}) {
    INFO(size);
    std::vector<std::string> argv = {CAIRN_BIN, "--addr", n.client(), "set", "/big"};
    const auto t0 = Clock::now();
    auto r = test::runProgram(argv, std::string(size, 'x'));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::printf("failover: a %zu-byte value refused after %.0f ms\n", size, ms);
    CHECK(r.code == 2);
    CHECK(r.err.find("TOO_LARGE") != std::string::npos);
    CHECK(r.err.find("at most 100000") != std::string::npos);
    CHECK(r.err.find("cairnd --max-value") != std::string::npos);
  }
  // A client of its own, over DEALER with a tag: the node's refusal echoes the tag.
  zmq::context_t ctx(1);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 5000);
  dealer.connect(n.client());
  wire::Request q;
  q.verb = wire::Verb::kSet;
  q.path = "/big";
  q.rev = -1;
  q.value = std::string(100001, 'x');
  q.tag = "\xa3t-1";  // msgpack "t-1"
  dealer.send(zmq::message_t(), zmq::send_flags::sndmore);
  dealer.send(zmq::buffer(wire::encodeRequest(q)), zmq::send_flags::none);
  zmq::message_t empty, body;
  REQUIRE(dealer.recv(empty));
  REQUIRE(dealer.recv(body));
  auto r = wire::decodeReply(body.to_string_view());
  REQUIRE(r.isOk());
  CHECK(r->err == wire::Err::kTooLarge);
  CHECK(r->tag == q.tag);
  CHECK(r->detail.find("at most 100000 (cairnd --max-value)") != std::string::npos);
  // And over REQ, as any binding would send it.
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 5000);
  req.connect(n.client());
  req.send(zmq::buffer(wire::encodeRequest(q)), zmq::send_flags::none);
  REQUIRE(req.recv(body));
  r = wire::decodeReply(body.to_string_view());
  REQUIRE(r.isOk());
  CHECK(r->err == wire::Err::kTooLarge);
  CHECK(r->tag == q.tag);
  auto cl = clientFor(n.client());
  CHECK(cl.set("/small", "ok", -1).isOk());  // still serving
}

TEST_CASE("failover: 1,000 writes on an idle cluster move the head by 1,000 and a handful at most",
          "[integration][failover]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  // Let the nodes describe themselves in /ctl first (once: endpoints, members, leader).
  REQUIRE(test::eventually([&] {
    auto f = cl.walk("/ctl/nodes/*/events");
    return f.isOk() && f->size() == 3;
  }));
  const std::int64_t before = headOf(c.clients());
  for (int i = 0; i < 1000; ++i)
    REQUIRE(cl.set("/load/" + std::to_string(i % 10), std::to_string(i), -1).isOk());
  const std::int64_t after = headOf(c.clients());
  std::printf("failover: 1,000 writes moved the head by %lld\n",
              static_cast<long long>(after - before));
  CHECK(after - before >= 1000);
  CHECK(after - before <= 1005);
  std::int64_t ctlChanges = 0;
  std::int64_t complete = 0;
  auto ch = cl.changes("/ctl/**", before + 1, &complete);
  REQUIRE(ch.isOk());
  ctlChanges = static_cast<std::int64_t>(ch->size());
  CHECK(ctlChanges == after - before - 1000);
}

TEST_CASE("failover: REV after a write through another node is never below the write",
          "[integration][failover]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  std::vector<client::Client> nodes;
  for (int i = 1; i <= 3; ++i) {
    client::Options o;
    o.endpoints = {c.client(i)};
    o.preferLeader = false;  // each write through its own node, forwarded when not the leader
    nodes.emplace_back(o);
  }
  for (int i = 0; i < 60; ++i) {
    INFO("alternation " << i);
    auto w = nodes[static_cast<std::size_t>(i % 3)].set("/alt", std::to_string(i), -1);
    REQUIRE(w.isOk());
    auto r = nodes[static_cast<std::size_t>((i + 1) % 3)].rev();
    REQUIRE(r.isOk());
    CHECK(*r >= *w);
  }
}
