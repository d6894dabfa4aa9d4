// libFuzzer target fuzz_viewer: one websocket message from a browser, as the web room's bridge
// reads it (node::web::parseViewerRequest), and the UTF-8 check the room runs on every value it
// shows (node::web::isUtf8, putValue). Any text becomes a request or a refusal, never a crash or an
// exception; a request it accepts is one the node's own decoder takes; isUtf8 agrees with an
// independent reading of the Unicode standard's table of well-formed byte sequences.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "node/web/json.h"
#include "node/web/viewer_request.h"
#include "wire/codec.h"

using namespace cairn;
using namespace cairn::node::web;

namespace {

// The Unicode Standard, Table 3-7 ("Well-Formed UTF-8 Byte Sequences").
bool wellFormed(std::string_view s) {
  auto in = [](unsigned char c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = [&](std::size_t k) {
      return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
    };
    const unsigned char c = b(0);
    std::size_t n = 0;
    if (c <= 0x7f) {
      n = 1;
    } else if (in(c, 0xc2, 0xdf)) {
      n = in(b(1), 0x80, 0xbf) ? 2 : 0;
    } else if (c == 0xe0) {
      n = in(b(1), 0xa0, 0xbf) && in(b(2), 0x80, 0xbf) ? 3 : 0;
    } else if (in(c, 0xe1, 0xec) || in(c, 0xee, 0xef)) {
      n = in(b(1), 0x80, 0xbf) && in(b(2), 0x80, 0xbf) ? 3 : 0;
    } else if (c == 0xed) {
      n = in(b(1), 0x80, 0x9f) && in(b(2), 0x80, 0xbf) ? 3 : 0;
    } else if (c == 0xf0) {
      n = in(b(1), 0x90, 0xbf) && in(b(2), 0x80, 0xbf) && in(b(3), 0x80, 0xbf) ? 4 : 0;
    } else if (in(c, 0xf1, 0xf3)) {
      n = in(b(1), 0x80, 0xbf) && in(b(2), 0x80, 0xbf) && in(b(3), 0x80, 0xbf) ? 4 : 0;
    } else if (c == 0xf4) {
      n = in(b(1), 0x80, 0x8f) && in(b(2), 0x80, 0xbf) && in(b(3), 0x80, 0xbf) ? 4 : 0;
    }
    if (n == 0 || i + n > s.size()) return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    ViewerRequest v;
    ViewerError why;
    if (parseViewerRequest(text, &v, &why)) {
      // The bridge tags it and sends it to its node: the node must be able to read it.
      v.req.tag = "\x01";
      if (v.op == "history") v.req.rev = 1;
      wire::Request back;
      wire::DecodeLimits limits;
      if (!wire::decodeRequest(wire::encodeRequest(v.req), limits, &back).isOk()) std::abort();
      if (back.path != v.req.path || back.verb != v.req.verb) std::abort();
      (void)dump(json{{"type", "reply"}, {"id", v.id}, {"path", *v.req.path}});
    } else {
      if (why.err.empty() || why.detail.empty()) std::abort();
      (void)dump(json{{"type", "reply"}, {"id", v.id}, {"error", why.err}, {"detail", why.detail}});
    }
    // A value shown to a viewer: text when it is UTF-8 (cut at a character's end), hex otherwise.
    if (isUtf8(text) != wellFormed(text)) std::abort();
    for (std::size_t max : {std::size_t{7}, std::size_t{64} << 10}) {
      json j;
      putValue(j, text, max);
      const std::string& shown = j["value"].get_ref<const std::string&>();
      if (j["enc"] == "text") {
        if (text.compare(0, shown.size(), shown) != 0 || !wellFormed(shown)) std::abort();
        if (shown.size() + 3 < std::min(max, text.size())) std::abort();
      } else if (shown.size() != 2 * std::min(max, text.size())) {
        std::abort();
      }
      (void)dump(j);
    }
  } catch (...) {
    std::abort();  // nothing here may throw: the bridge would lose the message's reply
  }
  return 0;
}
