#pragma once

/// @file
/// Listeners of `http_server`: accept loops that hand each connection to a serving thread.

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <statefun/asio/detail/connection.hpp>
#include <statefun/asio/detail/detached.hpp>
#include <statefun/asio/detail/server_core.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/config.hpp>
#include <statefun/log.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace statefun::inline v0::asio::detail {

/// What `http_server` needs of a listener.
class listener_base {
 public:
  listener_base() = default;
  listener_base(const listener_base&) = delete;
  listener_base& operator=(const listener_base&) = delete;
  virtual ~listener_base() = default;

  /// Starts accepting (on the first serving thread).
  virtual void start() = 0;
  /// Stops accepting (on the first serving thread).
  virtual void stop() = 0;
};

/// Serves one accepted stream on `thread` (called there).
template <class Stream>
void serve_connection(server_thread& thread, Stream stream, bool over_limit) {
  auto c = std::make_shared<connection<Stream>>(thread, std::move(stream), over_limit);
  const task_scope::entered outside(nullptr);  // connections run outside any task scope
  [](std::shared_ptr<connection<Stream>> c) -> detached { co_await c->serve(c); }(c);
  if (thread.draining()) {
    c->drain();
  }
}

/// The stream of a plain listener: the socket itself.
struct plain_stream {
  template <class Socket>
  Socket operator()(Socket&& socket) const noexcept {
    return std::move(socket);
  }
};

/**
 * Accepts connections on `Acceptor` and serves each as the stream `make_stream(socket)` returns
 * (the socket itself, or a TLS stream over it), on the serving threads in turn.
 */
template <class Acceptor, class MakeStream>
class acceptor_listener final : public listener_base {
 public:
  acceptor_listener(server_core& core, Acceptor acceptor, MakeStream make_stream)
      : core_(core),
        acceptor_(std::move(acceptor)),
        make_stream_(std::move(make_stream)),
        retry_(acceptor_.get_executor()) {}

  void start() override { accept(); }

  void stop() override {
    std::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
  }

 private:
  void accept() {
    server_thread& target = core_.next_thread();
    using socket_type = typename Acceptor::protocol_type::socket;
    acceptor_.async_accept(
        ::asio::any_io_executor(target.io().get_executor()),
        [this, &target](std::error_code error, socket_type socket) {
      if (error == ::asio::error::operation_aborted || !acceptor_.is_open()) {
        return;
      }
      // (Asio's system category maps to no std::errc: compare with its own codes.)
      if ((error == ::asio::error::no_descriptors ||
           error == std::error_code(ENFILE, ::asio::error::get_system_category())) &&
          refuse_one()) {
        accept();  // (until the backlog is empty: then the accept waits, as usual)
        return;
      }
      if (error) {
        // Out of file descriptors with no spare one, say: do not spin; try again shortly.
        core_.log(log_level::error, "accept.failed", "accept failed: retrying in 100 ms",
                  {{"reason", error.message()}});
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([this](std::error_code e) {
          if (!e) {
            accept();
          }
        });
        return;
      }
      const bool over_limit = core_.connections().fetch_add(1, std::memory_order_relaxed) >=
                              core_.options().max_connections;
      ::asio::post(target.io(), [this, &target, socket = std::move(socket), over_limit]() mutable {
        serve_connection(target, make_stream_(std::move(socket)), over_limit);
      });
      accept();
    });
  }

  /**
   * Out of file descriptors (EMFILE, ENFILE), with clients waiting in the backlog: closes the
   * spare descriptor to accept the oldest of them, answers it 503 at once (TLS listeners just
   * close: a 503 in clear would mean nothing to a TLS client), and reopens the spare. The
   * client learns at once that it should retry, instead of waiting in the backlog until a
   * descriptor frees up, and the accept loop neither spins nor sleeps.
   * @return False if there was no spare descriptor, or no client could be accepted with it.
   */
  bool refuse_one() {
    if (!core_.release_spare()) {
      return false;
    }
    const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if constexpr (std::is_same_v<MakeStream, plain_stream>) {
        static constexpr std::string_view body = "out of file descriptors, retry\n";
        std::array<char, max_response_head + body.size()> response{};
        std::size_t size = format_response_head(
            response_head{.status = 503,
                          .content_type = "text/plain; charset=utf-8",
                          .content_length = body.size(),
                          .close = true,
                          .date = core_.threads().front()->date()},
            response.data());
        body.copy(response.data() + size, body.size());
        size += body.size();
        // A new socket's send buffer takes this whole: no need to wait.
        (void)::send(fd, response.data(), size, MSG_NOSIGNAL | MSG_DONTWAIT);
        ::shutdown(fd, SHUT_WR);
        // Read what the client sent already (boundedly): closing with unread bytes would send
        // a reset, which can destroy the 503 before the client reads it.
        std::array<char, 4096> scratch;
        for (int i = 0; i < 16 && ::recv(fd, scratch.data(), scratch.size(), MSG_DONTWAIT) > 0; ++i) {
        }
      }
      ::close(fd);
      if (statefun::observer* o = core_.observer(); o != nullptr) {
        o->connection(connection_event::refused);
        o->connection(connection_event::closed);
      }
      core_.log(log_level::error, "accept.out_of_descriptors",
                "answered 503 at once to a waiting client: out of file descriptors (raise RLIMIT_NOFILE or lower max_connections)",
                {{"status", 503}, {"reason", "out of file descriptors"}});
    }
    core_.reserve_spare();
    return fd >= 0;
  }

  server_core& core_;
  Acceptor acceptor_;
  MakeStream make_stream_;
  ::asio::steady_timer retry_;
};

/**
 * A TCP acceptor bound to `address`:`port` and listening. "::" serves IPv6 and IPv4 clients
 * alike, whatever the system's default.
 * @throws std::system_error Naming the address and port: invalid, in use, not permitted.
 */
inline ::asio::ip::tcp::acceptor listening_tcp_acceptor(::asio::io_context& context,
                                                        std::string_view address,
                                                        std::uint16_t port) {
  try {
    const ::asio::ip::tcp::endpoint endpoint(::asio::ip::make_address(address), port);
    ::asio::ip::tcp::acceptor acceptor(context);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(::asio::socket_base::reuse_address(true));
    if (endpoint.address().is_v6()) {
      acceptor.set_option(::asio::ip::v6_only(!endpoint.address().is_unspecified()));
    }
    acceptor.bind(endpoint);
    acceptor.listen(::asio::socket_base::max_listen_connections);
    return acceptor;
  } catch (const std::system_error& e) {
    throw std::system_error(e.code(), "cannot listen on " + std::string(address) + " port " +
                                          std::to_string(port));
  }
}

}  // namespace statefun::inline v0::asio::detail
