#pragma once
// ClientSocket: the client ROUTER. Turns its frames into an Envelope (who asked) plus the
// request's bytes, and a Reply back into frames for that Envelope.
//
// Owns: the ROUTER bound on the client endpoint. Thread: the node's event loop. Sending never
// blocks: a reply for a client that is gone or not reading is dropped, and everyone else is still
// served. A message that is not exactly one frame after the routing envelope is answered
// BAD_REQUEST here; nothing else about a request's meaning is known to this room.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "node/envelope.h"
#include "wire/message.h"
#include "wire/status.h"

namespace cairn::node {

struct Stats;

class ClientSocket {
 public:
  ClientSocket(zmq::context_t& ctx, Stats& stats);
  // Binds `endpoint`; messages over `maxMessage` bytes drop the connection (libzmq's cap).
  wire::Status bind(const std::string& endpoint, std::int64_t maxMessage);
  // Where the socket is bound (the OS-chosen port filled in).
  std::string boundEndpoint() const;

  using OnRequest = std::function<void(Envelope env, std::string_view body)>;
  // Takes up to `max` waiting requests and hands each to fn.
  void drain(int max, const OnRequest& fn);
  // Sends r (with the request's tag) to the client of `env`.
  void send(const Envelope& env, wire::Reply& r, const std::string& tag);

  zmq::socket_t& socket() { return socket_; }
  bool verbose = false;
  // CURVE with ZAP: each request's Envelope carries the user of its connection.
  bool authenticated = false;

 private:
  zmq::socket_t socket_;
  Stats& stats_;
};

}  // namespace cairn::node
