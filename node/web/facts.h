#pragma once
// Facts: what the node hands the web room twice a second (web.h), and what the room derives from
// them: the Prometheus text of /metrics, the answer of /healthz, the viewer's activity samples.
// Pure functions of their inputs (the process's own numbers are read from /proc by readProcess()),
// so that the tests pin them without a node.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "node/stats.h"
#include "wire/message.h"
#include "wire/status.h"

namespace cairn::node::web {

// The node sends its facts every 500 ms: with none for this long, its event loop is stuck.
inline constexpr auto kFactsStale = std::chrono::seconds(3);
// A node this many slots behind what it knows is chosen is catching up, not applying (/healthz).
inline constexpr std::int64_t kMaxHealthyLag = 10000;

struct Facts {
  Stats stats;
  wire::Reply self;  // the node's SELF reply (its `stats` list left out: `stats` above has it all)
  std::int64_t historyRevs = 0;
  std::chrono::steady_clock::time_point at;  // when the node's loop sent it
};

// The bytes of one facts message (one frame), and back. decodeFacts fails on a frame of the
// wrong size or a SELF reply that does not decode (the two ends are one build, so only a bug
// makes either happen). `at`: the node's steady clock when it sends (one clock per process).
std::string encodeFacts(const Stats& stats, const wire::Reply& self, std::int64_t historyRevs,
                        std::chrono::steady_clock::time_point at);
wire::Status decodeFacts(std::string_view bytes, Facts* out);

// The process's own numbers, from /proc/self (zeros where a file cannot be read).
struct ProcessFacts {
  double cpuSeconds = 0;  // user + system
  std::uint64_t residentBytes = 0;
  std::uint64_t virtualBytes = 0;
  std::uint64_t openFds = 0;
  std::uint64_t maxFds = 0;
  double startTimeSeconds = 0;  // since the Unix epoch
};
ProcessFacts readProcess();

// The web room's own counters.
struct WebCounters {
  std::uint64_t clients = 0;         // websockets open
  std::uint64_t clientsDropped = 0;  // closed because they did not read (VIEWER.md)
  std::uint64_t httpRequests = 0;    // HTTP requests answered, websocket upgrades included
  std::uint64_t queuedBytes = 0;     // messages waiting to be written to viewers, in bytes
};

// /metrics: the Prometheus text format 0.0.4. `facts` is null before the node's first message
// (only the process's and the web's own metrics are written then).
std::string renderMetrics(const Facts* facts, const ProcessFacts& proc, const WebCounters& web);

// /healthz: nullopt when healthy (the node knows a leader and applies: its loop reported within
// kFactsStale, it is not halted or removed, and it is fewer than kMaxHealthyLag slots behind
// what it knows is chosen), else the reason.
std::optional<std::string> unhealthy(const Facts* facts, std::chrono::steady_clock::time_point now);

// One second of activity for the viewer's sparklines, from two facts a second or so apart.
struct Sample {
  std::int64_t atMs = 0;  // system clock, ms since the epoch
  std::int64_t rev = 0;
  double writesPerSecond = 0;     // revs applied per second: the cluster's writes
  std::uint64_t commitP50Us = 0;  // of the writes this node proposed in the interval; 0 if none
  std::uint64_t commitP99Us = 0;
  std::int64_t leader = 0;
  bool leaderChanged = false;
  std::uint64_t subscribers = 0;
};
Sample sampleBetween(const Facts& before, const Facts& now, std::int64_t atMs);

}  // namespace cairn::node::web
