// Three real cairnd processes agreeing through Paxos over ZeroMQ on 127.0.0.1.

#include <catch2/catch.hpp>

#include <fstream>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include <zmq.hpp>

#include "bindings/cpp/client.h"
#include "node/identity.h"
#include "node/transport.h"
#include "store/file.h"
#include "store/snapshot.h"
#include "tests/support/node_process.h"
#include "wire/peer.h"

using namespace cairn;
using Clock = std::chrono::steady_clock;

namespace {

client::Client clusterClient(const std::string& endpoints, int timeoutMs = 8000) {
  client::Options o;
  o.endpoints = client::splitEndpoints(endpoints);
  o.timeout = std::chrono::milliseconds(timeoutMs);
  return client::Client(o);
}

// Every file outside /ctl with its rev, as one string (for comparing nodes; /ctl moves by
// itself as nodes report in).
std::string contents(const std::string& endpoint) {
  auto c = clusterClient(endpoint);
  auto all = c.walk("/**");
  REQUIRE(all.isOk());
  std::string s;
  for (const auto& e : *all) {
    if (e.path.rfind("/ctl/", 0) == 0) continue;
    s += e.path + "@" + std::to_string(e.rev) + "=" + *e.value + " ";
  }
  return s;
}

// Reads are answered from the node's own state, which may trail the leader by a moment.
bool converged(test::Cluster& c, const std::string& want) {
  return test::eventually([&] {
    for (int i = 1; i <= c.size(); ++i) {
      if (c.up(i) && contents(c.client(i)) != want) return false;
    }
    return true;
  });
}

}  // namespace

TEST_CASE("cluster: writes through every node reach every node, in one order",
          "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  for (int round = 0; round < 10; ++round) {
    for (int i = 1; i <= 3; ++i) {
      auto cl = clusterClient(c.client(i));
      auto r = cl.set("/n" + std::to_string(i) + "/k" + std::to_string(round), "v", -1);
      INFO(r.status().toString());
      REQUIRE(r.isOk());
    }
  }
  auto cl = clusterClient(c.client(2));
  CHECK(cl.set("/n1/k0", "x", 0).status().code() == wire::Err::kRevMismatch);  // CAS via a follower
  std::string want = contents(c.client(c.awaitLeader()));
  for (int i = 1; i <= 3; ++i) {
    for (int k = 0; k < 10; ++k) {
      CHECK(want.find("/n" + std::to_string(i) + "/k" + std::to_string(k) + "@") !=
            std::string::npos);
    }
  }
  CHECK(converged(c, want));
}

TEST_CASE(
    "cluster: kill -9 the leader, another leads and writes go on, it comes back and catches up",
    "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  auto all = clusterClient(c.clients());
  for (int i = 0; i < 20; ++i)
    REQUIRE(all.set("/before/k" + std::to_string(i), "v", -1).isOk());

  auto t0 = Clock::now();
  c.kill9(leader);
  // Write through a surviving node until a write succeeds.
  int other = leader == 1 ? 2 : 1;
  // Short attempts, so the measurement is not the client's timeout: a write forwarded to the
  // dead leader is lost, and the next attempt goes to whoever leads by then.
  auto probe = clusterClient(c.client(other), 250);
  bool ok = test::eventually([&] { return probe.set("/after/first", "v", -1).isOk(); }, 20000);
  double failover = std::chrono::duration<double>(Clock::now() - t0).count();
  REQUIRE(ok);
  std::printf(
      "cluster: failover after kill -9 of the leader: first write acknowledged %.2f s "
      "after the kill\n",
      failover);
  int next = c.awaitLeader();
  CHECK(next > 0);
  CHECK(next != leader);
  auto cl = clusterClient(c.client(other));
  for (int i = 0; i < 20; ++i)
    REQUIRE(cl.set("/after/k" + std::to_string(i), "v", -1).isOk());

  c.start(leader);  // it recovers from its WAL and learns what it missed
  std::string want = contents(c.client(next));
  CHECK(converged(c, want));
  CHECK(contents(c.client(leader)).find("/after/k19") != std::string::npos);
}

TEST_CASE("cluster: without a quorum a write fails within a bounded time",
          "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  client::Options o;
  o.endpoints = {c.client(1)};
  o.writeDeadline = std::chrono::milliseconds(2000);  // how long a write is resent (5.1)
  client::Client cl(o);
  REQUIRE(cl.set("/a", "1", -1).isOk());
  c.kill9(2);
  c.kill9(3);
  auto t0 = Clock::now();
  auto r = cl.set("/b", "2", -1);
  double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  CHECK(!r.isOk());
  CHECK((r.status().code() == wire::Err::kUnavailable || r.status().code() == wire::Err::kTimeout));
  CHECK(waited < 6.0);
  // With one peer back there is a quorum again.
  c.start(2);
  CHECK(test::eventually([&] { return cl.set("/c", "3", -1).isOk(); }, 20000));
}

TEST_CASE("cluster: a read after an acknowledged write sees it, through any node",
          "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  std::vector<client::Client> cl;
  for (int i = 1; i <= 3; ++i)
    cl.push_back(clusterClient(c.client(i)));
  // Linearizable reads need no waiting: a write acknowledged by one node is visible to a read
  // that starts afterwards at any other node.
  for (int i = 0; i < 60; ++i) {
    auto& writer = cl[static_cast<std::size_t>(i % 3)];
    auto& reader = cl[static_cast<std::size_t>((i + 1) % 3)];
    auto rev = writer.set("/lin/k", std::to_string(i), -1);
    REQUIRE(rev.isOk());
    auto f = reader.get("/lin/k");
    REQUIRE(f.isOk());
    CHECK(f->value == std::to_string(i));
    CHECK(f->rev == *rev);
    CHECK(f->head >= *rev);
  }
}

TEST_CASE("cluster: without a quorum linearizable reads fail in bounded time, local reads work",
          "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clusterClient(c.client(3));
  REQUIRE(cl.set("/x", "1", -1).isOk());
  REQUIRE(cl.get("/x")->value == "1");
  c.kill9(1);
  c.kill9(2);
  auto t0 = Clock::now();
  auto r = cl.get("/x");
  double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  CHECK(r.status().code() == wire::Err::kUnavailable);
  CHECK(waited < 6.0);
  client::Options o;
  o.endpoints = {c.client(3)};
  o.localReads = true;
  client::Client local(o);
  auto l = local.get("/x");
  REQUIRE(l.isOk());
  CHECK(l->value == "1");
}

TEST_CASE("cluster: a node that missed a compacted stretch of the log catches up by snapshot",
          "[integration][cluster]") {
  test::TempDir d;
  // Nothing kept behind a snapshot: what the killed node misses is gone from every log.
  test::Cluster c(d.path(), 3, {"--snapshot-every", "20", "--log-retain", "0"});
  const int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  // A follower: a write on its way through a leader that dies has an unknown outcome (TIMEOUT).
  const int gone = leader % 3 + 1;
  auto cl = clusterClient(c.clients());
  REQUIRE(cl.set("/early", "1", -1).isOk());
  c.kill9(gone);
  for (int i = 0; i < 300; ++i)
    REQUIRE(cl.set("/w/k" + std::to_string(i % 30), std::to_string(i), -1).isOk());
  // The others snapshot and drop their logs behind them (in the background: poll for it).
  REQUIRE(test::eventually([&] {
    auto snaps =
        store::listDir(d.path() + "/n" + std::to_string(leader) + "/snap", "snap-", ".snap");
    return snaps.isOk() && !snaps->empty() && snaps->back() >= "snap-00000000000000000200";
  }));
  c.start(gone);
  // It cannot learn slots the others compacted: it must install a snapshot, then follow.
  client::Options o;
  o.endpoints = {c.client(gone)};
  o.localReads = true;
  client::Client local(o);
  CHECK(test::eventually(
      [&] {
        auto f = local.get("/w/k29");
        return f.isOk() && f->value == "299";
      },
      20000));
  CHECK(local.get("/early")->value == "1");
  REQUIRE(cl.set("/after", "x", -1).isOk());
  auto lin = clusterClient(c.client(gone));
  CHECK(lin.get("/after")->value == "x");  // and it serves linearizable reads again
  std::string log = test::runProgram({"/bin/cat", c.node(gone).logPath()}).out;
  CHECK(log.find("installed the snapshot") != std::string::npos);
}

namespace {

std::map<std::string, std::int64_t> counters(const std::string& endpoint) {
  auto self = clusterClient(endpoint).self();
  REQUIRE(self.isOk());
  REQUIRE(self->stats);
  std::map<std::string, std::int64_t> s;
  for (const auto& counter : *self->stats)
    s[counter.name] = counter.value;
  return s;
}

}  // namespace

TEST_CASE("cluster: a follower restarted behind the leader's snapshot catches up from its log",
          "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3, {"--snapshot-every", "50", "--log-retain", "1000"});
  const int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  const int follower = leader % 3 + 1;
  auto cl = clusterClient(c.client(leader));
  for (int i = 0; i < 300; ++i)
    REQUIRE(cl.set("/r/k" + std::to_string(i), std::to_string(i), -1).isOk());
  c.kill9(follower);
  // The follower has applied nothing past the leader's head now.
  auto atKill = cl.rev();
  REQUIRE(atKill.isOk());
  for (int i = 300; i < 400; ++i)
    REQUIRE(cl.set("/r/k" + std::to_string(i), std::to_string(i), -1).isOk());
  // The leader snapshots past what the follower has (in the background: poll for it), so without
  // the log kept behind that snapshot the follower would need one.
  const std::string snapDir = d.path() + "/n" + std::to_string(leader) + "/snap";
  REQUIRE(test::eventually([&] {
    auto snap = store::loadSnapshot(snapDir, store::Store::Options());
    return snap.isOk() && snap->has_value() && (*snap)->rev() > *atKill;
  }));
  c.start(follower);
  client::Options o;
  o.endpoints = {c.client(follower)};
  o.localReads = true;
  client::Client local(o);
  CHECK(test::eventually(
      [&] {
        auto f = local.get("/r/k399");
        return f.isOk() && f->value == "399";
      },
      20000));
  auto all = local.walk("/r/**");
  REQUIRE(all.isOk());
  CHECK(all->size() == 400);
  // From the leader's log: no snapshot was sent or installed.
  CHECK(counters(c.client(follower))["snapshots_installed"] == 0);
  for (int i = 1; i <= 3; ++i) {
    if (i != follower) CHECK(counters(c.client(i))["snapshots_sent"] == 0);
  }
  std::string log = test::runProgram({"/bin/cat", c.node(follower).logPath()}).out;
  CHECK(log.find("installed the snapshot") == std::string::npos);
}

TEST_CASE("cluster: /ctl describes the cluster", "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  auto cl = clusterClient(c.clients());
  auto value = [&](const std::string& path) {
    auto f = cl.get(path);
    return f.isOk() ? f->value : std::string("?");
  };
  CHECK(test::eventually([&] { return value("/ctl/leader") == std::to_string(leader); }));
  for (int i = 1; i <= 3; ++i) {
    std::string n = std::to_string(i);
    CHECK(test::eventually([&] { return value("/ctl/members/" + n) == c.peer(i); }));
    CHECK(test::eventually([&] { return value("/ctl/nodes/" + n + "/client") == c.client(i); }));
  }
  CHECK(cl.set("/ctl/leader", "9", -1).status().code() == wire::Err::kReadonly);
  auto rev = cl.set("/user/x", "1", -1);
  REQUIRE(rev.isOk());
  for (int i = 1; i <= 3; ++i) {  // live facts come from each node (SELF), not from /ctl
    auto self = clusterClient(c.client(i)).self();
    REQUIRE(self.isOk());
    CHECK(self->id == i);
    CHECK(self->maxValue.value_or(0) > 0);
    CHECK(self->role == std::string(i == leader ? "leader" : "follower"));
    CHECK(test::eventually([&] {
      auto s = clusterClient(c.client(i)).self();
      return s.isOk() && s->rev.value_or(0) >= *rev && s->lag == 0;
    }));
  }
  CHECK(value("/ctl/nodes/1/applied").empty());  // a missing file reads as empty
  // A new leader records itself.
  c.kill9(leader);
  int next = c.awaitLeader();
  REQUIRE(next > 0);
  auto others = clusterClient(c.clients());
  CHECK(test::eventually([&] {
    auto f = others.get("/ctl/leader");
    if (!f.isOk()) return false;
    if (f->value == std::to_string(next)) return true;
    next = c.awaitLeader(2000);  // under load the lead may have moved on since: the one now
    return f->value == std::to_string(next);
  }));
}

TEST_CASE("cluster: a leader stopped (SIGSTOP) past the election timeout comes back as a follower",
          "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  int old = c.awaitLeader();
  REQUIRE(old > 0);
  int a = old == 1 ? 2 : 1, b = 6 - old - a;
  auto viaOld = clusterClient(c.client(old), 3000);
  REQUIRE(viaOld.set("/s/before", "1", -1).isOk());
  c.node(old).pause();
  // The other two elect a leader among themselves and take writes.
  auto viaA = clusterClient(c.client(a), 500);
  REQUIRE(test::eventually([&] { return viaA.set("/s/during", "2", -1).isOk(); }, 20000));
  c.node(old).resume();
  // No split brain: the old leader learns of the new ballot, follows, and serves what the
  // majority decided; writes through it land in the one history.
  int now = c.awaitLeader();
  REQUIRE(now > 0);
  CHECK(now != old);
  auto viaOld2 = clusterClient(c.client(old));
  auto during = viaOld2.get("/s/during");  // linearizable: it must see the write made without it
  REQUIRE(during.isOk());
  CHECK(during->value == "2");
  auto r = viaOld2.set("/s/after", "3", -1);
  REQUIRE(r.isOk());
  auto viaB = clusterClient(c.client(b));
  auto after = viaB.get("/s/after");
  REQUIRE(after.isOk());
  CHECK(after->value == "3");
  CHECK(after->rev == *r);
  std::string want = contents(c.client(now));
  CHECK(converged(c, want));
}

TEST_CASE("cluster: kill -9 of every node during a write burst loses no acknowledged write",
          "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3, {"--snapshot-every", "100"});
  REQUIRE(c.awaitLeader() > 0);
  std::mutex mu;
  std::map<std::string, std::pair<std::int64_t, std::string>> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      auto cl = clusterClient(c.client(w % 3 + 1), 3000);
      for (int i = 0; !stop; ++i) {
        std::string path = "/burst/w" + std::to_string(w) + "/k" + std::to_string(i);
        std::string value = "v" + std::to_string(w) + "-" + std::to_string(i);
        auto r = cl.set(path, value, 0);
        if (!r) return;  // the cluster is gone: outcome unknown, not counted
        std::lock_guard<std::mutex> g(mu);
        acked[path] = {*r, value};
      }
    });
  }
  REQUIRE(test::eventually(
      [&] {
        std::lock_guard<std::mutex> g(mu);
        return acked.size() >= 600;
      },
      60000));
  for (int i = 1; i <= 3; ++i)
    c.kill9(i);  // writers are mid-request
  stop = true;
  for (auto& t : writers)
    t.join();
  for (int i = 1; i <= 3; ++i)
    c.start(i);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clusterClient(c.clients());
  INFO(acked.size() << " acknowledged writes");
  for (const auto& [path, rv] : acked) {
    auto f = cl.get(path);
    REQUIRE(f.isOk());
    INFO(path);
    CHECK(f->rev == rv.first);
    CHECK(f->value == rv.second);
  }
  std::string want = contents(c.client(c.awaitLeader()));
  CHECK(converged(c, want));  // the three stores are identical
}

TEST_CASE("cluster: garbage, strangers and impostors on the peer socket are dropped and counted",
          "[integration][cluster]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  c.kill9(3);  // so that its routing id is free for an impostor
  REQUIRE(c.awaitLeader() > 0);
  zmq::context_t ctx(1);
  auto dealer = [&](const std::string& id) {
    auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    s->set(zmq::sockopt::routing_id, id);
    s->set(zmq::sockopt::linger, 0);
    s->connect(c.peer(1));
    return s;
  };
  std::map<std::uint32_t, std::string> members;
  for (int i = 1; i <= 3; ++i)
    members[static_cast<std::uint32_t>(i)] = c.peer(i);
  // A prepare with a huge ballot: were any of these believed, node 1 would stop leading or
  // following whoever leads now.
  wire::PeerMessage m;
  m.type = wire::PeerMessage::Type::kPrepare;
  m.to = 1;
  m.ballot = wire::Ballot{1000000, 2};
  m.from = 2;
  m.cluster = node::clusterIdOf(members);
  auto stranger = dealer("99");
  auto impostor = dealer("3");  // speaks as node 2 over node 3's connection
  const int kSent = 4;
  stranger->send(zmq::str_buffer("\xc1garbage"), zmq::send_flags::none);
  impostor->send(zmq::buffer(wire::encodePeer(m)), zmq::send_flags::none);
  wire::PeerMessage foreign = m;
  foreign.cluster ^= 1;  // another cluster
  foreign.from = 3;
  impostor->send(zmq::buffer(wire::encodePeer(foreign)), zmq::send_flags::none);
  impostor->send(zmq::str_buffer("a"), zmq::send_flags::sndmore);  // two frames
  impostor->send(zmq::str_buffer("b"), zmq::send_flags::none);
  auto cl = clusterClient(c.client(1));
  CHECK(test::eventually([&] {
    auto self = cl.self();
    return self.isOk() && self->dropped.value_or(0) >= kSent;
  }));
  REQUIRE(cl.set("/still", "fine", -1).isOk());
  auto self = cl.self();
  REQUIRE(self.isOk());
  CHECK(self->leader.value_or(0) != 0);
  // Each by its reason, in SELF's counters and in the node's log: never silently.
  std::map<std::string, std::int64_t> stats;
  for (const auto& counter : self->stats.value_or(std::vector<wire::Counter>{}))
    stats[counter.name] = counter.value;
  CHECK(stats["peer_refused.malformed"] == 1);
  CHECK(stats["peer_refused.spoofed"] == 1);
  CHECK(stats["peer_refused.foreign"] == 1);
  CHECK(stats["peer_refused.frames"] == 1);
  std::ifstream f(c.node(1).logPath());
  const std::string log((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(log.find("(spoofed), the last from connection '3': claims to come from node 2") !=
        std::string::npos);
  CHECK(log.find("(malformed), the last from connection '99'") != std::string::npos);
}
