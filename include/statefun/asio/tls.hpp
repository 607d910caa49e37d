#pragma once

/// @file
/// TLS and mutual TLS for `statefun::asio::http_server` (listeners) and `http_client`
/// (`https://` origins), through asio::ssl over OpenSSL: link with -lssl -lcrypto (meson:
/// `dependency('statefun-tls')`).

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>

#include <statefun/asio/detail/attempt_deadline.hpp>
#include <statefun/asio/detail/client_connection.hpp>
#include <statefun/asio/detail/client_transport.hpp>
#include <statefun/asio/detail/connection.hpp>
#include <statefun/asio/detail/http_origin.hpp>
#include <statefun/asio/http_client.hpp>
#include <statefun/asio/server.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/config.hpp>
#include <statefun/task.hpp>

#include <cstddef>
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

/**
 * Runs `apply(error)`, which loads the `what` file at `path` into a context.
 * @throws std::runtime_error Naming the file: none given, unreadable, or refused by OpenSSL.
 */
template <class Apply>
void load_tls_file(std::string_view what, const std::string& path, Apply apply) {
  if (path.empty()) {
    throw std::runtime_error("TLS: no " + std::string(what) + " file given");
  }
  if (!std::ifstream(path)) {
    throw std::runtime_error("TLS: cannot read the " + std::string(what) + " file " + path);
  }
  std::error_code error;
  apply(error);
  if (error) {
    throw std::runtime_error("TLS: cannot use the " + std::string(what) + " file " + path + ": " +
                             error.message());
  }
}

/// TLS 1.2 or later: SSL 2 and 3, TLS 1.0 and 1.1 are broken or deprecated (RFC 8996).
inline constexpr ::asio::ssl::context::options modern_tls_only =
    ::asio::ssl::context::default_workarounds | ::asio::ssl::context::no_sslv2 | ::asio::ssl::context::no_sslv3 |
    ::asio::ssl::context::no_tlsv1 | ::asio::ssl::context::no_tlsv1_1;

/// Answers OpenSSL's request for a key's passphrase with `password`. Always install one, even
/// for an empty password: without it OpenSSL prompts on the terminal for an encrypted key, and
/// the program hangs at startup.
inline void set_key_password(::asio::ssl::context& context, std::string password) {
  context.set_password_callback(
      [password = std::move(password)](std::size_t, ::asio::ssl::context::password_purpose) { return password; });
}

/// How long a server keeps a session resumable: OpenSSL's own default for TLS, stated here so
/// that it does not change under us (Java's client caches sessions for 24 hours, and simply
/// falls back to a full handshake when the server no longer knows one).
inline constexpr long session_lifetime_seconds = 2 * 60 * 60;

/// The most TLS 1.2 sessions a listener remembers (a few KiB each at most, since a session holds
/// the client's certificate): the runtime's task managers hold a few connections each, so this is far more than
/// a cluster needs and bounds what clients can make the server keep. (TLS 1.3 tickets are
/// stateless: the server keeps nothing for them.)
inline constexpr long session_cache_size = 4096;

/**
 * Lets clients resume sessions: TLS 1.2 session ids from the server's cache, TLS 1.3 tickets
 * (OpenSSL's default, two per handshake, encrypted with a key of this context alone).
 *
 * The session id context is what matters: without one, OpenSSL refuses to resume a session
 * whose client was verified (mutual TLS) with a fatal internal_error alert ("session id context
 * uninitialized"), and Java offers its cached session on every new connection. A resumed
 * session keeps the client certificate verified in its full handshake. One constant serves every
 * listener: sessions and ticket keys belong to one context, so a session from another listener
 * (another set of certificates) is never resumed here, only declined with a full handshake.
 */
inline void enable_session_resumption(::asio::ssl::context& context) {
  static constexpr unsigned char session_context[] = "statefun-cpp";
  SSL_CTX* native = context.native_handle();
  SSL_CTX_set_session_id_context(native, session_context, sizeof session_context - 1);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(native, session_cache_size);
  SSL_CTX_set_timeout(native, session_lifetime_seconds);
}

}  // namespace detail

/**
 * The certificates of a TLS listener, as PEM files. The runtime's async transport speaks TLS
 * to `https://` endpoints and, given `client_cert`/`client_key`, presents a client certificate
 * (docs/runtime_rules.md 1.9); issue the server certificate for the host name in the endpoint URL.
 */
struct tls_options {
  /// The server's certificate, followed by any intermediate CA certificates.
  std::string certificate_chain{};
  /// The private key of that certificate (PKCS#8 or traditional PEM).
  std::string private_key{};
  /// The key's passphrase, if it is encrypted.
  std::string private_key_password{};
  /// CA certificates that sign client certificates. When set, every client must present a
  /// certificate signed by one of them (mutual TLS); handshakes without one fail.
  std::string client_ca{};
};

/**
 * An `asio::ssl::context` for a server: TLS 1.2 or later, the chain, the key, (when
 * `client_ca` is set) required client certificates, and session resumption (TLS 1.2 session ids
 * and TLS 1.3 tickets, mutual TLS included).
 * @throws std::runtime_error Naming the file and the reason: a file that cannot be read or
 *         parsed, a wrong passphrase, or a key that does not belong to the certificate.
 */
inline ::asio::ssl::context make_tls_context(const tls_options& options) {
  namespace ssl = ::asio::ssl;
  ssl::context context(ssl::context::tls_server);
  context.set_options(detail::modern_tls_only | ssl::context::single_dh_use);
  detail::load_tls_file("certificate chain", options.certificate_chain, [&](std::error_code& error) {
    context.use_certificate_chain_file(options.certificate_chain, error);
  });
  detail::set_key_password(context, options.private_key_password);
  detail::load_tls_file("private key", options.private_key, [&](std::error_code& error) {
    context.use_private_key_file(options.private_key, ssl::context::pem, error);
  });
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    throw std::runtime_error("TLS: the private key " + options.private_key +
                             " does not belong to the certificate " + options.certificate_chain);
  }
  if (!options.client_ca.empty()) {
    detail::load_tls_file("client CA", options.client_ca,
                          [&](std::error_code& error) { context.load_verify_file(options.client_ca, error); });
    context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  detail::enable_session_resumption(context);
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

/**
 * How `http_client` speaks TLS to an `https://` origin: the runtime's `trust_cacerts`,
 * `client_cert`, `client_key` and `client_key_password` (docs/runtime_rules.md 1.9), as PEM file paths.
 */
struct tls_client_options {
  /// CA certificates to trust (PEM; several in one file). Empty: the system's default trust
  /// store (OpenSSL's default paths, e.g. /etc/ssl/certs on Debian).
  std::string trust_cacerts;
  /// A client certificate to present (PEM), followed by any intermediate CA certificates; for
  /// servers that require mutual TLS. Give `client_key` with it.
  std::string client_cert;
  /// The private key of `client_cert` (PEM: PKCS#8, encrypted PKCS#8 or traditional).
  std::string client_key;
  /// The passphrase of `client_key`, if it is encrypted: the password itself (the runtime's
  /// `client_key_password` names a file that holds it; read that file first).
  std::string client_key_password;
  /// Check that the server's certificate is for the URL's host (DNS name or IP address, against
  /// its subjectAltName). Off, any certificate that chains to a trusted CA is accepted.
  bool verify_host = true;
};

namespace detail {

/**
 * An `asio::ssl::context` for a client: TLS 1.2 or later, the server's chain verified against
 * `trust_cacerts` (or the default store), and the client certificate, if any.
 * @throws std::invalid_argument `client_cert` without `client_key`, or the other way round.
 * @throws std::runtime_error Naming the file and the reason: a file that cannot be read or
 *         parsed, a wrong passphrase, or a key that does not belong to the certificate.
 */
inline ::asio::ssl::context make_tls_client_context(const tls_client_options& options) {
  namespace ssl = ::asio::ssl;
  if (options.client_cert.empty() != options.client_key.empty()) {
    throw std::invalid_argument(
        "statefun::asio::tls_client: client_cert and client_key must be given together (or neither)");
  }
  ssl::context context(ssl::context::tls_client);
  context.set_options(modern_tls_only);
  if (options.trust_cacerts.empty()) {
    std::error_code error;
    context.set_default_verify_paths(error);
    if (error) {
      throw std::runtime_error("TLS: cannot use the system's default trust store: " + error.message());
    }
  } else {
    load_tls_file("trust_cacerts", options.trust_cacerts,
                  [&](std::error_code& error) { context.load_verify_file(options.trust_cacerts, error); });
  }
  context.set_verify_mode(ssl::verify_peer);
  set_key_password(context, options.client_key_password);
  if (!options.client_cert.empty()) {
    load_tls_file("client_cert", options.client_cert, [&](std::error_code& error) {
      context.use_certificate_chain_file(options.client_cert, error);
    });
    load_tls_file("client_key", options.client_key, [&](std::error_code& error) {
      context.use_private_key_file(options.client_key, ssl::context::pem, error);
    });
    if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
      throw std::runtime_error("TLS: the client_key " + options.client_key +
                               " does not belong to the client_cert " + options.client_cert);
    }
  }
  return context;
}

/// Keeps the context alive until after the stream that uses it (a base, so it goes last).
struct tls_context_holder {
  std::shared_ptr<::asio::ssl::context> tls_context;
};

/**
 * `https://`: TCP, then a TLS handshake that sends the host name (SNI) and, unless told not to,
 * checks the server's certificate against it.
 */
class tls_client_connection final : private tls_context_holder,
                                    public basic_client_connection<::asio::ssl::stream<::asio::ip::tcp::socket>> {
 public:
  tls_client_connection(const ::asio::any_io_executor& executor, std::shared_ptr<::asio::ssl::context> shared,
                        bool verify_host)
      : tls_context_holder{std::move(shared)},
        basic_client_connection(executor, *tls_context),
        verify_host_(verify_host) {}

  task<std::error_code> connect(const http_origin& origin, attempt_deadline& deadline) override {
    if (const std::error_code error = co_await connect_tcp(stream_.next_layer(), origin, deadline)) {
      co_return error;
    }
    // SNI carries host names only, never address literals (RFC 6066 section 3).
    if (!origin.address && SSL_set_tlsext_host_name(stream_.native_handle(), origin.host.c_str()) != 1) {
      co_return ::asio::error::make_error_code(::asio::error::invalid_argument);
    }
    if (verify_host_) {
      // Matches DNS names and IP addresses (X509_check_host / X509_check_ip_asc).
      stream_.set_verify_callback(::asio::ssl::host_name_verification(origin.host));
    }
    auto [error] = co_await stream_.async_handshake(::asio::ssl::stream_base::client,
                                                    ::asio::experimental::as_tuple(use_task));
    co_return error;
  }

  /// Also a TCP close without TLS's close_notify (how servers, ours included, close idle ones).
  bool closed_by_peer(const std::error_code& error) const noexcept override {
    return client_connection::closed_by_peer(error) || error == ::asio::ssl::error::stream_truncated;
  }

 private:
  bool verify_host_;
};

class tls_client_transport final : public client_transport {
 public:
  explicit tls_client_transport(const tls_client_options& options)
      : context_(std::make_shared<::asio::ssl::context>(make_tls_client_context(options))),
        verify_host_(options.verify_host) {}

  std::shared_ptr<client_connection> open(const ::asio::any_io_executor& executor) const override {
    return std::make_shared<tls_client_connection>(executor, context_, verify_host_);
  }

 private:
  std::shared_ptr<::asio::ssl::context> context_;
  bool verify_host_;
};

}  // namespace detail

/**
 * TLS for an `http_client` with an `https://` base URL. The files are read now, once, and
 * shared by every connection (and every copy of the connector).
 *
 * **Example**:
 * @code
 * statefun::asio::http_client client(executor, "https://fn.internal:8443",
 *                                    statefun::asio::tls_client({.trust_cacerts = "/etc/fn/ca.pem"}));
 * @endcode
 *
 * @throws std::invalid_argument `client_cert` without `client_key`, or the other way round.
 * @throws std::runtime_error A file that cannot be used, named in the message.
 */
inline client_connector tls_client(const tls_client_options& options) {
  return client_connector(std::make_shared<const detail::tls_client_transport>(options));
}

}  // namespace statefun::inline v0::asio
