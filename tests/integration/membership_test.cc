// Membership changes on real processes: nodes join (learners, promoted once caught up), members
// leave (the leader too), a dead machine is replaced by a fresh one, a learner never makes a
// quorum, and joins that must not happen are refused before anything is written.

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bindings/cpp/client.h"
#include "tests/support/node_process.h"

using namespace cairn;
using test::clientFor;
namespace fs = std::filesystem;

namespace {

std::string peerEp() {
  return "tcp://127.0.0.1:" + std::to_string(test::freePort());
}

// A node that joins the cluster through `via` (a member's client endpoint).
std::unique_ptr<test::NodeProcess> join(const std::string& dir, const std::string& via,
                                        std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--join", via, "--peer", peerEp()};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<test::NodeProcess>(dir, args);
}

// The configuration as the leader reports it.
std::vector<wire::MemberInfo> members(client::Client& c) {
  auto r = c.members();
  if (!r || !r->members) return {};
  return *r->members;
}

std::string roles(const std::vector<wire::MemberInfo>& ms) {
  std::string s;
  for (const auto& m : ms)
    s += (s.empty() ? "" : " ") + std::to_string(m.id) + ":" + m.role;
  return s;
}

// Every member has learned as far as the leader (which alone reports how far each has).
bool lagless(const std::vector<wire::MemberInfo>& ms) {
  if (ms.empty()) return false;
  for (const auto& m : ms) {
    if (!m.learned || *m.learned != *ms.front().learned) return false;
  }
  return true;
}

// Writes /w/N for N = 1, 2, ... until stopped, keeping the acknowledged ones; a write that failed
// or timed out is not acknowledged (and not retried).
class Writer {
 public:
  explicit Writer(std::string endpoints) : eps_(std::move(endpoints)) {
    th_ = std::thread([this] {
      auto c = clientFor(eps_);
      for (int i = 1; !stop_; ++i) {
        auto r = c.set("/w/" + std::to_string(i), "v" + std::to_string(i), -1);
        std::lock_guard<std::mutex> l(mu_);
        if (r)
          acked_.push_back(i);
        else
          ++failed_;
      }
    });
  }
  ~Writer() { stop(); }
  void stop() {
    stop_ = true;
    if (th_.joinable()) th_.join();
  }
  std::vector<int> acked() {
    std::lock_guard<std::mutex> l(mu_);
    return acked_;
  }
  std::size_t count() {
    std::lock_guard<std::mutex> l(mu_);
    return acked_.size();
  }

 private:
  std::string eps_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<int> acked_;
  int failed_ = 0;
  std::thread th_;
};

// Every acknowledged write is in the state a linearizable read of `c` sees.
void checkAcked(client::Client& c, const std::vector<int>& acked) {
  test::Files f = test::walkFiles(c, "/w/*");
  for (int i : acked) {
    auto it = f.find("/w/" + std::to_string(i));
    REQUIRE(it != f.end());
    CHECK(it->second.second == "v" + std::to_string(i));
  }
}

}  // namespace

TEST_CASE("membership: 3 -> 5 while a writer runs, then 5 -> 3 (the leader removed too)",
          "[integration][membership]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  Writer w(c.clients());
  REQUIRE(test::eventually([&] { return w.count() >= 20; }, 20000));

  auto n4 = join(d.path() + "/n4", c.client(2));
  auto n5 = join(d.path() + "/n5", c.client(3));
  auto cl = clientFor(c.clients() + "," + n4->client() + "," + n5->client());
  // Both catch up and the leader promotes them: five voters.
  REQUIRE(test::eventually(
      [&] { return roles(members(cl)) == "1:voter 2:voter 3:voter 4:voter 5:voter"; }, 30000));
  const std::size_t before = w.count();
  REQUIRE(test::eventually([&] { return w.count() >= before + 20; }, 20000));

  // Remove the leader and one other of the first three.
  const int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  const int other = leader % 3 + 1;
  for (int id : {other, leader}) {
    wire::Request q;
    q.verb = wire::Verb::kRemove;
    q.id = id;
    auto r = cl.leaderCall(q);
    REQUIRE(r.isOk());
    // The removed node says so and exits by itself, with 0.
    CHECK(c.node(id).awaitExit(20000) == 0);
  }
  const int third = 6 - leader - other;
  auto rest = clientFor(c.client(third) + "," + n4->client() + "," + n5->client());
  REQUIRE(test::eventually(
      [&] { return roles(members(rest)) == std::to_string(third) + ":voter 4:voter 5:voter"; },
      20000));
  const std::size_t mid = w.count();
  // The writer, which knew only the first three, goes on through the one left.
  REQUIRE(test::eventually([&] { return w.count() >= mid + 20; }, 30000));
  w.stop();
  checkAcked(rest, w.acked());
  // Every remaining member holds the same files at the same rev.
  auto head = rest.rev();
  REQUIRE(head.isOk());
  test::Files ref;
  for (const std::string& ep : {c.client(third), n4->client(), n5->client()}) {
    REQUIRE(test::awaitRev(ep, *head));
    auto local = clientFor(ep, true);
    test::Files f = test::walkFiles(local, "/w/*", *head);
    if (ref.empty()) ref = f;
    CHECK(f == ref);
  }
  // A removed member restarted is refused: it may not vote or serve again.
  test::RunResult again =
      test::runProgram({CAIRND_BIN, "--data", d.path() + "/n" + std::to_string(other), "--client",
                        "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*"});
  INFO(again.err);
  CHECK(again.code == 3);
  CHECK(again.err.find("was removed from cluster") != std::string::npos);
}

TEST_CASE("membership: a kill -9'd member is replaced by a fresh node",
          "[integration][membership]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  for (int i = 0; i < 50; ++i)
    REQUIRE(cl.set("/data/k" + std::to_string(i), std::string(1000, 'a' + i % 26), -1).isOk());
  const int dead = c.awaitLeader() % 3 + 1;  // a follower
  c.kill9(dead);
  auto two = clientFor(c.clients());
  wire::Request q;
  q.verb = wire::Verb::kRemove;
  q.id = dead;
  auto removed = two.leaderCall(q);
  INFO(removed.status().toString());
  REQUIRE(removed.isOk());
  auto n4 = join(d.path() + "/n4", c.clients().substr(0, c.clients().find(',')));
  auto all = clientFor(c.clients() + "," + n4->client());
  REQUIRE(test::eventually(
      [&] {
        return members(all).size() == 3 && roles(members(all)).find("4:voter") != std::string::npos;
      },
      30000));
  REQUIRE(all.set("/data/after", "replaced", -1).isOk());
  auto head = all.rev();
  REQUIRE(head.isOk());
  REQUIRE(test::awaitRev(n4->client(), *head));
  auto local = clientFor(n4->client(), true);
  CHECK(test::walkFiles(local, "/data/**", *head) == test::walkFiles(all, "/data/**", *head));
  // Now any one of the three may die: the new member counts.
  const int leader = c.awaitLeader();
  for (int id = 1; id <= 3; ++id) {
    if (id != dead && id != leader) c.kill9(id);
  }
  auto live = clientFor(c.clients() + "," + n4->client());
  CHECK(live.set("/data/last", "two of three", -1).isOk());
}

TEST_CASE("membership: a learner never makes a quorum, and an observer stays a learner",
          "[integration][membership]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  REQUIRE(cl.set("/a", "1", -1).isOk());
  auto n4 = join(d.path() + "/n4", c.client(1), {"--learner"});
  REQUIRE(test::eventually(
      [&] { return roles(members(cl)) == "1:voter 2:voter 3:voter 4:observer"; }, 20000));
  auto head = cl.rev();
  REQUIRE(head.isOk());
  REQUIRE(test::awaitRev(n4->client(), *head));
  // It serves reads, linearizable ones included (through the leader), and takes writes.
  auto viaLearner = clientFor(n4->client());
  auto f = viaLearner.get("/a");
  REQUIRE(f.isOk());
  CHECK(f->value == "1");
  REQUIRE(viaLearner.set("/b", "2", -1).isOk());
  // An observer is never promoted by itself.
  CHECK(roles(members(cl)) == "1:voter 2:voter 3:voter 4:observer");
  // Down to two voters and the observer: were the observer counted, the leader and it would be 2
  // of 3; as it is not, the leader alone is 1 of 2.
  const int leader = c.awaitLeader();
  const int gone = leader % 3 + 1;
  const int other = 6 - leader - gone;
  wire::Request q;
  q.verb = wire::Verb::kRemove;
  q.id = gone;
  REQUIRE(cl.leaderCall(q).isOk());
  CHECK(c.node(gone).awaitExit(20000) == 0);
  REQUIRE(test::eventually([&] {
    return roles(members(cl)) ==
           (leader < other
                ? std::to_string(leader) + ":voter " + std::to_string(other) + ":voter"
                : std::to_string(other) + ":voter " + std::to_string(leader) + ":voter") +
               " 4:observer";
  }));
  c.kill9(other);
  // Once the learner knows no leader (the survivor stepped down: it hears no majority), a write
  // through it fails UNAVAILABLE: nothing left, and a learner never counts towards a quorum.
  auto self = clientFor(n4->client(), true);
  REQUIRE(test::eventually(
      [&] {
        auto r = self.self();
        return r && r->leader.value_or(-1) == 0;
      },
      20000));
  client::Options o;
  o.endpoints = {n4->client()};
  o.timeout = std::chrono::milliseconds(8000);
  client::Client noQuorum(o);
  auto w = noQuorum.set("/c", "3", -1);
  INFO(w.status().toString());
  CHECK(w.status().code() == wire::Err::kUnavailable);
  auto local = clientFor(n4->client(), true);
  auto g = local.get("/c");
  REQUIRE(g.isOk());
  CHECK(g->rev == 0);
}

TEST_CASE(
    "membership: a learner is promoted by hand only once it has caught up, and not while it "
    "stalls",
    "[integration][membership]") {
  test::TempDir d;
  // Snapshots every 50 slots, no log kept behind them, and a slow snapshot transfer: a node that
  // joins needs seconds to catch up.
  test::Cluster c(d.path(), 3,
                  {"--snapshot-every", "50", "--log-retain", "0", "--snapshot-rate", "20000"});
  auto cl = clientFor(c.clients());
  const std::string value(1000, 'v');
  for (int i = 0; i < 200; ++i)
    REQUIRE(cl.set("/big/" + std::to_string(i), value, -1).isOk());
  wire::Request q;
  q.verb = wire::Verb::kPromote;
  q.id = 4;
  // An observer (never promoted by itself) joins: while the snapshot crawls in, it is behind.
  auto n4 = join(d.path() + "/n4", c.client(1), {"--learner"});
  std::string refused;
  REQUIRE(test::eventually(
      [&] {
        auto r = cl.leaderCall(q);
        REQUIRE(!r.isOk());
        refused = r.status().toString();
        return refused.find("node 4 has not caught up (it has learned slot") != std::string::npos;
      },
      20000));
  INFO(refused);
  CHECK(roles(members(cl)) == "1:voter 2:voter 3:voter 4:observer");
  auto head = cl.rev();
  REQUIRE(head.isOk());
  REQUIRE(test::awaitRev(n4->client(), *head, 60000));
  // Stalled, it is not promoted either, once the leader no longer hears it.
  n4->pause();
  REQUIRE(test::eventually([&] {
    for (const auto& m : members(cl)) {
      if (m.id == 4) return !m.learned.has_value();
    }
    return false;
  }));
  auto r = cl.leaderCall(q);
  REQUIRE(!r.isOk());
  CHECK(r.status().code() == wire::Err::kUnavailable);
  CHECK(r.status().detail().find("node 4 has not answered the leader lately") != std::string::npos);
  CHECK(roles(members(cl)) == "1:voter 2:voter 3:voter 4:observer");
  // Awake again, it catches up and the same request promotes it.
  n4->resume();
  REQUIRE(test::eventually([&] { return cl.leaderCall(q).isOk(); }, 20000));
  CHECK(roles(members(cl)) == "1:voter 2:voter 3:voter 4:voter");
}

TEST_CASE("membership: joins that must not happen are refused, and write nothing",
          "[integration][membership]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto run = [&](const std::string& dir, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        CAIRND_BIN, "--data",           dir, "--client", "tcp://127.0.0.1:*",
        "--events", "tcp://127.0.0.1:*"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::runProgram(args);
  };
  const std::string fresh = d.path() + "/fresh";
  // An id that is a member's.
  auto taken = run(fresh, {"--join", c.client(1), "--id", "2", "--peer", peerEp()});
  CHECK(taken.code == 3);
  CHECK(taken.err.find("id 2 is taken") != std::string::npos);
  CHECK(!fs::exists(fresh));
  // A peer endpoint that is a member's.
  auto same = run(fresh, {"--join", c.client(1), "--peer", c.peer(3)});
  CHECK(same.code == 3);
  CHECK(same.err.find("is member 3's") != std::string::npos);
  CHECK(!fs::exists(fresh));
  // Nobody answers.
  const std::string nobody = "tcp://127.0.0.1:" + std::to_string(test::freePort());
  auto silent = run(fresh, {"--join", nobody, "--peer", peerEp()});
  CHECK(silent.code == 1);
  CHECK(silent.err.find(nobody) != std::string::npos);
  CHECK(!fs::exists(fresh));
  // A directory that holds another cluster's data.
  {
    test::NodeProcess alone(d.path() + "/other");
    alone.kill9();
  }
  auto foreign = run(d.path() + "/other", {"--join", c.client(1), "--peer", peerEp()});
  CHECK(foreign.code == 3);
  CHECK(foreign.err.find("belongs to cluster") != std::string::npos);
  // A peer endpoint the others cannot reach.
  auto wild = run(fresh, {"--join", c.client(1), "--peer",
                          "tcp://0.0.0.0:" + std::to_string(test::freePort())});
  CHECK(wild.code == 3);
  CHECK(wild.err.find("names no host") != std::string::npos);
  CHECK(!fs::exists(fresh));
  // A node that runs alone, with no peer endpoint, takes no members.
  {
    test::NodeProcess lone(d.path() + "/lone");
    auto intoLone = run(fresh, {"--join", lone.client(), "--peer", peerEp()});
    CHECK(intoLone.code == 3);
    CHECK(intoLone.err.find("runs alone") != std::string::npos);
    CHECK(!fs::exists(fresh));
  }
  // Usage errors: --join with --cluster, without --peer; --learner without --join.
  CHECK(run(fresh, {"--join", c.client(1)}).code == 2);
  CHECK(run(fresh, {"--learner"}).code == 2);
  // None of this changed the cluster.
  auto cl = clientFor(c.clients());
  CHECK(roles(members(cl)) == "1:voter 2:voter 3:voter");
}

TEST_CASE(
    "membership: a member that was down through changes catches up with a leader it never "
    "knew, and a joined node restarts with --data alone",
    "[integration][membership]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  REQUIRE(cl.set("/before", "1", -1).isOk());
  c.kill9(3);
  auto n4 = join(d.path() + "/n4", c.client(1));
  auto all = clientFor(c.clients() + "," + n4->client());
  REQUIRE(test::eventually([&] { return roles(members(all)) == "1:voter 2:voter 3:voter 4:voter"; },
                           30000));
  // Nodes 1 and 2 leave: node 4 is left to lead, with node 3 (down) the other voter.
  for (int id : {1, 2}) {
    wire::Request q;
    q.verb = wire::Verb::kRemove;
    q.id = id;
    auto r = all.leaderCall(q);
    INFO(r.status().toString());
    REQUIRE(r.isOk());
    CHECK(c.node(id).awaitExit(20000) == 0);
  }
  // Node 3 comes back knowing only the first configuration: it has no endpoint for node 4, yet it
  // must answer it, learn the changes, and make the quorum again.
  c.restart(3);
  auto pair = clientFor(c.client(3) + "," + n4->client());
  REQUIRE(pair.set("/after", "2", -1).isOk());
  auto head = pair.rev();
  REQUIRE(head.isOk());
  REQUIRE(test::awaitRev(c.client(3), *head));
  CHECK(roles(members(pair)) == "3:voter 4:voter");
  // The joined node restarts from its directory alone.
  n4->kill9();
  n4 = std::make_unique<test::NodeProcess>(d.path() + "/n4");
  auto again = clientFor(c.client(3) + "," + n4->client());
  // Node 4 led: the first writes may meet the election its restart causes (TIMEOUT, unknown).
  REQUIRE(test::eventually([&] { return again.set("/restarted", "3", -1).isOk(); }, 20000));
  auto local = clientFor(n4->client(), true);
  auto head2 = again.rev();
  REQUIRE(head2.isOk());
  REQUIRE(test::awaitRev(n4->client(), *head2));
  auto f = local.get("/before");
  REQUIRE(f.isOk());
  CHECK(f->value == "1");
}

TEST_CASE(
    "membership: a node that ran alone grows to three once it has a peer endpoint, and so does a "
    "node restored from a backup",
    "[integration][membership]") {
  test::TempDir d;
  auto n1 = std::make_unique<test::NodeProcess>(d.path() + "/n1");
  {
    auto cl = clientFor(n1->client());
    for (int i = 0; i < 20; ++i)
      REQUIRE(cl.set("/alone/" + std::to_string(i), std::to_string(i), -1).isOk());
  }
  REQUIRE(n1->terminate() == 0);
  // Restarted with --peer: still a cluster of one, with the files it had, and now joinable.
  n1 = std::make_unique<test::NodeProcess>(d.path() + "/n1",
                                           std::vector<std::string>{"--peer", peerEp()});
  auto n2 = join(d.path() + "/n2", n1->client());
  auto n3 = join(d.path() + "/n3", n2->client());
  auto all = clientFor(n1->client() + "," + n2->client() + "," + n3->client());
  REQUIRE(
      test::eventually([&] { return roles(members(all)) == "1:voter 2:voter 3:voter"; }, 30000));
  // Each was promoted holding what node 1 had chosen a heartbeat before (promoted with less, the
  // two could not recover the slots only node 1 held). Once they have learned the changes that
  // promoted them too (no lag left), node 1 is no longer needed: the other two serve without it.
  REQUIRE(test::eventually([&] { return lagless(members(all)); }, 30000));
  n1->kill9();
  auto two = clientFor(n2->client() + "," + n3->client());
  // A write under way when node 1 died may end in "may or may not be applied"; this one may be
  // repeated.
  REQUIRE(test::eventually([&] { return two.set("/grown", "yes", -1).isOk(); }, 20000));
  test::Files f = test::walkFiles(two, "/alone/*");
  CHECK(f.size() == 20);
  CHECK(f["/alone/7"].second == "7");

  // A backup restored into a new cluster of one, with --peer, takes members the same way.
  const std::string backup = d.path() + "/backup.cairn";
  test::RunResult saved =
      test::runProgram({CAIRN_BIN, "--addr", n2->client(), "snapshot", "save", backup});
  INFO(saved.err);
  REQUIRE(saved.code == 0);
  test::NodeProcess r1(d.path() + "/r1", {"--restore", backup, "--peer", peerEp()});
  auto r2 = join(d.path() + "/r2", r1.client());
  auto restored = clientFor(r1.client() + "," + r2->client());
  REQUIRE(test::eventually([&] { return roles(members(restored)) == "1:voter 2:voter"; }, 30000));
  REQUIRE(restored.set("/restored", "yes", -1).isOk());
  auto head = restored.rev();
  REQUIRE(head.isOk());
  REQUIRE(test::awaitRev(r2->client(), *head));
  auto local = clientFor(r2->client(), true);
  CHECK(test::walkFiles(local, "/alone/*", *head).size() == 20);
  CHECK(test::walkFiles(local, "/grown", *head).size() == 1);
}
