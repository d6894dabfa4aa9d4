#include "tests/support/web_client.h"

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace cairn::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

tcp::endpoint endpointOf(const std::string& hostPort) {
  const auto colon = hostPort.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("want HOST:PORT, got " + hostPort);
  return tcp::endpoint(net::ip::make_address(hostPort.substr(0, colon)),
                       static_cast<unsigned short>(std::stoi(hostPort.substr(colon + 1))));
}

}  // namespace

HttpResponse httpRequest(const std::string& hostPort, const std::string& target,
                         const std::string& method, const std::string& host, int timeoutMs) {
  HttpResponse out;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::request<http::empty_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, host.empty() ? hostPort : host);
  req.keep_alive(false);
  http::response_parser<http::string_body> parser;
  parser.skip(method == "HEAD");  // a HEAD's answer has a Content-Length and no body
  beast::flat_buffer buf;
  beast::error_code result;
  stream.expires_after(std::chrono::milliseconds(timeoutMs));
  stream.async_connect(endpointOf(hostPort), [&](beast::error_code ec) {
    if (ec) {
      result = ec;
      return;
    }
    http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
      if (ec) {
        result = ec;
        return;
      }
      http::async_read(stream, buf, parser,
                       [&](beast::error_code ec, std::size_t) { result = ec; });
    });
  });
  ioc.run();
  if (result) {
    out.error = result.message();
    return out;
  }
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.contentType = std::string(res[http::field::content_type]);
  out.contentLength = std::string(res[http::field::content_length]);
  out.body = std::move(res.body());
  return out;
}

std::optional<double> metric(const std::string& page, const std::string& name) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, name.size() + 1, name + " ") == 0) {
      return std::strtod(line.c_str() + name.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

struct WebSocket::Impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer in;
  std::deque<std::string> received;
  bool reading = false;
  bool ended = false;
  std::string reason;

  void read() {
    reading = true;
    ws.async_read(in, [this](beast::error_code ec, std::size_t) {
      reading = false;
      if (ec) {
        ended = true;
        reason = ec.message();
        return;
      }
      received.push_back(beast::buffers_to_string(in.data()));
      in.consume(in.size());
    });
  }
};

WebSocket::WebSocket(const std::string& hostPort, int receiveBuffer, const std::string& origin)
    : impl_(std::make_unique<Impl>()) {
  auto& sock = beast::get_lowest_layer(impl_->ws).socket();
  sock.open(tcp::v4());
  if (receiveBuffer > 0) sock.set_option(net::socket_base::receive_buffer_size(receiveBuffer));
  beast::get_lowest_layer(impl_->ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(impl_->ws).connect(endpointOf(hostPort));
  if (!origin.empty()) {
    impl_->ws.set_option(websocket::stream_base::decorator(
        [origin](websocket::request_type& req) { req.set(http::field::origin, origin); }));
  }
  impl_->ws.handshake(hostPort, "/ws");
  beast::get_lowest_layer(impl_->ws).expires_never();
}

WebSocket::~WebSocket() {
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().close(ec);
}

void WebSocket::send(const std::string& text) {
  impl_->ws.text(true);
  impl_->ws.write(net::buffer(text));
}

std::optional<std::string> WebSocket::next(int timeoutMs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  auto step = [&](bool wait) {
    if (!impl_->reading && !impl_->ended) impl_->read();
    impl_->ioc.restart();
    const auto now = std::chrono::steady_clock::now();
    if (wait && now < deadline) {
      impl_->ioc.run_one_for(deadline - now);
    } else {
      impl_->ioc.poll();  // what has arrived already
    }
  };
  step(false);
  while (impl_->received.empty() && !impl_->ended && std::chrono::steady_clock::now() < deadline) {
    step(true);
  }
  if (impl_->received.empty()) return std::nullopt;
  std::string m = std::move(impl_->received.front());
  impl_->received.pop_front();
  return m;
}

bool WebSocket::ended() const {
  return impl_->ended;
}

std::string WebSocket::endReason() const {
  return impl_->reason;
}

}  // namespace cairn::test
