// libFuzzer target fuzz_feed: one message of a node's change feed as a client's Watcher reads it
// from its SUB socket (bindings/cpp/watcher.cc): a topic frame, then a body that is a heartbeat
// (wire::decodeHeartbeat) when the topic is the control topic, else an event (decodeEvent), whose
// path and per-prefix claims the Watcher then checks against its glob and prefix. Any bytes become
// a value or a Status; what decodes survives a re-encode unchanged.
//
// Input: [topic length u8][topic][body]; a length past the end takes the whole rest as the topic.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wire/codec.h"
#include "wire/path.h"

using namespace cairn::wire;

namespace {

bool sameEvent(const Event& a, const Event& b) {
  // "i" and "n" travel only for a rev of several changes.
  return a.rev == b.rev && a.path == b.path && a.op == b.op && a.value == b.value &&
         a.prev == b.prev && (a.n <= 1 || (a.i == b.i && a.n == b.n));
}

// What the Watcher does with an event once it decoded (claimFor, then the glob).
void watch(const Event& e, std::string_view topic) {
  static const char* kGlobs[] = {"/**", "/config/**", "/a/*/b?", "/x/**/y", "/"};
  for (const char* g : kGlobs) {
    auto glob = Glob::compile(g);
    if (!glob) std::abort();
    (void)glob->matches(e.path);
    (void)glob->matches(topic);
  }
  std::int64_t claim = -1;
  for (const PrefixRev& p : e.prev) {
    if (p.prefix == "/") claim = p.rev;
  }
  (void)claim;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t n = std::min<std::size_t>(data[0], rest.size());
  const std::string_view topic = rest.substr(0, n);
  const std::string_view body = rest.substr(n);
  if (isHeartbeatTopic(topic)) {
    auto h = decodeHeartbeat(body);
    if (!h) return 0;
    auto again = decodeHeartbeat(encodeHeartbeat(*h));
    if (!again || again->rev != h->rev || again->id != h->id || again->boot != h->boot ||
        again->seq != h->seq || again->leader != h->leader || again->last != h->last ||
        again->partial != h->partial) {
      std::abort();
    }
    return 0;
  }
  auto e = decodeEvent(body);
  if (!e) return 0;
  const std::string once = encodeEvent(*e);
  auto again = decodeEvent(once);
  if (!again || !sameEvent(*e, *again) || encodeEvent(*again) != once) std::abort();
  watch(*e, topic);
  return 0;
}
