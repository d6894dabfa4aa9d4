#include "bindings/cpp/client.h"

#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "wire/codec.h"

namespace cairn::client {

using wire::Err;
using wire::Request;
using wire::Verb;

namespace {

constexpr std::int64_t kMaxReply = std::int64_t{256} << 20;
// A request this small is sent without knowing the cluster's limit: a node reads any message up
// to twice its value limit plus 64 KiB (PROTOCOL.md §10) and answers TOO_LARGE; a larger request
// could overflow a small limit's socket cap and lose the connection instead of getting a reply.
constexpr std::size_t kAskLimitAbove = 48 << 10;
constexpr std::chrono::milliseconds kLeaderConnect{100};
// How much longer than a read the reply that begins a backup may take: it comes once the node
// has written the whole file (at disk speed, a few GB a minute).
constexpr std::chrono::milliseconds kBackupWrite{60000};

std::string quoteMs(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

std::string listed(const std::vector<std::string>& eps) {
  std::string out;
  for (const auto& e : eps)
    out += (out.empty() ? "" : ", ") + e;
  return out;
}

// A write's outcome is unknown once it may have left: it is never sent twice. (NOP goes through
// the log too, but changes nothing: it may be repeated; so may a TXN of gets only.) Membership
// changes are writes too.
bool isWrite(const Request& r) {
  const Verb v = r.verb;
  if (v == Verb::kTxn) {
    if (!r.txn) return false;
    for (const auto* branch : {&r.txn->then, &r.txn->otherwise}) {
      for (const wire::TxnOp& op : *branch)
        if (op.kind != wire::TxnOp::Kind::kGet) return true;
    }
    return false;
  }
  return v == Verb::kSet || v == Verb::kDel || v == Verb::kJoin || v == Verb::kPromote ||
         v == Verb::kRemove || v == Verb::kGrant || v == Verb::kRevoke;
}

// The bytes a request carries that the node holds against its value limit: a SET's value, or
// every value of a TXN (its sets' and its value compares'), which the node counts together.
// *paths: the bytes of its paths, which count towards the node's socket cap too.
std::size_t valueBytes(const Request& r, std::size_t* paths) {
  *paths = r.path ? r.path->size() : 0;
  if (r.verb == Verb::kSet) return r.value ? r.value->size() : 0;
  if (r.verb != Verb::kTxn || !r.txn) return 0;
  std::size_t n = 0;
  for (const wire::Compare& c : r.txn->compares) {
    n += c.value.size();
    *paths += c.path.size();
  }
  for (const auto* branch : {&r.txn->then, &r.txn->otherwise}) {
    for (const wire::TxnOp& op : *branch) {
      n += op.value.size();
      *paths += op.path.size();
    }
  }
  return n;
}

}  // namespace

Result<std::string> normalizeEndpoint(const std::string& given) {
  // The node's key may come first, as the endpoint's user info: tcp://KEY@HOST:PORT.
  // (A key may hold ':', '/' and '@' itself, and so may "tcp://" and a key's first 34
  // characters: an endpoint that names its scheme is read as one.)
  const std::string tcp = "tcp://";
  const bool schemeFirst =
      given.rfind(tcp, 0) == 0 || given.rfind("ipc://", 0) == 0 || given.rfind("inproc://", 0) == 0;
  const bool keyFirst = !schemeFirst && given.size() > 41 && given[40] == '@' &&
                        wire::isZ85Key(std::string_view(given).substr(0, 40));
  const wire::KeyedEndpoint k = wire::splitKeyedEndpoint(
      keyFirst || (!schemeFirst && given.find("://") == std::string::npos) ? tcp + given : given);
  const std::string& endpoint = k.endpoint;
  for (const char* scheme : {"ipc://", "inproc://"}) {
    if (endpoint.rfind(scheme, 0) == 0 && endpoint.size() > std::strlen(scheme)) return given;
  }
  const std::string hostPort = endpoint.rfind(tcp, 0) == 0 ? endpoint.substr(tcp.size()) : endpoint;
  const std::size_t colon = hostPort.rfind(':');
  const bool ok = hostPort.find("://") == std::string::npos && colon != std::string::npos &&
                  colon > 0 && colon + 1 < hostPort.size() &&
                  hostPort.find_first_not_of("0123456789", colon + 1) == std::string::npos;
  if (ok) return wire::keyedEndpoint(tcp + hostPort, k.key);
  return Status(Err::kBadRequest, "bad endpoint \"" + given +
                                      "\": write tcp://HOST:PORT or HOST:PORT (e.g. "
                                      "127.0.0.1:7101), with the node's key tcp://KEY@HOST:PORT");
}

Result<ClientKeys> loadClientKeys(const std::string& keyFile, const std::string& serverKey) {
  ClientKeys keys;
  if (!keyFile.empty()) {
    auto k = wire::readSecretKeyFile(keyFile);
    if (!k) return Status(k.status().code(), "--key: " + k.status().detail());
    keys.pair = std::move(k.value());
  }
  if (!serverKey.empty()) {
    auto k = wire::readPublicKey(serverKey);
    if (!k) return Status(k.status().code(), "--server-key: " + k.status().detail());
    keys.server = std::move(k.value());
  }
  return keys;
}

Result<std::string> secureSocket(zmq::socket_t& s, const std::string& endpoint,
                                 const std::optional<wire::KeyPair>& key,
                                 const std::string& serverKey) {
  const wire::KeyedEndpoint k = wire::splitKeyedEndpoint(endpoint);
  if (!key) {
    if (!k.key.empty()) {
      return Status(Err::kBadRequest,
                    endpoint + " names the node's key: this client needs a key pair of its own " +
                        "(--key FILE or CAIRN_KEY; cairn keygen makes one)");
    }
    return k.endpoint;
  }
  const std::string& server = k.key.empty() ? serverKey : k.key;
  if (server.empty()) {
    return Status(Err::kBadRequest, "no key for the node at " + endpoint +
                                        ": give --server-key (or CAIRN_SERVER_KEY), or write the "
                                        "endpoint as tcp://KEY@HOST:PORT");
  }
  s.set(zmq::sockopt::curve_serverkey, server);
  s.set(zmq::sockopt::curve_publickey, key->publicKey);
  s.set(zmq::sockopt::curve_secretkey, key->secretKey);
  return k.endpoint;
}

std::string handshakeFailure(std::uint16_t event, std::uint32_t value, const std::string& endpoint,
                             bool curve) {
  const std::string where = wire::splitKeyedEndpoint(endpoint).endpoint;
  switch (event) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      return "authentication refused by " + where + " (status " + std::to_string(value) +
             "): the node does not let this client's key in (is it in the node's --clients?)";
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        return curve ? "the node at " + where +
                           " runs in plain text and this client CURVE (drop --key, or give the "
                           "node one)"
                     : "the node at " + where +
                           " runs CURVE and refuses plain text: give --key and --server-key "
                           "(README: securing a cluster)";
      }
      return "security handshake with " + where + " failed (protocol error " +
             std::to_string(value) + ")";
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      // (libzmq reports a mechanism mismatch so too when the node hangs up first)
      return curve ? "the security handshake with " + where +
                         " failed with no reason given: is the node's key the one given "
                         "(--server-key, or tcp://KEY@HOST:PORT)? (a node that restarts looks "
                         "so too)"
                   : "the handshake with " + where +
                         " failed with no reason given: if the node runs CURVE, give --key and "
                         "--server-key (README: securing a cluster); a node that restarts looks "
                         "so too";
    default:
      return "";
  }
}

std::string nodeState(const wire::Reply* self) {
  if (!self) return "down";
  if (self->halted) return "halted";
  return self->role.value_or("up");
}

std::vector<std::string> splitEndpoints(const std::string& list) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= list.size()) {
    std::size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    std::string e = list.substr(i, j - i);
    while (!e.empty() && e.front() == ' ')
      e.erase(0, 1);
    while (!e.empty() && e.back() == ' ')
      e.pop_back();
    if (!e.empty()) {
      auto n = normalizeEndpoint(e);
      out.push_back(n ? *n : e);  // a bad one is reported when the client tries it
    }
    i = j + 1;
  }
  return out;
}

struct Client::Conn {
  std::size_t index = 0;
  zmq::socket_t sock;
  zmq::socket_t monitor;  // PAIR receiving the socket's DISCONNECTED and handshake failures
  bool lost = false;      // the connection dropped since it was made
  std::string endpoint;
  bool curve = false;
  std::string refused;  // why the node refused the handshake (empty: it did not)
  // A handshake that failed with no reason given: a wrong server key looks so, and so does a
  // connection dropped before its handshake (a node restarting): a hint, not a refusal.
  std::string hint;

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  // libzmq sends monitor events from its I/O thread with a blocking send: an event for a PAIR
  // already closed would block that thread for good, and every other socket of the context with
  // it (no handshake completes again). So the monitor stops before its PAIR closes.
  ~Conn() {
    if (sock.handle() != nullptr) (void)zmq_socket_monitor(sock.handle(), nullptr, 0);
  }

  // Reads pending monitor events; true once the connection dropped.
  bool dropped() {
    while (!lost) {
      zmq::message_t ev;
      if (!monitor.recv(ev, zmq::recv_flags::dontwait)) break;
      zmq::message_t addr;
      if (ev.more()) (void)monitor.recv(addr, zmq::recv_flags::dontwait);
      if (ev.size() >= 6) {
        std::uint16_t event = 0;
        std::uint32_t value = 0;
        std::memcpy(&event, ev.data(), sizeof event);
        std::memcpy(&value, static_cast<const char*>(ev.data()) + 2, sizeof value);
        if (std::string why = handshakeFailure(event, value, endpoint, curve); !why.empty()) {
          (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ? hint : refused) = std::move(why);
        }
      }
      lost = true;  // DISCONNECTED, or a handshake that failed
    }
    return lost;
  }
  // Whether a request handed to the socket now reaches a node that completed its handshake.
  bool ready() {
    if (dropped()) return false;
    zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLOUT, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(0));
    return (item.revents & ZMQ_POLLOUT) != 0;
  }
  // Chosen while writable: a drop seen before (a connection that came back during the probe) is
  // history, not a loss of the connection the request will use.
  void chosen() {
    (void)dropped();
    lost = false;
  }
};

namespace {

// Polls `tries` for writability until `deadline`; the index of the one to use (the one at
// `preferred` if it is among those ready), or nullopt.
std::optional<std::size_t> firstWritable(const std::vector<std::unique_ptr<Client::Conn>>& tries,
                                         std::optional<std::size_t> preferred,
                                         std::chrono::steady_clock::time_point deadline);

}  // namespace

Client::Client(Options opts) : Client(std::move(opts), nullptr) {}

Client::Client(Options opts, zmq::context_t& ctx) : Client(std::move(opts), &ctx) {}

Client::Client(Options opts, zmq::context_t* ctx) : opts_(std::move(opts)), ctx_(ctx) {
  if (!ctx_) {
    ownCtx_ = std::make_unique<zmq::context_t>(1);
    ctx_ = ownCtx_.get();
  }
  if (opts_.endpoints.empty()) opts_.endpoints.push_back("tcp://127.0.0.1:7101");
  for (auto& e : opts_.endpoints) {
    auto n = normalizeEndpoint(e);
    badEndpoints_.push_back(n.isOk() ? Status::ok() : n.status());
    if (n) e = *n;
  }
  if (opts_.attempts < 1) opts_.attempts = 1;
}

Client::Client(Client&&) noexcept = default;

Client::~Client() {
  // A moved-from client has no endpoints (a moved-from vector is empty): it revokes nothing.
  if (session_ && !badEndpoints_.empty()) {
    // Best effort, briefly: a session left behind ends by itself after its ttl.
    try {
      opts_.timeout = std::min(opts_.timeout, std::chrono::milliseconds(1000));
      opts_.connectTimeout = std::min(opts_.connectTimeout, std::chrono::milliseconds(1000));
      Request q;
      q.verb = Verb::kRevoke;
      q.lease = static_cast<std::int64_t>(*session_);
      (void)send(q);
    } catch (...) {
    }
  }
  conn_.reset();
}

std::string Client::endpoint() const {
  return answered_ ? opts_.endpoints[*answered_] : std::string();
}

Result<wire::Reply> Client::leaderCall(const wire::Request& req) {
  lastError_.reset();
  auto r = call(req);
  // At most two hops: the node asked names the leader, which may have just lost office.
  for (int hop = 0; hop < 2 && !r && r.status().code() == Err::kNotLeader; ++hop) {
    if (!lastError_ || !lastError_->client || lastError_->client->empty()) break;
    Options o = opts_;
    o.endpoints = {*lastError_->client};
    Client there(std::move(o), *ctx_);
    r = there.call(req);
    lastError_ = there.lastError_;
  }
  // A leader whose endpoint nobody knows yet may be one of ours: ask each in turn.
  for (std::size_t i = 0; i < opts_.endpoints.size() && !r && r.status().code() == Err::kNotLeader;
       ++i) {
    Options o = opts_;
    o.endpoints = {opts_.endpoints[i]};
    o.attempts = 1;
    Client there(std::move(o), *ctx_);
    auto again = there.call(req);
    if (again || again.status().code() != Err::kUnavailable) r = std::move(again);
  }
  return r;
}

Result<wire::Reply> Client::members() {
  wire::Request q;
  q.verb = Verb::kMembers;
  auto r = call(q);
  if (!r || r->leader.value_or(0) == 0 || !r->members) return r;
  // The leader's answer says how far each member has learned.
  for (const auto& m : *r->members) {
    if (m.id != *r->leader || m.client.empty() || m.learned) continue;
    Options o = opts_;
    o.endpoints = {m.client};
    o.attempts = 1;
    Client there(std::move(o), *ctx_);
    auto l = there.call(q);
    if (l && l->leader == r->leader) return l;
  }
  return r;
}

std::unique_ptr<Client::Conn> Client::open(std::size_t index, std::string* why) {
  static std::atomic<std::uint64_t> monitors{0};
  auto c = std::make_unique<Conn>();
  c->index = index;
  c->sock = zmq::socket_t(*ctx_, zmq::socket_type::req);
  c->sock.set(zmq::sockopt::linger, 0);
  c->sock.set(zmq::sockopt::immediate, 1);
  c->sock.set(zmq::sockopt::maxmsgsize, kMaxReply);
  const std::string mon = "inproc://cairn-client-monitor-" + std::to_string(++monitors);
  c->endpoint = opts_.endpoints[index];
  c->curve = opts_.key.has_value();
  auto target = secureSocket(c->sock, opts_.endpoints[index], opts_.key, opts_.serverKey);
  if (!target) {
    badEndpoints_[index] = target.status();
    return nullptr;
  }
  if (zmq_socket_monitor(c->sock.handle(), mon.c_str(),
                         ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
    *why = "cannot monitor a socket: " + std::string(zmq_strerror(zmq_errno()));
    return nullptr;
  }
  c->monitor = zmq::socket_t(*ctx_, zmq::socket_type::pair);
  c->monitor.set(zmq::sockopt::linger, 0);
  c->monitor.connect(mon);
  try {
    c->sock.connect(*target);
  } catch (const zmq::error_t& e) {
    badEndpoints_[index] =
        Status(Err::kBadRequest, "bad endpoint \"" + opts_.endpoints[index] + "\": " + e.what());
    return nullptr;
  }
  return c;
}

namespace {

std::optional<std::size_t> firstWritable(const std::vector<std::unique_ptr<Client::Conn>>& tries,
                                         std::optional<std::size_t> preferred,
                                         std::chrono::steady_clock::time_point deadline) {
  while (!tries.empty()) {
    // A node that refuses the handshake says so on the monitor: that try is over at once.
    std::vector<zmq::pollitem_t> items;
    std::size_t open = 0;
    for (auto& c : tries) {
      const bool alive = c->refused.empty();
      open += alive ? 1 : 0;
      items.push_back({c->sock.handle(), 0, static_cast<short>(alive ? ZMQ_POLLOUT : 0), 0});
      items.push_back({c->monitor.handle(), 0, static_cast<short>(alive ? ZMQ_POLLIN : 0), 0});
    }
    if (open == 0) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    try {
      zmq::poll(items.data(), items.size(), left);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    std::optional<std::size_t> pick;
    for (std::size_t k = 0; k < tries.size(); ++k) {
      if (items[2 * k + 1].revents & ZMQ_POLLIN) (void)tries[k]->dropped();
      if (!(items[2 * k].revents & ZMQ_POLLOUT) || !tries[k]->refused.empty()) continue;
      if (!pick || tries[k]->index == preferred) pick = k;
    }
    if (pick || left.count() == 0) return pick;
  }
  return std::nullopt;
}

}  // namespace

Client::Conn* Client::connection(const std::vector<bool>& skip, std::string* why) {
  refusedAll_ = false;
  if (conn_ && !skip[conn_->index] && conn_->ready()) return conn_.get();
  conn_.reset();
  // Every candidate at once: a dead node costs nothing while another completes its handshake.
  std::vector<std::unique_ptr<Conn>> tries;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < opts_.endpoints.size(); ++i) {
    if (skip[i] || !badEndpoints_[i].isOk()) continue;
    if (auto c = open(i, why)) {
      names.push_back(opts_.endpoints[i]);
      tries.push_back(std::move(c));
    }
  }
  const auto pick =
      firstWritable(tries, answered_, std::chrono::steady_clock::now() + opts_.connectTimeout);
  if (pick) {
    conn_ = std::move(tries[*pick]);
    conn_->chosen();
    leaderChecked_ = false;  // a new node: the leader may be elsewhere
    return conn_.get();
  }
  std::vector<std::string> bad;
  for (const auto& s : badEndpoints_) {
    if (!s.isOk()) bad.push_back(s.detail());
  }
  std::vector<std::string> refused, silent, hints;
  for (const auto& c : tries) {
    if (!c->refused.empty()) {
      refused.push_back(c->refused);
    } else {
      silent.push_back(c->endpoint);
      if (!c->hint.empty()) hints.push_back(c->hint);
    }
  }
  refusedAll_ = !refused.empty() && silent.empty() && bad.empty();
  if (!refused.empty()) {
    *why = listed(refused);
    if (!silent.empty()) {
      *why += "; no answer at " + listed(silent) + " within " + quoteMs(opts_.connectTimeout);
    }
    if (!bad.empty()) *why += "; " + listed(bad);
  } else if (names.empty() && bad.empty()) {
    *why = "no other node to try";
  } else if (names.empty()) {
    *why = listed(bad);
  } else {
    *why = "no node answered at " + listed(names) + " within " + quoteMs(opts_.connectTimeout) +
           (hints.empty() ? " (is cairnd running? is --addr/CAIRN_ADDR right?)"
                          : ": " + listed(hints));
    if (!bad.empty()) *why += "; " + listed(bad);
  }
  return nullptr;
}

Client::Sent Client::exchange(Conn& c, const std::string& body, std::chrono::milliseconds timeout,
                              zmq::message_t* reply) {
  // Never blocks: a connection that dropped since it was found ready takes nothing (EAGAIN), and
  // the request provably never left.
  if (!c.sock.send(zmq::buffer(body), zmq::send_flags::dontwait)) return Sent::kNotSent;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    zmq::pollitem_t items[] = {{c.sock.handle(), 0, ZMQ_POLLIN, 0},
                               {c.monitor.handle(), 0, ZMQ_POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    try {
      zmq::poll(items, 2, left);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    if (items[0].revents & ZMQ_POLLIN) {
      (void)c.sock.recv(*reply, zmq::recv_flags::none);
      return Sent::kReply;
    }
    if ((items[1].revents & ZMQ_POLLIN) && c.dropped()) return Sent::kLost;
    if (left.count() == 0) return Sent::kTimeout;
  }
}

Status Client::findLeader() {
  Request q;
  q.verb = Verb::kSelf;
  auto self = send(q);
  leaderChecked_ = true;  // after the SELF: a failover inside it would have cleared it
  if (!self) return self.status();
  if (self->maxValue) maxValue_ = *self->maxValue;
  const std::int64_t leader = self->leader.value_or(0);
  if (!conn_ || leader == 0 || leader == self->id.value_or(0)) return Status::ok();
  Request g;
  g.verb = Verb::kGet;
  g.path = "/ctl/nodes/" + std::to_string(leader) + "/client";
  g.consistency = "local";
  auto where = send(g);
  if (!where || !where->value || where->value->empty()) return Status::ok();
  auto ep = normalizeEndpoint(*where->value);
  if (!ep) return Status::ok();
  for (std::size_t i = 0; i < opts_.endpoints.size(); ++i) {
    // (the same node whether or not either names its key)
    if (!wire::sameEndpoint(opts_.endpoints[i], *ep) || !badEndpoints_[i].isOk()) {
      continue;
    }
    // Only a leader that completes its handshake at once is worth it (a node that still names a
    // dead leader must not cost every write a connect timeout): otherwise stay, this node
    // forwards.
    try {
      std::string why;
      std::vector<std::unique_ptr<Conn>> tries;
      if (auto c = open(i, &why)) tries.push_back(std::move(c));
      const auto deadline =
          std::chrono::steady_clock::now() + std::min(opts_.connectTimeout, kLeaderConnect);
      if (!firstWritable(tries, i, deadline)) return Status::ok();
      conn_ = std::move(tries.front());
      conn_->chosen();
      answered_ = i;
    } catch (const zmq::error_t&) {
      // (no socket to the leader: stay where we are)
    }
    return Status::ok();
  }
  return Status::ok();
}

Result<wire::Reply> Client::call(const Request& reqIn) {
  Request req = reqIn;
  const bool isRead = req.verb == Verb::kGet || req.verb == Verb::kStat ||
                      req.verb == Verb::kGetdir || req.verb == Verb::kWalk ||
                      req.verb == Verb::kRev;
  if (isRead && opts_.localReads && !req.consistency) req.consistency = "local";
  if ((req.verb == Verb::kSet && req.value) || (req.verb == Verb::kTxn && req.txn)) {
    std::size_t paths = 0;
    const std::size_t bytes = valueBytes(req, &paths);
    const bool txn = req.verb == Verb::kTxn;
    if (!maxValue_ && bytes + paths > kAskLimitAbove) {
      Request q;
      q.verb = Verb::kSelf;
      auto self = send(q);
      if (!self) return self.status();
      if (self->maxValue) maxValue_ = *self->maxValue;
    }
    if (maxValue_ && bytes > static_cast<std::size_t>(*maxValue_)) {
      return Status(Err::kTooLarge,
                    std::string(txn ? "the transaction's values total " : "the value is ") +
                        std::to_string(bytes) + " bytes; this cluster takes at most " +
                        std::to_string(*maxValue_) + " (cairnd --max-value); nothing was sent");
    }
  }
  if ((isWrite(req) || req.verb == Verb::kNop || req.verb == Verb::kTxn) && opts_.preferLeader &&
      opts_.endpoints.size() > 1 && !leaderChecked_) {
    // A SELF no node answered means the write cannot be sent either: say so now, once.
    if (Status s = findLeader(); s.code() == Err::kUnavailable) return s;
  }
  const bool sessionable = req.verb == Verb::kSet || req.verb == Verb::kDel ||
                           req.verb == Verb::kGrant || req.verb == Verb::kRevoke ||
                           (req.verb == Verb::kTxn && isWrite(req));
  if (opts_.exactlyOnce && sessionable && !req.session && !req.seq) return sessionCall(req);
  if (req.verb == Verb::kTxn && !isWrite(req)) return readTxnCall(req);
  return send(req);
}

namespace {

// The pauses between resends until a deadline: 50 ms, doubling up to 1 s.
class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds within)
      : deadline_(std::chrono::steady_clock::now() + within) {}
  // Sleeps the next pause; false (and no sleep) if the deadline would pass first.
  bool wait() {
    if (std::chrono::steady_clock::now() + pause_ >= deadline_) return false;
    std::this_thread::sleep_for(pause_);
    pause_ = std::min(pause_ * 2, std::chrono::milliseconds(1000));
    return true;
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::milliseconds pause_{50};
};

}  // namespace

bool noConsensus(Err e) {
  return e == Err::kTimeout || e == Err::kUnavailable || e == Err::kIo;
}

Result<wire::Reply> Client::readTxnCall(const Request& req) {
  Backoff backoff(opts_.writeDeadline);
  while (true) {
    auto r = send(req);
    if (r || !noConsensus(r.status().code()) || !backoff.wait()) return r;
  }
}

Result<wire::Reply> Client::sessionCall(Request req) {
  Backoff backoff(opts_.writeDeadline);
  bool maybeApplied = false;  // an attempt may have been applied: only a reply tells now
  int attempts = 0, sessions = 0;
  auto unknown = [&](const std::string& why) {
    return Status(Err::kTimeout, why + " (" + std::to_string(attempts) + " attempts of write " +
                                     std::to_string(seq_) + " of session " +
                                     std::to_string(session_.value_or(0)) +
                                     "); it may or may not have been applied, once at most");
  };
  while (true) {
    if (!req.session) {
      if (!session_) {
        // A session of its own: a plain GRANT (one whose reply is lost leaves a lease that ends
        // by itself after its ttl).
        Request g;
        g.verb = Verb::kGrant;
        g.ttl = opts_.sessionTtl.count();
        auto r = send(g);
        if (!r && r.status().code() == Err::kPermission) {
          // A user that may write nothing may not hold a session either: the write goes alone,
          // once, for the node to say what this user may not do.
          return send(req);
        }
        if (!r) {
          // Not granted, or granted with the reply lost (that lease ends after its ttl): the
          // write itself was never sent, so only its own answer is reported.
          if (!noConsensus(r.status().code()) || !backoff.wait()) return r.status();
          continue;
        }
        if (!r->lease) return Status(Err::kOther, "GRANT's reply has no lease");
        session_ = static_cast<std::uint64_t>(*r->lease);
        seq_ = 0;
        ++sessions;
      }
      req.session = static_cast<std::int64_t>(*session_);
      req.seq = static_cast<std::int64_t>(++seq_);
    }
    ++attempts;
    auto r = send(req);
    if (r) return r;
    const Err e = r.status().code();
    if (e == Err::kTooLate) {
      // The session ended (its lease expired while this client was idle, or was revoked): this
      // attempt was not applied. A first attempt is sent again under a new session; a retry's
      // earlier attempts may have been applied, and nothing can tell now.
      session_.reset();
      if (maybeApplied) return unknown("the session ended while the write was retried");
      if (sessions >= 2) return r.status();
      req.session.reset();
      req.seq.reset();
      continue;
    }
    // IO: every node that answered has halted, and this attempt reached no consensus. Definite
    // if no earlier attempt may have been applied; otherwise only a live node can tell, so it is
    // resent until the deadline, as after UNAVAILABLE.
    if (e == Err::kIo && !maybeApplied) return r.status();
    if (!noConsensus(e)) return r.status();
    maybeApplied = maybeApplied || e == Err::kTimeout;
    if (!backoff.wait()) {
      if (!maybeApplied) return r.status();  // no attempt reached consensus: never applied
      return unknown("no definite answer within " + quoteMs(opts_.writeDeadline) + ": " +
                     r.status().detail());
    }
  }
}

Result<wire::Reply> Client::send(const Request& req, std::chrono::milliseconds extra) {
  auto usable = [&] {
    return std::any_of(badEndpoints_.begin(), badEndpoints_.end(),
                       [](const Status& s) { return s.isOk(); });
  };
  if (badEndpoints_.empty()) return Status(Err::kBadRequest, "no endpoints (a moved-from client)");
  if (!usable()) return badEndpoints_.front();  // not one endpoint a socket could connect to
  const bool repeatable = !isWrite(req);
  auto timeout = opts_.timeout + extra;
  if (req.timeoutMs) timeout += std::chrono::milliseconds(*req.timeoutMs);
  const std::string body = wire::encodeRequest(req);
  const std::vector<bool> none(opts_.endpoints.size(), false);
  const std::vector<bool>& allowed = avoid_.empty() ? none : avoid_;
  std::vector<bool> skip = allowed;
  std::vector<std::string> silent;  // nodes that took the request and did not answer
  std::optional<Status> halted;     // a node that answered IO: why, if no other node answers
  int sent = 0;
  bool inFlight = false;  // the request may have reached a node that has not answered
  try {
    while (true) {
      std::string why;
      Conn* c = connection(skip, &why);
      if (!c && repeatable && sent < opts_.attempts && !silent.empty()) {
        // Every node was tried; one that did not answer in time may still: again, from the top.
        skip = allowed;
        silent.clear();
        continue;
      }
      if (!c) {
        if (!usable()) return badEndpoints_.front();
        if (halted) return Status(halted->code(), halted->detail() + "; and " + why);
        if (!silent.empty()) why = "no reply from " + listed(silent) + "; " + why;
        // Every node refused this client's keys: no use trying again as it is.
        return Status(refusedAll_ && silent.empty() ? Err::kPermission : Err::kUnavailable, why);
      }
      const std::size_t at = c->index;
      zmq::message_t m;
      inFlight = true;
      const Sent got = exchange(*c, body, timeout, &m);
      if (got == Sent::kNotSent) {  // the connection dropped before the request left
        inFlight = false;
        skip[at] = true;
        conn_.reset();
        continue;
      }
      ++sent;
      if (got == Sent::kReply) {
        inFlight = false;
        auto r = wire::decodeReply(m.to_string_view());
        if (!r) return Status(Err::kBadRequest, "undecodable reply: " + r.status().detail());
        if (r->err == Err::kIo) {
          // A halted node applied nothing of it and serves nobody: the next node, not an attempt.
          --sent;
          skip[at] = true;
          conn_.reset();
          halted = r->status();
          continue;
        }
        answered_ = at;
        if (r->err != Err::kOk) {
          lastError_ = *r;
          return r->status();
        }
        return r;
      }
      // Lazy Pirate: a REQ socket that missed its reply cannot be reused.
      conn_.reset();
      skip[at] = true;
      const std::string& ep = opts_.endpoints[at];
      const std::string what = got == Sent::kLost
                                   ? "the connection to " + ep + " was lost before the reply"
                                   : "no reply from " + ep + " within " + quoteMs(timeout);
      if (!repeatable) {
        return Status(Err::kTimeout, what + "; the write may or may not have been applied");
      }
      inFlight = false;
      silent.push_back(ep);
      if (sent >= opts_.attempts) {
        return Status(Err::kUnavailable, what + " (" + std::to_string(sent) + " attempt" +
                                             (sent == 1 ? "" : "s") + ")");
      }
    }
  } catch (const zmq::error_t& e) {
    conn_.reset();
    if (inFlight && !repeatable) {
      return Status(Err::kTimeout, std::string("socket error after the write was sent: ") +
                                       e.what() + "; the write may or may not have been applied");
    }
    return Status(Err::kUnavailable, std::string("socket error: ") + e.what());
  }
}

Result<File> Client::get(const std::string& path, std::optional<std::int64_t> rev) {
  Request q;
  q.verb = Verb::kGet;
  q.path = path;
  q.rev = rev;
  auto r = call(q);
  if (!r) return r.status();
  return File{r->value.value_or(""), r->rev.value_or(0), r->head.value_or(0)};
}

Result<std::int64_t> Client::set(const std::string& path, const std::string& value,
                                 std::int64_t rev) {
  Request q;
  q.verb = Verb::kSet;
  q.path = path;
  q.value = value;
  q.rev = rev;
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<std::int64_t> Client::set(const std::string& path, const std::string& value,
                                 std::int64_t rev, std::uint64_t lease) {
  Request q;
  q.verb = Verb::kSet;
  q.path = path;
  q.value = value;
  q.rev = rev;
  if (lease != 0) q.lease = static_cast<std::int64_t>(lease);
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<std::uint64_t> Client::grant(std::chrono::milliseconds ttl) {
  Request q;
  q.verb = Verb::kGrant;
  q.ttl = ttl.count();
  auto r = call(q);
  if (!r) return r.status();
  if (!r->lease) return Status(Err::kOther, "GRANT's reply has no lease");
  return static_cast<std::uint64_t>(*r->lease);
}

Result<std::int64_t> Client::revoke(std::uint64_t lease) {
  Request q;
  q.verb = Verb::kRevoke;
  q.lease = static_cast<std::int64_t>(lease);
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<std::chrono::milliseconds> Client::keepAlive(std::uint64_t lease) {
  Request q;
  q.verb = Verb::kKeepalive;
  q.lease = static_cast<std::int64_t>(lease);
  auto r = leaderCall(q);
  if (!r) return r.status();
  return std::chrono::milliseconds(r->ttl.value_or(0));
}

Result<wire::Reply> Client::lease(std::uint64_t lease) {
  Request q;
  q.verb = Verb::kLease;
  q.lease = static_cast<std::int64_t>(lease);
  return leaderCall(q);
}

Result<std::int64_t> Client::del(const std::string& path, std::int64_t rev) {
  Request q;
  q.verb = Verb::kDel;
  q.path = path;
  q.rev = rev;
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<TxnReply> Client::txn(const wire::Txn& t) {
  Request q;
  q.verb = Verb::kTxn;
  q.txn = t;
  auto r = call(q);
  if (!r) return r.status();
  if (!r->succeeded) return Status(Err::kOther, "TXN's reply has no \"succeeded\"");
  return TxnReply{*r->succeeded, r->rev.value_or(0),
                  r->results.value_or(std::vector<wire::Entry>{})};
}

Result<std::int64_t> Client::rev() {
  Request q;
  q.verb = Verb::kRev;
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<std::int64_t> Client::nop() {
  Request q;
  q.verb = Verb::kNop;
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<Info> Client::stat(const std::string& path, std::optional<std::int64_t> rev) {
  Request q;
  q.verb = Verb::kStat;
  q.path = path;
  q.rev = rev;
  auto r = call(q);
  if (!r) return r.status();
  return Info{r->rev.value_or(0), r->len.value_or(0), r->dir.value_or(false), r->head.value_or(0)};
}

Result<std::vector<wire::Entry>> Client::pages(Request q, std::int64_t* head) {
  std::vector<wire::Entry> all;
  while (true) {
    auto r = call(q);
    if (!r) return r.status();
    if (r->entries) {
      for (auto& e : *r->entries)
        all.push_back(std::move(e));
    }
    if (!q.rev) q.rev = r->head;  // later pages read the same revision as the first
    if (!r->next) break;
    q.after = r->next;
  }
  if (head) *head = q.rev.value_or(0);
  return all;
}

Result<std::vector<wire::Entry>> Client::getdir(const std::string& path,
                                                std::optional<std::int64_t> rev,
                                                std::int64_t* head) {
  Request q;
  q.verb = Verb::kGetdir;
  q.path = path;
  q.rev = rev;
  return pages(std::move(q), head);
}

Result<std::vector<wire::Entry>> Client::walk(const std::string& glob,
                                              std::optional<std::int64_t> rev, std::int64_t* head) {
  Request q;
  q.verb = Verb::kWalk;
  q.path = glob;
  q.rev = rev;
  return pages(std::move(q), head);
}

Result<std::vector<Change>> Client::wait(const std::string& glob, std::int64_t rev,
                                         std::chrono::milliseconds wait) {
  Request q;
  q.verb = Verb::kWait;
  q.path = glob;
  q.rev = rev;
  q.timeoutMs = wait.count();
  auto r = call(q);
  if (!r) return r.status();
  std::vector<Change> out;
  if (r->entries) {  // several matching changes at one rev
    for (auto& e : *r->entries)
      out.push_back(Change{e.rev, std::move(e.path), e.op.value_or(""), e.value.value_or("")});
  } else {
    out.push_back(Change{r->rev.value_or(0), r->path.value_or(""), r->op.value_or(""),
                         r->value.value_or("")});
  }
  return out;
}

Result<std::vector<Change>> Client::changes(const std::string& glob, std::int64_t rev,
                                            std::int64_t* complete, std::int64_t limit) {
  Request q;
  q.verb = Verb::kChanges;
  q.path = glob;
  q.rev = rev;
  q.limit = limit;
  auto r = call(q);
  if (!r) return r.status();
  std::vector<Change> out;
  if (r->entries) {
    for (auto& e : *r->entries) {
      out.push_back(Change{e.rev, std::move(e.path), e.op.value_or(""), e.value.value_or("")});
    }
  }
  if (complete) *complete = r->head.value_or(0);
  return out;
}

Result<wire::Reply> Client::self() {
  Request q;
  q.verb = Verb::kSelf;
  auto r = call(q);
  if (r && r->maxValue) maxValue_ = *r->maxValue;
  return r;
}

}  // namespace cairn::client

namespace cairn::client {

Status Client::backupOnce(const BackupSink& sink, Backup* b, bool* retry) {
  *retry = true;
  // A backup is the serving node's applied state, which on a follower may trail the cluster: a
  // linearizable REV first makes that node apply every write acknowledged before now (with
  // Options::localReads the node's own state is what was asked for).
  Request fence;
  fence.verb = Verb::kRev;
  if (opts_.localReads) fence.consistency.emplace("local");
  if (auto f = send(fence); !f) return f.status();
  if (answered_) {  // the begin goes to the node that answered the fence, or nowhere
    avoid_.assign(opts_.endpoints.size(), true);
    avoid_[*answered_] = false;
    b->endpoint = opts_.endpoints[*answered_];  // named if it fails: the next try goes elsewhere
  }
  Request q;
  q.verb = Verb::kSnapshot;
  const std::optional<std::size_t> before = answered_;
  answered_.reset();  // set again by the node that answers, with the backup or an error
  auto begun = send(q, kBackupWrite);
  if (answered_) b->endpoint = opts_.endpoints[*answered_];
  if (!answered_) answered_ = before;
  if (!begun) return begun.status();
  if (!begun->slot || !begun->len || *begun->len < 0) {
    *retry = false;
    return Status(Err::kOther, "the node's reply to SNAPSHOT has no slot or len");
  }
  const std::size_t at = *answered_;
  b->rev = begun->rev.value_or(0);
  b->slot = *begun->slot;
  b->len = *begun->len;
  // From here on, this node only: a backup lives where it was made.
  avoid_.assign(opts_.endpoints.size(), true);
  avoid_[at] = false;
  std::int64_t offset = 0;
  while (offset < b->len) {
    q.slot = b->slot;
    q.offset = offset;
    auto r = send(q);
    if (!r) return r.status();
    const std::int64_t n = r->value ? static_cast<std::int64_t>(r->value->size()) : 0;
    if (r->slot != b->slot || r->len != b->len || r->offset != offset || n == 0 ||
        n > b->len - offset) {
      *retry = false;
      return Status(Err::kOther, b->endpoint + " answered the chunk at offset " +
                                     std::to_string(offset) + " of the backup at slot " +
                                     std::to_string(b->slot) + " with something else");
    }
    if (Status s = sink(offset, *r->value); !s.isOk()) {
      *retry = false;
      return s;
    }
    offset += n;
  }
  return Status::ok();
}

Result<Backup> Client::backup(const BackupSink& sink) {
  struct Restore {
    std::vector<bool>& avoid;
    ~Restore() { avoid.clear(); }
  } restore{avoid_};
  std::vector<bool> tried(opts_.endpoints.size(), false);
  Status first;
  for (int begun = 1; begun <= 2; ++begun) {
    avoid_ = tried;
    if (std::all_of(avoid_.begin(), avoid_.end(), [](bool b) { return b; })) break;
    Backup b;
    b.begun = begun;
    b.why = first.detail();
    bool retry = false;
    Status s = backupOnce(sink, &b, &retry);
    if (s.isOk()) return b;
    const Err e = s.code();
    retry = retry && (e == Err::kTooLate || noConsensus(e));
    // No node answered at all: another try would not reach one either.
    if (!retry || b.endpoint.empty()) return s;
    if (begun == 2) {
      return Status(e, "the backup failed twice: from " + first.detail() + "; then from " +
                           b.endpoint + ": " + s.detail());
    }
    first = Status(e, b.endpoint + ": " + s.detail());
    for (std::size_t i = 0; i < opts_.endpoints.size(); ++i) {
      if (opts_.endpoints[i] == b.endpoint) tried[i] = true;
    }
  }
  return Status(first.code(), first.detail() + "; no other node to start over on");
}

}  // namespace cairn::client
