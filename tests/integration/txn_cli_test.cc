// Transactions from the command line and the C++ client against real cairnd processes: cairn txn
// (JSON in, one JSON object out), cairn del -R (a subtree at one rev), and which TXNs the client
// sends again after a lost reply.

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/node_process.h"

using namespace cairn;

namespace {

using test::Cli;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("txn cli: then runs when every compare holds, else when one does not, results printed",
          "[integration][txn]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/config/mode", "blue"}).code == 0);  // rev 1
  REQUIRE(cairn({"set", "/config/size", "3"}).code == 0);     // rev 2
  const std::string txn = R"({
    "if":   [{"path": "/config/mode", "value": "blue"},
             {"path": "/config/size", "rev": 3, "cmp": "<"}],
    "then": [{"op": "set", "path": "/config/mode", "rev": 1, "value": "green"},
             {"op": "set", "path": "/config/bin", "rev": 0, "value_b64": "//4="},
             {"op": "get", "path": "/config/size"},
             {"op": "get", "path": "/config/none"}],
    "else": [{"op": "get", "path": "/config/mode"}]
  })";
  auto r = cairn({"txn"}, txn);  // no FILE: stdin
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == R"({"succeeded":true,"rev":3,"results":[)"
                 R"({"op":"set","path":"/config/mode","rev":3},)"
                 R"({"op":"set","path":"/config/bin","rev":3},)"
                 R"({"op":"get","path":"/config/size","rev":2,"value":"3"},)"
                 R"({"op":"get","path":"/config/none","rev":0}]})"
                 "\n");
  CHECK(cairn({"get", "/config/mode"}).out == "green");
  CHECK(cairn({"get", "--json", "/config/bin"}).out.find(R"("rev":3,"value_b64":"//4=")") !=
        std::string::npos);

  // The same again: /config/mode is green now, so "else" runs; it writes nothing, and the rev
  // printed is the head's.
  r = cairn({"txn", "-"}, txn);
  CHECK(r.code == 0);
  CHECK(r.out == R"({"succeeded":false,"rev":3,"results":[)"
                 R"({"op":"get","path":"/config/mode","rev":3,"value":"green"}]})"
                 "\n");
  CHECK(cairn({"rev"}).out == "3\n");

  // From a FILE, and --json changes nothing: the outcome is JSON anyway.
  const std::string file = d.path() + "/t.json";
  std::ofstream(file) << R"({"if": [{"path": "/config/gone", "exists": false}],
                             "then": [{"op": "del", "path": "/config/size", "rev": 2}]})";
  r = cairn({"txn", "--json", file});
  CHECK(r.code == 0);
  CHECK(r.out ==
        R"({"succeeded":true,"rev":4,"results":[{"op":"del","path":"/config/size","rev":4}]})"
        "\n");
  CHECK(cairn({"get", "/config/size"}).code == 3);
}

TEST_CASE("txn cli: an operation that fails fails the whole transaction, and nothing is applied",
          "[integration][txn]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/a", "1"}).code == 0);  // rev 1
  REQUIRE(cairn({"set", "/b", "2"}).code == 0);  // rev 2
  // The first operation would succeed on its own; the second finds /a at rev 1, not created.
  auto r = cairn({"txn"}, R"({"then": [{"op": "set", "path": "/b", "rev": -1, "value": "new"},
                                       {"op": "set", "path": "/a", "rev": 0, "value": "x"}]})");
  CHECK(r.code == 1);  // REV_MISMATCH, as cairn set and add exit
  CHECK(r.out.empty());
  CHECK(r.err ==
        "cairn: then[1] (set /a): file is at rev 1, request has 0 (REV_MISMATCH); nothing was "
        "applied\n");
  CHECK(cairn({"get", "/b"}).out == "2");
  CHECK(cairn({"get", "/a"}).out == "1");
  CHECK(cairn({"rev"}).out == "2\n");  // no rev was consumed
  // A NOENT in the else branch: exit 3, as for cairn del.
  r = cairn({"txn"}, R"({"if": [{"path": "/a", "rev": 7}],
                         "else": [{"op": "del", "path": "/nope", "rev": -1}]})");
  CHECK(r.code == 3);
  CHECK(r.err.find("else[0] (del /nope): /nope does not exist (NOENT)") != std::string::npos);
  CHECK(cairn({"rev"}).out == "2\n");
}

TEST_CASE("txn cli: input that is not a transaction is a usage error naming where, nothing sent",
          "[integration][txn]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/a", "1"}).code == 0);  // rev 1
  auto r = cairn({"txn"}, "{\"then\": [\n  {\"op\": \"set\", \"path\": \"/a\" \"rev\": -1}\n]}");
  CHECK(r.code == 127);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("cairn: stdin: not valid JSON: parse error at line 2, column", 0) == 0);
  CHECK(r.err.find("(cairn txn --help describes it)") != std::string::npos);
  r = cairn({"txn"}, R"({"then": [{"op": "get", "path": "/a"},
                                  {"op": "set", "path": "/a", "rev": "1", "value": "x"}]})");
  CHECK(r.code == 127);
  CHECK(r.err.rfind("cairn: stdin: then[1].rev: must be an integer, not \"1\"\n", 0) == 0);
  r = cairn({"txn"}, R"({"then": [{"op": "set", "path": "/a", "rev": -1, "value": 5}]})");
  CHECK(r.code == 127);
  CHECK(r.err.rfind("cairn: stdin: then[0].value: must be a string, not 5\n", 0) == 0);
  r = cairn({"txn"}, "");
  CHECK(r.code == 127);
  CHECK(r.err.find("the input is empty") != std::string::npos);
  r = cairn({"txn", d.path() + "/missing.json"});
  CHECK(r.code == 2);
  CHECK(r.err.find("cannot read " + d.path() + "/missing.json: No such file") != std::string::npos);
  CHECK(cairn({"get", "/a"}).out == "1");
  CHECK(cairn({"rev"}).out == "1\n");
}

TEST_CASE("cli: del -R deletes a subtree at one rev and says how many files went",
          "[integration][txn]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  for (const char* path : {"/t/x/1", "/t/x/2", "/t/y", "/tt", "/keep"})
    REQUIRE(cairn({"set", path, "v"}).code == 0);  // revs 1..5
  auto r = cairn({"del", "-R", "/t"});
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == "deleted /t: rev 6, 3 files\n");
  r = cairn({"get", "/t/x/1"});
  CHECK(r.code == 3);
  CHECK(r.err == "cairn: no such file: /t/x/1\n");
  CHECK(cairn({"ls", "/"}).out == "keep\ntt\n");  // /tt only shares a prefix: it stays
  CHECK(cairn({"rev"}).out == "6\n");             // one rev for the three
  // The changes at the first rev from 6 that has any: all three, at rev 6.
  r = cairn({"wait", "--rev", "6", "/t/**"});
  CHECK(r.out == "6 del /t/x/1\n6 del /t/x/2\n6 del /t/y\n");
  // A file is a subtree of one; --json; and --recursive is -R.
  r = cairn({"del", "--recursive", "--json", "/tt"});
  CHECK(r.code == 0);
  CHECK(r.out == R"({"path":"/tt","rev":7,"deleted":1})"
                 "\n");
  // --rev compares with the directory's rev, as a compare-and-set.
  REQUIRE(cairn({"set", "/u/a", "1"}).code == 0);  // rev 8
  REQUIRE(cairn({"set", "/u/b", "2"}).code == 0);  // rev 9
  r = cairn({"del", "-R", "--rev", "8", "/u"});
  CHECK(r.code == 1);
  CHECK(r.err.find("/u changed after rev 8: it is at rev 9 now (REV_MISMATCH); nothing deleted") !=
        std::string::npos);
  CHECK(cairn({"del", "-R", "--rev", "9", "/u"}).out == "deleted /u: rev 10, 2 files\n");
}

TEST_CASE("cli: del without -R keeps its meaning, -r being --rev", "[integration][txn]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/d/a", "1"}).code == 0);  // rev 1
  REQUIRE(cairn({"set", "/d/a", "2"}).code == 0);  // rev 2
  auto r = cairn({"del", "-r", "1", "/d/a"});
  CHECK(r.code == 1);
  CHECK(r.err.find("REV_MISMATCH") != std::string::npos);
  r = cairn({"del", "/d"});  // a directory, without -R: refused as before
  CHECK(r.code == 2);
  CHECK(r.err.find("/d is a directory (ISDIR)") != std::string::npos);
  r = cairn({"del", "-r", "2", "/d/a"});
  CHECK(r.code == 0);
  CHECK(r.out == "3\n");
}

TEST_CASE("cli: del -R / is refused, since / holds /ctl", "[integration][txn]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/a", "1"}).code == 0);
  auto r = cairn({"del", "-R", "/"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "cairn: cannot delete /: / holds /ctl, which only the nodes write (READONLY)\n");
  r = cairn({"del", "-R", "/ctl"});
  CHECK(r.code == 2);
  CHECK(r.err.find("cannot delete /ctl: ") != std::string::npos);
  CHECK(r.err.find("(READONLY)") != std::string::npos);
  CHECK(cairn({"get", "/a"}).out == "1");
}

TEST_CASE("cli: del -R of a missing path is NOENT, exit 3", "[integration][txn]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/a/b", "1"}).code == 0);
  auto r = cairn({"del", "-R", "/a/c"});
  CHECK(r.code == 3);
  CHECK(r.out.empty());
  CHECK(r.err == "cairn: no such file or directory: /a/c (NOENT)\n");
  r = cairn({"del", "-R", "/a/b/c"});  // below a file
  CHECK(r.code == 3);
  CHECK(cairn({"rev"}).out == "1\n");
}

TEST_CASE("cli: del -R of more files than one rev may change prints the node's TOO_LARGE",
          "[integration][txn]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  // 10,033 files under /big, 127 per transaction (with the C++ client's txn).
  auto c = test::clientFor(n.client());
  for (int b = 0; b < 79; ++b) {
    wire::Txn t;
    for (int i = 0; i < 127; ++i) {
      t.then.push_back(
          wire::TxnOp::set("/big/d" + std::to_string(b) + "/f" + std::to_string(i), "x", -1));
    }
    auto r = c.txn(t);
    REQUIRE(r.isOk());
    REQUIRE(r->succeeded);
    REQUIRE(r->results.size() == 127);
  }
  const std::int64_t head = *c.rev();
  auto r = cairn({"del", "-R", "/big"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "cairn: cannot delete /big: a transaction changes at most 10000 files (a rev is "
        "delivered whole); this one would change more: delete in parts (TOO_LARGE)\n");
  CHECK(*c.rev() == head);
  CHECK(test::walkFiles(c, "/big/**").size() == 79 * 127);
  r = cairn({"del", "-R", "/big/d0"});  // in parts, it goes
  CHECK(r.out == "deleted /big/d0: rev " + std::to_string(head + 1) + ", 127 files\n");
}

TEST_CASE("client: a TXN of gets is sent again after a lost reply, one that writes is not",
          "[integration][txn]") {
  test::TempDir d;
  test::Cluster cluster(d.path(), 3);
  const int leader = cluster.awaitLeader();
  REQUIRE(leader > 0);
  const int f1 = leader == 1 ? 2 : 1, f2 = 6 - leader - f1;
  client::Options o;
  o.endpoints = {cluster.client(f1), cluster.client(f2)};  // the followers only: they forward
  o.timeout = std::chrono::milliseconds(1500);
  o.preferLeader = false;  // no SELF before a TXN: what goes again is the TXN itself
  o.exactlyOnce = false;   // no session: a write is never sent twice (PROTOCOL.md 5.1)
  client::Client c(o);
  wire::Txn write;
  write.then.push_back(wire::TxnOp::set("/w", "1", -1));
  auto first = c.txn(write);
  REQUIRE(first.isOk());
  const int on = c.endpoint() == cluster.client(f1) ? f1 : f2;
  const int other = on == f1 ? f2 : f1;

  // The node in use stops (SIGSTOP): a TXN of gets times out there and goes to the other.
  cluster.node(on).pause();
  wire::Txn read;
  read.then.push_back(wire::TxnOp::get("/w"));
  auto got = c.txn(read);
  cluster.node(on).resume();
  REQUIRE(got.isOk());
  CHECK(got->succeeded);
  REQUIRE(got->results.size() == 1);
  CHECK(got->results[0].value == std::optional<std::string>("1"));
  // It wrote nothing: its rev is the head's (the nodes' own /ctl upkeep may have moved it since
  // the write), and the file is still at the write's rev.
  CHECK(got->rev >= first->rev);
  CHECK(got->results[0].rev == first->rev);
  CHECK(c.endpoint() == cluster.client(other));

  // Now that one stops: a TXN that writes is not sent again, its outcome unknown.
  cluster.node(other).pause();
  write.then[0].value = "2";
  auto lost = c.txn(write);
  cluster.node(other).resume();
  REQUIRE(!lost.isOk());
  CHECK(lost.status().code() == wire::Err::kTimeout);
  CHECK(lost.status().detail().find("may or may not have been applied") != std::string::npos);
  CHECK(count(lost.status().detail(), cluster.client(other)) == 1);  // one node tried
}

TEST_CASE(
    "txn client: a TXN of gets that its node answers TIMEOUT (the leader it went to stopped) "
    "is asked again and answered",
    "[integration][txn]") {
  test::TempDir d;
  test::Cluster cluster(d.path(), 3);
  const int leader = cluster.awaitLeader();
  REQUIRE(leader > 0);
  const int f1 = leader == 1 ? 2 : 1;
  client::Options o;
  o.endpoints = {cluster.client(f1)};           // one follower, which forwards to the leader
  o.timeout = std::chrono::milliseconds(8000);  // f1 answers before the client gives up on it
  client::Client c(o);
  REQUIRE(c.set("/r", "1", -1).isOk());
  // The leader stops with the TXN forwarded to it: f1 answers TIMEOUT once another leader is
  // elected (the slot's fate is unknown to it), and the client asks again.
  cluster.node(leader).pause();
  wire::Txn read;
  read.then.push_back(wire::TxnOp::get("/r"));
  auto got = c.txn(read);
  cluster.node(leader).resume();
  REQUIRE(got.isOk());
  REQUIRE(got->results.size() == 1);
  CHECK(got->results[0].value == std::optional<std::string>("1"));
  CHECK(test::counter(cluster.client(f1), "replies.TIMEOUT") >=
        1);  // the first answer was TIMEOUT: the answer came from a second ask
}
