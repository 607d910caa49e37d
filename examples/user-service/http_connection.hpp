#pragma once

// One HTTP/1.1 connection of the gateway: reads requests with the SDK's incremental parser and
// writes answers, with a watchdog that closes the connection when the client is too slow (a
// request that takes longer than the idle timeout to arrive, or an answer it does not read).

#include "http_answer.hpp"

#include <statefun/asio/use_task.hpp>
#include <statefun/http/request_parser.hpp>
#include <statefun/task.hpp>

#include <asio/buffer.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace user_service {

class http_connection : public std::enable_shared_from_this<http_connection> {
 public:
  http_connection(::asio::ip::tcp::socket socket, statefun::http::parser_limits limits,
                  std::chrono::milliseconds idle_timeout)
      : socket_(std::move(socket)), watchdog_(socket_.get_executor()), parser_(limits), idle_timeout_(idle_timeout) {}

  /**
   * Reads until the next request is in. Returns `complete` (see `request()`), `failed` (see
   * `request().error()` for the status and reason to refuse it with), or `need_more` when the
   * connection ended first: the client closed it, or took too long.
   */
  statefun::task<statefun::http::parse_status> read_request() {
    using statefun::http::parse_status;
    arm_watchdog();  // the whole request must arrive in time
    std::array<char, 4096> chunk;
    for (;;) {
      const parse_status status = parser_.parse(buffer_);
      if (status != parse_status::need_more) {
        watchdog_.cancel();  // in: the time to answer is the gateway's business
        co_return status;
      }
      if (parser_.head_complete() && parser_.expect_continue() && !continue_sent_) {
        continue_sent_ = true;
        co_await ::asio::async_write(socket_, ::asio::buffer(continue_response), statefun::asio::use_task);
      }
      const auto [error, n] = co_await socket_.async_read_some(
          ::asio::buffer(chunk), ::asio::experimental::as_tuple(statefun::asio::use_task));
      if (error) {
        co_return parse_status::need_more;
      }
      buffer_.append(chunk.data(), n);
    }
  }

  /// The request `read_request` read (its views stay valid until `next_request`).
  [[nodiscard]] const statefun::http::request_parser& request() const noexcept { return parser_; }

  /// Writes `answer` to the request just read.
  /// @throws std::system_error if the client is gone or does not read it in time.
  statefun::task<> send(const http_answer& answer, bool keep_alive) {
    const bool to_head = parser_.head_complete() && parser_.method() == "HEAD";
    const std::string bytes = http_response(answer, keep_alive, to_head);
    arm_watchdog();
    co_await ::asio::async_write(socket_, ::asio::buffer(bytes), statefun::asio::use_task);
    watchdog_.cancel();
  }

  /// Moves on to the next request (a pipelined one may be read already).
  void next_request() {
    buffer_.erase(0, parser_.message_size());
    parser_.reset();
    continue_sent_ = false;
  }

  /**
   * Closes the connection after its last answer. The client may still be sending (a refused
   * request's body): read and drop that until it closes, so that closing does not reset the
   * connection and take the answer with it.
   */
  statefun::task<> finish() {
    std::error_code ignored;
    socket_.shutdown(::asio::ip::tcp::socket::shutdown_send, ignored);
    arm_watchdog();
    std::array<char, 4096> chunk;
    for (;;) {
      const auto [error, n] = co_await socket_.async_read_some(
          ::asio::buffer(chunk), ::asio::experimental::as_tuple(statefun::asio::use_task));
      if (error) {
        break;
      }
    }
    close();
  }

  /// Closes the socket now: what is pending on it fails.
  void close() noexcept {
    std::error_code ignored;
    socket_.close(ignored);
    watchdog_.cancel();
  }

 private:
  static constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

  /// Closes the connection unless it is re-armed or cancelled within the idle timeout.
  void arm_watchdog() {
    watchdog_.expires_after(idle_timeout_);
    watchdog_.async_wait([weak = weak_from_this()](const std::error_code& error) {
      const auto self = weak.lock();
      // (Re-arming cancels the wait, unless it expired already and this handler is queued.)
      if (!error && self && self->watchdog_.expiry() <= std::chrono::steady_clock::now()) {
        self->close();
      }
    });
  }

  ::asio::ip::tcp::socket socket_;
  ::asio::steady_timer watchdog_;
  statefun::http::request_parser parser_;
  std::string buffer_;  // every byte received and not yet consumed by a request
  std::chrono::milliseconds idle_timeout_;
  bool continue_sent_ = false;
};

}  // namespace user_service
