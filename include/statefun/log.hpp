#pragma once

/// @file
/// `log_sink`: where the server (and anything else of the SDK that logs) sends its log events:
/// a level, an event name, a fixed message and typed key/value fields. The formats and the
/// default sink are in <statefun/log_line.hpp> and <statefun/stderr_log.hpp>.

#include <statefun/config.hpp>

#include <concepts>
#include <cstdint>
#include <span>
#include <string_view>

namespace statefun::inline v0 {

/// How much an operator needs to see an event.
enum class log_level : std::uint8_t {
  /// What helps to debug a client, not worth a line in production (a client that opened a
  /// connection and sent nothing before `header_timeout`).
  debug,
  /// The server's life: stop requested, draining.
  info,
  /// A client's request or connection was refused (4xx, 503), a TLS handshake failed, a
  /// deadline cut a request, a limit was lowered, log lines were left out.
  warn,
  /// A request failed (500), an accept failed, a connection ended on an unexpected error.
  error,
};

/// "debug", "info", "warn" or "error".
constexpr std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
  }
  return "error";
}

/**
 * One key/value of a log event: a text or an integer. Holds views: the event's raiser keeps
 * the text alive while the sink runs. Texts may hold anything a client sent (a sink escapes
 * and bounds them); keys are fixed names (`snake_case`).
 */
class log_field {
 public:
  /// Which of the values the field holds.
  enum class kind : std::uint8_t { text, integer, unsigned_integer };

  /// A text field.
  constexpr log_field(std::string_view key, std::string_view text) noexcept
      : key_(key), text_(text), kind_(kind::text) {}
  /// A text field.
  constexpr log_field(std::string_view key, const char* text) noexcept
      : log_field(key, std::string_view(text)) {}
  /// A signed integer field.
  template <std::signed_integral T>
  constexpr log_field(std::string_view key, T value) noexcept
      : key_(key), signed_(value), kind_(kind::integer) {}
  /// An unsigned integer field (not `bool`).
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  constexpr log_field(std::string_view key, T value) noexcept
      : key_(key), unsigned_(value), kind_(kind::unsigned_integer) {}

  /// The field's name.
  [[nodiscard]] constexpr std::string_view key() const noexcept { return key_; }
  /// Which value the field holds.
  [[nodiscard]] constexpr kind type() const noexcept { return kind_; }
  /// The value, when `type()` is `text`.
  [[nodiscard]] constexpr std::string_view text() const noexcept { return text_; }
  /// The value, when `type()` is `integer`.
  [[nodiscard]] constexpr std::int64_t integer() const noexcept { return signed_; }
  /// The value, when `type()` is `unsigned_integer`.
  [[nodiscard]] constexpr std::uint64_t unsigned_integer() const noexcept { return unsigned_; }

 private:
  std::string_view key_;
  std::string_view text_{};
  std::int64_t signed_ = 0;
  std::uint64_t unsigned_ = 0;
  kind kind_;
};

/// One log event, as a sink receives it. Everything in it is a view, valid during the call.
struct log_event {
  /// How severe.
  log_level level = log_level::info;
  /// What happened, a fixed dotted name: "request.failed", "request.refused"... (the table
  /// in docs/observability.md). Fixed by the code, never a client's text: collectors may index it.
  std::string_view name;
  /// The same for a human reader: a fixed sentence, no client's text in it.
  std::string_view message;
  /// The details: peer, status, reason, function_type... (docs/observability.md).
  std::span<const log_field> fields;
};

/**
 * Receives log events. The server calls `write` on its serving threads, several at once when
 * it has several, so an implementation synchronises, and **must not block**: every connection
 * of the thread waits while it runs (queue the event if its destination can be slow, as
 * `stderr_log` does). Values of text fields may hold bytes a client chose: escape them before
 * they reach a terminal or a line-based file (`append_log_line` does).
 */
class log_sink {
 public:
  virtual ~log_sink() = default;
  /// One event. `noexcept`: a sink that fails loses the event, never the request.
  virtual void write(const log_event& event) noexcept = 0;
};

}  // namespace statefun::inline v0
