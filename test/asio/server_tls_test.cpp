// TLS and mutual TLS listeners (docs/runtime_rules.md 1.9): the runtime's async transport checks the
// server's chain and host name, may present a client certificate, and must be refused when the
// server wants one it does not trust. Certificates are made at test time (certificates.hpp).

#include <statefun/asio/tls.hpp>

#include <statefun/statefun.hpp>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "asio/certificates.hpp"
#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

using statefun::asio::http_server;
using statefun::asio::listen_tls;
using statefun::asio::make_tls_context;
using statefun::asio::tls_options;
using statefun::test::client_identity;
using statefun::test::expected_reply;
using statefun::test::have_openssl;
using statefun::test::running_server;
using statefun::test::runtime_post;
using statefun::test::test_certificates;
using statefun::test::test_functions;
using statefun::test::tls_client;
using statefun::test::try_exchange;
using statefun::test::w1;

namespace {

/// The server certificate and key, and (for mutual TLS) the client CA.
tls_options server_tls(bool mutual = false) {
  const auto& c = test_certificates();
  return {.certificate_chain = c.server_cert,
          .private_key = c.server_key,
          .private_key_password = {},
          .client_ca = mutual ? c.ca : std::string()};
}

client_identity good_client() {
  return {test_certificates().client_cert, test_certificates().client_key};
}

/// A running server with one TLS listener on 127.0.0.1.
struct tls_server {
  tls_server(const statefun::functions& fns, const tls_options& options)
      : server(fns, {}, [this, &options](http_server& s) {
          port = listen_tls(s, "127.0.0.1", 0, options);
        }) {}

  std::uint16_t port = 0;
  running_server server;
};

/// The message of the exception `make_tls_context(options)` throws, or "(no exception)".
std::string startup_error(const tls_options& options) {
  try {
    (void)make_tls_context(options);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no exception)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Writes W1 as the runtime posts it, but with `Connection: close` (so that the server closes
/// once it has answered and s_client exits), to a file in `dir`; returns its path.
std::string write_closing_request(const statefun::test::temp_dir& dir) {
  std::string request = runtime_post(w1());
  const std::string keep_alive = "Connection: keep-alive";
  request.replace(request.find(keep_alive), keep_alive.size(), "Connection: close");
  return dir.write("request", request);
}

/// One `openssl s_client` connection to `port` (a real process, as a client program would be):
/// TLS `version` ("-tls1_2" or "-tls1_3"), the server checked against the test CA, `session`
/// ("-sess_out" to save the session to `session_file`, "-sess_in" to offer the one saved), and
/// the client certificate when `with_client_certificate`. It sends `request_file` and prints
/// everything until the server closes. (Its exit status says nothing here: OpenSSL 3's s_client
/// exits 1 when a server closes the TCP connection without a close_notify alert, which is how
/// the server closes after `Connection: close`.)
statefun::test::run_result s_client(std::uint16_t port, const std::string& version, const std::string& session,
                                    const std::string& session_file, const std::string& request_file,
                                    bool with_client_certificate) {
  const auto& c = test_certificates();
  std::vector<std::string> argv = {statefun::test::openssl_program(),
                                   "s_client",
                                   "-connect",
                                   "127.0.0.1:" + std::to_string(port),
                                   version,
                                   "-CAfile",
                                   c.ca,
                                   "-verify_return_error",
                                   "-ign_eof",  // stdin's end is not the end: wait for the answer
                                   session,
                                   session_file};
  if (with_client_certificate) {
    argv.insert(argv.end(), {"-cert", c.client_cert, "-key", c.client_key});
  }
  return statefun::test::run(argv, statefun::test::hang_guard, request_file);
}

/// Connects twice with `openssl s_client`, the second time offering the session saved by the
/// first, and checks that both requests are answered and the second handshake resumed.
void check_resumption(const tls_options& options, const std::string& version, bool with_client_certificate) {
  test_functions f;
  tls_server s(f.fns, options);
  const statefun::test::temp_dir dir;
  const std::string request_file = write_closing_request(dir);
  const std::string session_file = dir / "session.pem";
  const std::string reply = expected_reply(f.fns, w1());

  const auto first = s_client(s.port, version, "-sess_out", session_file, request_file, with_client_certificate);
  INFO("first s_client: " << first.err);
  CHECK(contains(first.out, "New, TLSv1."));
  CHECK(contains(first.out, "HTTP/1.1 200 OK"));
  CHECK(contains(first.out, reply));
  REQUIRE(std::filesystem::exists(session_file));

  const auto second = s_client(s.port, version, "-sess_in", session_file, request_file, with_client_certificate);
  INFO("second s_client: " << second.err);
  CHECK(contains(second.out, "Reused, TLSv1."));
  CHECK(contains(second.out, "HTTP/1.1 200 OK"));
  CHECK(contains(second.out, reply));
}

}  // namespace

TEST_CASE("tls: a POST over TLS, checked against the CA as localhost, is answered with the FromFunction") {
  if (!have_openssl()) {
    return;
  }
  test_functions f;
  tls_server s(f.fns, server_tls());
  tls_client c(s.port, test_certificates().ca);
  const auto response = c.exchange(runtime_post(w1()));
  CHECK(response.status == 200);
  CHECK(response.content_type == "application/octet-stream");
  REQUIRE(response.content_length);
  CHECK(*response.content_length == std::to_string(response.body.size()));
  CHECK(response.body == expected_reply(f.fns, w1()));
}

TEST_CASE("tls: keep-alive serves several requests on one TLS connection") {
  if (!have_openssl()) {
    return;
  }
  test_functions f;
  tls_server s(f.fns, server_tls());
  tls_client c(s.port, test_certificates().ca);
  for (int i = 0; i < 2; ++i) {
    const auto response = c.exchange(runtime_post(w1()));
    REQUIRE(response.status == 200);
    CHECK(response.connection.empty());
    CHECK(response.body == expected_reply(f.fns, w1()));
  }
  CHECK(s.server.server().connections() == 1);
}

TEST_CASE("tls: listen_tls on \"::\" serves IPv4 and IPv6 clients") {
  if (!have_openssl()) {
    return;
  }
  std::error_code no_ipv6;
  {
    ::asio::io_context io;
    ::asio::ip::tcp::acceptor probe(io);
    probe.open(::asio::ip::tcp::v6(), no_ipv6);
    if (!no_ipv6) {
      probe.bind({::asio::ip::make_address("::1"), 0}, no_ipv6);
    }
  }
  if (no_ipv6) {
    MESSAGE("skipped: this machine has no IPv6 loopback");
    return;
  }
  test_functions f;
  std::uint16_t port = 0;
  running_server server(f.fns, {}, [&](http_server& s) { port = listen_tls(s, "::", 0, server_tls()); });
  for (const char* address : {"127.0.0.1", "::1"}) {
    CAPTURE(address);
    tls_client c({::asio::ip::make_address(address), port}, test_certificates().ca);
    const auto response = c.exchange(runtime_post(w1()));
    CHECK(response.status == 200);
    CHECK(response.body == expected_reply(f.fns, w1()));
  }
}

TEST_CASE("tls: the test client really checks the server (a CA it does not trust fails the handshake)") {
  if (!have_openssl()) {
    return;
  }
  test_functions f;
  tls_server s(f.fns, server_tls());
  CHECK_FALSE(try_exchange(s.port, test_certificates().other_ca, std::nullopt, runtime_post(w1())));
  CHECK(try_exchange(s.port, test_certificates().ca, std::nullopt, runtime_post(w1()))->status == 200);
}

TEST_CASE("mtls: a client certificate signed by the client CA is served") {
  if (!have_openssl()) {
    return;
  }
  test_functions f;
  tls_server s(f.fns, server_tls(true));
  tls_client c(s.port, test_certificates().ca, good_client());
  for (int i = 0; i < 2; ++i) {
    const auto response = c.exchange(runtime_post(w1()));
    CHECK(response.status == 200);
    CHECK(response.body == expected_reply(f.fns, w1()));
  }
}

TEST_CASE("mtls: clients without a trusted certificate are refused, and the server goes on serving") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  test_functions f;
  tls_server s(f.fns, server_tls(true));

  SUBCASE("no client certificate") {
    CHECK_FALSE(try_exchange(s.port, certs.ca, std::nullopt, runtime_post(w1())));
  }
  SUBCASE("a client certificate from a CA the server does not trust") {
    CHECK_FALSE(try_exchange(s.port, certs.ca,
                             client_identity{certs.untrusted_client_cert, certs.untrusted_client_key},
                             runtime_post(w1())));
  }
  SUBCASE("a self-signed certificate (the other CA's own) with its key") {
    CHECK_FALSE(try_exchange(s.port, certs.ca, client_identity{certs.other_ca, certs.other_ca_key},
                             runtime_post(w1())));
  }

  tls_client good(s.port, certs.ca, good_client());
  CHECK(good.exchange(runtime_post(w1())).status == 200);
}

TEST_CASE("mtls: a refused handshake is reported in the server's log") {
  if (!have_openssl()) {
    return;
  }
  test_functions f;
  tls_server s(f.fns, server_tls(true));
  CHECK_FALSE(try_exchange(s.port, test_certificates().ca, std::nullopt, runtime_post(w1())));
  // One serving thread: by the time the next client is answered, the refused one is handled.
  tls_client good(s.port, test_certificates().ca, good_client());
  CHECK(good.exchange(runtime_post(w1())).status == 200);
  // Failed TLS handshakes are among what an operator must see: once, with the peer.
  const auto failed = s.server.sink().named("tls.handshake_failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].at("peer").starts_with("127.0.0.1:"));
  CHECK_FALSE(failed[0].at("reason").empty());
}

TEST_CASE("tls: a client that reconnects with its saved session resumes it and is answered") {
  if (!have_openssl()) {
    return;
  }
  SUBCASE("TLS 1.2 (session id)") { check_resumption(server_tls(), "-tls1_2", false); }
  SUBCASE("TLS 1.3 (ticket)") { check_resumption(server_tls(), "-tls1_3", false); }
}

TEST_CASE("mtls: a client that reconnects with its saved session resumes it and is answered") {
  if (!have_openssl()) {
    return;
  }
  SUBCASE("TLS 1.2 (session id)") { check_resumption(server_tls(true), "-tls1_2", true); }
  SUBCASE("TLS 1.3 (ticket)") { check_resumption(server_tls(true), "-tls1_3", true); }
}

TEST_CASE("mtls: a session saved with another listener is declined with a full handshake, and answered") {
  if (!have_openssl()) {
    return;
  }
  test_functions f;
  const statefun::test::temp_dir dir;
  const std::string request_file = write_closing_request(dir);
  const std::string session_file = dir / "session.pem";
  for (const std::string version : {"-tls1_2", "-tls1_3"}) {
    CAPTURE(version);
    {
      tls_server elsewhere(f.fns, server_tls(true));
      const auto saved = s_client(elsewhere.port, version, "-sess_out", session_file, request_file, true);
      REQUIRE(contains(saved.out, "HTTP/1.1 200 OK"));
    }
    tls_server s(f.fns, server_tls(true));
    const auto offered = s_client(s.port, version, "-sess_in", session_file, request_file, true);
    INFO("s_client: " << offered.err);
    CHECK(contains(offered.out, "New, TLSv1."));
    CHECK(contains(offered.out, expected_reply(f.fns, w1())));
  }
}

TEST_CASE("tls: unusable certificates fail at startup with an error that names the file") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  const statefun::test::temp_dir dir;
  tls_options options = server_tls();

  SUBCASE("no certificate given") {
    options.certificate_chain.clear();
    CHECK(contains(startup_error(options), "certificate"));
  }
  SUBCASE("a certificate file that does not exist") {
    options.certificate_chain = dir / "absent.pem";
    const std::string error = startup_error(options);
    CHECK_MESSAGE(contains(error, options.certificate_chain), error);
  }
  SUBCASE("a certificate file that is not PEM") {
    options.certificate_chain = dir.write("garbage.pem", "not a certificate\n");
    const std::string error = startup_error(options);
    CHECK_MESSAGE(contains(error, options.certificate_chain), error);
  }
  SUBCASE("a key file that does not exist") {
    options.private_key = dir / "absent.key";
    const std::string error = startup_error(options);
    CHECK_MESSAGE(contains(error, options.private_key), error);
  }
  SUBCASE("a key file that is not PEM") {
    options.private_key = dir.write("garbage.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n");
    const std::string error = startup_error(options);
    CHECK_MESSAGE(contains(error, options.private_key), error);
  }
  SUBCASE("a key path that is a directory") {
    options.private_key = dir.path().string();
    const std::string error = startup_error(options);
    CHECK_MESSAGE(contains(error, options.private_key), error);
  }
  SUBCASE("a key file the server may not read") {
    options.private_key = dir.write("secret.key", statefun::test::read_file(certs.server_key));
    std::filesystem::permissions(options.private_key, std::filesystem::perms::none);
    if (::access(options.private_key.c_str(), R_OK) == 0) {
      MESSAGE("skipped: this user (root?) reads files whatever their mode");
    } else {
      const std::string error = startup_error(options);
      CHECK_MESSAGE(contains(error, options.private_key), error);
    }
  }
  SUBCASE("a key that does not belong to the certificate") {
    options.private_key = certs.mismatched_key;
    const std::string error = startup_error(options);
    CHECK_MESSAGE(contains(error, certs.mismatched_key), error);
  }
  SUBCASE("an encrypted key with a wrong passphrase") {
    options.private_key = certs.server_key_encrypted;
    options.private_key_password = "wrong horse";
    const std::string error = startup_error(options);
    CHECK_MESSAGE(contains(error, certs.server_key_encrypted), error);
  }
  SUBCASE("a client CA file that does not exist") {
    options.client_ca = dir / "absent-ca.pem";
    const std::string error = startup_error(options);
    CHECK_MESSAGE(contains(error, options.client_ca), error);
  }
  SUBCASE("listen_tls throws the same error, before it binds") {
    options.certificate_chain = dir / "absent.pem";
    test_functions f;
    http_server server(f.fns);
    try {
      (void)listen_tls(server, "127.0.0.1", 0, options);
      FAIL("listen_tls accepted a missing certificate");
    } catch (const std::runtime_error& e) {
      CHECK_MESSAGE(contains(e.what(), options.certificate_chain), e.what());
    }
  }
}

TEST_CASE("tls: an encrypted key with the right passphrase serves") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  CHECK(statefun::test::read_file(certs.server_key_encrypted).find("ENCRYPTED") != std::string::npos);
  test_functions f;
  tls_server s(f.fns, {.certificate_chain = certs.server_cert,
                       .private_key = certs.server_key_encrypted,
                       .private_key_password = std::string(statefun::test::certificates::passphrase),
                       .client_ca = {}});
  tls_client c(s.port, certs.ca);
  const auto response = c.exchange(runtime_post(w1()));
  CHECK(response.status == 200);
  CHECK(response.body == expected_reply(f.fns, w1()));
}
