#pragma once

/// @file
/// `append_log_line`: a log event as one line of JSON or logfmt, every value escaped and
/// bounded; and `callback_log_sink`, which hands such lines to a function (the server's legacy
/// `log` callback).

#include <statefun/config.hpp>
#include <statefun/detail/printable.hpp>
#include <statefun/log.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace statefun::inline v0 {

/// How a log event is written as a line of text.
enum class log_format : std::uint8_t {
  /// One JSON object per line (JSON Lines): `{"ts":"...","level":"warn","event":"...",
  /// "msg":"...","peer":"...","status":400}`. What log collectors (Fluent Bit, Vector,
  /// Promtail/Loki, Cloud Logging, Datadog) parse without configuration.
  json,
  /// logfmt: `ts=... level=warn event=... msg="..." peer=... status=400`. Easier to read at a
  /// terminal; Loki (`| logfmt`) and Grafana parse it too.
  logfmt,
};

/// A text value longer than this (in bytes, before escaping) is cut in its middle.
inline constexpr std::size_t max_log_value_bytes = 512;

namespace detail {

/// Appends `text` as a JSON string's contents: `text` is `printable` already (no control
/// character, valid UTF-8), so only `"` and `\` need escaping.
inline void append_json_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
}

/// Appends `text` (`printable` already) as a logfmt value: bare when it can be, else quoted.
inline void append_logfmt_value(std::string& out, std::string_view text) {
  const bool quote = text.empty() || text.find_first_of(" =\"") != std::string_view::npos;
  if (!quote) {
    out += text;
    return;
  }
  out += '"';
  append_json_escaped(out, text);  // (the same two escapes)
  out += '"';
}

/// "2026-01-31T12:34:56.789Z".
inline void append_utc_time(std::string& out, std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day date(day);
  const hh_mm_ss clock(ms - day);
  const auto digits = [&out](long value, int width) {
    char buffer[8];
    for (int i = width - 1; i >= 0; --i) {
      buffer[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    out.append(buffer, static_cast<std::size_t>(width));
  };
  digits(static_cast<int>(date.year()), 4);
  out += '-';
  digits(static_cast<long>(static_cast<unsigned>(date.month())), 2);
  out += '-';
  digits(static_cast<long>(static_cast<unsigned>(date.day())), 2);
  out += 'T';
  digits(clock.hours().count(), 2);
  out += ':';
  digits(clock.minutes().count(), 2);
  out += ':';
  digits(static_cast<long>(clock.seconds().count()), 2);
  out += '.';
  digits(static_cast<long>(clock.subseconds().count()), 3);
  out += 'Z';
}

}  // namespace detail

/**
 * Appends `event` to `out` as one line (without its '\n'): `ts` (if `time` is set, UTC, RFC
 * 3339 with milliseconds), `level`, `event`, `msg`, then the fields in order. Every text is
 * escaped as `printable` does (control characters, line and paragraph separators and
 * bidirectional controls as `\u{1b}`, bytes that are not UTF-8 as `\xff`, `\` as `\\`) and cut
 * in its middle past `max_log_value_bytes`; then quoted for the format. So the line is valid
 * UTF-8 (and valid JSON), on one line, whatever a client sent.
 */
inline void append_log_line(std::string& out, const log_event& event, log_format format,
                            std::optional<std::chrono::system_clock::time_point> time) {
  bool first = true;
  const auto key = [&](std::string_view name) {
    if (format == log_format::json) {
      out += first ? "{\"" : ",\"";
      detail::append_json_escaped(out, detail::printable(name, max_log_value_bytes));
      out += "\":";
    } else {
      if (!first) {
        out += ' ';
      }
      out += detail::printable(name, max_log_value_bytes);
      out += '=';
    }
    first = false;
  };
  const auto text = [&](std::string_view value) {
    const std::string shown = detail::printable(value, max_log_value_bytes);
    if (format == log_format::json) {
      out += '"';
      detail::append_json_escaped(out, shown);
      out += '"';
    } else {
      detail::append_logfmt_value(out, shown);
    }
  };
  if (time) {
    key("ts");
    if (format == log_format::json) {
      out += '"';
    }
    detail::append_utc_time(out, *time);
    if (format == log_format::json) {
      out += '"';
    }
  }
  key("level");
  text(to_string(event.level));
  key("event");
  text(event.name);
  key("msg");
  text(event.message);
  for (const log_field& field : event.fields) {
    key(field.key());
    switch (field.type()) {
      case log_field::kind::text: text(field.text()); break;
      case log_field::kind::integer: out += std::to_string(field.integer()); break;
      case log_field::kind::unsigned_integer: out += std::to_string(field.unsigned_integer()); break;
    }
  }
  if (format == log_format::json) {
    out += '}';
  }
}

/// `event` as one line: see `append_log_line`.
[[nodiscard]] inline std::string log_line(const log_event& event, log_format format,
                                          std::optional<std::chrono::system_clock::time_point> time) {
  std::string line;
  append_log_line(line, event, format, time);
  return line;
}

/**
 * A sink that hands each event to a function as a logfmt line without a timestamp
 * (`level=warn event=request.refused msg="refused a request" peer=127.0.0.1:40312 status=400
 * reason="..."`): the adapter of the server's legacy `server_options::log` callback. The
 * function is called on the raiser's thread (several at once when the server has several
 * threads) and must not block.
 */
class callback_log_sink final : public log_sink {
 public:
  /// Calls `callback` with each event's line (without a newline).
  explicit callback_log_sink(std::function<void(std::string_view)> callback)
      : callback_(std::move(callback)) {}

  void write(const log_event& event) noexcept override {
    try {
      callback_(log_line(event, log_format::logfmt, std::nullopt));
    } catch (...) {
      // A callback that throws (or no memory for the line) loses the line, not the request.
    }
  }

 private:
  std::function<void(std::string_view)> callback_;
};

}  // namespace statefun::inline v0
