#pragma once
// Bridge: the web room's client of its own node (and of the other members). Turns the node's
// facts, its answers and its feed into the viewer's JSON messages (VIEWER.md) for the HttpServer.
//
// Owns two threads. The bridge thread polls, with zmq::poll: the PULL end of the facts socket
// (web.h), a DEALER to this node's client socket (the viewers' reads, MEMBERS), one DEALER per
// other member (SELF once a second: the cluster view), and an eventfd that says a viewer's request
// was queued. The watch thread follows the feed with a Watcher ("/**", this node only) and
// broadcasts each change. Both only hand strings to the HttpServer, which never blocks them.
//
// Thread: the constructor and destructor on the node's thread; request() on the HttpServer's.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "node/web/http_server.h"
#include "node/web/web.h"

namespace cairn::node::web {

class Bridge {
 public:
  // `facts`: the PULL end of the node's facts socket, handed over to the bridge thread.
  Bridge(zmq::context_t& ctx, zmq::socket_t facts, WebOptions opts, HttpServer& http);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // A viewer's message; answered later with HttpServer::send.
  void request(std::uint64_t session, std::string text);

  class Loop;  // the bridge thread's state (bridge.cc)

 private:
  void watch();

  zmq::context_t& ctx_;
  WebOptions opts_;
  HttpServer& http_;
  int wake_ = -1;  // eventfd: a request was queued, or stop
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // guards inbox_ (the HttpServer's thread adds, the bridge thread takes)
  std::deque<std::pair<std::uint64_t, std::string>> inbox_;
  std::unique_ptr<Loop> loop_;
  std::thread bridge_;
  std::thread watcher_;
};

}  // namespace cairn::node::web
