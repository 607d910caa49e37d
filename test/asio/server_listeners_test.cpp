// Where the server listens: TCP over IPv4 and IPv6 (and both at once), Unix domain sockets as
// the runtime's OkHttp transport reaches them (docs/runtime_rules.md 1.8), and several listeners of all
// kinds on one server.

#include <statefun/asio/server.hpp>

#include <statefun/asio/tls.hpp>
#include <statefun/statefun.hpp>

#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include "asio/certificates.hpp"
#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

using statefun::asio::http_server;
using statefun::test::client;
using statefun::test::expected_reply;
using statefun::test::running_server;
using statefun::test::runtime_post;
using statefun::test::temp_dir;
using statefun::test::test_functions;
using statefun::test::w1;

namespace {

using tcp = ::asio::ip::tcp;
using unix_socket = ::asio::local::stream_protocol;
namespace fs = std::filesystem;

/// Checks that one exchange on `c` is W1's answer.
template <class Socket>
void check_serves_w1(client<Socket>& c, const statefun::functions& fns) {
  const auto response = c.exchange(runtime_post(w1()));
  CHECK(response.status == 200);
  CHECK(response.content_type == "application/octet-stream");
  CHECK(response.body == expected_reply(fns, w1()));
}

/// Whether this machine can bind the IPv6 loopback address (containers may have no IPv6).
bool has_ipv6_loopback() {
  ::asio::io_context io;
  tcp::acceptor probe(io);
  std::error_code error;
  probe.open(tcp::v6(), error);
  if (!error) {
    probe.bind({::asio::ip::make_address("::1"), 0}, error);
  }
  return !error;
}

tcp::endpoint at(const char* address, std::uint16_t port) {
  return {::asio::ip::make_address(address), port};
}

/// The permission bits of `path` (as stat(2) reports them), or -1 if it is not a socket.
int socket_mode(const std::string& path) {
  struct ::stat status {};
  if (::stat(path.c_str(), &status) != 0 || !S_ISSOCK(status.st_mode)) {
    return -1;
  }
  return static_cast<int>(status.st_mode & 07777);
}

/// The message of the std::system_error `f` throws, or "(no exception)".
template <class F>
std::string system_error_of(F f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.what();
  }
  return "(no exception)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("listeners: TCP on the IPv4 loopback serves, and listen returns the port bound") {
  test_functions f;
  std::uint16_t port = 0;
  running_server server(f.fns, {}, [&](http_server& s) { port = s.listen("127.0.0.1", 0); });
  REQUIRE(port != 0);
  client c(at("127.0.0.1", port));
  check_serves_w1(c, f.fns);
}

TEST_CASE("listeners: TCP on the IPv6 loopback serves") {
  if (!has_ipv6_loopback()) {
    MESSAGE("skipped: this machine has no IPv6 loopback");
    return;
  }
  test_functions f;
  std::uint16_t port = 0;
  running_server server(f.fns, {}, [&](http_server& s) { port = s.listen("::1", 0); });
  client c(at("::1", port));
  check_serves_w1(c, f.fns);
}

TEST_CASE("listeners: \"::\" serves IPv4 and IPv6 clients alike (dual stack)") {
  if (!has_ipv6_loopback()) {
    MESSAGE("skipped: this machine has no IPv6 loopback");
    return;
  }
  test_functions f;
  std::uint16_t port = 0;
  running_server server(f.fns, {}, [&](http_server& s) { port = s.listen("::", 0); });
  client v4(at("127.0.0.1", port));
  check_serves_w1(v4, f.fns);
  client v6(at("::1", port));
  check_serves_w1(v6, f.fns);
}

TEST_CASE("listeners: a port in use or a bad address fails at startup with std::system_error") {
  test_functions f;
  http_server first(f.fns);
  const std::uint16_t port = first.listen("127.0.0.1", 0);
  http_server second(f.fns);
  CHECK_THROWS_AS((void)second.listen("127.0.0.1", port), std::system_error);
  CHECK_THROWS_AS((void)second.listen("not an address", 0), std::system_error);
}

TEST_CASE("listeners: TCP startup errors name the address and port") {
  test_functions f;
  http_server first(f.fns);
  const std::uint16_t port = first.listen("127.0.0.1", 0);
  http_server second(f.fns);
  const std::string in_use = system_error_of([&] { (void)second.listen("127.0.0.1", port); });
  CHECK_MESSAGE(contains(in_use, std::to_string(port)), in_use);
  const std::string bad = system_error_of([&] { (void)second.listen("not an address", 0); });
  CHECK_MESSAGE(contains(bad, "not an address"), bad);
}

TEST_CASE("listeners: Unix socket startup errors name the path") {
  test_functions f;
  const temp_dir dir;
  http_server server(f.fns);
  SUBCASE("a directory that does not exist") {
    const std::string path = dir / "absent/x.sock";
    const std::string error = system_error_of([&] { server.listen_unix(path); });
    CHECK_MESSAGE(contains(error, path), error);
  }
  SUBCASE("a path a live server listens on") {
    const std::string path = dir / "x.sock";
    http_server live(f.fns);
    live.listen_unix(path);
    const std::string error = system_error_of([&] { server.listen_unix(path); });
    CHECK_MESSAGE(contains(error, path), error);
  }
}

TEST_CASE("listeners: a Unix socket path too long for a socket address fails, naming the path") {
  test_functions f;
  const temp_dir dir;
  http_server server(f.fns);
  const std::string path = dir / (std::string(200, 'x') + ".sock");
  const std::string error = system_error_of([&] { server.listen_unix(path); });
  CHECK_MESSAGE(contains(error, path), error);
}

TEST_CASE("listeners: a Unix socket serves") {
  test_functions f;
  const temp_dir dir;
  const std::string path = dir / "x.sock";
  running_server server(f.fns, {}, [&](http_server& s) { s.listen_unix(path); });
  client<unix_socket::socket> c{unix_socket::endpoint(path)};
  check_serves_w1(c, f.fns);
  check_serves_w1(c, f.fns);  // keep-alive
}

TEST_CASE("listeners: the Unix socket file has exactly the mode asked for") {
  test_functions f;
  const temp_dir dir;
  const std::string path = dir / "x.sock";
  int mode = 0;
  std::optional<fs::perms> asked;
  SUBCASE("the default: owner and group read and write") {
    mode = 0660;
  }
  SUBCASE("owner only") {
    mode = 0600;
    asked = fs::perms::owner_read | fs::perms::owner_write;
  }
  SUBCASE("everyone (wider than the creation umask)") {
    mode = 0666;
    asked = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
            fs::perms::group_write | fs::perms::others_read | fs::perms::others_write;
  }
  http_server server(f.fns);
  if (asked) {
    server.listen_unix(path, *asked);
  } else {
    server.listen_unix(path);
  }
  CHECK(socket_mode(path) == mode);
}

TEST_CASE("listeners: a stale Unix socket file, left by a server that is gone, is replaced") {
  test_functions f;
  const temp_dir dir;
  const std::string path = dir / "x.sock";
  {
    // A server that died without unlinking: bound, then closed, the file left behind.
    ::asio::io_context io;
    unix_socket::acceptor gone(io);
    gone.open(unix_socket());
    gone.bind(unix_socket::endpoint(path));
    gone.listen();
    gone.close();
  }
  REQUIRE(fs::is_socket(path));
  running_server server(f.fns, {}, [&](http_server& s) { s.listen_unix(path); });
  client<unix_socket::socket> c{unix_socket::endpoint(path)};
  check_serves_w1(c, f.fns);
}

TEST_CASE("listeners: a Unix socket path a live server listens on is refused with std::system_error") {
  test_functions f;
  const temp_dir dir;
  const std::string path = dir / "x.sock";
  running_server live(f.fns, {}, [&](http_server& s) { s.listen_unix(path); });
  {
    http_server second(f.fns);
    CHECK_THROWS_AS(second.listen_unix(path), std::system_error);
  }
  // Neither the refusal nor the refused server's end took the live server's file away.
  REQUIRE(fs::is_socket(path));
  client<unix_socket::socket> c{unix_socket::endpoint(path)};
  check_serves_w1(c, f.fns);
}

TEST_CASE("listeners: a Unix socket path held by a file that is not a socket is refused and left alone") {
  test_functions f;
  const temp_dir dir;
  const std::string path = dir.write("x.sock", "not a socket");
  http_server server(f.fns);
  CHECK_THROWS_AS(server.listen_unix(path), std::system_error);
  CHECK(statefun::test::read_file(path) == "not a socket");
}

TEST_CASE("listeners: the Unix socket file is removed when the server is destroyed") {
  test_functions f;
  const temp_dir dir;
  const std::string path = dir / "x.sock";
  {
    running_server server(f.fns, {}, [&](http_server& s) { s.listen_unix(path); });
    client<unix_socket::socket> c{unix_socket::endpoint(path)};
    check_serves_w1(c, f.fns);
    CHECK(fs::is_socket(path));
  }
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("listeners: a path mangled as OkHttp's Unix socket transport does it is served by default") {
  // OkHttp builds the URL http://unused/ plus the endpoint's path as one encoded segment.
  test_functions f;
  const temp_dir dir;
  const std::string path = dir / "x.sock";
  running_server server(f.fns, {}, [&](http_server& s) { s.listen_unix(path); });
  client<unix_socket::socket> c{unix_socket::endpoint(path)};
  for (const std::string target : {"/%2Fstatefun", "/%2F"}) {
    CAPTURE(target);
    const std::string body = w1();
    const auto response = c.exchange("POST " + target +
                                     " HTTP/1.1\r\n"
                                     "Content-Type: application/octet-stream\r\n"
                                     "Content-Length: " +
                                     std::to_string(body.size()) +
                                     "\r\n"
                                     "Host: unused\r\n"
                                     "Connection: Keep-Alive\r\n"
                                     "Accept-Encoding: gzip\r\n"
                                     "User-Agent: okhttp/3.14.6\r\n"
                                     "\r\n" +
                                     body);
    CHECK(response.status == 200);
    CHECK(response.content_type == "application/octet-stream");
    CHECK(response.body == expected_reply(f.fns, body));
  }
}

TEST_CASE("listeners: one server answers on TCP, a Unix socket and TLS at once") {
  test_functions f;
  const temp_dir dir;
  const std::string path = dir / "x.sock";
  const bool tls = !statefun::test::openssl_program().empty();
  if (!tls) {
    MESSAGE("no openssl command to make certificates with: TCP and Unix only");
  }
  std::uint16_t tcp_port = 0;
  std::uint16_t tls_port = 0;
  running_server server(f.fns, {}, [&](http_server& s) {
    tcp_port = s.listen("127.0.0.1", 0);
    s.listen_unix(path);
    if (tls) {
      const auto& certs = statefun::test::test_certificates();
      tls_port = statefun::asio::listen_tls(
          s, "127.0.0.1", 0, {.certificate_chain = certs.server_cert,
           .private_key = certs.server_key,
           .private_key_password = {},
           .client_ca = {}});
    }
  });
  client on_tcp(at("127.0.0.1", tcp_port));
  client<unix_socket::socket> on_unix{unix_socket::endpoint(path)};
  // Interleaved, each connection kept open: all three listeners at work together.
  for (int round = 0; round < 2; ++round) {
    check_serves_w1(on_tcp, f.fns);
    check_serves_w1(on_unix, f.fns);
    if (tls) {
      statefun::test::tls_client on_tls(tls_port, statefun::test::test_certificates().ca);
      const auto response = on_tls.exchange(runtime_post(w1()));
      CHECK(response.status == 200);
      CHECK(response.body == expected_reply(f.fns, w1()));
    }
  }
}
