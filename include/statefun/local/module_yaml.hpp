#pragma once

/// @file
/// `parse_module`, `load_module`: read a StateFun `module.yaml` into `statefun::local::module`,
/// as the real runtime reads it (docs/runtime_rules.md §3), with errors that name the file, the line, the
/// YAML document and the field. Needs yaml-cpp (`pkg-config yaml-cpp`, link `-lyaml-cpp`).
///
/// What is read, the defaults and what is refused: `docs/module_yaml.md`.

#include <statefun/config.hpp>
#include <statefun/local/module.hpp>
#include <statefun/type_name.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace statefun::inline v0::local {

/**
 * A `module.yaml` that the real runtime would refuse (or that the emulator cannot honour), with
 * where the mistake is.
 *
 * `what()` reads like
 * `module.yaml:14: document 2 (io.statefun.endpoints.v2/http), field spec.transport.type: unknown
 * transport 'io.statefun.transports.v1/foo' (expected io.statefun.transports.v1/async or
 * io.statefun.transports.v1/okhttp)`; the parts that are not known (a YAML syntax error has no
 * document or field, an unreadable file has no line) are left out.
 */
class module_error : public std::runtime_error {
 public:
  /**
   * @param source   the file (or the name given to `parse_module`)
   * @param document 1-based index of the YAML document in the file; 0 if not known
   * @param kind     the component's kind, e.g. `io.statefun.endpoints.v2/http`; may be empty
   * @param field    path of the field, e.g. `spec.topics[1].targets[0]`; may be empty
   * @param line     1-based line; 0 if not known
   * @param reason   what is wrong, e.g. `unknown transport 'x' (expected ...)`
   */
  module_error(std::string source, std::size_t document, std::string kind, std::string field,
               std::size_t line, std::string reason)
      : std::runtime_error(format(source, document, kind, field, line, reason)),
        details_(std::make_shared<const details>(details{std::move(source), std::move(kind),
                                                         std::move(field), std::move(reason),
                                                         document, line})) {}

  /// The file, or the name given to `parse_module`.
  [[nodiscard]] const std::string& source() const noexcept { return details_->source; }
  /// 1-based index of the YAML document (`---` separates them); 0 if not known.
  [[nodiscard]] std::size_t document() const noexcept { return details_->document; }
  /// The component's kind (`io.statefun.kafka.v1/ingress`); empty if not known.
  [[nodiscard]] const std::string& kind() const noexcept { return details_->kind; }
  /// Path of the offending field, e.g. `spec.transport.timeouts.call`; empty for the whole file.
  [[nodiscard]] const std::string& field() const noexcept { return details_->field; }
  /// 1-based line of the field; 0 if not known.
  [[nodiscard]] std::size_t line() const noexcept { return details_->line; }
  /// What is wrong, without the location.
  [[nodiscard]] const std::string& reason() const noexcept { return details_->reason; }

  /// The location prefix of `what()`, as warnings use it: `file:line: document N (kind)`.
  [[nodiscard]] static std::string location(std::string_view source, std::size_t document,
                                            std::string_view kind, std::size_t line) {
    std::string out(source);
    if (line != 0) {
      out.append(":").append(std::to_string(line));
    }
    if (document != 0) {
      out.append(": document ").append(std::to_string(document));
      if (!kind.empty()) {
        out.append(" (").append(kind).append(")");
      }
    }
    return out;
  }

 private:
  // Shared and immutable, so that copying the exception (as `throw` and `catch` by value do)
  // cannot throw, as std::runtime_error's own message cannot.
  struct details {
    std::string source;
    std::string kind;
    std::string field;
    std::string reason;
    std::size_t document;
    std::size_t line;
  };

  static std::string format(std::string_view source, std::size_t document, std::string_view kind,
                            std::string_view field, std::size_t line, std::string_view reason) {
    std::string out = location(source, document, kind, line);
    if (!field.empty()) {
      out.append(document != 0 ? ", field " : ": field ").append(field);
    }
    return out.append(": ").append(reason);
  }

  std::shared_ptr<const details> details_;
};

/**
 * Parses a duration as Flink's `TimeUtils.parseDuration` does, which is how the runtime reads
 * every duration in a `module.yaml`: digits, optional whitespace, an optional unit; no unit
 * means milliseconds. Units (case-insensitive): `d`, `day(s)`; `h`, `hour(s)`; `m`, `min`,
 * `minute(s)`; `s`, `sec(s)`, `second(s)`; `ms`, `milli(s)`, `millisecond(s)`; `µs`, `micro(s)`,
 * `microsecond(s)`; `ns`, `nano(s)`, `nanosecond(s)`. Flink knows no `mins` and no `us`, so
 * neither does this.
 *
 * **Example**:
 * @code
 * using namespace std::chrono_literals;
 * assert(statefun::local::parse_flink_duration("1 min") == 60s);
 * assert(statefun::local::parse_flink_duration("250") == 250ms);
 * @endcode
 *
 * @param text for example `10 s`, `2m`, `1minute`, `30seconds`, `120`.
 * @return the duration; a positive duration under a millisecond rounds up to 1 ms, so that a
 *         non-zero timeout stays non-zero.
 * @throws std::invalid_argument saying why `text` is not a duration (no leading digits, a sign
 *         or a fraction, an unknown unit, or more than 64 bits of milliseconds).
 */
[[nodiscard]] inline std::chrono::milliseconds parse_flink_duration(std::string_view text) {
  // Java's String.trim(): every char <= ' ' is whitespace.
  const auto trim = [](std::string_view s) {
    while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') {
      s.remove_prefix(1);
    }
    while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') {
      s.remove_suffix(1);
    }
    return s;
  };
  const std::string_view trimmed = trim(text);
  const auto refuse = [&](std::string_view why) -> std::invalid_argument {
    return std::invalid_argument("'" + std::string(trimmed) +
                                 "' is not a duration: " + std::string(why));
  };
  if (trimmed.empty()) {
    throw std::invalid_argument("an empty text is not a duration");
  }

  std::size_t digits = 0;
  while (digits < trimmed.size() && trimmed[digits] >= '0' && trimmed[digits] <= '9') {
    ++digits;
  }
  if (digits == 0) {
    throw refuse("it does not start with a number (no sign is allowed)");
  }
  std::int64_t value = 0;
  if (std::from_chars(trimmed.data(), trimmed.data() + digits, value).ec != std::errc{}) {
    throw refuse("the number does not fit in 64 bits");
  }

  std::string unit(trim(trimmed.substr(digits)));
  // Locale.US lower-casing; bytes of multi-byte UTF-8 (the 'µ' of "µs") are left alone.
  for (char& c : unit) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }

  // Milliseconds per unit as a fraction: value * numerator / denominator.
  struct unit_scale {
    std::string_view label;
    std::int64_t numerator;
    std::int64_t denominator;
  };
  // clang-format off
  static constexpr unit_scale scales[] = {
      {"d", 86'400'000, 1},      {"day", 86'400'000, 1},         {"days", 86'400'000, 1},
      {"h", 3'600'000, 1},       {"hour", 3'600'000, 1},         {"hours", 3'600'000, 1},
      {"m", 60'000, 1},          {"min", 60'000, 1},             {"minute", 60'000, 1},
      {"minutes", 60'000, 1},    {"s", 1000, 1},                 {"sec", 1000, 1},
      {"secs", 1000, 1},         {"second", 1000, 1},            {"seconds", 1000, 1},
      {"ms", 1, 1},              {"milli", 1, 1},                {"millis", 1, 1},
      {"millisecond", 1, 1},     {"milliseconds", 1, 1},         {"\xC2\xB5s", 1, 1000},
      {"micro", 1, 1000},        {"micros", 1, 1000},            {"microsecond", 1, 1000},
      {"microseconds", 1, 1000}, {"ns", 1, 1'000'000},           {"nano", 1, 1'000'000},
      {"nanos", 1, 1'000'000},   {"nanosecond", 1, 1'000'000},   {"nanoseconds", 1, 1'000'000},
  };
  // clang-format on
  if (unit.empty()) {
    return std::chrono::milliseconds{value};
  }
  for (const auto& scale : scales) {
    if (scale.label != unit) {
      continue;
    }
    if (value > std::numeric_limits<std::int64_t>::max() / scale.numerator) {
      throw refuse("it is too long to count in 64-bit milliseconds");
    }
    const std::int64_t scaled = value * scale.numerator;
    return std::chrono::milliseconds{scaled / scale.denominator +
                                     (scaled % scale.denominator != 0 ? 1 : 0)};
  }
  if (unit.front() == '.' || unit.front() == ',') {
    throw refuse("fractions are not allowed; use a smaller unit, e.g. 1500 ms for 1.5 s");
  }
  throw refuse("unknown time unit '" + unit +
               "' (Flink knows d, day(s), h, hour(s), m, min, minute(s), s, sec(s), second(s), "
               "ms, milli(s), millisecond(s), \xC2\xB5s, micro(s), microsecond(s), ns, nano(s), "
               "nanosecond(s))");
}

}  // namespace statefun::inline v0::local

// The reader's mechanics. They live here rather than in detail/ only because the loader is one
// optional, yaml-cpp-dependent header; nothing in them is part of the API.
namespace statefun::inline v0::detail::module_yaml {

// Qualified from the root: other headers declare namespaces such as statefun::local::detail,
// and a relative name must not depend on which of them were included first.
namespace local = ::statefun::local;
using local::module;
using local::module_error;
using ::statefun::type_name;

inline constexpr std::string_view async_transport = "io.statefun.transports.v1/async";
inline constexpr std::string_view okhttp_transport = "io.statefun.transports.v1/okhttp";

/// The component kinds the loader knows (every kind the runtime's own binders take).
enum class component {
  endpoint_v1,
  endpoint_v2,
  kafka_ingress,
  kafka_egress,
  kinesis_ingress,
  kinesis_egress,
};

struct component_kind {
  std::string_view name;
  component which;
};

inline constexpr component_kind component_kinds[] = {
    {"io.statefun.endpoints.v1/http", component::endpoint_v1},
    {"io.statefun.endpoints.v2/http", component::endpoint_v2},
    {"io.statefun.kafka.v1/ingress", component::kafka_ingress},
    {"io.statefun.kafka.v1/egress", component::kafka_egress},
    {"io.statefun.kinesis.v1/ingress", component::kinesis_ingress},
    {"io.statefun.kinesis.v1/egress", component::kinesis_egress},
};

/// The legacy (`version: "3.0"`) kinds and what `LegacyRemoteModuleV30` turns them into.
inline constexpr std::pair<std::string_view, std::string_view> legacy_kinds[] = {
    {"http", "io.statefun.endpoints.v1/http"},
    {"io.statefun.kafka/ingress", "io.statefun.kafka.v1/ingress"},
    {"io.statefun.kafka/egress", "io.statefun.kafka.v1/egress"},
    {"io.statefun.kinesis/ingress", "io.statefun.kinesis.v1/ingress"},
    {"io.statefun.kinesis/egress", "io.statefun.kinesis.v1/egress"},
};

inline std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

/// Edit distance, to suggest the field a misspelt key was meant to be.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// "2 min", "10 s", "1500 ms": the largest unit that divides the duration, for messages.
inline std::string format_duration(std::chrono::milliseconds d) {
  const std::int64_t ms = d.count();
  struct unit {
    std::int64_t size;
    std::string_view label;
  };
  static constexpr unit units[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "min"}, {1000, "s"}};
  for (const auto& u : units) {
    if (ms != 0 && ms % u.size == 0) {
      return std::to_string(ms / u.size) + " " + std::string(u.label);
    }
  }
  return std::to_string(ms) + " ms";
}

inline std::size_t line_of(const YAML::Mark& mark) {
  return mark.is_null() ? 0 : static_cast<std::size_t>(mark.line) + 1;
}

/// What a node is, for "expected a string, got a map".
inline std::string_view describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    default: return "nothing";
  }
}

/// A node with the path that names it in messages (`spec.topics[1]`) and the line to report
/// (its key's line for a map entry, since a nested map's own mark is on the line after).
struct located {
  YAML::Node node;
  std::string path;
  std::size_t line = 0;
};

/// The document being read: where it is, for messages, and where warnings go.
class reader {
 public:
  reader(std::string_view source, std::size_t document, std::vector<std::string>& warnings)
      : source_(source), document_(document), warnings_(&warnings) {}

  /// The kind named in messages, e.g. `io.statefun.kafka.v1/ingress`.
  void set_kind(std::string kind) { kind_ = std::move(kind); }

  [[noreturn]] void fail(const located& at, std::string reason) const {
    throw module_error(source_, document_, kind_, at.path, at.line, std::move(reason));
  }

  /// Records `text` as a warning about the field at `at`: "file:line: document N (kind): field
  /// <path> <text>".
  void warn(const located& at, std::string_view text) const {
    warnings_->push_back(module_error::location(source_, document_, kind_, at.line) + ": field " +
                         at.path + " " + std::string(text));
  }

  /// `file:line (document N)`, the `source` of the specs read from this document.
  [[nodiscard]] std::string spec_source(std::size_t line) const {
    return source_ + ":" + std::to_string(line) + " (document " + std::to_string(document_) + ")";
  }

 private:
  std::string source_;
  std::size_t document_;
  std::string kind_;
  std::vector<std::string>* warnings_;
};

/// A field the runtime does not read in one place but that is a likely mistake there, with
/// the note that says where it belongs.
struct hint {
  std::string_view key;
  std::string_view note;
};

/**
 * The entries of a YAML map, checked against the keys its reader knows. Every other key is
 * ignored, as Jackson's `FAIL_ON_UNKNOWN_PROPERTIES = false` ignores it, and recorded as a
 * warning. A key given twice keeps its last value, as Jackson does.
 */
class fields {
 public:
  fields(const reader& r, located map, std::initializer_list<std::string_view> known,
         std::string_view read_by = "the runtime", std::initializer_list<hint> hints = {})
      : reader_(&r), self_(std::move(map)) {
    if (!self_.node.IsMap()) {
      r.fail(self_, "expected a map of fields, got " + std::string(describe(self_.node)));
    }
    for (auto it = self_.node.begin(); it != self_.node.end(); ++it) {
      // A copy: `it->first` lives in a temporary proxy, so a reference to it would dangle.
      // (Nodes are handles; copying one copies a pointer.)
      const YAML::Node key = it->first;
      located value{it->second, child_path(key.IsScalar() ? key.Scalar() : "?"),
                    line_of(key.Mark())};
      if (!key.IsScalar()) {
        r.fail(value, "a field name must be a plain string, got " + std::string(describe(key)));
      }
      const std::string& name = key.Scalar();
      auto same = std::find_if(entries_.begin(), entries_.end(),
                               [&](const entry& e) { return e.key == name; });
      if (same != entries_.end()) {
        r.warn(value, "is given twice (lines " + std::to_string(same->value.line) + " and " +
                          std::to_string(value.line) + "); the runtime reads the last one");
        same->value = std::move(value);
        continue;
      }
      const bool is_known = std::find(known.begin(), known.end(), name) != known.end();
      const auto hinted =
          std::find_if(hints.begin(), hints.end(), [&](const hint& h) { return h.key == name; });
      if (hinted != hints.end()) {
        r.warn(value, "is not read by " + std::string(read_by) +
                          " (ignored: " + std::string(hinted->note) + ")");
      } else if (!is_known) {
        r.warn(value, "is not read by " + std::string(read_by) + " (ignored" +
                          suggestion(name, known) + ")");
      }
      entries_.push_back({name, std::move(value)});
    }
  }

  [[nodiscard]] const located& self() const noexcept { return self_; }

  /// The field `key`, or nothing if it is absent or has no value (`key:` or `key: ~`).
  [[nodiscard]] std::optional<located> find(std::string_view key) const {
    for (const entry& e : entries_) {
      if (e.key == key) {
        if (e.value.node.IsNull()) {
          return std::nullopt;
        }
        return e.value;
      }
    }
    return std::nullopt;
  }

  /// The field `key`; an error naming it if it is absent or empty.
  [[nodiscard]] located require(std::string_view key) const {
    if (auto found = find(key)) {
      return *found;
    }
    for (const entry& e : entries_) {
      if (e.key == key) {
        reader_->fail(e.value, "has no value");
      }
    }
    reader_->fail(self_, "has no field " + std::string(key) + ", which is required");
  }

  [[nodiscard]] std::string child_path(std::string_view key) const {
    return self_.path.empty() ? std::string(key) : self_.path + "." + std::string(key);
  }

 private:
  struct entry {
    std::string key;
    located value;
  };

  static std::string suggestion(std::string_view name,
                                std::initializer_list<std::string_view> known) {
    std::string_view best;
    std::size_t best_distance = 3;
    for (std::string_view k : known) {
      const std::size_t d = lower_ascii(k) == lower_ascii(name)
                                ? 0
                                : edit_distance(lower_ascii(k), lower_ascii(name));
      if (d < best_distance && (d == 0 || k.size() > 3)) {
        best = k;
        best_distance = d;
      }
    }
    return best.empty() ? std::string{} : "; did you mean " + std::string(best) + "?";
  }

  const reader* reader_;
  located self_;
  std::vector<entry> entries_;
};

/// The elements of a YAML list, each with its `path[i]`.
inline std::vector<located> elements(const reader& r, const located& list) {
  if (!list.node.IsSequence()) {
    r.fail(list, "expected a list, got " + std::string(describe(list.node)));
  }
  std::vector<located> out;
  std::size_t i = 0;
  for (const YAML::Node& element : list.node) {
    out.push_back({element, list.path + "[" + std::to_string(i++) + "]", line_of(element.Mark())});
    if (out.back().line == 0) {
      out.back().line = list.line;
    }
  }
  return out;
}

inline std::string text(const reader& r, const located& at) {
  if (!at.node.IsScalar()) {
    r.fail(at, "expected a string, got " + std::string(describe(at.node)));
  }
  return at.node.Scalar();
}

inline std::string non_empty_text(const reader& r, const located& at) {
  std::string value = text(r, at);
  if (value.empty()) {
    r.fail(at, "is empty");
  }
  return value;
}

/// A decimal integer in [min, max]. Quoted or not: the runtime's Jackson coerces "1000" too.
inline std::int64_t integer(const reader& r, const located& at, std::int64_t min,
                            std::int64_t max) {
  if (!at.node.IsScalar()) {
    r.fail(at, "expected an integer, got " + std::string(describe(at.node)));
  }
  std::string_view digits = at.node.Scalar();
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    r.fail(at, "expected an integer, got '" + at.node.Scalar() + "'");
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    r.fail(at, at.node.Scalar() + " is out of range (" + std::to_string(min) + " to " +
                   std::to_string(max) + ")");
  }
  return value;
}

inline constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();
inline constexpr std::int64_t int32_min = std::numeric_limits<std::int32_t>::min();

inline std::chrono::milliseconds duration(const reader& r, const located& at) {
  if (!at.node.IsScalar()) {
    r.fail(at, "expected a duration such as '10 s', got " + std::string(describe(at.node)));
  }
  try {
    return local::parse_flink_duration(at.node.Scalar());
  } catch (const std::invalid_argument& e) {
    r.fail(at, e.what());
  }
}

inline std::chrono::milliseconds positive_duration(const reader& r, const located& at) {
  const auto d = duration(r, at);
  if (d.count() == 0) {
    r.fail(at, "must be longer than 0 (the runtime refuses a zero timeout)");
  }
  return d;
}

/// A `namespace/name` (rule 4); `role` says what it names, for the message.
inline std::string type_name_at(const reader& r, const located& at, std::string_view role) {
  std::string value = text(r, at);
  if (const auto why = type_name::problem(value); !why.empty()) {
    r.fail(at, std::string(role) + " '" + value + "' " + std::string(why) +
                   " (a type name is namespace/name)");
  }
  return value;
}

/// A function type that messages can be sent to: a type name without wildcards.
inline std::string function_type_at(const reader& r, const located& at) {
  std::string value = type_name_at(r, at, "function type");
  if (value.find('*') != std::string::npos) {
    r.fail(at, "'" + value +
                   "' is a pattern, not a function type (only an endpoint's functions "
                   "field takes ns/*)");
  }
  return value;
}

/// `properties` / `clientConfigProperties`: a list of single-key maps. Only the first key of
/// each is read (`PropertiesJsonDeserializer`).
inline void properties(const reader& r, const located& at) {
  for (const located& element : elements(r, at)) {
    if (!element.node.IsMap() || element.node.size() == 0) {
      r.fail(element, "expected a single-key map such as 'key: value', got " +
                          (element.node.IsMap() ? std::string("an empty map")
                                                : std::string(describe(element.node))));
    }
    bool first = true;
    for (auto it = element.node.begin(); it != element.node.end(); ++it) {
      located value{it->second,
                    element.path + "." + (it->first.IsScalar() ? it->first.Scalar() : "?"),
                    line_of(it->first.Mark())};
      if (!first) {
        r.warn(value,
               "is not read by the runtime (ignored: only the first key of each "
               "properties entry is read; give each its own '- key: value')");
        continue;
      }
      first = false;
      if (!it->first.IsScalar()) {
        r.fail(value, "a property name must be a string");
      }
      if (!it->second.IsScalar() && !it->second.IsNull()) {
        r.fail(value, "expected a property value, got " + std::string(describe(it->second)));
      }
    }
  }
}

/// One of `choices`, exactly as spelt there.
inline std::string one_of(const reader& r, const located& at, std::string_view what,
                          std::initializer_list<std::string_view> choices) {
  std::string value = text(r, at);
  if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
    std::string expected;
    for (std::string_view c : choices) {
      expected.append(expected.empty() ? "" : ", ").append(c);
    }
    r.fail(at,
           "unknown " + std::string(what) + " '" + value + "' (expected one of " + expected + ")");
  }
  return value;
}

/// `yyyy-MM-dd HH:mm:ss.SSS Z`, the pattern of Kafka's and Kinesis' `startupPosition.date`.
inline void startup_date(const reader& r, const located& at) {
  const std::string value = text(r, at);
  constexpr std::string_view shape = "dddd-dd-dd dd:dd:dd.ddd sdddd";
  bool ok = value.size() == shape.size();
  for (std::size_t i = 0; ok && i < shape.size(); ++i) {
    const char c = value[i];
    switch (shape[i]) {
      case 'd': ok = c >= '0' && c <= '9'; break;
      case 's': ok = c == '+' || c == '-'; break;
      default: ok = c == shape[i]; break;
    }
  }
  if (!ok) {
    r.fail(at, "date '" + value +
                   "' does not match the pattern yyyy-MM-dd HH:mm:ss.SSS Z, "
                   "e.g. 2020-02-01 04:15:00.000 +0000");
  }
}

/// A TLS file location (§1.9): a bare path or a `file:` URL; `classpath:` cannot exist here.
inline std::string tls_location(const reader& r, const located& at) {
  const std::string value = non_empty_text(r, at);
  // A URI scheme: a letter, then letters, digits, '+', '-' or '.', then ':'.
  std::size_t colon = 0;
  const auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!value.empty() && is_alpha(value[0])) {
    colon = 1;
    while (colon < value.size() &&
           (is_alpha(value[colon]) || (value[colon] >= '0' && value[colon] <= '9') ||
            value[colon] == '+' || value[colon] == '-' || value[colon] == '.')) {
      ++colon;
    }
    if (colon == value.size() || value[colon] != ':') {
      colon = 0;
    }
  }
  if (colon == 0) {
    return value;
  }
  const std::string scheme = lower_ascii(std::string_view(value).substr(0, colon));
  if (scheme == "classpath") {
    r.fail(at, "'" + value +
                   "' is a classpath: resource, and there is no Java classpath here; "
                   "give a file path or a file: URL");
  }
  if (scheme != "file") {
    r.fail(at, "'" + value + "' has the scheme '" + scheme + ":'; give a file path or a file: URL");
  }
  std::string path = value.substr(colon + 1);
  if (path.rfind("//", 0) == 0) {
    // file://host/path: only an empty host or localhost names a local file.
    const std::size_t slash = path.find('/', 2);
    const std::string host =
        path.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    if (!host.empty() && lower_ascii(host) != "localhost") {
      r.fail(at, "'" + value + "' names a file on host '" + host + "'; give a local file");
    }
    path = slash == std::string::npos ? std::string{} : path.substr(slash);
  }
  if (path.empty()) {
    r.fail(at, "'" + value + "' names no file");
  }
  return path;
}

/// The parts of `urlPathTemplate` that decide how it is reached.
struct url_shape {
  std::string scheme;  ///< lower case
  bool unix_socket = false;
};

/// Rule 3 and §1.8: the template must become a URL the chosen transport can call.
inline url_shape check_url(const reader& r, const located& at, const std::string& url) {
  // The runtime replaces only {function.name}; any other brace stays and makes URI.create fail.
  std::string probe = url;
  for (std::size_t at_placeholder = probe.find("{function.name}");
       at_placeholder != std::string::npos; at_placeholder = probe.find("{function.name}")) {
    probe.replace(at_placeholder, 15, "x");
  }
  if (probe.find_first_of("{}") != std::string::npos) {
    r.fail(at, "'" + url +
                   "' has a placeholder other than {function.name}, the only one the "
                   "runtime replaces");
  }
  if (probe.find_first_of(" \t\r\n") != std::string::npos) {
    r.fail(at, "'" + url + "' contains whitespace, which is not allowed in a URL");
  }
  const std::size_t separator = probe.find("://");
  if (separator == std::string::npos || separator == 0) {
    r.fail(at, "'" + url +
                   "' has no scheme (expected http://, https://, http+unix:// or "
                   "https+unix://)");
  }
  url_shape shape{lower_ascii(std::string_view(probe).substr(0, separator))};
  const std::string rest = probe.substr(separator + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string authority = rest.substr(0, authority_end);
  if (shape.scheme == "http" || shape.scheme == "https") {
    if (authority.empty()) {
      r.fail(at, "'" + url + "' has no host");
    }
    return shape;
  }
  if (shape.scheme == "http+unix" || shape.scheme == "https+unix") {
    shape.unix_socket = true;
    // Everything up to and including the first path segment ending in .sock is the socket file.
    std::string path =
        authority_end == std::string::npos ? std::string{} : rest.substr(authority_end);
    path = path.substr(0, path.find_first_of("?#"));
    const auto ends_in_sock = [](std::string_view segment) {
      return segment.size() >= 5 && segment.substr(segment.size() - 5) == ".sock";
    };
    bool found = false;
    for (std::size_t begin = 0; !found && begin < path.size();) {
      const std::size_t end = std::min(path.find('/', begin), path.size());
      found = ends_in_sock(std::string_view(path).substr(begin, end - begin));
      begin = end + 1;
    }
    if (!found) {
      r.fail(at,
             "'" + url + "' names no socket file: a " + shape.scheme +
                 " URL needs a path segment ending in .sock, e.g. " + shape.scheme +
                 ":///run/statefun/functions.sock/statefun" +
                 (ends_in_sock(authority) ? " (the socket file goes in the path, after ///)" : ""));
    }
    return shape;
  }
  r.fail(at, "'" + url + "' has the unsupported scheme '" + shape.scheme +
                 "' (expected http, https, http+unix or https+unix)");
}

/// The endpoint that already binds `functions`, if any (rule 2: binding twice is an error).
inline const local::endpoint_spec* bound(const module& m, std::string_view functions) {
  for (const auto& e : m.endpoints) {
    if (e.functions == functions) {
      return &e;
    }
  }
  return nullptr;
}

inline std::string binding_name(std::string_view functions) {
  return functions.size() >= 2 && functions.substr(functions.size() - 2) == "/*"
             ? "namespace " + std::string(functions.substr(0, functions.size() - 2)) + " (" +
                   std::string(functions) + ")"
             : "function type " + std::string(functions);
}

inline std::string where(std::string_view source) {
  return source.empty() ? std::string("(a spec built in code)") : std::string(source);
}

/// A spec read from a document, with the field that identifies it (`functions` or `id`), where a
/// duplicate is reported.
template <class Spec>
struct read_spec {
  Spec spec;
  located key;
};

// --- Endpoints ------------------------------------------------------------------------------

inline constexpr std::string_view okhttp_tls_note =
    "the okhttp transport has no StateFun TLS settings; it trusts the system's CAs and sends no "
    "client certificate. Use transport.type: io.statefun.transports.v1/async for these";

/// `e` with the OkHttp transport's `timeouts: {call, connect, read, write}` (§1.5) read from
/// `owner`.
inline local::endpoint_spec okhttp_timeouts(const reader& r, const fields& owner,
                                            local::endpoint_spec e) {
  using namespace std::chrono_literals;
  e.call = 1min;
  e.connect = e.read = e.write = 10s;
  const auto node = owner.find("timeouts");
  if (!node) {
    return e;
  }
  const fields timeouts(r, *node, {"call", "connect", "read", "write"}, "the okhttp transport");
  std::optional<located> where_set[4];
  std::chrono::milliseconds* targets[4] = {&e.call, &e.connect, &e.read, &e.write};
  constexpr std::string_view names[4] = {"call", "connect", "read", "write"};
  for (std::size_t i = 0; i < 4; ++i) {
    if ((where_set[i] = timeouts.find(names[i]))) {
      *targets[i] = positive_duration(r, *where_set[i]);
    }
  }
  for (std::size_t i = 1; i < 4; ++i) {
    if (*targets[i] > e.call) {
      r.fail(where_set[i]   ? *where_set[i]
             : where_set[0] ? *where_set[0]
                            : timeouts.self(),
             std::string(names[i]) + " timeout " + format_duration(*targets[i]) +
                 " is longer than the call timeout " + format_duration(e.call) +
                 " (the runtime requires connect, read and write <= call)");
    }
  }
  return e;
}

/// `e` with the async (Netty) transport's properties (§1.5, §1.9) read from `transport`.
inline local::endpoint_spec async_transport_properties(const reader& r, const fields& transport,
                                                       local::endpoint_spec e) {
  using namespace std::chrono_literals;
  if (const auto timeouts_node = transport.find("timeouts")) {
    // The nested form wins over the flat keys, with defaults of its own (NettyRequestReplySpec).
    const fields timeouts(r, *timeouts_node, {"call", "connect"}, "the async transport",
                          {{"read",
                            "the async transport has no read timeout; call bounds the "
                            "whole request"},
                           {"write",
                            "the async transport has no write timeout; call bounds "
                            "the whole request"}});
    e.call = 1min;
    e.connect = 10s;
    if (const auto call = timeouts.find("call")) {
      e.call = positive_duration(r, *call);
    }
    if (const auto connect = timeouts.find("connect")) {
      e.connect = positive_duration(r, *connect);
    }
    for (std::string_view flat : {"call", "connect"}) {
      if (const auto ignored = transport.find(flat)) {
        r.warn(*ignored, "is not read by the runtime (ignored: " + timeouts.self().path +
                             " is present and takes priority, with its own defaults)");
      }
    }
  } else {
    e.call = 2min;
    e.connect = 20s;
    if (const auto call = transport.find("call")) {
      e.call = positive_duration(r, *call);
    }
    if (const auto connect = transport.find("connect")) {
      e.connect = positive_duration(r, *connect);
    }
  }
  if (const auto ttl = transport.find("pool_ttl")) {
    e.pool_ttl = duration(r, *ttl);  // 0 keeps connections for ever (§1.4)
  }
  if (const auto size = transport.find("pool_size")) {
    e.pool_size = static_cast<std::size_t>(integer(r, *size, 1, int32_max));
  }
  if (const auto bytes = transport.find("payload_max_bytes")) {
    e.payload_max_bytes = static_cast<std::size_t>(integer(r, *bytes, 1, int32_max));
  }
  if (const auto v = transport.find("trust_cacerts")) {
    e.tls.trust_cacerts = tls_location(r, *v);
  }
  const auto cert = transport.find("client_cert");
  const auto key = transport.find("client_key");
  if (cert && !key) {
    r.fail(*cert, "is set without " + transport.child_path("client_key") +
                      " (a client certificate needs its key: give both or neither)");
  }
  if (key && !cert) {
    r.fail(*key, "is set without " + transport.child_path("client_cert") +
                     " (a client key needs its certificate: give both or neither)");
  }
  if (cert) {
    e.tls.client_cert = tls_location(r, *cert);
    e.tls.client_key = tls_location(r, *key);
  }
  if (const auto password = transport.find("client_key_password")) {
    if (!key) {
      r.warn(*password, "is not read by the runtime (ignored: there is no client_key)");
    } else {
      e.tls.client_key_password = tls_location(r, *password);
    }
  }
  return e;
}

inline read_spec<local::endpoint_spec> endpoint(const reader& r, const located& spec_node, bool v2,
                                                std::size_t line) {
  local::endpoint_spec e;
  e.source = r.spec_source(line);
  // v1 hands the whole spec to OkHttp, so TLS keys would sit in the spec itself.
  const fields spec =
      v2 ? fields(r, spec_node,
                  {"functions", "urlPathTemplate", "maxNumBatchRequests", "transport"},
                  "the runtime",
                  {{"timeouts", "in io.statefun.endpoints.v2/http, timeouts go under transport"},
                   {"transports", "the field is spelt transport"}})
         : fields(r, spec_node, {"functions", "urlPathTemplate", "maxNumBatchRequests", "timeouts"},
                  "the runtime",
                  {{"transport",
                    "io.statefun.endpoints.v1/http always uses the okhttp "
                    "transport; io.statefun.endpoints.v2/http can choose"},
                   {"trust_cacerts", okhttp_tls_note},
                   {"client_cert", okhttp_tls_note},
                   {"client_key", okhttp_tls_note},
                   {"client_key_password", okhttp_tls_note}});

  const located functions = spec.require("functions");
  e.functions = type_name_at(r, functions, "functions");
  {
    // TargetFunctions.fromPatternString: ns/name, or ns/* for the whole namespace.
    const type_name parsed(e.functions);
    if (parsed.namespace_name().find('*') != std::string_view::npos ||
        (parsed.name() != "*" && parsed.name().find('*') != std::string_view::npos)) {
      r.fail(functions, "'" + e.functions +
                            "' is not a function type or a namespace: only "
                            "<namespace>/<name> or <namespace>/* are allowed");
    }
  }

  const located url = spec.require("urlPathTemplate");
  e.url_path_template = non_empty_text(r, url);

  if (const auto batch = spec.find("maxNumBatchRequests")) {
    e.max_num_batch_requests = static_cast<int>(integer(r, *batch, int32_min, int32_max));
  }

  if (!v2) {
    e.transport = local::transport_kind::okhttp;
    e = okhttp_timeouts(r, spec, std::move(e));
  } else if (const auto transport_node = spec.find("transport")) {
    std::string type(async_transport);
    if (!transport_node->node.IsMap()) {
      r.fail(*transport_node, "expected a map such as {type: " + std::string(okhttp_transport) +
                                  "}, got " + std::string(describe(transport_node->node)));
    }
    // Read `type` first: it decides which keys the transport reads.
    for (auto it = transport_node->node.begin(); it != transport_node->node.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "type" && !it->second.IsNull()) {
        type =
            type_name_at(r, {it->second, transport_node->path + ".type", line_of(it->first.Mark())},
                         "transport");
      }
    }
    if (type == okhttp_transport) {
      e.transport = local::transport_kind::okhttp;
      const fields transport(r, *transport_node, {"type", "timeouts"}, "the okhttp transport",
                             {{"call", "the okhttp transport reads timeouts.call"},
                              {"connect", "the okhttp transport reads timeouts.connect"},
                              {"pool_ttl", "an async transport setting"},
                              {"pool_size", "an async transport setting"},
                              {"payload_max_bytes", "an async transport setting"},
                              {"trust_cacerts", okhttp_tls_note},
                              {"client_cert", okhttp_tls_note},
                              {"client_key", okhttp_tls_note},
                              {"client_key_password", okhttp_tls_note}});
      e = okhttp_timeouts(r, transport, std::move(e));
    } else if (type == async_transport) {
      e.transport = local::transport_kind::async;
      const fields transport(
          r, *transport_node,
          {"type", "call", "connect", "pool_ttl", "pool_size", "payload_max_bytes", "trust_cacerts",
           "client_cert", "client_key", "client_key_password", "timeouts"},
          "the async transport");
      e = async_transport_properties(r, transport, std::move(e));
    } else {
      const fields transport(r, *transport_node, {"type"}, "the runtime");
      r.fail(transport.require("type"), "unknown transport '" + type + "' (expected " +
                                            std::string(async_transport) + " or " +
                                            std::string(okhttp_transport) + ")");
    }
  } else {
    // No transport: async with its defaults (FLINK-24534; the docs still say okhttp).
    e.transport = local::transport_kind::async;
  }

  const url_shape shape = check_url(r, url, e.url_path_template);
  if (shape.unix_socket && e.transport == local::transport_kind::async) {
    r.fail(url, "'" + e.url_path_template + "': " + shape.scheme +
                    " URLs work only with the okhttp transport (rule 8); set transport.type: " +
                    std::string(okhttp_transport) + ", or use io.statefun.endpoints.v1/http");
  }
  if (shape.scheme == "https+unix") {
    r.warn(url,
           "is reached without TLS: the runtime speaks plain HTTP over a Unix socket, "
           "https+unix included");
  }
  if (!e.tls.empty() && shape.scheme != "https") {
    r.warn(url, "is not https, so the runtime reads none of the endpoint's TLS settings");
  }
  return {std::move(e), functions};
}

// --- Ingresses and egresses -----------------------------------------------------------------

/// `awsRegion` (AwsRegionJsonDeserializer).
inline void aws_region(const reader& r, const located& at) {
  const fields region(r, at, {"type", "id", "endpoint"});
  const std::string type = one_of(r, region.require("type"), "AWS region type",
                                  {"default", "specific", "custom-endpoint"});
  if (type == "specific") {
    (void)non_empty_text(r, region.require("id"));
  } else if (type == "custom-endpoint") {
    (void)non_empty_text(r, region.require("endpoint"));
    (void)non_empty_text(r, region.require("id"));
  }
}

/// `awsCredentials` (AwsCredentialsJsonDeserializer).
inline void aws_credentials(const reader& r, const located& at) {
  const fields credentials(
      r, at, {"type", "accessKeyId", "secretAccessKey", "profileName", "profilePath"});
  const std::string type = one_of(r, credentials.require("type"), "AWS credentials type",
                                  {"default", "basic", "profile"});
  if (type == "basic") {
    (void)non_empty_text(r, credentials.require("accessKeyId"));
    (void)non_empty_text(r, credentials.require("secretAccessKey"));
  } else if (type == "profile") {
    (void)non_empty_text(r, credentials.require("profileName"));
    if (const auto path = credentials.find("profilePath")) {
      (void)non_empty_text(r, *path);
    }
  }
}

/// `topics[]` (Kafka) or `streams[]` (Kinesis): where records go.
inline std::vector<local::ingress_route> routes(const reader& r, const fields& spec,
                                                std::string_view list_key,
                                                std::string_view name_key) {
  const located list = spec.require(list_key);
  std::vector<local::ingress_route> out;
  std::vector<located> where_named;
  for (const located& element : elements(r, list)) {
    const fields route(r, element, {name_key, "valueType", "targets"});
    local::ingress_route result;
    const located name = route.require(name_key);
    result.topic = non_empty_text(r, name);
    result.value_type = type_name_at(r, route.require("valueType"), "valueType");
    const located targets = route.require("targets");
    for (const located& target : elements(r, targets)) {
      result.targets.push_back(function_type_at(r, target));
    }
    if (result.targets.empty()) {
      r.fail(targets, "is empty: records of " + std::string(name_key) + " '" + result.topic +
                          "' would go nowhere");
    }
    // The runtime keeps routes in a map keyed by name: a later entry replaces an earlier one.
    const auto same = std::find_if(out.begin(), out.end(), [&](const local::ingress_route& x) {
      return x.topic == result.topic;
    });
    if (same != out.end()) {
      r.warn(name, "names '" + result.topic +
                       "' again; the runtime keeps only this entry and "
                       "drops the one at " +
                       where_named[static_cast<std::size_t>(same - out.begin())].path);
      where_named[static_cast<std::size_t>(same - out.begin())] = name;
      *same = std::move(result);
    } else {
      where_named.push_back(name);
      out.push_back(std::move(result));
    }
  }
  if (out.empty()) {
    r.fail(list, "is empty: an ingress needs at least one " + std::string(name_key));
  }
  return out;
}

/// The ingress or egress id: `spec.id`, or (legacy format) `meta.id`, which replaces it.
inline located component_id(const reader& r, const fields& spec,
                            const std::optional<located>& legacy_id) {
  if (!legacy_id) {
    return spec.require("id");
  }
  if (const auto own = spec.find("id");
      own && own->node.IsScalar() && own->node.Scalar() != legacy_id->node.Scalar()) {
    r.warn(*own, "is not read by the runtime (ignored: the legacy format replaces it with " +
                     legacy_id->path + ")");
  }
  return *legacy_id;
}

inline read_spec<local::ingress_spec> kafka_ingress(const reader& r, const located& spec_node,
                                                    std::size_t line,
                                                    const std::optional<located>& legacy_id) {
  const fields spec(r, spec_node,
                    {"id", "address", "consumerGroupId", "topics", "autoOffsetResetPosition",
                     "startupPosition", "properties"});
  local::ingress_spec in;
  in.kind = local::ingress_kind::kafka;
  in.source = r.spec_source(line);
  const located id = component_id(r, spec, legacy_id);
  in.id = type_name_at(r, id, "ingress id");
  if (const auto address = spec.find("address")) {
    (void)non_empty_text(r, *address);
  }
  if (const auto group = spec.find("consumerGroupId")) {
    (void)non_empty_text(r, *group);
  }
  if (const auto reset = spec.find("autoOffsetResetPosition")) {
    // Upper-cased and matched against the enum, so any case will do.
    const std::string value = lower_ascii(text(r, *reset));
    if (value != "earliest" && value != "latest") {
      r.fail(*reset, "unknown autoOffsetResetPosition '" + reset->node.Scalar() +
                         "' (expected earliest or latest)");
    }
  }
  if (const auto startup = spec.find("startupPosition")) {
    const fields position(r, *startup, {"type", "offsets", "date"});
    const std::string type =
        one_of(r, position.require("type"), "startup position type",
               {"group-offsets", "earliest", "latest", "specific-offsets", "date"});
    if (type == "specific-offsets") {
      const located offsets = position.require("offsets");
      for (const located& element : elements(r, offsets)) {
        if (!element.node.IsMap() || element.node.size() != 1) {
          r.fail(element, "expected a single-key map such as '\"names/0\": 42'");
        }
        const auto entry = element.node.begin();
        const located value{entry->second, element.path + "." + entry->first.Scalar(),
                            line_of(entry->first.Mark())};
        const std::string partition = entry->first.Scalar();
        const std::size_t slash = partition.rfind('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 == partition.size() ||
            partition.find_first_not_of("0123456789", slash + 1) != std::string::npos) {
          r.fail(value, "'" + partition + "' is not <topic>/<partition number>");
        }
        (void)integer(r, value, std::numeric_limits<std::int64_t>::min(),
                      std::numeric_limits<std::int64_t>::max());
      }
    } else if (type == "date") {
      startup_date(r, position.require("date"));
    }
  }
  if (const auto props = spec.find("properties")) {
    properties(r, *props);
  }
  in.routes = routes(r, spec, "topics", "topic");
  return {std::move(in), id};
}

inline read_spec<local::ingress_spec> kinesis_ingress(const reader& r, const located& spec_node,
                                                      std::size_t line,
                                                      const std::optional<located>& legacy_id) {
  const fields spec(r, spec_node,
                    {"id", "awsRegion", "awsCredentials", "startupPosition", "streams",
                     "clientConfigProperties"});
  local::ingress_spec in;
  in.kind = local::ingress_kind::kinesis;
  in.source = r.spec_source(line);
  const located id = component_id(r, spec, legacy_id);
  in.id = type_name_at(r, id, "ingress id");
  if (const auto region = spec.find("awsRegion")) {
    aws_region(r, *region);
  }
  if (const auto credentials = spec.find("awsCredentials")) {
    aws_credentials(r, *credentials);
  }
  if (const auto startup = spec.find("startupPosition")) {
    const fields position(r, *startup, {"type", "date"});
    const std::string type = one_of(r, position.require("type"), "startup position type",
                                    {"latest", "earliest", "date"});
    if (type == "date") {
      startup_date(r, position.require("date"));
    }
  }
  if (const auto props = spec.find("clientConfigProperties")) {
    properties(r, *props);
  }
  in.routes = routes(r, spec, "streams", "stream");
  return {std::move(in), id};
}

inline read_spec<local::egress_spec> kafka_egress(const reader& r, const located& spec_node,
                                                  std::size_t line,
                                                  const std::optional<located>& legacy_id) {
  const fields spec(r, spec_node, {"id", "address", "deliverySemantic", "properties"});
  local::egress_spec eg;
  eg.kind = local::egress_kind::kafka;
  eg.source = r.spec_source(line);
  const located id = component_id(r, spec, legacy_id);
  eg.id = type_name_at(r, id, "egress id");
  if (const auto address = spec.find("address")) {
    (void)non_empty_text(r, *address);
  }
  if (const auto semantic = spec.find("deliverySemantic")) {
    const fields delivery(r, *semantic, {"type", "transactionTimeout", "transactionTimeoutMillis"});
    const std::string type = one_of(r, delivery.require("type"), "delivery semantic",
                                    {"at-least-once", "exactly-once", "none"});
    const auto timeout = delivery.find("transactionTimeout");
    const auto millis = delivery.find("transactionTimeoutMillis");
    if (type == "exactly-once") {
      eg.semantic = local::delivery_semantic::exactly_once;
      if (millis) {
        // The deprecated field wins, for backwards compatibility (GenericKafkaEgressSpec).
        if (integer(r, *millis, 0, std::numeric_limits<std::int64_t>::max()) == 0) {
          r.fail(*millis, "must be longer than 0");
        }
        if (timeout) {
          r.warn(*timeout, "is not read by the runtime (ignored: " + millis->path +
                               " is "
                               "present and takes priority)");
        }
      } else if (timeout) {
        (void)positive_duration(r, *timeout);
      } else {
        r.fail(delivery.self(),
               "exactly-once needs transactionTimeout (a duration such as "
               "'15 min'), which the runtime requires");
      }
    } else {
      eg.semantic =
          type == "none" ? local::delivery_semantic::none : local::delivery_semantic::at_least_once;
      for (const auto& unused : {timeout, millis}) {
        if (unused) {
          r.warn(*unused,
                 "is not read by the runtime (ignored: only exactly-once has a "
                 "transaction timeout)");
        }
      }
    }
  }
  if (const auto props = spec.find("properties")) {
    properties(r, *props);
  }
  return {std::move(eg), id};
}

inline read_spec<local::egress_spec> kinesis_egress(const reader& r, const located& spec_node,
                                                    std::size_t line,
                                                    const std::optional<located>& legacy_id) {
  const fields spec(
      r, spec_node,
      {"id", "awsRegion", "awsCredentials", "maxOutstandingRecords", "clientConfigProperties"});
  local::egress_spec eg;
  eg.kind = local::egress_kind::kinesis;
  eg.source = r.spec_source(line);
  const located id = component_id(r, spec, legacy_id);
  eg.id = type_name_at(r, id, "egress id");
  if (const auto region = spec.find("awsRegion")) {
    aws_region(r, *region);
  }
  if (const auto credentials = spec.find("awsCredentials")) {
    aws_credentials(r, *credentials);
  }
  if (const auto outstanding = spec.find("maxOutstandingRecords")) {
    (void)integer(r, *outstanding, 1, int32_max);
  }
  if (const auto props = spec.find("clientConfigProperties")) {
    properties(r, *props);
  }
  return {std::move(eg), id};
}

/// Adds `read` to the module, unless an earlier spec has the same id (rule 2 for endpoints).
template <class Spec>
void add(const reader& r, read_spec<Spec> read, std::vector<Spec>& specs, std::string_view what) {
  for (const Spec& existing : specs) {
    if constexpr (std::is_same_v<Spec, local::endpoint_spec>) {
      if (existing.functions == read.spec.functions) {
        r.fail(read.key, binding_name(existing.functions) +
                             " is already bound by the endpoint at " + where(existing.source));
      }
    } else if (existing.id == read.spec.id) {
      r.fail(read.key, std::string(what) + " " + existing.id + " is already defined at " +
                           where(existing.source));
    }
  }
  specs.push_back(std::move(read.spec));
}

/// Binds one component into `out`, as the binder its kind selects would.
inline void read_component(const reader& r, component which, const located& spec, std::size_t line,
                 const std::optional<located>& legacy_id, module& out) {
  switch (which) {
    case component::endpoint_v1: add(r, endpoint(r, spec, false, line), out.endpoints, ""); break;
    case component::endpoint_v2: add(r, endpoint(r, spec, true, line), out.endpoints, ""); break;
    case component::kafka_ingress:
      add(r, kafka_ingress(r, spec, line, legacy_id), out.ingresses, "ingress");
      break;
    case component::kinesis_ingress:
      add(r, kinesis_ingress(r, spec, line, legacy_id), out.ingresses, "ingress");
      break;
    case component::kafka_egress:
      add(r, kafka_egress(r, spec, line, legacy_id), out.egresses, "egress");
      break;
    case component::kinesis_egress:
      add(r, kinesis_egress(r, spec, line, legacy_id), out.egresses, "egress");
      break;
  }
}

/// The binder for `kind`; an error listing the known kinds otherwise.
inline component component_of(const reader& r, const located& at, const std::string& kind) {
  for (const auto& k : component_kinds) {
    if (k.name == kind) {
      return k.which;
    }
  }
  std::string message = "unknown kind '" + kind + "'";
  for (const auto& [legacy, current] : legacy_kinds) {
    if (legacy == kind) {
      message +=
          " (that is the legacy name; the component format calls it " + std::string(current) + ")";
      r.fail(at, message);
    }
  }
  message += " (expected one of ";
  for (std::size_t i = 0; i < std::size(component_kinds); ++i) {
    message.append(i == 0 ? "" : ", ").append(component_kinds[i].name);
  }
  r.fail(at, message + ")");
}

/// One `{kind, spec}` document of the component format (StateFun >= 3.1).
inline void component_document(reader& r, const YAML::Node& document, module& out) {
  const located root{document, "", line_of(document.Mark())};
  // Name the kind in warnings about the document's own keys, which are checked first.
  if (const YAML::Node kind = document["kind"]; kind && kind.IsScalar()) {
    r.set_kind(kind.Scalar());
  }
  const fields top(r, root, {"kind", "spec"}, "the runtime",
                   {{"version",
                     "a top-level version marks the legacy format only in a file "
                     "with a single YAML document"}});
  const located kind = top.require("kind");
  const std::string name = text(r, kind);
  r.set_kind(name);
  const component which = component_of(r, kind, name);
  read_component(r, which, top.require("spec"), root.line, std::nullopt, out);
}

/// A number as YAML reads an unquoted scalar, which Jackson then refuses as a version string.
inline bool plain_number(const YAML::Node& scalar) {
  if (scalar.Tag() != "?") {
    return false;
  }
  const std::string& s = scalar.Scalar();
  return !s.empty() && s.find_first_not_of("0123456789.+-eE") == std::string::npos &&
         s.find_first_of("0123456789") != std::string::npos;
}

// --- The StateFun 2.x format (version "1.0" and "2.0"), told how to write it now ---------------

/// `node[key]` when `node` is a map that has it (yaml-cpp's operator[] on a const node of
/// another kind throws).
inline YAML::Node child(const YAML::Node& node, std::string_view key) {
  if (!node.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return node[std::string(key)];
}

inline std::string scalar_or(const YAML::Node& node, std::string_view fallback) {
  return node && node.IsScalar() ? node.Scalar() : std::string(fallback);
}

/// The entries of `spec.<list>`, each unwrapped from its `- <entry>:` wrapper.
inline std::vector<YAML::Node> legacy_entries(const YAML::Node& spec, std::string_view list,
                                              std::string_view entry) {
  std::vector<YAML::Node> out;
  const YAML::Node items = child(spec, list);
  if (items && items.IsSequence()) {
    for (const YAML::Node& item : items) {
      if (const YAML::Node inner = child(item, entry); inner && inner.IsMap()) {
        out.push_back(inner);
      }
    }
  }
  return out;
}

/// The function type a 2.x router sends to: its target without the id template.
inline std::string router_function(const std::string& target) {
  const std::size_t first = target.find('/');
  const std::size_t second = first == std::string::npos ? first : target.find('/', first + 1);
  return target.substr(0, second);
}

/**
 * A 2.x module spec (`functions`, `routers`, `ingresses`, `egresses`) written in the component
 * format, one `kind`/`spec` document per piece, followed by notes on what does not carry over.
 */
inline std::string legacy_2x_rewrite(const YAML::Node& spec) {
  std::vector<YAML::Node> documents;
  std::vector<std::string> notes;
  std::string with_states;  // the functions that listed states
  auto document = [&](std::string_view kind, const YAML::Node& body) {
    YAML::Node d;
    d["kind"] = std::string(kind);
    d["spec"] = body;
    documents.push_back(d);
  };

  for (const YAML::Node& function : legacy_entries(spec, "functions", "function")) {
    const YAML::Node meta = child(function, "meta");
    const YAML::Node body = child(function, "spec");
    const std::string type = scalar_or(child(meta, "type"), "<namespace/name>");
    const std::string kind = scalar_or(child(meta, "kind"), "");
    if (kind != "http") {
      notes.push_back("function " + type + " (kind " + (kind.empty() ? "none" : kind) +
                      "): remote functions are reached over HTTP only now; serve it at an http(s) "
                      "URL and give it an io.statefun.endpoints.v2/http document");
      continue;
    }
    YAML::Node endpoint;
    endpoint["functions"] = type;
    endpoint["urlPathTemplate"] = scalar_or(child(body, "endpoint"), "<the function's URL>");
    if (const YAML::Node batch = child(body, "maxNumBatchRequests"); batch && batch.IsScalar()) {
      endpoint["maxNumBatchRequests"] = batch.Scalar();
    }
    // 2.x's timeouts become the transport's; read and write timeouts exist for okhttp only.
    YAML::Node timeouts;
    constexpr std::pair<std::string_view, std::string_view> renames[] = {
        {"timeout", "call"}, {"connectTimeout", "connect"}, {"readTimeout", "read"}, {"writeTimeout", "write"}};
    bool okhttp = false;
    for (const auto& [old_name, new_name] : renames) {
      if (const YAML::Node t = child(body, old_name); t && t.IsScalar()) {
        timeouts[std::string(new_name)] = t.Scalar();
        okhttp = okhttp || new_name == "read" || new_name == "write";
      }
    }
    if (timeouts.size() > 0) {
      YAML::Node transport;
      if (okhttp) {
        transport["type"] = std::string(okhttp_transport);
      }
      transport["timeouts"] = timeouts;
      endpoint["transport"] = transport;
    }
    if (child(body, "states")) {
      with_states.append(with_states.empty() ? "" : ", ").append(type);
    }
    document("io.statefun.endpoints.v2/http", endpoint);
  }

  if (!with_states.empty()) {
    notes.push_back("states of " + with_states +
                    ": module.yaml lists no states any more; each function declares its own (in this "
                    "SDK, the value_specs given to functions::bind)");
  }

  // Routers: what a 2.x ingress's records went to; the topics of an ingress name them now.
  std::vector<std::pair<std::string, std::string>> routes;  // ingress id, function type
  for (const YAML::Node& router : legacy_entries(spec, "routers", "router")) {
    const YAML::Node body = child(router, "spec");
    routes.emplace_back(scalar_or(child(body, "ingress"), ""),
                        router_function(scalar_or(child(body, "target"), "")));
  }
  if (!routes.empty()) {
    notes.push_back("routers: there are none any more; each topic of an ingress lists its targets "
                    "(filled in above from the routers)");
  }

  struct io_kind {
    std::string_view legacy_prefix;
    std::string_view current;
    std::string_view list;  // topics or streams, whose typeUrl is now valueType
  };
  constexpr io_kind ingress_kinds[] = {{"statefun.kafka.io/", "io.statefun.kafka.v1/ingress", "topics"},
                                       {"statefun.kinesis.io/", "io.statefun.kinesis.v1/ingress", "streams"}};
  constexpr io_kind egress_kinds[] = {{"statefun.kafka.io/", "io.statefun.kafka.v1/egress", ""},
                                      {"statefun.kinesis.io/", "io.statefun.kinesis.v1/egress", ""}};
  auto io = [&](std::string_view list, std::string_view entry, const auto& kinds) {
    for (const YAML::Node& component : legacy_entries(spec, list, entry)) {
      const YAML::Node meta = child(component, "meta");
      const std::string type = scalar_or(child(meta, "type"), "");
      const std::string id = scalar_or(child(meta, "id"), "<namespace/name>");
      const io_kind* match = nullptr;
      for (const io_kind& k : kinds) {
        if (type.starts_with(k.legacy_prefix)) {
          match = &k;
        }
      }
      if (match == nullptr) {
        notes.push_back(std::string(entry) + " " + id + " (type " + type +
                        "): no component of the module.yaml format reads it (Kafka and Kinesis only)");
        continue;
      }
      YAML::Node body;
      body["id"] = id;
      const YAML::Node old_body = child(component, "spec");
      const std::string message_type = scalar_or(child(old_body, "messageType"), "");
      if (old_body.IsMap()) {
        for (const auto& field : old_body) {
          const std::string key = field.first.Scalar();
          if (key == "messageType" || key == "descriptorSet") {
            continue;  // protobuf routing of 2.x: the topic's valueType and targets replace it
          }
          if (key == "deliverySemantic" && field.second.IsMap() && field.second["transactionTimeoutMillis"]) {
            YAML::Node semantic = YAML::Clone(field.second);
            semantic.remove("transactionTimeoutMillis");
            semantic["transactionTimeout"] = field.second["transactionTimeoutMillis"].Scalar() + "ms";
            body[key] = semantic;
            continue;
          }
          if (!match->list.empty() && key == match->list && field.second.IsSequence()) {
            YAML::Node entries(YAML::NodeType::Sequence);
            for (const YAML::Node& e : field.second) {
              YAML::Node out;
              if (e.IsScalar()) {  // a plain topic name, routed by routers
                out[match->list == "topics" ? "topic" : "stream"] = e.Scalar();
                out["valueType"] =
                    message_type.empty() ? "<the type name of its values>" : "type.googleapis.com/" + message_type;
                YAML::Node targets(YAML::NodeType::Sequence);
                for (const auto& [ingress, function] : routes) {
                  if (ingress == id) {
                    targets.push_back(function);
                  }
                }
                if (targets.size() == 0) {
                  targets.push_back("<namespace/function>");
                }
                out["targets"] = targets;
              } else if (e.IsMap()) {
                for (const auto& f : e) {
                  out[f.first.Scalar() == "typeUrl" ? "valueType" : f.first.Scalar()] = f.second;
                }
              }
              entries.push_back(out);
            }
            body[key] = entries;
            continue;
          }
          body[key] = field.second;
        }
      }
      document(match->current, body);
    }
  };
  io("ingresses", "ingress", ingress_kinds);
  io("egresses", "egress", egress_kinds);

  std::string out;
  for (const YAML::Node& d : documents) {
    YAML::Emitter emitter;
    emitter << d;
    out.append(out.empty() ? "" : "---\n").append(emitter.c_str()).append("\n");
  }
  if (documents.empty()) {
    out = "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: <namespace/name>\n  urlPathTemplate: <URL>\n";
  }
  for (const std::string& note : notes) {
    out.append("(").append(note).append(")\n");
  }
  return out;
}

/// The single document of the legacy format (`version: "3.0"`, `LegacyRemoteModuleV30`).
inline void legacy_document(reader& r, const YAML::Node& document, module& out) {
  r.set_kind("legacy format");
  const located root{document, "", line_of(document.Mark())};
  const fields top(r, root, {"version", "module"});
  // In JsonServiceLoader's order: the version must be text, then the module must be remote,
  // then the version must be 3.0.
  const located version = top.require("version");
  // (An unquoted 1.0 or 2.0 goes on to the message about the 2.x format, which says more.)
  const bool format_2x = version.node.IsScalar() && (version.node.Scalar() == "1.0" || version.node.Scalar() == "2.0");
  if (!version.node.IsScalar() || (plain_number(version.node) && !format_2x)) {
    r.fail(version, version.node.IsScalar() ? "is the number " + version.node.Scalar() +
                                                  ", and the runtime wants a "
                                                  "string: write version: \"" +
                                                  version.node.Scalar() + "\""
                                            : "expected a string such as \"3.0\", got " +
                                                  std::string(describe(version.node)));
  }
  const fields module_fields(r, top.require("module"), {"meta", "spec"});
  const fields meta(r, module_fields.require("meta"), {"type"});
  const located type = meta.require("type");
  if (lower_ascii(text(r, type)) != "remote") {
    r.fail(type, "unknown module type '" + type.node.Scalar() + "' (only remote is supported)");
  }
  const std::string v = version.node.Scalar();
  if (v == "1.0" || v == "2.0") {
    r.fail(version, "format version " + v +
                        " is the legacy module.yaml of StateFun 2.x (module, meta: remote, spec: functions, "
                        "routers, ingresses, egresses), which StateFun 3 does not read. Write one YAML "
                        "document per component, kind and spec, separated by ---; this file reads, in "
                        "that format (docs/module_yaml.md):\n" +
                        legacy_2x_rewrite(module_fields.find("spec") ? module_fields.find("spec")->node : YAML::Node()));
  }
  if (v == "3.1") {
    r.fail(version,
           "format version 3.1 is not read in the legacy layout; drop version and "
           "module and write one kind/spec document per component");
  }
  if (v != "3.0") {
    r.fail(version, "unknown format version '" + v + "' (the legacy format is version \"3.0\")");
  }
  r.set_kind("version 3.0");

  const fields spec(r, module_fields.require("spec"), {"endpoints", "ingresses", "egresses"});
  // Endpoints, then ingresses, then egresses, as LegacyRemoteModuleV30 binds them.
  struct section {
    std::string_view list;
    std::string_view entry;
    std::string_view kind_key;
    bool has_id;
  };
  constexpr section sections[] = {{"endpoints", "endpoint", "kind", false},
                                  {"ingresses", "ingress", "type", true},
                                  {"egresses", "egress", "type", true}};
  for (const section& s : sections) {
    const auto list = spec.find(s.list);
    if (!list) {
      continue;
    }
    for (const located& element : elements(r, *list)) {
      r.set_kind("version 3.0");
      const fields wrapper(r, element, {s.entry});
      const fields entry(r, wrapper.require(s.entry), {"meta", "spec"});
      const fields entry_meta(r, entry.require("meta"),
                              s.has_id ? std::initializer_list<std::string_view>{s.kind_key, "id"}
                                       : std::initializer_list<std::string_view>{s.kind_key});
      const located kind = entry_meta.require(s.kind_key);
      std::string name = text(r, kind);
      for (const auto& [legacy, current] : legacy_kinds) {
        if (legacy == name) {
          name = current;
        }
      }
      r.set_kind("version 3.0, " + name);
      const component which = component_of(r, kind, name);
      std::optional<located> id;
      if (s.has_id) {
        id = entry_meta.require("id");
      }
      read_component(r, which, entry.require("spec"), element.line, id, out);
    }
  }
}

/// Reads every document of one file.
inline module documents(std::string_view source, const std::vector<YAML::Node>& docs) {
  module out;
  const bool legacy = docs.size() == 1 && docs[0].IsMap() && docs[0]["version"];
  for (std::size_t i = 0; i < docs.size(); ++i) {
    reader r(source, i + 1, out.warnings);
    if (docs[i].IsNull()) {
      continue;  // an empty document, e.g. after a trailing ---
    }
    if (!docs[i].IsMap()) {
      r.fail({docs[i], "", line_of(docs[i].Mark())},
             "expected a map with kind and spec, got " + std::string(describe(docs[i])));
    }
    if (legacy) {
      legacy_document(r, docs[i], out);
    } else {
      component_document(r, docs[i], out);
    }
  }
  return out;
}

/// `file:line (document N)` back into its parts, for errors about specs already read.
struct spec_location {
  std::string file;
  std::size_t line = 0;
  std::size_t document = 0;
};

inline spec_location parse_spec_source(std::string_view source) {
  if (source.empty()) {
    return {"(a spec built in code)"};
  }
  constexpr std::string_view marker = " (document ";
  const std::size_t open = source.rfind(marker);
  if (open == std::string_view::npos || source.empty() || source.back() != ')') {
    return {std::string(source)};
  }
  spec_location out;
  const std::string_view number =
      source.substr(open + marker.size(), source.size() - 1 - open - marker.size());
  const std::string_view head = source.substr(0, open);
  const std::size_t colon = head.rfind(':');
  if (std::from_chars(number.data(), number.data() + number.size(), out.document).ec !=
          std::errc{} ||
      colon == std::string_view::npos ||
      std::from_chars(head.data() + colon + 1, head.data() + head.size(), out.line).ec !=
          std::errc{}) {
    return {std::string(source)};
  }
  out.file = std::string(head.substr(0, colon));
  return out;
}

[[noreturn]] inline void fail_at_spec(std::string_view spec_source, std::string field,
                                      std::string reason) {
  spec_location at = parse_spec_source(spec_source);
  throw module_error(std::move(at.file), at.document, {}, std::move(field), at.line,
                     std::move(reason));
}

}  // namespace statefun::inline v0::detail::module_yaml

namespace statefun::inline v0::local {

/**
 * Reads a `module.yaml` held in memory: the component format (one `{kind, spec}` per YAML
 * document, StateFun >= 3.1) or the legacy single-document `version: "3.0"` format.
 *
 * **Example**:
 * @code
 * auto m = statefun::local::parse_module(R"(
 * kind: io.statefun.endpoints.v2/http
 * spec:
 *   functions: example/greeter
 *   urlPathTemplate: http://localhost:8000/statefun
 * )");
 * assert(m.endpoints[0].transport == statefun::local::transport_kind::async);
 * @endcode
 *
 * @param yaml_text   the file's text.
 * @param source_name the name messages give the text, usually its file name.
 * @return the endpoints, ingresses and egresses in file order, each with its `source`
 *         (`file:line (document N)`), and a warning for every field the runtime ignores.
 * @throws module_error if the text is not YAML or if the runtime would refuse it; the error
 *         names the document, the field and the line.
 */
[[nodiscard]] inline module parse_module(std::string_view yaml_text,
                                         std::string_view source_name = "module.yaml") {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw module_error(std::string(source_name), 0, {}, {},
                       ::statefun::detail::module_yaml::line_of(e.mark),
                       "not valid YAML: " + e.msg);
  }
  return ::statefun::detail::module_yaml::documents(source_name, docs);
}

/**
 * Reads a `module.yaml` file.
 *
 * @param file the file; messages name it as given.
 * @return as `parse_module`.
 * @throws module_error naming the file if it cannot be read, or as `parse_module`.
 */
[[nodiscard]] inline module load_module(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw module_error(name, 0, {}, {}, 0, "is a directory, not a module file");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw module_error(name, 0, {}, {}, 0,
                       "cannot be read: " + std::generic_category().message(errno));
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    throw module_error(name, 0, {}, {}, 0,
                       "cannot be read: " + std::generic_category().message(errno));
  }
  return parse_module(text, name);
}

/**
 * Adds the components of `more` (another file, or specs built in code) to `into`, as the
 * runtime combines the modules it loads.
 *
 * @param into the module read so far; unchanged if this throws.
 * @param more the module to add.
 * @throws module_error if `more` binds a function type or namespace that is already bound
 *         (rule 2), or defines an ingress or egress id twice; it names both places.
 */
inline void append_module(module& into, const module& more) {
  namespace mod = ::statefun::detail::module_yaml;
  // Check everything before changing anything. Comparing against `more`'s own earlier entries
  // too catches duplicates in a module that was built in code rather than parsed.
  for (std::size_t i = 0; i < more.endpoints.size(); ++i) {
    const auto& e = more.endpoints[i];
    const endpoint_spec* previous = mod::bound(into, e.functions);
    for (std::size_t j = 0; previous == nullptr && j < i; ++j) {
      if (more.endpoints[j].functions == e.functions) {
        previous = &more.endpoints[j];
      }
    }
    if (previous != nullptr) {
      mod::fail_at_spec(e.source, "spec.functions",
                        mod::binding_name(e.functions) + " is already bound by the endpoint at " +
                            mod::where(previous->source));
    }
  }
  const auto check_ids = [](const auto& existing, const auto& added, std::string_view what) {
    for (std::size_t i = 0; i < added.size(); ++i) {
      for (std::size_t j = 0; j < existing.size() + i; ++j) {
        const auto& other = j < existing.size() ? existing[j] : added[j - existing.size()];
        if (other.id == added[i].id) {
          mod::fail_at_spec(added[i].source, "spec.id",
                            std::string(what) + " " + added[i].id + " is already defined at " +
                                mod::where(other.source));
        }
      }
    }
  };
  check_ids(into.ingresses, more.ingresses, "ingress");
  check_ids(into.egresses, more.egresses, "egress");

  into.endpoints.insert(into.endpoints.end(), more.endpoints.begin(), more.endpoints.end());
  into.ingresses.insert(into.ingresses.end(), more.ingresses.begin(), more.ingresses.end());
  into.egresses.insert(into.egresses.end(), more.egresses.begin(), more.egresses.end());
  into.warnings.insert(into.warnings.end(), more.warnings.begin(), more.warnings.end());
}

/**
 * Reads several `module.yaml` files into one module, in order.
 *
 * @throws module_error as `load_module` and `append_module`.
 */
[[nodiscard]] inline module load_modules(const std::vector<std::filesystem::path>& files) {
  module all;
  for (const auto& file : files) {
    append_module(all, load_module(file));
  }
  return all;
}

}  // namespace statefun::inline v0::local
