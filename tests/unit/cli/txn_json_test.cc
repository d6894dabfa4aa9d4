// cairn txn's JSON (tools/txn_json.h): a transaction read from its wire form, errors that say
// where, and the outcome printed as one JSON object.

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "tools/json_text.h"
#include "tools/txn_json.h"
#include "wire/codec.h"

using namespace cairn;
using wire::Compare;
using wire::TxnOp;

namespace {

// The detail of the error parsing `text` gives ("" if it parses).
std::string errorOf(const std::string& text) {
  auto t = tools::parseTxnJson(text);
  if (t) return "";
  CHECK(t.status().code() == wire::Err::kBadRequest);
  return t.status().detail();
}

}  // namespace

TEST_CASE("txn json: every kind of compare and operation reads into the Txn it spells",
          "[unit][cli]") {
  const std::string text = R"({
    "verb": "TXN",
    "if": [{"path": "/a", "rev": 7},
           {"path": "/b", "value": "on", "cmp": "!="},
           {"path": "/c", "value_b64": "//4=", "cmp": "<"},
           {"path": "/d", "exists": false, "cmp": "=="},
           {"path": "/e", "rev": 0, "cmp": ">"}],
    "then": [{"op": "get", "path": "/a"},
             {"op": "set", "path": "/a", "rev": 7, "value": "caf\u00e9", "lease": 12},
             {"op": "DEL", "path": "/b", "rev": -1},
             {"op": "deltree", "path": "/old"},
             {"op": "deltree", "path": "/older", "rev": 3}],
    "else": [{"op": "set", "path": "/bin", "rev": 0, "value_b64": "AAE="}]
  })";
  auto t = tools::parseTxnJson(text);
  REQUIRE(t);
  wire::Txn want;
  want.compares = {Compare::revIs("/a", 7), Compare::valueIs("/b", "on", Compare::Cmp::kNe),
                   Compare::valueIs("/c", std::string("\xff\xfe", 2), Compare::Cmp::kLt),
                   Compare::existsIs("/d", false), Compare::revIs("/e", 0, Compare::Cmp::kGt)};
  want.then = {TxnOp::get("/a"), TxnOp::set("/a", "caf\xc3\xa9", 7, 12), TxnOp::del("/b", -1),
               TxnOp::delTree("/old", -1), TxnOp::delTree("/older", 3)};
  want.otherwise = {TxnOp::set("/bin", std::string("\0\1", 2), 0)};
  CHECK(*t == want);

  // And it crosses the wire unchanged: what the node decodes is what was read.
  wire::Request q;
  q.verb = wire::Verb::kTxn;
  q.txn = *t;
  wire::Request back;
  REQUIRE(wire::decodeRequest(wire::encodeRequest(q), wire::DecodeLimits{}, &back).isOk());
  REQUIRE(back.txn);
  CHECK(*back.txn == want);
}

TEST_CASE("txn json: a transaction may have any of if, then and else, each possibly empty",
          "[unit][cli]") {
  auto onlyIf = tools::parseTxnJson(R"({"if": [{"path": "/a", "exists": true}]})");
  REQUIRE(onlyIf);
  CHECK(onlyIf->compares.size() == 1);
  CHECK(onlyIf->then.empty());
  CHECK(onlyIf->otherwise.empty());
  auto empty = tools::parseTxnJson(R"({"then": []})");
  REQUIRE(empty);
  CHECK(*empty == wire::Txn{});
}

TEST_CASE("txn json: a member that is wrong, unknown or repeated is an error naming where",
          "[unit][cli]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"then":[{"op":"get","path":"/a"},{"op":"set","path":"/a","rev":"5","value":"x"}]})",
       R"(then[1].rev: must be an integer, not "5")"},
      {R"({"then":[{"op":"del","path":"/a","rev":1.5}]})",
       "then[0].rev: must be an integer, not 1.5"},
      {R"({"then":[{"op":"set","path":"/a","rev":18446744073709551615,"value":"x"}]})",
       "then[0].rev: must be an integer that fits 64 bits, not 18446744073709551615"},
      {R"({"then":[{"op":"set","path":"/a","rev":-2,"value":"x"}]})",
       "then[0].rev: must be -1, 0 or a revision, not -2"},
      {R"({"then":[{"op":"del","path":"/a"}]})", "then[0].rev: missing: a del needs one"},
      {R"({"then":[{"op":"get","path":"/a","rev":3}]})",
       "then[0].rev: a get reads the head; it takes no \"rev\""},
      {R"({"then":[{"op":"set","path":"/a","rev":-1,"value":5}]})",
       "then[0].value: must be a string, not 5"},
      {R"({"then":[{"op":"set","path":"/a","rev":-1}]})",
       "then[0].value: missing: a set needs \"value\" or \"value_b64\""},
      {R"({"then":[{"op":"set","path":"/a","rev":-1,"value":"x","value_b64":"eA=="}]})",
       "then[0]: has both \"value\" and \"value_b64\": give one"},
      {R"({"then":[{"op":"set","path":"/a","rev":-1,"value_b64":"not base64!"}]})",
       "then[0].value_b64: must be base64"},
      {R"({"else":[{"op":"del","path":"/a","rev":-1,"value":"x"}]})",
       "else[0].value: only a set has a value"},
      {R"({"else":[{"op":"del","path":"/a","rev":-1,"lease":3}]})",
       "else[0].lease: only a set has a lease"},
      {R"({"then":[{"op":"set","path":"/a","rev":-1,"value":"x","lease":0}]})",
       "then[0].lease: must be a lease id (>= 1), not 0"},
      {R"({"then":[{"op":"put","path":"/a"}]})",
       R"(then[0].op: must be "get", "set", "del" or "deltree", not "put")"},
      {R"({"then":[{"path":"/a"}]})", "then[0].op: missing"},
      {R"({"then":[{"op":"get"}]})", "then[0].path: missing"},
      {R"({"then":[{"op":"get","path":1}]})", "then[0].path: must be a string, not 1"},
      {R"({"then":[{"op":"get","path":"/a","valeu":"x"}]})", "then[0].valeu: unknown key"},
      {R"({"then":["get /a"]})", R"(then[0]: must be an object (an operation), not "get /a")"},
      {R"({"then":{}})", "then: must be an array of operations, not {}"},
      {R"({"if":[{"path":"/a","rev":1,"cpm":"!="}]})", "if[0].cpm: unknown key"},
      {R"({"if":[{"path":"/a","rev":1,"cmp":"~"}]})",
       R"(if[0].cmp: must be "=", "!=", "<" or ">", not "~")"},
      {R"({"if":[{"path":"/a"}]})", "if[0]: compares nothing"},
      {R"({"if":[{"rev":1}]})", "if[0].path: missing"},
      {R"({"if":[{"path":"/a","rev":1,"value":"x"}]})", R"(if[0]: has both "rev" and "value")"},
      {R"({"if":[{"path":"/a","exists":"yes"}]})",
       R"(if[0].exists: must be true or false, not "yes")"},
      {R"({"if":[{"path":"/a","exists":true,"cmp":"<"}]})",
       R"(if[0].cmp: "exists" compares only with "=")"},
      {R"({"if":"x"})", R"(if: must be an array of compares, not "x")"},
      {R"({"than":[]})", "than: unknown key (a transaction has \"if\", \"then\" and \"else\")"},
      {R"({"verb":"SET","then":[]})", R"(verb: must be "TXN" when given, not "SET")"},
      {R"([{"op":"get","path":"/a"}])", "the transaction: must be an object"},
      {R"({})", "the transaction: has none of \"if\", \"then\" and \"else\""},
      {R"({"then":[{"op":"get","path":"/a"},{"op":"get","path":"/b","path":"/c"}]})",
       R"(then[1]: the key "path" appears twice)"},
      {R"({"if":[],"if":[{"path":"/a","exists":true}]})",
       R"(the transaction: the key "if" appears twice)"},
  };
  for (const auto& [text, want] : cases) {
    INFO(text);
    const std::string got = errorOf(text);
    INFO(got);
    CHECK(got.rfind(want, 0) == 0);
  }
}

TEST_CASE("txn json: text that is not JSON is refused with its line and column", "[unit][cli]") {
  std::string e = errorOf("{\"then\": [\n  {\"op\": \"get\", }\n]}");
  CHECK(e.rfind("not valid JSON: parse error at line 2, column 17:", 0) == 0);
  e = errorOf("{\"then\": []} {}");  // one transaction only
  CHECK(e.rfind("not valid JSON: parse error at line 1, column 14:", 0) == 0);
  CHECK(e.find("expected end of input") != std::string::npos);
  e = errorOf("{\"then\":[{\"op\":\"set\",\"path\":\"/a\",\"rev\":-1,\"value\":\"\xff\"}]}");
  CHECK(e.rfind("not valid JSON:", 0) == 0);  // a "value" is UTF-8 text; bytes go in value_b64
  CHECK(e.find("UTF-8") != std::string::npos);
  CHECK(tools::validUtf8(e));  // and the message does not echo the bad byte
  CHECK(errorOf(" \n") == "no transaction: the input is empty");
  CHECK(errorOf("") == "no transaction: the input is empty");
}

TEST_CASE("txn json: the outcome is one JSON object, each result as its operation gave it",
          "[unit][cli]") {
  client::TxnReply r;
  r.succeeded = true;
  r.rev = 9;
  auto entry = [](const char* op, const char* path, std::int64_t rev) {
    wire::Entry e;
    e.op = op;
    e.path = path;
    e.rev = rev;
    return e;
  };
  r.results.push_back(entry("get", "/a", 4));
  r.results.back().value = "say \"hi\"\n";
  r.results.push_back(entry("get", "/bin", 5));
  r.results.back().value = std::string("\xff\xfe", 2);
  r.results.back().lease = 3;
  r.results.push_back(entry("get", "/missing", 0));
  r.results.back().value = "";  // what the node sends for a missing file
  r.results.push_back(entry("get", "/empty", 6));
  r.results.back().value = "";  // an empty file has its (empty) value
  r.results.push_back(entry("set", "/a", 9));
  r.results.push_back(entry("deltree", "/old", 9));
  r.results.back().len = 3;
  CHECK(tools::txnReplyJson(r) ==
        R"({"succeeded":true,"rev":9,"results":[)"
        R"({"op":"get","path":"/a","rev":4,"value":"say \"hi\"\n"},)"
        R"({"op":"get","path":"/bin","rev":5,"value_b64":"//4=","lease":3},)"
        R"({"op":"get","path":"/missing","rev":0},)"
        R"({"op":"get","path":"/empty","rev":6,"value":""},)"
        R"({"op":"set","path":"/a","rev":9},)"
        R"({"op":"deltree","path":"/old","rev":9,"len":3}]})");
  client::TxnReply none;
  none.rev = 4;
  CHECK(tools::txnReplyJson(none) == R"({"succeeded":false,"rev":4,"results":[]})");
}

TEST_CASE("json text: base64 reads back what it wrote, and nothing else", "[unit][cli]") {
  std::string bytes;
  for (int n = 0; n < 8; ++n) {
    std::string back;
    REQUIRE(tools::unbase64(tools::base64(bytes), &back));
    CHECK(back == bytes);
    bytes += static_cast<char>(0xf0 + n);
  }
  std::string out;
  CHECK(tools::unbase64("eA", &out));  // padding may be left out
  CHECK(out == "x");
  for (const char* bad : {"e", "eA=", "e===", "eA==eA==", "eB==", "e A=", "eA-_", "===="}) {
    INFO(bad);
    CHECK(!tools::unbase64(bad, &out));
  }
}
