// Transactions on real processes: a TXN's writes land at one rev on every node, through a
// follower and across the leader's kill -9; watchers and plain SUB sockets get a transaction whole
// (or the part their glob matches, once, in order); a deltree at the change limit; bad requests
// get clear errors and change nothing.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "bindings/cpp/client.h"
#include "bindings/cpp/watcher.h"
#include "tests/support/node_process.h"
#include "wire/codec.h"

using namespace cairn;
using namespace std::chrono_literals;
using test::clientFor;
using wire::Compare;
using wire::Err;
using wire::TxnOp;

namespace {

wire::Request txn(wire::Txn t) {
  wire::Request r;
  r.verb = wire::Verb::kTxn;
  r.txn = std::move(t);
  return r;
}

// One node's own view (consistency "local") of a file at a rev.
client::Result<client::File> localGet(const std::string& endpoint, const std::string& path,
                                      std::int64_t rev) {
  client::Options o;
  o.endpoints = {endpoint};
  o.localReads = true;
  client::Client c(o);
  return c.get(path, rev);
}

}  // namespace

TEST_CASE(
    "txn: a transfer through a follower lands at one rev on every node, and a watcher of part "
    "of it gets just that part, once, in order",
    "[integration][txn]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  const int leader = c.awaitSettled();  // the revs counted below are the test's own
  REQUIRE(leader > 0);
  const int follower = leader == 1 ? 2 : 1;
  auto cl = clientFor(c.clients());
  auto a = cl.set("/bank/a/acct", "100", 0);
  auto b = cl.set("/bank/b/acct", "50", 0);
  REQUIRE(a.isOk());
  REQUIRE(b.isOk());
  auto head = cl.rev();
  REQUIRE(head.isOk());

  client::WatchOptions wo;
  wo.endpoints = client::splitEndpoints(c.clients());
  wo.glob = "/bank/a/**";
  wo.fromRev = *head + 1;
  client::Watcher w(wo);
  REQUIRE(test::eventually([&] {
    auto n = w.next(50ms);
    return n.isOk() && w.stats().heartbeats > 0 && w.complete() >= *head;
  }));
  // A plain SUB on a node's feed, as any ZeroMQ program would follow it.
  zmq::context_t ctx;
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  auto self = cl.self();
  REQUIRE(self.isOk());
  sub.set(zmq::sockopt::subscribe, "/bank/");
  sub.set(zmq::sockopt::subscribe, "!hb");
  sub.connect(*self->events);
  REQUIRE(test::eventually([&] {  // subscribed once a heartbeat arrives
    zmq::message_t topic;
    if (!sub.recv(topic, zmq::recv_flags::dontwait)) return false;
    zmq::message_t body;
    (void)sub.recv(body);
    return topic.to_string() == "!hb";
  }));

  // Through a follower: it forwards the transaction to the leader.
  client::Options fo;
  fo.endpoints = {c.client(follower)};
  fo.preferLeader = false;
  client::Client viaFollower(fo);
  auto r = viaFollower.call(
      txn({{Compare::revIs("/bank/a/acct", *a), Compare::revIs("/bank/b/acct", *b)},
           {TxnOp::set("/bank/a/acct", "90", *a), TxnOp::set("/bank/b/acct", "60", *b),
            TxnOp::set("/bank/a/log", "moved 10 to b", 0)},
           {TxnOp::get("/bank/a/acct")}}));
  REQUIRE(r.isOk());
  REQUIRE(r->succeeded);
  CHECK(*r->succeeded);
  REQUIRE(r->rev);
  const std::int64_t at = *r->rev;
  CHECK(at == *head + 1);
  REQUIRE(r->results);
  CHECK(r->results->size() == 3);

  // Every node holds the transaction at that rev, and nothing of it one rev before.
  for (int id = 1; id <= 3; ++id) {
    REQUIRE(test::eventually([&] { return localGet(c.client(id), "/bank/b/acct", at).isOk(); }));
    auto now = localGet(c.client(id), "/bank/a/acct", at);
    auto then = localGet(c.client(id), "/bank/a/acct", at - 1);
    auto other = localGet(c.client(id), "/bank/b/acct", at);
    REQUIRE(now.isOk());
    REQUIRE(then.isOk());
    REQUIRE(other.isOk());
    CHECK(now->value == "90");
    CHECK(now->rev == at);
    CHECK(then->value == "100");
    CHECK(other->value == "60");
  }
  // The same compares now fail: the else branch reads, and no rev is taken.
  auto again = cl.call(txn({{Compare::revIs("/bank/a/acct", *a)},
                            {TxnOp::set("/bank/a/acct", "0")},
                            {TxnOp::get("/bank/a/acct")}}));
  REQUIRE(again.isOk());
  CHECK(again->succeeded == false);
  CHECK(again->rev == at);
  REQUIRE(again->results);
  REQUIRE(again->results->size() == 1);
  CHECK((*again->results)[0].value == "90");

  // The watcher of /bank/a/** gets its two changes of the rev, in operation order, and not /bank/b.
  std::vector<client::Notice> got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto n = w.next(200ms);
    REQUIRE(n.isOk());
    if (*n && (*n)->kind == client::Notice::Kind::kChange) got.push_back(**n);
  }
  REQUIRE(got.size() == 2);
  CHECK(got[0].change.path == "/bank/a/acct");
  CHECK(got[0].change.rev == at);
  CHECK(got[0].complete == at - 1);  // more of the rev follows
  CHECK(got[1].change.path == "/bank/a/log");
  CHECK(got[1].change.rev == at);
  CHECK(got[1].complete == at);
  REQUIRE(cl.set("/bank/a/next", "x", -1).isOk());  // nothing else of rev `at` comes
  auto n = w.next(5000ms);
  REQUIRE(n.isOk());
  while (*n && (*n)->kind != client::Notice::Kind::kChange) {
    n = w.next(5000ms);
    REQUIRE(n.isOk());
  }
  REQUIRE(*n);
  CHECK((*n)->change.path == "/bank/a/next");

  // The plain SUB got the three changes as events i of n = 3, in order, with no claims.
  std::vector<wire::Event> events;
  REQUIRE(test::eventually([&] {
    zmq::message_t topic, body;
    while (sub.recv(topic, zmq::recv_flags::dontwait)) {
      (void)sub.recv(body);
      if (topic.to_string() == "!hb") continue;
      auto e = wire::decodeEvent(body.to_string_view());
      REQUIRE(e.isOk());
      if (e->rev == at) events.push_back(*e);
    }
    return events.size() >= 3;
  }));
  REQUIRE(events.size() == 3);
  for (std::int64_t i = 0; i < 3; ++i) {
    CHECK(events[static_cast<std::size_t>(i)].i == i);
    CHECK(events[static_cast<std::size_t>(i)].n == 3);
    CHECK(events[static_cast<std::size_t>(i)].prev.empty());
  }
  CHECK(events[1].path == "/bank/b/acct");
  CHECK(events[1].value == "60");
}

TEST_CASE("txn: what the leader acknowledged before its kill -9 is whole on the others",
          "[integration][txn]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  std::vector<std::pair<std::int64_t, int>> acked;  // rev, transaction number
  for (int i = 0; i < 50; ++i) {
    const std::string v = std::to_string(i);
    auto r = cl.call(
        txn({{}, {TxnOp::set("/k/x", v), TxnOp::set("/k/y", v), TxnOp::set("/k/z", v)}, {}}));
    REQUIRE(r.isOk());
    acked.emplace_back(*r->rev, i);
  }
  const int leader = c.awaitLeader();
  c.kill9(leader);
  REQUIRE(test::eventually([&] { return c.awaitLeader(2000) > 0; }, 20000));
  auto after = clientFor(c.clients());
  // Each acknowledged transaction is at its rev, its three files equal, on every node left.
  for (int id = 1; id <= 3; ++id) {
    if (id == leader) continue;
    for (const auto& [rev, i] : acked) {
      for (const char* p : {"/k/x", "/k/y", "/k/z"}) {
        REQUIRE(test::eventually([&] { return localGet(c.client(id), p, rev).isOk(); }));
        auto f = localGet(c.client(id), p, rev);
        REQUIRE(f.isOk());
        CHECK(f->value == std::to_string(i));
        CHECK(f->rev == rev);
      }
    }
  }
  // And transactions go on under the new leader, each at one rev.
  auto r = after.call(txn({{}, {TxnOp::set("/k/x", "new"), TxnOp::delTree("/k/y")}, {}}));
  REQUIRE(r.isOk());
  std::int64_t complete = 0;
  auto ch = after.changes("/k/**", *r->rev, &complete);
  REQUIRE(ch.isOk());
  REQUIRE(ch->size() == 2);
  CHECK((*ch)[0].path == "/k/x");
  CHECK((*ch)[1].path == "/k/y");
  CHECK((*ch)[1].op == "del");
  CHECK((*ch)[1].rev == *r->rev);
}

TEST_CASE("txn: a deltree of 10000 files is one rev and one more file is refused whole",
          "[integration][txn]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  // 10,000 files of 100 bytes, 100 per transaction.
  const std::string value(100, 'v');
  for (int t = 0; t < 100; ++t) {
    wire::Txn fill;
    for (int i = 0; i < 100; ++i)
      fill.then.push_back(
          TxnOp::set("/big/d" + std::to_string(t) + "/f" + std::to_string(i), value));
    REQUIRE(cl.call(txn(fill)).isOk());
  }
  REQUIRE(cl.set("/big/one-more", "x", -1).isOk());
  auto head = cl.rev();
  REQUIRE(head.isOk());
  auto refused = cl.call(txn({{}, {TxnOp::delTree("/big")}, {}}));
  REQUIRE(!refused.isOk());
  CHECK(refused.status().code() == Err::kTooLarge);
  CHECK(refused.status().detail().find("10000") != std::string::npos);
  {  // nothing under /big changed (the nodes' own /ctl upkeep may move the head meanwhile)
    std::int64_t upTo = 0;
    auto since = cl.changes("/big/**", *head + 1, &upTo);
    REQUIRE(since.isOk());
    CHECK(since->empty());
  }
  REQUIRE(cl.del("/big/one-more", -1).isOk());
  auto r = cl.call(txn({{}, {TxnOp::delTree("/big")}, {}}));
  REQUIRE(r.isOk());
  REQUIRE(r->results);
  CHECK((*r->results)[0].len == 10000);
  auto gone = cl.getdir("/");
  REQUIRE(gone.isOk());
  for (const auto& e : *gone)
    CHECK(e.name != "big");
  // CHANGES returns the rev whole, though it is over the page's limit.
  std::int64_t complete = 0;
  auto ch = cl.changes("/big/**", *r->rev, &complete, 10);
  REQUIRE(ch.isOk());
  CHECK(ch->size() == 10000);
  CHECK(complete >= *r->rev);  // the page is complete up to the head (the /ctl upkeep may move it)
}

TEST_CASE("txn: bad transactions get clear errors and change nothing", "[integration][txn]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3, {"--max-value", "1000"});
  REQUIRE(c.awaitLeader() > 0);
  auto cl = clientFor(c.clients());
  REQUIRE(cl.set("/a", "1", 0).isOk());
  auto head = cl.rev();
  REQUIRE(head.isOk());
  struct Case {
    wire::Txn t;
    Err want;
    const char* detail;  // part of the detail
  };
  wire::Txn many;
  for (int i = 0; i < 129; ++i)
    many.then.push_back(TxnOp::get("/a"));
  wire::Txn big;
  big.then = {TxnOp::set("/b", std::string(600, 'x')), TxnOp::set("/c", std::string(600, 'y'))};
  TxnOp ctl = TxnOp::set("/ctl/leader", "9");
  TxnOp dots = TxnOp::get("/a/../b");
  const Case cases[] = {
      {many, Err::kTooLarge, "at most 128"},
      {big, Err::kTooLarge, "1200 bytes"},
      {{{}, {TxnOp::set("/b", "1"), ctl}, {}}, Err::kReadonly, "then[1]: /ctl"},
      {{{}, {TxnOp::delTree("/")}, {}}, Err::kReadonly, "then[0]: / holds /ctl"},
      {{{}, {}, {TxnOp::set("/", "x")}}, Err::kIsDir, "else[0]"},
      {{{}, {dots}, {}}, Err::kBadPath, "then[0]"},
      {{{}, {TxnOp::set("/b", "1"), TxnOp::set("/b", "2")}, {}}, Err::kBadRequest, "written twice"},
      {{{}, {TxnOp::set("/b", "1"), TxnOp::set("/a", "2", 0)}, {}},
       Err::kRevMismatch,
       "then[1] (set /a)"},
      {{{}, {TxnOp::set("/b", "1"), TxnOp::set("/a/x", "2")}, {}},
       Err::kNotDir,
       "then[1] (set /a/x)"},
      {{{}, {TxnOp::set("/b", "1"), TxnOp::delTree("/nope")}, {}},
       Err::kNoEnt,
       "then[1] (deltree /nope)"},
  };
  for (const Case& k : cases) {
    INFO(k.detail);
    auto r = cl.call(txn(k.t));
    REQUIRE(!r.isOk());
    CHECK(r.status().code() == k.want);
    CHECK(r.status().detail().find(k.detail) != std::string::npos);
  }
  {  // nothing outside /ctl changed (the nodes' own /ctl upkeep may move the head meanwhile)
    std::int64_t upTo = 0;
    auto since = cl.changes("/*", *head + 1, &upTo);
    REQUIRE(since.isOk());
    CHECK(since->empty());
  }
  auto b = cl.get("/b");
  REQUIRE(b.isOk());
  CHECK(b->rev == 0);
  // A TXN with none of its lists, and one whose list is not an array.
  wire::Request empty;
  empty.verb = wire::Verb::kTxn;
  auto e = cl.call(empty);
  CHECK(e.status().code() == Err::kMissingArg);
}
