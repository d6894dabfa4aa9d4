#pragma once
// One measured run of cairn-bench: its samples, throughput, percentiles, and the RESULT line
// harnesses read.

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace cairn::bench {

struct Result {
  std::string label;
  long n = 0;
  long errors = 0;
  double seconds = 0;
  std::vector<double> latMs;  // every sample, sorted at the end
  double opsPerSec() const { return seconds > 0 ? static_cast<double>(n) / seconds : 0; }
  double pct(double p) const {
    if (latMs.empty()) return 0;
    std::size_t i = static_cast<std::size_t>(p * static_cast<double>(latMs.size() - 1) + 0.5);
    return latMs[std::min(i, latMs.size() - 1)];
  }
};

// A Result of `n` operations in `seconds`, with the samples sorted.
Result toResult(const std::string& label, std::vector<double> ms, long n, double seconds,
                long errors);
// A table line, then "RESULT <label> n=N ops_s=X p50_ms=Y p99_ms=Z p999_ms=W max_ms=M errors=E".
void print(const Result& r);

}  // namespace cairn::bench
