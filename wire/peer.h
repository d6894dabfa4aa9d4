#pragma once
// The peer protocol's messages (node to node), as C++ values, and their codec. PROTOCOL.md,
// "Peer protocol", is the normative description; the names are Lamport's: ballot, slot, prepare,
// promise, accept, accepted, chosen.

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "wire/status.h"

namespace cairn::wire {

// A ballot: (round, node id), ordered by round, then node. Unique per node; {0, 0} is "none".
struct Ballot {
  std::uint64_t round = 0;
  std::uint32_t node = 0;

  bool isZero() const { return round == 0 && node == 0; }
  bool operator<(const Ballot& o) const {
    return std::tie(round, node) < std::tie(o.round, o.node);
  }
  bool operator==(const Ballot& o) const { return round == o.round && node == o.node; }
  bool operator!=(const Ballot& o) const { return !(*this == o); }
  bool operator>(const Ballot& o) const { return o < *this; }
  bool operator<=(const Ballot& o) const { return !(o < *this); }
  bool operator>=(const Ballot& o) const { return !(*this < o); }
};

// A value at a slot, with the ballot it was accepted (or chosen) in. An empty value is a no-op.
struct Slot {
  std::uint64_t slot = 0;
  Ballot ballot;
  std::string value;
  bool operator==(const Slot& o) const {
    return slot == o.slot && ballot == o.ballot && value == o.value;
  }
};

struct PeerMessage {
  enum class Type : std::uint8_t {
    kPrepare = 1,       // phase 1a: ballot, slot = first slot asked about
    kPromise = 2,       // phase 1b: ballot, slot, entries = accepted values at slots >= slot
    kNack = 3,          // refusal: ballot = the higher ballot the sender has promised
    kAccept = 4,        // phase 2a: ballot, entries to accept, commit; no entries = heartbeat
    kAccepted = 5,      // phase 2b: ballot, entries (slots only, no values) accepted
    kLearn = 6,         // catch-up: entries = chosen values, commit
    kProbe = 7,         // pre-vote: would you promise `ballot`? Nothing is persisted
    kProbeOk = 8,       // yes to a probe (a no is a Nack)
    kForward = 9,       // a follower's batch for the leader to propose: entries[0].value
    kReadIndex = 10,    // a follower asks the leader for a linearizable read point: slot = ctx
    kReadIndexOk = 11,  // the leader's answer: slot = ctx, commit = the read index
    kSnapshot = 12,     // catch-up past a compacted log: slot, entries[0].value = a snapshot
  };
  Type type = Type::kAccept;
  std::uint64_t cluster = 0;  // messages for another cluster are dropped
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  Ballot ballot;
  std::uint64_t slot = 0;
  std::uint64_t commit = 0;   // the sender's chosen prefix, as leader (Accept, Learn)
  std::uint64_t learned = 0;  // the sender's chosen prefix (Promise, Accepted)
  std::vector<Slot> entries;
};

const char* peerTypeName(PeerMessage::Type t);

// A slot alone, as msgpack [slot, round, node, value]: the element of `entries` below, and what
// a node keeps in its WAL for each value it accepted.
std::string encodeSlot(const Slot& s);
Result<Slot> decodeSlot(std::string_view bytes);

// msgpack array [version, type, cluster, from, to, [round, node], slot, commit, learned,
//                [[slot, round, node, value], ...]]
std::string encodePeer(const PeerMessage& m);
Result<PeerMessage> decodePeer(std::string_view bytes);

inline constexpr int kPeerVersion = 1;

}  // namespace cairn::wire
