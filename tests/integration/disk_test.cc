// A node whose disk fills up never acknowledges what it could not persist, says why (log and
// SELF), keeps what it had, and recovers every acknowledged write once space returns.
//
// The disk is a small tmpfs the test mounts (CI and the developers' machines run as root); the
// node's log file lives outside it.

#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>

#include "bindings/cpp/client.h"
#include "tests/support/acked.h"
#include "tests/support/node_process.h"

using namespace cairn;

namespace {

// A tmpfs of `bytes` mounted at `dir` (created), unmounted by the destructor.
class SmallDisk {
 public:
  SmallDisk(std::string dir, std::size_t bytes) : dir_(std::move(dir)) {
    ::mkdir(dir_.c_str(), 0755);
    std::string opts = "size=" + std::to_string(bytes);
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    error_ = mounted_ ? "" : std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted_) (void)::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

  // Fills the disk with a file until `leave` bytes are free.
  void fill(const std::string& name, std::size_t leave) {
    struct statvfs v {};
    REQUIRE(::statvfs(dir_.c_str(), &v) == 0);
    const std::size_t freeBytes = static_cast<std::size_t>(v.f_bavail) * v.f_frsize;
    REQUIRE(freeBytes > leave);
    std::ofstream f(dir_ + "/" + name, std::ios::binary);
    std::string chunk(1 << 16, 'x');
    for (std::size_t left = freeBytes - leave; left > 0;) {
      const std::size_t n = std::min(left, chunk.size());
      f.write(chunk.data(), static_cast<std::streamsize>(n));
      left -= n;
    }
    f.close();
    REQUIRE(f.good());
  }
  void unfill(const std::string& name) { REQUIRE(::unlink((dir_ + "/" + name).c_str()) == 0); }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace

TEST_CASE("disk: a full disk halts the node, which acknowledges nothing it could not persist",
          "[integration][disk]") {
  test::TempDir d;
  const std::string data = d.path() + "/n1";
  SmallDisk disk(data, 8 << 20);
  INFO("mounting a tmpfs (needs root): " << disk.error());
  REQUIRE(disk.mounted());
  test::AckedWrites acked;
  const std::string value(1024, 'v');
  std::string inFlight;
  {
    test::NodeProcess n(data, {"--snapshot-every", "1000000"});
    client::Options o;
    o.endpoints = {n.client()};
    // The write in flight when the disk fills is TIMEOUT, then resent to a node that answers
    // only IO: unknown after this long (the only node has halted).
    o.writeDeadline = std::chrono::milliseconds(1000);
    client::Client c(o);
    REQUIRE(c.set("/before", "full", -1).isOk());
    disk.fill("filler", 256 << 10);
    // 1 KiB values until the disk refuses: far fewer than 1,000 fit in what was left.
    wire::Status refused;
    for (int i = 0; i < 1000 && refused.isOk(); ++i) {
      const std::string path = "/k" + std::to_string(i);
      auto r = c.set(path, value, 0);
      if (r) {
        acked[path] = {*r, value};
      } else {
        refused = r.status();
        inFlight = path;
      }
    }
    INFO(acked.size() << " writes acknowledged before the disk was full");
    REQUIRE(!refused.isOk());
    // The write in flight is never acknowledged: IO if it never left the node, TIMEOUT (outcome
    // unknown) if it was in the batch the disk refused.
    INFO(refused.toString());
    CHECK((refused.code() == wire::Err::kIo || refused.code() == wire::Err::kTimeout));
    CHECK(refused.detail().find("No space left on device") != std::string::npos);
    CHECK(acked.size() > 10);

    // It says why, on SELF and in its log, and refuses everything else.
    auto self = c.self();
    REQUIRE(self.isOk());
    REQUIRE(self->halted);
    CHECK(self->halted->find("No space left on device") != std::string::npos);
    CHECK(test::slurp(n.logPath()).find("HALTED") != std::string::npos);
    auto cli = test::runProgram({CAIRN_BIN, "--addr", n.client(), "self"});
    CHECK(cli.code == 0);
    CHECK(cli.out.find("\nhalted ") != std::string::npos);
    auto again = c.set("/after", "x", -1);
    REQUIRE(!again.isOk());
    CHECK(again.status().code() == wire::Err::kIo);
    CHECK(again.status().detail().find("halted") != std::string::npos);
    auto read = c.get("/before");
    CHECK(read.status().code() == wire::Err::kIo);
    const int st = n.terminate();
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 1);  // it halted: not a clean run
  }
  // Space returns; a restart recovers every acknowledged write.
  disk.unfill("filler");
  test::NodeProcess n(data);
  client::Options o;
  o.endpoints = {n.client()};
  client::Client c(o);
  CHECK(c.get("/before")->value == "full");
  const std::int64_t maxRev = test::checkAcknowledged(n.client(), acked);
  auto lost = c.get(inFlight);  // whole or absent, never torn
  REQUIRE(lost.isOk());
  CHECK((lost->rev == 0 || lost->value == value));
  auto next = c.set("/after", "x", -1);
  REQUIRE(next.isOk());
  CHECK(*next > maxRev);
}

TEST_CASE("disk: a follower whose disk fills up halts while the others go on serving",
          "[integration][disk]") {
  test::TempDir d;
  // Every node on a small disk of its own: whichever leads, a follower's is filled.
  std::vector<std::unique_ptr<SmallDisk>> disks;
  for (int i = 1; i <= 3; ++i) {
    disks.push_back(std::make_unique<SmallDisk>(d.path() + "/n" + std::to_string(i), 8 << 20));
    INFO("mounting a tmpfs (needs root): " << disks.back()->error());
    REQUIRE(disks.back()->mounted());
  }
  test::Cluster cl(d.path(), 3, {"--snapshot-every", "1000000"});
  const int leader = cl.awaitLeader();
  REQUIRE(leader != 0);
  const int full = leader % 3 + 1;  // a follower
  const int other = 6 - leader - full;
  INFO("leader " << leader << ", full disk " << full);
  client::Options o;
  o.endpoints = {cl.client(leader)};
  client::Client c(o);
  REQUIRE(c.set("/before", "full", -1).isOk());
  // A watcher and a client that both start at the node about to halt.
  const std::string addrs = cl.client(full) + "," + cl.client(leader) + "," + cl.client(other);
  const std::string out = d.path() + "/watch.out";
  test::BackgroundProgram w(
      {CAIRN_BIN, "--addr", addrs, "--timeout", "1000", "watch", "--verbose", "/w/**"}, out);
  REQUIRE(test::eventually([&] { return w.err().find("is live") != std::string::npos; }));
  client::Options of;
  of.endpoints = {cl.client(full), cl.client(leader), cl.client(other)};
  client::Client fromFull(of);

  disks[static_cast<std::size_t>(full - 1)]->fill("filler", 256 << 10);
  const std::string value(1024, 'v');
  client::Options oh;
  oh.endpoints = {cl.client(full)};
  client::Client onlyFull(oh);
  bool halted = false;
  int written = 0;
  for (; written < 3000 && !halted; ++written) {
    REQUIRE(c.set("/k" + std::to_string(written), value, -1).isOk());
    if (written % 50 == 0) {
      auto s = onlyFull.self();
      halted = s.isOk() && s->halted.has_value();
    }
  }
  INFO(written << " writes through the leader");
  REQUIRE(halted);
  auto self = onlyFull.self();
  CHECK(self->halted->find("No space left on device") != std::string::npos);
  CHECK(self->leader == 0);  // it follows nobody any more
  CHECK(onlyFull.get("/before").status().code() == wire::Err::kIo);
  // Two of three still make a quorum; a client that starts at the halted node moves on.
  for (int i = 0; i < 20; ++i)
    REQUIRE(c.set("/w/" + std::to_string(i), "y", -1).isOk());
  auto read = fromFull.get("/w/19");
  REQUIRE(read.isOk());
  CHECK(read->value == "y");
  auto write = fromFull.set("/w/20", "z", -1);
  INFO(write.status().toString());
  CHECK(write.isOk());
  // The halted node's feed fell silent: the watcher followed another node and saw every change.
  const bool seen =
      test::eventually([&] { return w.out().find("/w/20") != std::string::npos; }, 30000);
  INFO("watch stderr: " << w.err());
  CHECK(seen);
  for (int i = 0; i <= 20; ++i)
    CHECK(w.out().find("/w/" + std::to_string(i) + " ") != std::string::npos);
}

TEST_CASE("disk: an fdatasync that fails (EIO) halts the node, and a restart keeps what was acked",
          "[integration][disk]") {
  test::TempDir d;
  const std::string data = d.path() + "/n1";
  test::AckedWrites acked;
  {
    // The test-only seam of store/log.h: the 40th sync with records to write, and every later
    // one, fails with EIO. The node inherits the variable; this test process is its own.
    ::setenv("CAIRN_TEST_FAIL_SYNC_AFTER", "40", 1);
    test::NodeProcess n(data);
    ::unsetenv("CAIRN_TEST_FAIL_SYNC_AFTER");
    client::Options o;
    o.endpoints = {n.client()};
    client::Client c(o);
    wire::Status refused;
    for (int i = 0; i < 100 && refused.isOk(); ++i) {  // one write per sync: lockstep
      const std::string path = "/k" + std::to_string(i);
      auto r = c.set(path, std::to_string(i), 0);
      if (r) {
        acked[path] = {*r, std::to_string(i)};
      } else {
        refused = r.status();
      }
    }
    INFO(acked.size() << " writes acknowledged; then " << refused.toString());
    REQUIRE(!refused.isOk());
    CHECK(refused.detail().find("Input/output error") != std::string::npos);
    CHECK(acked.size() < 40);
    auto self = c.self();
    REQUIRE(self.isOk());
    REQUIRE(self->halted);
    CHECK(self->halted->find("Input/output error") != std::string::npos);
    CHECK(c.set("/after", "x", -1).status().code() == wire::Err::kIo);
    CHECK(test::slurp(n.logPath()).find("HALTED") != std::string::npos);
  }
  test::NodeProcess n(data);
  client::Options o;
  o.endpoints = {n.client()};
  client::Client c(o);
  (void)test::checkAcknowledged(n.client(), acked);
  CHECK(c.set("/after", "x", -1).isOk());
}
