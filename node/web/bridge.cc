#include "node/web/bridge.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <optional>

#include "bindings/cpp/watcher.h"
#include "node/log.h"
#include "node/web/cluster_view.h"
#include "node/web/json.h"
#include "node/web/viewer_request.h"
#include "node/web/wire_io.h"

namespace cairn::node::web {

using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxValueShown = 64 << 10;  // VIEWER.md: longer values are cut
// In lists (walk, history) each value is cut shorter, and a reply stops adding entries once its
// values pass kListBytes: a reply must fit well inside a viewer's queue (HttpServer::kQueueBytes).
constexpr std::size_t kListValueShown = 16 << 10;
constexpr std::size_t kListBytes = 1 << 20;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr std::size_t kSeriesKept = 300;  // 5 minutes of 1 s samples
constexpr int kMaxHistoryPages = 20;      // 20,000 changes of one file: twice the default window
constexpr int kMaxInFlight = 8;           // a viewer's requests at the node at once
constexpr std::size_t kDrain = 256;       // messages taken from one socket per poll

std::string changeJson(const client::Change& c) {
  json j{{"type", "change"}, {"rev", c.rev}, {"path", c.path}, {"op", c.op}};
  putValue(j, c.value, kMaxValueShown);
  return dump(j);
}

json sampleJson(const Sample& s) {
  return json{{"at", s.atMs},
              {"rev", s.rev},
              {"writes_per_s", s.writesPerSecond},
              {"commit_p50_us", s.commitP50Us},
              {"commit_p99_us", s.commitP99Us},
              {"leader", s.leader},
              {"leader_changed", s.leaderChanged},
              {"subscribers", s.subscribers}};
}

}  // namespace

// ---- the bridge thread ------------------------------------------------------------------------

class Bridge::Loop {
 public:
  Loop(Bridge& b, zmq::socket_t facts)
      : b_(b),
        facts_(std::move(facts)),
        local_(dealerTo(b.ctx_, b.opts_.clientEndpoint, b.opts_.key)),
        cluster_(b.ctx_, b.opts_.nodeId, b.opts_.key) {
    greet();  // a viewer that comes before the node's first facts still gets "hello"
  }

  void run() {
    Clock::time_point nextRound{};
    while (!b_.stop_.load()) {
      std::vector<zmq::pollitem_t> items;
      items.push_back({facts_.handle(), 0, ZMQ_POLLIN, 0});
      items.push_back({local_.handle(), 0, ZMQ_POLLIN, 0});
      items.push_back({nullptr, b_.wake_, ZMQ_POLLIN, 0});
      std::vector<std::int64_t> members;  // ids: a reply may change the configuration
      cluster_.pollItems(&items, &members);
      try {
        zmq::poll(items, std::chrono::milliseconds(100));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        if (e.num() == ETERM) return;
        throw;
      }
      const auto now = Clock::now();
      // What one message does wrong (a viewer's odd request) costs that message, not the bridge.
      guard("facts", [&] {
        if (items[0].revents & ZMQ_POLLIN) onFacts();
      });
      guard("a reply", [&] {
        if (items[1].revents & ZMQ_POLLIN) onLocal();
      });
      guard("a viewer's request", [&] {
        if (items[2].revents & ZMQ_POLLIN) onWake();
      });
      guard("the cluster view", [&] {
        for (std::size_t i = 0; i < members.size(); ++i) {
          if (items[3 + i].revents & ZMQ_POLLIN) cluster_.onReadable(members[i], now);
        }
        cluster_.retry();
        if (now >= nextRound) {
          round(now);
          nextRound = now + ClusterView::kRound;
        }
      });
      expire(now);
    }
  }

 private:
  // A viewer's request on its way through the node (or the bridge's own: session 0).
  struct Pending {
    std::uint64_t session = 0;
    json id;
    std::string op;
    wire::Request req;
    Clock::time_point deadline;
    std::int64_t limit = 0;
    std::deque<json> entries;  // history: the newest `limit` changes so far
    std::int64_t from = 0;     // history: where the window was taken to start
    int pages = 0;
    int tooLate = 0;
  };

  template <class Fn>
  void guard(const char* what, Fn&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      logLine(std::string("web: ") + what + " failed: " + e.what());
    }
  }

  void onFacts() {
    for (std::size_t n = 0; n < kDrain; ++n) {
      zmq::message_t m;
      if (!facts_.recv(m, zmq::recv_flags::dontwait)) return;
      auto f = std::make_shared<Facts>();
      if (wire::Status s = decodeFacts(m.to_string_view(), f.get()); !s.isOk()) {
        logLine("web: facts refused: " + s.toString());
        continue;
      }
      latest_ = f;
      b_.http_.setFacts(f);
      if (!sampled_) {
        sampled_ = f;
        greet();
      } else if (f->at - sampled_->at >= ClusterView::kRound - std::chrono::milliseconds(100)) {
        series_.push_back(sampleBetween(*sampled_, *f, epochMs()));
        while (series_.size() > kSeriesKept)
          series_.pop_front();
        sampled_ = f;
        b_.http_.broadcast(factsMessage(true));
        greet();
      }
    }
  }

  std::string factsMessage(bool lastOnly) const {
    json series = json::array();
    const std::size_t first = lastOnly && !series_.empty() ? series_.size() - 1 : 0;
    for (std::size_t i = first; i < series_.size(); ++i)
      series.push_back(sampleJson(series_[i]));
    return dump(json{{"type", "facts"},
                     {"at", epochMs()},
                     {"node", latest_ ? selfJson(latest_->self) : json::object()},
                     {"series", std::move(series)}});
  }

  void greet() {
    std::vector<std::string> g;
    g.push_back(dump(json{{"type", "hello"},
                          {"node", b_.opts_.nodeId},
                          {"version", CAIRN_VERSION},
                          {"readonly", true},
                          {"history", b_.opts_.historyRevs}}));
    if (latest_) g.push_back(factsMessage(false));
    if (!clusterMessage_.empty()) g.push_back(clusterMessage_);
    b_.http_.setGreeting(std::move(g));
  }

  void round(Clock::time_point now) {
    clusterMessage_ = cluster_.round(now, latest_.get());
    b_.http_.broadcast(clusterMessage_);
    Pending p;
    p.op = "members";
    p.req.verb = wire::Verb::kMembers;
    p.deadline = now + kRequestTimeout;
    ask(std::move(p));
  }

  void onWake() {
    std::uint64_t v = 0;
    (void)::read(b_.wake_, &v, sizeof v);
    std::deque<std::pair<std::uint64_t, std::string>> in;
    {
      std::lock_guard<std::mutex> lock(b_.mu_);
      in.swap(b_.inbox_);
    }
    for (auto& [session, text] : in) {
      guard("a viewer's request", [&] { start(session, text); });
    }
  }

  void fail(std::uint64_t session, const json& id, const std::string& err,
            const std::string& detail) {
    if (session == 0) return;
    b_.http_.send(session,
                  dump(json{{"type", "reply"}, {"id", id}, {"error", err}, {"detail", detail}}));
  }

  // A viewer's message: checked (viewer_request.h), then sent to the node.
  void start(std::uint64_t session, const std::string& text) {
    ViewerRequest v;
    ViewerError why;
    const bool ok = parseViewerRequest(text, &v, &why);
    if (!ok && why.early) return fail(session, v.id, why.err, why.detail);
    if (inFlight_[session] >= kMaxInFlight) {
      return fail(session, v.id, "UNAVAILABLE",
                  std::to_string(kMaxInFlight) +
                      " requests of this viewer are at the node already: wait for their replies");
    }
    if (!ok) return fail(session, v.id, why.err, why.detail);
    Pending p;
    p.session = session;
    p.id = std::move(v.id);
    p.op = std::move(v.op);
    p.req = std::move(v.req);
    p.limit = v.limit;
    if (p.op == "history") {
      p.from = latest_ ? std::max<std::int64_t>(1, latest_->stats.gauges.changesFrom) : 1;
      p.req.rev = p.from;
    }
    p.deadline = Clock::now() + kRequestTimeout;
    ++inFlight_[session];
    ask(std::move(p));
  }

  void ask(Pending p) {
    const std::string tag = tagOf(nextTag_++);
    p.req.tag = tag;
    if (!sendRequest(local_, p.req)) {
      done(p.session);
      return fail(p.session, p.id, "UNAVAILABLE", "the node's client socket is not reachable");
    }
    pending_.emplace(tag, std::move(p));
  }

  // A viewer's request left the bridge (answered, failed, timed out).
  void done(std::uint64_t session) {
    if (session == 0) return;
    auto it = inFlight_.find(session);
    if (it != inFlight_.end() && --it->second <= 0) inFlight_.erase(it);
  }

  void expire(Clock::time_point now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      done(it->second.session);
      fail(it->second.session, it->second.id, "TIMEOUT",
           "the node did not answer within " +
               std::to_string(
                   std::chrono::duration_cast<std::chrono::seconds>(kRequestTimeout).count()) +
               " s");
      it = pending_.erase(it);
    }
  }

  void onLocal() {
    for (std::size_t n = 0; n < kDrain; ++n) {
      auto r = takeReply(local_);
      if (!r) return;
      auto it = pending_.find(r->tag);
      if (it == pending_.end()) continue;  // answered late, after its timeout
      Pending p = std::move(it->second);
      pending_.erase(it);
      if (p.op == "members") {
        cluster_.members(*r);
        continue;
      }
      const std::uint64_t session = p.session;
      if (!answer(std::move(p), std::move(*r))) done(session);
    }
  }

  // Replies to a viewer's request, or asks the node for more of it: true if it is still out.
  bool answer(Pending p, wire::Reply r) {
    if (p.op == "history" && r.err == wire::Err::kTooLate && p.tooLate < 3) {
      // The window moved past where this began: start again a little later.
      ++p.tooLate;
      const std::int64_t head = r.head.value_or(p.from);
      p.from = std::max(p.from + 1, p.from + (head - p.from) / 8);
      p.req.rev = p.from;
      p.entries.clear();
      ask(std::move(p));
      return true;
    }
    if (r.err != wire::Err::kOk) {
      fail(p.session, p.id, wire::errName(r.err), r.detail);
      return false;
    }
    json out{{"type", "reply"}, {"id", p.id}};
    if (r.head) out["head"] = *r.head;
    const auto& page = r.entries ? *r.entries : std::vector<wire::Entry>{};
    if (p.op == "getdir") {
      json entries = json::array();
      for (const wire::Entry& e : page)
        entries.push_back(json{{"name", e.name}, {"rev", e.rev}, {"dir", e.dir.value_or(false)}});
      out["entries"] = std::move(entries);
      if (r.next) out["next"] = *r.next;
      if (r.rev) out["rev"] = *r.rev;
    } else if (p.op == "walk") {
      json entries = json::array();
      std::size_t bytes = 0;
      for (std::size_t i = 0; i < page.size(); ++i) {
        const wire::Entry& e = page[i];
        json x{{"path", e.path}, {"rev", e.rev}};
        putValue(x, e.value.value_or(""), kListValueShown);
        bytes += x["value"].get_ref<const std::string&>().size();
        entries.push_back(std::move(x));
        if (bytes >= kListBytes && i + 1 < page.size()) {
          out["next"] = e.path;  // the rest on the next page
          break;
        }
      }
      out["entries"] = std::move(entries);
      if (r.next && !out.contains("next")) out["next"] = *r.next;
    } else if (p.op == "get") {
      out["path"] = *p.req.path;
      out["rev"] = r.rev.value_or(0);
      putValue(out, r.value.value_or(""), kMaxValueShown);
      if (r.lease) out["lease"] = *r.lease;
    } else if (p.op == "history") {
      for (const wire::Entry& e : page) {
        json x{{"rev", e.rev}, {"op", e.op.value_or("set")}};
        putValue(x, e.value.value_or(""), kListValueShown);
        p.entries.push_back(std::move(x));
        if (static_cast<std::int64_t>(p.entries.size()) > p.limit) p.entries.pop_front();
      }
      // A page cut short ends at its last entry (PROTOCOL.md, CHANGES); so may one whose last
      // entry is the head, and then the next page is empty.
      const bool more = !page.empty() && r.head && *r.head == page.back().rev;
      if (more && ++p.pages < kMaxHistoryPages) {
        p.req.rev = *r.head + 1;
        p.deadline = Clock::now() + kRequestTimeout;
        ask(std::move(p));
        return true;
      }
      json entries = json::array();
      std::size_t shown = 0;
      for (auto it = p.entries.rbegin(); it != p.entries.rend(); ++it) {
        shown += (*it)["value"].get_ref<const std::string&>().size();
        entries.push_back(std::move(*it));
        if (shown >= kListBytes) break;  // the older ones would not fit a viewer's queue
      }
      out["entries"] = std::move(entries);
      out["oldest"] = p.from;
    }
    b_.http_.send(p.session, dump(out));
    return false;
  }

  Bridge& b_;
  zmq::socket_t facts_;
  zmq::socket_t local_;
  ClusterView cluster_;
  std::map<std::string, Pending> pending_;  // by tag (its msgpack bytes)
  std::map<std::uint64_t, int> inFlight_;   // by viewer
  std::uint64_t nextTag_ = 1;
  std::shared_ptr<const Facts> latest_;
  std::shared_ptr<const Facts> sampled_;  // the facts of the last sample
  std::deque<Sample> series_;
  std::string clusterMessage_;  // the last "cluster" message
};

// ---- Bridge -----------------------------------------------------------------------------------

Bridge::Bridge(zmq::context_t& ctx, zmq::socket_t facts, WebOptions opts, HttpServer& http)
    : ctx_(ctx), opts_(std::move(opts)), http_(http) {
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  loop_ = std::make_unique<Loop>(*this, std::move(facts));
  bridge_ = std::thread([this] {
    try {
      loop_->run();
    } catch (const std::exception& e) {
      logLine(std::string("web: the bridge stopped: ") + e.what());
    }
  });
  watcher_ = std::thread([this] { watch(); });
}

Bridge::~Bridge() {
  stop_.store(true);
  const std::uint64_t one = 1;
  (void)::write(wake_, &one, sizeof one);
  if (bridge_.joinable()) bridge_.join();
  if (watcher_.joinable()) watcher_.join();
  loop_.reset();
  ::close(wake_);
}

void Bridge::request(std::uint64_t session, std::string text) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox_.emplace_back(session, std::move(text));
  }
  const std::uint64_t one = 1;
  (void)::write(wake_, &one, sizeof one);
}

// The watch thread: every change, in order, to every viewer, while one is open. It starts at the
// node's rev when the first viewer opened (from the facts, so before anything the viewer reads;
// the change at that rev comes again), and stops when the last one leaves: with no viewer the node
// feeds no watch. A watch that ends otherwise (the node restarted its feed, the history window
// passed it) starts again where it stopped, or from the head with a "resync" when that is gone.
void Bridge::watch() {
  constexpr auto kPause = std::chrono::milliseconds(100);
  std::optional<std::int64_t> from;
  auto viewers = [this] { return http_.counters().clients > 0; };
  while (!stop_.load()) {
    if (!viewers()) {
      from.reset();
      std::this_thread::sleep_for(kPause);  // polling for the first viewer
      continue;
    }
    if (const std::int64_t rev = http_.takeViewerRev(); !from && rev > 0) from = rev;
    client::WatchOptions o;
    o.endpoints = {opts_.clientEndpoint};
    o.glob = "/**";
    o.fromRev = from;
    o.timeout = std::chrono::milliseconds(1000);
    o.key = opts_.key;
    std::string ended;
    bool idle = false;
    try {
      client::Watcher w(o);
      while (!stop_.load()) {
        auto n = w.next(std::chrono::milliseconds(200));
        if (!n) {
          ended = n.status().toString();
          if (n.status().code() == wire::Err::kTooLate) from.reset();
          break;
        }
        if (*n && (*n)->kind == client::Notice::Kind::kChange) {
          http_.broadcast(changeJson((*n)->change));
        }
        if (w.complete() >= 0) from = w.complete() + 1;
        if (!viewers()) {
          idle = true;
          break;
        }
      }
    } catch (const std::exception& e) {
      ended = e.what();
    }
    if (stop_.load()) return;
    if (idle) continue;
    logLine("web: the viewer's watch ended (" + ended + "); starting again");
    if (!from) http_.broadcast(dump(json{{"type", "resync"}, {"reason", ended}}));
    for (int i = 0; i < 5 && !stop_.load(); ++i)
      std::this_thread::sleep_for(kPause);
  }
}

}  // namespace cairn::node::web
