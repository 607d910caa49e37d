#pragma once

/// @file
/// `client_transport`: how an `http_client` opens its connections. Plain TCP and Unix domain
/// sockets are here; TLS is in <statefun/asio/tls.hpp>, the only header that needs OpenSSL.

#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>

#include <statefun/asio/detail/attempt_deadline.hpp>
#include <statefun/asio/detail/client_connection.hpp>
#include <statefun/asio/detail/http_origin.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/config.hpp>
#include <statefun/task.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace statefun::inline v0::asio::detail {

/// Makes the connections of one `http_client` (not yet connected), on the caller's executor.
class client_transport {
 public:
  virtual ~client_transport() = default;

  virtual std::shared_ptr<client_connection> open(const ::asio::any_io_executor& executor) const = 0;
};

/// A transport whose connections need nothing but the executor.
template <class Connection>
class plain_client_transport final : public client_transport {
 public:
  std::shared_ptr<client_connection> open(const ::asio::any_io_executor& executor) const override {
    return std::make_shared<Connection>(executor);
  }
};

/**
 * Resolves the origin (unless it is an address) and connects `socket` to the first of its
 * addresses that accepts, with Nagle off. Stops early on `operation_aborted`: the socket was
 * closed under it (the attempt's deadline) or the task was cancelled.
 */
inline task<std::error_code> connect_tcp(::asio::ip::tcp::socket& socket, const http_origin& origin,
                                         attempt_deadline& deadline) {
  std::vector<::asio::ip::tcp::endpoint> endpoints;
  if (origin.address) {
    endpoints.emplace_back(*origin.address, origin.port);
  } else {
    auto [error, results] = co_await deadline.resolver().async_resolve(
        origin.host, std::to_string(origin.port), ::asio::ip::tcp::resolver::numeric_service,
        ::asio::experimental::as_tuple(use_task));
    if (error) {
      co_return error;
    }
    for (const auto& entry : results) {
      endpoints.push_back(entry.endpoint());
    }
  }
  std::error_code last = ::asio::error::host_not_found;
  for (const ::asio::ip::tcp::endpoint& endpoint : endpoints) {
    auto [error] = co_await socket.async_connect(endpoint, ::asio::experimental::as_tuple(use_task));
    if (!error) {
      std::error_code ignored;
      socket.set_option(::asio::ip::tcp::no_delay(true), ignored);  // small requests: no Nagle
      co_return error;
    }
    last = error;
    if (error == ::asio::error::operation_aborted) {
      break;
    }
    std::error_code ignored;
    socket.close(ignored);  // the next endpoint's connect opens the socket again
  }
  co_return last;
}

/// `http://`: a TCP connection.
class tcp_client_connection final : public basic_client_connection<::asio::ip::tcp::socket> {
 public:
  using basic_client_connection::basic_client_connection;

  task<std::error_code> connect(const http_origin& origin, attempt_deadline& deadline) override {
    return connect_tcp(stream_, origin, deadline);
  }
};

/// `http+unix://` (and `https+unix://`, which is plain HTTP too): a Unix domain socket.
class unix_client_connection final : public basic_client_connection<::asio::local::stream_protocol::socket> {
 public:
  using basic_client_connection::basic_client_connection;

  task<std::error_code> connect(const http_origin& origin, attempt_deadline&) override {
    // (The path was checked to fit a socket address when the client was made.)
    auto [error] = co_await stream_.async_connect(::asio::local::stream_protocol::endpoint(origin.socket_path),
                                                  ::asio::experimental::as_tuple(use_task));
    co_return error;
  }
};

}  // namespace statefun::inline v0::asio::detail
