#include "node/web/http_server.h"

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "node/log.h"

namespace cairn::node::web {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Message = std::shared_ptr<const std::string>;

namespace {

constexpr std::size_t kMaxRequestBytes = 16 << 10;    // an HTTP request's header and body
constexpr auto kHttpIdle = std::chrono::seconds(30);  // a keep-alive connection left idle
constexpr std::size_t kMaxConnections = 256;          // HTTP connections open at once (viewers too)
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);  // after accept failed (EMFILE)
// A viewer that answers no ping for this long is closed (the browser sleeps, the network died).
constexpr auto kViewerIdle = std::chrono::seconds(60);
// Kernel buffering per viewer: small, so that a viewer that stops reading fills its queue soon.
constexpr int kViewerSendBuffer = 256 << 10;

// "host:port" of the request's Host header, and of an Origin URL ("http://host:port").
std::string originHost(std::string_view origin) {
  const auto scheme = origin.find("://");
  if (scheme != std::string_view::npos) origin.remove_prefix(scheme + 3);
  return std::string(origin.substr(0, origin.find('/')));
}

}  // namespace

class ViewerSession;

class HttpServer::Impl {
 public:
  explicit Impl(Hooks h) : hooks(std::move(h)) {}
  void accept();
  // Host headers a request may carry: with a loopback address bound, only loopback names (a page
  // of another site, its name pointed at 127.0.0.1, must not read the tree: DNS rebinding).
  bool hostAllowed(std::string_view host) const;

  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry{ioc};
  bool loopback = false;
  unsigned short port = 0;
  Hooks hooks;
  std::thread thread;
  // Everything below: the server's thread only, but the counters (read by counters()).
  std::map<std::uint64_t, std::weak_ptr<ViewerSession>> viewers;
  std::uint64_t nextViewer = 1;
  std::vector<Message> greeting;
  std::shared_ptr<const Facts> facts;
  std::atomic<std::uint64_t> clients{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> httpRequests{0};
  std::atomic<std::uint64_t> queuedBytes{0};
  std::atomic<std::int64_t> viewerRev{0};  // takeViewerRev()
  std::size_t connections = 0;
};

// Counts an open connection for as long as it lives (HttpSession, then its ViewerSession).
class ConnectionSlot {
 public:
  explicit ConnectionSlot(HttpServer::Impl& s) : s_(&s) { ++s_->connections; }
  ~ConnectionSlot() {
    if (s_) --s_->connections;
  }
  ConnectionSlot(ConnectionSlot&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;

 private:
  HttpServer::Impl* s_;
};

bool HttpServer::Impl::hostAllowed(std::string_view host) const {
  if (!loopback) return true;
  const std::string p = ":" + std::to_string(port);
  for (const char* name : {"127.0.0.1", "localhost", "[::1]"}) {
    if (host == std::string(name) + p || host == name) return true;
  }
  return false;
}

// One viewer's websocket: reads its requests, writes its queue one message at a time.
class ViewerSession : public std::enable_shared_from_this<ViewerSession> {
 public:
  ViewerSession(beast::tcp_stream&& stream, HttpServer::Impl& server, std::uint64_t id,
                ConnectionSlot slot)
      : ws_(std::move(stream)), server_(server), id_(id), slot_(std::move(slot)) {}

  void start(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never();  // the websocket keeps its own time
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().set_option(
        net::socket_base::send_buffer_size(kViewerSendBuffer), ec);
    websocket::stream_base::timeout t =
        websocket::stream_base::timeout::suggested(beast::role_type::server);
    t.idle_timeout = kViewerIdle;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(HttpServer::kMaxViewerMessage);
    ws_.text(true);
    ++server_.clients;
    open_ = true;
    // (Before the node's first facts, from the start of the history it keeps.)
    std::int64_t none = 0;
    const std::int64_t rev =
        server_.facts ? std::max<std::int64_t>(1, server_.facts->self.rev.value_or(1)) : 1;
    (void)server_.viewerRev.compare_exchange_strong(none, rev);
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->close();
      self->server_.viewers[self->id_] = self;
      for (const Message& m : self->server_.greeting)
        self->push(m);
      self->read();
    });
  }

  void push(const Message& m) {
    if (!open_) return;
    if (queue_.size() >= HttpServer::kQueueMessages ||
        queuedBytes_ + m->size() > HttpServer::kQueueBytes) {
      ++server_.dropped;
      logLine("web: viewer " + std::to_string(id_) + " dropped: " + std::to_string(queue_.size()) +
              " messages (" + std::to_string(queuedBytes_) + " bytes) not read");
      return close();
    }
    queue_.push_back(m);
    queuedBytes_ += m->size();
    server_.queuedBytes += m->size();
    if (!writing_) write();
  }

  void close() {
    if (!open_) return;
    open_ = false;
    --server_.clients;
    // Not erased here: close() may run inside a walk of the map (a broadcast that drops a viewer).
    net::post(server_.ioc, [s = &server_, id = id_] { s->viewers.erase(id); });
    server_.queuedBytes -= queuedBytes_;
    queuedBytes_ = 0;
    // What is being written stays alive until its handler runs: the socket below still uses it.
    if (writing_) {
      while (queue_.size() > 1)
        queue_.pop_back();
    } else {
      queue_.clear();
    }
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);  // the pending reads and writes end with an error, and free this session
  }

 private:
  void read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->open_) return self->close();
      std::string text = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      if (self->server_.hooks.request) self->server_.hooks.request(self->id_, std::move(text));
      self->read();
    });
  }

  void write() {
    writing_ = true;
    ws_.async_write(net::buffer(*queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec || !self->open_) {
                        self->queue_.clear();
                        return self->close();
                      }
                      const std::size_t n = self->queue_.front()->size();
                      self->queuedBytes_ -= n;
                      self->server_.queuedBytes -= n;
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->write();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  HttpServer::Impl& server_;
  std::uint64_t id_;
  beast::flat_buffer in_;
  std::deque<Message> queue_;
  std::size_t queuedBytes_ = 0;
  bool writing_ = false;
  bool open_ = false;
  ConnectionSlot slot_;
};

// One HTTP connection: requests in turn (keep-alive), until one upgrades to a websocket.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server), slot_(server) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestBytes);
    parser_->body_limit(kMaxRequestBytes);
    stream_.expires_after(kHttpIdle);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->serve(self->parser_->release());
                     });
  }

 private:
  using Response = http::response<http::string_body>;

  void serve(http::request<http::string_body> req) {
    ++server_.httpRequests;
    head_ = req.method() == http::verb::head;
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const auto host = req.find(http::field::host);
    if (host == req.end() ||
        !server_.hostAllowed(std::string_view(host->value().data(), host->value().size()))) {
      return respond(text(req, http::status::forbidden,
                          "this server answers requests to 127.0.0.1, localhost or [::1] only\n"));
    }
    if (websocket::is_upgrade(req)) {
      if (path != "/ws") return respond(text(req, http::status::not_found, "no websocket here\n"));
      // A page of another site must not read the tree through the user's browser.
      const auto origin = req.find(http::field::origin);
      const auto host = req.find(http::field::host);
      if (origin != req.end() &&
          (host == req.end() ||
           originHost(std::string_view(origin->value().data(), origin->value().size())) !=
               std::string_view(host->value().data(), host->value().size()))) {
        return respond(text(req, http::status::forbidden, "cross-origin websocket refused\n"));
      }
      if (server_.clients.load() >= HttpServer::kMaxViewers) {
        return respond(
            text(req, http::status::service_unavailable,
                 "at most " + std::to_string(HttpServer::kMaxViewers) + " viewers at once\n"));
      }
      auto viewer = std::make_shared<ViewerSession>(std::move(stream_), server_,
                                                    server_.nextViewer++, std::move(slot_));
      viewer->start(std::move(req));
      return;
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      Response res = text(req, http::status::method_not_allowed, "only GET and HEAD are served\n");
      res.set(http::field::allow, "GET, HEAD");
      return respond(std::move(res));
    }
    if (path == "/metrics") {
      Response res = text(req, http::status::ok,
                          renderMetrics(server_.facts.get(), readProcess(), counters()));
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      return respond(std::move(res));
    }
    if (path == "/healthz") {
      auto why = unhealthy(server_.facts.get(), std::chrono::steady_clock::now());
      return respond(why ? text(req, http::status::service_unavailable, *why + "\n")
                         : text(req, http::status::ok, "ok\n"));
    }
    if (const Asset* a = findAsset(path)) {
      Response res = text(req, http::status::ok, std::string(a->data, a->size));
      res.set(http::field::content_type, a->contentType);
      return respond(std::move(res));
    }
    respond(text(req, http::status::not_found, "not found: " + std::string(path) + "\n"));
  }

  WebCounters counters() const {
    return WebCounters{server_.clients.load(), server_.dropped.load(), server_.httpRequests.load()};
  }

  static Response text(const http::request<http::string_body>& req, http::status status,
                       std::string body) {
    Response res(status, req.version());
    res.set(http::field::server, "cairnd");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    return res;
  }

  void respond(Response res) {
    res.prepare_payload();
    if (head_) {  // the same header, its Content-Length included, and no body
      http::response<http::empty_body> h(res.result(), res.version());
      for (const auto& f : res)
        h.set(f.name_string(), f.value());
      h.keep_alive(res.keep_alive());
      return send(std::make_shared<http::response<http::empty_body>>(std::move(h)));
    }
    send(std::make_shared<Response>(std::move(res)));
  }

  template <class Message>
  void send(std::shared_ptr<Message> sp) {
    http::async_write(stream_, *sp,
                      [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
                        if (ec || !sp->keep_alive()) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ConnectionSlot slot_;
  bool head_ = false;  // the request being answered is a HEAD
};

void HttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {  // out of descriptors, most likely: try again a little later, not at once
      retry.expires_after(kAcceptRetry);
      retry.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    if (connections >= kMaxConnections) {
      beast::error_code ignored;
      s.close(ignored);  // full: the client sees the connection closed
    } else {
      std::make_shared<HttpSession>(std::move(s), *this)->read();
    }
    accept();
  });
}

wire::Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen,
                                                            Hooks hooks) {
  const auto colon = listen.rfind(':');
  auto bad = [&](const std::string& why) {
    return wire::Status(wire::Err::kBadRequest, "--http " + listen + ": " + why);
  };
  if (colon == std::string::npos || colon == 0) return bad("want HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string portText = listen.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(portText.c_str(), &end, 10);
  if (portText.empty() || *end != '\0' || port < 0 || port > 65535) {
    return bad("the port is not a number in 0..65535");
  }
  auto impl = std::make_unique<Impl>(std::move(hooks));
  beast::error_code ec;
  const auto addr = net::ip::make_address(host, ec);
  if (ec) return bad("the host is not an IP address (" + ec.message() + ")");
  const tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return wire::Status(wire::Err::kIo, "cannot listen on --http " + listen + ": " + ec.message());
  const tcp::endpoint bound = impl->acceptor.local_endpoint();
  const std::string boundHost = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                                        : bound.address().to_string();
  impl->loopback = addr.is_loopback();
  impl->port = bound.port();
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    // A handler that throws (out of memory, say) is logged, and the server goes on.
    while (true) {
      try {
        raw->ioc.run();
        return;
      } catch (const std::exception& e) {
        logLine(std::string("web: a request failed: ") + e.what());
      }
    }
  });
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  server->listening_ = boundHost + ":" + std::to_string(bound.port());
  return server;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::stop() {
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void HttpServer::broadcast(std::string text) {
  net::post(impl_->ioc,
            [impl = impl_.get(), m = std::make_shared<const std::string>(std::move(text))] {
              // push() may close a viewer, which erases it from the map: walk a copy.
              const auto viewers = impl->viewers;
              for (const auto& [id, weak] : viewers) {
                if (auto v = weak.lock()) v->push(m);
              }
            });
}

void HttpServer::send(std::uint64_t session, std::string text) {
  net::post(impl_->ioc, [impl = impl_.get(), session,
                         m = std::make_shared<const std::string>(std::move(text))] {
    auto it = impl->viewers.find(session);
    if (it == impl->viewers.end()) return;
    if (auto v = it->second.lock()) v->push(m);
  });
}

void HttpServer::setGreeting(std::vector<std::string> messages) {
  net::post(impl_->ioc, [impl = impl_.get(), messages = std::move(messages)]() mutable {
    impl->greeting.clear();
    for (std::string& m : messages)
      impl->greeting.push_back(std::make_shared<const std::string>(std::move(m)));
  });
}

void HttpServer::setFacts(std::shared_ptr<const Facts> facts) {
  net::post(impl_->ioc, [impl = impl_.get(), facts = std::move(facts)]() mutable {
    impl->facts = std::move(facts);
  });
}

std::int64_t HttpServer::takeViewerRev() {
  return impl_->viewerRev.exchange(0);
}

WebCounters HttpServer::counters() const {
  return WebCounters{impl_->clients.load(), impl_->dropped.load(), impl_->httpRequests.load(),
                     impl_->queuedBytes.load()};
}

}  // namespace cairn::node::web
