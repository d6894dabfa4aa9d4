#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include <map>
#include <set>
#include <string>

#include "wire/codec.h"
#include "wire/command.h"

using namespace cairn::wire;

namespace {

template <class T>
std::string packValue(const T& v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return std::string(b.data(), b.size());
}

std::string hex(const std::string& s) {
  static const char* k = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o += k[c >> 4];
    o += k[c & 15];
  }
  return o;
}

Status decode(const std::string& bytes, Request* r, DecodeLimits l = {}) {
  return decodeRequest(bytes, l, r);
}

}  // namespace

TEST_CASE("error names and numbers keep Doozer's where Doozer had them", "[unit][wire]") {
  CHECK(static_cast<int>(Err::kTagInUse) == 1);
  CHECK(static_cast<int>(Err::kUnknownVerb) == 2);
  CHECK(static_cast<int>(Err::kReadonly) == 3);
  CHECK(static_cast<int>(Err::kTooLate) == 4);
  CHECK(static_cast<int>(Err::kRevMismatch) == 5);
  CHECK(static_cast<int>(Err::kBadPath) == 6);
  CHECK(static_cast<int>(Err::kMissingArg) == 7);
  CHECK(static_cast<int>(Err::kRange) == 8);
  CHECK(static_cast<int>(Err::kNotDir) == 20);
  CHECK(static_cast<int>(Err::kIsDir) == 21);
  CHECK(static_cast<int>(Err::kNoEnt) == 22);
  CHECK(static_cast<int>(Err::kOther) == 127);
  CHECK(std::string(errName(Err::kRevMismatch)) == "REV_MISMATCH");
  std::set<std::string> names;
  for (int i = 0; i <= 127; ++i) {
    auto e = static_cast<Err>(i);
    std::string n = errName(e);
    if (n == "OTHER" && i != 127) continue;  // not a defined code
    CHECK(names.insert(n).second);
    REQUIRE(errFromName(n).has_value());
    CHECK(*errFromName(n) == e);
  }
  CHECK(names.size() == 21);
}

TEST_CASE("a request encodes to the documented bytes", "[unit][wire]") {
  Request r;
  r.verb = Verb::kGet;
  r.path = "/a";
  // {"verb": "GET", "path": "/a"}
  CHECK(hex(encodeRequest(r)) == "82a476657262a3474554a470617468a22f61");
}

TEST_CASE("a request survives a round trip with every field", "[unit][wire]") {
  Request r;
  r.verb = Verb::kWalk;
  r.path = "/a/**";
  r.rev = -1;
  r.value = std::string("\0\xff", 2);
  r.tag = packValue(std::vector<int>{1, 2, 3});
  r.after = "/a/b";
  r.limit = 10;
  r.timeoutMs = 250;
  Request d;
  REQUIRE(decode(encodeRequest(r), &d).isOk());
  CHECK(d.verb == Verb::kWalk);
  CHECK(d.path == r.path);
  CHECK(d.rev == r.rev);
  CHECK(d.value == r.value);
  CHECK(d.tag == r.tag);
  CHECK(d.after == r.after);
  CHECK(d.limit == r.limit);
  CHECK(d.timeoutMs == r.timeoutMs);
}

TEST_CASE("verbs are matched without regard to case", "[unit][wire]") {
  CHECK(verbFromName("getdir") == Verb::kGetdir);
  CHECK(verbFromName("GetDir") == Verb::kGetdir);
  CHECK(!verbFromName("GETDIRS"));
  CHECK(!verbFromName(""));
}

TEST_CASE("a str value is accepted like bin", "[unit][wire]") {
  std::map<std::string, std::string> m{{"verb", "SET"}, {"path", "/a"}, {"value", "text"}};
  Request d;
  REQUIRE(decode(packValue(m), &d).isOk());
  CHECK(d.value == "text");
}

TEST_CASE("bad requests decode to the documented error", "[unit][wire]") {
  struct Case {
    const char* name;
    std::string bytes;
    Err err;
  };
  std::vector<Case> cases = {
      {"empty", "", Err::kBadRequest},
      {"garbage", "\xc1\xc1\xc1", Err::kBadRequest},
      {"not a map", packValue(std::vector<int>{1}), Err::kBadRequest},
      {"a string", packValue(std::string("GET")), Err::kBadRequest},
      {"int keys", packValue(std::map<int, int>{{1, 2}}), Err::kBadRequest},
      {"no verb", packValue(std::map<std::string, std::string>{{"path", "/a"}}), Err::kMissingArg},
      {"verb not a string", packValue(std::map<std::string, int>{{"verb", 1}}), Err::kBadRequest},
      {"unknown verb", packValue(std::map<std::string, std::string>{{"verb", "FROB"}}),
       Err::kUnknownVerb},
      {"rev a string", packValue(std::map<std::string, std::string>{{"verb", "GET"}, {"rev", "1"}}),
       Err::kBadRequest},
      {"path an int", packValue(std::map<std::string, int>{{"path", 1}}), Err::kBadRequest},
      {"rev beyond int64", "\x82\xa4verb\xa3GET\xa3rev\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
       Err::kBadRequest},
      {"limit a float", "\x82\xa4verb\xa3GET\xa5limit\xcb\x3f\xf0\0\0\0\0\0\0", Err::kBadRequest},
      {"truncated", std::string("\x82\xa4verb\xa3GE"), Err::kBadRequest},
      {"trailing bytes", packValue(std::map<std::string, std::string>{{"verb", "REV"}}) + "x",
       Err::kBadRequest},
      // An array32 claiming 4 billion elements: must be refused, not allocated.
      {"huge array count", "\x81\xa3tag\xdd\xff\xff\xff\xff", Err::kBadRequest},
      {"huge map count", "\xdf\xff\xff\xff\xff\xa4verb", Err::kBadRequest},
      {"huge string length", "\x81\xa4verb\xdb\xff\xff\xff\xff", Err::kBadRequest},
      {"huge bin length", "\x81\xa5value\xc6\xff\xff\xff\xff", Err::kBadRequest},
  };
  // A tag nested deeper than the limit.
  std::string deep = "\x82\xa4verb\xa3REV\xa3tag";
  for (int i = 0; i < 40; ++i)
    deep += '\x91';
  deep += '\xc0';
  cases.push_back({"deep nesting", deep, Err::kBadRequest});
  for (const auto& c : cases) {
    INFO(c.name);
    Request d;
    Status s = decode(c.bytes, &d);
    CHECK(s.code() == c.err);
    CHECK(!s.detail().empty());
  }
}

TEST_CASE("a value over the value limit decodes, tag and all, for the node to refuse",
          "[unit][wire]") {
  Request r;
  r.verb = Verb::kSet;
  r.path = "/a";
  r.rev = -1;
  r.value = std::string(5000, 'x');  // far over the limit, and placed before the tag
  r.tag = "\x07";                    // msgpack 7
  Request d;
  DecodeLimits l;
  l.maxValue = 100;
  REQUIRE(decode(encodeRequest(r), &d, l).isOk());
  CHECK(d.value->size() == 5000);
  CHECK(d.tag == r.tag);
  CHECK(tooLarge(5000, 100).detail() ==
        "the value is 5000 bytes; this cluster takes at most 100 (cairnd --max-value)");
}

TEST_CASE("an error after the tag is read still echoes the tag", "[unit][wire]") {
  std::string bytes =
      "\x82\xa4verb\xa4"
      "FROB\xa3tag\x92\x01\xa1x";
  Request d;
  Status s = decode(bytes, &d);
  CHECK(s.code() == Err::kUnknownVerb);
  CHECK(hex(d.tag) == "9201a178");
}

TEST_CASE("a reply survives a round trip", "[unit][wire]") {
  Reply r;
  r.err = Err::kRevMismatch;
  r.detail = "file is at rev 3";
  r.tag = packValue(std::string("t1"));
  r.rev = 3;
  r.path = "/x";
  r.value = std::string("v\0", 2);
  r.op = "set";
  r.len = 2;
  r.dir = false;
  r.entries = std::vector<Entry>{{"a", "", 1, true, std::nullopt, std::nullopt},
                                 {"", "/p", 2, std::nullopt, "val", "set"}};
  r.next = "a";
  r.head = 9;
  r.id = 1;
  r.leader = 2;
  r.client = "tcp://127.0.0.1:1";
  r.events = "tcp://127.0.0.1:2";
  r.version = "0.1.0";
  r.halted = "WAL fdatasync: Input/output error";
  r.stats = std::vector<Counter>{{"requests.GET", 7}, {"sync_us.p99", 255}};
  r.role = "follower";
  r.slot = 41;
  r.lag = 2;
  r.uptimeMs = 12345;
  r.fsyncUs = 97;
  r.maxValue = 1 << 20;
  auto d = decodeReply(encodeReply(r));
  REQUIRE(d.isOk());
  CHECK(d->err == Err::kRevMismatch);
  CHECK(d->detail == r.detail);
  CHECK(d->tag == r.tag);
  CHECK(d->rev == 3);
  CHECK(d->path == r.path);
  CHECK(d->value == r.value);
  CHECK(d->op == r.op);
  CHECK(d->len == 2);
  CHECK(d->dir == false);
  REQUIRE(d->entries->size() == 2);
  CHECK((*d->entries)[0].name == "a");
  CHECK((*d->entries)[0].dir == true);
  CHECK((*d->entries)[1].path == "/p");
  CHECK((*d->entries)[1].value == "val");
  CHECK((*d->entries)[1].op == "set");
  CHECK(d->next == "a");
  CHECK(d->halted == r.halted);
  REQUIRE(d->stats);
  CHECK(*d->stats == *r.stats);
  CHECK(d->role == r.role);
  CHECK(d->slot == r.slot);
  CHECK(d->lag == r.lag);
  CHECK(d->uptimeMs == r.uptimeMs);
  CHECK(d->fsyncUs == r.fsyncUs);
  CHECK(d->maxValue == r.maxValue);
  CHECK(!decodeReply(encodeReply(Reply()))->stats);
  CHECK(d->head == 9);
  CHECK(d->id == 1);
  CHECK(d->leader == 2);
  CHECK(d->client == r.client);
  CHECK(d->events == r.events);
  CHECK(d->version == r.version);
}

TEST_CASE("a successful reply has no err key", "[unit][wire]") {
  Reply r;
  r.rev = 1;
  // {"rev": 1}
  CHECK(hex(encodeReply(r)) == "81a372657601");
}

TEST_CASE("events and heartbeats survive a round trip", "[unit][wire]") {
  Event e{7, "/config/a", "set", "v", {{"", 6}, {"/config/", 3}}};
  auto d = decodeEvent(encodeEvent(e));
  REQUIRE(d.isOk());
  CHECK(d->rev == 7);
  CHECK(d->path == "/config/a");
  CHECK(d->op == "set");
  CHECK(d->value == "v");
  CHECK(d->prev == e.prev);
  CHECK(d->i == 0);
  CHECK(d->n == 1);
  // One of several changes at a rev carries its place; a single change does not (the bytes below).
  Event many{8, "/config/b", "del", "", {{"", 8}}, 2, 3};
  auto m = decodeEvent(encodeEvent(many));
  REQUIRE(m.isOk());
  CHECK(m->i == 2);
  CHECK(m->n == 3);
  CHECK(m->prev == many.prev);
  Heartbeat hb{42, 3, 99, 5, 2, {{"/config/", 40}}};
  auto h = decodeHeartbeat(encodeHeartbeat(hb));
  REQUIRE(h.isOk());
  CHECK(h->rev == 42);
  CHECK(h->id == 3);
  CHECK(h->boot == 99);
  CHECK(h->seq == 5);
  CHECK(h->leader == 2);
  CHECK(h->last == hb.last);
  CHECK(kHeartbeatTopic[0] != '/');
}

TEST_CASE("an event's bytes are fixed by the protocol", "[unit][wire]") {
  // {"rev": 7, "path": "/a", "op": "del", "value": bin "", "prev": {"/": 3}}
  Event e{7, "/a", "del", "", {{"/", 3}}};
  CHECK(hex(encodeEvent(e)) ==
        "85a372657607a470617468a22f61a26f70a364656ca576616c7565c400a470726576"
        "81a12f03");
  // A prev that is not a map of string to integer is refused, not guessed at.
  CHECK(decodeEvent(std::string("\x81\xa4prev\x91\x01", 8)).status().code() == Err::kBadRequest);
}

TEST_CASE("commands survive a round trip and reject damage", "[unit][wire]") {
  Command c{Command::Op::kSet, "/a/b", 5, std::string("x\0y", 3)};
  auto d = decodeCommand(encodeCommand(c));
  REQUIRE(d.isOk());
  CHECK(*d == c);
  std::string bytes = encodeCommand(c);
  CHECK(decodeCommand(bytes.substr(0, bytes.size() - 1)).status().code() == Err::kCorrupt);
  CHECK(decodeCommand("\x94\x09\xa1/\x01\xc4\x00").status().code() == Err::kCorrupt);  // op 9
  CHECK(decodeCommand("\xc1").status().code() == Err::kCorrupt);
  // [SET, "", -1, "", 0, 5000, 0, session 0, seq 3]: a seq without its session (found by
  // fuzz_log_value: the encoder drops such a seq, so the command did not survive a round trip).
  CHECK(decodeCommand(std::string("\x99\x03\xa0\xff\xc4\x00\x00\xcd\x13\x88\x00\x00\x03", 13))
            .status()
            .code() == Err::kCorrupt);
}

TEST_CASE("a heartbeat and SELF's counters decode with hundreds of entries", "[unit][wire]") {
  // One claim per subscribed prefix, one counter per statistic: no small map cap may cut a
  // watcher off from a node that serves many prefixes.
  Heartbeat hb{42, 3, 99, 5, 2, {}};
  for (int i = 0; i < 500; ++i)
    hb.last.push_back({"/p" + std::to_string(i) + "/", i});
  auto h = decodeHeartbeat(encodeHeartbeat(hb));
  REQUIRE(h.isOk());
  CHECK(h->last == hb.last);
  Reply r;
  r.stats.emplace();
  for (int i = 0; i < 300; ++i)
    r.stats->push_back({"counter." + std::to_string(i), i});
  auto d = decodeReply(encodeReply(r));
  REQUIRE(d.isOk());
  CHECK(*d->stats == *r.stats);
}

TEST_CASE("a SNAPSHOT request survives a round trip with its slot and offset", "[unit][wire]") {
  CHECK(verbFromName("snapshot") == Verb::kSnapshot);
  CHECK(std::string(verbName(Verb::kSnapshot)) == "SNAPSHOT");
  Request begin;
  begin.verb = Verb::kSnapshot;
  // {"verb": "SNAPSHOT"}
  CHECK(hex(encodeRequest(begin)) == "81a476657262a8534e415053484f54");
  Request d;
  REQUIRE(decode(encodeRequest(begin), &d).isOk());
  CHECK(d.verb == Verb::kSnapshot);
  CHECK(!d.slot);
  CHECK(!d.offset);

  Request chunk = begin;
  chunk.slot = 1234;
  chunk.offset = std::int64_t{3} << 20;
  chunk.tag = packValue(7);
  REQUIRE(decode(encodeRequest(chunk), &d).isOk());
  CHECK(d.verb == Verb::kSnapshot);
  CHECK(d.slot == 1234);
  CHECK(d.offset == (std::int64_t{3} << 20));
  CHECK(d.tag == chunk.tag);
}

TEST_CASE("a SNAPSHOT request with a slot or offset of the wrong type is BAD_REQUEST",
          "[unit][wire]") {
  for (const char* key : {"slot", "offset"}) {
    INFO(key);
    std::map<std::string, std::string> m{{"verb", "SNAPSHOT"}, {key, "12"}};
    Request d;
    Status s = decode(packValue(m), &d);
    CHECK(s.code() == Err::kBadRequest);
    CHECK(s.detail() == std::string("field \"") + key + "\" must be an integer");
    msgpack::sbuffer big;  // {"verb": "SNAPSHOT", key: 2^63}: past int64
    msgpack::packer<msgpack::sbuffer> p(big);
    p.pack_map(2);
    p.pack(std::string("verb"));
    p.pack(std::string("SNAPSHOT"));
    p.pack(std::string(key));
    p.pack_uint64(std::uint64_t{1} << 63);
    CHECK(decode(std::string(big.data(), big.size()), &d).code() == Err::kBadRequest);
  }
}

TEST_CASE("a SNAPSHOT chunk reply survives a round trip, and other replies do not change",
          "[unit][wire]") {
  Reply r;
  r.rev = 90;
  r.slot = 120;
  r.len = 5 << 20;
  r.offset = 1 << 20;
  r.value = std::string("CAIRN\0\x01", 7);
  auto d = decodeReply(encodeReply(r));
  REQUIRE(d.isOk());
  CHECK(d->rev == 90);
  CHECK(d->slot == 120);
  CHECK(d->len == (5 << 20));
  CHECK(d->offset == (1 << 20));
  CHECK(d->value == r.value);
  CHECK(!decodeReply(encodeReply(Reply()))->offset);
  // {"rev": 1, "offset": 0}: the new key only when it is set.
  Reply o;
  o.rev = 1;
  o.offset = 0;
  CHECK(hex(encodeReply(o)) == "82a372657601a66f666673657400");
  std::map<std::string, std::string> bad{{"offset", "x"}};
  CHECK(decodeReply(packValue(bad)).status().code() == Err::kBadRequest);
}
