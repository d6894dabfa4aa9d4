#pragma once
// The peer protocol's messages (node to node), as C++ values, and their codec. PROTOCOL.md,
// "Peer protocol", is the normative description; the names are Lamport's: ballot, slot, prepare,
// promise, accept, accepted, chosen.

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
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

// Who a peer message is for: every message carries it, and the transport checks it.
struct PeerHeader {
  std::uint64_t cluster = 0;  // messages for another cluster are dropped
  std::uint32_t from = 0;
  std::uint32_t to = 0;
};

// A consensus message: Lamport's phases and the pre-vote. The only messages the Paxos core sees.
struct PeerMessage : PeerHeader {
  enum class Type : std::uint8_t {
    kPrepare = 1,   // phase 1a: ballot, slot = first slot asked about
    kPromise = 2,   // phase 1b: ballot, slot, entries = accepted values at slots >= slot,
                    // commit = the sender's compaction point
    kNack = 3,      // refusal: ballot = the higher ballot the sender has promised
    kAccept = 4,    // phase 2a: ballot, entries to accept, commit; no entries = heartbeat
    kAccepted = 5,  // phase 2b: ballot, entries (slots only, no values) accepted
    kLearn = 6,     // catch-up: entries = chosen values, commit
    kProbe = 7,     // pre-vote: would you promise `ballot`? Nothing is persisted
    kProbeOk = 8,   // yes to a probe (a no is a Nack)
    // 9-14 are NodeMessages.
    kTakeOver = 15,  // a leader that leaves the voters asks a caught-up voter to prepare now:
                     // ballot = the leader's
  };
  Type type = Type::kAccept;
  Ballot ballot;
  std::uint64_t slot = 0;
  std::uint64_t commit = 0;   // the sender's chosen prefix, as leader (Accept, Learn)
  std::uint64_t learned = 0;  // the sender's chosen prefix (Promise, Accepted)
  std::vector<Slot> entries;
};

// The nodes' own traffic around consensus: it changes no acceptor state, and the node, not the
// core, acts on it. Same frame on the wire as a PeerMessage (PROTOCOL.md §15, types 9-14).
struct NodeMessage : PeerHeader {
  enum class Type : std::uint8_t {
    kForward = 9,       // a follower's batch for the leader to propose: value
    kReadIndex = 10,    // a follower asks the leader for a linearizable read point: slot = ctx
    kReadIndexOk = 11,  // the leader's answer: slot = ctx, commit = the read index
    // 12 was a whole snapshot in one message; retired (refused) since snapshots go in chunks.
    kSnapshotChunk = 13,  // bytes of a snapshot file: slot, size, fileCrc (the snapshot's
                          // identity), commit = offset, value = the bytes, crc = theirs
    kSnapshotAck = 14,    // the receiver holds [0, commit) of the snapshot slot/size/fileCrc
  };
  Type type = Type::kForward;
  Ballot ballot;
  std::uint64_t slot = 0;
  std::uint64_t commit = 0;
  std::string value;
  std::uint64_t size = 0;     // chunk, ack: the snapshot file's length
  std::uint32_t fileCrc = 0;  // chunk, ack: the snapshot file's checksum
  std::uint32_t crc = 0;      // chunk: the CRC-32C of value
};

// What arrives on a peer socket: one or the other.
using PeerFrame = std::variant<PeerMessage, NodeMessage>;
inline const PeerHeader& headerOf(const PeerFrame& f) {
  return std::visit([](const auto& m) -> const PeerHeader& { return m; }, f);
}

const char* peerTypeName(PeerMessage::Type t);
const char* peerTypeName(NodeMessage::Type t);

// A slot alone, as msgpack [slot, round, node, value]: the element of `entries` below, and what
// a node keeps in its WAL for each value it accepted.
std::string encodeSlot(const Slot& s);
Result<Slot> decodeSlot(std::string_view bytes);

// msgpack array [version, type, cluster, from, to, [round, node], slot, commit, learned,
//                [[slot, round, node, value], ...]]
std::string encodePeer(const PeerMessage& m);
// A NodeMessage: forward carries entries = [[slot, 0, 0, value]]; a snapshot chunk or ack carries
// learned = size and entries = [[slot, fileCrc, crc, value]].
std::string encodePeer(const NodeMessage& m);
Result<PeerFrame> decodePeer(std::string_view bytes);

inline constexpr int kPeerVersion = 1;

}  // namespace cairn::wire
