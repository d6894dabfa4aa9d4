// The watch guarantee, end to end with real processes: `cairn watch` on a glob delivers exactly
// the store's history filtered by the glob — every change, in rev order, once — while writers
// run and the feed is disturbed: a watcher stalled past the PUB's high-water mark, the node it
// follows killed and restarted, the leader killed, the watcher itself restarted with --rev.

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <zmq.hpp>

#include "bindings/cpp/client.h"
#include "tests/support/history.h"
#include "tests/support/node_process.h"
#include "wire/codec.h"

using namespace cairn;

namespace {

struct Rec {
  std::int64_t rev = 0;
  std::string path, op, value;
  bool operator==(const Rec& o) const {
    return rev == o.rev && path == o.path && op == o.op && value == o.value;
  }
};

std::string field(const std::string& line, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  auto p = line.find(k);
  if (p == std::string::npos) return "";
  p += k.size();
  if (line[p] != '"') return line.substr(p, line.find_first_of(",}", p) - p);
  auto e = line.find('"', p + 1);  // the test's paths and values need no escapes
  return line.substr(p + 1, e - p - 1);
}

// The changes in `cairn watch --json` output (progress lines are skipped).
std::vector<Rec> parseWatch(const std::string& out) {
  std::vector<Rec> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("\"complete\":") != std::string::npos) continue;
    v.push_back(Rec{std::stoll(field(line, "rev")), field(line, "path"), field(line, "op"),
                    field(line, "value")});
  }
  return v;
}

// The last line of a file, read from its end (watch output can be tens of MB).
std::string lastLine(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return "";
  const std::streamoff size = f.tellg();
  const std::streamoff from = size > 65536 ? size - 65536 : 0;
  f.seekg(from);
  std::string tail(static_cast<std::size_t>(size - from), '\0');
  f.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  if (tail.empty() || tail.back() != '\n') return "";
  auto p = tail.rfind('\n', tail.size() - 2);
  return p == std::string::npos ? tail : tail.substr(p + 1);
}

// The rev up to which a `cairn watch --json --progress` is complete, from its last line.
std::int64_t completeOf(const std::string& outFile) {
  std::string line = lastLine(outFile);
  if (line.empty()) return 0;
  std::string c = field(line, "complete");
  if (c.empty()) c = field(line, "rev");
  return c.empty() ? 0 : std::stoll(c);
}

// The store's history of a glob, from rev `from` through `upTo`, read from one node.
std::vector<Rec> history(const std::string& endpoint, const std::string& glob, std::int64_t from,
                         std::int64_t upTo) {
  client::Options o;
  o.endpoints = {endpoint};
  client::Client c(o);
  auto h = test::historyThrough(c, glob, from, upTo);
  REQUIRE(h.isOk());
  std::vector<Rec> v;
  for (const auto& ch : *h)
    v.push_back(Rec{ch.rev, ch.path, ch.op, ch.value});
  return v;
}

// Exact equality, reporting the first difference.
void checkSame(const std::vector<Rec>& got, const std::vector<Rec>& want) {
  std::size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i])
    ++i;
  INFO("watched " << got.size() << " changes, history has " << want.size());
  if (i < got.size() || i < want.size()) {
    INFO("first difference at index " << i << ": watched rev " << (i < got.size() ? got[i].rev : -1)
                                      << " " << (i < got.size() ? got[i].path : "-")
                                      << ", history rev " << (i < want.size() ? want[i].rev : -1)
                                      << " " << (i < want.size() ? want[i].path : "-"));
    CHECK(false);
  }
  CHECK(got.size() == want.size());
  for (std::size_t k = 1; k < got.size(); ++k) {
    if (got[k].rev <= got[k - 1].rev) FAIL("rev order broken at index " << k);
  }
}

// Five writers changing /a/... and /b/... through every node; some deletes, which may find
// nothing (NOENT), and some writes that fail while a node is down: both are part of the test.
class Writers {
 public:
  Writers(std::string addr, int each, std::size_t valueSize) {
    for (int w = 0; w < 5; ++w) {
      threads_.emplace_back([=] {
        client::Options o;
        o.endpoints = client::splitEndpoints(addr);
        o.timeout = std::chrono::milliseconds(1500);
        std::rotate(o.endpoints.begin(),
                    o.endpoints.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(w) %
                                                                      o.endpoints.size()),
                    o.endpoints.end());
        client::Client c(o);
        for (int i = 0; i < each; ++i) {
          std::string dir = i % 3 == 2 ? "/b/" : "/a/";
          std::string path = dir + std::to_string(w) + "/k" + std::to_string(i % 13);
          if (i % 11 == 10) {
            (void)c.del(path, -1);
          } else {
            std::string v = "w" + std::to_string(w) + "i" + std::to_string(i);
            v.resize(std::max(v.size(), valueSize), 'x');
            (void)c.set(path, v, -1);
          }
          ++writes_;
        }
      });
    }
  }
  ~Writers() { join(); }
  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int writes() const { return writes_.load(); }

 private:
  std::atomic<int> writes_{0};
  std::vector<std::thread> threads_;
};

// The cluster's head once every write in flight has settled: a no-op is ordered after them.
std::int64_t settle(const std::string& addr) {
  client::Options o;
  o.endpoints = client::splitEndpoints(addr);
  client::Client c(o);
  std::int64_t head = 0;
  REQUIRE(test::eventually(
      [&] {
        auto r = c.nop();
        if (!r) return false;
        head = *r;
        return true;
      },
      20000));
  return head;
}

std::vector<std::string> watchArgs(const std::string& addr, std::int64_t fromRev) {
  return {CAIRN_BIN,
          "--addr",
          addr,
          "--timeout",
          "1000",
          "watch",
          "--json",
          "--progress",
          "--verbose",
          "--rev",
          std::to_string(fromRev),
          "/a/**"};
}

// Waits until a running watch is complete up to `head`, then stops it and returns what it saw.
std::vector<Rec> finish(test::BackgroundProgram& w, const std::string& outFile, std::int64_t head) {
  bool done = test::eventually([&] { return completeOf(outFile) >= head; }, 60000);
  INFO("watch stderr: " << w.err());
  REQUIRE(done);
  w.signal(SIGTERM);
  w.wait(10000);
  return parseWatch(w.out());
}

std::int64_t countOf(const std::string& err, const std::string& what) {
  // "cairn: feed lost events (N so far)"
  std::int64_t n = 0;
  auto p = err.rfind(what);
  if (p != std::string::npos) n = std::atoll(err.c_str() + p + what.size());
  return n;
}

int occurrences(const std::string& s, const std::string& what) {
  int n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("watch: 5 writers on /a and /b, a watcher on /a/** sees exactly the history",
          "[integration][watch]") {
  test::TempDir d;
  test::Cluster cl(d.path(), 3);
  const int leader = cl.awaitLeader();
  REQUIRE(leader > 0);
  const int follower = leader % 3 + 1;
  const std::string out = d.path() + "/watch.out";
  test::BackgroundProgram w(watchArgs(cl.client(follower), 1), out);
  { Writers writers(cl.clients(), 600, 0); }
  const std::int64_t head = settle(cl.clients());
  auto got = finish(w, out, head);
  checkSame(got, history(cl.client(leader), "/a/**", 1, head));
  CHECK(got.size() > 1500);
}

TEST_CASE("watch: a watcher stopped past the feed's high-water mark loses nothing",
          "[integration][watch]") {
  test::TempDir d;
  // A small queue per subscriber, and values large enough that the stopped watcher's socket
  // buffers fill too: the node must drop this subscriber's messages.
  test::Cluster cl(d.path(), 3, {"--feed-hwm", "20"});
  const int leader = cl.awaitLeader();
  REQUIRE(leader > 0);
  const std::string out = d.path() + "/watch.out";
  test::BackgroundProgram w(watchArgs(cl.client(leader), 1), out);
  // Stop it only once its feed is live: a subscriber the node does not have yet loses nothing.
  REQUIRE(test::eventually([&] { return w.err().find("is live") != std::string::npos; }));
  w.signal(SIGSTOP);
  {
    Writers writers(cl.clients(), 600, 16 << 10);  // ~2,000 changes of 16 KiB under /a
  }
  w.signal(SIGCONT);
  const std::int64_t head = settle(cl.clients());
  auto got = finish(w, out, head);
  checkSame(got, history(cl.client(leader), "/a/**", 1, head));
  // The watcher noticed the loss and filled it from history (else the test proved nothing): by a
  // break in the feed's chains, or, when it was stopped longer than the heartbeat timeout (a
  // loaded machine writes the 2,000 changes slower), by the missing heartbeats.
  INFO(w.err());
  CHECK(countOf(w.err(), "feed lost events (") + countOf(w.err(), "no heartbeat for") > 0);
}

TEST_CASE("watch: the node a watcher follows is killed and restarted", "[integration][watch]") {
  test::TempDir d;
  test::Cluster cl(d.path(), 3);
  const int leader = cl.awaitLeader();
  REQUIRE(leader > 0);
  const int follower = leader % 3 + 1;
  const std::string out = d.path() + "/watch.out";
  // The watcher knows this one node only: it must find it again after the restart.
  test::BackgroundProgram w(watchArgs(cl.client(follower), 1), out);
  // Live before the kill: a watcher that first reached the node after its restart would have
  // nothing to notice.
  REQUIRE(test::eventually([&] { return w.err().find("is live") != std::string::npos; }));
  std::int64_t head = 0;
  {
    Writers writers(cl.client(leader), 600, 0);
    REQUIRE(test::eventually([&] { return writers.writes() > 800; }, 30000));
    cl.kill9(follower);
    REQUIRE(test::eventually([&] { return writers.writes() > 1600; }, 30000));
    cl.restart(follower);
  }
  head = settle(cl.clients());
  auto got = finish(w, out, head);
  checkSame(got, history(cl.client(leader), "/a/**", 1, head));
  // It noticed the restart: heartbeats of a new boot that do not join the old ones or, when the
  // node took longer than the silence limit to come back, leaving it and attaching again.
  INFO(w.err());
  CHECK((countOf(w.err(), "feed lost events (") > 0 || occurrences(w.err(), "left ") > 0));
}

TEST_CASE("watch: the leader is killed while a watcher follows it", "[integration][watch]") {
  test::TempDir d;
  test::Cluster cl(d.path(), 3);
  const int leader = cl.awaitLeader();
  REQUIRE(leader > 0);
  const std::string out = d.path() + "/watch.out";
  // Leader first: the watcher follows it, and must move to another node when it dies.
  std::string addr = cl.client(leader);
  for (int i = 1; i <= 3; ++i) {
    if (i != leader) addr += "," + cl.client(i);
  }
  test::BackgroundProgram w(watchArgs(addr, 1), out);
  REQUIRE(test::eventually([&] { return w.err().find("following") != std::string::npos; }));
  {
    Writers writers(addr, 600, 0);
    REQUIRE(test::eventually([&] { return writers.writes() > 1000; }, 30000));
    cl.kill9(leader);
  }
  const std::int64_t head = settle(cl.clients());
  const int survivor = leader % 3 + 1;
  auto got = finish(w, out, head);
  checkSame(got, history(cl.client(survivor), "/a/**", 1, head));
  INFO(w.err());
  CHECK(occurrences(w.err(), "following") >= 2);  // it moved to another node
}

TEST_CASE("watch: a watcher restarted with --rev continues exactly where it stopped",
          "[integration][watch]") {
  test::TempDir d;
  test::Cluster cl(d.path(), 3);
  REQUIRE(cl.awaitLeader() > 0);
  std::vector<Rec> got;
  std::int64_t head = 0;
  {
    Writers writers(cl.clients(), 600, 0);
    const std::string out1 = d.path() + "/watch1.out";
    test::BackgroundProgram w1(watchArgs(cl.clients(), 1), out1);
    REQUIRE(test::eventually([&] { return completeOf(out1) > 300; }, 30000));
    w1.signal(SIGKILL);
    w1.wait(10000);
    got = parseWatch(w1.out());
    REQUIRE(!got.empty());
    // Resume after the last change it printed, while the writers are still writing.
    const std::string out2 = d.path() + "/watch2.out";
    test::BackgroundProgram w2(watchArgs(cl.clients(), got.back().rev + 1), out2);
    writers.join();
    head = settle(cl.clients());
    auto more = finish(w2, out2, head);
    got.insert(got.end(), more.begin(), more.end());
  }
  checkSame(got, history(cl.client(1), "/a/**", 1, head));
}

TEST_CASE("watch: from a rev below the history window ends with TOO_LATE, printing nothing",
          "[integration][watch]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1", {"--history", "10"});
  client::Options o;
  o.endpoints = {n.client()};
  client::Client c(o);
  for (int i = 0; i < 40; ++i)
    REQUIRE(c.set("/a/k", std::to_string(i), -1).isOk());
  auto r = test::runProgram({CAIRN_BIN, "--addr", n.client(), "watch", "--rev", "5", "/a/**"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("TOO_LATE") != std::string::npos);
  // From inside the window it delivers the rest, and only the rest.
  r = test::runProgram(
      {CAIRN_BIN, "--addr", n.client(), "watch", "--rev", "35", "--until", "40", "/a/**"});
  CHECK(r.code == 0);
  CHECK(r.out ==
        "35 set /a/k 34\n36 set /a/k 35\n37 set /a/k 36\n38 set /a/k 37\n"
        "39 set /a/k 38\n40 set /a/k 39\n");
}

TEST_CASE("watch: 500 plain SUB sockets on one node all receive a burst, in order",
          "[integration][watch]") {
  // Each socket is a connection (a descriptor here and one in the node).
  struct rlimit nofile;
  REQUIRE(getrlimit(RLIMIT_NOFILE, &nofile) == 0);
  nofile.rlim_cur = nofile.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &nofile);
  REQUIRE(nofile.rlim_cur >= 2000);

  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  zmq::context_t ctx(1);
  const int kSubs = 500;
  std::vector<zmq::socket_t> subs;
  for (int i = 0; i < kSubs; ++i) {
    subs.emplace_back(ctx, zmq::socket_type::sub);
    subs.back().set(zmq::sockopt::subscribe, "/fan/");
    subs.back().set(zmq::sockopt::subscribe, std::string(wire::kHeartbeatTopic));
    subs.back().set(zmq::sockopt::rcvhwm, 0);
    subs.back().connect(n.events());
  }
  // Live once each has had a heartbeat (its subscriptions went before it on its connection).
  std::vector<bool> live(kSubs, false);
  int liveCount = 0;
  REQUIRE(test::eventually(
      [&] {
        for (int i = 0; i < kSubs; ++i) {
          zmq::message_t t, b;
          while (!live[static_cast<std::size_t>(i)] &&
                 subs[static_cast<std::size_t>(i)].recv(t, zmq::recv_flags::dontwait)) {
            (void)subs[static_cast<std::size_t>(i)].recv(b);
            if (t.to_string_view() == wire::kHeartbeatTopic) {
              live[static_cast<std::size_t>(i)] = true;
              ++liveCount;
            }
          }
        }
        return liveCount == kSubs;
      },
      30000));
  client::Options o;
  o.endpoints = {n.client()};
  client::Client c(o);
  const int kBurst = 300;
  std::vector<std::int64_t> revs;
  for (int i = 0; i < kBurst; ++i) {
    auto r =
        c.set(i % 4 == 3 ? "/other/" + std::to_string(i) : "/fan/" + std::to_string(i), "v", -1);
    REQUIRE(r.isOk());
    if (i % 4 != 3) revs.push_back(*r);
  }
  for (int i = 0; i < kSubs; ++i) {
    auto& s = subs[static_cast<std::size_t>(i)];
    s.set(zmq::sockopt::rcvtimeo, 10000);
    std::vector<std::int64_t> seen;
    while (seen.size() < revs.size()) {
      zmq::message_t t, b;
      if (!s.recv(t)) break;
      (void)s.recv(b);
      if (t.to_string_view() == wire::kHeartbeatTopic) continue;
      auto e = wire::decodeEvent(b.to_string_view());
      REQUIRE(e.isOk());
      seen.push_back(e->rev);
    }
    INFO("subscriber " << i);
    REQUIRE(seen == revs);
  }
}

TEST_CASE("watch: cairn feed --push delivers the watch into a PULL socket, in order",
          "[integration][watch]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  client::Options o;
  o.endpoints = {n.client()};
  client::Client c(o);
  for (int i = 0; i < 50; ++i)
    REQUIRE(c.set(i % 2 ? "/a/" + std::to_string(i % 7) : "/b/x", std::to_string(i), -1).isOk());
  zmq::context_t ctx(1);
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::rcvtimeo, 10000);
  pull.bind("tcp://127.0.0.1:*");
  const std::string ep = pull.get(zmq::sockopt::last_endpoint);
  test::BackgroundProgram feed(
      {CAIRN_BIN, "--addr", n.client(), "feed", "/a/**", "--rev", "1", "--push", ep},
      d.path() + "/feed.out");
  // Half the changes exist before the relay starts, half arrive while it runs.
  for (int i = 50; i < 100; ++i)
    REQUIRE(c.set(i % 2 ? "/a/" + std::to_string(i % 7) : "/b/x", std::to_string(i), -1).isOk());
  auto want = history(n.client(), "/a/**", 1, 100);
  REQUIRE(want.size() == 50);
  std::vector<Rec> got;
  while (got.size() < want.size()) {
    zmq::message_t t, b;
    INFO(feed.err());
    REQUIRE(pull.recv(t));
    REQUIRE(t.more());
    REQUIRE(pull.recv(b));
    auto e = wire::decodeEvent(b.to_string_view());
    REQUIRE(e.isOk());
    CHECK(e->path == t.to_string_view());
    got.push_back(Rec{e->rev, e->path, e->op, e->value});
  }
  checkSame(got, want);
}
