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
  using duration = std::chrono::steady_clock::duration;

  /// A TCP listener on every interface (IPv6 and IPv4) at this port, if set. More listeners:
  /// `http_server::listen`, `listen_unix`, `listen_tls`.
  std::optional<std::uint16_t> port{};

  /// The path functions are served at, for example "/statefun"; other paths answer 404. Empty:
  /// any path (the runtime's Unix-socket transport mangles paths; routing is by the body anyway).
  std::string path{};

  /// `GET` or `HEAD` here answers 200 "ok", for orchestrators' health checks. Empty: none.
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

  /// On stop (or SIGINT/SIGTERM), requests in flight get this long to finish before their
  /// functions are cancelled and their connections closed.
  duration shutdown_timeout = std::chrono::seconds(30);

  /// Whether `run()` stops the server gracefully on SIGINT and SIGTERM.
  bool handle_signals = true;

  /// Where the server reports what an operator must see: 500s and their reasons, refused
  /// requests (with the peer), connections over the limit, failed TLS handshakes, accept
  /// failures. What a client chose (ids, type names) arrives escaped (control bytes, invalid
  /// UTF-8) and cut to a bounded length. Called on a serving thread (several at once when
  /// `threads` > 1): it must not block, or every connection of that thread waits.
  /// Default: one line on stderr, written by a background thread from a bounded queue (lines
  /// are dropped, and counted, rather than ever blocking a serving thread).
  std::function<void(std::string_view)> log{};

  /// At most this many lines of one kind (500s, refusals, accept failures...) are logged per
  /// `log_window`; the rest are counted, and one line says how many when the window ends.
  /// 0: no limit.
  std::size_t log_burst = 10;

  /// See `log_burst`.
  duration log_window = std::chrono::seconds(10);
};

}  // namespace statefun::inline v0::asio
