#pragma once

/// @file
/// `attempt_deadline`: the per-attempt timeout of an `http_client` call, as a timer that closes
/// the attempt's connection when it fires first.

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <statefun/asio/detail/client_connection.hpp>
#include <statefun/config.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

namespace statefun::inline v0::asio::detail {

/// `now + duration`, or the end of time where that would overflow (a timer that never fires).
inline std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds duration) noexcept {
  const auto now = std::chrono::steady_clock::now();
  const auto room = std::chrono::steady_clock::time_point::max() - now;
  if (duration >= std::chrono::duration_cast<std::chrono::milliseconds>(room)) {
    return std::chrono::steady_clock::time_point::max();
  }
  return now + std::max(duration, std::chrono::milliseconds(0));
}

/**
 * Races one attempt against a timer. The attempt's operations cannot be given a timeout of their
 * own, so when the timer fires first its handler closes the connection the attempt is using
 * (cancelling its pending read, write or connect, which then complete with
 * `operation_aborted`) and cancels a pending name resolution; the attempt sees `expired()` and
 * reports a timeout.
 *
 * Lifetimes: the timer's handler owns the deadline (a `shared_ptr`), and the deadline shares the
 * connection it watches, so whichever of the handler and the attempt finishes last frees them.
 * After `disarm` the handler does nothing, even if it was already queued. The handler and the
 * attempt run on the same executor, one at a time.
 */
class attempt_deadline : public std::enable_shared_from_this<attempt_deadline> {
 public:
  /// Disarms the deadline when the attempt's frame unwinds, however it ends.
  class disarm_on_exit {
   public:
    explicit disarm_on_exit(attempt_deadline& deadline) noexcept : deadline_(deadline) {}
    ~disarm_on_exit() { deadline_.disarm(); }
    disarm_on_exit(const disarm_on_exit&) = delete;
    disarm_on_exit& operator=(const disarm_on_exit&) = delete;

   private:
    attempt_deadline& deadline_;
  };

  explicit attempt_deadline(const ::asio::any_io_executor& executor) : timer_(executor) {}

  /// Starts the clock; a `timeout` of zero or less means none.
  void arm(std::chrono::milliseconds timeout) {
    if (timeout <= std::chrono::milliseconds(0)) {
      return;
    }
    timer_.expires_at(deadline_after(timeout));
    timer_.async_wait([self = shared_from_this()](std::error_code error) {
      if (!error) {
        self->expire();
      }
    });
  }

  /// The connection the attempt uses from now on (null: none), closed if the deadline passes.
  void watch(std::shared_ptr<client_connection> connection) noexcept { connection_ = std::move(connection); }

  /// A resolver for the attempt, cancelled if the deadline passes.
  ::asio::ip::tcp::resolver& resolver() {
    if (!resolver_) {
      resolver_.emplace(timer_.get_executor());
    }
    return *resolver_;
  }

  /// The deadline passed before the attempt finished: what failed, failed because of it.
  bool expired() const noexcept { return expired_; }

  /// The attempt is over: stops the clock and lets go of the connection.
  void disarm() noexcept {
    disarmed_ = true;
    connection_.reset();
    timer_.cancel();
  }

 private:
  void expire() noexcept {
    if (disarmed_) {
      return;  // fired as the attempt finished: the connection may be in the pool by now
    }
    expired_ = true;
    if (resolver_) {
      resolver_->cancel();
    }
    if (connection_) {
      connection_->close();
    }
  }

  ::asio::steady_timer timer_;
  std::optional<::asio::ip::tcp::resolver> resolver_;
  std::shared_ptr<client_connection> connection_;
  bool expired_ = false;
  bool disarmed_ = false;
};

}  // namespace statefun::inline v0::asio::detail
