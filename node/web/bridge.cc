#include "node/web/bridge.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <optional>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "bindings/cpp/watcher.h"
#include "node/log.h"
#include "wire/codec.h"

namespace cairn::node::web {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxValueShown = 64 << 10;  // VIEWER.md: longer values are cut
// In lists (walk, history) each value is cut shorter, and a reply stops adding entries once its
// values pass kListBytes: a reply must fit well inside a viewer's queue (HttpServer::kQueueBytes).
constexpr std::size_t kListValueShown = 16 << 10;
constexpr std::size_t kListBytes = 1 << 20;
constexpr auto kRound = std::chrono::seconds(1);  // the cluster view's SELF round
constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr auto kFactsStale = std::chrono::seconds(3);  // this node's own row turns down after it
constexpr std::size_t kSeriesKept = 300;               // 5 minutes of 1 s samples
constexpr std::int64_t kDefaultPage = 200;
constexpr std::int64_t kMaxPage = 1000;
constexpr std::int64_t kDefaultHistory = 50;
constexpr std::int64_t kMaxHistory = 200;
constexpr std::int64_t kChangesPage = 1000;
constexpr int kMaxHistoryPages = 50;
constexpr std::size_t kDrain = 256;  // messages taken from one socket per poll

std::int64_t epochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string hex(std::string_view v) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(v.size() * 2);
  for (unsigned char c : v) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool utf8(const std::string& s) {
  try {
    (void)json(s).dump();  // nlohmann checks UTF-8 strictly and throws on anything else
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

// A file's value as VIEWER.md sends it: text if UTF-8, else hex; cut at `max` bytes.
void putValue(json& j, const std::string& v, std::size_t max = kMaxValueShown) {
  std::string shown = v.substr(0, max);
  if (v.size() > max) {
    j["size"] = v.size();
    j["truncated"] = true;
  }
  // The cut may split the last character: up to 3 more bytes go before it is judged binary.
  const std::size_t tries = v.size() > max ? 4 : 1;
  for (std::size_t cut = 0; cut < tries && cut <= shown.size(); ++cut) {
    std::string t = shown.substr(0, shown.size() - cut);
    if (utf8(t)) {
      j["value"] = std::move(t);
      j["enc"] = "text";
      return;
    }
  }
  j["value"] = hex(shown);
  j["enc"] = "hex";
}

json selfJson(const wire::Reply& r) {
  json j = json::object();
  if (r.id) j["id"] = *r.id;
  if (r.role) j["role"] = *r.role;
  j["leader"] = r.leader.value_or(0);
  if (r.rev) j["rev"] = *r.rev;
  if (r.slot) j["slot"] = *r.slot;
  if (r.lag) j["lag"] = *r.lag;
  if (r.fsyncUs) j["fsync_us"] = *r.fsyncUs;
  if (r.uptimeMs) j["uptime_ms"] = *r.uptimeMs;
  if (r.client) j["client"] = *r.client;
  if (r.events) j["events"] = *r.events;
  if (r.version) j["version"] = *r.version;
  if (r.halted) j["halted"] = *r.halted;
  return j;
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

std::string changeJson(const client::Change& c) {
  json j{{"type", "change"}, {"rev", c.rev}, {"path", c.path}, {"op", c.op}};
  putValue(j, c.value);
  return j.dump();
}

std::string tagOf(std::uint64_t n) {
  msgpack::sbuffer b;
  msgpack::pack(b, n);
  return std::string(b.data(), b.size());
}

// Sends one request frame on a DEALER (the empty delimiter first, as a REQ would); false if the
// socket could not take it now.
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

// The next reply on a DEALER, if one is waiting.
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

zmq::socket_t dealerTo(zmq::context_t& ctx, const std::string& endpoint) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::immediate, 1);  // no connection: a send fails at once (the node is down)
  s.set(zmq::sockopt::sndhwm, 1000);
  s.set(zmq::sockopt::maxmsgsize, std::int64_t{64} << 20);
  s.connect(endpoint);
  return s;
}

}  // namespace

// ---- the bridge thread ------------------------------------------------------------------------

class Bridge::Loop {
 public:
  Loop(Bridge& b, zmq::socket_t facts)
      : b_(b), facts_(std::move(facts)), local_(dealerTo(b.ctx_, b.opts_.clientEndpoint)) {}

  void run() {
    while (!b_.stop_.load()) {
      std::vector<zmq::pollitem_t> items;
      items.push_back({facts_.handle(), 0, ZMQ_POLLIN, 0});
      items.push_back({local_.handle(), 0, ZMQ_POLLIN, 0});
      items.push_back({nullptr, b_.wake_, ZMQ_POLLIN, 0});
      std::vector<std::int64_t> polled;  // ids: handling a reply may replace members_
      for (auto& [id, m] : members_) {
        if (!m.dealer) continue;
        items.push_back({m.dealer->handle(), 0, ZMQ_POLLIN, 0});
        polled.push_back(id);
      }
      try {
        zmq::poll(items, std::chrono::milliseconds(100));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        if (e.num() == ETERM) return;
        throw;
      }
      if (items[0].revents & ZMQ_POLLIN) onFacts();
      if (items[1].revents & ZMQ_POLLIN) onLocal();
      if (items[2].revents & ZMQ_POLLIN) onWake();
      for (std::size_t i = 0; i < polled.size(); ++i) {
        if (!(items[3 + i].revents & ZMQ_POLLIN)) continue;
        auto it = members_.find(polled[i]);
        if (it != members_.end() && it->second.dealer) onMember(it->second);
      }
      const auto now = Clock::now();
      expire(now);
      if (now >= nextRound_) {
        round(now);
        nextRound_ = now + kRound;
      }
    }
  }

 private:
  // A viewer's request on its way through the node (or an internal one: session 0).
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
  struct Member {
    std::int64_t id = 0;
    std::string role;    // in the configuration: voter, learner, observer
    std::string client;  // its client endpoint ("" when unknown)
    std::unique_ptr<zmq::socket_t> dealer;
    std::string dealerTo;
    std::optional<wire::Reply> self;  // its SELF, from the last round it answered
    std::string error;                // why it is down
    bool answered = false;            // in the current round
  };

  void onFacts() {
    for (std::size_t n = 0; n < kDrain; ++n) {
      zmq::message_t m;
      try {
        if (!facts_.recv(m, zmq::recv_flags::dontwait)) return;
      } catch (const zmq::error_t&) {
        return;
      }
      auto f = std::make_shared<Facts>();
      if (wire::Status s = decodeFacts(m.to_string_view(), f.get()); !s.isOk()) {
        logLine("web: facts refused: " + s.toString());
        continue;
      }
      f->self.stats.reset();
      f->at = Clock::now();
      latest_ = f;
      b_.http_.setFacts(f);
      if (!sampled_) {
        sampled_ = f;
        greet();
      } else if (f->at - sampled_->at >= kRound - std::chrono::milliseconds(100)) {
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
    for (std::size_t i = lastOnly && !series_.empty() ? series_.size() - 1 : 0; i < series_.size();
         ++i)
      series.push_back(sampleJson(series_[i]));
    return json{{"type", "facts"},
                {"at", epochMs()},
                {"node", latest_ ? selfJson(latest_->self) : json::object()},
                {"series", std::move(series)}}
        .dump();
  }

  void greet() {
    std::vector<std::string> g;
    g.push_back(json{{"type", "hello"},
                     {"node", b_.opts_.nodeId},
                     {"version", CAIRN_VERSION},
                     {"readonly", true},
                     {"history", b_.opts_.historyRevs}}
                    .dump());
    g.push_back(factsMessage(false));
    if (!cluster_.empty()) g.push_back(cluster_);
    b_.http_.setGreeting(std::move(g));
  }

  void onWake() {
    std::uint64_t v = 0;
    (void)::read(b_.wake_, &v, sizeof v);
    std::deque<std::pair<std::uint64_t, std::string>> in;
    {
      std::lock_guard<std::mutex> lock(b_.mu_);
      in.swap(b_.inbox_);
    }
    for (auto& [session, text] : in)
      start(session, text);
  }

  void fail(std::uint64_t session, const json& id, const std::string& err,
            const std::string& detail) {
    if (session == 0) return;
    b_.http_.send(session,
                  json{{"type", "reply"}, {"id", id}, {"error", err}, {"detail", detail}}.dump());
  }

  // Reads an integer field in [lo, hi], `dflt` when absent; false (after replying) otherwise.
  bool intField(const json& q, const char* key, std::int64_t lo, std::int64_t hi, std::int64_t dflt,
                std::int64_t* out, std::uint64_t session) {
    *out = dflt;
    if (!q.contains(key)) return true;
    const json& v = q[key];
    if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
      fail(session, q["id"], "RANGE",
           std::string(key) + " must be an integer in " + std::to_string(lo) + ".." +
               std::to_string(hi));
      return false;
    }
    *out = v.get<std::int64_t>();
    return true;
  }

  // A viewer's message: checked, then sent to the node.
  void start(std::uint64_t session, const std::string& text) {
    json q = json::parse(text, nullptr, false);
    if (q.is_discarded() || !q.is_object()) {
      return fail(session, nullptr, "BAD_REQUEST", "a request is one JSON object");
    }
    if (!q.contains("id") || !q["id"].is_number_integer()) {
      return fail(session, nullptr, "BAD_REQUEST", "a request needs an integer id");
    }
    Pending p;
    p.session = session;
    p.id = q["id"];
    p.op = q.value("op", "");
    auto str = [&](const char* key) -> std::optional<std::string> {
      if (!q.contains(key) || !q[key].is_string()) return std::nullopt;
      return q[key].get<std::string>();
    };
    p.req.consistency = "local";
    if (p.op == "getdir" || p.op == "walk") {
      p.req.verb = p.op == "getdir" ? wire::Verb::kGetdir : wire::Verb::kWalk;
      p.req.path = str(p.op == "getdir" ? "path" : "glob");
      p.req.after = str("after");
      std::int64_t limit = 0;
      if (!intField(q, "limit", 1, kMaxPage, kDefaultPage, &limit, session)) return;
      p.req.limit = limit;
    } else if (p.op == "get") {
      p.req.verb = wire::Verb::kGet;
      p.req.path = str("path");
    } else if (p.op == "history") {
      if (!intField(q, "limit", 1, kMaxHistory, kDefaultHistory, &p.limit, session)) return;
      p.req.verb = wire::Verb::kChanges;
      p.req.path = str("path");
      p.req.limit = kChangesPage;
      p.from = latest_ ? std::max<std::int64_t>(1, latest_->stats.gauges.changesFrom) : 1;
      p.req.rev = p.from;
    } else {
      return fail(session, p.id, "BAD_REQUEST",
                  "op must be one of getdir, get, history, walk; got \"" + p.op + "\"");
    }
    if (!p.req.path) {
      return fail(session, p.id, "MISSING_ARG",
                  std::string(p.op == "walk" ? "glob" : "path") + " (a string) is required");
    }
    p.deadline = Clock::now() + kRequestTimeout;
    ask(std::move(p));
  }

  void ask(Pending p) {
    const std::string tag = tagOf(nextTag_++);
    p.req.tag = tag;
    if (!sendRequest(local_, p.req)) {
      return fail(p.session, p.id, "UNAVAILABLE", "the node's client socket is not reachable");
    }
    pending_.emplace(tag, std::move(p));
  }

  void expire(Clock::time_point now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      fail(it->second.session, it->second.id, "TIMEOUT", "the node did not answer within 5 s");
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
      answer(std::move(p), std::move(*r));
    }
  }

  void answer(Pending p, wire::Reply r) {
    if (p.op == "members") return onMembers(r);
    if (p.op == "history" && r.err == wire::Err::kTooLate && p.tooLate < 3) {
      // The window moved past where this began: start again a little later.
      ++p.tooLate;
      const std::int64_t head = r.head.value_or(p.from);
      p.from = std::max(p.from + 1, p.from + (head - p.from) / 8);
      p.req.rev = p.from;
      p.entries.clear();
      return ask(std::move(p));
    }
    if (r.err != wire::Err::kOk) return fail(p.session, p.id, wire::errName(r.err), r.detail);
    json out{{"type", "reply"}, {"id", p.id}};
    if (r.head) out["head"] = *r.head;
    if (p.op == "getdir") {
      json entries = json::array();
      for (const wire::Entry& e : r.entries.value_or(std::vector<wire::Entry>{}))
        entries.push_back(json{{"name", e.name}, {"rev", e.rev}, {"dir", e.dir.value_or(false)}});
      out["entries"] = std::move(entries);
      if (r.next) out["next"] = *r.next;
      if (r.rev) out["rev"] = *r.rev;
    } else if (p.op == "walk") {
      json entries = json::array();
      std::size_t bytes = 0;
      const auto& page = r.entries.value_or(std::vector<wire::Entry>{});
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
      putValue(out, r.value.value_or(""));
      if (r.lease) out["lease"] = *r.lease;
    } else if (p.op == "history") {
      const auto& page = r.entries.value_or(std::vector<wire::Entry>{});
      std::size_t bytes = 0;
      for (const wire::Entry& e : page) {
        json x{{"rev", e.rev}, {"op", e.op.value_or("set")}};
        putValue(x, e.value.value_or(""), kListValueShown);
        bytes += e.value ? e.value->size() : 0;
        p.entries.push_back(std::move(x));
        if (static_cast<std::int64_t>(p.entries.size()) > p.limit) p.entries.pop_front();
      }
      // A page cut short (PROTOCOL.md, CHANGES) ends at its last entry: ask for the rest.
      const bool more =
          static_cast<std::int64_t>(page.size()) >= kChangesPage || bytes >= (4u << 20);
      if (more && r.head && ++p.pages < kMaxHistoryPages) {
        p.req.rev = *r.head + 1;
        p.deadline = Clock::now() + kRequestTimeout;
        return ask(std::move(p));
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
    b_.http_.send(p.session, out.dump());
  }

  // ---- the cluster view ----

  void round(Clock::time_point now) {
    if (round_ > 0) {
      for (auto& [id, m] : members_) {
        if (id == b_.opts_.nodeId || m.answered) continue;
        m.self.reset();
        if (m.error.empty()) {
          m.error = "no answer within " +
                    std::to_string(
                        std::chrono::duration_cast<std::chrono::milliseconds>(kRound).count()) +
                    " ms";
        }
      }
      cluster_ = clusterMessage(now);
      b_.http_.broadcast(cluster_);
    }
    Pending p;
    p.op = "members";
    p.req.verb = wire::Verb::kMembers;
    p.deadline = now + kRequestTimeout;
    ask(std::move(p));
    ++round_;
    for (auto& [id, m] : members_)
      askSelf(m);
  }

  // Sends this round's SELF to another member.
  void askSelf(Member& m) {
    if (m.id == b_.opts_.nodeId) return;
    m.answered = false;
    m.error.clear();
    if (m.client.empty()) {
      m.error = "its client endpoint is unknown";
      return;
    }
    if (!m.dealer || m.dealerTo != m.client) {
      try {
        m.dealer = std::make_unique<zmq::socket_t>(dealerTo(b_.ctx_, m.client));
        m.dealerTo = m.client;
      } catch (const zmq::error_t& e) {
        m.dealer.reset();
        m.error = std::string("cannot connect: ") + e.what();
        return;
      }
    }
    wire::Request self;
    self.verb = wire::Verb::kSelf;
    self.tag = tagOf(round_);
    if (!sendRequest(*m.dealer, self)) m.error = "not connected (the node refuses connections)";
  }

  void onMembers(const wire::Reply& r) {
    if (r.err != wire::Err::kOk || !r.members) return;
    config_ = r.config.value_or(0);
    std::map<std::int64_t, Member> next;
    for (const wire::MemberInfo& info : *r.members) {
      Member m;
      auto it = members_.find(info.id);
      const bool known = it != members_.end() && it->second.client == info.client;
      if (it != members_.end()) m = std::move(it->second);
      m.id = info.id;
      m.role = info.role;
      m.client = info.client;
      if (!known) askSelf(m);  // new (or moved): asked now, judged at the next round
      next.emplace(info.id, std::move(m));
    }
    members_ = std::move(next);
  }

  void onMember(Member& m) {
    for (std::size_t n = 0; n < kDrain; ++n) {
      auto r = takeReply(*m.dealer);
      if (!r) return;
      if (r->tag != tagOf(round_)) continue;  // an earlier round's, answered late
      if (r->err != wire::Err::kOk) {
        m.error = std::string(wire::errName(r->err)) + ": " + r->detail;
        continue;
      }
      m.answered = true;
      m.error.clear();
      m.self = std::move(*r);
    }
  }

  std::string clusterMessage(Clock::time_point now) const {
    json members = json::array();
    std::int64_t leader = 0;
    auto row = [&](std::int64_t id, const std::string& role, const std::string& client,
                   const wire::Reply* self, const std::string& error) {
      json j{{"id", id}, {"role", role}, {"client", client}, {"self", id == b_.opts_.nodeId}};
      j["up"] = self != nullptr;
      if (!self) {
        j["state"] = "down";
        j["error"] = error;
        return j;
      }
      const std::string state = self->halted ? "halted" : self->role.value_or("follower");
      j["state"] = state;
      if (state == "leader") leader = id;
      if (self->rev) j["rev"] = *self->rev;
      if (self->slot) j["slot"] = *self->slot;
      if (self->lag) j["lag"] = *self->lag;
      if (self->fsyncUs) j["fsync_us"] = *self->fsyncUs;
      if (self->halted) j["error"] = *self->halted;
      return j;
    };
    for (const auto& [id, m] : members_) {
      if (id == b_.opts_.nodeId) {
        const bool fresh = latest_ && now - latest_->at <= kFactsStale;
        members.push_back(row(id, m.role, m.client, fresh ? &latest_->self : nullptr,
                              "this node's loop has not reported for 3 s"));
      } else {
        members.push_back(row(id, m.role, m.client, m.self ? &*m.self : nullptr, m.error));
      }
    }
    if (leader == 0 && latest_) leader = latest_->self.leader.value_or(0);
    return json{{"type", "cluster"},
                {"at", epochMs()},
                {"leader", leader},
                {"config", config_},
                {"members", std::move(members)}}
        .dump();
  }

  Bridge& b_;
  zmq::socket_t facts_;
  zmq::socket_t local_;
  std::map<std::string, Pending> pending_;  // by tag (its msgpack bytes)
  std::uint64_t nextTag_ = 1;
  std::map<std::int64_t, Member> members_;
  std::int64_t config_ = 0;
  std::uint64_t round_ = 0;
  Clock::time_point nextRound_{};
  std::shared_ptr<const Facts> latest_;
  std::shared_ptr<const Facts> sampled_;  // the facts of the last sample
  std::deque<Sample> series_;
  std::string cluster_;  // the last cluster message
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

// The watch thread: every change, in order, to every viewer. A watch that ends (the node
// restarted its feed, the history window passed it) starts again where it stopped, or from the
// head with a "resync" when that is gone.
void Bridge::watch() {
  std::optional<std::int64_t> from;
  while (!stop_.load()) {
    client::WatchOptions o;
    o.endpoints = {opts_.clientEndpoint};
    o.glob = "/**";
    o.fromRev = from;
    std::string ended;
    try {
      client::Watcher w(o);
      while (!stop_.load()) {
        auto n = w.next(std::chrono::milliseconds(200));
        if (!n) {
          ended = n.status().toString();
          if (n.status().code() == wire::Err::kTooLate) from.reset();
          break;
        }
        if (!*n) continue;
        if ((*n)->kind == client::Notice::Kind::kChange) http_.broadcast(changeJson((*n)->change));
        if (w.complete() >= 0) from = w.complete() + 1;
      }
    } catch (const std::exception& e) {
      ended = e.what();
    }
    if (stop_.load()) return;
    logLine("web: the viewer's watch ended (" + ended + "); starting again");
    if (!from) {
      http_.broadcast(json{{"type", "resync"}, {"reason", ended}}.dump());
    }
    for (int i = 0; i < 5 && !stop_.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace cairn::node::web
