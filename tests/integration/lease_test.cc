// Leases on real processes: a lease's files are deleted at one rev when it ends (expiry or
// REVOKE), keep-alives hold it through a leader's kill -9, a full-cluster restart gives it a
// fresh ttl, watchers see a lease's end whole, and bad requests get clear errors.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "bindings/cpp/client.h"
#include "bindings/cpp/watcher.h"
#include "tests/support/node_process.h"

using namespace cairn;
using namespace std::chrono_literals;
using test::clientFor;

namespace {

// Keeps a lease alive from a thread of its own until stopped; counts the renewals answered.
class KeepAlive {
 public:
  KeepAlive(std::string endpoints, std::uint64_t lease) {
    th_ = std::thread([this, eps = std::move(endpoints), lease] {
      client::Options o;
      o.endpoints = client::splitEndpoints(eps);
      o.timeout = 500ms;
      client::Client c(o);
      while (!stop_) {
        auto ttl = c.keepAlive(lease);
        if (ttl) ++renewed_;
        if (!ttl && ttl.status().code() == wire::Err::kNoEnt) ended_ = true;
        std::this_thread::sleep_for(ttl ? *ttl / 4 : 100ms);
      }
    });
  }
  ~KeepAlive() { stop(); }
  void stop() {
    stop_ = true;
    if (th_.joinable()) th_.join();
  }
  int renewed() const { return renewed_; }
  bool ended() const { return ended_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> renewed_{0};
  std::atomic<bool> ended_{false};
  std::thread th_;
};

bool exists(client::Client& c, const std::string& path) {
  auto f = c.get(path);
  return f.isOk() && f->rev != 0;
}

}  // namespace

TEST_CASE("leases: a lease's files go at one rev when it expires or is revoked",
          "[integration][lease]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  auto l = cl.grant(2000ms);
  REQUIRE(l.isOk());
  for (const char* p : {"/e/svc/a", "/e/svc/b", "/e/other/c"})
    REQUIRE(cl.set(p, "up", -1, *l).isOk());
  REQUIRE(cl.set("/e/plain", "stays", -1).isOk());
  auto info = cl.lease(*l);
  REQUIRE(info.isOk());
  CHECK(info->ttl == 2000);
  REQUIRE(info->remaining);
  CHECK(*info->remaining > 0);
  CHECK(*info->remaining <= 2000);
  REQUIRE(info->entries);
  CHECK(info->entries->size() == 3);
  CHECK(cl.stat("/e/svc/a").isOk());
  const auto before = cl.rev();
  REQUIRE(before.isOk());
  // Nobody keeps it alive: it ends about 2 s later, all three files at one rev.
  auto ended = cl.wait("/e/**", *before + 1, 10000ms);
  REQUIRE(ended.isOk());
  REQUIRE(ended->size() == 3);
  for (const auto& ch : *ended) {
    CHECK(ch.op == "del");
    CHECK(ch.rev == ended->front().rev);
  }
  CHECK(ended->front().path == "/e/other/c");
  CHECK(!exists(cl, "/e/svc/a"));
  CHECK(exists(cl, "/e/plain"));
  CHECK(cl.lease(*l).status().code() == wire::Err::kNoEnt);
  CHECK(cl.keepAlive(*l).status().code() == wire::Err::kNoEnt);
  // A file may not join a lease that ended.
  CHECK(cl.set("/svc/late", "x", -1, *l).status().code() == wire::Err::kNoEnt);

  // REVOKE ends one now; its files go at the rev it returns.
  auto m = cl.grant(60000ms);
  REQUIRE(m.isOk());
  CHECK(*m > *l);  // ids are never reused
  REQUIRE(cl.set("/r/1", "1", -1, *m).isOk());
  REQUIRE(cl.set("/r/2", "2", -1, *m).isOk());
  auto at = cl.revoke(*m);
  REQUIRE(at.isOk());
  auto gone = cl.changes("/r/*", *at, nullptr);
  REQUIRE(gone.isOk());
  REQUIRE(gone->size() == 2);
  CHECK(gone->at(0).rev == *at);
  CHECK(gone->at(1).rev == *at);
  CHECK(cl.revoke(*m).status().code() == wire::Err::kNoEnt);
}

TEST_CASE(
    "leases: keep-alives hold a lease through the leader's kill -9, and a restart of "
    "every node gives it a full ttl",
    "[integration][lease]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  auto l = cl.grant(3000ms);
  REQUIRE(l.isOk());
  REQUIRE(cl.set("/lock/holder", "me", 0, *l).isOk());
  {
    KeepAlive ka(c.clients(), *l);
    REQUIRE(test::eventually([&] { return ka.renewed() >= 2; }));
    const int leader = c.awaitLeader();
    c.kill9(leader);
    // The next leader renews it: eight renewals, a renewal every quarter of the ttl, span twice
    // the ttl without that leader, and nothing ends.
    const int seen = ka.renewed();
    auto two = clientFor(c.clients());
    REQUIRE(test::eventually([&] { return ka.renewed() >= seen + 8; }, 20000));
    CHECK(!ka.ended());
    CHECK(exists(two, "/lock/holder"));
    c.restart(leader);
  }
  // Every node restarted: the lease is in their state, and the new leader gives it a full ttl.
  for (int id = 1; id <= 3; ++id)
    c.kill9(id);
  for (int id = 1; id <= 3; ++id)
    c.restart(id);
  REQUIRE(c.awaitLeader() > 0);
  auto again = clientFor(c.clients());
  auto info = again.lease(*l);
  REQUIRE(info.isOk());
  REQUIRE(info->remaining);
  CHECK(*info->remaining > 1000);  // fresh, not what was left before the restart
  CHECK(exists(again, "/lock/holder"));
  // With no keep-alives it ends on its own.
  REQUIRE(test::eventually([&] { return !exists(again, "/lock/holder"); }, 15000));
}

TEST_CASE("leases: a watcher gets a lease's end whole, once, in order", "[integration][lease]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  auto l = cl.grant(60000ms);
  REQUIRE(l.isOk());
  REQUIRE(cl.set("/w/a", "1", -1, *l).isOk());
  REQUIRE(cl.set("/x/b", "2", -1, *l).isOk());  // not watched
  REQUIRE(cl.set("/w/c", "3", -1, *l).isOk());
  auto head = cl.rev();
  REQUIRE(head.isOk());
  client::WatchOptions wo;
  wo.endpoints = client::splitEndpoints(c.clients());
  wo.glob = "/w/**";
  wo.fromRev = *head + 1;
  client::Watcher w(wo);
  // Live on a node's feed before anything happens (its first fill done, a heartbeat seen).
  REQUIRE(test::eventually([&] {
    auto n = w.next(50ms);
    return n.isOk() && w.stats().heartbeats > 0 && w.complete() >= *head;
  }));
  REQUIRE(cl.set("/w/before", "0", -1).isOk());
  auto at = cl.revoke(*l);
  REQUIRE(at.isOk());
  REQUIRE(cl.set("/w/after", "4", -1).isOk());
  std::vector<client::Change> got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got.size() < 4 && std::chrono::steady_clock::now() < deadline) {
    auto n = w.next(200ms);
    REQUIRE(n.isOk());
    if (*n && (*n)->kind == client::Notice::Kind::kChange) {
      // Until the last change of a rev, the rev is not complete.
      const bool lastOfRev = (*n)->complete == (*n)->change.rev;
      CHECK(lastOfRev == ((*n)->change.path != "/w/a"));
      got.push_back((*n)->change);
    }
  }
  REQUIRE(got.size() == 4);
  CHECK(got[0].path == "/w/before");
  CHECK(got[1].path == "/w/a");
  CHECK(got[1].rev == *at);
  CHECK(got[2].path == "/w/c");
  CHECK(got[2].rev == *at);
  CHECK(got[3].path == "/w/after");
  CHECK(got[3].rev == *at + 1);
  // The lease's end reached the feed as events numbered i of n, which send a watcher to history
  // for the whole rev.
  CHECK(w.stats().fromHistory >= 2);
}

TEST_CASE("leases: bad requests get clear errors and change nothing", "[integration][lease]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  const auto head = cl.rev();
  REQUIRE(head.isOk());
  auto shortTtl = cl.grant(500ms);
  CHECK(shortTtl.status().code() == wire::Err::kRange);
  CHECK(shortTtl.status().detail().find("2 s") != std::string::npos);
  CHECK(cl.grant(std::chrono::hours(25)).status().code() == wire::Err::kRange);
  wire::Request q;
  q.verb = wire::Verb::kGrant;
  CHECK(cl.call(q).status().code() == wire::Err::kMissingArg);
  q.verb = wire::Verb::kKeepalive;
  CHECK(cl.call(q).status().code() == wire::Err::kMissingArg);
  q.lease = 0;
  CHECK(cl.call(q).status().code() == wire::Err::kRange);
  CHECK(cl.keepAlive(12345).status().code() == wire::Err::kNoEnt);
  CHECK(cl.revoke(12345).status().code() == wire::Err::kNoEnt);
  CHECK(cl.set("/f", "x", -1, 12345).status().code() == wire::Err::kNoEnt);
  // A keep-alive sent to a follower is sent on to the leader by the client library.
  auto l = cl.grant(5000ms);
  REQUIRE(l.isOk());
  const int leader = c.awaitLeader();
  const int follower = leader % 3 + 1;
  auto atFollower = clientFor(c.client(follower));
  // (Once the follower knows the leader's client endpoint: the leader writes it into /ctl.)
  REQUIRE(test::eventually([&] {
    auto ttl = atFollower.keepAlive(*l);
    return ttl.isOk() && *ttl == 5000ms;
  }));
  wire::Request raw;
  raw.verb = wire::Verb::kKeepalive;
  raw.lease = static_cast<std::int64_t>(*l);
  auto direct = atFollower.call(raw);
  CHECK(direct.status().code() == wire::Err::kNotLeader);
  CHECK(direct.status().detail().find(c.client(leader)) != std::string::npos);
  // Nothing above wrote a file (but the nodes' own /ctl).
  CHECK(!exists(cl, "/f"));
  auto all = cl.walk("/**");
  REQUIRE(all.isOk());
  for (const auto& e : all.value())
    CHECK(e.path.rfind("/ctl/", 0) == 0);
}
