#include "tests/support/history.h"

#include <chrono>
#include <thread>

namespace cairn::test {

wire::Result<std::vector<client::Change>> historyThrough(client::Client& c, const std::string& glob,
                                                         std::int64_t from, std::int64_t upTo) {
  std::vector<client::Change> out;
  std::int64_t next = from;
  while (next <= upTo) {
    std::int64_t complete = 0;
    auto page = c.changes(glob, next, &complete);
    if (!page) return page.status();
    for (auto& ch : *page) {
      if (ch.rev <= upTo) out.push_back(std::move(ch));
    }
    if (complete < next) {                                         // the node is not there yet
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval
      continue;
    }
    next = complete + 1;
  }
  return out;
}

}  // namespace cairn::test
