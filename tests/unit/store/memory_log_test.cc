#include <catch2/catch.hpp>

#include "store/memory_log.h"

using cairn::store::MemoryLog;
using cairn::store::WalRecord;
using cairn::wire::Err;
using cairn::wire::Status;

namespace {

std::string indices(const std::vector<WalRecord>& recs) {
  std::string s;
  for (const auto& r : recs)
    s += (s.empty() ? "" : " ") + std::to_string(r.index) + ":" + r.payload;
  return s;
}

}  // namespace

TEST_CASE("memory log: a crash keeps the synced records and at most a prefix of the rest",
          "[unit][store]") {
  MemoryLog log;
  log.append(1, "a");
  log.append(2, "b");
  REQUIRE(log.sync().isOk());
  CHECK(log.lastIndex() == 2);
  log.append(3, "c");
  log.append(4, "d");
  CHECK(log.buffered() > 0);
  CHECK(indices(log.survivors(0)) == "1:a 2:b");
  CHECK(indices(log.survivors(1)) == "1:a 2:b 3:c");  // a torn tail
  CHECK(indices(log.survivors(9)) == "1:a 2:b 3:c 4:d");
  // A restart finds the survivors durable and appends after them.
  MemoryLog again(log.survivors(1));
  CHECK(again.lastIndex() == 3);
  again.append(4, "e");
  REQUIRE(again.sync().isOk());
  CHECK(indices(again.synced()) == "1:a 2:b 3:c 4:e");
}

TEST_CASE("memory log: a failed sync makes nothing durable and fails once", "[unit][store]") {
  MemoryLog log;
  log.append(1, "a");
  log.failNextSync(Status(Err::kIo, "EIO"));
  CHECK(log.sync().code() == Err::kIo);
  CHECK(log.lastIndex() == 0);
  CHECK(indices(log.survivors(0)).empty());
  CHECK(log.sync().isOk());  // as Linux may, after dropping the dirty pages: see store/log.h
  CHECK(log.lastIndex() == 1);
}

TEST_CASE("memory log: detachBefore forgets older records at once", "[unit][store]") {
  MemoryLog log;
  for (std::uint64_t i = 1; i <= 4; ++i)
    log.append(i, "x");
  REQUIRE(log.sync().isOk());
  CHECK(log.detachBefore(3).empty());  // no files to remove
  CHECK(indices(log.synced()) == "3:x 4:x");
  CHECK(log.lastIndex() == 4);
}
