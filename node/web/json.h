#pragma once
// The web room's JSON (nlohmann): how VIEWER.md writes a file's value, a node's SELF, and a
// message. Thread: any (pure functions).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "wire/message.h"

namespace cairn::node::web {

using json = nlohmann::json;

// Milliseconds since the Unix epoch, now.
std::int64_t epochMs();
// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool isUtf8(std::string_view s);
// A file's value as VIEWER.md sends it: "value" and "enc" (text if UTF-8, else hex), cut at `max`
// bytes ("size" and "truncated" then say so).
void putValue(json& j, const std::string& v, std::size_t max);
// A node's SELF reply as the viewer shows it (id, role, leader, rev, slot, lag, ...).
json selfJson(const wire::Reply& r);
// One message's text. Never throws: bytes that are not UTF-8 (a path a viewer sent) are replaced.
std::string dump(const json& j);

}  // namespace cairn::node::web
