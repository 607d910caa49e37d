#pragma once

/// @file
/// `observer`: the one set of events the handler and the server raise (batches, effects,
/// failures, connections, timeouts, refusals), for metrics, logs or tracing to consume.

#include <statefun/type_name.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace statefun::inline v0 {

/// Why a request got no response from its function.
enum class failure_kind : std::uint8_t {
  /// The bytes are not a `ToFunction` batch, or a caller address in it is invalid.
  malformed_request,
  /// The target's type is bound to no function (the event has no function type: the type
  /// named in the request is the client's choice, unbounded).
  unknown_function_type,
  /// The function threw (or a coroutine function's awaited work did).
  exception,
  /// The function asked for an effect the context refused (negative delay, a cancellation
  /// token used twice, a reply with no caller), and did not catch the refusal.
  refused_effect,
};

/// What one batch of a function type did, raised once it is answered.
struct batch_event {
  /// Invocations in the batch.
  std::uint32_t invocations = 0;
  /// Time from decoding the request to the response written (a coroutine's waits included).
  std::chrono::nanoseconds handler_time{};
  /// Messages sent now (replies excluded).
  std::uint32_t messages = 0;
  /// Delayed messages sent (cancellations excluded).
  std::uint32_t delayed_messages = 0;
  /// Cancellations of delayed messages.
  std::uint32_t cancellations = 0;
  /// Records sent to egresses.
  std::uint32_t egress_records = 0;
  /// Messages sent to the caller: `context::reply` and functions' return values.
  std::uint32_t replies = 0;
  /// Bytes of state values the request carried for the function's declared states.
  std::uint64_t state_bytes_read = 0;
  /// Bytes of state values the response writes back (modified states).
  std::uint64_t state_bytes_written = 0;
};

/**
 * Receives the events of one function type. An `observer` hands one out per bound type
 * (`observer::function_type`), so that the handler raises a type's events without looking
 * the type up. Called from serving threads, several at once: implementations synchronise.
 */
class function_observer {
 public:
  virtual ~function_observer() = default;
  /// A batch ran and its response is ready.
  virtual void batch_handled(const batch_event& event) noexcept = 0;
  /// The runtime lacked `missing` declared states: the handler answered with their specs.
  virtual void missing_state(std::size_t missing) noexcept = 0;
  /// The batch failed (its effects dropped); `event` has what was done until then.
  virtual void batch_failed(failure_kind kind, const batch_event& event) noexcept = 0;
};

/// Why the server closed a connection on a deadline (server_options' timeouts).
enum class timeout_kind : std::uint8_t { header, body, idle, write };

/// What happened to a server connection.
enum class connection_event : std::uint8_t {
  /// Accepted and served.
  accepted,
  /// Accepted beyond `max_connections` (or out of file descriptors): answered 503 and closed.
  refused,
  /// Closed, whatever the reason (every accepted or refused connection closes once).
  closed,
};

/// A request the HTTP parser refused, by the status it was answered with.
enum class parser_refusal : std::uint8_t {
  /// 400: not HTTP/1.1 syntax, or conflicting framing.
  bad_request,
  /// 413: body over `max_body_bytes`.
  body_too_large,
  /// 431: request line and header fields over `max_head_bytes`.
  head_too_large,
  /// 501: a transfer coding other than chunked.
  not_implemented,
  /// 505: an HTTP version other than 1.x.
  version_not_supported,
  /// Any other status.
  other,
};

/// One response the server wrote.
struct response_event {
  /// Its status code.
  int status = 0;
  /// Bytes of the response (head and body).
  std::uint64_t bytes = 0;
};

// ------------------------------------------------------------------- the local runtime's events
// `statefun::local::runtime` (a layer above) raises these: plain values, no local types.

/// How a message was routed to a function type by the local runtime.
enum class local_route : std::uint8_t {
  /// From an ingress record or `runtime::send` (one per target of the record's route).
  ingress,
  /// Sent by a function (`context::send`).
  message,
  /// A delayed message that fell due.
  delayed,
};

/// Why the local runtime sent a batch to a function type's endpoint.
enum class local_batch_reason : std::uint8_t {
  /// Invocations sent for the first time: a message to an idle address, or the backlog that
  /// waited behind the previous batch.
  fresh,
  /// The same invocations again, with the states the missing-state handshake asked for.
  missing_state,
  /// In flight at the snapshot that `runtime::restore` rolled back to: sent again.
  replay,
};

/// Why an attempt to call a function type's HTTP endpoint failed and is tried again.
enum class local_retry_reason : std::uint8_t {
  /// An HTTP status other than 2xx that the transport retries.
  status,
  /// A 2xx answer with the wrong content type or a body that is not a FromFunction (the async
  /// transport retries those).
  bad_answer,
  /// No answer: a connection refused, reset or timed out, or a malformed HTTP response.
  io_error,
};

/**
 * Receives the local runtime's events of one function type (`observer::local_function_type`).
 * Called on the runtime's thread; a scrape may read what it counts from another thread. Every
 * method does nothing by default.
 */
class local_function_observer {
 public:
  virtual ~local_function_observer() = default;
  /// A message for an address of the type was routed (queued for delivery).
  virtual void message_routed(local_route /*route*/) noexcept {}
  /// A batch of `invocations` went to the type's endpoint.
  virtual void batch_sent(local_batch_reason /*reason*/, std::uint32_t /*invocations*/) noexcept {}
  /// Messages waiting behind the type's in-flight batches (one request per address at a time)
  /// changed by `delta`.
  virtual void backlog_changed(std::int64_t /*delta*/) noexcept {}
  /// An attempt to call the type's HTTP endpoint failed and will be retried.
  virtual void endpoint_retried(local_retry_reason /*reason*/) noexcept {}
};

/**
 * Receives the events of the request-reply handler and of the HTTP server. Every method does
 * nothing by default: override what you consume. Methods are called on serving threads,
 * several at once when the server has several: implementations synchronise (atomics).
 *
 * Attach one to a `functions` registry (`functions::observe`) for the functions' events, and
 * to `asio::server_options::observer` for the server's. Nothing is counted where none is
 * attached. It must outlive what it is attached to.
 *
 * Later event sources (the HTTP client, the local runtime, durable functions) add methods
 * here, with empty defaults, so that existing observers keep compiling. The local runtime's
 * events go to `local::runtime_options::observer`.
 */
class observer {
 public:
  virtual ~observer() = default;

  /// The observer of a function type's events, or null to ignore them. Asked once per bound
  /// type (at `functions::observe` or `bind`, not while serving); the result must live as long
  /// as this observer.
  virtual function_observer* function_type(const type_name& /*type*/) { return nullptr; }

  /// A request named no bound function (`unknown_function_type`) or could not be decoded
  /// (`malformed_request`).
  virtual void request_failed(failure_kind /*kind*/) noexcept {}

  /// A server connection was accepted, refused with 503, or closed.
  virtual void connection(connection_event /*event*/) noexcept {}
  /// The server received `bytes` on a connection (TLS: decrypted bytes).
  virtual void bytes_received(std::uint64_t /*bytes*/) noexcept {}
  /// The server wrote a response.
  virtual void response(const response_event& /*event*/) noexcept {}
  /// The server closed a connection whose deadline passed.
  virtual void timeout(timeout_kind /*kind*/) noexcept {}
  /// The HTTP parser refused a request (the connection then closes).
  virtual void parser_refused(parser_refusal /*reason*/) noexcept {}
  /// A TLS handshake with a client failed.
  virtual void tls_handshake_failed() noexcept {}

  // The local runtime's events (`local::runtime_options::observer`), on the runtime's thread.
  // Gauges come as changes (`delta`), so that runtimes sharing an observer add up; a runtime
  // takes back what it added when it is destroyed.

  /// A local runtime took this observer (once, when it is constructed).
  virtual void local_runtime_attached() noexcept {}
  /// The observer of a function type's runtime events, or null. Asked once per type the runtime
  /// comes to know; the result must live as long as this observer.
  virtual local_function_observer* local_function_type(const type_name& /*type*/) { return nullptr; }
  /// Delayed messages pending (scheduled, not yet fired nor cancelled) changed by `delta`.
  virtual void local_delayed_changed(std::int64_t /*delta*/) noexcept {}
  /// Requests out to endpoints (answers not yet applied) changed by `delta`.
  virtual void local_in_flight_changed(std::int64_t /*delta*/) noexcept {}
  /// A record was published to egress `egress` (a module-declared id; exactly-once egresses
  /// publish at a snapshot).
  virtual void local_egress_record(std::string_view /*egress*/) noexcept {}
  /// A snapshot was taken; it published `released` exactly-once egress records.
  virtual void local_snapshot(std::size_t /*released*/) noexcept {}
  /// The runtime was rolled back to a snapshot.
  virtual void local_restore() noexcept {}

  /**
   * Appends a text exposition of what was observed (Prometheus format 0.0.4), if this
   * observer keeps one: the server answers `GET server_options::metrics_path` with it.
   * @return False (the default) when it keeps none: the path then answers 404.
   */
  virtual bool expose(std::string& /*out*/) const { return false; }
};

}  // namespace statefun::inline v0
