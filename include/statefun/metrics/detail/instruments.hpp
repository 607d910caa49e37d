#pragma once

/// @file
/// Counters and histograms shared by serving threads (relaxed atomics), and the pieces of the
/// Prometheus text format (0.0.4) that `metrics::prometheus` writes them with.

#include <array>
#include <atomic>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace statefun::inline v0::metrics::detail {

/// A monotonic count. Relaxed: a scrape needs each value, not an order among them.
class counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down (connections open).
class gauge {
 public:
  void add(std::int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

/// The index of the bucket `v` falls in: the first bound not below it, or `N` (above all).
template <std::size_t N>
std::size_t bucket_of(const std::array<std::uint64_t, N>& bounds, std::uint64_t v) noexcept {
  std::size_t i = 0;
  while (i < N && v > bounds[i]) {
    ++i;
  }
  return i;
}

/**
 * A histogram of integer observations (nanoseconds, invocations) over fixed upper bounds,
 * exposed divided by `divisor` (1e9: nanoseconds as seconds). Each bucket counts its own
 * observations; the cumulative counts Prometheus wants are summed at exposition, so that
 * `_count` always equals the `+Inf` bucket.
 */
template <std::size_t N>
class histogram {
 public:
  /// `bounds`: the buckets' inclusive upper bounds, ascending, in observation units.
  explicit constexpr histogram(const std::array<std::uint64_t, N>& bounds) noexcept : bounds_(bounds) {}

  void observe(std::uint64_t v) noexcept {
    buckets_[bucket_of(bounds_, v)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }

  [[nodiscard]] const std::array<std::uint64_t, N>& bounds() const noexcept { return bounds_; }
  /// Observations in bucket `i` alone (`i == N`: above every bound).
  [[nodiscard]] std::uint64_t bucket(std::size_t i) const noexcept {
    return buckets_[i].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  /// Observations in all buckets.
  [[nodiscard]] std::uint64_t count() const noexcept {
    std::uint64_t n = 0;
    for (const auto& b : buckets_) {
      n += b.load(std::memory_order_relaxed);
    }
    return n;
  }

 private:
  std::array<std::uint64_t, N> bounds_;
  std::array<std::atomic<std::uint64_t>, N + 1> buckets_{};
  std::atomic<std::uint64_t> sum_{0};
};

/// Shards per sharded series: the first `shard_count - 1` threads that count get one each,
/// later ones share the last.
inline constexpr std::size_t shard_count = 16;

/**
 * The shard the calling thread counts in, fixed at its first call. A locked addition costs
 * about 20 cycles, and a cache line that several serving threads add to moves between their
 * cores on every batch: the per-batch counters are kept per thread instead, and a scrape sums
 * the shards.
 */
inline std::size_t this_thread_shard() noexcept {
  static std::atomic<std::size_t> next{0};
  // Constant-initialised (no guard to test on every call): assigned at the first call.
  thread_local std::size_t shard = shard_count;
  if (shard == shard_count) [[unlikely]] {
    const std::size_t n = next.fetch_add(1, std::memory_order_relaxed);
    shard = n < shard_count - 1 ? n : shard_count - 1;
  }
  return shard;
}

/// Whether `shard` belongs to one thread (plain additions) or is the shared last one.
inline bool owned_shard(std::size_t shard) noexcept { return shard != shard_count - 1; }

/**
 * A count in a shard. The shard's one thread adds with a plain load and store (atomic, so
 * that a scrape may read it at any time, but no locked instruction); the shared shard adds
 * with a locked addition.
 */
class cell {
 public:
  template <bool Owned>
  void add(std::uint64_t n) noexcept {
    if constexpr (Owned) {
      value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      value_.fetch_add(n, std::memory_order_relaxed);
    }
  }
  [[nodiscard]] std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A histogram's buckets and sum in a shard (its bounds are the series').
template <std::size_t N>
struct histogram_cells {
  std::array<cell, N + 1> buckets;
  cell sum;

  template <bool Owned>
  void observe(const std::array<std::uint64_t, N>& bounds, std::uint64_t v) noexcept {
    buckets[bucket_of(bounds, v)].template add<Owned>(1);
    sum.template add<Owned>(v);
  }
};

/// What a scrape reads of a histogram: its bounds, each bucket's own count, and the sum.
template <std::size_t N>
struct histogram_counts {
  const std::array<std::uint64_t, N>* bounds = nullptr;
  std::array<std::uint64_t, N + 1> buckets{};
  std::uint64_t sum = 0;

  [[nodiscard]] std::uint64_t count() const noexcept {
    std::uint64_t n = 0;
    for (const std::uint64_t b : buckets) {
      n += b;
    }
    return n;
  }
};

/// Appends a number as Prometheus parses it: integers exactly, others in fixed notation
/// (so that a bucket's `le` reads "0.005", not "5e-03").
[[gnu::cold]] inline void append_number(std::string& out, double v) {
  std::array<char, 64> text{};
  const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), v, std::chars_format::fixed);
  if (ec == std::errc{}) {
    out.append(text.data(), end);
  } else {
    out += "NaN";
  }
}

[[gnu::cold]] inline void append_number(std::string& out, std::uint64_t v) { out += std::to_string(v); }
[[gnu::cold]] inline void append_number(std::string& out, std::int64_t v) { out += std::to_string(v); }

/// Appends `value` as a label value: backslash, double quote and line feed escaped.
[[gnu::cold]] inline void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

/// Appends the `# HELP` and `# TYPE` lines of a family (help text written by us: no escapes).
[[gnu::cold]] inline void append_family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

/// A label pair, `name="value"`, for `append_sample`.
struct label {
  std::string_view name;
  std::string_view value;
};

/// Appends one sample line: `name{labels} value`.
template <class V>
[[gnu::cold]] void append_sample(std::string& out, std::string_view name, std::initializer_list<label> labels, V value) {
  out += name;
  if (labels.size() > 0) {
    out += '{';
    bool first = true;
    for (const label& l : labels) {
      if (!first) {
        out += ',';
      }
      first = false;
      out += l.name;
      out += "=\"";
      append_label_value(out, l.value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  append_number(out, value);
  out += '\n';
}

/**
 * Appends a histogram's samples (`_bucket` cumulative with `le`, `+Inf` last, `_sum`,
 * `_count`), with values divided by `divisor` (a division, so that 5'000'000 / 1e9 prints
 * "0.005": a multiplication by 1e-9 would not round to it).
 */
template <std::size_t N>
[[gnu::cold]] void append_histogram(std::string& out, std::string_view name, const histogram_counts<N>& h, double divisor,
                      std::initializer_list<label> labels) {
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i <= N; ++i) {
    cumulative += h.buckets[i];
    le.clear();
    if (i < N) {
      append_number(le, static_cast<double>((*h.bounds)[i]) / divisor);
    } else {
      le = "+Inf";
    }
    out += bucket;
    out += '{';
    for (const label& l : labels) {
      out += l.name;
      out += "=\"";
      append_label_value(out, l.value);
      out += "\",";
    }
    out += "le=\"";
    out += le;
    out += "\"} ";
    append_number(out, cumulative);
    out += '\n';
  }
  append_sample(out, std::string(name) + "_sum", labels, static_cast<double>(h.sum) / divisor);
  append_sample(out, std::string(name) + "_count", labels, cumulative);
}

/// The same, of an unsharded histogram.
template <std::size_t N>
[[gnu::cold]] void append_histogram(std::string& out, std::string_view name, const histogram<N>& h, double divisor,
                      std::initializer_list<label> labels) {
  histogram_counts<N> counts;
  counts.bounds = &h.bounds();
  for (std::size_t i = 0; i <= N; ++i) {
    counts.buckets[i] = h.bucket(i);
  }
  counts.sum = h.sum();
  append_histogram(out, name, counts, divisor, labels);
}

}  // namespace statefun::inline v0::metrics::detail
