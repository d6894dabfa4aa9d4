// The web room's pure parts (node/web/facts.h): the facts message, /metrics' text, /healthz's
// verdict, the viewer's activity samples.

#include <catch2/catch.hpp>

#include "node/web/facts.h"
#include "node/web/json.h"

using namespace cairn;
using node::Histogram;
using node::Stats;
using node::web::Facts;

namespace {

Facts factsWith(std::int64_t leader, const std::string& role) {
  Facts f;
  f.self.id = 2;
  f.self.leader = leader;
  f.self.role = role;
  f.self.rev = 40;
  f.historyRevs = 10000;
  f.at = std::chrono::steady_clock::now();
  return f;
}

bool has(const std::string& page, const std::string& line) {
  return page.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("web facts: a facts message carries the counters and SELF, and refuses a short frame",
          "[unit][web]") {
  // (Built as the other tests build theirs: GCC 12 at -O1 with ASan thinks a local Reply's
  // optional string may be read uninitialized.)
  Facts in = factsWith(4, "leader");
  in.stats.leaderChanges = 3;
  in.stats.commitLatency.add(700);
  in.stats.gauges.storeFiles = 12;
  Facts f;
  const auto at = std::chrono::steady_clock::now();
  REQUIRE(node::web::decodeFacts(node::web::encodeFacts(in.stats, in.self, 500, at), &f).isOk());
  CHECK(f.at == at);
  CHECK(f.stats.leaderChanges == 3);
  CHECK(f.stats.commitLatency.count() == 1);
  CHECK(f.stats.gauges.storeFiles == 12);
  CHECK(f.self.id == 2);
  CHECK(f.self.leader == 4);
  CHECK(f.self.role == "leader");
  CHECK(f.historyRevs == 500);
  CHECK(node::web::decodeFacts("short", &f).code() == wire::Err::kCorrupt);
}

TEST_CASE("web facts: histograms become cumulative Prometheus buckets with exact bounds",
          "[unit][web]") {
  Facts f = factsWith(2, "leader");
  // 3 us, 100 us and 2 s: buckets [2,4), [64,128), [2^20, 2^21) us.
  f.stats.commitLatency.add(3);
  f.stats.commitLatency.add(100);
  f.stats.commitLatency.add(2000000);
  f.stats.countReplyTo(static_cast<std::size_t>(wire::Verb::kGet), wire::Err::kOk,
                       std::chrono::microseconds(20));
  f.stats.countReplyTo(static_cast<std::size_t>(wire::Verb::kSet), wire::Err::kRevMismatch,
                       std::chrono::microseconds(20));
  const std::string page =
      node::web::renderMetrics(&f, node::web::ProcessFacts{}, node::web::WebCounters{2, 1, 7});
  CHECK(has(page, "# TYPE cairn_commit_duration_seconds histogram"));
  // Every value below 16 us falls in the first bucket written (le = 15 us).
  CHECK(has(page, "cairn_commit_duration_seconds_bucket{le=\"1.5e-05\"} 1"));
  CHECK(has(page, "cairn_commit_duration_seconds_bucket{le=\"6.3e-05\"} 1"));
  CHECK(has(page, "cairn_commit_duration_seconds_bucket{le=\"0.000127\"} 2"));
  CHECK(has(page, "cairn_commit_duration_seconds_bucket{le=\"1.048575\"} 2"));
  CHECK(has(page, "cairn_commit_duration_seconds_bucket{le=\"2.097151\"} 3"));
  CHECK(has(page, "cairn_commit_duration_seconds_bucket{le=\"+Inf\"} 3"));
  CHECK(has(page, "cairn_commit_duration_seconds_sum 2.000103"));
  CHECK(has(page, "cairn_commit_duration_seconds_count 3"));
  CHECK(has(page, "cairn_requests_total{verb=\"GET\",code=\"OK\"} 1"));
  CHECK(has(page, "cairn_requests_total{verb=\"SET\",code=\"REV_MISMATCH\"} 1"));
  CHECK(has(page, "cairn_request_duration_seconds_count{verb=\"GET\"} 1"));
  // Only the verbs that had requests get a latency histogram.
  CHECK(page.find("cairn_request_duration_seconds_count{verb=\"WAIT\"}") == std::string::npos);
  CHECK(has(page, "cairn_is_leader 1"));
  CHECK(has(page, "cairn_leader_id 2"));
  CHECK(has(page, "cairn_web_clients 2"));
  CHECK(has(page, "cairn_web_clients_dropped_total 1"));
  CHECK(has(page, "cairn_history_window_revs 10000"));
}

TEST_CASE("web facts: before the node's first facts only the process and web metrics are written",
          "[unit][web]") {
  const std::string page =
      node::web::renderMetrics(nullptr, node::web::ProcessFacts{}, node::web::WebCounters{});
  CHECK(page.find("cairn_is_leader") == std::string::npos);
  CHECK(has(page, "cairn_web_clients 0"));
  CHECK(page.find("process_resident_memory_bytes") != std::string::npos);
}

TEST_CASE("web facts: /healthz is healthy only with fresh facts, a leader, no halt and no long lag",
          "[unit][web]") {
  using node::web::unhealthy;
  Facts f = factsWith(2, "follower");
  CHECK(!unhealthy(&f, f.at));
  CHECK(!unhealthy(&f, f.at + node::web::kFactsStale));
  CHECK(unhealthy(nullptr, f.at) == "the node has not reported its state yet");
  CHECK(unhealthy(&f, f.at + node::web::kFactsStale + std::chrono::milliseconds(1))
            ->find("event loop is stuck") != std::string::npos);
  Facts none = factsWith(0, "candidate");
  CHECK(unhealthy(&none, none.at) == "no leader known");
  Facts halted = factsWith(0, "halted");
  halted.self.halted = "the log cannot persist writes: EIO";
  CHECK(unhealthy(&halted, halted.at) == "halted: the log cannot persist writes: EIO");
  Facts removed = factsWith(1, "removed");
  CHECK(unhealthy(&removed, removed.at) == "removed from the cluster");
  Facts behind = factsWith(2, "follower");
  behind.self.lag = node::web::kMaxHealthyLag - 1;
  CHECK(!unhealthy(&behind, behind.at));
  behind.self.lag = node::web::kMaxHealthyLag;
  CHECK(unhealthy(&behind, behind.at) == "catching up: 10000 slots behind what it knows is chosen");
}

TEST_CASE("web json: values are text when they are UTF-8, hex otherwise, and cut with their size",
          "[unit][web]") {
  using node::web::json;
  using node::web::putValue;
  CHECK(node::web::isUtf8("plain"));
  CHECK(node::web::isUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK(!node::web::isUtf8("\xc3"));              // cut short
  CHECK(!node::web::isUtf8("\xc0\xaf"));          // overlong
  CHECK(!node::web::isUtf8("\xed\xa0\x80"));      // a surrogate
  CHECK(!node::web::isUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK(!node::web::isUtf8("\xff"));
  json a;
  putValue(a, "caf\xc3\xa9", 100);
  CHECK(a == json({{"value", "caf\xc3\xa9"}, {"enc", "text"}}));
  json b;
  putValue(b, std::string("\x00\xff", 2), 100);
  CHECK(b == json({{"value", "00ff"}, {"enc", "hex"}}));
  // Cut inside a character: the partial character goes, and the rest is still text.
  json c;
  putValue(c, "ab\xc3\xa9", 3);
  CHECK(c["value"] == "ab");
  CHECK(c["enc"] == "text");
  CHECK(c["size"] == 4);
  CHECK(c["truncated"] == true);
  // A message never fails to print: bytes that are not UTF-8 are replaced.
  CHECK(node::web::dump(json{{"path", "/a\xff"}}) == "{\"path\":\"/a\xef\xbf\xbd\"}");
}

TEST_CASE("web facts: a sample is the revs per second and the latency of that second's writes",
          "[unit][web]") {
  Facts a = factsWith(2, "leader");
  a.stats.commitLatency.add(5000);  // before the interval: not in the sample
  Facts b = a;
  b.at = a.at + std::chrono::milliseconds(500);
  b.self.rev = *a.self.rev + 100;
  for (int i = 0; i < 99; ++i)
    b.stats.commitLatency.add(100);
  b.stats.commitLatency.add(3000);
  b.stats.leaderChanges = a.stats.leaderChanges + 1;
  b.stats.gauges.feedSubscribers = 5;
  auto s = node::web::sampleBetween(a, b, 1234);
  CHECK(s.atMs == 1234);
  CHECK(s.rev == 140);
  CHECK(s.writesPerSecond == Approx(200));
  CHECK(s.commitP50Us == 127);  // the bucket [64, 128)
  CHECK(s.commitP99Us == 127);
  CHECK(s.leaderChanged);
  CHECK(s.subscribers == 5);
  auto quiet = node::web::sampleBetween(b, b, 1);
  CHECK(quiet.writesPerSecond == 0);
  CHECK(quiet.commitP50Us == 0);
  CHECK(!quiet.leaderChanged);
}
