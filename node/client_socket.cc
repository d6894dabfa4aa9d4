#include "node/client_socket.h"

#include "node/log.h"
#include "node/stats.h"
#include "wire/codec.h"

namespace cairn::node {

namespace {
constexpr std::size_t kMaxFrames = 8;
}

ClientSocket::ClientSocket(zmq::context_t& ctx, Stats& stats)
    : socket_(ctx, zmq::socket_type::router), stats_(stats) {}

wire::Status ClientSocket::bind(const std::string& endpoint, std::int64_t maxMessage) {
  try {
    socket_.set(zmq::sockopt::maxmsgsize, maxMessage);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::sndhwm, 100000);
    socket_.set(zmq::sockopt::rcvhwm, 100000);
    socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return wire::Status(wire::Err::kIo,
                        "cannot bind client endpoint " + endpoint + ": " + e.what());
  }
  return wire::Status::ok();
}

std::string ClientSocket::boundEndpoint() const {
  return socket_.get(zmq::sockopt::last_endpoint);
}

void ClientSocket::drain(int max, const OnRequest& fn) {
  // One clock reading per drain: the requests of one drain arrived within its time.
  const auto arrived = std::chrono::steady_clock::now();
  for (int n = 0; n < max; ++n) {
    std::vector<zmq::message_t> frames;
    std::size_t total = 0;
    try {
      zmq::message_t m;
      if (!socket_.recv(m, zmq::recv_flags::dontwait)) return;
      bool more = m.more();
      frames.push_back(std::move(m));
      ++total;
      while (more) {  // the rest of a multipart message is already here
        zmq::message_t part;
        (void)socket_.recv(part, zmq::recv_flags::none);
        more = part.more();
        if (frames.size() < kMaxFrames) frames.push_back(std::move(part));
        ++total;
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == EAGAIN || e.num() == EINTR) return;
      throw;
    }
    Envelope env;
    env.arrived = arrived;
    env.frames.emplace_back(frames[0].to_string());
    std::size_t body = 1;
    if (frames.size() > 1 && frames[1].size() == 0) {
      env.frames.emplace_back();
      body = 2;
    }
    if (total != body + 1) {
      wire::Reply r =
          wire::Reply::error(wire::Err::kBadRequest,
                             "a request is exactly one frame (after the routing envelope); got " +
                                 std::to_string(total - body));
      send(env, r, "");
      continue;
    }
    if (authenticated) {
      // The user the Gate named for this connection (ZAP), on every message that came over it
      // (not on the routing id, which the ROUTER makes).
      const char* user = zmq_msg_gets(frames[body].handle(), "User-Id");
      if (user != nullptr) env.identity = user;
    }
    fn(std::move(env), frames[body].to_string_view());
  }
}

void ClientSocket::send(const Envelope& env, wire::Reply& r, const std::string& tag) {
  r.tag = tag;
  stats_.countReply(r.err);
  if (env.verb >= 0) {
    stats_.countReplyTo(static_cast<std::size_t>(env.verb), r.err,
                        std::chrono::steady_clock::now() - env.arrived);
  }
  std::string body = wire::encodeReply(r);
  try {
    for (const auto& f : env.frames) {
      socket_.send(zmq::buffer(f), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    }
    socket_.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    // The client is gone or not reading: its reply is dropped, everyone else is still served.
    ++stats_.repliesDropped;
    if (verbose) logLine(std::string("reply dropped: ") + e.what());
  }
}

}  // namespace cairn::node
