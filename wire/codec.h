#pragma once
// The one codec of the client protocol: msgpack bytes <-> the values of message.h. Every decode
// passes an explicit msgpack::unpack_limit and turns bad bytes into a Status; nothing here throws.

#include <cstddef>
#include <string>
#include <string_view>

#include "wire/message.h"
#include "wire/status.h"

namespace cairn::wire {

struct DecodeLimits {
  // Strings up to this length, or the message's, decode; what a value may hold is the node's
  // rule (TOO_LARGE from ClientService, which can then echo the tag).
  std::size_t maxValue = 1 << 20;
};

// TOO_LARGE for a value of `size` bytes over `limit`, naming both and the flag that sets it.
Status tooLarge(std::size_t size, std::size_t limit);

// Decodes a request. On failure returns the error to send back; out->tag is filled as soon as the
// tag is known, so even an error reply can echo it.
Status decodeRequest(std::string_view bytes, const DecodeLimits& limits, Request* out);
std::string encodeRequest(const Request& r);

std::string encodeReply(const Reply& r);
Result<Reply> decodeReply(std::string_view bytes);

std::string encodeEvent(const Event& e);
Result<Event> decodeEvent(std::string_view bytes);

std::string encodeHeartbeat(const Heartbeat& h);
Result<Heartbeat> decodeHeartbeat(std::string_view bytes);

}  // namespace cairn::wire
