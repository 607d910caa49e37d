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
    std::size_t i = 0;
    while (i < N && v > bounds_[i]) {
      ++i;
    }
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
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

/// Appends a number as Prometheus parses it: integers exactly, others in fixed notation
/// (so that a bucket's `le` reads "0.005", not "5e-03").
inline void append_number(std::string& out, double v) {
  std::array<char, 64> text{};
  const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), v, std::chars_format::fixed);
  if (ec == std::errc{}) {
    out.append(text.data(), end);
  } else {
    out += "NaN";
  }
}

inline void append_number(std::string& out, std::uint64_t v) { out += std::to_string(v); }
inline void append_number(std::string& out, std::int64_t v) { out += std::to_string(v); }

/// Appends `value` as a label value: backslash, double quote and line feed escaped.
inline void append_label_value(std::string& out, std::string_view value) {
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
inline void append_family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
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
void append_sample(std::string& out, std::string_view name, std::initializer_list<label> labels, V value) {
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
void append_histogram(std::string& out, std::string_view name, const histogram<N>& h, double divisor,
                      std::initializer_list<label> labels) {
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i <= N; ++i) {
    cumulative += h.bucket(i);
    le.clear();
    if (i < N) {
      append_number(le, static_cast<double>(h.bounds()[i]) / divisor);
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
  append_sample(out, std::string(name) + "_sum", labels, static_cast<double>(h.sum()) / divisor);
  append_sample(out, std::string(name) + "_count", labels, cumulative);
}

}  // namespace statefun::inline v0::metrics::detail
