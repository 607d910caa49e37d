#pragma once

// TLS material for the transport tests, made at test time by the openssl command (once per test
// run, in a temporary directory), and the client side of TLS: a blocking HTTPS client that
// checks the server as the runtime's async transport does.

#include <statefun/http/response_parser.hpp>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>

#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/process.hpp"

#ifndef STATEFUN_TEST_OPENSSL
#error "the build passes STATEFUN_TEST_OPENSSL, the path of the openssl command (empty if none)"
#endif

namespace statefun::test {

/// The openssl command the build found; empty when there is none (TLS tests are then skipped).
inline std::string openssl_program() { return STATEFUN_TEST_OPENSSL; }

/// False (and says so) when there is no openssl command to make certificates with.
inline bool have_openssl() {
  if (openssl_program().empty()) {
    MESSAGE("skipped: the build found no openssl command to make certificates with");
    return false;
  }
  return true;
}

/// PEM files for the TLS tests. Every key is an EC P-256 key in PKCS#8 (what the runtime wants
/// of a client key).
struct certificates {
  /// The passphrase of `server_key_encrypted` and `client_key_encrypted`.
  static constexpr std::string_view passphrase = "correct horse battery staple";

  std::string ca;                    ///< the CA the server and `client_cert` chain to
  std::string server_cert;           ///< CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1
  std::string server_key;            ///< the key of `server_cert`
  std::string server_key_encrypted;  ///< `server_key`, AES-256 encrypted with `passphrase`
  std::string mismatched_key;        ///< a key that belongs to no certificate here
  std::string client_cert;           ///< a client certificate (CN=statefun runtime) signed by `ca`
  std::string client_key;
  std::string client_key_encrypted;    ///< `client_key`, encrypted PKCS#8 (AES-256, `passphrase`)
  std::string client_key_traditional;  ///< `client_key` in the traditional ("EC PRIVATE KEY") form
  std::string wrong_host_cert;       ///< for elsewhere.example only, signed by `ca`, key `server_key`
  std::string other_ca;              ///< a CA nobody here trusts (a self-signed certificate)
  std::string other_ca_key;
  std::string untrusted_client_cert;  ///< a client certificate signed by `other_ca`
  std::string untrusted_client_key;
};

namespace detail {

/// Runs openssl with `args`; throws with its stderr if it fails.
inline void openssl(std::vector<std::string> args) {
  args.insert(args.begin(), openssl_program());
  const run_result result = run(args);
  if (result.status != exit_status::exited_with(0)) {
    throw std::runtime_error("openssl failed: " + detail::command_line(args) + "\n" + result.err);
  }
}

inline std::string new_key(const temp_dir& dir, std::string_view name) {
  const std::string key = dir / (std::string(name) + ".key");
  openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key});
  return key;
}

/// A self-signed CA certificate named `common_name`; returns its path, its key is <name>.key.
inline std::string new_ca(const temp_dir& dir, std::string_view name, std::string_view common_name) {
  const std::string key = new_key(dir, name);
  // Our own config, so that the system's openssl.cnf adds nothing.
  const std::string config = dir.write(std::string(name) + ".cnf",
                                       "[req]\n"
                                       "prompt = no\n"
                                       "distinguished_name = dn\n"
                                       "x509_extensions = ca\n"
                                       "[dn]\n"
                                       "CN = " + std::string(common_name) + "\n"
                                       "[ca]\n"
                                       "basicConstraints = critical, CA:TRUE\n"
                                       "keyUsage = critical, keyCertSign, cRLSign\n"
                                       "subjectKeyIdentifier = hash\n");
  const std::string cert = dir / (std::string(name) + ".pem");
  openssl({"req", "-new", "-x509", "-config", config, "-key", key, "-days", "2", "-set_serial", "1",
           "-out", cert});
  return cert;
}

/// A certificate for `common_name` with `extensions`, signed by the CA `ca` (key `ca_key`).
inline std::string new_leaf(const temp_dir& dir, std::string_view name, const std::string& key,
                            std::string_view common_name, std::string_view extensions,
                            const std::string& ca, const std::string& ca_key, int serial) {
  const std::string config = dir.write(std::string(name) + ".cnf",
                                       "[req]\n"
                                       "prompt = no\n"
                                       "distinguished_name = dn\n"
                                       "[dn]\n"
                                       "CN = " + std::string(common_name) + "\n");
  const std::string request = dir / (std::string(name) + ".csr");
  openssl({"req", "-new", "-config", config, "-key", key, "-out", request});
  const std::string extension_file = dir.write(std::string(name) + ".ext", extensions);
  const std::string cert = dir / (std::string(name) + ".pem");
  openssl({"x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-set_serial",
           std::to_string(serial), "-days", "2", "-extfile", extension_file, "-out", cert});
  return cert;
}

struct certificate_store {
  temp_dir dir;
  certificates files;

  certificate_store() {
    certificates& c = files;
    c.ca = new_ca(dir, "ca", "statefun test CA");
    const std::string ca_key = dir / "ca.key";

    c.server_key = new_key(dir, "server");
    c.server_cert = new_leaf(dir, "server", c.server_key, "localhost",
                             "basicConstraints = CA:FALSE\n"
                             "keyUsage = critical, digitalSignature\n"
                             "extendedKeyUsage = serverAuth\n"
                             "subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1\n",
                             c.ca, ca_key, 2);
    c.server_key_encrypted = dir / "server_encrypted.key";
    openssl({"pkey", "-in", c.server_key, "-aes256", "-passout",
             "pass:" + std::string(certificates::passphrase), "-out", c.server_key_encrypted});
    c.mismatched_key = new_key(dir, "mismatched");

    const std::string client_extensions =
        "basicConstraints = CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = clientAuth\n";
    c.client_key = new_key(dir, "client");
    c.client_cert = new_leaf(dir, "client", c.client_key, "statefun runtime", client_extensions,
                             c.ca, ca_key, 3);
    c.client_key_encrypted = dir / "client_encrypted.key";
    openssl({"pkey", "-in", c.client_key, "-aes256", "-passout",
             "pass:" + std::string(certificates::passphrase), "-out", c.client_key_encrypted});
    c.client_key_traditional = dir / "client_traditional.key";
    openssl({"pkey", "-in", c.client_key, "-traditional", "-out", c.client_key_traditional});
    c.wrong_host_cert = new_leaf(dir, "wrong_host", c.server_key, "elsewhere.example",
                                 "basicConstraints = CA:FALSE\n"
                                 "keyUsage = critical, digitalSignature\n"
                                 "extendedKeyUsage = serverAuth\n"
                                 "subjectAltName = DNS:elsewhere.example\n",
                                 c.ca, ca_key, 5);

    c.other_ca = new_ca(dir, "other_ca", "an unrelated CA");
    c.other_ca_key = dir / "other_ca.key";
    c.untrusted_client_key = new_key(dir, "untrusted_client");
    c.untrusted_client_cert = new_leaf(dir, "untrusted_client", c.untrusted_client_key,
                                       "statefun runtime", client_extensions, c.other_ca,
                                       c.other_ca_key, 4);
  }
};

}  // namespace detail

/**
 * The test run's certificates, made on first use (a few openssl runs) and removed at exit.
 * Only when `openssl_program()` is not empty.
 */
inline const certificates& test_certificates() {
  static const detail::certificate_store store;
  return store.files;
}

/// A client certificate and its key.
struct client_identity {
  std::string certificate;
  std::string key;
};

/**
 * A blocking HTTPS/1.1 client connection, checking the server as the runtime's async transport
 * does: the chain must lead to `ca` and the certificate must be for "localhost" (SNI and host
 * name check), TLS 1.2 or later. With an `identity` it presents a client certificate.
 * The constructor connects and completes the handshake; it throws `std::system_error` if
 * either fails.
 */
class tls_client {
 public:
  tls_client(const ::asio::ip::tcp::endpoint& server, const std::string& ca,
             const std::optional<client_identity>& identity = std::nullopt)
      : context_(make_context(ca, identity)), stream_(io_, context_) {
    stream_.set_verify_mode(::asio::ssl::verify_peer);
    stream_.set_verify_callback(::asio::ssl::host_name_verification("localhost"));
    if (SSL_set_tlsext_host_name(stream_.native_handle(), "localhost") != 1) {
      throw std::runtime_error("SSL_set_tlsext_host_name failed");
    }
    stream_.lowest_layer().connect(server);
    stream_.handshake(::asio::ssl::stream_base::client);
  }

  /// Connects to 127.0.0.1:`port`.
  tls_client(std::uint16_t port, const std::string& ca,
             const std::optional<client_identity>& identity = std::nullopt)
      : tls_client({::asio::ip::make_address("127.0.0.1"), port}, ca, identity) {}

  void send(std::string_view bytes) { ::asio::write(stream_, ::asio::buffer(bytes)); }

  /// Reads one response.
  /// @throws std::system_error The connection ended first (a refused client certificate, say).
  http_response receive() {
    http::response_parser parser;
    for (;;) {
      const auto status = buffer_.empty() ? http::parse_status::need_more
                                          : parser.parse(std::span(buffer_.data(), buffer_.size()));
      if (status == http::parse_status::complete) {
        http_response response = response_of(parser);
        buffer_.erase(0, parser.message_size());
        return response;
      }
      if (status == http::parse_status::failed) {
        throw std::runtime_error("the server's response does not parse: " +
                                 std::string(parser.error().reason));
      }
      char chunk[16384];
      std::error_code error;
      const std::size_t n = stream_.read_some(::asio::buffer(chunk), error);
      if (error) {
        throw std::system_error(error, "the server closed the connection before a response");
      }
      buffer_.append(chunk, n);
    }
  }

  http_response exchange(std::string_view request) {
    send(request);
    return receive();
  }

 private:
  static ::asio::ssl::context make_context(const std::string& ca,
                                           const std::optional<client_identity>& identity) {
    ::asio::ssl::context context(::asio::ssl::context::tls_client);
    context.set_options(::asio::ssl::context::default_workarounds | ::asio::ssl::context::no_sslv2 |
                        ::asio::ssl::context::no_sslv3 | ::asio::ssl::context::no_tlsv1 |
                        ::asio::ssl::context::no_tlsv1_1);
    context.load_verify_file(ca);
    if (identity) {
      context.use_certificate_chain_file(identity->certificate);
      context.use_private_key_file(identity->key, ::asio::ssl::context::pem);
    }
    return context;
  }

  ::asio::io_context io_;
  ::asio::ssl::context context_;
  ::asio::ssl::stream<::asio::ip::tcp::socket> stream_;
  std::string buffer_;
};

/**
 * One exchange on a new TLS connection, for clients the server may refuse: nullopt when the
 * handshake fails or the connection ends before a response. (Both happen: in TLS 1.3 the
 * server refuses a client certificate after the client's side of the handshake is done.)
 */
inline std::optional<http_response> try_exchange(std::uint16_t port, const std::string& ca,
                                                 const std::optional<client_identity>& identity,
                                                 std::string_view request) {
  try {
    tls_client client(port, ca, identity);
    return client.exchange(request);
  } catch (const std::system_error&) {
    return std::nullopt;
  }
}

}  // namespace statefun::test
