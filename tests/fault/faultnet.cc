#include "tests/fault/faultnet.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <stdexcept>

namespace cairn::fault {

namespace {

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void setNonBlocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

// One direction of a proxied connection: chunks held until they are due. (Named, not in the
// anonymous namespace: FaultNet::Link, which has external linkage, holds two.)
namespace proxy {
struct Chunk {
  std::int64_t due;
  std::string data;
  std::size_t off = 0;
};
struct Pipe {
  std::deque<Chunk> q;
  bool due(std::int64_t now) const { return !q.empty() && q.front().due <= now; }
};
}  // namespace proxy
using proxy::Chunk;
using proxy::Pipe;

struct FaultNet::Link {
  int from = 0, to = 0;
  int listenFd = -1;
  int targetPort = 0;
  std::atomic<bool> cut{false};
  std::atomic<int> delayMs{0};
  struct Conn {
    int a = -1, b = -1;  // a: accepted from the node; b: to the target
    Pipe ab, ba;
  };
  std::vector<Conn> conns;
};

FaultNet::FaultNet() = default;

FaultNet::~FaultNet() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (auto& l : links_) {
    for (auto& c : l->conns) {
      ::close(c.a);
      ::close(c.b);
    }
    if (l->listenFd >= 0) ::close(l->listenFd);
  }
}

std::string FaultNet::addLink(int from, int to, int targetPort) {
  auto l = std::make_unique<Link>();
  l->from = from;
  l->to = to;
  l->targetPort = targetPort;
  l->listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l->listenFd < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(l->listenFd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;  // the OS picks
  socklen_t len = sizeof a;
  if (::bind(l->listenFd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(l->listenFd, 16) != 0 ||
      ::getsockname(l->listenFd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("proxy listen failed");
  }
  setNonBlocking(l->listenFd);
  links_.push_back(std::move(l));
  return "tcp://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

void FaultNet::start() {
  thread_ = std::thread([this] { loop(); });
}

void FaultNet::cut(int a, int b, bool on) {
  for (auto& l : links_) {
    if ((l->from == a && l->to == b) || (l->from == b && l->to == a)) l->cut = on;
  }
}

void FaultNet::delayAll(int ms) {
  for (auto& l : links_)
    l->delayMs = ms;
}

void FaultNet::healAll() {
  for (auto& l : links_) {
    l->cut = false;
    l->delayMs = 0;
  }
}

void FaultNet::loop() {
  std::vector<pollfd> fds;
  struct Ref {
    Link* link;
    std::size_t conn;  // SIZE_MAX: the listening socket
    bool sideA;
  };
  std::vector<Ref> refs;
  char buf[65536];
  while (!stop_) {
    const std::int64_t now = nowMs();
    // Cut links lose their connections at once, as a partition would.
    for (auto& l : links_) {
      if (!l->cut) continue;
      for (auto& c : l->conns) {
        ::close(c.a);
        ::close(c.b);
      }
      l->conns.clear();
    }
    fds.clear();
    refs.clear();
    std::int64_t wake = now + 20;
    for (auto& l : links_) {
      fds.push_back({l->listenFd, POLLIN, 0});
      refs.push_back({l.get(), SIZE_MAX, false});
      for (std::size_t i = 0; i < l->conns.size(); ++i) {
        auto& c = l->conns[i];
        short ea = POLLIN, eb = POLLIN;
        if (c.ba.due(now)) ea |= POLLOUT;
        if (c.ab.due(now)) eb |= POLLOUT;
        if (!c.ab.q.empty()) wake = std::min(wake, c.ab.q.front().due);
        if (!c.ba.q.empty()) wake = std::min(wake, c.ba.q.front().due);
        fds.push_back({c.a, ea, 0});
        refs.push_back({l.get(), i, true});
        fds.push_back({c.b, eb, 0});
        refs.push_back({l.get(), i, false});
      }
    }
    ::poll(fds.data(), fds.size(), static_cast<int>(std::max<std::int64_t>(0, wake - now)));
    const std::int64_t t = nowMs();
    std::vector<std::pair<Link*, std::size_t>> dead;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      const Ref& r = refs[k];
      Link& l = *r.link;
      if (r.conn == SIZE_MAX) {
        if (!(fds[k].revents & POLLIN)) continue;
        int a = ::accept4(l.listenFd, nullptr, nullptr, SOCK_CLOEXEC);
        if (a < 0) continue;
        if (l.cut) {
          ::close(a);
          continue;
        }
        int b = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons(static_cast<std::uint16_t>(l.targetPort));
        if (b < 0 || ::connect(b, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
          ::close(a);
          if (b >= 0) ::close(b);
          continue;
        }
        setNonBlocking(a);
        setNonBlocking(b);
        l.conns.push_back(Link::Conn{a, b, {}, {}});
        continue;
      }
      auto& c = l.conns[r.conn];
      const int fd = r.sideA ? c.a : c.b;
      Pipe& in = r.sideA ? c.ab : c.ba;   // what this side sends
      Pipe& out = r.sideA ? c.ba : c.ab;  // what this side receives
      bool broken = (fds[k].revents & (POLLERR | POLLHUP)) != 0 && !(fds[k].revents & POLLIN);
      if (fds[k].revents & POLLIN) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
          in.q.push_back(
              Chunk{t + l.delayMs.load(), std::string(buf, static_cast<std::size_t>(n))});
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          broken = true;
        }
      }
      while (!broken && out.due(t)) {
        Chunk& ch = out.q.front();
        ssize_t n = ::write(fd, ch.data.data() + ch.off, ch.data.size() - ch.off);
        if (n < 0) {
          if (errno != EAGAIN && errno != EINTR) broken = true;
          break;
        }
        ch.off += static_cast<std::size_t>(n);
        if (ch.off < ch.data.size()) break;
        out.q.pop_front();
      }
      if (broken) dead.emplace_back(&l, r.conn);
    }
    // Close broken connections (both sides: a proxy passes a close on), highest index first.
    std::sort(dead.begin(), dead.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first < y.first : x.second > y.second;
    });
    dead.erase(std::unique(dead.begin(), dead.end()), dead.end());
    for (auto& [l, i] : dead) {
      ::close(l->conns[i].a);
      ::close(l->conns[i].b);
      l->conns.erase(l->conns.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

}  // namespace cairn::fault
