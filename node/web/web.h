#pragma once
// Web: the node's web room: the viewer page, its websocket, /metrics and /healthz (VIEWER.md).
//
// Owns: an HTTP server thread (Boost.Beast, http_server.h), a bridge thread that talks to the node
// the way any client does (bridge.h: reads and SELF over the client socket, a Watcher on the
// feed), and the node's end of one inproc socket, on which the node hands over a copy of its
// counters and its SELF reply twice a second (publish()). That copy is all the web sees of the
// node's state: nothing here reads the node's memory, and nothing the node does waits on the web.
//
// Thread: start() and publish() on the node's loop thread. Everything else runs on the room's own
// threads, which the destructor stops (before the ZeroMQ context they use ends).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "node/stats.h"
#include "wire/keys.h"
#include "wire/message.h"
#include "wire/status.h"

namespace cairn::node::web {

class Bridge;
class HttpServer;

struct WebOptions {
  std::string listen;          // --http HOST:PORT (port 0: the OS chooses)
  std::string clientEndpoint;  // where this node serves clients, as this process reaches it
  std::int64_t nodeId = 0;
  std::int64_t historyRevs = 0;  // the node's --history
  // The node's key pair under --key: the web room's clients (of this node and, for the cluster
  // view, of the others) use it, and the Gate lets them read.
  std::optional<wire::KeyPair> key;
};

class Web {
 public:
  // Binds the HTTP port and starts the room's threads; an error if the port cannot be bound.
  static wire::Result<std::unique_ptr<Web>> start(zmq::context_t& ctx, WebOptions opts);
  ~Web();
  Web(const Web&) = delete;
  Web& operator=(const Web&) = delete;

  // Hands the web a copy of the node's counters and its SELF reply. Never blocks: a copy the web
  // has not taken yet is replaced (the socket keeps one message at most).
  void publish(const Stats& stats, const wire::Reply& self,
               std::chrono::steady_clock::time_point now);
  // Where the HTTP server listens (host:port, the OS-chosen port filled in).
  const std::string& listening() const { return listening_; }

 private:
  Web(zmq::context_t& ctx, WebOptions opts);

  WebOptions opts_;
  zmq::socket_t facts_;  // PUSH, the node's end
  std::string listening_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<Bridge> bridge_;
  // Where the server's request hook finds the bridge (null before it starts and once it stops).
  std::shared_ptr<std::atomic<Bridge*>> bridgeSlot_;
};

}  // namespace cairn::node::web
