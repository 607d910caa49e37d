#pragma once

/// @file
/// `client_connection`: one keep-alive HTTP/1.1 connection of an `http_client`, and one
/// exchange (request out, response in) on it, over any stream (`basic_client_connection`).

#include <asio/any_io_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/write.hpp>

#include <statefun/asio/detail/http_origin.hpp>
#include <statefun/asio/detail/read_buffer.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/config.hpp>
#include <statefun/http/response_parser.hpp>
#include <statefun/observer.hpp>
#include <statefun/task.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

namespace statefun::inline v0::asio::detail {

/// How reading a response ended: `error` is clear for a complete response; for a response that
/// does not parse it is `errc::protocol_error`, and `reason` says what the parser refused; for a
/// body over the limit it is `errc::message_size`.
struct read_outcome {
  std::error_code error;
  std::string_view reason;
};

class attempt_deadline;

/**
 * A connection to the origin, the bytes received on it, and the parser of the response being
 * read. Created on the executor of the task that needs it, and only used by tasks on that
 * executor (one at a time: a connection is either in the pool or owned by one exchange).
 *
 * The stream is type-erased here, behind one virtual call per *operation* (connect, write the
 * request, read the response): each of those is a coroutine anyway, so the virtual call adds
 * no allocation, and the reads and writes inside it are direct calls on the concrete stream
 * (`basic_client_connection<Stream>`). That keeps OpenSSL out of `http_client.hpp`: only
 * <statefun/asio/tls.hpp> names a TLS stream.
 */
class client_connection {
 public:
  explicit client_connection(const ::asio::any_io_executor& executor) : executor_(executor) {}
  virtual ~client_connection() {
    if (events_ != nullptr) {
      events_->connection(client_connection_event::closed);
    }
  }

  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;

  /// The executor the stream was created on: a pooled connection is only reused there.
  const ::asio::any_io_executor& executor() const noexcept { return executor_; }

  /// Where to tell that the connection closed (when it is destroyed), or null: nobody.
  void observe(client_observer* events) noexcept { events_ = events; }

  /**
   * Opens the connection to `origin` (resolving and connecting, then any handshake). Stops
   * early on `operation_aborted`: `deadline` closed the connection under it, or the task was
   * cancelled. `deadline` also lends a resolver that it cancels when it passes.
   */
  virtual task<std::error_code> connect(const http_origin& origin, attempt_deadline& deadline) = 0;

  /// Sends one request: its head, then its body (gathered, nothing copied).
  virtual task<std::error_code> write(std::string_view head, std::string_view body) = 0;

  /**
   * Reads the response to the request just written, skipping interim (1xx) responses. Once it
   * returns without error, `response()` describes the response until `finish_response()`.
   * @param head_request The request was HEAD: the response has no body whatever its fields say.
   * @param max_body_bytes The largest (de-chunked) body accepted: a larger one fails with
   *        `errc::message_size` as soon as its head or chunk sizes show it.
   */
  virtual task<read_outcome> read_response(bool head_request, std::uint64_t max_body_bytes) = 0;

  /// Closes the stream; a pending operation on it completes with `operation_aborted`.
  virtual void close() noexcept = 0;

  /// `error` (from a write or a read) means the peer closed or reset the connection.
  virtual bool closed_by_peer(const std::error_code& error) const noexcept {
    return error == ::asio::error::eof || error == ::asio::error::connection_reset ||
           error == ::asio::error::broken_pipe || error == ::asio::error::connection_aborted;
  }

  /// The response `read_response` read, valid until `finish_response()`.
  const http::response_parser& response() const noexcept { return parser_; }

  /**
   * Drops the response's bytes.
   * @return Whether the connection may carry another exchange: the response allowed it, nothing
   *         followed it, and the stream is still open.
   */
  bool finish_response() noexcept {
    const bool keep_alive = parser_.keep_alive() && !eof_;
    buffer_.consume(parser_.message_size());
    buffer_.shrink(64 * 1024);  // an idle connection keeps little
    // Bytes after the response were never asked for: the connection is out of step.
    return keep_alive && buffer_.pending_size() == 0 && is_open();
  }

  /// A byte of a response has arrived since the last `write`.
  bool response_started() const noexcept { return response_started_; }

 protected:
  virtual bool is_open() const noexcept = 0;

  /// `write` on `stream`.
  template <class Stream>
  task<std::error_code> write_to(Stream& stream, std::string_view head, std::string_view body) {
    response_started_ = false;
    const std::array<::asio::const_buffer, 2> buffers{::asio::buffer(head), ::asio::buffer(body)};
    auto [error, written] = co_await ::asio::async_write(stream, buffers, ::asio::experimental::as_tuple(use_task));
    (void)written;
    co_return error;
  }

  /// `read_response` from `stream`.
  template <class Stream>
  task<read_outcome> read_response_from(Stream& stream, bool head_request, std::uint64_t max_body_bytes) {
    parser_.reset();
    parser_.set_limits(http::parser_limits{.max_body_bytes = max_body_bytes});
    parser_.expect_no_body(head_request);
    eof_ = false;
    // The buffer grows with the bytes received, never past what the limits allow.
    const std::size_t most = message_bound(parser_.limits().max_head_bytes, max_body_bytes, read_size);
    for (;;) {
      http::parse_status status = buffer_.pending_size() > 0 ? parse() : http::parse_status::need_more;
      while (status == http::parse_status::need_more) {
        buffer_.reserve(read_room(buffer_.pending_size(), parser_.body_bytes_expected(), read_size), most);
        const std::span<char> room = buffer_.free_space();
        auto [error, n] = co_await stream.async_read_some(::asio::buffer(room.data(), room.size()),
                                                          ::asio::experimental::as_tuple(use_task));
        buffer_.commit(n);
        response_started_ = response_started_ || n > 0;
        if (error == ::asio::error::eof) {
          // The server closed: that ends a close-delimited body. Anything else is cut short
          // (every byte before was parsed already), which is an I/O failure, not a bad response.
          // (Over TLS, eof means the server sent close_notify. A bare TCP close is reported as
          // ssl::error::stream_truncated instead, which ends no body: that close is not
          // authenticated, so the body may have been cut by someone on the path.)
          eof_ = true;
          status = parser_.finish(buffer_.pending());
          if (status != http::parse_status::complete && parser_.error().status != 413) {
            co_return read_outcome{error, {}};
          }
        } else if (error) {
          co_return read_outcome{error, {}};
        } else {
          status = parse();
        }
      }
      if (status == http::parse_status::failed) {
        const http::parse_error error = parser_.error();
        co_return read_outcome{std::make_error_code(error.status == 413 ? std::errc::message_size : std::errc::protocol_error),
                               error.reason};
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

 private:
  static constexpr std::size_t read_size = 4096;

  /// Parses what is pending, and reclaims a chunked body's framing (no read is pending now).
  http::parse_status parse() {
    const http::parse_status status = parser_.parse(buffer_.pending());
    buffer_.drop_back(parser_.compact());
    return status;
  }

  ::asio::any_io_executor executor_;
  client_observer* events_ = nullptr;
  read_buffer buffer_;  // received and not yet consumed
  http::response_parser parser_;
  bool response_started_ = false;
  bool eof_ = false;
};

/**
 * A `client_connection` over a `Stream` (a TCP or Unix socket, or an `asio::ssl::stream`):
 * everything but `connect`, which the concrete connection adds.
 */
template <class Stream>
class basic_client_connection : public client_connection {
 public:
  /// Creates the stream from the executor and `args` (an `asio::ssl::stream` takes its context).
  template <class... Args>
  explicit basic_client_connection(const ::asio::any_io_executor& executor, Args&&... args)
      : client_connection(executor), stream_(executor, std::forward<Args>(args)...) {}

  task<std::error_code> write(std::string_view head, std::string_view body) final {
    return write_to(stream_, head, body);
  }

  task<read_outcome> read_response(bool head_request, std::uint64_t max_body_bytes) final {
    return read_response_from(stream_, head_request, max_body_bytes);
  }

  void close() noexcept final {
    std::error_code ignored;
    stream_.lowest_layer().close(ignored);
  }

 protected:
  bool is_open() const noexcept final { return stream_.lowest_layer().is_open(); }

  Stream stream_;
};

}  // namespace statefun::inline v0::asio::detail
