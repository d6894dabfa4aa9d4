// libFuzzer target fuzz_request: a client request as a node receives it (wire::decodeRequest), and
// a reply as a client receives it (wire::decodeReply). Any bytes become a value or a Status, never
// a crash, a hang or a huge allocation; whatever decodes survives a re-encode unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wire/codec.h"

using namespace cairn::wire;

namespace {

void request(std::string_view bytes) {
  DecodeLimits limits;
  limits.maxValue = 4096;
  Request r;
  Status s = decodeRequest(bytes, limits, &r);
  if (!s.isOk()) return;
  const std::string once = encodeRequest(r);
  Request again;
  if (!decodeRequest(once, limits, &again).isOk()) std::abort();
  if (again.verb != r.verb || again.path != r.path || again.rev != r.rev ||
      again.value != r.value || again.tag != r.tag || again.after != r.after ||
      again.limit != r.limit || again.timeoutMs != r.timeoutMs || !(again.txn == r.txn) ||
      again.session != r.session || again.seq != r.seq || again.lease != r.lease ||
      again.ttl != r.ttl || again.peer != r.peer || again.observer != r.observer) {
    std::abort();
  }
  // The encoder writes every field: equal encodings mean equal requests.
  if (encodeRequest(again) != once) std::abort();
}

void reply(std::string_view bytes) {
  auto r = decodeReply(bytes);
  if (!r) return;
  // An unknown error name is folded into the detail once: compare from the first re-encode on.
  const std::string once = encodeReply(*r);
  auto again = decodeReply(once);
  if (!again) std::abort();
  const std::string twice = encodeReply(*again);
  auto third = decodeReply(twice);
  if (!third || encodeReply(*third) != twice) std::abort();
  if (again->err != r->err || again->rev != r->rev || again->value != r->value ||
      again->tag != r->tag || again->head != r->head) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  request(bytes);
  reply(bytes);
  return 0;
}
