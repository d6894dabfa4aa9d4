#pragma once
// Stats: the node's counters. Every room bumps the ones of its subject; SELF reports them (key
// "stats", PROTOCOL.md §7), and the web room's /metrics renders a copy the node hands it twice a
// second (node/web/web.h). Plain numbers, no locks: they live on the node's event loop thread like
// everything they count, and the struct is trivially copyable so that the copy is one memcpy.

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "wire/message.h"
#include "wire/status.h"

namespace cairn::node {

// Samples in power-of-two buckets: bucket i counts values in [2^(i-1), 2^i) (bucket 0: the value
// 0). Cheap to record, enough to read percentiles to within a factor of 2. Durations are recorded
// in microseconds.
class Histogram {
 public:
  static constexpr std::size_t kBuckets = 40;
  void add(std::uint64_t value);
  void record(std::chrono::nanoseconds d);
  std::uint64_t count() const { return count_; }
  std::uint64_t sum() const { return sum_; }  // of every value added
  // The upper bound of the bucket that holds quantile q (0 < q <= 1); 0 if nothing was recorded.
  std::uint64_t quantile(double q) const;
  std::uint64_t last() const { return last_; }
  // The samples added since `earlier`, a copy of this histogram taken before (last(): this one's).
  Histogram since(const Histogram& earlier) const;
  const std::array<std::uint64_t, kBuckets>& buckets() const { return buckets_; }

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t last_ = 0;
};

// Why the peer transport refused a message.
enum class PeerRefusal : std::uint8_t {
  kFrames,     // not exactly one frame after the routing id
  kMalformed,  // does not decode (bad bytes, unknown type, a field over its limit)
  kForeign,    // another cluster's, addressed to another node, or from a non-member
  kSpoofed,    // claims a sender other than the connection it came on
};
const char* refusalName(PeerRefusal r);

struct Stats {
  static constexpr std::size_t kVerbs = static_cast<std::size_t>(wire::Verb::kLast) + 1;
  std::array<std::uint64_t, kVerbs> requests{};  // decoded requests, by verb
  std::uint64_t undecodable = 0;                 // requests refused before a verb was known
  std::uint64_t authAccepted = 0;                // connections the Gate let in (ZAP), and refused
  std::uint64_t authRefused = 0;
  // Replies sent, by error code (kOk included): an array, since every reply counts one.
  static constexpr std::size_t kErrs = static_cast<std::size_t>(wire::Err::kOther) + 1;
  std::array<std::uint64_t, kErrs> replies{};
  // Replies by the verb of their request and their error code, and each verb's latency from the
  // request's arrival to its reply, in us (requests that decoded only).
  std::array<std::array<std::uint64_t, kErrs>, kVerbs> repliesByVerb{};
  std::array<Histogram, kVerbs> requestLatency;
  std::uint64_t repliesDropped = 0;  // replies the client socket could not take
  Histogram commitLatency;  // us from a write's arrival to its reply, for writes proposed here
  Histogram syncLatency;    // us per sync of the log (write + fdatasync), group commit included
  Histogram batchSize;      // commands chosen per drain that chose any
  Histogram applyLatency;   // us to apply one drain's chosen commands to the store
  std::uint64_t slotsChosen = 0;  // commands this node learned chosen (and applied)
  std::uint64_t leaderChanges = 0;
  // Writes proposed here that the exactly-once table answered with their first reply (a client's
  // resend of a write that was already applied): applied nothing.
  std::uint64_t writesReplayed = 0;
  // Events or heartbeats the feed socket refused with an error. (A subscriber at its high-water
  // mark loses messages silently: the feed's claims let it see that, this counter cannot.)
  std::uint64_t feedDrops = 0;
  // Peer messages the transport refused, by reason (PeerRefusal), each also logged.
  std::array<std::uint64_t, 4> peerRefused{};
  // Snapshot transfers (snapshot_sender.h, snapshot_receiver.h).
  std::uint64_t snapshotsSent = 0;          // transfers to followers completed
  std::uint64_t snapshotBytesSent = 0;      // chunk bytes sent, resends included
  std::uint64_t snapshotsResumed = 0;       // transfers that began where an earlier one stopped
  std::uint64_t snapshotsAbandoned = 0;     // transfers dropped: the follower stopped answering
  std::uint64_t snapshotsInstalled = 0;     // received, checked, durable and installed here
  std::uint64_t snapshotBytesReceived = 0;  // chunk bytes taken in order
  // Chunks refused (bad checksum, out of bounds) or not taken (not from the leader, a full
  // queue): each also logged, at most one line per 10 s.
  std::uint64_t snapshotChunksRefused = 0;
  // Backups for clients (backups.h, the SNAPSHOT verb).
  std::uint64_t backupsWritten = 0;   // backup files written (a request that joins one: none)
  std::uint64_t backupBytesSent = 0;  // bytes of backups sent in chunk replies
  // Snapshots this node wrote of its own store (snapshotter.h): how long each took, and the last
  // one's size.
  Histogram snapshotDuration;
  std::uint64_t snapshotLastBytes = 0;

  // Gauges, set by the node just before it hands a copy to the web room (Node::publishFacts).
  struct Gauges {
    std::uint64_t storeFiles = 0;
    std::uint64_t storeBytes = 0;       // the files' values, in bytes
    std::int64_t historyOldest = 0;     // the oldest rev a read at a rev may name
    std::int64_t changesFrom = 0;       // the oldest rev CHANGES and WAIT still return
    std::uint64_t feedSubscribers = 0;  // connections to the feed socket
    std::uint64_t peers = 0;            // other members this node sends to
    std::uint64_t peersReachable = 0;   // of them, those heard from in the last 2 s
  } gauges;

  void countRequest(wire::Verb v) { ++requests[static_cast<std::size_t>(v)]; }
  void countReply(wire::Err e) { ++replies[static_cast<std::size_t>(e)]; }
  // A reply to a request of verb `v` (a wire::Verb's number) that arrived `took` ago.
  void countReplyTo(std::size_t v, wire::Err e, std::chrono::nanoseconds took) {
    ++repliesByVerb[v][static_cast<std::size_t>(e)];
    requestLatency[v].record(took);
  }

  // Every counter by name, for SELF: "requests.GET", "replies.REV_MISMATCH" (counts above 0
  // only), "commit_us.p50", "sync_us.p99", "sync_us.last", "batch.p50", "leader_changes", ...
  std::vector<wire::Counter> counters() const;
};

}  // namespace cairn::node
