#pragma once

/// @file
/// `client_connection`: one keep-alive HTTP/1.1 connection of an `http_client`, and one
/// exchange (request out, response in) on it.

#include <asio/any_io_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <statefun/asio/detail/read_buffer.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/config.hpp>
#include <statefun/http/response_parser.hpp>
#include <statefun/task.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace statefun::inline v0::asio::detail {

/// How reading a response ended: `error` is clear for a complete response; for a response that
/// does not parse it is `errc::protocol_error`, and `reason` says what the parser refused.
struct read_outcome {
  std::error_code error;
  std::string_view reason;
};

/**
 * A TCP connection to the origin, the bytes received on it, and the parser of the response
 * being read. Created on the executor of the task that needs it, and only used by tasks on
 * that executor (one at a time: a connection is either in the pool or owned by one exchange).
 */
class client_connection {
 public:
  explicit client_connection(const ::asio::any_io_executor& executor) : executor_(executor), socket_(executor) {}

  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;

  /// The executor the socket was created on: a pooled connection is only reused there.
  const ::asio::any_io_executor& executor() const noexcept { return executor_; }

  /**
   * Connects to the first of `endpoints` that accepts. Stops early on `operation_aborted`: the
   * socket was closed under it (the attempt's deadline) or the task was cancelled.
   */
  task<std::error_code> connect(const std::vector<::asio::ip::tcp::endpoint>& endpoints) {
    std::error_code last = ::asio::error::host_not_found;
    for (const ::asio::ip::tcp::endpoint& endpoint : endpoints) {
      auto [error] = co_await socket_.async_connect(endpoint, ::asio::experimental::as_tuple(use_task));
      if (!error) {
        std::error_code ignored;
        socket_.set_option(::asio::ip::tcp::no_delay(true), ignored);  // small requests: no Nagle
        co_return error;
      }
      last = error;
      if (error == ::asio::error::operation_aborted) {
        break;
      }
      close();  // the next endpoint's connect opens the socket again
    }
    co_return last;
  }

  /// Sends one request: its head, then its body (one gathered write, nothing copied).
  task<std::error_code> write(std::string_view head, std::string_view body) {
    response_started_ = false;
    const std::array<::asio::const_buffer, 2> buffers{::asio::buffer(head), ::asio::buffer(body)};
    auto [error, written] = co_await ::asio::async_write(socket_, buffers, ::asio::experimental::as_tuple(use_task));
    (void)written;
    co_return error;
  }

  /**
   * Reads the response to the request just written, skipping interim (1xx) responses. Once it
   * returns without error, `response()` describes the response until `finish_response()`.
   * @param head_request The request was HEAD: the response has no body whatever its fields say.
   */
  task<read_outcome> read_response(bool head_request) {
    parser_.reset();
    parser_.expect_no_body(head_request);
    eof_ = false;
    for (;;) {
      http::parse_status status =
          buffer_.pending_size() > 0 ? parser_.parse(buffer_.pending()) : http::parse_status::need_more;
      while (status == http::parse_status::need_more) {
        // At least 4 KiB, at most 1 MiB of what the body still needs.
        buffer_.reserve(static_cast<std::size_t>(
            std::clamp<std::uint64_t>(parser_.body_bytes_expected(), 4096, 1 << 20)));
        const std::span<char> room = buffer_.free_space();
        auto [error, n] = co_await socket_.async_read_some(::asio::buffer(room.data(), room.size()),
                                                           ::asio::experimental::as_tuple(use_task));
        buffer_.commit(n);
        response_started_ = response_started_ || n > 0;
        if (error == ::asio::error::eof) {
          // The server closed: that ends a close-delimited body. Anything else is cut short
          // (every byte before was parsed already), which is an I/O failure, not a bad response.
          eof_ = true;
          if (parser_.finish(buffer_.pending()) != http::parse_status::complete) {
            co_return read_outcome{error, {}};
          }
          status = http::parse_status::complete;
        } else if (error) {
          co_return read_outcome{error, {}};
        } else {
          status = parser_.parse(buffer_.pending());
        }
      }
      if (status == http::parse_status::failed) {
        co_return read_outcome{std::make_error_code(std::errc::protocol_error), parser_.error().reason};
      }
      const int code = parser_.status_code();
      if (code >= 200) {
        co_return read_outcome{};
      }
      if (code == 101) {
        // We never ask to upgrade, so what follows would not be HTTP/1.1.
        co_return read_outcome{std::make_error_code(std::errc::protocol_error), "unrequested 101 Switching Protocols"};
      }
      // An interim response (100 Continue, 103 Early Hints): the final one follows.
      buffer_.consume(parser_.message_size());
      parser_.reset();
      parser_.expect_no_body(head_request);
    }
  }

  /// The response `read_response` read, valid until `finish_response()`.
  const http::response_parser& response() const noexcept { return parser_; }

  /**
   * Drops the response's bytes.
   * @return Whether the connection may carry another exchange: the response allowed it, nothing
   *         followed it, and the socket is still open.
   */
  bool finish_response() noexcept {
    const bool keep_alive = parser_.keep_alive() && !eof_;
    buffer_.consume(parser_.message_size());
    buffer_.shrink(64 * 1024);  // an idle connection keeps little
    // Bytes after the response were never asked for: the connection is out of step.
    return keep_alive && buffer_.pending_size() == 0 && socket_.is_open();
  }

  /// A byte of a response has arrived since the last `write`.
  bool response_started() const noexcept { return response_started_; }

  /// Closes the socket; a pending operation on it completes with `operation_aborted`.
  void close() noexcept {
    std::error_code ignored;
    socket_.close(ignored);
  }

 private:
  ::asio::any_io_executor executor_;
  ::asio::ip::tcp::socket socket_;
  read_buffer buffer_;  // received and not yet consumed
  http::response_parser parser_;
  bool response_started_ = false;
  bool eof_ = false;
};

}  // namespace statefun::inline v0::asio::detail
