#pragma once
#include <chrono>
#include <thread>

namespace cairn::test {

template <class Pred>
bool eventually(Pred pred, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(5));  // poll interval, not a wait for state
  }
}

}  // namespace cairn::test
