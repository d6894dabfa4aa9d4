#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "store/file.h"
#include "store/wal.h"
#include "tests/support/node_process.h"

using cairn::store::Wal;
using cairn::store::WalRecord;
using cairn::wire::Err;

namespace {

Wal::Options small() {
  Wal::Options o;
  o.segmentBytes = 4096;
  o.preallocate = true;
  return o;
}

std::unique_ptr<Wal> openOk(const std::string& dir, std::vector<WalRecord>* recs,
                            std::string* repaired) {
  recs->clear();
  auto w = Wal::open(dir, small(), recs, repaired);
  INFO(w.status().toString());
  REQUIRE(w.isOk());
  return std::move(w.value());
}

void writeRecords(const std::string& dir, int n) {
  std::vector<WalRecord> recs;
  std::string rep;
  auto w = openOk(dir, &recs, &rep);
  for (int i = 1; i <= n; ++i) {
    w->append(static_cast<std::uint64_t>(i), "record-" + std::to_string(i));
    if (i % 3 == 0) REQUIRE(w->sync().isOk());
  }
  REQUIRE(w->sync().isOk());
}

std::string onlySegment(const std::string& dir) {
  auto names = cairn::store::listDir(dir, "wal-", ".log");
  REQUIRE(names.isOk());
  REQUIRE(names->size() == 1);
  return dir + "/" + names->front();
}

void patch(const std::string& file, std::size_t off, const std::string& bytes) {
  int fd = ::open(file.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(off)) ==
          static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

// Offset of record i (1-based) when every record is "record-<i>" with i < 10.
std::size_t offsetOf(int i) {
  return static_cast<std::size_t>(i - 1) * (16 + 8);
}

}  // namespace

TEST_CASE("wal: records come back in order after reopening", "[unit][wal]") {
  cairn::test::TempDir d;
  writeRecords(d.path(), 9);
  std::vector<WalRecord> recs;
  std::string rep;
  auto w = openOk(d.path(), &recs, &rep);
  REQUIRE(recs.size() == 9);
  for (int i = 0; i < 9; ++i) {
    CHECK(recs[static_cast<std::size_t>(i)].index == static_cast<std::uint64_t>(i + 1));
    CHECK(recs[static_cast<std::size_t>(i)].payload == "record-" + std::to_string(i + 1));
  }
  CHECK(rep.empty());
  CHECK(w->lastIndex() == 9);
  w->append(10, "record-10");
  REQUIRE(w->sync().isOk());
  w.reset();
  openOk(d.path(), &recs, &rep);
  CHECK(recs.size() == 10);
}

TEST_CASE("wal: a record cut short at the tail is dropped", "[unit][wal]") {
  cairn::test::TempDir d;
  writeRecords(d.path(), 9);
  // A crash in the middle of writing record 9: its second half never reached the disk.
  std::string seg = onlySegment(d.path());
  patch(seg, offsetOf(9) + 12, std::string(12, '\0'));
  std::vector<WalRecord> recs;
  std::string rep;
  auto w = openOk(d.path(), &recs, &rep);
  CHECK(recs.size() == 8);
  CHECK(!rep.empty());
  // Appending continues at 9 and survives the next reopen.
  w->append(9, "again-9");
  REQUIRE(w->sync().isOk());
  w.reset();
  rep.clear();
  openOk(d.path(), &recs, &rep);
  REQUIRE(recs.size() == 9);
  CHECK(recs.back().payload == "again-9");
  CHECK(rep.empty());
}

TEST_CASE("wal: garbage after the last record is a torn tail", "[unit][wal]") {
  cairn::test::TempDir d;
  writeRecords(d.path(), 5);
  patch(onlySegment(d.path()), offsetOf(6), "\x13\x37garbage-from-a-torn-write");
  std::vector<WalRecord> recs;
  std::string rep;
  openOk(d.path(), &recs, &rep);
  CHECK(recs.size() == 5);
  CHECK(!rep.empty());
}

TEST_CASE("wal: a bad checksum in the middle refuses to open", "[unit][wal]") {
  cairn::test::TempDir d;
  writeRecords(d.path(), 9);
  patch(onlySegment(d.path()), offsetOf(4) + 17, "X");  // a flipped payload byte in record 4
  std::vector<WalRecord> recs;
  std::string rep;
  auto w = Wal::open(d.path(), small(), &recs, &rep);
  REQUIRE(!w.isOk());
  CHECK(w.status().code() == Err::kCorrupt);
  CHECK(w.status().detail().find("valid records follow") != std::string::npos);
}

TEST_CASE("wal: segments roll over, and dropBefore deletes the old ones", "[unit][wal]") {
  cairn::test::TempDir d;
  std::vector<WalRecord> recs;
  std::string rep;
  auto w = openOk(d.path(), &recs, &rep);
  const std::string big(1000, 'b');
  for (std::uint64_t i = 1; i <= 20; ++i) {
    w->append(i, big);
    REQUIRE(w->sync().isOk());
  }
  auto names = cairn::store::listDir(d.path(), "wal-", ".log");
  CHECK(names->size() > 3);
  REQUIRE(w->rotate().isOk());
  w->append(21, "after");
  REQUIRE(w->sync().isOk());
  REQUIRE(w->dropBefore(21).isOk());
  names = cairn::store::listDir(d.path(), "wal-", ".log");
  CHECK(names->size() == 1);
  w.reset();
  openOk(d.path(), &recs, &rep);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].index == 21);  // the WAL reports where it starts; the caller judges it
  CHECK(recs[0].payload == "after");
}

TEST_CASE("wal: a gap between segments refuses to open", "[unit][wal]") {
  cairn::test::TempDir d;
  std::vector<WalRecord> recs;
  std::string rep;
  auto w = openOk(d.path(), &recs, &rep);
  const std::string big(1000, 'b');
  for (std::uint64_t i = 1; i <= 12; ++i) {
    w->append(i, big);
    REQUIRE(w->sync().isOk());
  }
  w.reset();
  auto names = cairn::store::listDir(d.path(), "wal-", ".log");
  REQUIRE(names->size() >= 3);
  std::filesystem::remove(d.path() + "/" + (*names)[1]);  // a middle segment is lost
  auto bad = Wal::open(d.path(), small(), &recs, &rep);
  CHECK(bad.status().code() == Err::kCorrupt);
}

TEST_CASE("wal: a record at index 2^64-1 refuses to open", "[unit][wal]") {
  // Found by fuzz_wal: after index 2^64-1 the next expected index wrapped to 0 ("not known yet"),
  // so any index could follow and a gap went unnoticed. Wal::append writes such a record as asked.
  cairn::test::TempDir d;
  std::vector<WalRecord> recs;
  std::string rep;
  auto w = openOk(d.path(), &recs, &rep);
  w->append(UINT64_MAX, "last");
  w->append(5, "after a gap");
  REQUIRE(w->sync().isOk());
  w.reset();
  auto bad = Wal::open(d.path(), small(), &recs, &rep);
  CHECK(bad.status().code() == Err::kCorrupt);
  // The same through the pure scan.
  auto names = cairn::store::listDir(d.path(), "wal-", ".log");
  REQUIRE(names.isOk());
  auto data = cairn::store::readFile(d.path() + "/" + names->front());
  REQUIRE(data.isOk());
  std::uint64_t expect = 0;
  std::size_t tail = 0;
  recs.clear();
  CHECK(cairn::store::scanWalSegment(*data, names->front(), true, &expect, &recs, &tail, &rep)
            .code() == Err::kCorrupt);
}
