// Nothing acknowledged is lost: kill -9 during and after bursts of writes, restart, compare.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "bindings/cpp/client.h"
#include "store/file.h"
#include "tests/support/acked.h"
#include "tests/support/node_process.h"

using namespace cairn;

namespace {

struct Acked {
  std::mutex mu;
  test::AckedWrites byPath;
};

// Writers set unique paths until told to stop or until the node stops answering.
void writer(const std::string& ep, int id, std::atomic<bool>* stop, Acked* acked) {
  client::Options o;
  o.endpoints = {ep};
  o.timeout = std::chrono::milliseconds(2000);
  client::Client c(o);
  for (int i = 0; !stop->load(); ++i) {
    std::string path = "/w" + std::to_string(id) + "/k" + std::to_string(i);
    std::string value = "value-" + std::to_string(id) + "-" + std::to_string(i);
    auto r = c.set(path, value, 0);
    if (!r) return;  // the node is gone: an unacknowledged write may or may not be there
    std::lock_guard<std::mutex> g(acked->mu);
    acked->byPath[path] = {*r, value};
  }
}

void checkAllPresent(const test::NodeProcess& n, Acked& acked) {
  (void)test::checkAcknowledged(n.client(), acked.byPath);
}

}  // namespace

TEST_CASE("durability: kill -9 in the middle of a write burst loses no acknowledged write",
          "[integration][durability]") {
  test::TempDir d;
  const std::string data = d.path() + "/n1";
  Acked acked;
  for (int round = 0; round < 3; ++round) {
    // Snapshots every 100 records, so crashes also land around snapshot and WAL compaction.
    test::NodeProcess n(data, {"--snapshot-every", "100"});
    if (round > 0) checkAllPresent(n, acked);
    std::atomic<bool> stop{false};
    std::vector<std::thread> ws;
    for (int i = 0; i < 4; ++i) {
      ws.emplace_back(writer, n.client(), round * 10 + i, &stop, &acked);
    }
    std::size_t target = static_cast<std::size_t>(300 * (round + 1));
    REQUIRE(test::eventually(
        [&] {
          std::lock_guard<std::mutex> g(acked.mu);
          return acked.byPath.size() >= target;
        },
        60000));
    n.kill9();  // writers are still writing
    stop = true;
    for (auto& t : ws)
      t.join();
  }
  test::NodeProcess n(data);
  INFO(acked.byPath.size() << " acknowledged writes");
  checkAllPresent(n, acked);
}

TEST_CASE("durability: SIGTERM stops cleanly and a restart keeps every rev",
          "[integration][durability]") {
  test::TempDir d;
  const std::string data = d.path() + "/n1";
  std::string before;
  {
    test::NodeProcess n(data);
    client::Options o;
    o.endpoints = {n.client()};
    client::Client c(o);
    for (int i = 0; i < 50; ++i)
      REQUIRE(c.set("/k" + std::to_string(i % 7), std::to_string(i), -1).isOk());
    REQUIRE(c.del("/k3", -1).isOk());
    auto all = c.walk("/**");
    for (auto& e : *all)
      before += e.path + "@" + std::to_string(e.rev) + "=" + *e.value + " ";
    int st = n.terminate();
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
  }
  test::NodeProcess n(data);
  client::Options o;
  o.endpoints = {n.client()};
  client::Client c(o);
  CHECK(*c.rev() == 51);
  std::string after;
  auto all = c.walk("/**");
  REQUIRE(all.isOk());
  for (auto& e : *all)
    after += e.path + "@" + std::to_string(e.rev) + "=" + *e.value + " ";
  CHECK(after == before);
  CHECK(c.set("/k0", "next", -1).value() == 52);  // revs continue, never reused
}

TEST_CASE("durability: corruption in the middle of the WAL refuses to start, loudly",
          "[integration][durability]") {
  test::TempDir d;
  const std::string data = d.path() + "/n1";
  {
    test::NodeProcess n(data);
    client::Options o;
    o.endpoints = {n.client()};
    client::Client c(o);
    for (int i = 0; i < 20; ++i)
      REQUIRE(c.set("/k" + std::to_string(i), "value", -1).isOk());
    n.kill9();
  }
  auto segs = store::listDir(data + "/wal", "wal-", ".log");
  REQUIRE(segs.isOk());
  REQUIRE(segs->size() == 1);
  std::string seg = data + "/wal/" + segs->front();
  int fd = ::open(seg.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, "\x55", 1, 100) == 1);  // inside an early record
  ::close(fd);
  try {
    test::NodeProcess n(data);
    FAIL("cairnd started on a corrupt WAL");
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    CHECK(msg.find("CORRUPT") != std::string::npos);
    CHECK(msg.find("refusing to start") != std::string::npos);
  }
}

TEST_CASE("durability: a second cairnd on the same data directory is refused",
          "[integration][durability]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  CHECK_THROWS_WITH(test::NodeProcess(d.path() + "/n1"),
                    Catch::Matchers::Contains("another cairnd"));
}

TEST_CASE("durability: snapshots bound the WAL and a restart starts from them",
          "[integration][durability]") {
  test::TempDir d;
  const std::string data = d.path() + "/n1";
  {
    // No log kept behind snapshots (--log-retain 0): the WAL shrinks to what follows the last.
    test::NodeProcess n(data, {"--snapshot-every", "100", "--log-retain", "0"});
    client::Options o;
    o.endpoints = {n.client()};
    client::Client c(o);
    for (int i = 0; i < 500; ++i) {
      REQUIRE(c.set("/s/k" + std::to_string(i % 50), std::to_string(i), -1).isOk());
    }
    // Snapshots are written in the background, at the lowest CPU priority (a busy machine starves
    // them for a while): poll until the one covering index 400 is there.
    REQUIRE(test::eventually(
        [&] {
          auto snaps = store::listDir(data + "/snap", "snap-", ".snap");
          return snaps.isOk() && snaps->size() == 1 &&
                 snaps->front() >= "snap-00000000000000000400";
        },
        60000));
    auto segs = store::listDir(data + "/wal", "wal-", ".log");
    REQUIRE(segs.isOk());
    CHECK(segs->size() <= 2);  // segments covered by the snapshot are gone
    n.kill9();
  }
  test::NodeProcess n(data);
  client::Options o;
  o.endpoints = {n.client()};
  client::Client c(o);
  CHECK(*c.rev() == 500);
  CHECK(c.get("/s/k49")->value == "499");
  CHECK(c.get("/s/k49")->rev == 500);
  std::string log = test::runProgram({"/bin/cat", n.logPath()}).out;
  std::string lastStart = log.substr(log.rfind("ready client="));
  CHECK(lastStart.find("snapshot at slot 0,") == std::string::npos);  // not replayed from scratch
}
