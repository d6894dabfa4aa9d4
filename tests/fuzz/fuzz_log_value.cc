// libFuzzer target fuzz_log_value: what a consensus slot carries, as every node decodes it when
// the slot is chosen or read back from its WAL: a batch of commands (wire::decodeBatch), a command
// (decodeCommand) and the transaction inside one (decodeTxn), a configuration
// (decodeMembership), and a WAL's accepted slot (decodeSlot). These bytes come from peers (a
// forwarded batch, a leader's accept) and from disk. Any bytes become a value or a Status; a value
// that decodes survives a re-encode unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wire/command.h"
#include "wire/membership.h"
#include "wire/peer.h"
#include "wire/txn.h"

using namespace cairn::wire;

namespace {

bool sameBatch(const Batch& a, const Batch& b) {
  if (a.origin != b.origin || a.incarnation != b.incarnation || a.items.size() != b.items.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.items.size(); ++i) {
    if (a.items[i].id != b.items[i].id || !(a.items[i].cmd == b.items[i].cmd)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto b = decodeBatch(bytes)) {
    auto again = decodeBatch(encodeBatch(*b));
    if (!again || !sameBatch(*b, *again)) std::abort();
  }
  if (auto c = decodeCommand(bytes)) {
    auto again = decodeCommand(encodeCommand(*c));
    if (!again || !(*again == *c)) std::abort();
  }
  if (auto t = decodeTxn(bytes)) {
    auto again = decodeTxn(encodeTxn(*t));
    if (!again || !(*again == *t)) std::abort();
  }
  if (isMembershipValue(bytes)) {
    if (auto m = decodeMembership(bytes)) {
      auto again = decodeMembership(encodeMembership(*m));
      if (!again || *again != *m) std::abort();
      (void)m->quorum();
      (void)takesEffect(*m, encodeMembership(*m));
      (void)checkChange(*m, *again);
    }
  }
  if (auto s = decodeSlot(bytes)) {
    auto again = decodeSlot(encodeSlot(*s));
    if (!again || !(*again == *s)) std::abort();
  }
  return 0;
}
