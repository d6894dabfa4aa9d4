#pragma once
// Envelope: who sent a client request, and where its reply goes. Made by the ClientSocket, kept
// by whoever holds the request until it is answered.

#include <string>
#include <vector>

namespace cairn::node {

struct Envelope {
  std::vector<std::string> frames;  // routing id, then the empty delimiter if the client sent one
  std::string identity;             // the caller's user name: empty (anonymous) until ZAP exists
};

}  // namespace cairn::node
