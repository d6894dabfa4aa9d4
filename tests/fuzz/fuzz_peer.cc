// libFuzzer target fuzz_peer: one frame from a peer socket, as the node's Transport decodes it
// (wire::decodePeer), then the slot values it carries as the node reads them once chosen (a
// configuration or a batch of commands). Any bytes become a frame or a Status; a frame that
// decodes survives a re-encode unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <type_traits>
#include <variant>

#include "wire/command.h"
#include "wire/membership.h"
#include "wire/peer.h"

using namespace cairn::wire;

namespace {

bool sameHeader(const PeerHeader& a, const PeerHeader& b) {
  return a.cluster == b.cluster && a.from == b.from && a.to == b.to;
}

bool same(const PeerMessage& a, const PeerMessage& b) {
  return sameHeader(a, b) && a.type == b.type && a.ballot == b.ballot && a.slot == b.slot &&
         a.commit == b.commit && a.learned == b.learned && a.entries == b.entries;
}

// A node message's value travels only in a forward and a chunk (the decoder ignores it elsewhere).
bool same(const NodeMessage& a, const NodeMessage& b) {
  const bool carries =
      a.type == NodeMessage::Type::kForward || a.type == NodeMessage::Type::kSnapshotChunk;
  return sameHeader(a, b) && a.type == b.type && a.ballot == b.ballot && a.slot == b.slot &&
         a.commit == b.commit && (!carries || a.value == b.value) && a.size == b.size &&
         a.fileCrc == b.fileCrc && a.crc == b.crc;
}

// What the node does with a chosen value (node/replica.cc): a configuration or a batch.
void slotValue(std::string_view v) {
  if (isMembershipValue(v)) {
    (void)decodeMembership(v);
  } else if (!v.empty()) {
    (void)decodeBatch(v);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto f = decodePeer(bytes);
  if (!f) return 0;
  (void)headerOf(*f);
  std::visit(
      [](const auto& m) {
        (void)peerTypeName(m.type);
        const std::string once = encodePeer(m);
        auto again = decodePeer(once);
        if (!again) std::abort();
        using M = std::decay_t<decltype(m)>;
        const M* m2 = std::get_if<M>(&*again);
        if (m2 == nullptr || encodePeer(*m2) != once) std::abort();
        if (!same(m, *m2)) std::abort();
        if constexpr (std::is_same_v<M, PeerMessage>) {
          for (const Slot& s : m.entries) {
            auto d = decodeSlot(encodeSlot(s));
            if (!d || !(*d == s)) std::abort();
            slotValue(s.value);
          }
        } else {
          if (m.type == NodeMessage::Type::kForward) slotValue(m.value);
        }
      },
      *f);
  return 0;
}
