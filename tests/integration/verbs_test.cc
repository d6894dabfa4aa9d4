// Every verb through the C++ client against a real cairnd.

#include <catch2/catch.hpp>

#include <map>

#include "bindings/cpp/client.h"
#include "tests/support/node_process.h"

using namespace cairn;
using wire::Err;

namespace {

client::Client connect(const test::NodeProcess& n) {
  client::Options o;
  o.endpoints = {n.client()};
  o.timeout = std::chrono::milliseconds(5000);
  return client::Client(o);
}

}  // namespace

TEST_CASE("verbs: SET, GET, DEL with compare-and-set", "[integration]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  auto c = connect(n);
  auto missing = c.get("/config/db");
  REQUIRE(missing.isOk());
  CHECK(missing->rev == 0);
  CHECK(missing->value.empty());

  auto r1 = c.set("/config/db", "postgres://db1", 0);
  REQUIRE(r1.isOk());
  CHECK(*r1 == 1);
  CHECK(c.set("/config/db", "other", 0).status().code() == Err::kRevMismatch);
  auto r2 = c.set("/config/db", "postgres://db2", *r1);
  REQUIRE(r2.isOk());
  CHECK(*r2 == 2);  // the failed write consumed no revision
  auto f = c.get("/config/db");
  CHECK(f->value == "postgres://db2");
  CHECK(f->rev == 2);
  CHECK(f->head == 2);
  CHECK(c.get("/config/db", 1)->value == "postgres://db1");  // a read in the past
  CHECK(c.get("/config/db", 0)->rev == 0);

  CHECK(c.set("/config/db/x", "v", -1).status().code() == Err::kNotDir);
  CHECK(c.set("/config", "v", -1).status().code() == Err::kIsDir);
  CHECK(c.del("/config", -1).status().code() == Err::kIsDir);
  CHECK(c.del("/nothing", -1).status().code() == Err::kNoEnt);
  CHECK(c.del("/config/db", 1).status().code() == Err::kRevMismatch);
  CHECK(c.set("bad path", "v", -1).status().code() == Err::kBadPath);
  CHECK(c.set("/ctl/x", "v", -1).status().code() == Err::kReadonly);
  CHECK(c.get("/config").status().code() == Err::kIsDir);
  auto r3 = c.del("/config/db", -1);
  REQUIRE(r3.isOk());
  CHECK(*r3 == 3);
  CHECK(c.get("/config/db")->rev == 0);
  CHECK(*c.rev() == 3);
}

TEST_CASE("verbs: REV, NOP, SELF, STAT", "[integration]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  auto c = connect(n);
  CHECK(*c.rev() == 0);
  REQUIRE(c.set("/a/b", "hello", -1).isOk());
  CHECK(*c.nop() == 1);  // a barrier through the log: no revision consumed
  CHECK(*c.rev() == 1);
  auto self = c.self();
  REQUIRE(self.isOk());
  CHECK(self->id == 1);
  CHECK(self->leader == 1);  // alone, a node leads itself
  CHECK(self->client == n.client());
  CHECK(self->events == n.events());
  CHECK(self->version == CAIRN_VERSION);
  auto st = c.stat("/a/b");
  CHECK(st->rev == 1);
  CHECK(st->len == 5);
  CHECK(!st->dir);
  auto sd = c.stat("/a");
  CHECK(sd->dir);
  CHECK(sd->len == 1);
  CHECK(c.stat("/zz")->rev == 0);
}

TEST_CASE("verbs: GETDIR and WALK return whole pages at one revision", "[integration]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  auto c = connect(n);
  for (int i = 0; i < 2500; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/d/f%05d", i);
    REQUIRE(c.set(name, std::to_string(i), -1).isOk());
  }
  REQUIRE(c.set("/d/sub/x", "x", -1).isOk());
  REQUIRE(c.set("/e", "e", -1).isOk());
  std::int64_t head = 0;
  auto es = c.getdir("/d", std::nullopt, &head);  // 3 pages of up to 1000
  REQUIRE(es.isOk());
  REQUIRE(es->size() == 2501);
  CHECK((*es)[0].name == "f00000");
  CHECK((*es)[2499].name == "f02499");
  CHECK((*es)[2500].name == "sub");
  CHECK((*es)[2500].dir == true);
  CHECK(head == 2502);
  auto ws = c.walk("/d/**");
  REQUIRE(ws.isOk());
  REQUIRE(ws->size() == 2501);
  CHECK((*ws)[7].path == "/d/f00007");
  CHECK((*ws)[7].value == "7");
  CHECK((*ws)[2500].path == "/d/sub/x");
  CHECK(c.walk("/*")->size() == 1);
  CHECK(c.getdir("/e").status().code() == Err::kNotDir);
  CHECK(c.getdir("/none").status().code() == Err::kNoEnt);
  // One raw page: the continuation is explicit.
  wire::Request q;
  q.verb = wire::Verb::kGetdir;
  q.path = "/d";
  q.limit = 10;
  auto page = c.call(q);
  REQUIRE(page.isOk());
  CHECK(page->entries->size() == 10);
  CHECK(page->next == "f00009");
  q.limit = 0;
  CHECK(c.call(q).status().code() == Err::kRange);
}

TEST_CASE("verbs: WAIT from history, for the future, and its timeout", "[integration]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  auto c = connect(n);
  REQUIRE(c.set("/a/x", "1", -1).isOk());  // 1
  REQUIRE(c.set("/b/x", "2", -1).isOk());  // 2
  REQUIRE(c.set("/a/y", "3", -1).isOk());  // 3
  auto w = c.wait("/a/**", 2);
  REQUIRE(w.isOk());
  REQUIRE(w->size() == 1);
  CHECK(w->front().rev == 3);
  CHECK(w->front().path == "/a/y");
  CHECK(w->front().op == "set");
  CHECK(w->front().value == "3");
  CHECK(c.wait("/b/*", 1)->front().rev == 2);

  // A WAIT for the future, answered by a write from another client.
  client::Options o;
  o.endpoints = {n.client()};
  client::Client waiter(o);
  std::thread t([&] {
    auto wc = connect(n);
    (void)wc.del("/a/x", -1);
  });
  auto fut = waiter.wait("/a/**", 4, std::chrono::milliseconds(10000));
  t.join();
  REQUIRE(fut.isOk());
  REQUIRE(fut->size() == 1);
  CHECK(fut->front().rev == 4);
  CHECK(fut->front().op == "del");
  CHECK(fut->front().path == "/a/x");

  auto to = c.wait("/nomatch/**", 5, std::chrono::milliseconds(100));
  CHECK(to.status().code() == Err::kTimeout);
  CHECK(c.wait("bad glob", 1).status().code() == Err::kBadPath);
}

TEST_CASE("verbs: a read at a future rev waits for it", "[integration]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  auto c = connect(n);
  std::thread t([&] {
    auto wc = connect(n);
    (void)wc.set("/f", "future", -1);
  });
  auto f = c.get("/f", 1);
  t.join();
  REQUIRE(f.isOk());
  CHECK(f->value == "future");
  wire::Request q;
  q.verb = wire::Verb::kGet;
  q.path = "/f";
  q.rev = 99;
  q.timeoutMs = 50;
  auto r = c.call(q);
  CHECK(r.status().code() == Err::kTimeout);
}

TEST_CASE("verbs: reads below the history window are TOO_LATE", "[integration]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1", {"--history", "5"});
  auto c = connect(n);
  for (int i = 0; i < 10; ++i)
    REQUIRE(c.set("/k", std::to_string(i), -1).isOk());
  CHECK(c.get("/k", 6)->value == "5");
  CHECK(c.get("/k", 5).status().code() == Err::kTooLate);
  CHECK(c.wait("/k", 2).status().code() == Err::kTooLate);
  CHECK(c.getdir("/", 1).status().code() == Err::kTooLate);
}

TEST_CASE("verbs: CHANGES pages through the history of a glob, then TOO_LATE past the window",
          "[integration]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1", {"--history", "50"});
  auto c = connect(n);
  std::vector<std::int64_t> want;
  for (int i = 0; i < 40; ++i) {
    auto r = c.set(i % 3 ? "/feed/k" + std::to_string(i) : "/other", std::to_string(i), -1);
    REQUIRE(r.isOk());
    if (i % 3) want.push_back(*r);
  }
  REQUIRE(c.del("/feed/k1", -1).isOk());  // rev 41
  want.push_back(41);
  std::vector<std::int64_t> got;
  std::int64_t from = 1, complete = 0;
  int pages = 0;
  while (true) {
    auto page = c.changes("/feed/**", from, &complete, 7);
    REQUIRE(page.isOk());
    for (const auto& ch : *page)
      got.push_back(ch.rev);
    ++pages;
    if (complete >= 41) break;
    from = complete + 1;
  }
  CHECK(got == want);
  CHECK(pages == 4);  // 27 changes, 7 per page
  auto last = c.changes("/feed/**", 41, &complete);
  REQUIRE(last.isOk());
  REQUIRE(last->size() == 1);
  CHECK((*last)[0].op == "del");
  CHECK((*last)[0].path == "/feed/k1");
  for (int i = 0; i < 60; ++i)
    REQUIRE(c.set("/other", "x", -1).isOk());
  CHECK(c.changes("/feed/**", 1, &complete).status().code() == Err::kTooLate);
  wire::Request q;
  q.verb = wire::Verb::kChanges;
  q.path = "/feed/**";
  CHECK(c.call(q).status().code() == Err::kMissingArg);  // rev is required
}

TEST_CASE("verbs: SELF reports the node's counters", "[integration]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  auto c = connect(n);
  for (int i = 0; i < 5; ++i)
    REQUIRE(c.set("/s/" + std::to_string(i), "v", -1).isOk());
  CHECK(c.set("/s/0", "v", 0).status().code() == Err::kRevMismatch);
  CHECK(c.get("/s/1").isOk());
  auto self = c.self();
  REQUIRE(self.isOk());
  REQUIRE(self->stats);
  std::map<std::string, std::int64_t> s;
  for (const auto& counter : *self->stats)
    s[counter.name] = counter.value;
  CHECK(s["requests.SET"] == 6);
  CHECK(s["requests.GET"] == 1);
  CHECK(s["replies.REV_MISMATCH"] == 1);
  CHECK(s["replies.OK"] >= 6);
  CHECK(s["requests.GRANT"] == 1);  // the client's session (PROTOCOL.md 5.1)
  // Every write is chosen and answered, the failed compare-and-set and the session's GRANT too.
  CHECK(s["commit_us.count"] == 7);
  CHECK(s["sync_us.count"] >= 6);  // lockstep writes: one fdatasync each, at least
  CHECK(s["sync_us.p50"] > 0);
  CHECK(s["batch.count"] >= 6);
  CHECK(s.count("leader_changes") == 1);
}
