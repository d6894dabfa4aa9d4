#pragma once
// Gate: who may connect and what each may do (PROTOCOL.md §12). With a key (cairnd --key) every
// socket the node binds runs CURVE as a server, and libzmq asks this room, over ZAP (RFC 27), about
// each connection: a client's key must be in the --clients list, and is mapped to its user; a
// peer's key must be a member's. ZMQ_ZAP_ENFORCE_DOMAIN is set on every such socket, so that
// without an answer from this room (none bound, or it stopped) a connection is refused, never let
// in. Requests then carry their user (the message's "User-Id"), and access() says what it may do.
// Without a key the node runs in plain text, every caller has every right, and the node says so
// loudly once.
//
// Owns: the ZAP socket, the node's key pair and the client list (reloaded on SIGHUP; a list that
// does not parse leaves the old one in force). Thread: the node's event loop, which answers ZAP
// requests between turns: a handshake waits at most one turn.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "node/grants.h"
#include "wire/keys.h"
#include "wire/membership.h"
#include "wire/status.h"

namespace cairn::node {

struct Stats;

class Gate {
 public:
  // The user a node's own clients (the web room's bridge) run as; a member's is "node:<id>". Both
  // may read everything, and write nothing (a member's writes travel as peer messages).
  static constexpr const char* kSelfUser = "node:self";
  // Domains: which list a key must be in.
  static constexpr const char* kClientDomain = "cairn-client";
  static constexpr const char* kPeerDomain = "cairn-peer";

  Gate(zmq::context_t& ctx, Stats& stats);
  // Reads the key file (mode checked) and the client list; binds the ZAP handler unless
  // `zapHandler` is false (a test's way to prove that no handler means no entry). Plain mode when
  // keyFile is empty.
  wire::Status start(const std::string& keyFile, const std::string& clientsFile, bool zapHandler);
  bool secure() const { return key_.has_value(); }
  const wire::KeyPair& key() const { return *key_; }
  // The node's key pair, and its public key ("" in plain mode: keyedEndpoint() then adds none).
  const std::optional<wire::KeyPair>& keyPair() const { return key_; }
  std::string publicKey() const { return key_ ? key_->publicKey : std::string(); }
  // Makes `s` a CURVE server in `domain` (before it binds). Nothing in plain mode.
  // IO if libzmq will not enforce ZAP on it.
  wire::Status serve(zmq::socket_t& s, const char* domain) const;
  // (A socket of this node that connects to a node is a CURVE client with keyPair(), like any
  // client's: client::secureSocket.)

  // The peer keys accepted in the peer domain (and let read in the client domain): those the
  // members' peer endpoints name in `configs` (the one in effect and the latest proposed: a
  // member being added connects before it is chosen) and in `joined` (for a node that joined, the
  // members of the configuration it joined: until its log reaches it, its own holds only the
  // bootstrap members, and one that joined later, the leader say, must be let in meanwhile).
  // Called at start and whenever a configuration changes.
  void followMembers(std::initializer_list<const wire::Membership*> configs,
                     const std::map<std::uint32_t, std::string>& joined);

  zmq::socket_t& zap() { return zap_; }
  // Answers up to `max` waiting ZAP requests.
  void drainZap(int max);
  // Reads the client list again (SIGHUP); a bad file is logged and the old list stays. True when
  // what a connection let in before may do changed: some user's grants (a user added or removed
  // counts), or a key that is no longer listed, or no longer its user's. A key added to a user is
  // not a change.
  bool reload();

  // The user a request came with ("" in plain mode) -> its rights.
  const Access& access(const std::string& user) const;

 private:
  std::optional<std::string> decide(const std::string& domain, const std::string& key,
                                    std::string* why) const;

  zmq::socket_t zap_;
  Stats& stats_;
  std::optional<wire::KeyPair> key_;
  std::string clientsFile_;
  ClientList clients_;
  std::map<std::string, std::uint32_t> peers_;
  Access everything_ = Access::everything();
  Access none_;
  Access selfAccess_ = Access({{Perm::kRead, "/"}});
};

}  // namespace cairn::node
