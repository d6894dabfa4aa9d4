#include "node/web/facts.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "wire/codec.h"

namespace cairn::node::web {

// ---- the facts message ----------------------------------------------------------------------

std::string encodeFacts(const Stats& stats, const wire::Reply& self, std::int64_t historyRevs,
                        std::chrono::steady_clock::time_point at) {
  const std::int64_t ns = at.time_since_epoch().count();
  std::string out(sizeof stats + sizeof historyRevs + sizeof ns, '\0');
  std::memcpy(out.data(), &stats, sizeof stats);
  std::memcpy(out.data() + sizeof stats, &historyRevs, sizeof historyRevs);
  std::memcpy(out.data() + sizeof stats + sizeof historyRevs, &ns, sizeof ns);
  out += wire::encodeReply(self);
  return out;
}

wire::Status decodeFacts(std::string_view bytes, Facts* out) {
  constexpr std::size_t kHead = sizeof(Stats) + 2 * sizeof(std::int64_t);
  if (bytes.size() < kHead) {
    return wire::Status(wire::Err::kCorrupt,
                        "a facts message of " + std::to_string(bytes.size()) + " bytes");
  }
  auto self = wire::decodeReply(bytes.substr(kHead));
  if (!self) return self.status();
  std::memcpy(&out->stats, bytes.data(), sizeof(Stats));
  std::memcpy(&out->historyRevs, bytes.data() + sizeof(Stats), sizeof(std::int64_t));
  std::int64_t ns = 0;
  std::memcpy(&ns, bytes.data() + sizeof(Stats) + sizeof(std::int64_t), sizeof ns);
  out->at = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ns));
  out->self = std::move(*self);
  return wire::Status::ok();
}

// ---- /proc ----------------------------------------------------------------------------------

ProcessFacts readProcess() {
  ProcessFacts p;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::ifstream statFile("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
  // Fields after the command name (which is in parentheses and may hold spaces): field 3 on.
  const std::size_t close = stat.rfind(')');
  if (close != std::string::npos && tick > 0) {
    std::istringstream in(stat.substr(close + 2));
    std::string f;
    std::vector<std::string> fields;
    while (in >> f)
      fields.push_back(f);
    // Numbered from 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
    auto field = [&](std::size_t n) -> double {
      return n - 3 < fields.size() ? std::strtod(fields[n - 3].c_str(), nullptr) : 0;
    };
    p.cpuSeconds = (field(14) + field(15)) / tick;
    p.virtualBytes = static_cast<std::uint64_t>(field(23));
    p.residentBytes = static_cast<std::uint64_t>(field(24) * page);
    // The boot time (btime in /proc/stat) plus the process's start in ticks since boot.
    std::ifstream statAll("/proc/stat");
    std::string key;
    double btime = 0;
    while (statAll >> key) {
      if (key == "btime") {
        statAll >> btime;
        break;
      }
      statAll.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    if (btime > 0) p.startTimeSeconds = btime + field(22) / tick;
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++p.openFds;
    }
    ::closedir(d);
    if (p.openFds > 0) --p.openFds;  // the directory's own descriptor
  }
  struct rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) p.maxFds = static_cast<std::uint64_t>(lim.rlim_cur);
  return p;
}

// ---- /metrics -------------------------------------------------------------------------------

namespace {

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// Writes metric families in the text format: HELP and TYPE once, then the family's samples.
class Writer {
 public:
  void family(const std::string& name, const char* type, const char* help) {
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const std::string& name, const std::string& labels, double v) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += " " + number(v) + "\n";
  }
  void one(const std::string& name, const char* type, const char* help, double v) {
    family(name, type, help);
    sample(name, "", v);
  }
  // A Histogram as Prometheus buckets. Its bucket i holds values in [2^(i-1), 2^i), so integers
  // up to 2^i - 1: each "le" below is exact. `scale` turns a value into the family's unit (us to
  // seconds: 1e-6). Buckets [first, last] are written, then +Inf.
  void histogram(const std::string& name, const std::string& labels, const Histogram& h,
                 double scale, std::size_t first, std::size_t last) {
    const std::string sep = labels.empty() ? "" : labels + ",";
    const auto& b = h.buckets();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < first; ++i)
      cumulative += b[i];
    for (std::size_t i = first; i <= last; ++i) {
      cumulative += b[i];
      const double le = static_cast<double>((std::uint64_t{1} << i) - 1) * scale;
      sample(name + "_bucket", sep + "le=\"" + number(le) + "\"", static_cast<double>(cumulative));
    }
    sample(name + "_bucket", sep + "le=\"+Inf\"", static_cast<double>(h.count()));
    sample(name + "_sum", labels, static_cast<double>(h.sum()) * scale);
    sample(name + "_count", labels, static_cast<double>(h.count()));
  }
  // Durations in us, written in seconds: 15 us to 33.5 s.
  void seconds(const std::string& name, const std::string& labels, const Histogram& h) {
    histogram(name, labels, h, 1e-6, 4, 25);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// key="value", the value escaped as the text format wants (\\, \", \n).
std::string label(const char* key, const std::string& value) {
  std::string out = std::string(key) + "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string renderMetrics(const Facts* facts, const ProcessFacts& proc, const WebCounters& web) {
  Writer w;
  w.family("cairn_build_info", "gauge", "Always 1; the label names this cairnd's version.");
  w.sample("cairn_build_info", label("version", CAIRN_VERSION), 1);
  if (facts) {
    const Stats& s = facts->stats;
    const wire::Reply& self = facts->self;
    const std::int64_t id = self.id.value_or(0);
    const std::int64_t leader = self.leader.value_or(0);
    const std::string role = self.role.value_or("");
    w.one("cairn_node_id", "gauge", "This node's member id.", static_cast<double>(id));

    w.family("cairn_requests_total", "counter",
             "Client requests answered, by verb and by the reply's error code (OK: success).");
    for (std::size_t v = 0; v < Stats::kVerbs; ++v) {
      for (std::size_t e = 0; e < Stats::kErrs; ++e) {
        const std::uint64_t n = s.repliesByVerb[v][e];
        if (n == 0) continue;
        const auto err = static_cast<wire::Err>(e);
        w.sample("cairn_requests_total",
                 label("verb", wire::verbName(static_cast<wire::Verb>(v))) + "," +
                     label("code", err == wire::Err::kOk ? "OK" : wire::errName(err)),
                 static_cast<double>(n));
      }
    }
    w.one("cairn_requests_undecodable_total", "counter",
          "Client requests refused before their verb was known (bad msgpack, no verb, ...).",
          static_cast<double>(s.undecodable));
    w.one("cairn_replies_dropped_total", "counter",
          "Replies the client socket could not take (the client was gone or not reading).",
          static_cast<double>(s.repliesDropped));
    w.family("cairn_request_duration_seconds", "histogram",
             "From a request's arrival to its reply, by verb (WAIT includes its wait).");
    for (std::size_t v = 0; v < Stats::kVerbs; ++v) {
      if (s.requestLatency[v].count() == 0) continue;
      w.seconds("cairn_request_duration_seconds",
                label("verb", wire::verbName(static_cast<wire::Verb>(v))), s.requestLatency[v]);
    }
    w.family("cairn_commit_duration_seconds", "histogram",
             "From a write's arrival to its reply, for the writes this node proposed.");
    w.seconds("cairn_commit_duration_seconds", "", s.commitLatency);
    w.family("cairn_apply_duration_seconds", "histogram",
             "Applying one batch of chosen commands to the store.");
    w.seconds("cairn_apply_duration_seconds", "", s.applyLatency);
    w.family("cairn_wal_fsync_duration_seconds", "histogram",
             "One write and fdatasync of the log (a group commit of every record waiting).");
    w.seconds("cairn_wal_fsync_duration_seconds", "", s.syncLatency);
    w.family("cairn_commit_batch_commands", "histogram",
             "Commands chosen per batch that chose any.");
    w.histogram("cairn_commit_batch_commands", "", s.batchSize, 1, 0, 14);
    w.one("cairn_slots_chosen_total", "counter", "Commands this node learned chosen and applied.",
          static_cast<double>(s.slotsChosen));
    w.one("cairn_writes_replayed_total", "counter",
          "Resent writes answered from the exactly-once reply table (applied once, earlier).",
          static_cast<double>(s.writesReplayed));
    w.one("cairn_leader_changes_total", "counter", "Times the leader this node follows changed.",
          static_cast<double>(s.leaderChanges));
    w.one("cairn_is_leader", "gauge", "1 if this node leads the cluster.",
          role == "leader" ? 1 : 0);
    w.one("cairn_has_leader", "gauge", "1 if this node knows a leader.", leader != 0 ? 1 : 0);
    w.one("cairn_leader_id", "gauge", "The member id of the leader this node follows; 0: none.",
          static_cast<double>(leader));
    w.one("cairn_halted", "gauge", "1 if the node halted (its disk failed) and serves SELF only.",
          self.halted ? 1 : 0);
    w.one("cairn_applied_rev", "gauge", "The store's head revision on this node.",
          static_cast<double>(self.rev.value_or(0)));
    w.one("cairn_applied_slot", "gauge", "The last log slot this node applied.",
          static_cast<double>(self.slot.value_or(0)));
    w.one("cairn_commit_lag_slots", "gauge",
          "Slots this node knows are chosen but has not applied yet.",
          static_cast<double>(self.lag.value_or(0)));
    w.one("cairn_peers", "gauge", "Other members this node sends to.",
          static_cast<double>(s.gauges.peers));
    w.one("cairn_peers_reachable", "gauge",
          "Other members this node heard from in the last 2 s (a follower hears mostly from its "
          "leader).",
          static_cast<double>(s.gauges.peersReachable));
    w.family("cairn_peer_messages_refused_total", "counter",
             "Peer messages refused by the transport, by reason.");
    for (std::size_t i = 0; i < s.peerRefused.size(); ++i) {
      w.sample("cairn_peer_messages_refused_total",
               label("reason", refusalName(static_cast<PeerRefusal>(i))),
               static_cast<double>(s.peerRefused[i]));
    }
    w.one("cairn_feed_subscribers", "gauge", "Connections to this node's change feed.",
          static_cast<double>(s.gauges.feedSubscribers));
    w.one("cairn_feed_drops_total", "counter",
          "Feed events or heartbeats the feed socket refused (a subscriber at its high-water "
          "mark loses messages silently; its claims show it).",
          static_cast<double>(s.feedDrops));
    w.one("cairn_store_files", "gauge", "Files in the store at the head.",
          static_cast<double>(s.gauges.storeFiles));
    w.one("cairn_store_value_bytes", "gauge", "Bytes of the files' values at the head.",
          static_cast<double>(s.gauges.storeBytes));
    w.one("cairn_history_window_revs", "gauge", "Past revisions kept readable (--history).",
          static_cast<double>(facts->historyRevs));
    w.one("cairn_history_oldest_rev", "gauge", "The oldest revision a read at a rev may name.",
          static_cast<double>(s.gauges.historyOldest));
    w.family("cairn_snapshot_duration_seconds", "histogram",
             "Writing one snapshot of this node's store, durably.");
    w.seconds("cairn_snapshot_duration_seconds", "", s.snapshotDuration);
    w.one("cairn_snapshot_size_bytes", "gauge", "The size of the last snapshot this node wrote.",
          static_cast<double>(s.snapshotLastBytes));
    w.one("cairn_snapshots_sent_total", "counter", "Snapshot transfers to followers completed.",
          static_cast<double>(s.snapshotsSent));
    w.one("cairn_snapshot_sent_bytes_total", "counter",
          "Snapshot chunk bytes sent to followers, resends included.",
          static_cast<double>(s.snapshotBytesSent));
    w.one("cairn_snapshots_installed_total", "counter",
          "Snapshots received from the leader, checked and installed.",
          static_cast<double>(s.snapshotsInstalled));
    w.one("cairn_snapshot_received_bytes_total", "counter",
          "Snapshot chunk bytes received in order.", static_cast<double>(s.snapshotBytesReceived));
    w.one("cairn_snapshot_chunks_refused_total", "counter",
          "Snapshot chunks refused (bad checksum, out of bounds, not from the leader).",
          static_cast<double>(s.snapshotChunksRefused));
    w.one("cairn_backups_written_total", "counter", "Backup files written for SNAPSHOT requests.",
          static_cast<double>(s.backupsWritten));
    w.one("cairn_backup_sent_bytes_total", "counter", "Backup bytes sent to clients.",
          static_cast<double>(s.backupBytesSent));
  }
  w.one("cairn_web_clients", "gauge", "Viewer websockets open on this node.",
        static_cast<double>(web.clients));
  w.one("cairn_web_clients_dropped_total", "counter",
        "Viewer websockets closed because they did not read their messages.",
        static_cast<double>(web.clientsDropped));
  w.one("cairn_web_http_requests_total", "counter", "HTTP requests answered by the web room.",
        static_cast<double>(web.httpRequests));
  w.one("cairn_web_queued_bytes", "gauge",
        "Bytes waiting to be written to viewers (each viewer holds at most 4 MiB).",
        static_cast<double>(web.queuedBytes));
  w.one("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.",
        proc.cpuSeconds);
  w.one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
        static_cast<double>(proc.residentBytes));
  w.one("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
        static_cast<double>(proc.virtualBytes));
  w.one("process_open_fds", "gauge", "Open file descriptors.", static_cast<double>(proc.openFds));
  w.one("process_max_fds", "gauge", "The limit on open file descriptors.",
        static_cast<double>(proc.maxFds));
  w.one("process_start_time_seconds", "gauge",
        "When the process started, in seconds since the Unix epoch.", proc.startTimeSeconds);
  return w.take();
}

// ---- /healthz -------------------------------------------------------------------------------

std::optional<std::string> unhealthy(const Facts* facts,
                                     std::chrono::steady_clock::time_point now) {
  if (!facts) return std::string("the node has not reported its state yet");
  if (now - facts->at > kFactsStale) {
    return "the node has not reported its state for " +
           std::to_string(
               std::chrono::duration_cast<std::chrono::milliseconds>(now - facts->at).count()) +
           " ms (its event loop is stuck)";
  }
  const wire::Reply& self = facts->self;
  if (self.halted) return "halted: " + *self.halted;
  if (self.role.value_or("") == "removed") return std::string("removed from the cluster");
  if (self.leader.value_or(0) == 0) return std::string("no leader known");
  if (self.lag.value_or(0) >= kMaxHealthyLag) {
    return "catching up: " + std::to_string(*self.lag) + " slots behind what it knows is chosen";
  }
  return std::nullopt;
}

// ---- activity samples -----------------------------------------------------------------------

Sample sampleBetween(const Facts& before, const Facts& now, std::int64_t atMs) {
  Sample s;
  s.atMs = atMs;
  s.rev = now.self.rev.value_or(0);
  const double secs = std::chrono::duration<double>(now.at - before.at).count();
  const std::int64_t revs = s.rev - before.self.rev.value_or(0);
  s.writesPerSecond = secs > 0 && revs > 0 ? static_cast<double>(revs) / secs : 0;
  const Histogram commits = now.stats.commitLatency.since(before.stats.commitLatency);
  s.commitP50Us = commits.quantile(0.5);
  s.commitP99Us = commits.quantile(0.99);
  s.leader = now.self.leader.value_or(0);
  s.leaderChanged = now.stats.leaderChanges != before.stats.leaderChanges;
  s.subscribers = now.stats.gauges.feedSubscribers;
  return s;
}

}  // namespace cairn::node::web
