#include "node/gate.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "node/log.h"
#include "node/stats.h"

namespace cairn::node {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";  // RFC 27: the fixed address
constexpr int kZapEnforceDomain = 93;  // ZMQ_ZAP_ENFORCE_DOMAIN: draft in zmq.h, honoured by 4.3
constexpr std::size_t kMaxClientsFile = 16 << 20;

wire::Result<ClientList> readClients(const std::string& path) {
  auto text = wire::readRegularFile(path, kMaxClientsFile, "--clients");
  if (!text) return text.status();
  return parseClients(*text, path);
}

std::string hexOf(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

}  // namespace

Gate::Gate(zmq::context_t& ctx, Stats& stats)
    : zap_(ctx, zmq::socket_type::router), stats_(stats) {}

wire::Status Gate::start(const std::string& keyFile, const std::string& clientsFile,
                         bool zapHandler) {
  if (keyFile.empty()) {
    if (!clientsFile.empty()) {
      return wire::Status(wire::Err::kBadRequest,
                          "--clients needs --key: without a key the node runs in plain text "
                          "and cannot tell one client from another");
    }
    logLine(
        "PLAIN TEXT: no --key, so every socket is unencrypted and every client may read and "
        "write everything; keep this node on loopback or a network you trust "
        "(README: securing a cluster)");
    return wire::Status::ok();
  }
  auto k = wire::readSecretKeyFile(keyFile);
  if (!k) return wire::Status(k.status().code(), "--key: " + k.status().detail());
  key_ = std::move(k.value());
  if (!clientsFile.empty()) {
    auto list = readClients(clientsFile);
    if (!list) return list.status();
    clients_ = std::move(list.value());
    clientsFile_ = clientsFile;
  }
  if (zapHandler) {
    try {
      zap_.set(zmq::sockopt::linger, 0);
      zap_.bind(kZapEndpoint);
    } catch (const zmq::error_t& e) {
      return wire::Status(wire::Err::kIo, std::string("cannot bind the ZAP handler: ") + e.what());
    }
  } else {
    logLine("--debug-no-zap: no ZAP handler; every connection must be refused");
  }
  logLine("CURVE: public key " + key_->publicKey + "; " +
          std::to_string(clients_.userOfKey.size()) + " client keys" +
          (clientsFile_.empty() ? "" : " from " + clientsFile_));
  return wire::Status::ok();
}

wire::Status Gate::serve(zmq::socket_t& s, const char* domain) const {
  if (!key_) return wire::Status::ok();
  s.set(zmq::sockopt::curve_server, 1);
  s.set(zmq::sockopt::curve_secretkey, key_->secretKey);
  s.set(zmq::sockopt::zap_domain, domain);
  const int on = 1;
  // Without it a node whose ZAP handler is gone would let everyone in: refuse to run instead.
  if (zmq_setsockopt(s.handle(), kZapEnforceDomain, &on, sizeof on) != 0) {
    return wire::Status(wire::Err::kIo,
                        std::string("this libzmq refuses ZMQ_ZAP_ENFORCE_DOMAIN, without which a "
                                    "node with no ZAP handler would let everyone in: ") +
                            zmq_strerror(zmq_errno()));
  }
  return wire::Status::ok();
}

std::optional<std::string> Gate::decide(const std::string& domain, const std::string& key,
                                        std::string* why) const {
  if (key == key_->publicKey) return std::string(kSelfUser);
  if (domain == kClientDomain) {
    auto it = clients_.userOfKey.find(key);
    if (it != clients_.userOfKey.end()) return it->second;
    // Members ask each other too (the web room's cluster view): they may read.
    if (auto p = peers_.find(key); p != peers_.end()) return "node:" + std::to_string(p->second);
    *why = "client key not in --clients";
  } else if (domain == kPeerDomain) {
    auto it = peers_.find(key);
    if (it != peers_.end()) return "node:" + std::to_string(it->second);
    *why = "key of no member";
  } else {
    *why = "unknown domain";
  }
  return std::nullopt;
}

void Gate::drainZap(int max) {
  for (int n = 0; n < max; ++n) {
    std::vector<zmq::message_t> frames;
    try {
      zmq::message_t m;
      if (!zap_.recv(m, zmq::recv_flags::dontwait)) return;
      frames.push_back(std::move(m));
      while (frames.back().more()) {
        zmq::message_t next;
        (void)zap_.recv(next, zmq::recv_flags::none);
        frames.push_back(std::move(next));
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == EAGAIN || e.num() == EINTR) return;
      throw;
    }
    // [routing id][empty][version][request id][domain][address][identity][mechanism][creds...]
    if (frames.size() < 8) continue;  // not a ZAP request: nothing to answer
    const std::string domain = frames[4].to_string();
    const std::string address = frames[5].to_string();
    const std::string mechanism = frames[7].to_string();
    std::string code = "400", text, user;
    if (frames[2].to_string() != "1.0") {
      text = "ZAP version not 1.0";
    } else if (mechanism != "CURVE" || frames.size() < 9 || frames[8].size() != 32) {
      text = "CURVE only";
    } else {
      char z85[41];
      zmq_z85_encode(z85, static_cast<const std::uint8_t*>(frames[8].data()), 32);
      if (auto u = decide(domain, z85, &text)) {
        code = "200";
        text = "OK";
        user = *u;
      } else {
        text += " (" + std::string(z85) + ")";
      }
    }
    if (code == "200") {
      ++stats_.authAccepted;
    } else {
      ++stats_.authRefused;
      logLine("refused a " + mechanism + " connection from " + address + " in " + domain + ": " +
              text);
    }
    try {
      zap_.send(frames[0], zmq::send_flags::sndmore);
      zap_.send(frames[1], zmq::send_flags::sndmore);
      zap_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
      zap_.send(frames[3], zmq::send_flags::sndmore);
      zap_.send(zmq::buffer(code), zmq::send_flags::sndmore);
      zap_.send(zmq::buffer(text), zmq::send_flags::sndmore);
      zap_.send(zmq::buffer(user), zmq::send_flags::sndmore);
      zap_.send(zmq::str_buffer(""), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      logLine(std::string("ZAP reply failed: ") + e.what() + " (request " +
              hexOf(frames[3].to_string()) + ")");
    }
  }
}

void Gate::followMembers(std::initializer_list<const wire::Membership*> configs,
                         const std::map<std::uint32_t, std::string>& joined) {
  std::map<std::string, std::uint32_t> keys;
  for (const auto& [id, ep] : joined) {
    if (auto k = wire::splitKeyedEndpoint(ep); !k.key.empty()) keys[k.key] = id;
  }
  for (const wire::Membership* m : configs) {
    for (const wire::Member& e : m->members) {
      if (auto k = wire::splitKeyedEndpoint(e.peer); !k.key.empty()) keys[k.key] = e.id;
    }
  }
  peers_ = std::move(keys);
}

bool Gate::reload() {
  if (clientsFile_.empty()) {
    logLine("SIGHUP: no --clients file to read again");
    return false;
  }
  auto list = readClients(clientsFile_);
  if (!list) {
    logLine("SIGHUP: --clients kept as it was: " + list.status().detail());
    return false;
  }
  const bool regranted = list->users != clients_.users;
  const bool keyGone =
      std::any_of(clients_.userOfKey.begin(), clients_.userOfKey.end(), [&](const auto& keyUser) {
        auto now = list->userOfKey.find(keyUser.first);
        return now == list->userOfKey.end() || now->second != keyUser.second;
      });
  clients_ = std::move(list.value());
  logLine("SIGHUP: read --clients " + clientsFile_ +
          " again: " + std::to_string(clients_.userOfKey.size()) + " client keys, " +
          std::to_string(clients_.users.size()) + " users; " +
          (regranted ? "grants changed" : "grants as they were") +
          (keyGone ? "; a key was removed (or given to another user)" : ""));
  return regranted || keyGone;
}

const Access& Gate::access(const std::string& user) const {
  if (!key_) return everything_;
  if (user.rfind("node:", 0) == 0) return selfAccess_;  // this node, or a member
  auto it = clients_.users.find(user);
  return it == clients_.users.end() ? none_ : it->second;
}

}  // namespace cairn::node
