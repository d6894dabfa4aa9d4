// Followers that fall behind catch up: from the log when it still holds what they miss (after a
// crash, after a full restart), from a snapshot in chunks when it does not — even past the old
// 64 MiB cap on one peer message, and across the loss of the leader that was sending it.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bindings/cpp/client.h"
#include "store/file.h"
#include "tests/support/node_process.h"

using namespace cairn;
using test::clientFor;
using test::counter;

namespace {

// Writes `count` files of `size` bytes under /bulk with cairn-bench (unique keys, 32 clients).
void load(const std::string& endpoint, int count, int size) {
  auto r = test::runProgram({CAIRN_BENCH_BIN, "--addr", endpoint, "--workload", "put", "--clients",
                             "32", "--threads", "2", "--count", std::to_string(count),
                             "--value-size", std::to_string(size), "--label", "load"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.find("errors=0") != std::string::npos);
}

// The newest snapshot file in a node's data directory ("" if none).
std::string newestSnapshot(const std::string& dataDir) {
  auto names = store::listDir(dataDir + "/snap", "snap-", ".snap");
  return names.isOk() && !names->empty() ? names->back() : "";
}

std::int64_t fileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -1;
}

// Waits until the node at `endpoint` holds the head rev `rev` in its own state.
bool reaches(const std::string& endpoint, std::int64_t rev, int timeoutMs) {
  return test::eventually(
      [&] {
        auto c = clientFor(endpoint, true);
        auto r = c.rev();
        return r.isOk() && *r >= rev;
      },
      timeoutMs);
}

std::int64_t head(client::Client& c) {
  auto r = c.nop();
  REQUIRE(r.isOk());
  return *r;
}

// Waits until every directory in `dirs` has the same newest snapshot, longer than `bytes`.
// Snapshots are cut at multiples of --snapshot-every slots, and how many slots a load fills
// depends on how the leader batched it; so while waiting this writes one small file at a time
// (a slot each) through `cl`, until a cut falls after the load.
bool awaitSnapshotOver(client::Client& cl, const std::vector<std::string>& dirs,
                       std::int64_t bytes) {
  int nudges = 0;
  return test::eventually(
      [&] {
        const std::string first = newestSnapshot(dirs.front());
        bool ok = !first.empty() && fileSize(dirs.front() + "/snap/" + first) > bytes;
        for (const auto& d : dirs)
          ok = ok && newestSnapshot(d) == first;
        if (!ok) {
          const auto r = cl.set("/pad", std::to_string(++nudges), -1);
          (void)r;  // a failed nudge only delays the cut
        }
        return ok;
      },
      120000);
}

}  // namespace

TEST_CASE("catch-up: a follower restarted after missing writes learns them from the log",
          "[integration][catchup]") {
  test::TempDir d;
  // Snapshots every 100 slots: the stretch the follower misses lies behind the others' snapshots,
  // and the log they keep behind them still holds it.
  test::Cluster c(d.path(), 3, {"--snapshot-every", "100", "--log-retain", "100000"});
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  c.kill9(3);
  for (int i = 0; i < 600; ++i)
    REQUIRE(cl.set("/w/" + std::to_string(i), std::to_string(i), -1).isOk());
  REQUIRE(test::eventually(
      [&] { return newestSnapshot(d.path() + "/n1") >= "snap-00000000000000000500"; }));
  c.restart(3);
  const std::int64_t h = head(cl);
  CHECK(reaches(c.client(3), h, 20000));
  for (int i = 1; i <= 3; ++i) {
    INFO("node " << i);
    CHECK(counter(c.client(i), "snapshots_sent") == 0);
    CHECK(counter(c.client(i), "snapshot_bytes_sent") == 0);  // not even begun
    CHECK(counter(c.client(i), "snapshots_installed") == 0);
  }
}

TEST_CASE("catch-up: after kill -9 of every node the cluster restarts with no snapshot sent",
          "[integration][catchup]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3, {"--snapshot-every", "50"});
  REQUIRE(c.awaitLeader() > 0);
  {
    auto cl = clientFor(c.clients());
    for (int i = 0; i < 400; ++i)
      REQUIRE(cl.set("/w/" + std::to_string(i % 50), std::to_string(i), -1).isOk());
  }
  for (int i = 1; i <= 3; ++i)
    REQUIRE(test::eventually(
        [&] { return !newestSnapshot(d.path() + "/n" + std::to_string(i)).empty(); }));
  for (int i = 1; i <= 3; ++i)
    c.kill9(i);
  for (int i = 1; i <= 3; ++i)
    c.restart(i);
  REQUIRE(c.awaitLeader(20000) > 0);
  auto cl = clientFor(c.clients());
  REQUIRE(cl.set("/after", "restart", -1).isOk());
  const std::int64_t h = head(cl);
  for (int i = 1; i <= 3; ++i) {
    INFO("node " << i);
    CHECK(reaches(c.client(i), h, 20000));
    CHECK(clientFor(c.client(i), true).get("/w/49")->value == "399");
    CHECK(counter(c.client(i), "snapshots_sent") == 0);
    CHECK(counter(c.client(i), "snapshot_bytes_sent") == 0);  // not even begun
    CHECK(counter(c.client(i), "snapshots_installed") == 0);
  }
}

TEST_CASE("catch-up: a follower installs a snapshot larger than the old 64 MiB message cap",
          "[integration][catchup]") {
  test::TempDir d;
  // No log kept behind snapshots: the follower must take one.
  test::Cluster c(d.path(), 3, {"--snapshot-every", "500", "--log-retain", "0"});
  const int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  const int down = leader == 3 ? 2 : 3;
  c.kill9(down);
  load(c.client(leader), 21000, 4096);  // 21,000 x 4 KiB: about 86 MiB of values
  auto cl = clientFor(c.clients());
  const std::string leaderDir = d.path() + "/n" + std::to_string(leader);
  REQUIRE(awaitSnapshotOver(cl, {leaderDir}, 64 << 20));
  const std::int64_t h = head(cl);
  c.restart(down);
  const std::string ep = c.client(down);
  CHECK(reaches(ep, h, 120000));
  CHECK(counter(ep, "snapshots_installed") >= 1);
  CHECK(counter(ep, "snapshot_bytes_received") > (64 << 20));
  CHECK(counter(ep, "snapshot_chunks_refused") == 0);
  CHECK(counter(ep, "peer_refused.malformed") == 0);
  const std::string downDir = d.path() + "/n" + std::to_string(down);
  CHECK(fileSize(downDir + "/snap/" + newestSnapshot(downDir)) > (64 << 20));
  // It serves what it caught up on, and follows new writes.
  REQUIRE(cl.set("/after", "x", -1).isOk());
  CHECK(reaches(ep, h + 1, 20000));
  CHECK(clientFor(ep, true).get("/after")->value == "x");
}

TEST_CASE("catch-up: a transfer cut by the loss of its leader resumes from the next leader",
          "[integration][catchup]") {
  test::TempDir d;
  // Paced at 2 MB/s in 64 KiB chunks, a snapshot of 8 MiB or more takes seconds: time to lose
  // the leader in the middle.
  test::Cluster c(d.path(), 3,
                  {"--snapshot-every", "200", "--log-retain", "0", "--snapshot-chunk", "65536",
                   "--snapshot-rate", "2000000"});
  const int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  const int down = leader == 3 ? 2 : 3;
  const int other = 6 - leader - down;
  c.kill9(down);
  // 320 writes of 64 KiB (20 MiB) fill at most 320 slots, however they are batched: the load ends
  // before the second cut (400), and the first cut (200, reached by nudges if the load batched
  // into fewer slots) holds over 8 MiB. The leader starts its transfer to the dead follower on
  // the first cut and keeps it; the next leader must hold the same one, so no second cut may fall
  // before the transfer is resumed (a leader change writes only a few /ctl files).
  load(c.client(leader), 320, 65536);
  auto cl = clientFor(c.clients());
  // Both live nodes cut the same snapshot (same slot, same bytes) before the follower returns.
  const std::string leaderDir = d.path() + "/n" + std::to_string(leader);
  const std::string otherDir = d.path() + "/n" + std::to_string(other);
  REQUIRE(awaitSnapshotOver(cl, {leaderDir, otherDir}, 8 << 20));
  const std::int64_t h = head(cl);
  const std::int64_t size = fileSize(leaderDir + "/snap/" + newestSnapshot(leaderDir));
  c.restart(down);
  const std::string ep = c.client(down);
  // Once part of it has arrived, the leader stalls (SIGSTOP): the others elect a new leader,
  // which holds the same snapshot.
  REQUIRE(test::eventually(
      [&] {
        const std::int64_t got = counter(ep, "snapshot_bytes_received");
        return got > (2 << 20);
      },
      30000));
  const std::int64_t before = counter(ep, "snapshot_bytes_received");
  REQUIRE(before < size);
  c.node(leader).pause();
  CHECK(reaches(ep, h, 60000));
  for (int i = 1; i <= 3; ++i)
    UNSCOPED_INFO("node " << i << " log:\n"
                          << test::runProgram({"/bin/cat", c.node(i).logPath()}).out);
  CHECK(counter(c.client(other), "snapshots_resumed") == 1);
  CHECK(counter(ep, "snapshots_installed") == 1);
  // Resumed, not begun again: what arrived before the leader stalled was not sent twice (give or
  // take the window in flight).
  CHECK(counter(ep, "snapshot_bytes_received") < size + (1 << 20));
  c.node(leader).resume();
}
