#pragma once
// Members: the membership verbs and the leader's upkeep of the configuration.
//
// MEMBERS lists the configuration this node has learned (the leader adds how far each member
// has learned). JOIN, PROMOTE and REMOVE are the leader's: any other node answers NOT_LEADER with
// the leader's id and client endpoint, and the client asks there. The leader turns each into the
// next configuration (wire::checkChange: one member at a time) and proposes it through the
// Replica; the reply waits until that slot is chosen, and says whether the change took effect
// (another leader may have chosen something else there: UNAVAILABLE, try again). While it leads,
// it promotes a learner that has caught up (see caughtUp), unless the learner joined as an
// observer (cairnd --learner); PROMOTE by hand asks the same of it.
//
// Owns: the membership requests waiting for their slot, each learner's catch-up target. Reads the
// core's configuration; proposes through the Replica. Thread: the node's event loop.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "node/envelope.h"
#include "node/replica.h"
#include "wire/membership.h"
#include "wire/message.h"

namespace cairn::node {

class Members {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hooks {
    std::function<void(const Envelope&, wire::Reply&, const std::string& tag)> send;
    // A node's client endpoint ("" when unknown), for NOT_LEADER.
    std::function<std::string(std::uint32_t)> clientOf;
    std::function<void(const std::string&)> log;
    // Fills in what the configuration does not say of a member (the endpoints /ctl holds).
    std::function<void(wire::MemberInfo&)> complete;
  };
  struct Options {
    std::chrono::milliseconds timeout{10000};  // a change not chosen by then: TIMEOUT
    // The cluster's first configuration (id -> peer endpoint): a joining node starts from it.
    std::map<std::uint32_t, std::string> bootstrap;
  };
  Members(std::uint32_t self, Options opts, Replica& replica, Hooks hooks);

  void handle(Envelope env, const wire::Request& req, Clock::time_point now);
  // Once per turn: answers the changes whose slot is chosen, expires late ones, and promotes a
  // learner that caught up.
  void maintain(Clock::time_point now);
  std::size_t waiting() const { return pending_.size(); }

  // The configuration as MEMBERS and JOIN report it.
  static std::vector<wire::MemberInfo> describe(const wire::Membership& m,
                                                const paxos::Core* leader);

 private:
  // A learner this close to the leader's chosen prefix, and holding its target, is promoted.
  static constexpr std::uint64_t kPromoteLag = 256;
  // OK when learner `id` may be promoted; else why not (UNAVAILABLE: try again later).
  wire::Status caughtUp(const paxos::Core& core, std::uint32_t id) const;
  // While leading: each learner it hears from gets a target, the chosen prefix then; a learner
  // it stops hearing from (or that became a voter) loses it.
  void watchLearners(const paxos::Core& core);
  struct Pending {
    Envelope env;
    std::string tag;
    wire::Verb verb = wire::Verb::kNop;
    std::uint32_t member = 0;
    wire::Member joining;  // JOIN: the member it asked to be (another node may get its id)
    std::uint64_t slot = 0;
    std::uint64_t version = 0;  // of the configuration proposed
    Clock::time_point deadline;
  };
  void reply(const Envelope& env, wire::Reply r, const std::string& tag);
  // The next configuration a JOIN, PROMOTE or REMOVE asks for, or why there is none.
  wire::Result<wire::Membership> next(const wire::Request& req, std::uint32_t* member) const;
  // Whether the change a pending request asked for holds in `m`.
  static bool holds(const Pending& p, const wire::Membership& m);
  void answer(const Pending& p);

  std::uint32_t self_;
  Options opts_;
  Replica& replica_;
  Hooks hooks_;
  std::vector<Pending> pending_;
  std::map<std::uint32_t, std::uint64_t> targets_;  // learner -> slot it must have learned
  std::uint64_t promoting_ = 0;  // the slot of an automatic promotion under way, 0 when none
};

}  // namespace cairn::node
