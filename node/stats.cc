#include "node/stats.h"

#include <algorithm>
#include <type_traits>

namespace cairn::node {

static_assert(std::is_trivially_copyable_v<Stats>, "the web room takes Stats as bytes");

void Histogram::add(std::uint64_t value) {
  std::size_t i = 0;
  while (i + 1 < kBuckets && (std::uint64_t{1} << i) <= value)
    ++i;
  ++buckets_[i];
  ++count_;
  sum_ += value;
  last_ = value;
}

void Histogram::record(std::chrono::nanoseconds d) {
  add(static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(d).count())));
}

std::uint64_t Histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const auto want =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.5));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= want) return i == 0 ? 0 : (std::uint64_t{1} << i) - 1;
  }
  return std::uint64_t{1} << (kBuckets - 1);
}

Histogram Histogram::since(const Histogram& earlier) const {
  Histogram d;
  for (std::size_t i = 0; i < kBuckets; ++i)
    d.buckets_[i] = buckets_[i] - earlier.buckets_[i];
  d.count_ = count_ - earlier.count_;
  d.sum_ = sum_ - earlier.sum_;
  d.last_ = last_;
  return d;
}

const char* refusalName(PeerRefusal r) {
  switch (r) {
    case PeerRefusal::kFrames:
      return "frames";
    case PeerRefusal::kMalformed:
      return "malformed";
    case PeerRefusal::kForeign:
      return "foreign";
    case PeerRefusal::kSpoofed:
      return "spoofed";
  }
  return "?";
}

std::vector<wire::Counter> Stats::counters() const {
  std::vector<wire::Counter> out;
  auto add = [&](std::string name, std::uint64_t v) {
    out.push_back(wire::Counter{std::move(name), static_cast<std::int64_t>(v)});
  };
  for (std::size_t v = 0; v < kVerbs; ++v) {
    if (requests[v] > 0) {
      add(std::string("requests.") + wire::verbName(static_cast<wire::Verb>(v)), requests[v]);
    }
  }
  add("requests.undecodable", undecodable);
  for (std::size_t e = 0; e < replies.size(); ++e) {
    if (replies[e] == 0) continue;
    const auto err = static_cast<wire::Err>(e);
    add(std::string("replies.") + (err == wire::Err::kOk ? "OK" : wire::errName(err)), replies[e]);
  }
  add("replies.dropped", repliesDropped);
  auto histogram = [&](const std::string& name, const Histogram& h) {
    add(name + ".count", h.count());
    add(name + ".p50", h.quantile(0.5));
    add(name + ".p99", h.quantile(0.99));
    add(name + ".last", h.last());
  };
  histogram("commit_us", commitLatency);
  histogram("sync_us", syncLatency);
  histogram("batch", batchSize);
  add("leader_changes", leaderChanges);
  add("writes_replayed", writesReplayed);
  add("feed_drops", feedDrops);
  for (std::size_t i = 0; i < peerRefused.size(); ++i)
    add(std::string("peer_refused.") + refusalName(static_cast<PeerRefusal>(i)), peerRefused[i]);
  add("snapshots_sent", snapshotsSent);
  add("snapshot_bytes_sent", snapshotBytesSent);
  add("snapshots_resumed", snapshotsResumed);
  add("snapshots_abandoned", snapshotsAbandoned);
  add("snapshots_installed", snapshotsInstalled);
  add("snapshot_bytes_received", snapshotBytesReceived);
  add("snapshot_chunks_refused", snapshotChunksRefused);
  add("backups_written", backupsWritten);
  add("backup_bytes_sent", backupBytesSent);
  return out;
}

}  // namespace cairn::node
