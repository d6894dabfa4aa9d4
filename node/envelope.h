#pragma once
// Envelope: who sent a client request, and where its reply goes. Made by the ClientSocket, kept
// by whoever holds the request until it is answered.

#include <chrono>
#include <string>
#include <vector>

namespace cairn::node {

struct Envelope {
  std::vector<std::string> frames;  // routing id, then the empty delimiter if the client sent one
  std::string identity;             // the caller's user name: empty (anonymous) until ZAP exists
  // When the request was taken from the socket, and its verb's number once it decoded (-1 before,
  // or if it did not): the reply counts against that verb, with its latency (Stats).
  std::chrono::steady_clock::time_point arrived{};
  int verb = -1;
};

}  // namespace cairn::node
