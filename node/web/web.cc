#include "node/web/web.h"

#include <atomic>

#include "node/web/bridge.h"
#include "node/web/facts.h"
#include "node/web/http_server.h"

namespace cairn::node::web {

Web::Web(zmq::context_t& ctx, WebOptions opts)
    : opts_(std::move(opts)), facts_(ctx, zmq::socket_type::push) {}

wire::Result<std::unique_ptr<Web>> Web::start(zmq::context_t& ctx, WebOptions opts) {
  std::unique_ptr<Web> w(new Web(ctx, opts));
  // The server starts first (it may refuse the port); viewers' requests reach the bridge once it
  // exists, and are refused before.
  auto bridge = std::make_shared<std::atomic<Bridge*>>(nullptr);
  HttpServer::Hooks hooks;
  hooks.request = [bridge](std::uint64_t session, std::string text) {
    if (Bridge* b = bridge->load()) b->request(session, std::move(text));
  };
  auto http = HttpServer::start(opts.listen, hooks);
  if (!http) return http.status();
  w->http_ = std::move(*http);
  w->listening_ = w->http_->listening();
  // One message at most waits on either end: a newer one replaces it.
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::conflate, 1);
  pull.set(zmq::sockopt::linger, 0);
  const std::string endpoint =
      "inproc://cairn-web-facts-" + std::to_string(reinterpret_cast<std::uintptr_t>(w.get()));
  pull.bind(endpoint);
  w->facts_.set(zmq::sockopt::conflate, 1);
  w->facts_.set(zmq::sockopt::linger, 0);
  w->facts_.connect(endpoint);
  w->bridge_ = std::make_unique<Bridge>(ctx, std::move(pull), opts, *w->http_);
  bridge->store(w->bridge_.get());
  w->bridgeSlot_ = std::move(bridge);
  return w;
}

Web::~Web() {
  // The server's thread stops first (no more requests into the bridge), then the bridge's
  // threads (whose messages to a stopped server are dropped), then the server itself.
  if (bridgeSlot_) bridgeSlot_->store(nullptr);
  if (http_) http_->stop();
  bridge_.reset();
  http_.reset();
}

void Web::publish(const Stats& stats, const wire::Reply& self,
                  std::chrono::steady_clock::time_point now) {
  const std::string bytes = encodeFacts(stats, self, opts_.historyRevs, now);
  try {
    (void)facts_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // The web is gone or not taking: it misses one copy, the next one replaces it.
  }
}

}  // namespace cairn::node::web
