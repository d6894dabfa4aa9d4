#pragma once
// HttpServer: the web room's HTTP and websocket server (VIEWER.md), on one thread of its own.
//
// Serves the viewer's files, /metrics and /healthz from what it was last handed (setFacts), and
// keeps the viewers' websockets: each gets the greeting (setGreeting) when it opens, then every
// broadcast(); what a viewer sends goes to Hooks::request. A viewer that does not read is dropped:
// each websocket queues at most kQueueMessages messages or kQueueBytes bytes for writing, and the
// one over either is closed. Nothing here blocks its caller: the thread-safe calls post their work
// to the server's thread. Boost.Beast stays inside http_server.cc (it is slow to compile).
//
// Thread: start() and the destructor on any one thread; broadcast(), send(), setGreeting() and
// setFacts() on any thread; Hooks run on the server's thread and must not block.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "node/web/facts.h"
#include "wire/status.h"

namespace cairn::node::web {

class HttpServer {
 public:
  static constexpr std::size_t kQueueMessages = 1024;
  static constexpr std::size_t kQueueBytes = 4 << 20;
  static constexpr std::size_t kMaxViewers = 64;
  static constexpr std::size_t kMaxViewerMessage = 64 << 10;  // what a viewer may send at once

  struct Hooks {
    // A text message from viewer `session` (a number that names its websocket).
    std::function<void(std::uint64_t session, std::string text)> request;
  };

  // Listens on `listen` (HOST:PORT; port 0: the OS chooses) and starts the thread.
  static wire::Result<std::unique_ptr<HttpServer>> start(const std::string& listen, Hooks hooks);
  ~HttpServer();
  // Stops the server's thread (the destructor does too): nothing more is served or sent.
  void stop();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // HOST:PORT as bound.
  const std::string& listening() const { return listening_; }

  // To every open websocket.
  void broadcast(std::string text);
  // To one websocket, if it is still open.
  void send(std::uint64_t session, std::string text);
  // The messages a websocket gets first when it opens (replacing the previous greeting).
  void setGreeting(std::vector<std::string> messages);
  // The node's latest facts, for /metrics and /healthz.
  void setFacts(std::shared_ptr<const Facts> facts);

  WebCounters counters() const;
  // The node's rev (from its facts) when the first viewer since the last call opened, 0 if none
  // did or no facts had come: a watch for viewers starts after it, before anything they read.
  std::int64_t takeViewerRev();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string listening_;
};

// The files of the viewer page compiled into the binary (assets.cc, generated from assets/).
struct Asset {
  const char* path;  // "/", "/app.js", ...
  const char* contentType;
  const char* data;
  std::size_t size;
};
const Asset* findAsset(std::string_view path);

}  // namespace cairn::node::web
