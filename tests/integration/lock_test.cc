// Locks and elections on leases, through `cairn lock` and `cairn elect` on a real cluster: mutual
// exclusion with increasing fencing tokens under contention, a kill -9'd holder replaced within
// its ttl, a stalled holder fenced off by its stale token, a lock kept through the cluster
// leader's kill -9, a leader that dies replaced.

#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bindings/cpp/client.h"
#include "bindings/cpp/lease.h"
#include "bindings/cpp/lock.h"
#include "tests/support/node_process.h"

using namespace cairn;
using namespace std::chrono_literals;
using test::clientFor;

namespace {

// Turns per contender: 50 (1,000 in all, as issue 14 asks); 10 under the sanitizers, whose
// processes start several times slower (the same code runs 1,000 turns in the plain build).
#ifdef __SANITIZE_ADDRESS__
constexpr int kTurns = 10;
#else
constexpr int kTurns = 50;
#endif

std::string slurpFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::int64_t> numbers(const std::string& text) {
  std::vector<std::int64_t> out;
  std::istringstream in(text);
  for (std::int64_t x; in >> x;)
    out.push_back(x);
  return out;
}

// A shell command line run by `cairn lock` (CAIRN_ADDR set for the cairn calls inside it).
std::vector<std::string> lockArgv(const std::string& addr, const std::vector<std::string>& flags,
                                  const std::string& name, const std::string& script) {
  std::vector<std::string> argv = {CAIRN_BIN, "--addr", addr, "lock"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {name, "--", "sh", "-c", script});
  return argv;
}

}  // namespace

TEST_CASE(
    "lock: 20 contenders x 50 turns of an unguarded read-modify-write count exactly 1,000, "
    "with tokens increasing in the order of holding",
    "[integration][lock][long]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  const std::string addr = c.clients();
  auto cl = clientFor(addr);
  REQUIRE(cl.set("/counter", "0", -1).isOk());
  const std::string tokens = d.path() + "/tokens";
  // Inside the lock: read, add one, write back, no compare-and-set; and note the token.
  const std::string cairn = std::string(CAIRN_BIN) + " --addr " + addr;
  const std::string turn = "n=$(" + cairn + " get /counter) && " + cairn +
                           " set /counter $((n + 1)) > /dev/null && echo $CAIRN_LOCK_TOKEN >> " +
                           tokens;
  std::vector<std::unique_ptr<test::BackgroundProgram>> contenders;
  for (int i = 0; i < 20; ++i) {
    const std::string loop = "for k in $(seq " + std::to_string(kTurns) + "); do " + cairn +
                             " lock /locks/counter -- sh -c '" + turn +
                             "' || exit 1; done; echo done";
    contenders.push_back(std::make_unique<test::BackgroundProgram>(
        std::vector<std::string>{"/bin/sh", "-c", loop}, d.path() + "/c" + std::to_string(i)));
  }
  for (auto& p : contenders) {
    INFO(p->err());
    REQUIRE(p->wait(300000) == 0);
    CHECK(p->out() == "done\n");
  }
  auto n = cl.get("/counter");
  REQUIRE(n.isOk());
  CHECK(n->value == std::to_string(20 * kTurns));
  const auto ts = numbers(slurpFile(tokens));
  REQUIRE(ts.size() == 20u * kTurns);
  for (std::size_t i = 1; i < ts.size(); ++i) {
    INFO("holder " << i);
    REQUIRE(ts[i] > ts[i - 1]);
  }
  // Every contender left the queue.
  auto left = cl.getdir("/locks/counter");
  CHECK((!left.isOk() || left->empty()));
}

TEST_CASE(
    "lock: a kill -9'd holder's lock passes to the next waiter within its ttl, with a "
    "larger token",
    "[integration][lock]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  const std::string addr = c.clients();
  auto cl = clientFor(addr);
  test::BackgroundProgram holder(
      lockArgv(addr, {"--ttl", "2s"}, "/locks/k", "echo $CAIRN_LOCK_TOKEN; exec sleep 60"),
      d.path() + "/holder");
  REQUIRE(test::eventually([&] { return !holder.out().empty(); }));
  const auto first = numbers(holder.out());
  REQUIRE(first.size() == 1);
  test::BackgroundProgram waiter(lockArgv(addr, {}, "/locks/k", "echo $CAIRN_LOCK_TOKEN"),
                                 d.path() + "/waiter");
  // The waiter is queued behind the holder.
  REQUIRE(test::eventually([&] {
    auto es = cl.getdir("/locks/k");
    return es.isOk() && es->size() == 2;
  }));
  const auto killed = std::chrono::steady_clock::now();
  holder.signal(SIGKILL);  // its sleep lives on, holding nothing: the lease is what counts
  REQUIRE(waiter.wait(15000) == 0);
  const auto took = std::chrono::steady_clock::now() - killed;
  const auto second = numbers(waiter.out());
  REQUIRE(second.size() == 1);
  CHECK(second[0] > first[0]);
  INFO("the waiter held the lock "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
       << " ms after the holder was killed");
  CHECK(took < 3s);  // the ttl (2 s) and 1 s
}

TEST_CASE(
    "lock: a holder stopped past its ttl loses the lock, and its stale token is refused by "
    "a resource that checks tokens",
    "[integration][lock]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  const std::string addr = c.clients();
  auto cl = clientFor(addr);
  REQUIRE(cl.set("/fence/token", "0", -1).isOk());
  // The fencing pattern: the resource (here /fence/*, guarded by compare-and-set) remembers the
  // largest token that wrote it and refuses a smaller one. The holder ignores SIGTERM, like a
  // process that does not notice it lost the lock.
  const std::string cairn = std::string(CAIRN_BIN) + " --addr " + addr;
  const std::string guarded =
      "trap '' TERM; echo holding; while [ ! -e " + d.path() + "/go-$W ]; do sleep 0.05; done; " +
      "j=$(" + cairn + " get --json /fence/token); " +
      "rev=$(echo \"$j\" | sed 's/.*\"rev\":\\([0-9]*\\).*/\\1/'); " + "t=$(" + cairn +
      " get /fence/token); " + "if [ $CAIRN_LOCK_TOKEN -lt $t ]; then echo refused; exit 1; fi; " +
      cairn + " set --rev $rev /fence/token $CAIRN_LOCK_TOKEN > /dev/null && " + cairn +
      " set /fence/data $W > /dev/null && echo wrote";
  test::BackgroundProgram a(lockArgv(addr, {"--ttl", "2s"}, "/locks/f", "W=a; " + guarded),
                            d.path() + "/a");
  REQUIRE(test::eventually([&] { return a.out() == "holding\n"; }));
  // Stop the holder and its command for longer than the ttl.
  ::kill(a.pid(), SIGSTOP);
  test::RunResult children = test::runProgram({"/usr/bin/pgrep", "-P", std::to_string(a.pid())});
  for (auto pid : numbers(children.out))
    ::kill(static_cast<pid_t>(pid), SIGSTOP);
  std::ofstream(d.path() + "/go-b").put('\n');
  test::BackgroundProgram b(lockArgv(addr, {"--ttl", "2s"}, "/locks/f", "W=b; " + guarded),
                            d.path() + "/b");
  REQUIRE(b.wait(20000) == 0);
  CHECK(b.out() == "holding\nwrote\n");
  // A resumes, sure it holds the lock: its write is refused by the token check.
  std::ofstream(d.path() + "/go-a").put('\n');
  for (auto pid : numbers(children.out))
    ::kill(static_cast<pid_t>(pid), SIGCONT);
  ::kill(a.pid(), SIGCONT);
  CHECK(a.wait(20000) == 2);  // cairn lock: the lock was lost while the command ran
  CHECK(a.out() == "holding\nrefused\n");
  CHECK(a.err().find("lost the lock /locks/f") != std::string::npos);
  CHECK(cl.get("/fence/data")->value == "b");
}

TEST_CASE(
    "lock: the cluster leader's kill -9 while a lock is held keeps it held, with no second "
    "holder, until the holder lets go",
    "[integration][lock]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  const int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  const std::string addr = c.clients();
  auto cl = clientFor(addr);
  const std::string release = d.path() + "/release";
  test::BackgroundProgram holder(
      lockArgv(addr, {"--ttl", "4s"}, "/locks/k",
               "echo $CAIRN_LOCK_TOKEN; while [ ! -e " + release + " ]; do sleep 0.05; done"),
      d.path() + "/holder");
  REQUIRE(test::eventually([&] { return !holder.out().empty(); }));
  const auto first = numbers(holder.out());
  REQUIRE(first.size() == 1);
  test::BackgroundProgram waiter(
      lockArgv(addr, {"--ttl", "4s"}, "/locks/k", "echo $CAIRN_LOCK_TOKEN"), d.path() + "/waiter");
  REQUIRE(test::eventually([&] {
    auto es = cl.getdir("/locks/k");
    return es.isOk() && es->size() == 2;
  }));
  c.kill9(leader);
  // Watched for two ttls from the kill: an election (up to 0.6 s), then fresh full ttls from the
  // new leader. The lock stays with the holder, the waiter stays queued. (A ttl of 4 s leaves the
  // holder's keep-alives 3.6 s to find the new leader on a loaded machine.)
  const auto until = std::chrono::steady_clock::now() + 8s;
  while (std::chrono::steady_clock::now() < until) {
    INFO(waiter.out() << waiter.err());
    REQUIRE(waiter.out().empty());
    REQUIRE(holder.wait(50) == -1);
  }
  auto es = cl.getdir("/locks/k");
  REQUIRE(es.isOk());
  CHECK(es->size() == 2);
  // Let go: the waiter holds it next, with a larger token.
  std::ofstream(release).put('\n');
  CHECK(holder.wait(10000) == 0);
  REQUIRE(waiter.wait(10000) == 0);
  const auto second = numbers(waiter.out());
  REQUIRE(second.size() == 1);
  CHECK(second[0] > first[0]);
}

TEST_CASE("lock: wrong input is refused with a clear message, and takes nothing",
          "[integration][lock]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitSettled() > 0);  // the cluster's own writes to /ctl are done: the rev stays
  const std::string addr = c.clients();
  auto cl = clientFor(addr);
  auto before = cl.rev();
  REQUIRE(before.isOk());
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"lock", "/locks/a"}, 127, "lock needs a command to run"},
      {{"lock", "locks/a", "--", "true"}, 127, "a path like /locks/deploy, not \"locks/a\""},
      {{"lock", "/", "--", "true"}, 127, "a path like /locks/deploy, not \"/\""},
      {{"lock", "--ttl", "soon", "/locks/a", "--", "true"}, 127, "a ttl is like 10s"},
      {{"lock", "--timeout", "-1s", "/locks/a", "--", "true"}, 127, "--timeout is like 30s"},
      {{"lock", "--ttl", "1s", "/locks/a", "--", "true"}, 2, "ttl must be between 2 s and"},
      {{"elect", "/election/a"}, 127, "elect needs NAME and VALUE"},
  };
  for (const Case& k : cases) {
    std::vector<std::string> argv = {CAIRN_BIN, "--addr", addr};
    argv.insert(argv.end(), k.args.begin(), k.args.end());
    test::RunResult r = test::runProgram(argv);
    INFO(k.args[1] << ": " << r.err);
    CHECK(r.code == k.code);
    CHECK(r.err.find(k.says) != std::string::npos);
  }
  // Nothing was written, and no lease is left: the CLI's own session (a lease its client takes
  // before its first write, PROTOCOL.md 5.1) was revoked when it exited.
  auto after = cl.rev();
  REQUIRE(after.isOk());
  CHECK(*after == *before);
  CHECK(cl.getdir("/locks").status().code() == wire::Err::kNoEnt);
  CHECK(cl.getdir("/election").status().code() == wire::Err::kNoEnt);
  client::Options plain;  // no session of its own, which would be a lease too
  plain.endpoints = client::splitEndpoints(addr);
  plain.exactlyOnce = false;
  client::Client granter(plain);
  auto first = granter.grant(std::chrono::seconds(10));
  REQUIRE(first.isOk());
  CHECK(*first <= 2u);  // at most the one session, for the one case that reached the node
  for (std::uint64_t id = 1; id < *first; ++id)
    CHECK(granter.lease(id).status().code() == wire::Err::kNoEnt);
}

TEST_CASE("elect: one leads, listeners see it, and the next takes over when it dies",
          "[integration][lock]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  const std::string addr = c.clients();
  auto elect = [&](const std::string& value, const std::string& out) {
    return std::make_unique<test::BackgroundProgram>(
        std::vector<std::string>{CAIRN_BIN, "--addr", addr, "elect", "--ttl", "2s", "/election/db",
                                 value},
        out);
  };
  test::BackgroundProgram listener({CAIRN_BIN, "--addr", addr, "elect", "--listen", "/election/db"},
                                   d.path() + "/listen");
  auto first = elect("h1", d.path() + "/h1");
  REQUIRE(test::eventually([&] { return first->out().rfind("leading /election/db", 0) == 0; }));
  auto second = elect("h2", d.path() + "/h2");
  REQUIRE(test::eventually([&] { return listener.out() == "h1\n"; }));
  auto cl = clientFor(addr);
  auto l = client::leaderOf(cl, "/election/db");
  REQUIRE(l.isOk());
  CHECK(l->value == "h1");
  CHECK(second->out().empty());  // campaigning, not leading
  first->signal(SIGKILL);
  REQUIRE(
      test::eventually([&] { return second->out().rfind("leading /election/db", 0) == 0; }, 15000));
  REQUIRE(test::eventually([&] { return listener.out() == "h1\nh2\n"; }));
  // Ctrl-C resigns at once: nobody leads.
  second->signal(SIGINT);
  CHECK(second->wait(10000) == 0);
  REQUIRE(test::eventually(
      [&] { return client::leaderOf(cl, "/election/db").status().code() == wire::Err::kNoEnt; }));
}
