#pragma once
// ClusterView: the viewer's picture of every member (VIEWER.md, "cluster"): each other member
// asked for SELF once a round over a DEALER of its own, judged up if it answered within the last
// round and a grace, down (with why) otherwise. This node's own row comes from its facts.
//
// Owns: one DEALER per other member. Thread: the bridge thread only (bridge.h), which polls the
// DEALERs, hands replies back with onReadable(), and calls round() once per kRound.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "node/web/facts.h"
#include "wire/keys.h"
#include "wire/message.h"

namespace cairn::node::web {

class ClusterView {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kRound = std::chrono::seconds(1);
  // A member that answered no SELF for kRound + kGrace is down.
  static constexpr auto kGrace = std::chrono::milliseconds(250);

  ClusterView(zmq::context_t& ctx, std::int64_t self, std::optional<wire::KeyPair> key)
      : ctx_(ctx), self_(self), key_(std::move(key)) {}

  // The configuration, from a MEMBERS reply of this node.
  void members(const wire::Reply& r);
  // Ends a round: the "cluster" message (VIEWER.md) as of `now`, then asks every member again.
  // `facts`: this node's latest (null before the first).
  std::string round(Clock::time_point now, const Facts* facts);
  // Retries the SELF requests a DEALER could not take yet (its connection was still being made).
  void retry();

  // The DEALERs to poll, and the member each belongs to.
  void pollItems(std::vector<zmq::pollitem_t>* items, std::vector<std::int64_t>* ids);
  // Replies are waiting on member `id`'s DEALER.
  void onReadable(std::int64_t id, Clock::time_point now);

 private:
  struct Member {
    std::string role;    // in the configuration: voter, learner, observer
    std::string client;  // its client endpoint ("" when unknown)
    std::unique_ptr<zmq::socket_t> dealer;
    std::string dealerTo;
    wire::Reply self;              // its last SELF
    Clock::time_point answered{};  // when that came (epoch: never)
    bool unsent = false;           // this round's SELF is still to be sent
    std::string error;             // why it is not reachable, if a send or a reply said
  };
  void ask(Member& m);
  std::string message(Clock::time_point now, const Facts* facts) const;

  zmq::context_t& ctx_;
  std::int64_t self_;
  std::optional<wire::KeyPair> key_;  // CURVE (--key): the members' endpoints name their keys
  std::map<std::int64_t, Member> members_;
  std::int64_t config_ = 0;
  std::uint64_t round_ = 0;
};

}  // namespace cairn::node::web
