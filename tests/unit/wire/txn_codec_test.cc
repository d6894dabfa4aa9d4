#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include <string>

#include "wire/codec.h"

using namespace cairn::wire;

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

void str(Packer& p, const std::string& s) {
  p.pack_str(static_cast<std::uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// {"verb": "TXN", key: [one map built by `fill` with `n` entries]}
template <class F>
std::string txnWith(const std::string& key, std::uint32_t n, F&& fill) {
  msgpack::sbuffer b;
  Packer p(b);
  p.pack_map(2);
  str(p, "verb");
  str(p, "TXN");
  str(p, key);
  p.pack_array(1);
  p.pack_map(n);
  fill(p);
  return std::string(b.data(), b.size());
}

}  // namespace

TEST_CASE("wire: a TXN request round-trips", "[unit][wire][txn]") {
  Request r;
  r.verb = Verb::kTxn;
  Txn t;
  Compare c1;
  c1.path = "/a";
  c1.target = Compare::Target::kRev;
  c1.rev = 4;
  c1.cmp = Compare::Cmp::kLt;
  Compare c2;
  c2.path = "/b";
  c2.target = Compare::Target::kValue;
  c2.value = std::string("\0bin", 4);
  c2.cmp = Compare::Cmp::kNe;
  Compare c3;
  c3.path = "/c";
  c3.target = Compare::Target::kExists;
  c3.exists = false;
  t.compares = {c1, c2, c3};
  TxnOp set;
  set.kind = TxnOp::Kind::kSet;
  set.path = "/a";
  set.rev = 0;
  set.value = "v";
  set.lease = 3;
  TxnOp del;
  del.kind = TxnOp::Kind::kDel;
  del.path = "/b";
  del.rev = -1;
  TxnOp tree;
  tree.kind = TxnOp::Kind::kDelTree;
  tree.path = "/d";
  tree.rev = 9;
  TxnOp get;
  get.kind = TxnOp::Kind::kGet;
  get.path = "/e";
  t.then = {set, del, tree};
  t.otherwise = {get};
  r.txn = t;
  Request back;
  REQUIRE(decodeRequest(encodeRequest(r), DecodeLimits{}, &back).isOk());
  CHECK(back.verb == Verb::kTxn);
  REQUIRE(back.txn);
  CHECK(*back.txn == t);

  Reply rep;
  rep.rev = 12;
  rep.succeeded = false;
  Entry e;
  e.op = "deltree";
  e.path = "/d";
  e.rev = 12;
  e.len = 3;
  Entry g;
  g.op = "get";
  g.path = "/e";
  g.rev = 5;
  g.value = "x";
  g.lease = 2;
  rep.results = std::vector<Entry>{e, g};
  auto dec = decodeReply(encodeReply(rep));
  REQUIRE(dec);
  CHECK(dec->succeeded == false);
  REQUIRE(dec->results);
  REQUIRE(dec->results->size() == 2);
  CHECK((*dec->results)[0].len == 3);
  CHECK((*dec->results)[0].path == "/d");
  CHECK((*dec->results)[1].lease == 2);
  CHECK((*dec->results)[1].value == "x");
}

TEST_CASE("wire: a TXN's elements are checked and their errors say where", "[unit][wire][txn]") {
  struct Case {
    std::string bytes;
    Err want;
    std::string detail;
  };
  const Case cases[] = {
      {txnWith("if", 1, [](Packer& p) { str(p, "path"), str(p, "/a"); }), Err::kMissingArg,
       "if[0]: a compare names exactly one of \"rev\", \"value\" and \"exists\""},
      {txnWith("if", 3,
               [](Packer& p) {
                 str(p, "path"), str(p, "/a"), str(p, "rev"), p.pack_int64(1);
                 str(p, "exists"), p.pack_true();
               }),
       Err::kBadRequest, "if[0]: a compare names exactly one of \"rev\", \"value\" and \"exists\""},
      {txnWith("if", 3,
               [](Packer& p) {
                 str(p, "path"), str(p, "/a"), str(p, "rev"), p.pack_int64(1);
                 str(p, "cmp"), str(p, "<=");
               }),
       Err::kBadRequest, "if[0]: \"cmp\" is \"<=\"; it must be \"=\", \"!=\", \"<\" or \">\""},
      {txnWith("if", 3,
               [](Packer& p) {
                 str(p, "path"), str(p, "/a"), str(p, "exists"), p.pack_true();
                 str(p, "cmp"), str(p, "<");
               }),
       Err::kBadRequest, "if[0]: \"exists\" compares only with \"=\""},
      {txnWith("if", 1, [](Packer& p) { str(p, "rev"), p.pack_int64(1); }), Err::kMissingArg,
       "if[0]: missing \"path\""},
      {txnWith("then", 1, [](Packer& p) { str(p, "path"), str(p, "/a"); }), Err::kMissingArg,
       "then[0]: missing \"op\" (get, set, del or deltree)"},
      {txnWith("then", 2,
               [](Packer& p) { str(p, "op"), str(p, "put"), str(p, "path"), str(p, "/a"); }),
       Err::kBadRequest, "then[0]: \"op\" is \"put\"; it must be get, set, del or deltree"},
      {txnWith("else", 3,
               [](Packer& p) {
                 str(p, "op"), str(p, "SET"), str(p, "path"), str(p, "/a");
                 str(p, "value"), str(p, "v");
               }),
       Err::kMissingArg, "else[0]: missing \"rev\" (-1 to clobber, 0 to create)"},
      {txnWith("then", 3,
               [](Packer& p) {
                 str(p, "op"), str(p, "set"), str(p, "path"), str(p, "/a");
                 str(p, "rev"), p.pack_int64(0);
               }),
       Err::kMissingArg, "then[0]: missing \"value\""},
      {txnWith("then", 3,
               [](Packer& p) {
                 str(p, "op"), str(p, "del"), str(p, "path"), str(p, "/a");
                 str(p, "rev"), p.pack_int64(-2);
               }),
       Err::kRange, "then[0]: rev must be -1, 0 or a positive revision"},
      {txnWith("then", 3,
               [](Packer& p) {
                 str(p, "op"), str(p, "get"), str(p, "path"), str(p, "/a");
                 str(p, "rev"), str(p, "1");
               }),
       Err::kBadRequest, "then[0]: field \"rev\" must be an integer that fits int64"},
  };
  for (const Case& c : cases) {
    Request r;
    Status s = decodeRequest(c.bytes, DecodeLimits{}, &r);
    CHECK(s.code() == c.want);
    CHECK(s.detail() == c.detail);
  }
  // A list that is not an array, and an element that is not a map.
  msgpack::sbuffer b;
  Packer p(b);
  p.pack_map(2);
  str(p, "verb");
  str(p, "txn");
  str(p, "then");
  p.pack_array(1);
  p.pack_int64(3);
  Request r;
  Status s = decodeRequest(std::string(b.data(), b.size()), DecodeLimits{}, &r);
  CHECK(s.code() == Err::kBadRequest);
  CHECK(s.detail() == "then[0]: an operation must be a map");
}
