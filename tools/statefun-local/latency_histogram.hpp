#pragma once

// A latency histogram for `statefun-local bench`: a fixed array of counters, precise to under 1%
// at any magnitude. This is the bucketing idea of HdrHistogram: powers of two, each split into
// 128 linear steps. Recording is an increment; merging is an addition.

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace statefun_local {

class latency_histogram {
 public:
  /// Records one latency, in nanoseconds.
  void record(std::uint64_t ns) noexcept {
    ++counts_[index_of(ns)];
    ++count_;
    sum_ += ns;
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
  }

  void merge(const latency_histogram& other) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      counts_[i] += other.counts_[i];
    }
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return count_ == 0 ? 0 : max_; }
  [[nodiscard]] std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
  [[nodiscard]] double mean() const noexcept { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }

  /**
   * The smallest recorded bucket's upper bound at or below which `fraction` (0 to 1) of the
   * latencies lie, capped at the largest latency recorded; 0 when nothing was recorded.
   */
  [[nodiscard]] std::uint64_t percentile(double fraction) const noexcept {
    if (count_ == 0) {
      return 0;
    }
    const double wanted = std::clamp(fraction, 0.0, 1.0) * static_cast<double>(count_);
    // At least one sample: p0 is the smallest latency, not 0.
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted + 0.999999));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        return std::min(upper_bound_of(i), max_);
      }
    }
    return max_;
  }

 private:
  static constexpr unsigned sub_bits = 7;  // 128 steps per power of two: < 0.8% apart
  static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;
  // Values below 128 get a counter each; above, one row of 128 per power of two.
  static constexpr std::size_t rows = 64 - sub_bits + 1;

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < sub_count) {
      return static_cast<std::size_t>(v);
    }
    const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - sub_bits - 1;  // (v >> shift) is 128..255
    return static_cast<std::size_t>((shift + 1) * sub_count + ((v >> shift) - sub_count));
  }

  static std::uint64_t upper_bound_of(std::size_t index) noexcept {
    if (index < sub_count) {
      return index;
    }
    const auto row = static_cast<unsigned>(index / sub_count);  // shift + 1
    const unsigned shift = row - 1;
    const std::uint64_t step = index % sub_count + sub_count;
    const std::uint64_t lower = step << shift;
    const std::uint64_t width = std::uint64_t{1} << shift;
    return lower > std::numeric_limits<std::uint64_t>::max() - (width - 1) ? std::numeric_limits<std::uint64_t>::max()
                                                                           : lower + (width - 1);
  }

  std::array<std::uint64_t, rows * sub_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

}  // namespace statefun_local
