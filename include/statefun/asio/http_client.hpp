#pragma once

/// @file
/// `statefun::asio::http_client`: an asynchronous HTTP/1.1 client for calling outside services
/// from inside a function (keep-alive pool, per-attempt timeout, retries with backoff), over
/// TCP, Unix domain sockets or (with <statefun/asio/tls.hpp>) TLS.

#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <statefun/asio/detail/attempt_deadline.hpp>
#include <statefun/asio/detail/client_connection.hpp>
#include <statefun/asio/detail/client_transport.hpp>
#include <statefun/asio/detail/connection_pool.hpp>
#include <statefun/asio/detail/http_origin.hpp>
#include <statefun/asio/detail/scope_clock.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/config.hpp>
#include <statefun/detail/http_grammar.hpp>
#include <statefun/expected.hpp>
#include <statefun/observer.hpp>
#include <statefun/task.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace statefun::inline v0::asio {

/// A request to send: the client adds `Host` (unless given) and `Content-Length`.
struct http_request {
  /// The request method.
  std::string method = "GET";
  std::string target = "/";  ///< origin-form: path and query
  /// Header fields to send, in this order.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The body (sent with a `Content-Length`).
  std::string body;
};

/// A final (non-1xx) response, body read in full.
struct http_response {
  /// The status code.
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  ///< in the order received
  std::string body;                                          ///< de-chunked

  /// The value of the first header field called `name` (case-insensitive), if any.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept {
    for (const auto& [field, value] : headers) {
      if (statefun::detail::http1::iequals(field, name)) {
        return value;
      }
    }
    return std::nullopt;
  }
};

/// How one call behaves: per-attempt timeout, and retries with exponential backoff.
struct call_options {
  /// Time for one attempt: resolve, connect, send and receive. Zero: no timeout.
  std::chrono::milliseconds timeout{10'000};
  /// Attempts after the first, on connect and I/O errors, timeouts and (see below) 5xx.
  int retries = 0;
  /// Wait before the first retry; each later wait doubles, up to `max_backoff`.
  std::chrono::milliseconds backoff{20};
  /// The longest wait between two attempts.
  std::chrono::milliseconds max_backoff{1000};
  /// Retry 5xx responses too (the last one is returned when retries run out).
  bool retry_on_5xx = true;
  /// The largest response body accepted, in bytes, de-chunked (the head has its own limit,
  /// 16 KiB). A larger one fails the call with `std::errc::message_size` as soon as its
  /// Content-Length or chunk sizes show it, and is not retried. Whatever the framing, a call
  /// holds at most its receive buffer (the body so far, up to this limit) and the body it
  /// returns, plus a few KiB.
  std::uint64_t max_response_bytes = 64ull << 20;
};

/// How an `http_client` keeps its connections and whom it tells what it does.
struct client_options {
  /// How many idle connections to keep, all threads together (0: no reuse).
  std::size_t max_idle_connections = 16;
  /// Where the client's events go (calls, attempts, retries, connections), or null: nothing
  /// is counted. It must outlive the client, its copies and their calls.
  statefun::observer* observer = nullptr;
  /**
   * The client's name in those events: the `client` label of its metrics. Name it in code
   * after the service it calls ("scores"), never after a request: each name is a series.
   * Clients with one name share their series.
   */
  std::string name;
};

/**
 * What answers an `http_client`'s attempts in place of the network: a test double such as
 * `statefun::testing::http_double`. The client still checks, frames, times and retries each
 * call as it would over a socket; only the exchange of one attempt goes to `attempt`.
 */
class http_responder {
 public:
  /// Destroys the responder.
  virtual ~http_responder() = default;

  /**
   * One attempt at `request` (with the `Host` field the client adds unless given), under the
   * call's per-attempt `timeout` (zero: none). Runs in the calling task's scope.
   * @return The response, or the error the attempt failed with, as a socket would have:
   *         `asio::error::timed_out`, `asio::error::connection_refused`, ...
   */
  virtual task<expected<http_response, std::error_code>> attempt(const http_request& request,
                                                                  std::chrono::milliseconds timeout) = 0;
};

/**
 * How an `http_client` talks to an `https://` origin: `statefun::asio::tls_client(options)`
 * from <statefun/asio/tls.hpp> makes one. That header, and only it, needs OpenSSL (libssl and
 * libcrypto), so programs that never use https do not link it. A default-constructed connector
 * is empty: no TLS.
 */
class client_connector {
 public:
  client_connector() noexcept = default;

  /// (How `tls_client` makes one.) A connector whose connections `transport` opens.
  explicit client_connector(std::shared_ptr<const detail::client_transport> transport) noexcept
      : transport_(std::move(transport)) {}

  /// Whether the connector holds a transport (a default-constructed one does not).
  explicit operator bool() const noexcept { return transport_ != nullptr; }

 private:
  friend class http_client;

  std::shared_ptr<const detail::client_transport> transport_;
};

/**
 * An HTTP/1.1 client for one origin (`http://host[:port]`, `https://host[:port]` or
 * `http+unix:///path/to/x.sock`), for functions that `co_await` outside services. Idle
 * keep-alive connections are pooled and reused; each attempt has a deadline; failed attempts
 * are retried with exponential backoff; a cancelled request (the runtime went away) fails at
 * once with `operation_aborted`.
 *
 * One client may be shared by every thread of a server: copies share the same pool, and a
 * pooled connection is only reused on the executor it was opened on. The client must be
 * destroyed before the event loops its connections belong to (declare it after the server).
 *
 * **Example**:
 * @code
 * statefun::asio::http_client scores(server.executor(), "http://merchant-score:8080");
 * statefun::asio::http_client local(server.executor(), "http+unix:///run/scores.sock");
 * // #include <statefun/asio/tls.hpp>
 * statefun::asio::http_client secure(server.executor(), "https://scores.internal:8443",
 *                                    statefun::asio::tls_client({.trust_cacerts = "ca.pem"}));
 *
 * statefun::task<> check(statefun::context& ctx, statefun::message msg) {
 *   auto reply = co_await scores.get("/score?merchant=" + msg.as<std::string>(), {.retries = 2});
 *   if (reply.status == 200) { ... }
 * }
 * @endcode
 */
class http_client {
 public:
  /**
   * @param executor Where connections are opened when a call is made outside a task run by
   *        statefun::asio (inside one, the task's executor is used).
   * @param base_url One of:
   *        - `http://host[:port]`: a host name (resolved per connection), an IPv4 literal, or an
   *          IPv6 literal in brackets; port 80 by default;
   *        - `http+unix:///path/to/x.sock` or `https+unix:///path/to/x.sock`: a Unix domain
   *          socket, the file being everything up to the first path segment ending in `.sock`
   *          (both schemes speak plain HTTP, as the runtime's do); `Host: localhost`;
   *        - `https://host[:port]` (port 443 by default): only with a TLS connector, below.
   * @param max_idle_connections How many idle connections to keep, all threads together.
   * @throws std::invalid_argument For any other URL, `https://` included: it needs the
   *         constructor that takes a `client_connector`.
   */
  http_client(::asio::any_io_executor executor, std::string_view base_url, std::size_t max_idle_connections = 16)
      : http_client(std::move(executor), base_url, client_connector{}, max_idle_connections) {}

  /**
   * A client for an `https://` origin, or any of the above (which ignore `connector`, as the
   * runtime ignores its TLS settings for an `http://` endpoint).
   *
   * **Example**:
   * @code
   * #include <statefun/asio/tls.hpp>
   *
   * statefun::asio::http_client client(executor, "https://fn.internal:8443",
   *                                    statefun::asio::tls_client({.trust_cacerts = "/etc/fn/ca.pem",
   *                                                                .client_cert = "/etc/fn/client.pem",
   *                                                                .client_key = "/etc/fn/client.key"}));
   * @endcode
   *
   * @param executor As above.
   * @param base_url As above, `https://` included.
   * @param connector How to speak TLS: `statefun::asio::tls_client(options)`.
   * @param max_idle_connections As above.
   * @throws std::invalid_argument For a malformed URL, or an `https://` URL with an empty
   *         connector.
   */
  http_client(::asio::any_io_executor executor, std::string_view base_url, client_connector connector,
              std::size_t max_idle_connections = 16)
      : http_client(std::move(executor), base_url, std::move(connector),
                    client_options{max_idle_connections, nullptr, {}}) {}

  /**
   * A client with `options` (its pool, and an observer of its calls):
   * @code
   * statefun::asio::http_client scores(executor, "http://merchant-score:8080",
   *                                    {.observer = &metrics, .name = "scores"});
   * @endcode
   * @throws std::invalid_argument As above.
   */
  http_client(::asio::any_io_executor executor, std::string_view base_url, client_options options)
      : http_client(std::move(executor), base_url, client_connector{}, std::move(options)) {}

  /// A client of any origin (`https://` with `connector`), with `options`.
  http_client(::asio::any_io_executor executor, std::string_view base_url, client_connector connector,
              client_options options)
      : state_(make_state(std::move(executor), base_url, std::move(connector), options)) {}

  /**
   * A client whose attempts `responder` answers instead of the network (a unit test's double;
   * `base_url` still gives the `Host` field and the calls' names). Everything else is as for
   * a network origin: checks, per-attempt timeouts, retries and backoff, events. `executor`
   * may be empty: a call made outside a task run by statefun::asio then runs inline.
   * @throws std::invalid_argument For a malformed URL, or a null `responder`.
   */
  http_client(::asio::any_io_executor executor, std::string_view base_url, std::shared_ptr<http_responder> responder,
              client_options options = {})
      : state_(make_state(std::move(executor), base_url, client_connector{}, options, std::move(responder))) {}

  /**
   * Sends `req` and returns the final response, retrying as `options` says.
   *
   * @return The response, 4xx and 5xx included (the last 5xx once retries run out).
   * @throws std::invalid_argument At the call, for a malformed method, target or header field, or
   *         a `Content-Length` / `Transfer-Encoding` field (the client frames the body itself).
   * @throws std::system_error From the awaited task, once retries run out: the last attempt's
   *         error, e.g. `asio::error::timed_out`, `connection_refused`, `eof` (the server closed
   *         mid-response), an `asio::ssl` error (a failed TLS handshake, such as an untrusted
   *         certificate; `stream_truncated`: the server closed a TLS connection mid-response
   *         without close_notify), `std::errc::protocol_error` (a response that does not parse;
   *         not retried) or `std::errc::message_size` (a response body over
   *         `options.max_response_bytes`; not retried). `asio::error::operation_aborted` when the calling task was cancelled
   *         (never retried).
   */
  task<http_response> request(http_request req, call_options options = {}) {
    const bool head_request = req.method == "HEAD";
    const bool keep_alive = !asks_to_close(req.headers);
    std::string head = request_head(req, state_->origin);
    std::string what = req.method + " " + base() + req.target;
    if (state_->responder != nullptr) {
      return run_answered(state_, with_host(std::move(req), state_->origin), options, std::move(what));
    }
    return run(state_, std::move(head), std::move(req.body), head_request, keep_alive, options, std::move(what));
  }

  /// `GET target`.
  task<http_response> get(std::string target, call_options options = {}) {
    return request(http_request{"GET", std::move(target), {}, {}}, options);
  }

  /// `POST target` with `body` as `content_type`.
  task<http_response> post(std::string target, std::string body, std::string content_type,
                           call_options options = {}) {
    return request(http_request{"POST", std::move(target), {{"Content-Type", std::move(content_type)}}, std::move(body)},
                   options);
  }

  /// Idle connections in the pool now, all executors together.
  [[nodiscard]] std::size_t idle_connections() const { return state_->pool.size(); }

  /// The executor given at construction.
  [[nodiscard]] const ::asio::any_io_executor& executor() const noexcept { return state_->executor; }

 private:
  /// What copies of a client, and their calls in flight, share.
  struct shared_state {
    shared_state(::asio::any_io_executor e, detail::http_origin o,
                 std::shared_ptr<const detail::client_transport> t, const client_options& options)
        : executor(std::move(e)),
          origin(std::move(o)),
          transport(std::move(t)),
          events(options.observer != nullptr ? options.observer->client(options.name) : nullptr),
          pool(options.max_idle_connections, events) {}

    ::asio::any_io_executor executor;
    detail::http_origin origin;
    std::shared_ptr<const detail::client_transport> transport;
    /// Where the client's events go, or null: nothing is counted.
    client_observer* events;
    detail::connection_pool pool;  // last: its connections go first
    /// What answers the attempts instead of the network, or null (the network).
    std::shared_ptr<http_responder> responder{};
  };

  static std::shared_ptr<shared_state> make_state(::asio::any_io_executor executor, std::string_view base_url,
                                                  client_connector connector, const client_options& options,
                                                  std::shared_ptr<http_responder> responder = nullptr) {
    detail::http_origin origin = detail::parse_http_origin(base_url);
    std::shared_ptr<const detail::client_transport> transport;
    if (responder != nullptr) {
      auto state = std::make_shared<shared_state>(std::move(executor), std::move(origin), nullptr, options);
      state->responder = std::move(responder);
      return state;
    }
    switch (origin.transport) {
      case detail::origin_transport::tcp:
        transport = std::make_shared<detail::plain_client_transport<detail::tcp_client_connection>>();
        break;
      case detail::origin_transport::unix_socket:
        transport = std::make_shared<detail::plain_client_transport<detail::unix_client_connection>>();
        break;
      case detail::origin_transport::tls:
        if (!connector) {
          throw detail::bad_base_url(base_url,
                                     "https needs TLS: #include <statefun/asio/tls.hpp> and pass "
                                     "statefun::asio::tls_client(options) to the http_client constructor");
        }
        transport = std::move(connector.transport_);
        break;
    }
    return std::make_shared<shared_state>(std::move(executor), std::move(origin), std::move(transport), options);
  }

  /// One attempt's outcome: a response, or why there is none.
  struct attempt_result {
    std::optional<http_response> response;
    std::error_code error;
    std::string_view reason;  // for protocol errors
  };

  const std::string& base() const noexcept { return state_->origin.base; }

  /// `Connection: close` among the caller's fields: do not pool the connection afterwards.
  static bool asks_to_close(const std::vector<std::pair<std::string, std::string>>& headers) {
    namespace g = statefun::detail::http1;
    for (const auto& [name, value] : headers) {
      if (g::iequals(name, "connection") && g::list_contains(value, "close")) {
        return true;
      }
    }
    return false;
  }


  /// The request line and header section, checked so that nothing can be smuggled into them.
  static std::string request_head(const http_request& req, const detail::http_origin& origin) {
    namespace g = statefun::detail::http1;
    const auto refuse = [&](std::string_view what) {
      return std::invalid_argument("statefun::asio::http_client: " + std::string(what) + " in " + req.method + " " +
                                   req.target);
    };
    if (req.method.empty() || g::skip(req.method, 0, g::tchar) != req.method.size()) {
      throw refuse("malformed method");
    }
    if (g::skip(req.target, 0, g::target_char) != req.target.size() || !g::valid_target(req.method, req.target)) {
      throw refuse("malformed target (expected /path?query)");
    }
    bool has_host = false;
    for (const auto& [name, value] : req.headers) {
      if (name.empty() || g::skip(name, 0, g::tchar) != name.size() ||
          g::skip(value, 0, g::field_char) != value.size()) {
        throw refuse("malformed header field \"" + name + "\"");
      }
      if (g::iequals(name, "content-length") || g::iequals(name, "transfer-encoding")) {
        throw refuse(name + " set by the caller (the client frames the body)");
      }
      has_host = has_host || g::iequals(name, "host");
    }

    std::string head;
    head.reserve(64 + req.target.size() + origin.host_header.size());
    head.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\n");
    if (!has_host) {
      head.append("Host: ").append(origin.host_header).append("\r\n");
    }
    for (const auto& [name, value] : req.headers) {
      head.append(name).append(": ").append(value).append("\r\n");
    }
    // RFC 9110 §8.6: a POST, PUT or PATCH says its length even when the body is empty.
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      head.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
    }
    head.append("\r\n");
    return head;
  }

  /// The errors another attempt may cure: not a cancellation, not a response that does not parse
  /// or is too large.
  static bool retryable(const std::error_code& error) noexcept {
    return error != ::asio::error::operation_aborted && error != std::errc::protocol_error &&
           error != std::errc::message_size;
  }

  /// One attempt under its own deadline, on a pooled connection of `executor` or a new one.
  static task<attempt_result> attempt(shared_state& state, const ::asio::any_io_executor& executor,
                                      std::string_view head, std::string_view body, bool head_request,
                                      bool keep_alive, const call_options& options) {
    const auto deadline = std::make_shared<detail::attempt_deadline>(executor);
    const detail::attempt_deadline::disarm_on_exit disarm(*deadline);
    deadline->arm(options.timeout);
    std::shared_ptr<detail::client_connection> connection = state.pool.take(executor);
    for (;;) {
      const bool reused = connection != nullptr;
      std::error_code error;
      if (!reused) {
        connection = state.transport->open(executor);
        if (state.events != nullptr) {
          connection->observe(state.events);
          state.events->connection(client_connection_event::opened);
        }
        deadline->watch(connection);
        error = co_await connection->connect(state.origin, *deadline);
      }
      deadline->watch(connection);
      if (!error) {
        error = co_await connection->write(head, body);
      }
      detail::read_outcome read;
      if (!error) {
        read = co_await connection->read_response(head_request, options.max_response_bytes);
        error = read.error;
      }
      if (!error) {
        http_response response = take_response(connection->response());
        deadline->watch(nullptr);
        if (connection->finish_response() && keep_alive) {
          state.pool.give_back(std::move(connection));
        }
        co_return attempt_result{std::move(response), {}, {}};
      }
      if (deadline->expired()) {
        co_return attempt_result{std::nullopt, ::asio::error::timed_out, {}};
      }
      if (reused && !connection->response_started() && connection->closed_by_peer(error)) {
        // OkHttp's rule: the server closed the idle connection meanwhile, so the request never
        // got through. Once, on a new connection, and not counted as a retry.
        connection.reset();
        continue;
      }
      co_return attempt_result{std::nullopt, error, read.reason};
    }
  }

  static http_response take_response(const http::response_parser& parser) {
    http_response response;
    response.status = parser.status_code();
    response.headers.reserve(parser.header_count());
    for (std::size_t i = 0; i < parser.header_count(); ++i) {
      const http::header_field field = parser.header_at(i);
      response.headers.emplace_back(field.name, field.value);
    }
    response.body = parser.body();
    return response;
  }

  /// How an attempt ended, for the observer.
  static client_outcome outcome_of(const attempt_result& result) noexcept {
    if (result.response) {
      return client_outcome::response;
    }
    if (result.error == ::asio::error::timed_out) {
      return client_outcome::timeout;
    }
    if (result.error == ::asio::error::operation_aborted) {
      return client_outcome::cancelled;
    }
    if (result.error == std::errc::protocol_error || result.error == std::errc::message_size) {
      return client_outcome::bad_response;
    }
    return client_outcome::connection_error;
  }

  /// Tells the observer (if any) how an attempt ended, and the call if it was the last.
  static void observe_attempt(client_observer* events, const attempt_result& result, bool final_attempt,
                              int attempt_number, std::chrono::steady_clock::time_point started) noexcept {
    if (events == nullptr) {
      return;
    }
    const client_outcome outcome = outcome_of(result);
    const int status = result.response ? result.response->status : 0;
    events->attempt({outcome, status});
    if (final_attempt) {
      events->call({outcome, status, static_cast<std::uint32_t>(attempt_number + 1),
                    std::chrono::steady_clock::now() - started});
    } else {
      events->retry();
    }
  }

  /// Doubles `delay`, up to `cap` (and without overflowing).
  static std::chrono::milliseconds next_backoff(std::chrono::milliseconds delay, std::chrono::milliseconds cap) {
    return delay >= cap / 2 ? cap : std::min(delay * 2, cap);
  }

  /// `req` with the `Host` field the request head carries (unless the caller gave one).
  static http_request with_host(http_request req, const detail::http_origin& origin) {
    namespace g = statefun::detail::http1;
    for (const auto& [name, value] : req.headers) {
      if (g::iequals(name, "host")) {
        return req;
      }
    }
    req.headers.insert(req.headers.begin(), {"Host", origin.host_header});
    return req;
  }

  /// Waits `delay` before a retry: on the scope's clock if it has one (a unit test's), else on
  /// a timer of `executor`.
  static task<> back_off(const detail::task_scope* scope, const ::asio::any_io_executor& executor,
                         std::chrono::milliseconds delay) {
    if (scope != nullptr && scope->clock() != nullptr) {
      co_await scope->clock()->wait(delay);
      co_return;
    }
    ::asio::steady_timer timer(executor, detail::deadline_after(delay));
    co_await timer.async_wait(use_task);
  }

  /// The error of a call that failed for good.
  static std::system_error call_failed(const attempt_result& result, const call_options& options,
                                       const std::string& what) {
    std::string message = "statefun::asio::http_client: " + what;
    if (result.error == std::errc::message_size) {
      message.append(": response body over call_options::max_response_bytes (")
          .append(std::to_string(options.max_response_bytes))
          .append(" bytes)");
    } else if (!result.reason.empty()) {
      message.append(": malformed response: ").append(result.reason);
    }
    return std::system_error(result.error, message);
  }

  /// One attempt answered by the responder, as the network's `attempt` reports one.
  static task<attempt_result> answer(http_responder& responder, const http_request& req,
                                     std::chrono::milliseconds timeout) {
    auto answered = co_await responder.attempt(req, timeout);
    if (answered) {
      co_return attempt_result{std::move(*answered), {}, {}};
    }
    co_return attempt_result{std::nullopt, answered.error(), {}};
  }

  /**
   * The retry loop both paths share: `next_attempt()` (a task of an `attempt_result`) until one
   * is final, with backoff waits between them and the observer told of each.
   */
  template <class NextAttempt>
  static task<http_response> retry(const shared_state& state, const detail::task_scope* scope,
                                   ::asio::any_io_executor executor, const call_options& options,
                                   const std::string& what, NextAttempt next_attempt) {
    client_observer* const events = state.events;
    // The clock is read only for an observer (the call's duration).
    const std::chrono::steady_clock::time_point started =
        events != nullptr ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    const int retries = std::max(options.retries, 0);
    const std::chrono::milliseconds cap = std::max(options.max_backoff, std::chrono::milliseconds(0));
    std::chrono::milliseconds delay = std::clamp(options.backoff, std::chrono::milliseconds(0), cap);
    for (int attempt_number = 0;; ++attempt_number) {
      attempt_result result = co_await next_attempt();
      const bool last = attempt_number >= retries;
      if (result.response) {
        const bool server_error = result.response->status >= 500 && result.response->status <= 599;
        const bool final_response = last || !server_error || !options.retry_on_5xx;
        observe_attempt(events, result, final_response, attempt_number, started);
        if (final_response) {
          co_return std::move(*result.response);
        }
      } else if (last || !retryable(result.error)) {
        observe_attempt(events, result, true, attempt_number, started);
        throw call_failed(result, options, what);
      } else {
        observe_attempt(events, result, false, attempt_number, started);
      }
      co_await back_off(scope, executor, delay);
      delay = next_backoff(delay, cap);
    }
  }

  /// The call when a responder answers it (a unit test's double): `retry` over the responder.
  static task<http_response> run_answered(std::shared_ptr<shared_state> state, http_request req,
                                          call_options options, std::string what) {
    const detail::task_scope* scope = detail::task_scope::current();
    const ::asio::any_io_executor executor = scope != nullptr ? scope->executor() : state->executor;
    if (scope == nullptr && executor) {
      co_await ::asio::post(executor, use_task);  // (a client made with no executor stays inline)
    }
    const auto next_attempt = [&] { return answer(*state->responder, req, options.timeout); };
    co_return co_await retry(*state, scope, executor, options, what, next_attempt);
  }

  /// The call over the network: `retry` over connections of the pool.
  static task<http_response> run(std::shared_ptr<shared_state> state, std::string head, std::string body,
                                 bool head_request, bool keep_alive, call_options options, std::string what) {
    const detail::task_scope* scope = detail::task_scope::current();
    const ::asio::any_io_executor executor = scope != nullptr ? scope->executor() : state->executor;
    if (scope == nullptr) {
      // Outside a task run by statefun::asio: continue on the client's executor, where the
      // connections' handlers (and the deadline's) run, so they never run concurrently with us.
      co_await ::asio::post(executor, use_task);
    }
    const auto next_attempt = [&] {
      return attempt(*state, executor, head, body, head_request, keep_alive, options);
    };
    co_return co_await retry(*state, scope, executor, options, what, next_attempt);
  }

  std::shared_ptr<shared_state> state_;
};

}  // namespace statefun::inline v0::asio
