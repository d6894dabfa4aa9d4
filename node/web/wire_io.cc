#include "node/web/wire_io.h"

#include <stdexcept>
#include <vector>

#include <msgpack.hpp>

#include "bindings/cpp/client.h"
#include "wire/codec.h"

namespace cairn::node::web {

zmq::socket_t dealerTo(zmq::context_t& ctx, const std::string& endpoint,
                       const std::optional<wire::KeyPair>& key) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::immediate, 1);
  s.set(zmq::sockopt::sndhwm, 1000);
  s.set(zmq::sockopt::maxmsgsize, std::int64_t{64} << 20);
  auto target = client::secureSocket(s, endpoint, key, "");
  if (!target) throw std::runtime_error(target.status().detail());
  s.connect(*target);
  return s;
}

bool sendRequest(zmq::socket_t& s, const wire::Request& req) {
  const std::string body = wire::encodeRequest(req);
  try {
    if (!s.send(zmq::const_buffer(), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return false;
    return s.send(zmq::buffer(body), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

std::optional<wire::Reply> takeReply(zmq::socket_t& s) {
  std::vector<zmq::message_t> parts;
  try {
    zmq::message_t m;
    if (!s.recv(m, zmq::recv_flags::dontwait)) return std::nullopt;
    parts.push_back(std::move(m));
    while (parts.back().more()) {
      zmq::message_t more;
      (void)s.recv(more, zmq::recv_flags::none);
      parts.push_back(std::move(more));
    }
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
  auto r = wire::decodeReply(parts.back().to_string_view());
  if (!r) return wire::Reply::error(r.status().code(), r.status().detail());
  return std::move(*r);
}

std::string tagOf(std::uint64_t n) {
  msgpack::sbuffer b;
  msgpack::pack(b, n);
  return std::string(b.data(), b.size());
}

}  // namespace cairn::node::web
