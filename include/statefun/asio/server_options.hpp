#pragma once

/// @file
/// `statefun::asio::server_options`: what an operator tunes on `http_server`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <statefun/config.hpp>
#include <statefun/log.hpp>
#include <statefun/log_line.hpp>
#include <statefun/observer.hpp>

namespace statefun::inline v0::asio {

/**
 * Settings of an `http_server`. Every limit has a default fit for serving a StateFun runtime
 * on an open network; a designated initializer names what differs:
 *
 * @code
 * statefun::asio::http_server server{fns, {.port = 8000, .path = "/statefun"}};
 * @endcode
 */
struct server_options {
  /// The unit of the time limits below.
  using duration = std::chrono::steady_clock::duration;

  /// A TCP listener on every interface (IPv6 and IPv4) at this port, if set. More listeners:
  /// `http_server::listen`, `listen_unix`, `listen_tls`.
  std::optional<std::uint16_t> port{};

  /// The path functions are served at, for example "/statefun"; other paths answer 404. Empty:
  /// any path (the runtime's Unix-socket transport mangles paths; routing is by the body anyway).
  std::string path{};

  /// Liveness: `GET` or `HEAD` here answers 200 "ok" while the process serves, draining
  /// included (a liveness probe that fails makes an orchestrator kill the process). Empty: none.
  std::string live_path = "/livez";

  /// Readiness: `GET` or `HEAD` here answers 200 "ready" once `run` serves every listener, and
  /// 503 "draining" from the moment `stop` (or SIGTERM) is called, so that an orchestrator stops
  /// sending new work before the listeners close (see `drain_delay`). Empty: none.
  std::string ready_path = "/readyz";

  /// An alias of `live_path` (the one health path of earlier versions). Empty: none.
  std::string health_path = "/healthz";

  /// Receives the server's events (connections, responses, timeouts, refusals), or null: then
  /// nothing is counted. Not owned: it must outlive the server. The functions' own events go
  /// to the observer of the `functions` registry (`functions::observe`), usually the same one.
  statefun::observer* observer = nullptr;

  /// `GET` or `HEAD` here answers the metrics exposition (`observer::expose`, Prometheus
  /// text format 0.0.4) of `metrics_source`, or of `observer` when that is null; 404 when
  /// neither keeps one. Empty: no metrics route.
  std::string metrics_path = "/metrics";

  /// Whose exposition `metrics_path` serves, if not `observer`'s. To keep the scrape port off
  /// the runtime's network, serve the metrics from a second `http_server` on its own port,
  /// with `metrics_source` set and no `observer` (so scrapes are not counted as traffic).
  const statefun::observer* metrics_source = nullptr;

  /// Threads serving connections, each with an event loop of its own (a connection stays on
  /// one thread). Functions of one thread run one step at a time, so they need no locks among
  /// themselves; objects they share across threads need their own synchronisation.
  std::size_t threads = 1;

  /// Connections beyond this are answered 503 (the runtime retries) and closed. Lowered at
  /// start (with a warning in the log) to what the process's file descriptor limit leaves:
  /// see `raise_fd_limit`.
  std::size_t max_connections = 10'000;

  /// At start, raise the soft limit on open files (RLIMIT_NOFILE, often 1,024) to the hard
  /// limit, so that `max_connections` can be reached. Either way `max_connections` is then
  /// lowered to the limit minus what the process keeps for itself (an eighth of the limit, at
  /// least 32: listeners, files, outgoing clients), so that connections beyond it are answered
  /// 503 instead of waiting in the listen backlog. The raise is process-wide.
  bool raise_fd_limit = true;

  /// Request line and header fields (and chunked trailers) beyond this answer 431.
  std::size_t max_head_bytes = 16 * 1024;

  /// Request bodies beyond this answer 413. The runtime batches without limit while a function
  /// is slow, so keep this well above the runtime's 32 MiB response cap.
  std::uint64_t max_body_bytes = 64ull << 20;

  /// Time for a whole request head to arrive, from its first byte (and for a new connection to
  /// send one, including the TLS handshake). Slow senders are closed.
  duration header_timeout = std::chrono::seconds(10);

  /// Time for a whole request body to arrive, from the end of its head.
  duration body_timeout = std::chrono::seconds(60);

  /// An idle keep-alive connection is closed after this. Longer than the runtime keeps idle
  /// connections (OkHttp: 1 minute), so that the runtime is the one to close them.
  duration idle_timeout = std::chrono::seconds(75);

  /// Time for a response to be written out to a client that does not read it.
  duration write_timeout = std::chrono::seconds(30);

  /// After a last response that closes the connection while the client may still be sending
  /// (a refused request: 400, 413, 431, 501, 505, 503...), the server stops sending and reads
  /// and discards what comes for at most this long and `linger_bytes` bytes, then closes:
  /// closing at once would make the client's system answer its bytes with a reset, and a
  /// client that writes its whole request before reading (OkHttp) would see "connection reset"
  /// instead of the status.
  duration linger_timeout = std::chrono::seconds(2);

  /// See `linger_timeout`. As large as `max_body_bytes` by default, so that a client refused for
  /// a body somewhat over the limit still reads its 413.
  std::uint64_t linger_bytes = 64ull << 20;

  /// On stop (or SIGINT/SIGTERM), how long the server goes on accepting and serving while
  /// `ready_path` already answers 503, before its listeners close: the time an orchestrator
  /// needs to stop sending (Kubernetes: the endpoints controller, kube-proxy and load balancers
  /// take a few seconds after the pod is marked terminating; 5 to 15 s is usual, and
  /// `terminationGracePeriodSeconds` must exceed `drain_delay` + `shutdown_timeout`). During it
  /// every response says `Connection: close`, so that clients reconnect to where the traffic now
  /// goes. A second `stop` (or signal) ends it early. 0 (the default): the listeners close at
  /// once; the StateFun runtime retries the requests a closed port refuses.
  duration drain_delay = duration::zero();

  /// After the listeners close, requests in flight get this long to finish before their
  /// functions are cancelled and their connections closed.
  duration shutdown_timeout = std::chrono::seconds(30);

  /// Whether `run()` stops the server gracefully on SIGINT and SIGTERM.
  bool handle_signals = true;

  /// Where the server sends its log events (500s with their reason and function type, refused
  /// requests and connections with the peer, failed TLS handshakes, accept failures, the stop):
  /// docs/observability.md lists them. Not owned: it must outlive the server. Called on serving
  /// threads (several at once when `threads` > 1): it must not block. Null (the default): a
  /// `stderr_log` in `log_format`, owned by the server, unless the legacy `log` is set.
  statefun::log_sink* log_sink = nullptr;

  /// Events below this level reach no sink.
  statefun::log_level log_level = statefun::log_level::info;

  /// The format of the default sink (stderr): JSON Lines (collectors parse it without
  /// configuration) or logfmt (easier at a terminal).
  statefun::log_format log_format = statefun::log_format::json;

  /// Legacy: a function that receives each event as a logfmt line without a timestamp
  /// (`callback_log_sink`), when `log_sink` is null. Prefer `log_sink`, which gets the fields
  /// typed. Called on a serving thread: it must not block.
  std::function<void(std::string_view)> log{};

  /// At most this many events of one name (`request.failed`, `request.refused`...) are logged
  /// per `log_window`; the rest are counted, and one `log.suppressed` event says how many when
  /// the window ends. 0: no limit.
  std::size_t log_burst = 10;

  /// See `log_burst`.
  duration log_window = std::chrono::seconds(10);
};

}  // namespace statefun::inline v0::asio
