// The server against real processes: curl sending requests exactly as the runtime does (plain
// HTTP, a Unix socket, TLS and mutual TLS, a chunked body, Expect: 100-continue), and the
// server as a program of its own (test_server.cpp) stopped by SIGTERM and SIGINT as an
// orchestrator stops it.

#include <statefun/asio/server.hpp>

#include <statefun/asio/tls.hpp>
#include <statefun/statefun.hpp>

#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "asio/certificates.hpp"
#include "asio/hostile_support.hpp"
#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/requests.hpp"

#ifndef STATEFUN_TEST_CURL
#error "the build passes STATEFUN_TEST_CURL, the path of the curl command (empty if none)"
#endif
#ifndef STATEFUN_TEST_SERVER
#error "the build passes STATEFUN_TEST_SERVER, the path of the test_server program"
#endif

using namespace std::chrono_literals;
using statefun::asio::http_server;
using statefun::test::client;
using statefun::test::exit_status;
using statefun::test::expected_reply;
using statefun::test::have_openssl;
using statefun::test::running_server;
using statefun::test::runtime_post;
using statefun::test::temp_dir;
using statefun::test::test_certificates;
using statefun::test::test_functions;
using statefun::test::w1;

namespace {

using tcp = ::asio::ip::tcp;

bool have_curl() {
  if (std::string_view(STATEFUN_TEST_CURL).empty()) {
    MESSAGE("skipped: the build found no curl command");
    return false;
  }
  return true;
}

/// What curl received: every response head (100 Continue included) and the final body.
struct curl_result {
  std::vector<std::string> status_lines;
  std::vector<std::pair<std::string, std::string>> headers;  ///< of the final response
  std::string body;

  /// How many fields of the final response are named `name` (case-insensitively).
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& field : headers) {
      n += same_name(field.first, name) ? 1 : 0;
    }
    return n;
  }

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [field, value] : headers) {
      if (same_name(field, name)) {
        return value;
      }
    }
    return std::nullopt;
  }

  static bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  }
};

/// Parses what `curl -D` wrote: one head per response, each a status line and fields.
curl_result parse_heads(const std::string& text, std::string body) {
  curl_result result;
  result.body = std::move(body);
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find("\r\n", at);
    if (end == std::string::npos) {
      end = text.size();
    }
    const std::string line = text.substr(at, end - at);
    at = end + 2;
    if (line.starts_with("HTTP/")) {
      result.status_lines.push_back(line);
      result.headers.clear();
    } else if (const auto colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      result.headers.emplace_back(line.substr(0, colon), value);
    }
  }
  return result;
}

/**
 * POSTs `body` to `url` with curl as the runtime's async transport does, plus `extra` options.
 * @return What it received; nullopt (with curl's complaint as a MESSAGE) when curl failed.
 */
std::optional<curl_result> curl_post(const temp_dir& dir, const std::string& body,
                                     const std::string& url, const std::vector<std::string>& extra = {}) {
  const std::string request = dir.write("request.bin", body);
  const std::string heads = dir / "heads.txt";
  const std::string reply = dir / "reply.bin";
  std::filesystem::remove(heads);
  std::filesystem::remove(reply);
  std::vector<std::string> args = {STATEFUN_TEST_CURL, "-sS", "--http1.1", "--max-time", "60",
                                   "-X", "POST",
                                   "-H", "Content-Type: application/octet-stream",
                                   "-H", "Accept: application/octet-stream",
                                   "--data-binary", "@" + request,
                                   "-D", heads, "-o", reply};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  const statefun::test::run_result result = statefun::test::run(args);
  if (result.status != exit_status::exited_with(0)) {
    MESSAGE("curl ", result.status, ": ", result.err);
    return std::nullopt;
  }
  return parse_heads(statefun::test::read_file(heads),
                     std::filesystem::exists(reply) ? statefun::test::read_file(reply) : std::string());
}

/// Checks the response as the runtime does (docs/runtime_rules.md 1.3), and its body.
void check_runtime_accepts(const std::optional<curl_result>& r, const std::string& expected) {
  REQUIRE(r);
  REQUIRE_FALSE(r->status_lines.empty());
  CHECK(r->status_lines.back().starts_with("HTTP/1.1 200"));
  CHECK(r->count("Content-Type") == 1);
  CHECK(r->header("Content-Type") == "application/octet-stream");
  CHECK(r->count("Content-Length") == 1);
  CHECK(r->header("Content-Length") == std::to_string(r->body.size()));
  CHECK(r->body == expected);
}

/// A ToFunction bigger than 1 MiB: W1's counter with a large state it does not declare.
std::string big_request() {
  return statefun::test::request("bench", "counter", "big")
      .state("count", std::int32_t{41})
      .state("padding", std::string(1536 * 1024, 'x'))
      .invoke(std::int32_t{1})
      .bytes();
}

std::string url(std::uint16_t port, std::string_view scheme = "http", std::string_view host = "127.0.0.1") {
  return std::string(scheme) + "://" + std::string(host) + ":" + std::to_string(port) + "/statefun";
}

/// curl options for https://localhost:`port`: trust our CA, resolve localhost to 127.0.0.1.
std::vector<std::string> https_options(std::uint16_t port) {
  return {"--cacert", test_certificates().ca, "--resolve", "localhost:" + std::to_string(port) + ":127.0.0.1"};
}

/// The port or path of a "listening on ..." line of test_server.
std::string listening_where(const std::string& line) {
  return line.substr(std::string_view("listening on ").size());
}

std::uint16_t port_of(const std::string& line) {
  return static_cast<std::uint16_t>(std::stoul(listening_where(line)));
}

/// A test/slow request: test_server prints "started", then waits `milliseconds`.
std::string slow_request(std::int32_t milliseconds) {
  return statefun::test::request("test", "slow", "a").empty_state("count").invoke(milliseconds).bytes();
}

}  // namespace

TEST_CASE("curl: a POST exactly as the runtime sends it gets the FromFunction, framed as the runtime wants") {
  if (!have_curl()) {
    return;
  }
  test_functions f;
  running_server server(f.fns);
  const temp_dir dir;
  check_runtime_accepts(curl_post(dir, w1(), url(server.port())), expected_reply(f.fns, w1()));
}

TEST_CASE("curl: a POST over a Unix socket (--unix-socket)") {
  if (!have_curl()) {
    return;
  }
  test_functions f;
  const temp_dir dir;
  const std::string path = dir / "x.sock";
  running_server server(f.fns, {}, [&](http_server& s) { s.listen_unix(path); });
  check_runtime_accepts(curl_post(dir, w1(), "http://localhost/statefun", {"--unix-socket", path}),
                        expected_reply(f.fns, w1()));
}

TEST_CASE("curl: a POST over https, the server checked against the CA with --cacert") {
  if (!have_curl() || !have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  test_functions f;
  std::uint16_t port = 0;
  running_server server(f.fns, {}, [&](http_server& s) {
    port = statefun::asio::listen_tls(s, "127.0.0.1", 0,
                                      {.certificate_chain = certs.server_cert,
                                       .private_key = certs.server_key,
                                       .private_key_password = {},
                                       .client_ca = {}});
  });
  const temp_dir dir;
  SUBCASE("W1") {
    check_runtime_accepts(curl_post(dir, w1(), url(port, "https", "localhost"), https_options(port)),
                          expected_reply(f.fns, w1()));
  }
  SUBCASE("a body over 1 MiB") {
    const std::string body = big_request();
    check_runtime_accepts(curl_post(dir, body, url(port, "https", "localhost"), https_options(port)),
                          expected_reply(f.fns, body));
  }
}

TEST_CASE("curl: mutual TLS with --cert and --key is served; without a certificate curl is refused") {
  if (!have_curl() || !have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  test_functions f;
  std::uint16_t port = 0;
  running_server server(f.fns, {}, [&](http_server& s) {
    port = statefun::asio::listen_tls(s, "127.0.0.1", 0,
                                      {.certificate_chain = certs.server_cert,
                                       .private_key = certs.server_key,
                                       .private_key_password = {},
                                       .client_ca = certs.ca});
  });
  const temp_dir dir;
  std::vector<std::string> with_certificate = https_options(port);
  with_certificate.insert(with_certificate.end(), {"--cert", certs.client_cert, "--key", certs.client_key});
  check_runtime_accepts(curl_post(dir, w1(), url(port, "https", "localhost"), with_certificate),
                        expected_reply(f.fns, w1()));
  CHECK_FALSE(curl_post(dir, w1(), url(port, "https", "localhost"), https_options(port)));
  check_runtime_accepts(curl_post(dir, w1(), url(port, "https", "localhost"), with_certificate),
                        expected_reply(f.fns, w1()));
}

TEST_CASE("curl: a chunked request body (Transfer-Encoding: chunked)") {
  if (!have_curl()) {
    return;
  }
  test_functions f;
  running_server server(f.fns);
  const temp_dir dir;
  check_runtime_accepts(curl_post(dir, w1(), url(server.port()), {"-H", "Transfer-Encoding: chunked"}),
                        expected_reply(f.fns, w1()));
}

TEST_CASE("curl: Expect: 100-continue on a body over 1 MiB gets 100 Continue, then the answer") {
  if (!have_curl()) {
    return;
  }
  test_functions f;
  running_server server(f.fns);
  const temp_dir dir;
  const std::string body = big_request();
  REQUIRE(body.size() > (1u << 20));
  const auto r = curl_post(dir, body, url(server.port()), {"-H", "Expect: 100-continue"});
  REQUIRE(r);
  REQUIRE(r->status_lines.size() == 2);
  CHECK(r->status_lines.front().starts_with("HTTP/1.1 100"));
  check_runtime_accepts(r, expected_reply(f.fns, body));
  CHECK(statefun::test::response(r->body).mutation_value<std::int32_t>(0) == 42);
}

TEST_CASE("test_server: SIGTERM while a request is in flight: it is answered (Connection: close), then the process exits 0") {
  statefun::test::child server({STATEFUN_TEST_SERVER, "--port", "0"});
  const std::uint16_t port = port_of(server.wait_for_line("listening on "));
  client c(port);
  c.send(runtime_post(slow_request(1000)));
  server.wait_for_line("started");  // the function now waits for a second
  server.signal(SIGTERM);

  const auto response = c.receive();
  const auto answered = std::chrono::steady_clock::now();
  CHECK(response.status == 200);
  CHECK(response.connection == "close");
  CHECK(statefun::test::response(response.body).mutation_value<std::int32_t>(0) == 1);
  CHECK(c.closed_by_server());

  CHECK(server.wait() == exit_status::exited_with(0));
  // Promptly: nothing was left to wait for (server_options::shutdown_timeout is 30 s).
  CHECK(std::chrono::steady_clock::now() - answered < 10s);

  ::asio::io_context io;
  tcp::socket late(io);
  std::error_code error;
  late.connect({::asio::ip::make_address("127.0.0.1"), port}, error);
  CHECK(error == ::asio::error::connection_refused);
}

TEST_CASE("test_server: SIGTERM while a request is in flight over TLS: it is answered, then the process exits 0") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  statefun::test::child server({STATEFUN_TEST_SERVER, "--tls", certs.server_cert, certs.server_key});
  const std::uint16_t port = port_of(server.wait_for_line("listening on "));
  statefun::test::tls_client c(port, certs.ca);
  c.send(runtime_post(slow_request(1000)));
  server.wait_for_line("started");
  server.signal(SIGTERM);

  const auto response = c.receive();
  CHECK(response.status == 200);
  CHECK(response.connection == "close");
  CHECK(statefun::test::response(response.body).mutation_value<std::int32_t>(0) == 1);
  CHECK(server.wait() == exit_status::exited_with(0));
}

TEST_CASE("test_server: SIGTERM with a drain delay: /readyz answers 503 while a POST is still served; a second SIGTERM closes the port and it exits 0") {
  statefun::test::piped_child server({STATEFUN_TEST_SERVER, "--port", "0", "--drain-delay", "3600000"});
  const std::uint16_t port = port_of(server.wait_for_line("listening on "));
  client before(port);
  CHECK(before.exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200);
  server.signal(SIGTERM);
  (void)server.wait_for_stderr("\"event\":\"server.stopping\"");  // the signal was handled
  client probe(port);
  CHECK(probe.exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n").status == 503);
  client c(port);
  test_functions f;
  const auto served = c.exchange(runtime_post(w1()));
  CHECK(served.body == expected_reply(f.fns, w1()));
  CHECK(served.connection == "close");
  server.signal(SIGTERM);  // ends the hour of delay
  CHECK(server.wait() == exit_status::exited_with(0));
  ::asio::io_context io;
  tcp::socket late(io);
  std::error_code error;
  late.connect({::asio::ip::make_address("127.0.0.1"), port}, error);
  CHECK(error == ::asio::error::connection_refused);
}

TEST_CASE("test_server: SIGINT with no traffic stops it with exit status 0") {
  statefun::test::child server({STATEFUN_TEST_SERVER, "--port", "0"});
  (void)server.wait_for_line("listening on ");
  server.signal(SIGINT);
  CHECK(server.wait() == exit_status::exited_with(0));
}

TEST_CASE("test_server: SIGTERM with an idle keep-alive connection open closes it and exits 0") {
  statefun::test::child server({STATEFUN_TEST_SERVER, "--port", "0"});
  const std::uint16_t port = port_of(server.wait_for_line("listening on "));
  test_functions f;
  client c(port);
  CHECK(c.exchange(runtime_post(w1())).body == expected_reply(f.fns, w1()));
  server.signal(SIGTERM);
  CHECK(c.closed_by_server());
  CHECK(server.wait() == exit_status::exited_with(0));
}

TEST_CASE("test_server: serves on TCP, a Unix socket and TLS as its arguments say, and removes its socket on exit") {
  if (!have_curl() || !have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  const temp_dir dir;
  const std::string path = dir / "server.sock";
  statefun::test::child server(
      {STATEFUN_TEST_SERVER, "--port", "0", "--unix", path, "--tls", certs.server_cert, certs.server_key});
  const std::uint16_t port = port_of(server.wait_for_line("listening on "));
  CHECK(listening_where(server.wait_for_line("listening on ")) == path);
  const std::uint16_t tls_port = port_of(server.wait_for_line("listening on "));

  test_functions f;
  const std::string expected = expected_reply(f.fns, w1());
  check_runtime_accepts(curl_post(dir, w1(), url(port)), expected);
  check_runtime_accepts(curl_post(dir, w1(), "http://localhost/statefun", {"--unix-socket", path}), expected);
  check_runtime_accepts(curl_post(dir, w1(), url(tls_port, "https", "localhost"), https_options(tls_port)),
                        expected);

  server.signal(SIGTERM);
  CHECK(server.wait() == exit_status::exited_with(0));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("test_server: a certificate it cannot use stops it at startup, with the file named") {
  if (!have_openssl()) {
    return;
  }
  const temp_dir dir;
  const std::string absent = dir / "absent.pem";
  const auto result = statefun::test::run(
      {STATEFUN_TEST_SERVER, "--tls", absent, test_certificates().server_key});
  CHECK(result.status == exit_status::exited_with(1));
  CHECK_MESSAGE(result.err.find(absent) != std::string::npos, result.err);
  CHECK(result.out.empty());
}

TEST_CASE("test_server: an encrypted key without its passphrase fails at startup, without a prompt") {
  if (!have_openssl()) {
    return;
  }
  const auto& certs = test_certificates();
  // (run() gives it no terminal, so a prompt goes to its stderr instead of blocking.)
  const auto result = statefun::test::run(
      {STATEFUN_TEST_SERVER, "--tls", certs.server_cert, certs.server_key_encrypted});
  CHECK(result.status == exit_status::exited_with(1));
  CHECK_MESSAGE(result.err.find(certs.server_key_encrypted) != std::string::npos, result.err);
  CHECK_MESSAGE(result.err.find("pass phrase") == std::string::npos, result.err);
}
