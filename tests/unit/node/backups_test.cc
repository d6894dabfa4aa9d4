// Backups: SNAPSHOT's room, with its real worker and files in a temporary directory, and the
// clock passed in by hand.

#include <poll.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "node/backups.h"
#include "store/file.h"
#include "store/snapshot.h"
#include "tests/support/node_process.h"
#include "tests/unit/node/rooms_support.h"

using namespace cairn;
using node::Backups;
using test::setCmd;
using wire::Err;
using Clock = std::chrono::steady_clock;

namespace {

struct BackupsFixture {
  explicit BackupsFixture(std::uint64_t chunk = 1000) {
    Backups::Options o;
    o.dir = dir.path() + "/snap";
    o.chunk = chunk;
    backups = std::make_unique<Backups>(
        o, rooms.applier.store(), rooms.stats,
        [this](const node::Envelope& env, wire::Reply& r, const std::string& tag) {
          replies.push_back(Sent{env.frames.at(0), tag, r});
        });
  }

  struct Sent {
    std::string to;
    std::string tag;
    wire::Reply reply;
  };

  void begin(const std::string& who, Clock::time_point now = Clock::now()) {
    wire::Request r = test::request(wire::Verb::kSnapshot);
    backups->serve(node::Envelope{{who}, ""}, r, "", now);
  }
  void read(const std::string& who, std::int64_t slot, std::int64_t offset,
            Clock::time_point now = Clock::now()) {
    wire::Request r = test::request(wire::Verb::kSnapshot);
    r.slot = slot;
    r.offset = offset;
    backups->serve(node::Envelope{{who}, ""}, r, "", now);
  }
  // Runs the worker's completions until `n` replies in all were sent (the worker is a real
  // thread: this waits on its fd, as the loop would).
  void settle(std::size_t n) {
    const auto giveUp = Clock::now() + std::chrono::seconds(30);
    while (replies.size() < n && Clock::now() < giveUp) {
      pollfd p{backups->fd(), POLLIN, 0};
      (void)::poll(&p, 1, 100);
      backups->runCompletions();
    }
    REQUIRE(replies.size() >= n);
  }
  // The whole backup at `slot`, chunk by chunk.
  std::string download(std::int64_t slot, std::int64_t len) {
    std::string out;
    while (static_cast<std::int64_t>(out.size()) < len) {
      const std::size_t before = replies.size();
      read("r", slot, static_cast<std::int64_t>(out.size()));
      settle(before + 1);
      const wire::Reply& r = replies.back().reply;
      REQUIRE(r.err == Err::kOk);
      REQUIRE(r.offset == static_cast<std::int64_t>(out.size()));
      REQUIRE(r.value);
      REQUIRE(!r.value->empty());
      out += *r.value;
    }
    return out;
  }

  test::TempDir dir;
  test::Rooms rooms;
  std::vector<Sent> replies;
  std::unique_ptr<Backups> backups;
};

}  // namespace

TEST_CASE("backups: a backup is the store's snapshot file, read in chunks", "[unit][node]") {
  BackupsFixture f;
  (void)f.rooms.apply({setCmd("/a", std::string(2500, 'a')), setCmd("/b/c", "2")});
  f.begin("c1");
  f.settle(1);
  const wire::Reply r = f.replies[0].reply;  // a copy: replies grows below
  REQUIRE(r.err == Err::kOk);
  CHECK(f.replies[0].to == "c1");
  CHECK(r.rev == 2);
  CHECK(r.slot == 2);
  REQUIRE(r.len);
  const std::string bytes = f.download(*r.slot, *r.len);
  CHECK(bytes == store::encodeSnapshot(f.rooms.applier.store().image()));
  auto st = store::decodeSnapshot(bytes, {});
  REQUIRE(st.isOk());
  CHECK(st->dump() == f.rooms.applier.store().dump());
  CHECK(f.rooms.stats.backupsWritten == 1);
  CHECK(f.rooms.stats.backupBytesSent == bytes.size());
  // At the end: no bytes, no error.
  f.read("r", *r.slot, *r.len);
  f.settle(f.replies.size() + 1);
  CHECK(f.replies.back().reply.err == Err::kOk);
  CHECK(f.replies.back().reply.value == std::string());
  // The file has no name: the directory holds nothing but . and ..
  auto names = store::listDir(f.dir.path() + "/snap", "", "");
  REQUIRE(names.isOk());
  CHECK(*names == std::vector<std::string>{".", ".."});
}

TEST_CASE("backups: a begin at a slot already backed up joins it, and a third slot is UNAVAILABLE",
          "[unit][node]") {
  BackupsFixture f;
  (void)f.rooms.apply({setCmd("/a", "1")});
  f.begin("c1");
  f.begin("c2");  // before the first is written: both wait for the same file
  f.settle(2);
  CHECK(f.replies[0].reply.slot == 1);
  CHECK(f.replies[1].reply.slot == 1);
  CHECK(f.replies[0].reply.len == f.replies[1].reply.len);
  f.begin("c3");  // after: answered at once
  REQUIRE(f.replies.size() == 3);
  CHECK(f.replies[2].reply.slot == 1);
  CHECK(f.backups->size() == 1);
  CHECK(f.rooms.stats.backupsWritten == 1);

  (void)f.rooms.apply({setCmd("/a", "2")});
  f.begin("c4");
  f.settle(4);
  CHECK(f.replies[3].reply.slot == 2);
  (void)f.rooms.apply({setCmd("/a", "3")});
  f.begin("c5");
  REQUIRE(f.replies.size() == 5);
  CHECK(f.replies[4].to == "c5");
  CHECK(f.replies[4].reply.err == Err::kUnavailable);
  CHECK(f.replies[4].reply.detail.find("already serving 2 backups") != std::string::npos);
  CHECK(f.backups->size() == 2);
}

TEST_CASE("backups: a backup unused for a minute is dropped, and its chunks are then TOO_LATE",
          "[unit][node]") {
  BackupsFixture f;
  (void)f.rooms.apply({setCmd("/a", "1")});
  const auto t0 = Clock::now();
  f.begin("c1", t0);
  f.settle(1);
  const std::int64_t slot = *f.replies[0].reply.slot;
  const std::int64_t len = *f.replies[0].reply.len;
  f.read("c1", slot, 0, t0 + std::chrono::seconds(30));
  f.settle(2);
  CHECK(f.replies[1].reply.err == Err::kOk);
  f.read("c1", slot, len + 1, t0 + std::chrono::seconds(31));
  REQUIRE(f.replies.size() == 3);
  CHECK(f.replies[2].reply.err == Err::kRange);
  f.backups->expire(t0 + std::chrono::seconds(31) + node::kBackupIdle - std::chrono::seconds(1));
  CHECK(f.backups->size() == 1);  // each request keeps it a minute longer
  f.backups->expire(t0 + std::chrono::seconds(31) + node::kBackupIdle);
  CHECK(f.backups->size() == 0);
  f.read("c1", slot, 0);
  REQUIRE(f.replies.size() == 4);
  const wire::Reply& r = f.replies[3].reply;
  CHECK(r.err == Err::kTooLate);
  CHECK(r.head == 1);
  CHECK(r.detail.find("no backup at slot " + std::to_string(slot)) != std::string::npos);
  CHECK(r.detail.find("60 s") != std::string::npos);
}

TEST_CASE("backups: a chunk asked for while its backup is written is served once it is",
          "[unit][node]") {
  BackupsFixture f;
  (void)f.rooms.apply({setCmd("/a", "1")});
  f.begin("c1");
  f.read("c2", 1, 0);
  f.settle(2);
  CHECK(f.replies[0].to == "c1");
  CHECK(!f.replies[0].reply.offset);
  CHECK(f.replies[1].to == "c2");
  CHECK(f.replies[1].reply.offset == 0);
  CHECK(f.replies[1].reply.value->size() == static_cast<std::size_t>(*f.replies[0].reply.len));
}

TEST_CASE("backups: a node that halts answers those waiting for a backup with why",
          "[unit][node]") {
  BackupsFixture f;
  (void)f.rooms.apply({setCmd("/a", "1")});
  f.begin("c1");
  f.backups->halt(wire::Status(Err::kIo, "node 7 halted: WAL fdatasync: Input/output error"));
  REQUIRE(f.replies.size() == 1);
  CHECK(f.replies[0].reply.err == Err::kIo);
  CHECK(f.backups->size() == 0);
  f.begin("c2");
  REQUIRE(f.replies.size() == 2);
  CHECK(f.replies[1].reply.err == Err::kIo);
}

TEST_CASE("backups: chunk requests beyond those a node holds at once are UNAVAILABLE",
          "[unit][node]") {
  BackupsFixture f;
  (void)f.rooms.apply({setCmd("/a", std::string(20000, 'a'))});
  f.begin("c1");
  f.settle(1);
  const wire::Reply r = f.replies[0].reply;
  REQUIRE(r.err == Err::kOk);
  // A client that asks without reading: the completions are not run, so every read is held.
  const std::size_t asked = node::kMaxBackupReads + 4;
  for (std::size_t i = 0; i < asked; ++i)
    f.read("greedy", *r.slot, 0);
  std::size_t refused = 0;
  for (const auto& sent : f.replies) {
    if (sent.reply.err == Err::kUnavailable) ++refused;
  }
  CHECK(refused == 4);
  CHECK_THAT(f.replies.back().reply.detail, Catch::Contains("the most it holds at once"));
  // Once answered, the next ones are taken again.
  f.settle(1 + asked);
  f.read("patient", *r.slot, 0);
  f.settle(2 + asked);
  CHECK(f.replies.back().reply.err == Err::kOk);
  CHECK(f.replies.back().to == "patient");
}

TEST_CASE("backups: a backup read to the end makes room for a new one at the cap", "[unit][node]") {
  BackupsFixture f;
  (void)f.rooms.apply({setCmd("/a", "1")});
  f.begin("c1");
  f.settle(1);
  const wire::Reply first = f.replies[0].reply;
  (void)f.rooms.apply({setCmd("/a", "2")});
  f.begin("c2");
  f.settle(2);
  CHECK(f.backups->size() == 2);
  // The first is downloaded whole; the second is not.
  (void)f.download(*first.slot, *first.len);
  (void)f.rooms.apply({setCmd("/a", "3")});
  const std::size_t before = f.replies.size();
  f.begin("c3");
  f.settle(before + 1);
  CHECK(f.replies.back().to == "c3");
  CHECK(f.replies.back().reply.err == Err::kOk);
  CHECK(f.replies.back().reply.slot == 3);
  CHECK(f.backups->size() == 2);
  // The one made room for is gone; the unfinished one stays.
  f.read("c1", *first.slot, 0);
  f.settle(before + 2);
  CHECK(f.replies.back().reply.err == Err::kTooLate);
  f.read("c2", *f.replies[1].reply.slot, 0);
  f.settle(before + 3);
  CHECK(f.replies.back().reply.err == Err::kOk);
}
