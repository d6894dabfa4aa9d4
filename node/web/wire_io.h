#pragma once
// The web room's requests to nodes over DEALER sockets (PROTOCOL.md §3: an empty delimiter, then
// one request frame; the reply echoes the tag). Thread: whichever owns the socket.
#include <cstdint>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "wire/keys.h"
#include "wire/message.h"

namespace cairn::node::web {

// A DEALER to a node's client endpoint: linger 0, and ZMQ_IMMEDIATE, so that a send fails at once
// while there is no connection (a node that is down, or one still being connected to).
// With `key` (the node's, under --key), CURVE to the key the endpoint names (tcp://KEY@host:port);
// std::runtime_error when it names none.
zmq::socket_t dealerTo(zmq::context_t& ctx, const std::string& endpoint,
                       const std::optional<wire::KeyPair>& key);
// Sends one request; false if the socket could not take it now.
bool sendRequest(zmq::socket_t& s, const wire::Request& req);
// The next reply waiting on the socket, if any (one that does not decode comes back as an error).
std::optional<wire::Reply> takeReply(zmq::socket_t& s);
// A request tag: a number, packed as msgpack.
std::string tagOf(std::uint64_t n);

}  // namespace cairn::node::web
