// ClientService: a request in, one Action out — verb by verb, with no process and no socket.

#include <catch2/catch.hpp>

#include "tests/unit/node/rooms_support.h"
#include "wire/codec.h"

using namespace cairn;
using node::Action;
using test::request;
using test::setCmd;
using wire::Err;
using wire::Verb;
using Kind = Action::Kind;

namespace {

node::ClientService::Options cluster() {
  node::ClientService::Options o;
  o.cluster = true;
  return o;
}

wire::Request withRev(wire::Request r, std::int64_t rev) {
  r.rev = rev;
  return r;
}

}  // namespace

TEST_CASE("client service: REV and SELF answer at once", "[unit][node]") {
  test::Rooms t;
  (void)t.apply({setCmd("/a", "1"), setCmd("/b", "2")});
  Action a = t.service.handle(request(Verb::kRev), "");
  CHECK(a.kind == Kind::kReply);
  CHECK(a.reply.rev == 2);
  a = t.service.handle(request(Verb::kSelf), "");
  CHECK(a.kind == Kind::kReply);
  CHECK(a.reply.id == 7);  // from the node's describe hook
  CHECK(a.reply.version == std::string(CAIRN_VERSION));
  CHECK(a.reply.rev == 2);
}

TEST_CASE("client service: SET and DEL become writes with their compare-and-set rev",
          "[unit][node]") {
  test::Rooms t;
  wire::Request set = withRev(request(Verb::kSet, "/config/x"), 0);
  set.value = "v";
  set.tag = "\xa1t";
  Action a = t.service.handle(set, "");
  REQUIRE(a.kind == Kind::kWrite);
  CHECK(a.command == setCmd("/config/x", "v", 0));
  CHECK(a.tag == "\xa1t");
  CHECK(a.wait == node::kWriteTimeout);
  a = t.service.handle(withRev(request(Verb::kDel, "/config/x"), 4), "");
  REQUIRE(a.kind == Kind::kWrite);
  CHECK(a.command.op == wire::Command::Op::kDel);
  CHECK(a.command.rev == 4);
  a = t.service.handle(request(Verb::kNop), "");
  CHECK(a.kind == Kind::kWrite);
  CHECK(a.command.op == wire::Command::Op::kNop);
}

TEST_CASE("client service: writes it refuses, and why", "[unit][node]") {
  node::ClientService::Options small;
  small.maxValue = 4;
  test::Rooms t(small);
  auto refusal = [&](wire::Request r) {
    Action a = t.service.handle(std::move(r), "");
    REQUIRE(a.kind == Kind::kReply);
    return a.reply.err;
  };
  wire::Request set = withRev(request(Verb::kSet, "/a"), -1);
  set.value = "12345";
  CHECK(refusal(set) == Err::kTooLarge);
  set.value = "1234";
  CHECK(t.service.handle(set, "").kind == Kind::kWrite);
  CHECK(refusal(withRev(request(Verb::kSet, "/ctl/leader"), -1)) == Err::kReadonly);
  CHECK(refusal(withRev(request(Verb::kDel, "/ctl"), -1)) == Err::kReadonly);
  wire::Request ctlx = withRev(request(Verb::kSet, "/ctlx"), -1);  // only /ctl and below
  ctlx.value = "";
  CHECK(t.service.handle(ctlx, "").kind == Kind::kWrite);
  CHECK(refusal(withRev(request(Verb::kDel, "/"), -1)) == Err::kIsDir);
  CHECK(refusal(withRev(request(Verb::kDel, "/a//b"), -1)) == Err::kBadPath);
  CHECK(refusal(withRev(request(Verb::kDel, "/a"), -2)) == Err::kRange);
  CHECK(refusal(request(Verb::kDel, "/a")) == Err::kMissingArg);              // no rev
  CHECK(refusal(withRev(request(Verb::kSet, "/a"), 0)) == Err::kMissingArg);  // no value
  CHECK(refusal(withRev(request(Verb::kSet), 0)) == Err::kMissingArg);        // no path

  // Over the wire: a value over the limit still decodes, so TOO_LARGE echoes the tag.
  wire::Request big = withRev(request(Verb::kSet, "/a"), -1);
  big.value = std::string(5000, 'x');
  big.tag = "\xa3t-1";
  Action a = t.service.handle(wire::encodeRequest(big), "");
  REQUIRE(a.kind == Kind::kReply);
  CHECK(a.reply.err == Err::kTooLarge);
  CHECK(a.tag == big.tag);
  CHECK(a.reply.detail ==
        "the value is 5000 bytes; this cluster takes at most 4 (cairnd --max-value)");

  // "." and "..": refused wherever a path or glob is read, but DEL may remove such a file an
  // earlier version let in.
  wire::Request dot = withRev(request(Verb::kSet, "/dot/./x"), -1);
  dot.value = "1";
  CHECK(refusal(dot) == Err::kBadPath);
  CHECK(refusal(request(Verb::kGet, "/a/../b")) == Err::kBadPath);
  CHECK(refusal(request(Verb::kWalk, "/a/./**")) == Err::kBadPath);
  CHECK(t.service.handle(withRev(request(Verb::kDel, "/dot/./x"), -1), "").kind == Kind::kWrite);
}

TEST_CASE("client service: reads of the head — local at once, linearizable via a read point",
          "[unit][node]") {
  test::Rooms alone;
  (void)alone.apply({setCmd("/a", "1")});
  Action a = alone.service.handle(request(Verb::kGet, "/a"), "");
  REQUIRE(a.kind == Kind::kReply);  // a node alone applied every acknowledged write
  CHECK(a.reply.value == "1");
  CHECK(a.reply.rev == 1);
  CHECK(a.reply.head == 1);

  test::Rooms c(cluster());
  (void)c.apply({setCmd("/a", "1")});
  a = c.service.handle(request(Verb::kGet, "/a"), "");
  CHECK(a.kind == Kind::kLinearRead);
  CHECK(a.wait == node::kWriteTimeout);
  wire::Request local = request(Verb::kGet, "/a");
  local.consistency = "local";
  CHECK(c.service.handle(local, "").kind == Kind::kReply);
  CHECK(c.service.handle(withRev(request(Verb::kGet, "/a"), 1), "").kind == Kind::kReply);
  local.consistency = "eventual";
  a = c.service.handle(local, "");
  CHECK(a.reply.err == Err::kBadRequest);

  node::ClientService::Options stale = cluster();
  stale.staleReads = true;  // the fault harness's deliberately broken node
  test::Rooms s(stale);
  CHECK(s.service.handle(request(Verb::kGet, "/a"), "").kind == Kind::kReply);
}

TEST_CASE("client service: reads at past, future and forgotten revs", "[unit][node]") {
  test::Rooms t({}, 2);  // two revs of history
  (void)t.apply({setCmd("/a", "1"), setCmd("/a", "2"), setCmd("/a", "3")});
  Action a = t.service.handle(withRev(request(Verb::kGet, "/a"), 2), "");
  CHECK(a.reply.value == "2");
  CHECK(a.reply.head == 2);
  a = t.service.handle(withRev(request(Verb::kGet, "/a"), 1), "");
  CHECK(a.reply.err == Err::kTooLate);
  CHECK(a.reply.head == 3);  // an error reply says where the node stands
  wire::Request future = withRev(request(Verb::kGet, "/a"), 5);
  a = t.service.handle(future, "");
  REQUIRE(a.kind == Kind::kPark);
  CHECK(a.from == 5);
  CHECK(!a.glob);
  CHECK(a.wait == node::kDefaultFutureRead);
  future.timeoutMs = 10;
  CHECK(t.service.handle(future, "").wait == std::chrono::milliseconds(10));
}

TEST_CASE("client service: STAT, GETDIR, WALK and the directory a GET cannot read",
          "[unit][node]") {
  test::Rooms t;
  (void)t.apply({setCmd("/d/x", "1"), setCmd("/d/y/z", "22"), setCmd("/e", "")});
  Action a = t.service.handle(request(Verb::kGet, "/d"), "");
  CHECK(a.reply.err == Err::kIsDir);
  CHECK(a.reply.head == 3);
  a = t.service.handle(request(Verb::kStat, "/d/y/z"), "");
  CHECK(a.reply.len == 2);
  CHECK(a.reply.dir == false);
  a = t.service.handle(request(Verb::kGetdir, "/d"), "");
  REQUIRE(a.reply.entries);
  REQUIRE(a.reply.entries->size() == 2);
  CHECK((*a.reply.entries)[0].name == "x");
  CHECK((*a.reply.entries)[1].dir == true);
  wire::Request walk = request(Verb::kWalk, "/d/**");
  walk.limit = 1;
  a = t.service.handle(walk, "");
  REQUIRE(a.reply.entries->size() == 1);
  CHECK((*a.reply.entries)[0].path == "/d/x");
  CHECK(a.reply.next == std::string("/d/x"));
  walk.limit = node::kMaxPage + 1;
  a = t.service.handle(walk, "");
  CHECK(a.reply.err == Err::kRange);
  CHECK(a.reply.detail == "limit must be in 1..10000");
  CHECK(t.service.handle(request(Verb::kWalk, "/d/[x]"), "").reply.err == Err::kBadPath);
}

TEST_CASE("client service: WAIT answers from history or parks from the head", "[unit][node]") {
  test::Rooms t;
  (void)t.apply({setCmd("/a", "1"), setCmd("/b", "2")});
  Action a = t.service.handle(withRev(request(Verb::kWait, "/b"), 1), "");
  REQUIRE(a.kind == Kind::kReply);
  CHECK(a.reply.rev == 2);
  CHECK(a.reply.path == std::string("/b"));
  CHECK(a.reply.op == std::string("set"));
  a = t.service.handle(request(Verb::kWait, "/b"), "");  // no rev: the next change
  REQUIRE(a.kind == Kind::kPark);
  CHECK(a.glob);
  CHECK(a.from == 3);
  CHECK(a.wait == node::kDefaultWait);
  a = t.service.handle(withRev(request(Verb::kWait, "/c"), 1), "");  // nothing matched yet
  CHECK(a.kind == Kind::kPark);
  CHECK(a.from == 3);
  wire::Request longer = request(Verb::kWait, "/c");
  longer.timeoutMs = node::kMaxWait.count() + 1;
  a = t.service.handle(longer, "");
  CHECK(a.reply.err == Err::kRange);
  CHECK(a.reply.detail == "timeout must be in 0..3600000 ms");
}

TEST_CASE("client service: CHANGES pages the history of a glob", "[unit][node]") {
  test::Rooms t;
  (void)t.apply({setCmd("/a/1", "x"), setCmd("/b", "y"), test::delCmd("/a/1")});
  Action a = t.service.handle(withRev(request(Verb::kChanges, "/a/**"), 0), "");
  REQUIRE(a.reply.entries);
  REQUIRE(a.reply.entries->size() == 2);
  CHECK((*a.reply.entries)[1].op == std::string("del"));
  CHECK(a.reply.head == 3);
  CHECK(t.service.handle(request(Verb::kChanges, "/a/**"), "").reply.err == Err::kMissingArg);
}

TEST_CASE("client service: bytes that do not decode are answered, and counted", "[unit][node]") {
  test::Rooms t;
  Action a = t.service.handle(std::string_view("\xc1", 1), "");
  CHECK(a.kind == Kind::kReply);
  CHECK(a.reply.err == Err::kBadRequest);
  CHECK(t.stats.undecodable == 1);
  wire::Request r = request(Verb::kRev);
  (void)t.service.handle(std::string_view(wire::encodeRequest(r)), "");
  CHECK(t.stats.requests[static_cast<std::size_t>(Verb::kRev)] == 1);
}

TEST_CASE("client service: a halted node answers SELF and refuses everything else with why",
          "[unit][node]") {
  test::Rooms t;
  (void)t.apply({setCmd("/a", "1")});
  t.service.halt(wire::Status(Err::kIo, "node 7 halted: WAL fdatasync: No space left on device"));
  CHECK(t.service.handle(request(Verb::kSelf), "").reply.err == Err::kOk);
  for (Verb v :
       {Verb::kGet, Verb::kSet, Verb::kDel, Verb::kRev, Verb::kWait, Verb::kNop, Verb::kSnapshot}) {
    Action a = t.service.handle(withRev(request(v, "/a"), -1), "");
    INFO(wire::verbName(v));
    REQUIRE(a.kind == Kind::kReply);
    CHECK(a.reply.err == Err::kIo);
    CHECK(a.reply.detail.find("No space left on device") != std::string::npos);
    CHECK(a.reply.head == 1);
  }
}

TEST_CASE("client service: SNAPSHOT goes to the backups, begun or a chunk, once its shape is right",
          "[unit][node]") {
  test::Rooms t;
  (void)t.apply({setCmd("/a", "1")});
  wire::Request begin = request(Verb::kSnapshot);
  begin.tag = "\xa1t";
  Action a = t.service.handle(begin, "");
  REQUIRE(a.kind == Kind::kSnapshot);
  CHECK(a.tag == "\xa1t");
  CHECK(!a.request.slot);
  CHECK(!a.request.offset);

  wire::Request chunk = request(Verb::kSnapshot);
  chunk.slot = 1;
  chunk.offset = 1 << 20;
  a = t.service.handle(chunk, "");
  REQUIRE(a.kind == Kind::kSnapshot);
  CHECK(a.request.slot == 1);
  CHECK(a.request.offset == (1 << 20));
  CHECK(t.stats.requests[static_cast<std::size_t>(Verb::kSnapshot)] == 2);
}

TEST_CASE("client service: a SNAPSHOT chunk without its slot or offset, or below 0, is refused",
          "[unit][node]") {
  test::Rooms t;
  auto refusal = [&](std::optional<std::int64_t> slot, std::optional<std::int64_t> offset) {
    wire::Request r = request(Verb::kSnapshot);
    r.slot = slot;
    r.offset = offset;
    r.tag = "\x07";
    Action a = t.service.handle(r, "");
    REQUIRE(a.kind == Kind::kReply);
    CHECK(a.tag == "\x07");
    return a.reply;
  };
  wire::Reply r = refusal(std::nullopt, 0);
  CHECK(r.err == Err::kMissingArg);
  CHECK(r.detail.find("\"slot\"") != std::string::npos);
  r = refusal(3, std::nullopt);
  CHECK(r.err == Err::kMissingArg);
  CHECK(r.detail == "missing \"offset\"");
  CHECK(refusal(-1, 0).err == Err::kRange);
  r = refusal(3, -1);
  CHECK(r.err == Err::kRange);
  CHECK(r.detail == "offset must be >= 0");
}

TEST_CASE("client service: every verb is counted, membership verbs included", "[unit][node]") {
  test::Rooms t;
  for (wire::Verb v :
       {wire::Verb::kMembers, wire::Verb::kJoin, wire::Verb::kPromote, wire::Verb::kRemove}) {
    wire::Request q;
    q.verb = v;
    (void)t.service.handle(std::move(q), "");
  }
  for (wire::Verb v :
       {wire::Verb::kMembers, wire::Verb::kJoin, wire::Verb::kPromote, wire::Verb::kRemove}) {
    CHECK(t.stats.requests[static_cast<std::size_t>(v)] == 1);
  }
  CHECK(t.stats.undecodable == 0);
}
