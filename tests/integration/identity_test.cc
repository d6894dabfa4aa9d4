// A data directory remembers its cluster: restarts with --data alone, refusals of data that
// belongs elsewhere, a cluster forced down to one survivor, and new clusters restored from a
// snapshot file. Real cairnd processes, real files.

#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "bindings/cpp/client.h"
#include "store/file.h"
#include "store/snapshot.h"
#include "tests/support/node_process.h"

using namespace cairn;
using test::clientFor;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  auto r = store::readFile(path);
  return r ? *r : std::string();
}

test::RunResult cairnd(std::vector<std::string> args) {
  args.insert(args.begin(), CAIRND_BIN);
  return test::runProgram(args);
}

}  // namespace

TEST_CASE("identity: a restarted member needs only --data, and rejoins its cluster",
          "[integration][identity]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  for (int i = 0; i < 20; ++i)
    REQUIRE(cl.set("/data/k" + std::to_string(i), "v" + std::to_string(i), -1).isOk());
  c.kill9(3);
  REQUIRE(cl.set("/data/after", "while 3 was down", -1).isOk());
  auto head = cl.rev();
  REQUIRE(head.isOk());
  // No --id, no --cluster, no --peer: the directory says who it is.
  test::NodeProcess n3(d.path() + "/n3");
  REQUIRE(test::awaitRev(n3.client(), *head));
  auto local = clientFor(n3.client(), true);
  auto self = local.self();
  REQUIRE(self.isOk());
  CHECK(self->id.value_or(0) == 3);
  CHECK(test::walkFiles(local, "/data/**", *head) == test::walkFiles(cl, "/data/**", *head));
}

TEST_CASE(
    "identity: data that belongs to another node or cluster is refused with exit 3, "
    "untouched",
    "[integration][identity]") {
  test::TempDir d;
  std::string identity;
  {
    test::Cluster c(d.path(), 3);
    REQUIRE(c.awaitLeader() > 0);
    auto cl = clientFor(c.clients());
    REQUIRE(cl.set("/data/x", "1", -1).isOk());
    c.kill9(2);
    identity = slurp(d.path() + "/n2/identity");
    REQUIRE_THAT(identity, Catch::StartsWith("cairn identity 1\n"));
  }
  const std::string n2 = d.path() + "/n2";
  auto wrongId = cairnd({"--data", n2, "--id", "3", "--client", "tcp://127.0.0.1:*", "--events",
                         "tcp://127.0.0.1:*"});
  CHECK(wrongId.code == 3);
  CHECK_THAT(wrongId.err, Catch::Contains("holds node 2's data, not --id 3's"));
  auto wrongCluster =
      cairnd({"--data", n2, "--id", "2", "--cluster", "1=tcp://127.0.0.1:1,2=tcp://127.0.0.1:2",
              "--client", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*"});
  CHECK(wrongCluster.code == 3);
  CHECK_THAT(wrongCluster.err, Catch::Contains("start it without --cluster"));
  auto restoreOver = cairnd({"--data", n2, "--restore", n2 + "/identity"});
  CHECK(restoreOver.code != 0);
  CHECK(slurp(n2 + "/identity") == identity);
  // A refused start in a directory that did not exist leaves none behind.
  const std::string fresh = d.path() + "/fresh";
  auto force = cairnd({"--data", fresh, "--force-new-cluster"});
  CHECK(force.code == 3);
  CHECK_THAT(force.err, Catch::Contains("holds none"));
  CHECK_FALSE(fs::exists(fresh));
}

TEST_CASE("identity: --force-new-cluster serves a survivor's data alone, every rev kept",
          "[integration][identity]") {
  test::TempDir d;
  test::Files before;
  std::int64_t head = 0;
  {
    test::Cluster c(d.path(), 3);
    REQUIRE(c.awaitLeader() > 0);
    auto cl = clientFor(c.clients());
    for (int i = 0; i < 30; ++i)
      REQUIRE(cl.set("/data/k" + std::to_string(i), std::to_string(i * i), -1).isOk());
    REQUIRE(cl.del("/data/k7", -1).isOk());
    before = test::walkFiles(cl, "/data/**");
    head = *cl.rev();
    // Two of three machines are lost for good; node 1 saw every acknowledged write.
    REQUIRE(test::awaitRev(c.client(1), head));
    c.kill9(2);
    c.kill9(3);
    c.kill9(1);
  }
  test::NodeProcess n1(d.path() + "/n1", {"--force-new-cluster"});
  auto cl = clientFor(n1.client());
  auto w = cl.set("/data/new", "after", -1);
  REQUIRE(w.isOk());
  CHECK(*w > head);
  test::Files now = test::walkFiles(cl, "/data/**");
  now.erase("/data/new");
  CHECK(now == before);
  CHECK(slurp(d.path() + "/n1/identity").find("member 2 ") == std::string::npos);
  // What /ctl said of the lost members goes, so `cairn status` and clients stop looking there.
  REQUIRE(test::eventually([&] {
    auto n = cl.walk("/ctl/nodes/**");
    if (!n.isOk()) return false;
    for (const auto& e : *n) {
      if (e.path.rfind("/ctl/nodes/1/", 0) != 0) return false;
    }
    return true;
  }));
  // A restart keeps it a cluster of one.
  CHECK(n1.terminate() == 0);
  test::NodeProcess again(d.path() + "/n1");
  auto c2 = clientFor(again.client());
  REQUIRE(c2.set("/data/again", "x", -1).isOk());
}

TEST_CASE("identity: --restore makes a new cluster from a snapshot file, every key and rev kept",
          "[integration][identity]") {
  test::TempDir d;
  test::Files atSnap;
  std::int64_t snapRev = 0;
  std::string file = d.path() + "/backup.snap";
  {
    test::NodeProcess n(d.path() + "/orig", {"--snapshot-every", "50"});
    auto cl = clientFor(n.client());
    for (int i = 0; i < 130; ++i)
      REQUIRE(cl.set("/data/k" + std::to_string(i % 40), "value " + std::to_string(i), -1).isOk());
    // Writes batch into fewer log slots when the machine is busy: nudge, one slot per write,
    // until a snapshot is cut past the load.
    int nudges = 0;
    REQUIRE(test::eventually(
        [&] {
          auto s = store::newestSnapshot(d.path() + "/orig/snap");
          if (s.isOk() && s->has_value() && (*s)->index >= 50) return true;
          REQUIRE(cl.set("/nudge", std::to_string(++nudges), -1).isOk());
          return false;
        },
        30000));
    auto s = store::newestSnapshot(d.path() + "/orig/snap");
    fs::copy_file((*s)->path, file);
    auto st = store::loadSnapshotFile(file, {});
    REQUIRE(st.isOk());
    snapRev = st->rev();
    atSnap =
        test::walkFiles(cl, "/data/**", snapRev);  // the original's history, at the snapshot's rev
    REQUIRE(atSnap.size() == 40);
  }
  SECTION("one node") {
    test::NodeProcess r(d.path() + "/r1", {"--restore", file});
    auto cl = clientFor(r.client());
    CHECK(*cl.rev() == snapRev);
    CHECK(test::walkFiles(cl, "/data/**") == atSnap);
    // The next write takes the next rev, and a watch from there sees it.
    auto w = cl.set("/data/next", "n", -1);
    REQUIRE(w.isOk());
    CHECK(*w == snapRev + 1);
    auto ch = cl.wait("/data/**", snapRev + 1);
    REQUIRE(ch.isOk());
    REQUIRE(ch->size() == 1);
    CHECK(ch->front().path == "/data/next");
    // History before the snapshot is not there: said so, not made up.
    auto old = cl.get("/data/k1", snapRev - 1);
    CHECK(old.status().code() == wire::Err::kTooLate);
  }
  SECTION("three nodes, each restoring the same file") {
    const std::string list = "1=tcp://127.0.0.1:" + std::to_string(test::freePort()) +
                             ",2=tcp://127.0.0.1:" + std::to_string(test::freePort()) +
                             ",3=tcp://127.0.0.1:" + std::to_string(test::freePort());
    std::vector<std::unique_ptr<test::NodeProcess>> nodes;
    for (int i = 1; i <= 3; ++i) {
      nodes.push_back(std::make_unique<test::NodeProcess>(
          d.path() + "/m" + std::to_string(i),
          std::vector<std::string>{"--id", std::to_string(i), "--cluster", list, "--restore",
                                   file}));
    }
    auto cl = clientFor(nodes[0]->client() + "," + nodes[1]->client() + "," + nodes[2]->client());
    auto w = cl.set("/data/next", "n", -1);
    REQUIRE(w.isOk());
    CHECK(*w > snapRev);
    for (auto& n : nodes) {
      REQUIRE(test::awaitRev(n->client(), *w));
      auto local = clientFor(n->client(), true);
      test::Files f = test::walkFiles(local, "/data/**", snapRev);
      CHECK(f == atSnap);
    }
  }
}
