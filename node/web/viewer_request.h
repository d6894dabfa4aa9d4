#pragma once
// A viewer's message (VIEWER.md, "Requests"): one JSON object from a browser, checked and turned
// into the request the bridge sends to its node. Pure (no sockets, no clock, no bridge state), so
// that a fuzz target can feed it any bytes. Thread: any.
#include <cstdint>
#include <string>
#include <string_view>

#include "node/web/json.h"
#include "wire/message.h"

namespace cairn::node::web {

struct ViewerRequest {
  json id;            // the viewer's id for the request (null until known), echoed in the reply
  std::string op;     // "getdir", "get", "history", "walk"
  wire::Request req;  // what goes to the node (consistency "local"; no tag yet)
  std::int64_t limit = 0;  // history: how many changes the viewer wants
};

// Why a message was refused: the reply's "error" and "detail". `early` when the message has no
// usable id and op yet (the bridge refuses those before it counts the viewer's requests in flight).
struct ViewerError {
  std::string err;
  std::string detail;
  bool early = false;
};

// Reads one viewer message into *out; false with *why otherwise (out->id is set as soon as it is
// known, so the refusal can echo it). A history request's start rev (req.rev) is the bridge's to
// set. Never throws.
bool parseViewerRequest(std::string_view text, ViewerRequest* out, ViewerError* why);

// The most entries a getdir or walk page may ask for, and the default; the same for history.
inline constexpr std::int64_t kDefaultPage = 200;
inline constexpr std::int64_t kMaxPage = 1000;
inline constexpr std::int64_t kDefaultHistory = 50;
inline constexpr std::int64_t kMaxHistory = 200;
// The changes one history request asks the node for at a time.
inline constexpr std::int64_t kChangesPage = 1000;

}  // namespace cairn::node::web
