#pragma once

/// @file
/// TLS and mutual TLS listeners for `statefun::asio::http_server` (asio::ssl over OpenSSL:
/// link with -lssl -lcrypto).

#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>

#include <statefun/asio/detail/connection.hpp>
#include <statefun/asio/server.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/config.hpp>
#include <statefun/task.hpp>

#include <cstdint>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace statefun::inline v0::asio {

namespace detail {

/// (Declared before anything instantiates a connection over TLS.) TLS streams: a handshake first, and no lingering close (the last response is framed by
/// its Content-Length; there is nothing to read after it).
template <class Socket>
struct stream_traits<::asio::ssl::stream<Socket>> {
  static task<> handshake(::asio::ssl::stream<Socket>& stream) {
    co_await stream.async_handshake(::asio::ssl::stream_base::server, use_task);
  }

  static void close(::asio::ssl::stream<Socket>& stream) noexcept {
    std::error_code ignored;
    stream.lowest_layer().close(ignored);
  }

  static bool shutdown_send(::asio::ssl::stream<Socket>&) noexcept { return false; }
};

}  // namespace detail

/**
 * The certificates of a TLS listener, as PEM files. The runtime's async transport speaks TLS
 * to `https://` endpoints and, given `client_cert`/`client_key`, presents a client certificate
 * (RUNTIME.md 1.9); issue the server certificate for the host name in the endpoint URL.
 */
struct tls_options {
  /// The server's certificate, followed by any intermediate CA certificates.
  std::string certificate_chain;
  /// The private key of that certificate (PKCS#8 or traditional PEM).
  std::string private_key;
  /// The key's passphrase, if it is encrypted.
  std::string private_key_password;
  /// CA certificates that sign client certificates. When set, every client must present a
  /// certificate signed by one of them (mutual TLS); handshakes without one fail.
  std::string client_ca;
};

/**
 * An `asio::ssl::context` for a server: TLS 1.2 or later, the chain, the key and (when
 * `client_ca` is set) required client certificates.
 * @throws std::runtime_error Naming the file and the reason: a file that cannot be read or
 *         parsed, a wrong passphrase, or a key that does not belong to the certificate.
 */
inline ::asio::ssl::context make_tls_context(const tls_options& options) {
  namespace ssl = ::asio::ssl;
  ssl::context context(ssl::context::tls_server);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  const auto load = [](std::string_view what, const std::string& path, auto&& apply) {
    if (path.empty()) {
      throw std::runtime_error("TLS: no " + std::string(what) + " file given");
    }
    if (!std::ifstream(path)) {
      throw std::runtime_error("TLS: cannot read the " + std::string(what) + " file " + path);
    }
    std::error_code error;
    apply(error);
    if (error) {
      throw std::runtime_error("TLS: cannot use the " + std::string(what) + " file " + path +
                               ": " + error.message());
    }
  };
  load("certificate chain", options.certificate_chain, [&](std::error_code& error) {
    context.use_certificate_chain_file(options.certificate_chain, error);
  });
  // Always a callback, even with no password: otherwise OpenSSL prompts on the terminal for
  // an encrypted key and the server hangs at startup.
  context.set_password_callback(
      [password = options.private_key_password](std::size_t, ssl::context::password_purpose) {
        return password;
      });
  load("private key", options.private_key, [&](std::error_code& error) {
    context.use_private_key_file(options.private_key, ssl::context::pem, error);
  });
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    throw std::runtime_error("TLS: the private key " + options.private_key +
                             " does not belong to the certificate " + options.certificate_chain);
  }
  if (!options.client_ca.empty()) {
    load("client CA", options.client_ca,
         [&](std::error_code& error) { context.load_verify_file(options.client_ca, error); });
    context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

/**
 * Adds a TLS listener on TCP `address` at `port` to `server` (see `http_server::listen`).
 * @return The port bound.
 * @throws std::runtime_error The certificates are unusable (see `make_tls_context`).
 * @throws std::system_error The address is invalid or in use.
 */
inline std::uint16_t listen_tls(http_server& server, std::string_view address, std::uint16_t port,
                                const tls_options& options) {
  using tcp = ::asio::ip::tcp;
  auto context = std::make_shared<::asio::ssl::context>(make_tls_context(options));
  auto acceptor = detail::listening_tcp_acceptor(server.listener_context(), address, port);
  const std::uint16_t bound = acceptor.local_endpoint().port();
  server.add_listener(std::move(acceptor), [context](tcp::socket&& socket) {
    return ::asio::ssl::stream<tcp::socket>(std::move(socket), *context);
  });
  return bound;
}

}  // namespace statefun::inline v0::asio
