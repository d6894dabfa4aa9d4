#pragma once
// Loop: the node's reactor. Sockets and fds register a handler for "readable", periodic timers
// register a period, and rooms that wait for deadlines register a source that names their
// earliest one; run() polls until stop() and calls, each turn, the ready handlers (in
// registration order), then the due timers, then the end-of-turn hooks.
//
// Owns: nothing but the registrations. Thread: run() and every handler run on the caller's
// thread, the node's only thread for sockets and state. The wake-up is the earliest of the
// timers and the deadline sources, each asked once per turn (a source answers in O(1)).

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include <zmq.hpp>

namespace cairn::node {

class Loop {
 public:
  using Clock = std::chrono::steady_clock;
  using Handler = std::function<void()>;
  using TimerFn = std::function<void(Clock::time_point now)>;
  using DeadlineFn = std::function<std::optional<Clock::time_point>()>;

  // The handler runs when the socket (or fd) has a message (or data) waiting; it must drain
  // without blocking. The socket object must outlive the loop's run(); the socket it holds may be
  // replaced (a new one moved into it), and the loop polls the new one from its next turn.
  void onReadable(zmq::socket_t& socket, Handler fn);
  void onReadable(int fd, Handler fn);
  // Runs fn every `period`, first one period from now (a late timer is not run twice to catch
  // up: the next run is one period after this one).
  void every(Clock::duration period, TimerFn fn);
  // A room's earliest deadline (nullopt when it waits for none): the loop wakes by then.
  void wakeBy(DeadlineFn earliest);
  // Runs at the end of every turn, in registration order.
  void atTurnEnd(TimerFn fn);

  // Polls and dispatches until stop() is called (by a handler), or the ZeroMQ context is
  // terminated. Returns false if polling failed for any other reason (an interrupted call is
  // retried).
  bool run();
  void stop() { stopped_ = true; }

 private:
  struct Timer {
    Clock::duration period;
    Clock::time_point next;
    TimerFn fn;
  };
  std::vector<zmq::pollitem_t> items_;
  std::vector<zmq::socket_t*> sockets_;  // items_[i]'s socket, or null for an fd
  std::vector<Handler> handlers_;
  std::vector<Timer> timers_;
  std::vector<DeadlineFn> sources_;
  std::vector<TimerFn> turnEnd_;
  bool stopped_ = false;
};

}  // namespace cairn::node
