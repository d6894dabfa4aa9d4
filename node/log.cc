#include "node/log.h"

#include <unistd.h>

namespace cairn::node {

void logLine(const std::string& s) {
  std::string line = "cairnd: " + s + "\n";
  (void)!::write(2, line.data(), line.size());
}

}  // namespace cairn::node
