#include "node/web/json.h"

#include <chrono>

namespace cairn::node::web {

std::int64_t epochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool isUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    static const std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

void putValue(json& j, const std::string& v, std::size_t max) {
  std::string_view shown(v.data(), std::min(v.size(), max));
  if (v.size() > max) {
    j["size"] = v.size();
    j["truncated"] = true;
  }
  // A cut may split the last character: up to 3 more bytes go before it is judged binary.
  const std::size_t tries = v.size() > max ? 4 : 1;
  for (std::size_t cut = 0; cut < tries && cut <= shown.size(); ++cut) {
    const std::string_view t = shown.substr(0, shown.size() - cut);
    if (isUtf8(t)) {
      j["value"] = std::string(t);
      j["enc"] = "text";
      return;
    }
  }
  static const char* digits = "0123456789abcdef";
  std::string hex;
  hex.reserve(shown.size() * 2);
  for (unsigned char c : shown) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  j["value"] = std::move(hex);
  j["enc"] = "hex";
}

json selfJson(const wire::Reply& r) {
  json j = json::object();
  if (r.id) j["id"] = *r.id;
  if (r.role) j["role"] = *r.role;
  j["leader"] = r.leader.value_or(0);
  if (r.rev) j["rev"] = *r.rev;
  if (r.slot) j["slot"] = *r.slot;
  if (r.lag) j["lag"] = *r.lag;
  if (r.fsyncUs) j["fsync_us"] = *r.fsyncUs;
  if (r.uptimeMs) j["uptime_ms"] = *r.uptimeMs;
  if (r.client) j["client"] = *r.client;
  if (r.events) j["events"] = *r.events;
  if (r.version) j["version"] = *r.version;
  if (r.halted) j["halted"] = *r.halted;
  return j;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace cairn::node::web
