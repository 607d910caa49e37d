#pragma once

/// @file
/// What the parts of `http_server` share: the serving threads, the connections on each, their
/// deadlines, and the graceful stop.

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <statefun/asio/detail/intrusive_list.hpp>
#include <statefun/asio/detail/log_limiter.hpp>
#include <statefun/asio/detail/response_head.hpp>
#include <statefun/asio/server_options.hpp>
#include <statefun/config.hpp>
#include <statefun/functions.hpp>
#include <statefun/log.hpp>
#include <statefun/log_line.hpp>
#include <statefun/observer.hpp>
#include <statefun/stderr_log.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statefun::inline v0::asio::detail {

using clock = std::chrono::steady_clock;

/// What a serving thread needs of a connection, whatever its stream type.
class connection_base : public intrusive_list_hook {
 public:
  connection_base() = default;
  virtual ~connection_base() = default;

  /// Closes the connection now, cancelling its request in flight (a deadline passed).
  virtual void close_now() = 0;

  /// Closes the connection once its current request is answered (graceful stop).
  virtual void drain() = 0;

  /// Logs that `deadline` (of `deadline_phase`) passed; the caller closes the connection.
  virtual void log_timeout() = 0;

  /// When the connection's current phase (reading a head, a body, writing, idle) must be over;
  /// `time_point::max()` while a function runs. The thread's sweeper enforces it.
  clock::time_point deadline = clock::time_point::max();

  /// Which of the server's timeouts `deadline` is, for the observer's `timeout` event
  /// (`linger` is none: the lingering close of a finished connection is not a failure).
  enum class phase : std::uint8_t { header, body, idle, write, linger };
  phase deadline_phase = phase::header;
};

class server_core;

/**
 * One serving thread: an event loop of its own, the connections it serves, and a sweeper that
 * closes connections past their deadline and keeps the Date header current. Deadlines are
 * plain stores checked by the sweeper at a fraction of the shortest timeout, so the request
 * path never arms or cancels a timer.
 */
class server_thread {
 public:
  explicit server_thread(server_core& core);

  server_thread(const server_thread&) = delete;
  server_thread& operator=(const server_thread&) = delete;

  ::asio::io_context& io() noexcept { return io_; }
  server_core& core() noexcept { return core_; }

  /// "Date: ...\r\n", current to the second.
  std::string_view date() const noexcept { return date_.view(); }

  void add(connection_base& connection) noexcept { connections_.push_front(connection); }

  void remove(connection_base& connection) noexcept {
    connections_.erase(connection);
    if (draining_ && connections_.size() == 0) {
      finish();
    }
  }

  /// True once `drain` was called: connections arriving now are closed after their request.
  bool draining() const noexcept { return draining_; }

  /// Starts the sweeper; the thread's loop runs until `drain` has finished.
  void start();

  /// Graceful stop of this thread's connections (runs on this thread).
  void drain();

 private:
  void sweep();
  void finish();

  server_core& core_;
  ::asio::io_context io_{1};  // one thread runs it: Asio may skip its locking
  std::optional<::asio::executor_work_guard<::asio::io_context::executor_type>> work_;
  ::asio::steady_timer sweeper_{io_};
  ::asio::steady_timer shutdown_deadline_{io_};
  clock::duration tick_;
  date_line date_;
  std::time_t date_second_ = 0;
  intrusive_list<connection_base> connections_;
  bool draining_ = false;
};

/**
 * Raises the soft RLIMIT_NOFILE to the hard limit (if `raise`).
 * @return The soft limit now in force; 0 if it is unknown or unlimited.
 */
inline std::size_t open_file_limit(bool raise) noexcept {
  ::rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (raise && limit.rlim_cur < limit.rlim_max) {
    ::rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  return limit.rlim_cur == RLIM_INFINITY ? 0 : static_cast<std::size_t>(limit.rlim_cur);
}

/// The descriptors the process keeps for itself out of `file_limit`: listeners, event loops,
/// the spare descriptor, files, outgoing clients of functions.
constexpr std::size_t reserved_descriptors(std::size_t file_limit) noexcept {
  return std::max<std::size_t>(32, file_limit / 8);
}

/// The state of an `http_server` that its threads, listeners and connections share.
class server_core {
 public:
  server_core(const functions& fns, server_options options)
      : functions_(fns),
        options_(std::move(options)),
        limiter_(options_.log_burst, options_.log_window) {
    if (options_.log_sink != nullptr) {
      sink_ = options_.log_sink;
    } else if (options_.log) {
      owned_sink_ = std::make_unique<callback_log_sink>(options_.log);
    } else {
      owned_sink_ = std::make_unique<stderr_log>(options_.log_format, log_level::debug, STDERR_FILENO);
    }
    if (owned_sink_) {
      sink_ = owned_sink_.get();
    }
    const std::size_t files = open_file_limit(options_.raise_fd_limit);
    if (files > 0) {
      const std::size_t room = files > reserved_descriptors(files) ? files - reserved_descriptors(files) : 1;
      if (options_.max_connections > room) {
        log(log_level::warn, "server.max_connections_lowered",
            "max_connections lowered to what the open file limit (RLIMIT_NOFILE) leaves",
            {{"from", options_.max_connections},
             {"to", room},
             {"file_limit", files},
             {"reserved_files", files - room}});
        options_.max_connections = room;
      }
    }
    reserve_spare();
    const std::size_t count = std::max<std::size_t>(options_.threads, 1);
    threads_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      threads_.push_back(std::make_unique<server_thread>(*this));
    }
  }

  server_core(const server_core&) = delete;
  server_core& operator=(const server_core&) = delete;

  ~server_core() { release_spare(); }

  const functions& fns() const noexcept { return functions_; }
  const server_options& options() const noexcept { return options_; }
  /// Where the server's events go, or null.
  statefun::observer* observer() const noexcept { return options_.observer; }
  std::vector<std::unique_ptr<server_thread>>& threads() noexcept { return threads_; }

  /// The thread for the next connection (round robin).
  server_thread& next_thread() noexcept {
    return *threads_[next_.fetch_add(1, std::memory_order_relaxed) % threads_.size()];
  }

  /// Open connections on all threads.
  std::atomic<std::size_t>& connections() noexcept { return connections_; }

  /// True from the first `stop` on: readiness answers 503, responses close their connection.
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  /// @return False if it was set already.
  bool set_stopping() noexcept { return !stopping_.exchange(true, std::memory_order_acq_rel); }

  /// Whether `ready_path` answers 200: every listener serves, and no stop was asked for.
  bool ready() const noexcept { return serving_.load(std::memory_order_acquire) && !stopping(); }
  /// `run` has started every listener.
  void set_serving() noexcept { serving_.store(true, std::memory_order_release); }

  /// Whether an event of `level` reaches the sink (so that its fields are worth building).
  bool logs(log_level level) const noexcept { return level >= options_.log_level; }

  /**
   * Logs an event (see `log_event`) if its level is at least `log_level`. Repeats of one `name`
   * are limited to `log_burst` per `log_window`. Texts of `fields` are escaped by the sink.
   */
  void log(log_level level, std::string_view name, std::string_view message,
           std::initializer_list<log_field> fields) {
    if (!logs(level)) {
      return;
    }
    std::vector<log_summary> summaries;
    bool admitted = false;
    {
      const std::lock_guard lock(log_mutex_);
      admitted = limiter_.admit(name, clock::now(), summaries);
    }
    emit(summaries);
    if (admitted) {
      sink_->write({.level = level, .name = name, .message = message,
                    .fields = std::span<const log_field>(fields.begin(), fields.size())});
    }
  }

  /// Logs the summaries of repeats whose window has ended (the sweepers call it).
  void log_expired(clock::time_point now) {
    std::vector<log_summary> summaries;
    {
      const std::unique_lock lock(log_mutex_, std::try_to_lock);
      if (!lock.owns_lock()) {
        return;  // another thread is logging: it expires the windows itself
      }
      limiter_.expire(now, summaries);
    }
    emit(summaries);
  }

  /**
   * A descriptor kept open for the moment the process runs out of them (EMFILE): closing it
   * lets the listener accept one waiting client and tell it 503 at once, instead of leaving it
   * in the backlog. /dev/null, reopened afterwards.
   */
  void reserve_spare() noexcept {
    if (spare_fd_ < 0) {
      spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
  }

  /// Closes the spare descriptor. @return False if there was none.
  bool release_spare() noexcept {
    if (spare_fd_ < 0) {
      return false;
    }
    ::close(spare_fd_);
    spare_fd_ = -1;
    return true;
  }

 private:
  /// One `log.suppressed` event per kind whose window left events out.
  void emit(const std::vector<log_summary>& summaries) {
    for (const log_summary& summary : summaries) {
      const log_field fields[] = {
          {"suppressed_event", summary.kind},
          {"suppressed", summary.suppressed},
          {"window_ms", std::chrono::duration_cast<std::chrono::milliseconds>(limiter_.window()).count()},
          {"burst", limiter_.burst()}};
      sink_->write({.level = log_level::warn,
                    .name = "log.suppressed",
                    .message = "more events of one name than log_burst in log_window: the rest were counted, not logged",
                    .fields = fields});
    }
  }

  const functions& functions_;
  server_options options_;
  std::unique_ptr<log_sink> owned_sink_;
  log_sink* sink_ = nullptr;
  std::mutex log_mutex_;
  log_limiter limiter_;
  int spare_fd_ = -1;
  std::vector<std::unique_ptr<server_thread>> threads_;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> connections_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> serving_{false};
};

inline server_thread::server_thread(server_core& core) : core_(core) {
  // Check deadlines at a quarter of the shortest timeout: a slow client is closed at most 25%
  // late. Between 5 ms (tests use short timeouts) and 1 s (the Date header's resolution).
  const server_options& o = core.options();
  const clock::duration shortest =
      std::min({o.header_timeout, o.body_timeout, o.idle_timeout, o.write_timeout});
  tick_ = std::clamp<clock::duration>(shortest / 4, std::chrono::milliseconds(5),
                                      std::chrono::seconds(1));
  date_second_ = std::time(nullptr);
  date_.update(date_second_);
}

inline void server_thread::start() {
  work_.emplace(io_.get_executor());
  sweep();
}

inline void server_thread::sweep() {
  const std::time_t second = std::time(nullptr);
  if (second != date_second_) {
    date_second_ = second;
    date_.update(second);
  }
  const clock::time_point now = clock::now();
  core_.log_expired(now);
  statefun::observer* const observer = core_.observer();
  connections_.for_each([now, observer](connection_base& c) {
    if (c.deadline <= now) {
      c.deadline = clock::time_point::max();
      if (c.deadline_phase != connection_base::phase::linger) {
        if (observer != nullptr) {
          observer->timeout(static_cast<timeout_kind>(c.deadline_phase));
        }
        c.log_timeout();
      }
      c.close_now();
    }
  });
  sweeper_.expires_after(tick_);
  sweeper_.async_wait([this](std::error_code error) {
    if (!error) {
      sweep();
    }
  });
}

inline void server_thread::drain() {
  if (draining_) {
    return;
  }
  draining_ = true;
  connections_.for_each([](connection_base& c) { c.drain(); });
  if (connections_.size() == 0) {
    finish();
    return;
  }
  shutdown_deadline_.expires_after(core_.options().shutdown_timeout);
  shutdown_deadline_.async_wait([this](std::error_code error) {
    if (!error) {
      connections_.for_each([](connection_base& c) { c.close_now(); });
    }
  });
}

inline void server_thread::finish() {
  sweeper_.cancel();
  shutdown_deadline_.cancel();
  work_.reset();  // the loop returns once the last handlers have run
}

}  // namespace statefun::inline v0::asio::detail
