// The snapshot transfer's two state machines, wired back to back through a lossy in-memory link.

#include <catch2/catch.hpp>

#include <cstring>
#include <deque>
#include <random>

#include "node/snapshot_transfer.h"
#include "store/crc32c.h"
#include "store/snapshot.h"

using cairn::node::ChunkReceiver;
using cairn::node::ChunkSender;
using cairn::node::ChunkSink;
using cairn::node::SnapshotId;
using cairn::store::crc32c;
using cairn::wire::Command;
using cairn::wire::Err;
using cairn::wire::Status;

namespace {

// A real snapshot file's bytes: its identity is its slot, length and trailing checksum.
std::string snapshotBytes(int files, std::uint64_t* slot) {
  cairn::store::Store s;
  std::uint64_t i = 0;
  for (int f = 0; f < files; ++f) {
    s.apply(++i, Command{Command::Op::kSet, "/k/" + std::to_string(f), -1,
                         std::string(100, static_cast<char>('a' + f % 26))});
  }
  *slot = i;
  return cairn::store::encodeSnapshot(s.image());
}

SnapshotId idOf(const std::string& bytes, std::uint64_t slot) {
  SnapshotId id{slot, bytes.size(), 0};
  std::memcpy(&id.crc, bytes.data() + bytes.size() - 4, 4);
  return id;
}

struct MemorySink : ChunkSink {
  SnapshotId id;
  std::string bytes;
  int begun = 0;
  int finished = 0;
  bool failAppend = false;
  Status begin(const SnapshotId& i) override {
    id = i;
    bytes.clear();
    ++begun;
    return Status::ok();
  }
  Status append(std::string_view b) override {
    if (failAppend) return Status(Err::kIo, "disk full");
    bytes.append(b);
    return Status::ok();
  }
  Status finish(const SnapshotId&) override {
    ++finished;
    return Status::ok();
  }
};

struct Chunk {
  std::uint64_t offset;
  std::string bytes;
};

// Runs a transfer of `file` over a link that drops, duplicates and reorders, until the sender is
// done; returns the number of ticks it took.
int transfer(const std::string& file, const SnapshotId& id, ChunkSender& tx, ChunkReceiver& rx,
             MemorySink& sink, std::mt19937_64& rng, int lossPercent) {
  std::deque<Chunk> toReceiver;
  std::deque<std::uint64_t> toSender;
  for (std::uint64_t now = 1; now < 100000; ++now) {
    for (const auto& c : tx.due())
      toReceiver.push_back(Chunk{c.offset, file.substr(c.offset, c.length)});
    // Deliver a few messages each way, in a random order, some lost, some twice.
    for (int n = 0; n < 4 && !toReceiver.empty(); ++n) {
      std::size_t at = rng() % toReceiver.size();
      Chunk c = toReceiver[at];
      if (rng() % 100 >= 10) toReceiver.erase(toReceiver.begin() + static_cast<long>(at));
      if (static_cast<int>(rng() % 100) < lossPercent) continue;
      auto o = rx.receive(id, c.offset, c.bytes, crc32c(c.bytes), sink);
      REQUIRE(o.error.isOk());
      if (o.ack) toSender.push_back(*o.ack);
    }
    while (!toSender.empty()) {
      std::uint64_t a = toSender.front();
      toSender.pop_front();
      if (static_cast<int>(rng() % 100) < lossPercent) continue;
      tx.acked(id, a, now);
    }
    if (tx.done()) return static_cast<int>(now);
    tx.tick(now);
  }
  FAIL("the transfer never finished");
  return -1;
}

}  // namespace

TEST_CASE("snapshot transfer: a file crosses a lossy, reordering link intact and completes once",
          "[unit][node]") {
  std::uint64_t slot = 0;
  const std::string file = snapshotBytes(300, &slot);
  const SnapshotId id = idOf(file, slot);
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    ChunkSender::Options o;
    o.chunk = 1000 + seed * 37;  // chunk edges fall across the 4-byte trailer in some seeds
    o.window = 1 + seed % 5;
    o.retryAfter = 5;
    o.giveUpAfter = 1000000;
    ChunkSender tx(id, o, 0);
    ChunkReceiver rx;
    MemorySink sink;
    transfer(file, id, tx, rx, sink, rng, 20);
    INFO("seed " << seed);
    CHECK(sink.bytes == file);
    CHECK(sink.finished == 1);
    CHECK(sink.begun == 1);
    CHECK(cairn::store::decodeSnapshot(sink.bytes, cairn::store::Store::Options()).isOk());
  }
}

TEST_CASE("snapshot transfer: a new sender of the same snapshot resumes where the last stopped",
          "[unit][node]") {
  std::uint64_t slot = 0;
  const std::string file = snapshotBytes(100, &slot);
  const SnapshotId id = idOf(file, slot);
  ChunkReceiver rx;
  MemorySink sink;
  ChunkSender::Options o;
  o.chunk = 1000;
  o.window = 2;
  ChunkSender first(id, o, 0);
  // The hello, then two chunks; then the first sender (a leader) dies.
  auto hello = first.due();
  REQUIRE(hello.size() == 1);
  CHECK(hello[0].length == 0);
  auto h = rx.receive(id, 0, "", crc32c(""), sink);
  REQUIRE(h.ack == 0u);
  first.acked(id, 0, 1);
  for (const auto& c : first.due()) {
    auto r = rx.receive(id, c.offset, file.substr(c.offset, c.length),
                        crc32c(file.substr(c.offset, c.length)), sink);
    CHECK(r.ack == c.offset + c.length);
  }
  REQUIRE(rx.held() == 2000);

  ChunkSender second(id, o, 10);  // another node with the same snapshot
  REQUIRE(second.due().size() == 1);
  auto again = rx.receive(id, 0, "", crc32c(""), sink);
  REQUIRE(again.ack == 2000u);
  second.acked(id, *again.ack, 11);
  CHECK(second.resumedAt() == 2000);
  auto next = second.due();
  REQUIRE_FALSE(next.empty());
  CHECK(next[0].offset == 2000);
  CHECK(sink.begun == 1);  // nothing was thrown away
}

TEST_CASE("snapshot transfer: another snapshot starts over, and only from its first byte",
          "[unit][node]") {
  std::uint64_t slotA = 0, slotB = 0;
  const std::string a = snapshotBytes(50, &slotA);
  const std::string b = snapshotBytes(60, &slotB);
  const SnapshotId idA = idOf(a, slotA), idB = idOf(b, slotB);
  ChunkReceiver rx;
  MemorySink sink;
  REQUIRE(rx.receive(idA, 0, a.substr(0, 500), crc32c(a.substr(0, 500)), sink).ack == 500u);
  // A chunk from the middle of a snapshot it does not hold: asked for from the start, not taken.
  auto mid = rx.receive(idB, 500, b.substr(500, 500), crc32c(b.substr(500, 500)), sink);
  CHECK(mid.ack == 0u);
  CHECK(rx.current() == idA);
  // Its first chunk (or hello) switches over: what was held of the other is dropped.
  auto first = rx.receive(idB, 0, b.substr(0, 500), crc32c(b.substr(0, 500)), sink);
  CHECK(first.ack == 500u);
  CHECK(rx.current() == idB);
  CHECK(sink.begun == 2);
  CHECK(sink.bytes == b.substr(0, 500));
}

TEST_CASE("snapshot transfer: damaged chunks and damaged files are refused, never installed",
          "[unit][node]") {
  std::uint64_t slot = 0;
  const std::string file = snapshotBytes(40, &slot);
  const SnapshotId id = idOf(file, slot);
  ChunkReceiver rx;
  MemorySink sink;
  std::string piece = file.substr(0, 700);
  const std::uint32_t good = crc32c(piece);
  piece[10] ^= 1;
  auto bad = rx.receive(id, 0, piece, good, sink);
  CHECK(bad.error.code() == Err::kCorrupt);
  CHECK_FALSE(bad.ack);
  CHECK(sink.bytes.empty());

  // Every chunk checks out, but the whole does not match the identity it was sent under.
  SnapshotId wrong = id;
  wrong.crc ^= 1;
  auto o = rx.receive(wrong, 0, file, crc32c(file), sink);
  CHECK(o.error.code() == Err::kCorrupt);
  CHECK_FALSE(o.complete);
  CHECK(sink.finished == 0);
  CHECK(o.ack == 0u);  // begin again

  // A chunk that claims to reach past the end of its file.
  auto past = rx.receive(id, file.size() - 2, "abcd", crc32c("abcd"), sink);
  CHECK(past.error.code() == Err::kBadRequest);

  // The same bytes under the right identity complete; a late copy of the last chunk is then
  // acknowledged as whole.
  auto whole = rx.receive(id, 0, file, crc32c(file), sink);
  CHECK(whole.complete);
  CHECK(whole.ack == file.size());
  auto late = rx.receive(id, 0, file.substr(0, 10), crc32c(file.substr(0, 10)), sink);
  CHECK(late.ack == file.size());
  CHECK_FALSE(late.complete);
  CHECK(sink.finished == 1);
}

TEST_CASE("snapshot transfer: a failed write begins the snapshot again", "[unit][node]") {
  std::uint64_t slot = 0;
  const std::string file = snapshotBytes(40, &slot);
  const SnapshotId id = idOf(file, slot);
  ChunkReceiver rx;
  MemorySink sink;
  REQUIRE(rx.receive(id, 0, file.substr(0, 100), crc32c(file.substr(0, 100)), sink).ack == 100u);
  sink.failAppend = true;
  auto o = rx.receive(id, 100, file.substr(100, 100), crc32c(file.substr(100, 100)), sink);
  CHECK(o.error.code() == Err::kIo);
  CHECK_FALSE(o.ack);
  sink.failAppend = false;
  // The next chunk finds no snapshot in progress: from the start.
  auto next = rx.receive(id, 100, file.substr(100, 100), crc32c(file.substr(100, 100)), sink);
  CHECK(next.ack == 0u);
}

TEST_CASE("snapshot transfer: the sender resends its window after silence and gives up later",
          "[unit][node]") {
  SnapshotId id{7, 10000, 0};
  ChunkSender::Options o;
  o.chunk = 1000;
  o.window = 3;
  o.retryAfter = 10;
  o.giveUpAfter = 100;
  ChunkSender tx(id, o, 0);
  CHECK(tx.due().size() == 1);  // hello
  CHECK(tx.due().empty());      // once
  tx.tick(10);
  CHECK(tx.due().size() == 1);  // the hello again, unanswered
  tx.acked(id, 0, 12);
  auto w = tx.due();
  REQUIRE(w.size() == 3);
  CHECK(w[2].offset == 2000);
  CHECK(tx.due().empty());
  tx.acked(id, 1000, 15);
  auto more = tx.due();
  REQUIRE(more.size() == 1);
  CHECK(more[0].offset == 3000);
  tx.acked(SnapshotId{8, 10000, 0}, 4000, 16);  // another snapshot's ack: ignored
  CHECK(tx.acked() == 1000);
  tx.tick(24);  // not yet: progress at 15
  CHECK(tx.due().empty());
  tx.tick(25);
  auto resent = tx.due();
  REQUIRE(resent.size() == 3);
  CHECK(resent[0].offset == 1000);
  CHECK_FALSE(tx.abandoned(114));
  CHECK(tx.abandoned(115));
  tx.acked(id, 10000, 116);
  CHECK(tx.done());
}

TEST_CASE("snapshot transfer: a byte budget per tick paces the sender", "[unit][node]") {
  SnapshotId id{7, 1000000, 0};
  ChunkSender::Options o;
  o.chunk = 1000;
  o.window = 1000;
  o.retryAfter = 1000000;
  o.bytesPerTick = 2500;
  ChunkSender tx(id, o, 0);
  REQUIRE(tx.due().size() == 1);  // the hello costs nothing
  tx.acked(id, 0, 1);
  std::uint64_t bytes = 0;
  for (std::uint64_t now = 1; now <= 100; ++now) {
    for (const auto& c : tx.due())
      bytes += c.length;
    tx.tick(now);
  }
  // 100 ticks of 2500 bytes, give or take the one chunk the budget may be overdrawn by.
  CHECK(bytes >= 250000 - 1000);
  CHECK(bytes <= 250000 + 1000);

  // A budget far below the chunk size: one chunk, then none until the ticks have paid for it.
  o.bytesPerTick = 10;
  ChunkSender slow(id, o, 0);
  (void)slow.due();
  slow.acked(id, 0, 1);
  CHECK(slow.due().size() == 1);
  int ticks = 0;
  while (slow.due().empty()) {
    slow.tick(static_cast<std::uint64_t>(++ticks));
  }
  CHECK(ticks == 100);  // the chunk overdrew the budget to -990; 100 ticks of 10 refill it
}
