// Loop: the reactor's dispatch order and wake-ups, with a pipe for a socket.

#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

#include "node/loop.h"

using cairn::node::Loop;

TEST_CASE("loop: a readable fd runs its handler, then timers, then the end of the turn",
          "[unit][node]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  Loop loop;
  std::string order;
  loop.onReadable(fds[0], [&] {
    char c;
    REQUIRE(::read(fds[0], &c, 1) == 1);
    order += c;
  });
  loop.every(std::chrono::milliseconds(1), [&](Loop::Clock::time_point) {
    if (order.find('r') != std::string::npos) order += 't';
  });
  loop.atTurnEnd([&](Loop::Clock::time_point) {
    if (order.find('t') != std::string::npos) {
      order += 'e';
      loop.stop();
    }
  });
  REQUIRE(::write(fds[1], "r", 1) == 1);
  CHECK(loop.run());
  CHECK(order.substr(0, 1) == "r");
  CHECK(order.substr(order.size() - 2) == "te");
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("loop: a deadline source wakes the loop with nothing readable", "[unit][node]") {
  Loop loop;
  int turns = 0;
  const auto due = Loop::Clock::now();
  loop.wakeBy([&]() -> std::optional<Loop::Clock::time_point> { return due; });
  // A watchdog, so that a loop that does not wake fails the test instead of sleeping an hour.
  bool watchdog = false;
  loop.every(std::chrono::seconds(5), [&](Loop::Clock::time_point) {
    watchdog = true;
    loop.stop();
  });
  loop.atTurnEnd([&](Loop::Clock::time_point now) {
    CHECK(now >= due);
    if (++turns == 3) loop.stop();
  });
  CHECK(loop.run());  // without the source it would sleep until the watchdog
  CHECK(!watchdog);
  CHECK(turns == 3);
}

TEST_CASE("loop: stop() from a handler skips the rest of the turn", "[unit][node]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  Loop loop;
  bool second = false, ended = false;
  loop.onReadable(fds[0], [&] { loop.stop(); });
  loop.onReadable(fds[0], [&] { second = true; });
  loop.atTurnEnd([&](Loop::Clock::time_point) { ended = true; });
  REQUIRE(::write(fds[1], "x", 1) == 1);
  CHECK(loop.run());
  CHECK(!second);
  CHECK(!ended);
  ::close(fds[0]);
  ::close(fds[1]);
}
