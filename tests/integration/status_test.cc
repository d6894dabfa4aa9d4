// `cairn status` against real 3-node clusters: one row per node, found through --addr and /ctl,
// asked at once, a dead node shown as down, and the exit code that says whether all is well.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/node_process.h"

using namespace cairn;

namespace {

test::RunResult status(const std::string& addr, std::vector<std::string> more = {}) {
  std::vector<std::string> argv = {CAIRN_BIN, "--addr", addr, "status"};
  argv.insert(argv.end(), more.begin(), more.end());
  return test::runProgram(argv);
}

// The table's rows below its header, each split into its columns:
// ENDPOINT ID ROLE LEADER REV LAG UPTIME FSYNC.
std::vector<std::vector<std::string>> rows(const std::string& table) {
  std::vector<std::vector<std::string>> out;
  std::istringstream lines(table);
  std::string line;
  bool header = true;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> cols;
    for (std::string w; words >> w;)
      cols.push_back(w);
    if (header) {
      header = false;
      if (cols.empty() || cols[0] != "ENDPOINT") return {};
      continue;
    }
    out.push_back(cols);
  }
  return out;
}

const std::vector<std::string>* rowOf(const std::vector<std::vector<std::string>>& rs,
                                      const std::string& endpoint) {
  for (const auto& r : rs) {
    if (!r.empty() && r[0] == endpoint) return &r;
  }
  return nullptr;
}

int leaders(const std::vector<std::vector<std::string>>& rs) {
  int n = 0;
  for (const auto& r : rs)
    n += r.size() == 8 && r[2] == "leader";
  return n;
}

// Parses each line of `jsonLines` with Python's json module; prints "id up role" per line, or
// fails (exit 1) if a line is not one JSON object.
test::RunResult parseJsonLines(const std::string& jsonLines) {
  return test::runProgram({"/usr/bin/python3", "-c",
                           "import json, sys\n"
                           "for line in sys.stdin:\n"
                           "    o = json.loads(line)\n"
                           "    assert isinstance(o, dict)\n"
                           "    print(o.get('id', 0), str(o['up']).lower(), o.get('role', '-'))\n"},
                          jsonLines);
}

}  // namespace

TEST_CASE("cli status: every node of a healthy cluster has a row, exactly one leads, exit 0",
          "[integration][cli]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  const int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  auto r = status(c.clients());
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  auto rs = rows(r.out);
  REQUIRE(rs.size() == 3);
  CHECK(leaders(rs) == 1);
  for (int id = 1; id <= 3; ++id) {
    const auto* row = rowOf(rs, c.client(id));
    REQUIRE(row != nullptr);
    REQUIRE(row->size() == 8);
    CHECK((*row)[1] == std::to_string(id));
    CHECK((*row)[2] == (id == leader ? "leader" : "follower"));
    CHECK((*row)[3] == std::to_string(leader));
  }
  auto j = status(c.clients(), {"--json"});
  CHECK(j.code == 0);
  auto parsed = parseJsonLines(j.out);
  INFO(j.out << parsed.err);
  CHECK(parsed.code == 0);
  const std::string role1 = leader == 1 ? "leader" : "follower";
  CHECK(parsed.out.find("1 true " + role1 + "\n") != std::string::npos);
  CHECK(std::count(parsed.out.begin(), parsed.out.end(), '\n') == 3);
}

TEST_CASE("cli status: the members /ctl lists are asked too, when --addr names one node",
          "[integration][cli]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  test::RunResult r;
  // Each node writes its client endpoint into /ctl once it is up: poll until all three did.
  bool all = test::eventually([&] {
    r = status(c.client(2));
    return rows(r.out).size() == 3;
  });
  INFO(r.out << r.err);
  REQUIRE(all);
  CHECK(r.code == 0);
  for (int id = 1; id <= 3; ++id)
    CHECK(rowOf(rows(r.out), c.client(id)) != nullptr);
  // The same endpoint twice in --addr is one node, one row.
  r = status(c.client(2) + "," + c.client(2));
  CHECK(rows(r.out).size() == 3);
}

TEST_CASE("cli status: a killed node's row says down, the others are up, exit 2",
          "[integration][cli]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  const std::string all = c.clients();
  const std::string dead = c.client(2);
  // Wait until /ctl lists every node, so that a node's id is known even once it is dead.
  REQUIRE(test::eventually([&] { return rows(status(c.client(1)).out).size() == 3; }));
  c.kill9(2);
  REQUIRE(c.awaitLeader() > 0);

  for (const std::string& addr : {all, c.client(1)}) {  // named in --addr, or known from /ctl
    auto r = status(addr);
    INFO("--addr " << addr << "\n" << r.out << r.err);
    CHECK(r.code == 2);
    auto rs = rows(r.out);
    REQUIRE(rs.size() == 3);
    const auto* down = rowOf(rs, dead);
    REQUIRE(down != nullptr);
    REQUIRE(down->size() == 8);
    CHECK((*down)[1] == "2");
    CHECK((*down)[2] == "down");
    for (int id : {1, 3}) {
      const auto* up = rowOf(rs, c.client(id));
      REQUIRE(up != nullptr);
      CHECK(((*up)[2] == "leader" || (*up)[2] == "follower"));
    }
    CHECK(leaders(rs) == 1);
    CHECK(r.err.find(dead + " (node 2) is down") != std::string::npos);
  }

  auto j = status(all, {"--json"});
  CHECK(j.code == 2);
  auto parsed = parseJsonLines(j.out);
  INFO(j.out << parsed.err);
  CHECK(parsed.code == 0);
  CHECK(std::count(parsed.out.begin(), parsed.out.end(), '\n') == 3);
  CHECK(parsed.out.find("2 false -\n") != std::string::npos);
  CHECK(j.out.find("{\"endpoint\":\"" + dead + "\",\"up\":false,\"id\":2,") != std::string::npos);
}
