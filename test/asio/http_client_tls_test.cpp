// http_client over TLS (docs/runtime_rules.md 1.9): `https://` origins with statefun::asio::tls_client,
// against our own http_server's TLS listeners and a TLS fake_service. The server's chain and
// host name are checked, SNI is sent, client certificates are presented for mutual TLS, and a
// close-delimited body ends only at an authenticated close (close_notify). Certificates are
// made at test time (certificates.hpp).

#include <statefun/asio/tls.hpp>

#include <statefun/asio/http_client.hpp>
#include <statefun/statefun.hpp>

#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "asio/certificates.hpp"
#include "asio/client_support.hpp"
#include "asio/fake_service.hpp"
#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/process.hpp"
#include "support/run_on.hpp"

// The service's behaviours are written with designated initializers, which g++ 12 warns about
// for every member left out: https://gcc.gnu.org/bugzilla/show_bug.cgi?id=96868
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace std::chrono_literals;
using statefun::asio::call_options;
using statefun::asio::http_client;
using statefun::asio::http_response;
using statefun::asio::http_server;
using statefun::asio::listen_tls;
using statefun::asio::tls_client_options;
using statefun::asio::tls_options;
using statefun::test::failure_message_of;
using statefun::test::failure_of;
using statefun::test::have_openssl;
using statefun::test::quick;
using statefun::test::run_on;
using statefun::test::running_server;
using statefun::test::test_certificates;
using statefun::test::test_functions;

namespace {

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

/// Trust our test CA (or another file), and nothing else.
tls_client_options trusting(std::string ca) { return {.trust_cacerts = std::move(ca)}; }

/// The server certificate (for localhost, 127.0.0.1 and ::1) and key, and for mutual TLS the CA
/// that client certificates must chain to.
tls_options server_tls(bool mutual = false) {
  const auto& c = test_certificates();
  return {.certificate_chain = c.server_cert,
          .private_key = c.server_key,
          .private_key_password = {},
          .client_ca = mutual ? c.ca : std::string()};
}

/// A running http_server with one TLS listener on 127.0.0.1.
struct tls_server {
  tls_server(const statefun::functions& fns, const tls_options& options)
      : server(fns, {}, [this, &options](http_server& s) { port = listen_tls(s, "127.0.0.1", 0, options); }) {}

  std::string url(std::string_view host = "localhost") const {
    return "https://" + std::string(host) + ":" + std::to_string(port);
  }

  std::uint16_t port = 0;
  running_server server;
};

/// The runtime's call: W1 posted to /statefun, and the FromFunction the functions answer it with.
struct runtime_call {
  explicit runtime_call(const statefun::functions& fns) : handler(fns.handler()) {
    const auto reply = handler.handle_sync(request);
    REQUIRE(reply);
    expected = std::string(*reply);
  }

  statefun::task<http_response> post(http_client& client, call_options options = quick()) const {
    return client.post("/statefun", request, "application/octet-stream", options);
  }

  std::string request = statefun::test::w1();
  statefun::request_reply_handler handler;
  std::string expected;
};

/// The SNI host names the TLS fake_service's handshakes carried ("" for none), in order.
class server_names {
 public:
  void add(std::string name) {
    const std::lock_guard lock(mutex_);
    names_.push_back(std::move(name));
  }

  std::vector<std::string> all() const {
    const std::lock_guard lock(mutex_);
    return names_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> names_;
};

/// fake_service's TLS layer: our server certificate, close_notify on shutdown, SNI recorded.
struct tls_layer {
  static constexpr std::string_view scheme = "https";

  template <class Socket>
  using stream = asio::ssl::stream<Socket>;

  template <class Socket>
  stream<Socket> wrap(Socket&& socket) const {
    return stream<Socket>(std::move(socket), *context);
  }

  template <class Socket>
  statefun::task<bool> handshake(stream<Socket>& tls) const {
    auto [error] = co_await tls.async_handshake(asio::ssl::stream_base::server,
                                                asio::experimental::as_tuple(statefun::asio::use_task));
    if (!error) {
      const char* name = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name);
      names->add(name != nullptr ? name : "");
    }
    co_return !error;
  }

  /// Sends close_notify, and waits for the client to answer it or close.
  template <class Socket>
  statefun::task<> shutdown(stream<Socket>& tls) const {
    auto [error] = co_await tls.async_shutdown(asio::experimental::as_tuple(statefun::asio::use_task));
    (void)error;  // a client may close without a close_notify of its own
  }

  std::shared_ptr<asio::ssl::context> context =
      std::make_shared<asio::ssl::context>(statefun::asio::make_tls_context(server_tls()));
  std::shared_ptr<server_names> names = std::make_shared<server_names>();
};

using tls_fake_service = statefun::test::basic_fake_service<asio::ip::tcp, tls_layer>;

}  // namespace

TEST_CASE("https: calls to http_server over TLS are answered, on one kept-alive connection") {
  if (!have_openssl()) {
    return;
  }
  test_functions f;
  tls_server s(f.fns, server_tls());
  const runtime_call call(f.fns);
  asio::io_context io;
  const auto connector = statefun::asio::tls_client(trusting(test_certificates().ca));
  // localhost matches the certificate's DNS name, 127.0.0.1 its IP address.
  http_client by_name(io.get_executor(), s.url("localhost"), connector);
  http_client by_address(io.get_executor(), s.url("127.0.0.1"), connector);
  for (http_client* client : {&by_name, &by_address}) {
    for (int i = 0; i < 3; ++i) {
      const http_response response = run_on(io, call.post(*client));
      CHECK(response.status == 200);
      CHECK(response.header("Content-Type") == "application/octet-stream");
      CHECK(response.body == call.expected);
    }
    CHECK(client->idle_connections() == 1);
  }
  CHECK(s.server.server().connections() == 2);  // one each
}

TEST_CASE("https: the client sends the host name (SNI) for a name, and none for an address") {
  if (!have_openssl()) {
    return;
  }
  tls_layer layer;
  const std::shared_ptr<server_names> names = layer.names;
  tls_fake_service service(layer);
  asio::io_context io;
  const auto connector = statefun::asio::tls_client(trusting(test_certificates().ca));  // shared
  http_client by_name(io.get_executor(), "https://localhost:" + std::to_string(service.port()), connector);
  http_client by_address(io.get_executor(), service.url(), connector);  // https://127.0.0.1:<port>
  CHECK(run_on(io, by_name.get("/named")).body == "GET /named\n");
  CHECK(run_on(io, by_address.get("/numbered")).body == "GET /numbered\n");
  CHECK(run_on(io, by_name.get("/again")).body == "GET /again\n");
  CHECK(names->all() == std::vector<std::string>{"localhost", ""});
  CHECK(service.connections_accepted() == 2);  // one per client, kept alive
  const auto requests = service.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].header("Host") == "localhost:" + std::to_string(service.port()));
}

TEST_CASE("https: a certificate for another host name fails, unless verify_host is off") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  test_functions f;
  tls_server s(f.fns, {.certificate_chain = certs.wrong_host_cert,
                       .private_key = certs.server_key,
                       .private_key_password = {},
                       .client_ca = {}});
  const runtime_call call(f.fns);
  asio::io_context io;
  for (const std::string_view host : {"localhost", "127.0.0.1"}) {
    CAPTURE(host);
    http_client checked(io.get_executor(), s.url(host), statefun::asio::tls_client(trusting(certs.ca)));
    const std::string message = failure_message_of(io, call.post(checked));
    CHECK_MESSAGE(contains(message, "certificate verify failed"), message);
    CHECK_MESSAGE(contains(message, "POST " + s.url(host) + "/statefun"), message);

    tls_client_options unchecked_options = trusting(certs.ca);
    unchecked_options.verify_host = false;
    http_client unchecked(io.get_executor(), s.url(host), statefun::asio::tls_client(unchecked_options));
    CHECK(run_on(io, call.post(unchecked)).body == call.expected);
  }
}

TEST_CASE("https: a server certificate from a CA the client does not trust fails the handshake") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  test_functions f;
  tls_server s(f.fns, server_tls());
  const runtime_call call(f.fns);
  asio::io_context io;
  SUBCASE("another CA") {
    http_client client(io.get_executor(), s.url(), statefun::asio::tls_client(trusting(certs.other_ca)));
    CHECK(failure_of(io, call.post(client)).category() == asio::error::get_ssl_category());
  }
  SUBCASE("another CA, even with verify_host off") {
    tls_client_options options = trusting(certs.other_ca);
    options.verify_host = false;
    http_client client(io.get_executor(), s.url(), statefun::asio::tls_client(options));
    CHECK(failure_of(io, call.post(client)).category() == asio::error::get_ssl_category());
  }
  SUBCASE("no trust_cacerts: the system's store, which does not hold our test CA") {
    http_client client(io.get_executor(), s.url(), statefun::asio::tls_client({}));
    CHECK(failure_of(io, call.post(client)).category() == asio::error::get_ssl_category());
  }
}

TEST_CASE("https: a failed handshake is an error of the attempt, and retried") {
  if (!have_openssl()) {
    return;
  }
  tls_fake_service service;
  asio::io_context io;
  http_client client(io.get_executor(), service.url(),
                     statefun::asio::tls_client(trusting(test_certificates().other_ca)));
  CHECK(failure_of(io, client.get("/", quick(2))).category() == asio::error::get_ssl_category());
  CHECK(service.connections_accepted() == 3);
  CHECK(service.requests_received() == 0);
}

TEST_CASE("mtls: a client certificate is presented to a server that requires one") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  test_functions f;
  tls_server s(f.fns, server_tls(true));
  const runtime_call call(f.fns);
  asio::io_context io;
  tls_client_options options = trusting(certs.ca);
  options.client_cert = certs.client_cert;
  SUBCASE("a PKCS#8 key") {
    options.client_key = certs.client_key;
  }
  SUBCASE("an encrypted PKCS#8 key and its password") {
    options.client_key = certs.client_key_encrypted;
    options.client_key_password = std::string(statefun::test::certificates::passphrase);
  }
  SUBCASE("a traditional key") {
    options.client_key = certs.client_key_traditional;
  }
  http_client client(io.get_executor(), s.url(), statefun::asio::tls_client(options));
  for (int i = 0; i < 2; ++i) {
    CHECK(run_on(io, call.post(client)).body == call.expected);
  }
  CHECK(s.server.server().connections() == 1);
}

TEST_CASE("mtls: without a certificate the server trusts, the call fails") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  test_functions f;
  tls_server s(f.fns, server_tls(true));
  const runtime_call call(f.fns);
  asio::io_context io;
  tls_client_options options = trusting(certs.ca);
  SUBCASE("no client certificate") {}
  SUBCASE("a client certificate from a CA the server does not trust") {
    options.client_cert = certs.untrusted_client_cert;
    options.client_key = certs.untrusted_client_key;
  }
  http_client client(io.get_executor(), s.url(), statefun::asio::tls_client(options));
  // In TLS 1.3 the server refuses after the client's side of the handshake is done, so the
  // failure may show as an alert, a reset or an end of stream on the first read.
  CHECK(failure_of(io, call.post(client)));
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("tls_client: client_cert and client_key come together") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  const auto refusal = [](const tls_client_options& options) -> std::string {
    try {
      (void)statefun::asio::tls_client(options);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  tls_client_options cert_only = trusting(certs.ca);
  cert_only.client_cert = certs.client_cert;
  CHECK(contains(refusal(cert_only), "client_cert and client_key"));
  tls_client_options key_only = trusting(certs.ca);
  key_only.client_key = certs.client_key;
  CHECK(contains(refusal(key_only), "client_cert and client_key"));
}

TEST_CASE("tls_client: unusable files fail at once, with an error that names the file") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  const statefun::test::temp_dir dir;
  tls_client_options options = trusting(certs.ca);
  options.client_cert = certs.client_cert;
  options.client_key = certs.client_key;
  std::string named;  // the file the error must name

  SUBCASE("a trust_cacerts file that does not exist") {
    options.trust_cacerts = named = dir / "absent-ca.pem";
  }
  SUBCASE("a trust_cacerts file that is not PEM") {
    options.trust_cacerts = named = dir.write("garbage-ca.pem", "not a certificate\n");
  }
  SUBCASE("a client_cert file that does not exist") {
    options.client_cert = named = dir / "absent.pem";
  }
  SUBCASE("a client_key file that is not PEM") {
    options.client_key = named = dir.write("garbage.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n");
  }
  SUBCASE("an encrypted client_key with a wrong password") {
    options.client_key = named = certs.client_key_encrypted;
    options.client_key_password = "wrong horse";
  }
  SUBCASE("an encrypted client_key without a password (no prompt on the terminal)") {
    options.client_key = named = certs.client_key_encrypted;
  }
  SUBCASE("a client_key that does not belong to the client_cert") {
    options.client_key = named = certs.mismatched_key;
  }
  std::string error = "(no exception)";
  try {
    (void)statefun::asio::tls_client(options);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  CHECK_MESSAGE(contains(error, named), error);
}

TEST_CASE("https: a close-delimited body ends at the server's close_notify, not at a bare TCP close") {
  if (!have_openssl()) {
    return;
  }
  tls_fake_service service;
  service.on("/notified", {.body = "all of it", .close_delimited = true});
  service.on("/truncated", {.body = "all of it?", .close_delimited = true, .no_close_notify = true});
  asio::io_context io;
  http_client client(io.get_executor(), service.url(), statefun::asio::tls_client(trusting(test_certificates().ca)));
  CHECK(run_on(io, client.get("/notified")).body == "all of it");
  CHECK(client.idle_connections() == 0);
  // Without close_notify the end is not authenticated: the body may have been cut on the way.
  CHECK(failure_of(io, client.get("/truncated", quick(1))) == asio::ssl::error::stream_truncated);
  CHECK(service.requests_received() == 3);  // an I/O error: retried
  CHECK(run_on(io, client.get("/notified")).body == "all of it");
}

TEST_CASE("https: a pooled connection the server closed without close_notify is replaced without a retry") {
  if (!have_openssl()) {
    return;
  }
  tls_fake_service service;
  service.on("/bye", {.close_after_answer = true});
  service.on("/once", {.connection_close = true});
  asio::io_context io;
  http_client client(io.get_executor(), service.url(), statefun::asio::tls_client(trusting(test_certificates().ca)));
  CHECK(run_on(io, client.get("/bye")).status == 200);
  CHECK(client.idle_connections() == 1);
  REQUIRE(service.wait_for_closed(1));
  CHECK(run_on(io, client.get("/next", quick(0))).status == 200);  // retries = 0: transparent
  CHECK(service.connections_accepted() == 2);
  CHECK(run_on(io, client.get("/once")).status == 200);  // Connection: close, then close_notify
  CHECK(client.idle_connections() == 0);
  CHECK(service.connections_accepted() == 2);
}

TEST_CASE("https: an attempt past its timeout fails with timed_out, handshake included") {
  if (!have_openssl()) {
    return;
  }
  asio::io_context io;
  call_options options;
  options.timeout = 50ms;
  options.backoff = 1ms;
  SUBCASE("a server that never answers") {
    tls_fake_service service;
    service.on("/never", {.hold = true});
    http_client client(io.get_executor(), service.url(), statefun::asio::tls_client(trusting(test_certificates().ca)));
    CHECK(failure_of(io, client.get("/never", options)) == asio::error::timed_out);
    CHECK(client.idle_connections() == 0);
  }
  SUBCASE("a server that accepts but never says hello") {
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});  // never accepts
    http_client client(io.get_executor(), "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()),
                       statefun::asio::tls_client(trusting(test_certificates().ca)));
    options.retries = 1;
    CHECK(failure_of(io, client.get("/", options)) == asio::error::timed_out);
  }
}
