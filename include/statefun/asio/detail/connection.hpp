#pragma once

/// @file
/// `connection<Stream>`: one HTTP/1.1 connection of `http_server`, from accept to close.

#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/socket_base.hpp>
#include <asio/write.hpp>

#include <statefun/asio/detail/read_buffer.hpp>
#include <statefun/asio/detail/response_head.hpp>
#include <statefun/asio/detail/server_core.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/config.hpp>
#include <statefun/detail/http_grammar.hpp>
#include <statefun/detail/printable.hpp>
#include <statefun/error.hpp>
#include <statefun/http/request_parser.hpp>
#include <statefun/log.hpp>
#include <statefun/request_reply_handler.hpp>
#include <statefun/task.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace statefun::inline v0::asio::detail {

/**
 * How the server handles a stream type beyond reading and writing. This primary template is
 * for plain sockets (TCP, Unix); <statefun/asio/tls.hpp> specialises it for `asio::ssl::stream`.
 */
template <class Stream>
struct stream_traits {
  /// Nothing to negotiate on a plain socket.
  static task<> handshake(Stream&) { co_return; }

  /// Closes the socket, cancelling its pending operations.
  static void close(Stream& stream) noexcept {
    std::error_code ignored;
    stream.close(ignored);
  }

  /// Ends our direction after the last response (the peer reads EOF), if the stream can.
  /// @return True if the caller should then read until the peer closes (lingering close).
  static bool shutdown_send(Stream& stream) noexcept {
    std::error_code ignored;
    stream.shutdown(::asio::socket_base::shutdown_send, ignored);
    return true;
  }
};

/// Who is at the other end of `stream`, for the log: "address:port", or what kind of peer.
template <class Stream>
std::string peer_of(Stream& stream) {
  std::error_code error;
  const auto endpoint = stream.lowest_layer().remote_endpoint(error);
  if (error) {
    return "a peer gone";
  }
  if constexpr (requires { endpoint.address().to_string(); endpoint.port(); }) {
    const auto address = endpoint.address();
    const std::string text = address.to_string();
    return (address.is_v6() ? "[" + text + "]" : text) + ":" + std::to_string(endpoint.port());
  } else {
    return "a Unix socket peer";
  }
}

/// The reason of a 500, for its body: what a client chose in it made printable.
inline std::string printable_reason(const statefun::error& e) {
  std::string text = make_error_code(e.code).message();
  if (!e.detail.empty()) {
    text += ": ";
    text += statefun::detail::printable(e.detail);
  }
  return text;
}

/// The observer's name of a failed request's kind (the `kind` of the `request.failed` event).
constexpr std::string_view failure_kind_of(statefun::errc code) noexcept {
  switch (code) {
    case statefun::errc::unknown_function: return "unknown_function_type";
    case statefun::errc::function_failed: return "exception";
    default: return "malformed_request";
  }
}

/// Runs `work` with `scope` as the current task scope, and restores the caller's afterwards.
template <class T>
task<T> run_in_scope(task_scope& scope, task<T> work) {
  const task_scope::entered entered(&scope);
  co_return co_await std::move(work);
}

/// The one waiter of a connection's read: the serving coroutine, while it needs bytes.
struct read_waiter {
  std::coroutine_handle<> waiting;

  void wake() {
    if (waiting) {
      // A read completion resumes the serving coroutine from the event loop: put back whatever
      // scope it suspends with.
      const task_scope::entered outside(nullptr);
      std::exchange(waiting, {}).resume();
    }
  }
};

/**
 * One connection: parses requests as bytes arrive, runs each through the request-reply handler
 * and writes the responses, in order, until either side closes or a deadline passes.
 *
 * One coroutine (`serve`) does the work; reads are started by it but completed by a callback,
 * so that a read can stay pending while a function runs: that is how the end of the runtime's
 * connection is noticed mid-request (and the function cancelled), and how pipelined requests
 * arrive meanwhile.
 */
template <class Stream>
class connection final : public connection_base,
                         public std::enable_shared_from_this<connection<Stream>> {
 public:
  connection(server_thread& thread, Stream stream, bool over_limit)
      : thread_(thread),
        core_(thread.core()),
        stream_(std::move(stream)),
        parser_(http::parser_limits{.max_head_bytes = core_.options().max_head_bytes,
                                    .max_body_bytes = core_.options().max_body_bytes}),
        handler_(core_.fns()),
        request_scope_(thread.io().get_executor()),
        over_limit_(over_limit) {}

  /// Serves the connection until it closes. Keeps the connection alive while it runs.
  task<> serve(std::shared_ptr<connection> self) {
    thread_.add(*this);
    if (observer_ != nullptr) {
      observer_->connection(over_limit_ ? connection_event::refused : connection_event::accepted);
    }
    try {
      co_await serve_requests();
    } catch (const std::system_error&) {
      // The peer went away, or a deadline closed the socket under a pending write.
    } catch (const std::exception& e) {
      core_.log(log_level::error, "connection.failed", "closed a connection after an unexpected error",
                {{"peer", peer_of(stream_)}, {"reason", e.what()}});
    }
    stream_traits<Stream>::close(stream_);
    closed_ = true;
    thread_.remove(*this);
    core_.connections().fetch_sub(1, std::memory_order_relaxed);
    if (observer_ != nullptr) {
      observer_->connection(connection_event::closed);
    }
    self.reset();  // (the last reference may be a pending read's, released when it completes)
  }

  void close_now() override {
    closed_ = true;
    stream_traits<Stream>::close(stream_);
    if (in_flight_) {
      request_scope_.cancel();
    }
  }

  void drain() override {
    draining_ = true;
    if (waiting_for_request()) {
      close_now();
    }
  }

  void log_timeout() override {
    std::string_view kind;
    log_level level = log_level::warn;
    switch (deadline_phase) {
      case phase::header:
        kind = "header";
        // A connection opened and left silent (a load balancer's spare, a port check) is no
        // client's failure worth a warning; a head that stopped half-way (slowloris) is.
        level = head_started_ ? log_level::warn : log_level::debug;
        break;
      case phase::body: kind = "body"; break;
      case phase::write: kind = "write"; break;
      default: return;  // idle and lingering connections end normally
    }
    if (core_.logs(level)) {
      core_.log(level, "connection.timeout", "closed a connection past its deadline",
                {{"peer", peer_of(stream_)}, {"timeout", kind}});
    }
  }

 private:
  /// How a request is to be answered, decided from its head.
  enum class route { function, live, ready, metrics, not_found, wrong_method, wrong_media_type };

  task<> serve_requests() {
    const server_options& options = core_.options();
    set_deadline(options.header_timeout, phase::header);
    try {
      co_await stream_traits<Stream>::handshake(stream_);
    } catch (const std::system_error& e) {
      // A client that does not trust us, or that we do not trust (mTLS): the operator must
      // see it. (Plain sockets have no handshake to fail.)
      if (observer_ != nullptr) {
        observer_->tls_handshake_failed();
      }
      core_.log(log_level::warn, "tls.handshake_failed", "a TLS handshake failed",
                {{"peer", peer_of(stream_)}, {"reason", e.what()}});
      co_return;
    }
    if (over_limit_) {
      core_.log(log_level::warn, "connection.refused", "refused a connection over max_connections",
                {{"peer", peer_of(stream_)},
                 {"status", 503},
                 {"reason", "max_connections"},
                 {"max_connections", options.max_connections}});
      co_await respond_text(503, "too many connections, retry\n", true);
      co_await linger_close();  // the client may have sent its request already
      co_return;
    }
    for (;;) {
      const http::parse_status status = co_await read_request();
      if (status == http::parse_status::need_more) {
        co_return;  // the peer closed, or a deadline passed
      }
      if (status == http::parse_status::failed) {
        // Once per connection: the connection ends with this refusal.
        const http::parse_error error = parser_.error();
        if (observer_ != nullptr) {
          observer_->parser_refused(refusal_of(error.status));
        }
        core_.log(log_level::warn, "request.refused", "refused a request the HTTP parser cannot accept",
                  {{"peer", peer_of(stream_)}, {"status", error.status}, {"reason", error.reason}});
        co_await respond_text(error.status, statefun::detail::printable(error.reason) + "\n", true);
        co_await linger_close();  // the client may still be sending what was refused
        co_return;
      }
      const bool close = !parser_.keep_alive() || draining_ || body_unread_;
      switch (route_) {
        case route::function:
          if (!co_await answer_function(close)) {
            co_return;
          }
          break;
        case route::live:
          co_await respond_text(200, "ok\n", close, {}, parser_.method() == "HEAD");
          break;
        case route::ready:
          if (core_.ready()) {
            co_await respond_text(200, "ready\n", close, {}, parser_.method() == "HEAD");
          } else {
            co_await respond_text(503, "draining\n", close, {}, parser_.method() == "HEAD");
          }
          break;
        case route::metrics:
          co_await respond_metrics(close);
          break;
        default:
          co_await respond_refusal(close);
          break;
      }
      if (closing_) {
        co_await linger_close();
        co_return;
      }
      buffer_.consume(parser_.message_size());
      parser_.reset();
      head_started_ = body_started_ = continue_sent_ = false;
      if (!reading_) {
        buffer_.shrink(keep_buffer_bytes);
      }
      set_deadline(options.idle_timeout, phase::idle);
    }
  }

  /**
   * Reads until a request is complete or refused.
   * @return complete or failed; need_more when the connection ended first.
   */
  task<http::parse_status> read_request() {
    for (;;) {
      if (buffer_.pending_size() > 0) {
        if (!head_started_) {
          // The head's first byte: header_timeout counts from here (before parsing, so that a
          // head and body arriving in one read still get the body's deadline below).
          head_started_ = true;
          set_deadline(core_.options().header_timeout, phase::header);
        }
        const http::parse_status status = parser_.parse(buffer_.pending());
        if (!reading_) {
          buffer_.drop_back(parser_.compact());  // a chunked body's framing does not pile up
        }
        if (status == http::parse_status::failed) {
          co_return status;
        }
        if (parser_.head_complete() && !body_started_) {
          body_started_ = true;
          route_ = route_of_head();
          if (status == http::parse_status::need_more) {
            // Refuse before the body arrives (the connection then closes, the body unread),
            // or tell a client that waits for it to send the body.
            if (route_ != route::function && route_ != route::live && route_ != route::ready) {
              body_unread_ = true;
              co_return http::parse_status::complete;
            }
            if (parser_.expect_continue() && !continue_sent_) {
              continue_sent_ = true;
              static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
              co_await ::asio::async_write(stream_, ::asio::buffer(go_on), use_task);
            }
            // The end of the head: body_timeout counts from here, whatever came in this read.
            set_deadline(core_.options().body_timeout, phase::body);
          }
        }
        if (status == http::parse_status::complete) {
          co_return status;
        }
      }
      if (!co_await next_bytes()) {
        co_return http::parse_status::need_more;
      }
    }
  }

  /// Runs the request through the handler and writes its answer.
  /// @return False when the connection ended while the function ran.
  task<bool> answer_function(bool close) {
    in_flight_ = true;
    clear_deadline();
    start_read();  // notices the runtime hanging up while the function runs
    auto result = co_await run_in_scope(request_scope_, handler_.handle(parser_.body()));
    in_flight_ = false;
    if (peer_gone_ || closed_) {
      co_return false;  // cancelled, or about to be: the function's effects are dropped
    }
    if (!result) {
      const statefun::error& e = result.error();
      std::string reason = printable_reason(e);
      if (core_.logs(log_level::error)) {
        // (The reason says what failed, the function's exception included; never a state
        // value or a message: the handler puts none in it.)
        core_.log(log_level::error, "request.failed", "answered 500: the request failed",
                  {{"peer", peer_of(stream_)},
                   {"status", 500},
                   {"kind", failure_kind_of(e.code)},
                   {"function_type", e.function_type},
                   {"reason", e.message()}});
      }
      reason += '\n';
      co_await respond_text(500, std::move(reason), close);
      co_return true;
    }
    co_await respond(response_head{.status = 200,
                                   .content_type = "application/octet-stream",
                                   .content_length = result->size(),
                                   .close = close},
                     *result);
    co_return true;
  }

  task<> respond_refusal(bool close) {
    int status = 415;
    std::string_view reason = "StateFun requests are application/octet-stream";
    switch (route_) {
      case route::not_found:
        status = 404;
        reason = "no functions are served at this path";
        break;
      case route::wrong_method:
        status = 405;
        reason = is_probe_path() ? "probes and metrics answer GET and HEAD" : "StateFun requests are POSTed";
        break;
      default:
        break;
    }
    if (core_.logs(log_level::warn)) {
      core_.log(log_level::warn, "request.refused", "refused a request that is not a StateFun request",
                {{"peer", peer_of(stream_)},
                 {"status", status},
                 {"reason", reason},
                 {"method", parser_.method()},
                 {"path", request_path()}});
    }
    co_await respond_text(status, std::string(reason) + "\n", close, status == 405 ? allowed_methods() : "");
  }

  std::string_view allowed_methods() const { return is_probe_path() ? "GET, HEAD" : "POST"; }

  route route_of_head() const {
    const std::string_view method = parser_.method();
    const bool get = method == "GET" || method == "HEAD";
    if (get && (is_path(core_.options().live_path) || is_path(core_.options().health_path))) {
      return route::live;
    }
    if (get && is_path(core_.options().ready_path)) {
      return route::ready;
    }
    if (get && is_metrics_path()) {
      return route::metrics;
    }
    const std::string& path = core_.options().path;
    if (!path.empty() && request_path() != path) {
      return is_probe_path() ? route::wrong_method : route::not_found;
    }
    if (method != "POST") {
      return route::wrong_method;
    }
    if (const auto type = parser_.header("Content-Type"); type && !is_octet_stream(*type)) {
      return route::wrong_media_type;
    }
    return route::function;
  }

  bool is_metrics_path() const { return is_path(core_.options().metrics_path); }

  /// Whether the request is for `path` (never for an empty one).
  bool is_path(const std::string& path) const { return !path.empty() && request_path() == path; }

  /// A path that answers GET and HEAD: the probes' and the metrics'.
  bool is_probe_path() const {
    const server_options& o = core_.options();
    return is_path(o.live_path) || is_path(o.ready_path) || is_path(o.health_path) || is_metrics_path();
  }

  /// The exposition of the metrics source (404 when it keeps none): built per scrape.
  task<> respond_metrics(bool close) {
    const server_options& options = core_.options();
    const statefun::observer* source = options.metrics_source != nullptr ? options.metrics_source : observer_;
    std::string text;
    if (source == nullptr || !source->expose(text)) {
      co_await respond_text(404, "no metrics are kept\n", close);
      co_return;
    }
    co_await respond(response_head{.status = 200,
                                   .content_type = "text/plain; version=0.0.4; charset=utf-8",
                                   .content_length = text.size(),
                                   .close = close},
                     parser_.method() == "HEAD" ? std::string_view{} : std::string_view(text));
  }

  /// The request target without its query.
  std::string_view request_path() const {
    const std::string_view target = parser_.target();
    return target.substr(0, target.find('?'));
  }

  /// "application/octet-stream", in any case, parameters allowed.
  static bool is_octet_stream(std::string_view type) {
    namespace g = statefun::detail::http1;
    return g::iequals_lower(g::trim_ows(type.substr(0, type.find(';'))), "application/octet-stream");
  }

  task<> respond_text(int status, std::string text, bool close, std::string_view allow = {},
                      bool head_only = false) {
    co_await respond(response_head{.status = status,
                                   .content_type = "text/plain; charset=utf-8",
                                   .content_length = text.size(),
                                   .close = close,
                                   .allow = allow},
                     head_only ? std::string_view{} : std::string_view(text));
  }

  /// Writes one response: head and body in one gathered write.
  task<> respond(response_head head, std::string_view body) {
    // A stop may have come while the function ran; and from the first stop on (drain_delay),
    // clients are to reconnect to where the traffic now goes.
    head.close = head.close || draining_ || core_.stopping();
    closing_ = head.close;
    head.date = thread_.date();
    head.keep_alive_1_0 = !head.close && parser_.head_complete() && parser_.minor_version() == 0;
    const std::size_t head_size = format_response_head(head, head_buffer_.data());
    const std::array<::asio::const_buffer, 2> buffers{
        ::asio::buffer(head_buffer_.data(), head_size), ::asio::buffer(body)};
    set_deadline(core_.options().write_timeout, phase::write);
    co_await ::asio::async_write(stream_, buffers, use_task);
    if (observer_ != nullptr) {
      observer_->response({.status = head.status, .bytes = head_size + body.size()});
    }
  }

  /**
   * Closes after a last response without losing it: a client still sending (a refused body,
   * pipelined requests) would otherwise receive a reset instead of the response. Shut down our
   * side, then read and drop until the peer closes, for at most `linger_timeout` and
   * `linger_bytes`.
   */
  task<> linger_close() {
    if (closed_ || !stream_traits<Stream>::shutdown_send(stream_)) {
      co_return;
    }
    const server_options& options = core_.options();
    set_deadline(options.linger_timeout, phase::linger);
    parser_.reset();  // what follows is discarded, not parsed (nor read ahead for)
    std::uint64_t discarded = 0;
    // (Not `while (co_await ...)`: g++ 12 miscompiles an await in a loop condition here.)
    for (bool more = true; more;) {
      discarded += buffer_.pending_size();
      buffer_.consume(buffer_.pending_size());
      if (discarded > options.linger_bytes) {
        break;
      }
      more = co_await next_bytes();
    }
  }

  /// Waits for the pending read (starting one if needed).
  /// @return False if no more bytes will come: the peer closed, a deadline passed, or the
  ///         buffer is full while a function still uses it.
  task<bool> next_bytes() {
    start_read();
    if (!reading_) {
      co_return false;
    }
    struct wait_for_read {
      read_waiter& waiter;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> waiting) noexcept { waiter.waiting = waiting; }
      void await_resume() const noexcept {}
    };
    co_await wait_for_read{waiter_};
    co_return !peer_gone_;
  }

  void start_read() {
    if (reading_ || peer_gone_ || closed_) {
      return;
    }
    if (!in_flight_) {
      // Nothing looks into the buffer now: it may move. It grows with the bytes received, up
      // to what the request still needs (plus some room, so that a read can watch the
      // connection while a function runs), never past what the limits allow.
      const server_options& options = core_.options();
      buffer_.reserve(read_room(buffer_.pending_size(), parser_.body_bytes_expected() + watch_size, read_size),
                      message_bound(options.max_head_bytes, options.max_body_bytes, read_size + watch_size));
    }
    const std::span<char> space = buffer_.free_space();
    if (space.empty()) {
      return;  // full while a function runs: read again once it is answered
    }
    reading_ = true;
    stream_.async_read_some(
        ::asio::buffer(space.data(), space.size()),
        [self = this->shared_from_this()](std::error_code error, std::size_t n) {
          self->on_read(error, n);
        });
  }

  void on_read(std::error_code error, std::size_t n) {
    reading_ = false;
    if (error) {
      peer_gone_ = true;
      if (in_flight_) {
        request_scope_.cancel();  // the runtime gave up on this request: so do we
      }
    } else {
      buffer_.commit(n);
      if (observer_ != nullptr) {
        observer_->bytes_received(n);
      }
    }
    waiter_.wake();
  }

  bool waiting_for_request() const noexcept {
    return !in_flight_ && !head_started_ && buffer_.pending_size() == 0 && waiter_.waiting;
  }

  void set_deadline(clock::duration timeout, phase kind) noexcept {
    deadline = clock::now() + timeout;
    deadline_phase = kind;
  }

  /// The observer's name for a refusal of the parser, by its status.
  static parser_refusal refusal_of(int status) noexcept {
    switch (status) {
      case 400: return parser_refusal::bad_request;
      case 413: return parser_refusal::body_too_large;
      case 431: return parser_refusal::head_too_large;
      case 501: return parser_refusal::not_implemented;
      case 505: return parser_refusal::version_not_supported;
      default: return parser_refusal::other;
    }
  }
  void clear_deadline() noexcept { deadline = clock::time_point::max(); }

  static constexpr std::size_t read_size = 4096;
  static constexpr std::size_t watch_size = 1024;
  static constexpr std::size_t keep_buffer_bytes = 64 * 1024;

  server_thread& thread_;
  server_core& core_;
  statefun::observer* observer_ = core_.observer();
  Stream stream_;
  read_buffer buffer_;
  http::request_parser parser_;
  request_reply_handler handler_;
  task_scope request_scope_;
  read_waiter waiter_;
  std::array<char, max_response_head> head_buffer_{};
  route route_ = route::function;
  bool over_limit_ = false;
  bool reading_ = false;
  bool peer_gone_ = false;
  bool closed_ = false;
  bool in_flight_ = false;
  bool draining_ = false;
  bool head_started_ = false;
  bool body_started_ = false;
  bool continue_sent_ = false;
  bool body_unread_ = false;  // refused at its head: the rest of the request was not read
  bool closing_ = false;      // the last response said "Connection: close"
};

}  // namespace statefun::inline v0::asio::detail
