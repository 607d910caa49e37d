#pragma once

// Reading a Prometheus text exposition (format 0.0.4) that some server wrote: `bench` scrapes the
// target's /metrics before and after its load and reports the server-side figures from the
// differences. The reader is lenient where Prometheus is (comments of any kind, blank lines, CRLF,
// a trailing comma in the labels, timestamps, NaN and infinities) and strict where a sample could
// be misread (a bad escape, an unterminated label value, a value that is not a number): then it
// names the line.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statefun_local {

/// One sample line: its metric name, its labels (values unescaped) and its value.
struct metric_sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;

  /// The value of label `label`, if the sample has it.
  [[nodiscard]] std::optional<std::string_view> label(std::string_view label) const {
    for (const auto& [n, v] : labels) {
      if (n == label) {
        return v;
      }
    }
    return std::nullopt;
  }
};

namespace exposition_detail {

inline bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

/// A sample value: a decimal or hexadecimal-free float, `NaN`, `+Inf`, `-Inf` (any case, as Go's
/// ParseFloat reads them). Nullopt if it is none of these.
inline std::optional<double> parse_value(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "nan") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (lower == "+inf" || lower == "inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (lower == "-inf") {
    return -std::numeric_limits<double>::infinity();
  }
  std::string_view digits = text;
  if (digits.starts_with('+')) {
    digits.remove_prefix(1);  // from_chars takes no '+'
  }
  if (digits.empty() || digits.starts_with('+') || digits.starts_with("0x") || digits.starts_with("0X")) {
    return std::nullopt;
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || end != digits.data() + digits.size() || std::isnan(v) || std::isinf(v)) {
    return std::nullopt;  // "nan"/"inf" spelt out were handled above; from_chars' other forms are not Prometheus'
  }
  return v;
}

}  // namespace exposition_detail

/**
 * Parses `text` into its samples, in order.
 * @throws std::invalid_argument "line N: why" for a line that is not a comment, blank, or a sample.
 */
inline std::vector<metric_sample> parse_exposition(std::string_view text) {
  using exposition_detail::name_char;
  std::vector<metric_sample> samples;
  std::size_t number = 0;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    const auto fail = [number](const std::string& why) -> void {
      throw std::invalid_argument("line " + std::to_string(number) + ": " + why);
    };
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') {
      continue;  // blank, HELP, TYPE or any other comment
    }
    line.remove_prefix(first);
    metric_sample sample;
    std::size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0)) {
      ++i;
    }
    if (i == 0) {
      fail("expected a metric name");
    }
    sample.name = std::string(line.substr(0, i));
    std::size_t brace = i;
    while (brace < line.size() && (line[brace] == ' ' || line[brace] == '\t')) {
      ++brace;
    }
    if (brace < line.size() && line[brace] == '{') {  // blanks before the labels: Prometheus takes them
      i = brace + 1;
      for (;;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
          ++i;
        }
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        const std::size_t start = i;
        while (i < line.size() && name_char(line[i], i == start) && line[i] != ':') {
          ++i;
        }
        if (i == start) {
          fail("expected a label name or '}'");
        }
        std::string label(line.substr(start, i - start));
        if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          fail("label " + label + ": expected =\"value\"");
        }
        i += 2;
        std::string value;
        for (;;) {
          if (i >= line.size()) {
            fail("label " + label + ": the value has no closing quote");
          }
          const char c = line[i++];
          if (c == '"') {
            break;
          }
          if (c != '\\') {
            value += c;
            continue;
          }
          if (i >= line.size()) {
            fail("label " + label + ": the value has no closing quote");
          }
          const char escaped = line[i++];
          if (escaped == 'n') {
            value += '\n';
          } else if (escaped == '\\' || escaped == '"') {
            value += escaped;
          } else {
            fail("label " + label + ": unknown escape \\" + std::string(1, escaped));
          }
        }
        sample.labels.emplace_back(std::move(label), std::move(value));
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
          ++i;
        }
        if (i < line.size() && line[i] == ',') {
          ++i;
          continue;
        }
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        fail("expected ',' or '}' after label " + sample.labels.back().first);
      }
    }
    if (i >= line.size() || (line[i] != ' ' && line[i] != '\t')) {
      fail("expected a space and a value after " + sample.name);
    }
    std::string_view rest = line.substr(i);
    rest.remove_prefix(rest.find_first_not_of(" \t"));
    const std::size_t gap = rest.find_first_of(" \t");
    const auto value = exposition_detail::parse_value(rest.substr(0, gap));
    if (!value) {
      fail(sample.name + ": '" + std::string(rest.substr(0, gap)) + "' is not a number");
    }
    sample.value = *value;
    if (gap != std::string_view::npos) {  // a timestamp: milliseconds, an integer
      std::string_view stamp = rest.substr(gap);
      stamp.remove_prefix(std::min(stamp.size(), stamp.find_first_not_of(" \t")));
      while (!stamp.empty() && (stamp.back() == ' ' || stamp.back() == '\t')) {
        stamp.remove_suffix(1);
      }
      long long ms = 0;
      const char* b = stamp.data() + (stamp.starts_with('-') ? 1 : 0);
      const auto [end_ms, ec] = std::from_chars(b, stamp.data() + stamp.size(), ms);
      if (!stamp.empty() && (ec != std::errc{} || end_ms != stamp.data() + stamp.size())) {
        fail(sample.name + ": '" + std::string(stamp) + "' after the value is not a timestamp");
      }
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

/// A label a sample must have, for `sum_of`.
struct label_match {
  std::string_view name;
  std::string_view value;
};

/// The sum of the samples named `name` that have every label of `match`; nullopt if none has.
inline std::optional<double> sum_of(const std::vector<metric_sample>& samples, std::string_view name,
                                    std::initializer_list<label_match> match = {}) {
  std::optional<double> sum;
  for (const metric_sample& s : samples) {
    if (s.name != name) {
      continue;
    }
    const bool matches = std::all_of(match.begin(), match.end(), [&](const label_match& m) { return s.label(m.name) == m.value; });
    if (matches) {
      sum = sum.value_or(0) + s.value;
    }
  }
  return sum;
}

/// A histogram's cumulative buckets (upper bound, count), ascending, +Inf last.
using histogram_buckets = std::vector<std::pair<double, double>>;

/// The buckets of histogram `name` among the samples that have every label of `match`.
inline histogram_buckets buckets_of(const std::vector<metric_sample>& samples, std::string_view name,
                                    std::initializer_list<label_match> match = {}) {
  const std::string bucket = std::string(name) + "_bucket";
  histogram_buckets out;
  for (const metric_sample& s : samples) {
    if (s.name != bucket) {
      continue;
    }
    const auto le = s.label("le");
    const bool matches = std::all_of(match.begin(), match.end(), [&](const label_match& m) { return s.label(m.name) == m.value; });
    if (!le || !matches) {
      continue;
    }
    const auto bound = exposition_detail::parse_value(*le);
    if (!bound || std::isnan(*bound)) {
      continue;
    }
    const auto same = std::find_if(out.begin(), out.end(), [&](const auto& b) { return b.first == *bound; });
    if (same != out.end()) {
      same->second += s.value;  // the same bound in several series (other labels): added
    } else {
      out.emplace_back(*bound, s.value);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// `after - before`, bucket by bucket (a bucket `before` lacks counts from zero).
inline histogram_buckets bucket_delta(const histogram_buckets& before, const histogram_buckets& after) {
  histogram_buckets out = after;
  for (auto& [bound, count] : out) {
    for (const auto& [b, c] : before) {
      if (b == bound) {
        count -= c;
      }
    }
  }
  return out;
}

/**
 * The `q`-quantile of cumulative `buckets` as Prometheus' histogram_quantile computes it: linear
 * within the bucket it falls in (from 0 for the first), the highest finite bound if it falls in
 * +Inf. Nullopt with no observation or no +Inf bucket.
 */
inline std::optional<double> histogram_quantile(double q, const histogram_buckets& buckets) {
  if (buckets.empty() || !std::isinf(buckets.back().first) || buckets.back().second <= 0) {
    return std::nullopt;
  }
  const double rank = q * buckets.back().second;
  double lower = 0;
  double below = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const auto [bound, count] = buckets[i];
    if (count >= rank) {
      if (std::isinf(bound)) {
        return i == 0 ? std::nullopt : std::optional(buckets[i - 1].first);
      }
      if (count == below) {
        return bound;
      }
      return lower + (bound - lower) * (rank - below) / (count - below);
    }
    lower = bound;
    below = count;
  }
  return std::nullopt;
}

}  // namespace statefun_local
