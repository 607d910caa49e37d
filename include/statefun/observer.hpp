#pragma once

/// @file
/// `observer`: the one set of events the handler, the server and the HTTP client raise
/// (batches, effects, failures, connections, timeouts, refusals, calls), for metrics, logs or
/// tracing to consume.

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

/// What a durable function's flows did in one batch handled (docs/durable.md).
struct durable_event {
  /// Flows started: a message began one (at once, or after the flow it waited behind ended).
  std::uint32_t flows_started = 0;
  /// Flows that ran to their end (returned or threw).
  std::uint32_t flows_finished = 0;
  /// Steps a replay issued again and found in the journal (their effects not repeated).
  std::uint32_t steps_replayed = 0;
  /// Bytes of the journal the runtime sent (its state value), included in `state_bytes_read`.
  std::uint64_t journal_bytes_read = 0;
  /// Bytes of the journal written back (0 when unchanged or removed), included in
  /// `state_bytes_written`.
  std::uint64_t journal_bytes_written = 0;
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

  // Events of some kinds of functions only (empty defaults: override what you consume).

  /// A durable function's batch was handled (raised before its `batch_handled`; not raised for
  /// a failed batch, whose journal is not written).
  virtual void durable_batch(const durable_event& /*event*/) noexcept {}
  /// An invocation of a coroutine function did not finish when first run: it waits on
  /// asynchronous work (a timer, an HTTP call). Raised at most once per invocation.
  virtual void coroutine_suspended() noexcept {}
  /// An invocation that raised `coroutine_suspended` finished (returned or threw).
  virtual void coroutine_finished() noexcept {}
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

// --- The local runtime's events (local::runtime) ---------------------------------------------
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

// --- The HTTP client's events (asio::http_client) ---------------------------------------------

/// How an `asio::http_client` attempt, or a whole call, ended.
enum class client_outcome : std::uint8_t {
  /// A final response, whatever its status (the event's `status` says which).
  response,
  /// The attempt's deadline (`call_options::timeout`) passed.
  timeout,
  /// Resolving, connecting (the TLS handshake included), writing or reading failed.
  connection_error,
  /// The response did not parse, or its body was over `call_options::max_response_bytes`.
  bad_response,
  /// The calling task was cancelled.
  cancelled,
};

/// One attempt of an `http_client` call, raised when it ends.
struct client_attempt_event {
  /// How the attempt ended.
  client_outcome outcome = client_outcome::response;
  /// The response's status code (`outcome == response`), else 0.
  int status = 0;
};

/// One `http_client` call, raised when it returns or throws.
struct client_call_event {
  /// How its last attempt ended.
  client_outcome outcome = client_outcome::response;
  /// The status code of the response returned (`outcome == response`), else 0.
  int status = 0;
  /// Attempts made: 1 plus the retries.
  std::uint32_t attempts = 0;
  /// From the call to its result, retries and their backoff waits included.
  std::chrono::nanoseconds duration{};
};

/// What happened to one of an `http_client`'s connections.
enum class client_connection_event : std::uint8_t {
  /// A new connection (before connecting).
  opened,
  /// A connection let go, whatever the reason (every opened one closes once).
  closed,
  /// A connection went into the idle pool after a response.
  pooled,
  /// A connection left the idle pool: taken for an attempt, or closed to make room (or with
  /// the client).
  unpooled,
};

/**
 * Receives the events of one `asio::http_client` (and its copies). An `observer` hands one out
 * per client name (`observer::client`), asked once at the client's construction. Called from the
 * threads that run the client's calls, several at once: implementations synchronise.
 */
class client_observer {
 public:
  virtual ~client_observer() = default;
  /// A call returned a response or threw.
  virtual void call(const client_call_event& /*event*/) noexcept {}
  /// An attempt ended (a call makes one, plus one per retry).
  virtual void attempt(const client_attempt_event& /*event*/) noexcept {}
  /// A failed attempt is retried (after its backoff wait).
  virtual void retry() noexcept {}
  /// A connection opened, closed, or entered or left the idle pool.
  virtual void connection(client_connection_event /*event*/) noexcept {}
};

/**
 * Receives the events of the request-reply handler, the HTTP server and HTTP clients. Every method does
 * nothing by default: override what you consume. Methods are called on serving threads,
 * several at once when the server has several: implementations synchronise (atomics).
 *
 * Attach one to a `functions` registry (`functions::observe`) for the functions' events, and
 * to `asio::server_options::observer` for the server's. Nothing is counted where none is
 * attached. It must outlive what it is attached to.
 *
 * Attach it to `asio::client_options::observer` for an HTTP client's events, and to
 * `local::runtime_options::observer` for the local runtime's. Later event sources add methods
 * here, with empty defaults, so that existing observers keep compiling.
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
  // The HTTP client's events.

  /// The observer of the events of an `asio::http_client` called `name`
  /// (`client_options::name`), or null to ignore them. Asked once per client at its
  /// construction; the result must live as long as this observer. Clients with one name may
  /// share one.
  virtual client_observer* client(std::string_view /*name*/) { return nullptr; }

  /**
   * Appends a text exposition of what was observed (Prometheus format 0.0.4), if this
   * observer keeps one: the server answers `GET server_options::metrics_path` with it.
   * @return False (the default) when it keeps none: the path then answers 404.
   */
  virtual bool expose(std::string& /*out*/) const { return false; }
};

}  // namespace statefun::inline v0
