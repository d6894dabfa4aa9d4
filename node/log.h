#pragma once
// The node's log lines: one line each on stderr, prefixed "cairnd: ", written with one write(2)
// so lines of concurrent threads never interleave.

#include <string>

namespace cairn::node {

void logLine(const std::string& s);

}  // namespace cairn::node
