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

  /// Threads serving connections, each with an event loop of its own (a connection stays on
  /// one thread). Functions of one thread run one step at a time, so they need no locks among
  /// themselves; objects they share across threads need their own synchronisation.
  std::size_t threads = 1;

  /// Connections beyond this are answered 503 (the runtime retries) and closed.
  std::size_t max_connections = 10'000;

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

  /// On stop (or SIGINT/SIGTERM), requests in flight get this long to finish before their
  /// functions are cancelled and their connections closed.
  duration shutdown_timeout = std::chrono::seconds(30);

  /// Whether `run()` stops the server gracefully on SIGINT and SIGTERM.
  bool handle_signals = true;

  /// Where the server reports what an operator must see: exceptions from functions, protocol
  /// errors, failed TLS handshakes, accept failures. Default: one line on stderr. Called on a
  /// serving thread.
  std::function<void(std::string_view)> log{};
};

}  // namespace statefun::inline v0::asio
