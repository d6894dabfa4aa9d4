#include "node/stats.h"

#include <algorithm>

namespace cairn::node {

void Histogram::add(std::uint64_t value) {
  std::size_t i = 0;
  while (i + 1 < kBuckets && (std::uint64_t{1} << i) <= value)
    ++i;
  ++buckets_[i];
  ++count_;
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

}  // namespace cairn::node
