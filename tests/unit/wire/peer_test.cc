// The peer codec: consensus messages and the nodes' own messages share one frame.

#include <catch2/catch.hpp>

#include "wire/peer.h"

using namespace cairn::wire;

TEST_CASE("peer codec: node messages round-trip and never decode as consensus messages",
          "[unit][wire]") {
  for (auto type :
       {NodeMessage::Type::kForward, NodeMessage::Type::kReadIndex, NodeMessage::Type::kReadIndexOk,
        NodeMessage::Type::kSnapshotChunk, NodeMessage::Type::kSnapshotAck}) {
    NodeMessage m;
    m.type = type;
    m.cluster = 9;
    m.from = 3;
    m.to = 1;
    m.ballot = Ballot{4, 3};
    m.slot = 11;
    m.commit = 12;
    const bool chunk =
        type == NodeMessage::Type::kSnapshotChunk || type == NodeMessage::Type::kSnapshotAck;
    if (type == NodeMessage::Type::kForward || type == NodeMessage::Type::kSnapshotChunk) {
      m.value = std::string("batch\0bytes", 11);
    }
    if (chunk) {
      m.size = 1ull << 33;  // past 32 bits: snapshots may be larger than 4 GiB
      m.fileCrc = 0xfedcba98;
      m.crc = 0x01234567;
    }
    auto f = decodePeer(encodePeer(m));
    REQUIRE(f.isOk());
    INFO(peerTypeName(type));
    const NodeMessage* d = std::get_if<NodeMessage>(&*f);
    REQUIRE(d);
    CHECK(d->type == type);
    CHECK(headerOf(*f).cluster == 9);
    CHECK(headerOf(*f).from == 3);
    CHECK(headerOf(*f).to == 1);
    CHECK(d->ballot == m.ballot);
    CHECK(d->slot == 11);
    CHECK(d->commit == 12);
    CHECK(d->value == m.value);
    CHECK(d->size == m.size);
    CHECK(d->fileCrc == m.fileCrc);
    CHECK(d->crc == m.crc);
  }
}

TEST_CASE("peer codec: the frame is the one PROTOCOL.md §15 describes", "[unit][wire]") {
  NodeMessage m;
  m.type = NodeMessage::Type::kForward;
  m.cluster = 1;
  m.from = 2;
  m.to = 3;
  m.value = "b";
  // [1, 9, 1, 2, 3, [0, 0], 0, 0, 0, [[0, 0, 0, bin "b"]]]
  CHECK(encodePeer(m) == std::string("\x9a\x01\x09\x01\x02\x03\x92\x00\x00\x00\x00\x00"
                                     "\x91\x94\x00\x00\x00\xc4\x01"
                                     "b",
                                     20));
  PeerMessage p;
  p.type = PeerMessage::Type::kNack;
  auto f = decodePeer(encodePeer(p));
  REQUIRE(f.isOk());
  CHECK(std::holds_alternative<PeerMessage>(*f));
  std::string bad = encodePeer(m);
  bad[2] = 16;  // no type 16
  CHECK(decodePeer(bad).status().code() == Err::kBadRequest);
  bad[2] = 12;  // the whole snapshot in one message: retired
  CHECK(decodePeer(bad).status().code() == Err::kBadRequest);
  bad[2] = 13;  // a snapshot chunk must carry its [slot, fileCrc, crc, bytes]: this one's slot is
                // 0 like the frame's, but the entry's round (the file checksum) is fine too, so
                // it decodes
  CHECK(decodePeer(bad).isOk());
  m.type = NodeMessage::Type::kSnapshotChunk;
  m.slot = 5;
  std::string noEntry = encodePeer(m);
  noEntry[9] = 6;  // the frame's slot no longer matches its entry's
  CHECK(decodePeer(noEntry).status().code() == Err::kBadRequest);
}
