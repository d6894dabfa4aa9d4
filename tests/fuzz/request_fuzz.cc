// libFuzzer target: the request decoder must turn any bytes into a Request or a Status, never a
// crash, a hang or a huge allocation; whatever it accepts must survive a re-encode unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wire/codec.h"
#include "wire/command.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cairn::wire;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  DecodeLimits limits;
  limits.maxValue = 4096;
  Request r;
  Status s = decodeRequest(bytes, limits, &r);
  if (s.isOk()) {
    Request again;
    if (!decodeRequest(encodeRequest(r), limits, &again).isOk()) std::abort();
    if (again.verb != r.verb || again.path != r.path || again.rev != r.rev ||
        again.value != r.value || again.tag != r.tag || again.after != r.after ||
        again.limit != r.limit || again.timeoutMs != r.timeoutMs) {
      std::abort();
    }
  }
  (void)decodeReply(bytes);
  (void)decodeCommand(bytes);
  (void)decodeEvent(bytes);
  return 0;
}
