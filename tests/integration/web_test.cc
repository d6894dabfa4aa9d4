// The web room (node/web, VIEWER.md): /healthz, /metrics as Prometheus reads it, the viewer's
// websocket (its requests, the change stream, the cluster view), a viewer that stops reading, and
// a real Prometheus server scraping a cluster.

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bindings/cpp/client.h"
#include "tests/support/node_process.h"
#include "tests/support/node_process_inl.h"
#include "tests/support/web_client.h"

using namespace cairn;
using json = nlohmann::json;

namespace {

const std::vector<std::string> kWeb = {"--http", "127.0.0.1:0"};

// The next message of `type` (others skipped) within timeoutMs, or an empty object.
json nextOf(test::WebSocket& ws, const std::string& type, int timeoutMs = 5000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto m = ws.next(static_cast<int>(std::max<std::int64_t>(1, left.count())));
    if (!m) continue;
    json j = json::parse(*m);
    if (j.value("type", "") == type) return j;
  }
  return json::object();
}

// Sends a request and returns its reply (other messages skipped).
json ask(test::WebSocket& ws, json q) {
  static int next = 1;
  const int id = next++;
  q["id"] = id;
  ws.send(q.dump());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    json r = nextOf(ws, "reply", 5000);
    if (r.value("id", -1) == id) return r;
  }
  FAIL("no reply to " + q.dump());
  return json::object();
}

bool healthy(const std::string& web) {
  auto r = test::HttpResponse(test::httpRequest(web, "/healthz"));
  return r.status == 200 && r.body == "ok\n";
}

// `promtool check metrics` (Debian's prometheus package) on a page: its exit code and output.
test::RunResult promtool(const std::string& page) {
  REQUIRE(::access("/usr/bin/promtool", X_OK) == 0);  // tools/dev.sh installs prometheus
  return test::runProgram({"/usr/bin/promtool", "check", "metrics"}, page);
}

}  // namespace

TEST_CASE(
    "web: every node answers /healthz, serves /metrics that promtool accepts, and refuses "
    "what it does not serve",
    "[integration][web]") {
  test::TempDir dir;
  test::Cluster c(dir.path(), 3, kWeb);
  REQUIRE(c.awaitLeader() != 0);
  for (int i = 1; i <= 3; ++i) {
    const std::string web = c.node(i).web();
    REQUIRE(!web.empty());
    REQUIRE(test::eventually([&] { return healthy(web); }, 10000));
    auto m = test::httpRequest(web, "/metrics");
    REQUIRE(m.status == 200);
    CHECK(m.contentType == "text/plain; version=0.0.4; charset=utf-8");
    auto check = promtool(m.body);
    INFO(check.out + check.err);
    CHECK(check.code == 0);
    CHECK(test::metric(m.body, "cairn_node_id") == Approx(i));
    CHECK(test::metric(m.body, "cairn_has_leader") == Approx(1));
    CHECK(test::metric(m.body, "cairn_peers") == Approx(2));
    CHECK(m.body.find("process_resident_memory_bytes ") != std::string::npos);
  }
  // Exactly one node says it leads (the nodes report twice a second: wait until they agree).
  REQUIRE(test::eventually(
      [&] {
        int leaders = 0;
        for (int i = 1; i <= 3; ++i) {
          auto v =
              test::metric(test::httpRequest(c.node(i).web(), "/metrics").body, "cairn_is_leader");
          if (!v) return false;
          leaders += static_cast<int>(*v);
        }
        return leaders == 1;
      },
      10000));

  // Writes show in the counters: requests by verb and code, the store's files and bytes.
  auto cl = test::clientFor(c.client(1));
  REQUIRE(cl.set("/web/a", "12345", -1));
  REQUIRE(cl.set("/web/b", "678", -1));
  REQUIRE(cl.set("/web/a", "1", -1));
  REQUIRE(cl.del("/web/b", -1));
  // The store's size, as of the rev the same page reports, is what a WALK at that rev finds.
  auto local = test::clientFor(c.client(1), true);
  REQUIRE(test::eventually(
      [&] {
        const std::string m = test::httpRequest(c.node(1).web(), "/metrics").body;
        auto rev = test::metric(m, "cairn_applied_rev");
        auto files = test::metric(m, "cairn_store_files");
        auto bytes = test::metric(m, "cairn_store_value_bytes");
        if (!rev || !files || !bytes) return false;
        test::Files all = test::walkFiles(local, "/**", static_cast<std::int64_t>(*rev));
        std::size_t sum = 0;
        for (const auto& [path, f] : all)
          sum += f.second.size();
        return all.size() == *files && sum == *bytes && all.count("/web/a") == 1 &&
               all.count("/web/b") == 0;
      },
      10000));
  const std::string page = test::httpRequest(c.node(1).web(), "/metrics").body;
  CHECK(page.find("cairn_requests_total{verb=\"SET\",code=\"OK\"}") != std::string::npos);
  CHECK(page.find("cairn_request_duration_seconds_count{verb=\"SET\"}") != std::string::npos);

  const std::string web = c.node(1).web();
  CHECK(test::httpRequest(web, "/nope").status == 404);
  CHECK(test::httpRequest(web, "/metrics", "POST").status == 405);
  // HEAD (a load balancer's health check): the header with its length, no body.
  auto head = test::httpRequest(web, "/healthz", "HEAD");
  CHECK(head.status == 200);
  CHECK(head.contentLength == "3");
  CHECK(head.body.empty());
  // Bound to loopback, the server answers loopback names only: a site whose name was pointed at
  // 127.0.0.1 (DNS rebinding) gets nothing.
  CHECK(test::httpRequest(web, "/metrics", "GET", "evil.example:80").status == 403);
  CHECK(test::httpRequest(web, "/healthz", "GET", "localhost").status == 200);
  auto index = test::httpRequest(web, "/");
  CHECK(index.status == 200);
  CHECK(index.contentType == "text/html; charset=utf-8");
  CHECK(index.body.find("app.js") != std::string::npos);
  CHECK(test::httpRequest(web, "/app.js").status == 200);
  CHECK(test::httpRequest(web, "/style.css").status == 200);
  // A page of another site may not open the viewer's websocket through a user's browser.
  CHECK_THROWS(test::WebSocket(web, 0, "http://evil.example:80"));
  test::WebSocket same(web, 0, "http://" + web);
  CHECK(nextOf(same, "hello").value("readonly", false));

  // A node without a leader says so: kill the two others.
  c.kill9(2);
  c.kill9(3);
  REQUIRE(test::eventually(
      [&] {
        auto r = test::httpRequest(web, "/healthz");
        return r.status == 503 && r.body == "no leader known\n";
      },
      15000));
}

TEST_CASE(
    "web: the viewer reads directories, files, history and globs, streams every change, and "
    "answers bad requests with an error",
    "[integration][web]") {
  test::TempDir dir;
  test::Cluster c(dir.path(), 3, kWeb);
  REQUIRE(c.awaitLeader() != 0);
  auto cl = test::clientFor(c.clients());
  test::WebSocket ws(c.node(2).web());
  json hello = nextOf(ws, "hello");
  CHECK(hello.value("node", 0) == 2);
  CHECK(hello.value("readonly", false));
  CHECK(hello.value("history", 0) == 10000);
  REQUIRE(!nextOf(ws, "facts").empty());

  REQUIRE(cl.set("/app/config/url", "postgres://db1", -1));
  REQUIRE(cl.set("/app/config/url", "postgres://db2", -1));
  auto last = cl.set("/app/config/url", "{\"host\": \"db3\"}", -1);
  REQUIRE(last);
  REQUIRE(cl.set("/app/bin", std::string("\x00\xff\x10", 3), -1));
  // The change stream: each change, in order, the binary one in hex.
  std::vector<json> changes;
  while (changes.size() < 4) {
    json ch = nextOf(ws, "change");
    REQUIRE(!ch.empty());
    if (ch["path"].get<std::string>().rfind("/app/", 0) == 0) changes.push_back(ch);
  }
  CHECK(changes[0]["value"] == "postgres://db1");
  CHECK(changes[2]["rev"] == *last);
  CHECK(changes[3]["enc"] == "hex");
  CHECK(changes[3]["value"] == "00ff10");
  REQUIRE(test::awaitRev(c.client(2), *last + 1));

  json d = ask(ws, {{"op", "getdir"}, {"path", "/app"}});
  REQUIRE(d.contains("entries"));
  REQUIRE(d["entries"].size() == 2);
  CHECK(d["entries"][0] == json({{"name", "bin"}, {"rev", *last + 1}, {"dir", false}}));
  CHECK(d["entries"][1]["name"] == "config");
  CHECK(d["entries"][1]["dir"] == true);
  // Paged: one entry at a time, `next` to go on.
  json p1 = ask(ws, {{"op", "getdir"}, {"path", "/app"}, {"limit", 1}});
  REQUIRE(p1["entries"].size() == 1);
  REQUIRE(p1.value("next", "") == "bin");
  json p2 = ask(ws, {{"op", "getdir"}, {"path", "/app"}, {"limit", 1}, {"after", "bin"}});
  REQUIRE(p2["entries"].size() == 1);
  CHECK(p2["entries"][0]["name"] == "config");
  CHECK(!p2.contains("next"));

  json f = ask(ws, {{"op", "get"}, {"path", "/app/config/url"}});
  CHECK(f["value"] == "{\"host\": \"db3\"}");
  CHECK(f["enc"] == "text");
  CHECK(f["rev"] == *last);

  json h = ask(ws, {{"op", "history"}, {"path", "/app/config/url"}});
  REQUIRE(h["entries"].size() == 3);
  CHECK(h["entries"][0]["value"] == "{\"host\": \"db3\"}");  // newest first
  CHECK(h["entries"][2]["value"] == "postgres://db1");
  CHECK(h["entries"][0]["rev"] == *last);
  json h1 = ask(ws, {{"op", "history"}, {"path", "/app/config/url"}, {"limit", 1}});
  REQUIRE(h1["entries"].size() == 1);
  CHECK(h1["entries"][0]["rev"] == *last);

  json w = ask(ws, {{"op", "walk"}, {"glob", "/app/**"}});
  REQUIRE(w["entries"].size() == 2);
  CHECK(w["entries"][0]["path"] == "/app/bin");
  CHECK(w["entries"][1]["path"] == "/app/config/url");

  // A value over 64 KiB comes cut, with its size.
  REQUIRE(cl.set("/app/big", std::string(100000, 'x'), -1));
  REQUIRE(test::awaitRev(c.client(2), *last + 2));
  json big = ask(ws, {{"op", "get"}, {"path", "/app/big"}});
  CHECK(big["value"].get<std::string>().size() == 65536);
  CHECK(big["size"] == 100000);
  CHECK(big["truncated"] == true);
  json wb = ask(ws, {{"op", "walk"}, {"glob", "/app/big"}});
  REQUIRE(wb["entries"].size() == 1);
  CHECK(wb["entries"][0]["value"].get<std::string>().size() == 16384);  // shorter in lists
  CHECK(wb["entries"][0]["size"] == 100000);

  // Errors: the node's own codes, or BAD_REQUEST / RANGE / MISSING_ARG for what the viewer checks.
  CHECK(ask(ws, {{"op", "getdir"}, {"path", "/app/bin"}})["error"] == "NOTDIR");
  CHECK(ask(ws, {{"op", "getdir"}, {"path", "/nope"}})["error"] == "NOENT");
  CHECK(ask(ws, {{"op", "get"}, {"path", "no-slash"}})["error"] == "BAD_PATH");
  CHECK(ask(ws, {{"op", "get"}})["error"] == "MISSING_ARG");
  CHECK(ask(ws, {{"op", "getdir"}, {"path", "/"}, {"limit", 0}})["error"] == "RANGE");
  CHECK(ask(ws, {{"op", "set"}, {"path", "/x"}})["error"] == "BAD_REQUEST");
  ws.send("this is not json");
  json bad = nextOf(ws, "reply");
  CHECK(bad["error"] == "BAD_REQUEST");
  CHECK(bad["id"].is_null());
  // Wrong types, and a long path of non-ASCII characters (the node's error cuts it mid-character).
  CHECK(ask(ws, {{"op", 1}})["error"] == "BAD_REQUEST");
  CHECK(ask(ws, {{"op", "get"}, {"path", 7}})["error"] == "MISSING_ARG");
  CHECK(ask(ws, {{"op", "getdir"}, {"path", "/"}, {"limit", "ten"}})["error"] == "RANGE");
  std::string accents = "/";
  for (int i = 0; i < 300; ++i)
    accents += "\xc3\xa9";
  json odd = ask(ws, {{"op", "get"}, {"path", accents}});
  CHECK(odd["error"] == "BAD_PATH");
  json oddGlob = ask(ws, {{"op", "walk"}, {"glob", accents + "/**"}});
  CHECK(oddGlob["error"] == "BAD_PATH");
  // ... and the connection still serves, and the node is healthy.
  CHECK(ask(ws, {{"op", "get"}, {"path", "/app/bin"}})["value"] == "00ff10");
  CHECK(test::eventually([&] { return healthy(c.node(2).web()); }, 5000));
  REQUIRE(cl.set("/app/after", "x", -1));
  json after = nextOf(ws, "change");
  while (!after.empty() && after["path"] != "/app/after")
    after = nextOf(ws, "change");
  CHECK(after["path"] == "/app/after");
}

TEST_CASE("web: the cluster view marks a killed node down within 3 s, and up again once it is back",
          "[integration][web]") {
  test::TempDir dir;
  test::Cluster c(dir.path(), 3, kWeb);
  REQUIRE(c.awaitLeader() != 0);
  test::WebSocket ws(c.node(1).web());
  auto member = [](const json& cluster, int id) {
    for (const json& m : cluster["members"]) {
      if (m["id"] == id) return m;
    }
    return json::object();
  };
  auto awaitCluster = [&](auto pred, int timeoutMs) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < deadline) {
      json cl = nextOf(ws, "cluster", timeoutMs);
      if (!cl.empty() && pred(cl)) return cl;
    }
    return json::object();
  };
  json all = awaitCluster(
      [&](const json& cl) {
        return cl["members"].size() == 3 && member(cl, 2)["up"] == true &&
               member(cl, 3)["up"] == true;
      },
      10000);
  REQUIRE(!all.empty());
  CHECK(member(all, 1)["self"] == true);
  CHECK(all["leader"].get<int>() >= 1);
  CHECK(member(all, 3)["role"] == "voter");
  CHECK(member(all, 3).contains("rev"));

  const auto killed = std::chrono::steady_clock::now();
  c.kill9(3);
  json down = awaitCluster([&](const json& cl) { return member(cl, 3)["up"] == false; }, 5000);
  REQUIRE(!down.empty());
  const auto took = std::chrono::steady_clock::now() - killed;
  CHECK(took < std::chrono::seconds(3));
  CHECK(member(down, 3)["state"] == "down");
  CHECK(!member(down, 3)["error"].get<std::string>().empty());
  CHECK(member(down, 2)["up"] == true);

  c.restart(3);
  CHECK(!awaitCluster([&](const json& cl) { return member(cl, 3)["up"] == true; }, 10000).empty());
}

TEST_CASE(
    "web: a viewer that never reads is dropped while 5,000 writes flow, the others get every "
    "change, and the node's memory stays bounded",
    "[integration][web]") {
  test::TempDir dir;
  test::Cluster c(dir.path(), 3, kWeb);
  REQUIRE(c.awaitLeader() != 0);
  const std::string web = c.node(1).web();
  // A small receive buffer: the kernel holds little of what the server writes to it.
  test::WebSocket stuck(web, 4096);
  test::WebSocket reader(web);
  REQUIRE(!nextOf(reader, "hello").empty());
  REQUIRE(test::eventually(
      [&] {
        auto v = test::metric(test::httpRequest(web, "/metrics").body, "cairn_web_clients");
        return v && *v == 2;
      },
      5000));

  client::Options o;
  o.endpoints = {c.client(1)};
  o.exactlyOnce = false;
  client::Client cl(o);
  const std::string value(1024, 'v');
  std::int64_t lastRev = 0;
  std::set<std::string> seen;
  double mostQueued = 0;  // bytes waiting for viewers, sampled as the writes go
  for (int i = 0; i < 5000; ++i) {
    auto r = cl.set("/load/k" + std::to_string(i), value, -1);
    REQUIRE(r);
    lastRev = *r;
    if (i % 250 == 0) {
      auto q = test::metric(test::httpRequest(web, "/metrics").body, "cairn_web_queued_bytes");
      REQUIRE(q);
      mostQueued = std::max(mostQueued, *q);
    }
    // The reader keeps up as it goes (a viewer that reads).
    while (auto m = reader.next(0)) {
      json j = json::parse(*m);
      if (j.value("type", "") == "change" && j["path"].get<std::string>().rfind("/load/", 0) == 0)
        seen.insert(j["path"].get<std::string>());
    }
  }
  while (seen.size() < 5000) {
    auto m = reader.next(5000);
    REQUIRE(m);
    json j = json::parse(*m);
    if (j.value("type", "") == "change" && j["path"].get<std::string>().rfind("/load/", 0) == 0)
      seen.insert(j["path"].get<std::string>());
  }
  CHECK(seen.size() == 5000);
  CHECK(!reader.ended());

  const std::string page = test::httpRequest(web, "/metrics").body;
  CHECK(test::metric(page, "cairn_web_clients_dropped_total") == Approx(1));
  CHECK(test::metric(page, "cairn_web_clients") == Approx(1));
  // Each viewer's queue holds 4 MiB at most (and one message past it).
  INFO("most bytes queued for the two viewers: " << mostQueued);
  CHECK(mostQueued <= 2 * (4 << 20) + 2 * 4096);
  CHECK(healthy(web));
  CHECK(test::awaitRev(c.client(1), lastRev));
  // The stuck viewer's connection was closed: once it reads, it finds the end.
  while (stuck.next(2000)) {
  }
  CHECK(stuck.ended());
}

TEST_CASE(
    "web: a real Prometheus server scraping the three nodes sees every node up and exactly "
    "one leading",
    "[integration][web]") {
  REQUIRE(::access("/usr/bin/prometheus", X_OK) == 0);  // tools/dev.sh installs prometheus
  test::TempDir dir;
  test::Cluster c(dir.path(), 3, kWeb);
  REQUIRE(c.awaitLeader() != 0);
  const std::string config = dir.path() + "/prometheus.yml";
  {
    std::ofstream f(config);
    f << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      << "scrape_configs:\n  - job_name: cairn\n    static_configs:\n      - targets: ['"
      << c.node(1).web() << "', '" << c.node(2).web() << "', '" << c.node(3).web() << "']\n";
  }
  const std::string listen = "127.0.0.1:" + std::to_string(test::freePort());
  test::BackgroundProgram prom(
      {"/usr/bin/prometheus", "--config.file=" + config,
       "--storage.tsdb.path=" + dir.path() + "/tsdb", "--web.listen-address=" + listen},
      dir.path() + "/prometheus.log");
  auto query = [&](const std::string& q) {
    auto r = test::httpRequest(listen, "/api/v1/query?query=" + q);
    if (r.status != 200) return json::array();
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return json::array();
    return j["data"]["result"];
  };
  // Every target up (Prometheus's own series for each scrape).
  REQUIRE(test::eventually(
      [&] {
        json up = query("up");
        if (up.size() != 3) return false;
        for (const json& s : up) {
          if (s["value"][1] != "1") return false;
        }
        return true;
      },
      30000));
  // Exactly one node reports leading.
  REQUIRE(test::eventually(
      [&] {
        json leading = query("sum(cairn_is_leader)");
        return leading.size() == 1 && leading[0]["value"][1] == "1";
      },
      15000));
  json nodes = query("cairn_node_id");
  CHECK(nodes.size() == 3);
}
