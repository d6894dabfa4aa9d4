// The peer codec: consensus messages and the nodes' own messages share one frame.

#include <catch2/catch.hpp>

#include "wire/peer.h"

using namespace cairn::wire;

TEST_CASE("peer codec: node messages round-trip and never decode as consensus messages",
          "[unit][wire]") {
  for (auto type : {NodeMessage::Type::kForward, NodeMessage::Type::kReadIndex,
                    NodeMessage::Type::kReadIndexOk, NodeMessage::Type::kSnapshot}) {
    NodeMessage m;
    m.type = type;
    m.cluster = 9;
    m.from = 3;
    m.to = 1;
    m.ballot = Ballot{4, 3};
    m.slot = 11;
    m.commit = 12;
    const bool carries =
        type == NodeMessage::Type::kForward || type == NodeMessage::Type::kSnapshot;
    if (carries) m.value = std::string("batch\0bytes", 11);
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
  bad[2] = 13;  // no type 13
  CHECK(decodePeer(bad).status().code() == Err::kBadRequest);
}
