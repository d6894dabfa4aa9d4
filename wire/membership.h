#pragma once
// A cluster's configuration: who votes, who only learns, and where each member listens. It is a
// value in the log like a batch of commands, so a change to it is ordered with every write and
// takes effect at the slot after the one that holds it (PROTOCOL.md, "Membership").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace cairn::wire {

struct Member {
  std::uint32_t id = 0;
  bool voter = true;   // false: a learner, which follows the log and never counts in a quorum
  std::string peer;    // its peer endpoint (what the others connect to)
  std::string client;  // its client endpoint, for `cairn members` and clients that join
  std::string events;  // its feed endpoint
  // A learner for good (cairnd --learner: read scaling, feed fan-out), which the leader does not
  // promote once it has caught up; `cairn members promote` still can.
  bool observer = false;
  bool operator==(const Member& o) const {
    return id == o.id && voter == o.voter && peer == o.peer && client == o.client &&
           events == o.events && observer == o.observer;
  }
};

struct Membership {
  // The cluster it belongs to: a data directory forced into a cluster of its own, or restored
  // into a new one, gets a new cluster id, and the configurations its log and snapshot hold from
  // before then govern nothing.
  std::uint64_t cluster = 0;
  // 0 for the bootstrap configuration, one more with each change. A change takes effect only if
  // it follows the configuration in effect where it is chosen (see follows()): a leader's
  // proposal that a later leader re-proposes after other changes were chosen changes nothing.
  std::uint64_t version = 0;
  std::vector<Member> members;  // in id order, ids unique and non-zero
  // The lowest id never handed out: ids are not reused, so a retired member's messages can never
  // be taken for a newcomer's.
  std::uint32_t nextId = 1;

  const Member* find(std::uint32_t id) const;
  bool has(std::uint32_t id) const { return find(id) != nullptr; }
  bool isVoter(std::uint32_t id) const;
  std::vector<std::uint32_t> voters() const;
  std::size_t quorum() const { return voters().size() / 2 + 1; }
  bool operator==(const Membership& o) const {
    return cluster == o.cluster && version == o.version && members == o.members &&
           nextId == o.nextId;
  }
  bool operator!=(const Membership& o) const { return !(*this == o); }
};

// A configuration of voters only, with no endpoints (bootstrap in tests and the simulation).
Membership votersOnly(std::uint64_t cluster, const std::vector<std::uint32_t>& ids);

// A slot value: msgpack
//   [ "cairn-members", cluster, version, nextId,
//     [[id, voter, peer, client, events, observer], ...] ].
// Batches of commands are 3-element arrays, so the two never look alike.
std::string encodeMembership(const Membership& m);
// Whether a slot value is a configuration (cheap: the first bytes only).
bool isMembershipValue(std::string_view value);
// CORRUPT when the shape is wrong, the ids are not unique and ascending, no member votes, or
// nextId does not exceed every id.
Result<Membership> decodeMembership(std::string_view value);

// The one change the cluster makes at a time: `next` differs from `cur` in exactly one member —
// added as a learner, promoted to voter, or removed — and keeps at least one voter. Endpoints of
// the others stay as they are. BAD_REQUEST says what is wrong.
// It also takes the next version.
Status checkChange(const Membership& cur, const Membership& next);

// Whether `next`, chosen where `cur` is in effect, takes effect: same cluster, next version.
inline bool follows(const Membership& cur, const Membership& next) {
  return next.cluster == cur.cluster && next.version == cur.version + 1;
}

// The configuration a slot value makes, chosen where `cur` is in effect: nullopt when the value is
// no configuration, does not decode, or does not follow `cur` (a stale change, another cluster's).
// The one rule the core applies wherever a configuration may take effect.
std::optional<Membership> takesEffect(const Membership& cur, std::string_view value);

}  // namespace cairn::wire
