#pragma once
// Test support: an HTTP GET and a websocket client for the web room's tests (Boost.Beast, kept in
// web_client.cc). Both block their caller, with deadlines; nothing sleeps a fixed time.
#include <deque>
#include <memory>
#include <optional>
#include <string>

namespace cairn::test {

struct HttpResponse {
  int status = 0;  // 0: no response (the error says why)
  std::string contentType;
  std::string contentLength;  // the header, as sent
  std::string body;
  std::string error;
};
// One request to http://HOST:PORT/target, on a connection of its own. `host`: the Host header
// ("" sends HOST:PORT).
HttpResponse httpRequest(const std::string& hostPort, const std::string& target,
                         const std::string& method = "GET", const std::string& host = "",
                         int timeoutMs = 5000);

// The value of a metric with no labels in a Prometheus text page (nullopt if absent).
std::optional<double> metric(const std::string& page, const std::string& name);

// A websocket to ws://HOST:PORT/ws. Messages are read only inside next(): a test that never calls
// it is a viewer that stopped reading (with `receiveBuffer` small, the kernel buffers little).
class WebSocket {
 public:
  // Throws if the handshake fails. `origin`: an Origin header to send ("" sends none).
  explicit WebSocket(const std::string& hostPort, int receiveBuffer = 0,
                     const std::string& origin = "");
  ~WebSocket();
  WebSocket(const WebSocket&) = delete;
  WebSocket& operator=(const WebSocket&) = delete;

  void send(const std::string& text);
  // The next message, waiting up to timeoutMs; nullopt on timeout or once the server closed.
  std::optional<std::string> next(int timeoutMs);
  // Whether the connection ended (closed by the server, or an error), and why.
  bool ended() const;
  std::string endReason() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::test
