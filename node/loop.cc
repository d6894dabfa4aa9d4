#include "node/loop.h"

#include <algorithm>
#include <cerrno>

namespace cairn::node {

void Loop::onReadable(zmq::socket_t& socket, Handler fn) {
  items_.push_back(zmq::pollitem_t{socket.handle(), 0, ZMQ_POLLIN, 0});
  sockets_.push_back(&socket);
  handlers_.push_back(std::move(fn));
}

void Loop::onReadable(int fd, Handler fn) {
  items_.push_back(zmq::pollitem_t{nullptr, fd, ZMQ_POLLIN, 0});
  sockets_.push_back(nullptr);
  handlers_.push_back(std::move(fn));
}

void Loop::every(Clock::duration period, TimerFn fn) {
  timers_.push_back(Timer{period, Clock::now() + period, std::move(fn)});
}

void Loop::wakeBy(DeadlineFn earliest) {
  sources_.push_back(std::move(earliest));
}

void Loop::atTurnEnd(TimerFn fn) {
  turnEnd_.push_back(std::move(fn));
}

bool Loop::run() {
  stopped_ = false;
  while (!stopped_) {
    auto now = Clock::now();
    auto wake = now + std::chrono::hours(1);
    for (const Timer& t : timers_)
      wake = std::min(wake, t.next);
    for (const DeadlineFn& s : sources_) {
      if (auto d = s()) wake = std::min(wake, *d);
    }
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(wake - now);
    if (ms.count() < 0) ms = std::chrono::milliseconds(0);
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (sockets_[i] != nullptr) items_[i].socket = sockets_[i]->handle();
    }
    try {
      zmq::poll(items_.data(), items_.size(), ms);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return e.num() == ETERM;
    }
    for (std::size_t i = 0; i < items_.size() && !stopped_; ++i) {
      if (items_[i].revents & ZMQ_POLLIN) handlers_[i]();
    }
    if (stopped_) break;
    now = Clock::now();
    for (Timer& t : timers_) {
      if (now < t.next) continue;
      t.fn(now);
      t.next += t.period;
      if (t.next < now) t.next = now + t.period;
    }
    now = Clock::now();
    for (const TimerFn& fn : turnEnd_) {
      if (stopped_) break;
      fn(now);
    }
  }
  return true;
}

}  // namespace cairn::node
