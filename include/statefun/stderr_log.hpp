#pragma once

/// @file
/// `stderr_log`: the default log sink. One line per event (JSON Lines or logfmt) on stderr (or
/// another descriptor), written by a thread of its own from a bounded queue, so that the thread
/// raising an event never waits for the log. POSIX.

#include <statefun/config.hpp>
#include <statefun/detail/log_writer.hpp>
#include <statefun/log.hpp>
#include <statefun/log_line.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace statefun::inline v0 {

/**
 * Writes each event at or above its minimum level as one line (`append_log_line`) to a file
 * descriptor. Lines are queued (at most 1,024 lines and 1 MiB) and written by a background
 * thread; when the descriptor does not take them (a pipe nobody drains, a stopped terminal, a
 * slow collector) the queue fills and further lines are dropped and counted, and one
 * `log.dropped` event line (field `dropped`) says how many once the descriptor moves again.
 * Thread-safe. On destruction it waits up to a second for the queue to be written.
 */
class stderr_log final : public log_sink {
 public:
  /// Lines go to `fd` (2: stderr; not closed here).
  explicit stderr_log(log_format format = log_format::json, log_level level = log_level::info, int fd = 2)
      : format_(format), level_(level), writer_(fd, [format](std::size_t n) { return dropped_line(format, n); }) {}

  void write(const log_event& event) noexcept override {
    if (event.level < level_) {
      return;
    }
    try {
      writer_.write(log_line(event, format_, std::chrono::system_clock::now()));
    } catch (...) {
      // (No memory for the line: it is lost, as a full queue would lose it.)
    }
  }

  /// Lines dropped because the queue was full, and not reported yet.
  [[nodiscard]] std::size_t dropped() const { return writer_.dropped(); }

 private:
  static std::string dropped_line(log_format format, std::size_t n) {
    const log_field fields[] = {{"dropped", n}};
    return log_line({.level = log_level::warn,
                     .name = "log.dropped",
                     .message = "log lines dropped: the log could not keep up",
                     .fields = fields},
                    format, std::chrono::system_clock::now());
  }

  log_format format_;
  log_level level_;
  detail::log_writer writer_;
};

}  // namespace statefun::inline v0
