#pragma once
// The lease workloads of cairn-bench (issue 14's benchmark): lock cycles through the C++ Mutex,
// and keep-alives of many live leases.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "wire/keys.h"

namespace cairn::bench {

struct LeaseLoad {
  std::vector<std::string> addrs;
  int clients = 1;       // lock: contenders, each with its own lease and connection
  double duration = 10;  // seconds of measured load
  long leases = 10000;   // keepalive: leases kept alive
  int threads = 4;       // keepalive: threads sending the keep-alives
  std::chrono::milliseconds ttl{10000};
  std::string label;
  std::optional<wire::KeyPair> key;  // CURVE: the clients' key pair, and the nodes' default key
  std::string serverKey;
};

// `clients` contenders take and release one lock in turn, doing nothing while holding it. Prints
// <label>-cycle (a contender's lock() called -> unlock() returned; ops/s = acquisitions per
// second) and <label>-handoff (a holder begins to release -> the next holder's lock() returns).
// 0, or 2 if anything failed.
int runLock(const LeaseLoad& o);

// Grants `leases` leases of `ttl`, then keeps each alive every third of the ttl, evenly spread,
// for `duration` seconds, and revokes them. Prints <label>: keep-alive latency; a keep-alive that
// fails counts as an error. 0, or 2 if anything failed.
int runKeepalive(const LeaseLoad& o);

}  // namespace cairn::bench
