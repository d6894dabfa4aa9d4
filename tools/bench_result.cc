#include "tools/bench_result.h"

#include <cstdio>

namespace cairn::bench {

Result toResult(const std::string& label, std::vector<double> ms, long n, double seconds,
                long errors) {
  Result r;
  r.label = label;
  r.latMs = std::move(ms);
  std::sort(r.latMs.begin(), r.latMs.end());
  r.n = n;
  r.seconds = seconds;
  r.errors = errors;
  return r;
}

void print(const Result& r) {
  std::printf(
      "%-28s %9ld ops %10.0f ops/s  p50 %7.3f ms  p99 %7.3f ms  p99.9 %7.3f ms  max %7.3f ms  "
      "errors %ld\n",
      r.label.c_str(), r.n, r.opsPerSec(), r.pct(0.5), r.pct(0.99), r.pct(0.999),
      r.latMs.empty() ? 0 : r.latMs.back(), r.errors);
  std::printf(
      "RESULT %s n=%ld ops_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f errors=%ld\n",
      r.label.c_str(), r.n, r.opsPerSec(), r.pct(0.5), r.pct(0.99), r.pct(0.999),
      r.latMs.empty() ? 0 : r.latMs.back(), r.errors);
  std::fflush(stdout);
}

}  // namespace cairn::bench
