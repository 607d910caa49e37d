#pragma once

/// @file
/// `log_writer`: what `stderr_log` writes through. Lines are queued and written to a file
/// descriptor (stderr) by a thread of their own, so that a serving thread never waits for it.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <statefun/config.hpp>

namespace statefun::inline v0::detail {

/**
 * A bounded queue of log lines drained by a background thread into a file descriptor.
 *
 * `write` never blocks on the descriptor: a stderr that nobody reads (a full pipe, a stopped
 * terminal, a slow log collector) fills the queue, and lines beyond its bound are dropped and
 * counted; the thread writes the line `dropped_line(N)` once it can write again. Losing lines is the
 * lesser harm: the alternative, waiting, stops every connection of the serving thread.
 *
 * The thread starts with the first line. It holds the queue's state by a shared pointer, so
 * the writer can be destroyed while the thread is stuck in `write(2)`: the destructor waits a
 * bounded time for the queue to be written out, then leaves the thread to finish (or to end
 * with the process).
 */
class log_writer {
 public:
  /// Lines queued beyond these bounds are dropped (and counted).
  static constexpr std::size_t max_queued_lines = 1024;
  static constexpr std::size_t max_queued_bytes = 1 << 20;
  /// How long the destructor waits for queued lines to be written.
  static constexpr std::chrono::milliseconds flush_bound{1000};

  /// Says that `n` lines were dropped, as a line of the log's format (no '\n').
  using dropped_formatter = std::function<std::string(std::size_t n)>;

  /// Lines go to `fd` (not closed here), each followed by '\n'. `dropped_line` (called on the
  /// writer's thread) makes the line that reports dropped ones; null: "N log lines dropped".
  explicit log_writer(int fd = 2, dropped_formatter dropped_line = {})
      : state_(std::make_shared<state>(fd, std::move(dropped_line))) {}

  log_writer(const log_writer&) = delete;
  log_writer& operator=(const log_writer&) = delete;

  ~log_writer() {
    std::unique_lock lock(state_->mutex);
    if (!state_->started) {
      return;
    }
    state_->stopping = true;
    state_->changed.notify_all();
    state_->changed.wait_for(lock, flush_bound, [this] { return state_->finished; });
  }

  /// Queues `line`, or counts it as dropped if the queue is full. Never waits for the writer.
  void write(std::string_view line) noexcept {
    try {
      const std::lock_guard lock(state_->mutex);
      if (state_->lines.size() >= max_queued_lines ||
          state_->queued_bytes + line.size() > max_queued_bytes) {
        ++state_->dropped;
        return;
      }
      if (!state_->started) {
        std::thread(drain, state_).detach();
        state_->started = true;
      }
      state_->lines.emplace_back(line);
      state_->queued_bytes += line.size();
      state_->changed.notify_all();
    } catch (...) {
      // (No memory or no thread: the line is lost, as a full queue would lose it.)
      const std::lock_guard lock(state_->mutex);
      ++state_->dropped;
    }
  }

  /// Lines dropped so far because the queue was full (and not reported yet).
  std::size_t dropped() const {
    const std::lock_guard lock(state_->mutex);
    return state_->dropped;
  }

 private:
  struct state {
    state(int fd_, dropped_formatter dropped_line_) : fd(fd_), dropped_line(std::move(dropped_line_)) {}

    const int fd;
    const dropped_formatter dropped_line;
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::string> lines;
    std::size_t queued_bytes = 0;
    std::size_t dropped = 0;
    bool started = false;
    bool stopping = false;
    bool finished = false;
  };

  /// The thread: writes what is queued, in batches, until stopped with nothing left.
  static void drain(std::shared_ptr<state> s) {
    // A reader that went away must make write(2) fail with EPIPE here, not kill the process.
    ::sigset_t pipe_signal;
    ::sigemptyset(&pipe_signal);
    ::sigaddset(&pipe_signal, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    std::string batch;
    std::unique_lock lock(s->mutex);
    for (;;) {
      s->changed.wait(lock, [&s] { return !s->lines.empty() || s->dropped > 0 || s->stopping; });
      if (s->lines.empty() && s->dropped == 0) {
        break;  // stopping, and everything is written
      }
      batch.clear();
      for (const std::string& line : s->lines) {
        batch += line;
        batch += '\n';
      }
      s->lines.clear();
      s->queued_bytes = 0;
      if (s->dropped > 0) {
        const std::size_t n = std::exchange(s->dropped, 0);
        try {
          batch += s->dropped_line ? s->dropped_line(n)
                                   : std::to_string(n) + " log lines dropped (the log could not keep up)";
        } catch (...) {
          batch += std::to_string(n) + " log lines dropped";
        }
        batch += '\n';
      }
      lock.unlock();
      write_all(s->fd, batch);
      lock.lock();
    }
    s->finished = true;
    s->changed.notify_all();
  }

  static void write_all(int fd, std::string_view bytes) noexcept {
    while (!bytes.empty()) {
      const ::ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return;  // nowhere to write: the lines are lost, the server goes on
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  std::shared_ptr<state> state_;
};

}  // namespace statefun::inline v0::detail
