#pragma once

/// @file
/// `statefun::asio::http_server`: serves the functions of a registry to a StateFun runtime
/// over HTTP/1.1, on TCP and Unix domain sockets (and TLS: <statefun/asio/tls.hpp>).

#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <statefun/asio/detail/listener.hpp>
#include <statefun/asio/detail/server_core.hpp>
#include <statefun/asio/server_options.hpp>
#include <statefun/config.hpp>
#include <statefun/functions.hpp>
#include <statefun/log.hpp>

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace statefun::inline v0::asio {

/**
 * An HTTP/1.1 server for StateFun's request-reply protocol: what a runtime's `urlPathTemplate`
 * points at.
 *
 * Every `POST` (at `server_options::path`, or any path) carries a `ToFunction`; the server runs
 * it through the registry's request-reply handler, which routes by the function type inside it,
 * and answers `200` with the `FromFunction` as `application/octet-stream`. Failures of the
 * request (malformed protobuf, unknown function type, an exception from the function) answer
 * `500` with a short text reason and none of the function's effects, so the runtime retries;
 * requests that are not StateFun requests get the 4xx that says why. Connections are kept
 * alive, pipelined requests are answered in order, and a function that awaits (a timer, an
 * outside service through `use_task`) does not hold up other connections.
 *
 * @code
 * statefun::asio::http_server server{fns, {.port = 8000}};
 * server.run();  // until SIGINT or SIGTERM: stops accepting, finishes what is in flight
 * @endcode
 *
 * `listen`, `listen_unix` and `listen_tls` (in <statefun/asio/tls.hpp>) add listeners before
 * `run`; bind errors throw `std::system_error` there, at startup. `stop` may be called from
 * any thread, and from a function.
 */
class http_server {
 public:
  /// The registry must outlive the server.
  explicit http_server(const functions& fns, server_options options = {})
      : core_(std::make_unique<detail::server_core>(fns, std::move(options))) {
    if (const auto port = core_->options().port) {
      listen_any(*port);
    }
  }

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Removes the socket files of Unix listeners.
  ~http_server() {
    listeners_.clear();
    for (const std::string& path : socket_files_) {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  }

  /**
   * Listens on TCP `address` ("127.0.0.1", "::1", "0.0.0.0", "::" for every IPv6 and IPv4
   * interface) at `port` (0: any free port).
   * @return The port bound.
   * @throws std::system_error The address is invalid or in use.
   */
  std::uint16_t listen(std::string_view address, std::uint16_t port) {
    auto acceptor = detail::listening_tcp_acceptor(first_thread().io(), address, port);
    const std::uint16_t bound = acceptor.local_endpoint().port();
    add_listener(std::move(acceptor), detail::plain_stream{});
    return bound;
  }

  /**
   * Listens on a Unix domain socket at `path` (for `http+unix://` endpoints), created with
   * permissions `mode`. A socket file left behind by a server that is gone is replaced; one a
   * live server listens on is an error. The file is removed when the server is destroyed.
   * @throws std::system_error The path is in use or cannot be created.
   */
  void listen_unix(const std::string& path,
                   std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                 std::filesystem::perms::owner_write |
                                                 std::filesystem::perms::group_read |
                                                 std::filesystem::perms::group_write) {
    using protocol = ::asio::local::stream_protocol;
    try {
      const protocol::endpoint endpoint(path);  // (throws for a path too long for sun_path)
      remove_stale_socket(endpoint);
      protocol::acceptor acceptor(first_thread().io());
      acceptor.open(protocol());
      // Create the file with no access for others, then widen it to `mode`: the socket is never
      // more open than asked. (The umask is process-wide for that instant: add listeners
      // before starting threads that create files.)
      const ::mode_t previous = ::umask(0177);
      std::error_code error;
      acceptor.bind(endpoint, error);
      ::umask(previous);
      if (error) {
        throw std::system_error(error);
      }
      socket_files_.push_back(path);
      std::filesystem::permissions(path, mode);
      acceptor.listen(::asio::socket_base::max_listen_connections);
      add_listener(std::move(acceptor), detail::plain_stream{});
    } catch (const std::system_error& e) {  // (filesystem_error is one too)
      throw std::system_error(e.code(), "cannot listen on the Unix socket " + path);
    }
  }

  /**
   * Serves until `stop` (or SIGINT/SIGTERM, see `server_options::handle_signals`): runs the
   * serving threads, the first one on the calling thread. Returns once every connection is
   * closed; a second call does nothing.
   * @throws std::logic_error No listener was added.
   */
  void run() {
    if (listeners_.empty()) {
      throw std::logic_error("statefun::asio::http_server::run: no listener (set .port or call listen)");
    }
    if (ran_.exchange(true)) {
      return;
    }
    for (auto& thread : core_->threads()) {
      thread->start();
    }
    if (core_->options().handle_signals) {
      signals_.emplace(first_thread().io(), SIGINT, SIGTERM);
      wait_for_signal();
    }
    for (auto& listener : listeners_) {
      listener->start();
    }
    core_->set_serving();
    std::vector<std::thread> others;
    for (std::size_t i = 1; i < core_->threads().size(); ++i) {
      others.emplace_back([this, i] { core_->threads()[i]->io().run(); });
    }
    first_thread().io().run();
    for (std::thread& t : others) {
      t.join();
    }
  }

  /**
   * Stops gracefully. At once, `ready_path` answers 503 and every response closes its
   * connection; the server still accepts and serves for `server_options::drain_delay`, so that
   * an orchestrator stops sending first. Then no more connections are accepted, idle ones
   * close, and requests in flight are answered (with `Connection: close`) within
   * `server_options::shutdown_timeout`, after which their functions are cancelled. `run` then
   * returns. A second call ends the drain delay early. Thread-safe; any further call does
   * nothing.
   */
  void stop() {
    if (!core_->set_stopping()) {
      // Again: end the drain delay now (no-op if the listeners are closed already).
      ::asio::post(first_thread().io(), [this] { close_listeners(); });
      return;
    }
    ::asio::post(first_thread().io(), [this] {
      const auto delay = core_->options().drain_delay;
      core_->log(log_level::info, "server.stopping",
                 delay > delay.zero() ? "stopping: not ready, serving for drain_delay, then closing the listeners"
                                      : "stopping: closing the listeners",
                 {{"drain_delay_ms", std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()},
                  {"shutdown_timeout_ms",
                   std::chrono::duration_cast<std::chrono::milliseconds>(core_->options().shutdown_timeout).count()}});
      if (delay <= delay.zero()) {
        close_listeners();
        return;
      }
      drain_timer_.emplace(first_thread().io(), delay);
      drain_timer_->async_wait([this](std::error_code error) {
        if (!error) {
          close_listeners();
        }
      });
    });
  }

  /// Open connections, on every thread.
  std::size_t connections() const noexcept {
    return core_->connections().load(std::memory_order_relaxed);
  }

  /// The first serving thread's executor, for objects that functions share (a client).
  ::asio::any_io_executor executor() { return first_thread().io().get_executor(); }

  /**
   * Adds a listener that accepts on `acceptor` and serves each connection as the stream
   * `make_stream(socket)` returns. <statefun/asio/tls.hpp> uses it for TLS; so can other
   * transports over stream sockets.
   */
  template <class Acceptor, class MakeStream>
  void add_listener(Acceptor acceptor, MakeStream make_stream) {
    listeners_.push_back(std::make_unique<detail::acceptor_listener<Acceptor, MakeStream>>(
        *core_, std::move(acceptor), std::move(make_stream)));
  }

  /// The first serving thread's event loop, where listeners are created.
  ::asio::io_context& listener_context() { return first_thread().io(); }

 private:
  detail::server_thread& first_thread() { return *core_->threads().front(); }

  /// Stops on SIGINT or SIGTERM; a second one ends the drain delay (on the first thread).
  void wait_for_signal() {
    signals_->async_wait([this](std::error_code error, int) {
      if (!error) {
        stop();
        if (!listeners_closed_) {
          wait_for_signal();
        }
      }
    });
  }

  /// The end of the drain delay (on the first thread): no more accepts, connections drain.
  void close_listeners() {
    if (listeners_closed_) {
      return;
    }
    listeners_closed_ = true;
    if (drain_timer_) {
      drain_timer_->cancel();
    }
    for (auto& listener : listeners_) {
      listener->stop();
    }
    if (signals_) {
      signals_->cancel();
    }
    // This thread drains at once (so that what was posted after `stop` sees it), others
    // as soon as they get to it.
    first_thread().drain();
    for (std::size_t i = 1; i < core_->threads().size(); ++i) {
      ::asio::post(core_->threads()[i]->io(), [&t = *core_->threads()[i]] { t.drain(); });
    }
  }

  /// `.port`: every interface, IPv6 and IPv4 where the system has IPv6, IPv4 only otherwise.
  void listen_any(std::uint16_t port) {
    try {
      listen("::", port);
    } catch (const std::system_error& e) {
      if (e.code() != ::asio::error::address_family_not_supported) {
        throw;
      }
      listen("0.0.0.0", port);
    }
  }

  /// Removes `path` if it is a socket file that nobody accepts on any more.
  static void remove_stale_socket(const ::asio::local::stream_protocol::endpoint& endpoint) {
    const std::string path = endpoint.path();
    std::error_code error;
    if (!std::filesystem::is_socket(path, error)) {
      return;  // absent (bind creates it), or not a socket (bind reports it in use)
    }
    ::asio::io_context probe_context;
    ::asio::local::stream_protocol::socket probe(probe_context);
    probe.connect(endpoint, error);
    if (!error) {
      throw std::system_error(std::make_error_code(std::errc::address_in_use),
                              "a server is listening on it");
    }
    std::filesystem::remove(path, error);
  }

  std::unique_ptr<detail::server_core> core_;
  std::vector<std::unique_ptr<detail::listener_base>> listeners_;
  std::vector<std::string> socket_files_;
  std::optional<::asio::signal_set> signals_;
  std::optional<::asio::steady_timer> drain_timer_;  // (first thread)
  bool listeners_closed_ = false;                     // (first thread)
  std::atomic<bool> ran_{false};
};

}  // namespace statefun::inline v0::asio
