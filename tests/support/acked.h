#pragma once
// What a test saw acknowledged, and the check that a node still holds all of it: the promise
// "nothing acknowledged is ever lost", written once for every test that kills or starves a node.
// For Catch2 test files only (it asserts).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>

#include "bindings/cpp/client.h"

namespace cairn::test {

// path -> (rev, value) of each acknowledged write.
using AckedWrites = std::map<std::string, std::pair<std::int64_t, std::string>>;

// Reads every acknowledged path from `endpoint`: each holds the acknowledged value at its rev,
// and the head is at least the highest acknowledged rev. Returns that rev.
inline std::int64_t checkAcknowledged(const std::string& endpoint, const AckedWrites& acked) {
  client::Options o;
  o.endpoints = {endpoint};
  client::Client c(o);
  std::int64_t maxRev = 0;
  for (const auto& [path, rv] : acked) {
    auto f = c.get(path);
    INFO(path);
    REQUIRE(f.isOk());
    CHECK(f->rev == rv.first);
    CHECK(f->value == rv.second);
    maxRev = std::max(maxRev, rv.first);
  }
  auto head = c.rev();
  REQUIRE(head.isOk());
  CHECK(*head >= maxRev);
  return maxRev;
}

}  // namespace cairn::test
