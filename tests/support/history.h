#pragma once
// Test support: the store's history of a glob, read with CHANGES page by page.

#include <cstdint>
#include <string>
#include <vector>

#include "bindings/cpp/client.h"

namespace cairn::test {

// Every change matching `glob` with from <= rev <= upTo, in rev order, from the node `c` talks
// to; waits (polling) while that node has not reached upTo. An error (TOO_LATE, UNAVAILABLE)
// ends it.
wire::Result<std::vector<client::Change>> historyThrough(client::Client& c, const std::string& glob,
                                                         std::int64_t from, std::int64_t upTo);

}  // namespace cairn::test
