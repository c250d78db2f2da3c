// A log-linear histogram of durations (ns): 8 buckets per power of two,
// so a percentile read from it is within ~9% of the true value. Fixed
// size, no allocation: recording is a few instructions. Not thread-safe:
// its owner guards it (Pool::mu_).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "cpu.h"

namespace rt {

class Histogram {
 public:
  void Record(uint64_t ns) {
    ++count_;
    sum_ += static_cast<double>(ns);
    min_ = count_ == 1 ? ns : std::min(min_, ns);
    max_ = std::max(max_, ns);
    ++buckets_[Bucket(ns)];
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }

  // The value below which a share `q` (0..1) of the recordings fall: the
  // upper bound of the bucket that holds that rank, clamped to min/max.
  uint64_t Quantile(double q) const {
    if (count_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen >= rank) return std::clamp(UpperBound(i), min_, max_);
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 3;  // 8 buckets per power of two
  static constexpr size_t kBuckets = 64 << kSubBits;

  static size_t Bucket(uint64_t ns) {
    if (ns < (1u << kSubBits)) return static_cast<size_t>(ns);
    int log2 = FloorLog2(ns);
    uint64_t sub = (ns >> (log2 - kSubBits)) & ((1u << kSubBits) - 1);
    return static_cast<size_t>(((log2 - kSubBits + 1) << kSubBits) + sub);
  }

  static uint64_t UpperBound(size_t bucket) {
    if (bucket < (1u << kSubBits)) return bucket;
    int log2 = static_cast<int>(bucket >> kSubBits) + kSubBits - 1;
    uint64_t sub = bucket & ((1u << kSubBits) - 1);
    return ((uint64_t{1} << kSubBits) + sub + 1) << (log2 - kSubBits);
  }

  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
  std::array<uint64_t, kBuckets> buckets_{};
};

}  // namespace rt
