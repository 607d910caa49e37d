// The server against clients that are malformed, too big, too slow or too many: each gets the
// status that says why (or is closed), and the server goes on serving everyone else.

#include <statefun/asio/server.hpp>

#include <string>
#include <vector>

#include "asio/hostile_support.hpp"
#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/files.hpp"

using namespace std::chrono_literals;
using namespace std::string_literals;
using statefun::test::client;
using statefun::test::closed_within;
using statefun::test::running_server;
using statefun::test::runtime_post;
using statefun::test::w1;
using statefun::test::test_functions;

namespace {

struct refused_request {
  std::string name;
  std::string bytes;
  int status;
};

}  // namespace

TEST_CASE("server: malformed and hostile requests are refused with their status, then closed") {
  const std::string head = "POST /statefun HTTP/1.1\r\nHost: x\r\n";
  const std::vector<refused_request> rows = {
      {"not HTTP at all", "HELLO\r\n\r\n", 400},
      {"a space inside the method", "PO ST / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"bare LF line ends", "POST / HTTP/1.1\nHost: x\n\n", 400},
      {"a NUL in a field value", head + "X-A: a\0b\r\nContent-Length: 0\r\n\r\n"s, 400},
      {"whitespace before the colon", head + "Content-Length : 0\r\n\r\n", 400},
      {"obs-fold", head + "X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", 400},
      {"HTTP/1.1 without Host", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400},
      {"two Host fields", head + "Host: y\r\nContent-Length: 0\r\n\r\n", 400},
      {"Content-Length and Transfer-Encoding (smuggling)",
       head + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding and Content-Length (smuggling)",
       head + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400},
      {"two different Content-Length fields", head + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"a Content-Length list", head + "Content-Length: 1, 1\r\n\r\na", 400},
      {"a signed Content-Length", head + "Content-Length: +1\r\n\r\na", 400},
      {"an overflowing Content-Length", head + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
      {"a chunk size that is not hex", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"an overflowing chunk size", head + "Transfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", 400},
      {"chunk data without its CRLF", head + "Transfer-Encoding: chunked\r\n\r\n1\r\naXY0\r\n\r\n", 400},
      {"a transfer coding other than chunked", head + "Transfer-Encoding: gzip\r\n\r\n", 501},
      {"chunked twice", head + "Transfer-Encoding: chunked, chunked\r\n\r\n", 501},
      {"HTTP/2.0", "POST / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"an expectation other than 100-continue", head + "Expect: 200-ok\r\nContent-Length: 0\r\n\r\n", 417},
      {"a head larger than the limit", head + "X-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431},
      {"a head larger than the limit, still arriving", head + "X-Big: " + std::string(2000, 'a'), 431},
      {"a body larger than the limit, by Content-Length", head + "Content-Length: 5000\r\n\r\n", 413},
      {"a body larger than the limit, by chunks",
       head + "Transfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(0x800, 'a') + "\r\n800\r\n" +
           std::string(0x800, 'a') + "\r\n",
       413},
  };
  test_functions f;
  running_server server(f.fns, {.max_head_bytes = 1024, .max_body_bytes = 3000});
  for (const refused_request& row : rows) {
    CAPTURE(row.name);
    client c(server.port());
    c.send(row.bytes);
    const auto response = c.receive();
    CHECK(response.status == row.status);
    CHECK(response.connection == "close");
    CHECK(response.content_type == "text/plain; charset=utf-8");
    CHECK_FALSE(response.body.empty());  // the reason
    CHECK(c.closed_by_server());
  }
  client after(server.port());
  CHECK(after.exchange(runtime_post(w1())).status == 200);
}

TEST_CASE("server: a refused body is answered without waiting for it") {
  test_functions f;
  running_server server(f.fns, {.max_body_bytes = 1000});
  client c(server.port());
  // Only the head is sent: 413 must come back before any of the 1 GB.
  c.send("POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n");
  const auto response = c.receive();
  CHECK(response.status == 413);
  CHECK(c.closed_by_server());
}

TEST_CASE("server: slow and silent clients are closed at their deadline") {
  test_functions f;
  // Long enough that a loaded machine still sends the healthy requests in time.
  running_server server(f.fns, {.header_timeout = 500ms,
                                .body_timeout = 500ms,
                                .idle_timeout = 500ms,
                                .write_timeout = 500ms});
  SUBCASE("a connection that sends nothing") {
    client c(server.port());
    CHECK(c.closed_by_server());
  }
  SUBCASE("a head that never ends (slowloris)") {
    client c(server.port());
    c.send("POST /statefun HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    CHECK(c.closed_by_server());
  }
  SUBCASE("a body that never ends") {
    client c(server.port());
    c.send("POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b");
    CHECK(c.closed_by_server());
  }
  SUBCASE("an idle keep-alive connection") {
    client c(server.port());
    CHECK(c.exchange(runtime_post(w1())).status == 200);
    CHECK(c.closed_by_server());
  }
  client after(server.port());
  CHECK(after.exchange(runtime_post(w1())).status == 200);
}

TEST_CASE("server: connections beyond the limit are answered 503 and closed") {
  test_functions f;
  running_server server(f.fns, {.max_connections = 2});
  client first(server.port());
  client second(server.port());
  CHECK(first.exchange(runtime_post(w1())).status == 200);
  CHECK(second.exchange(runtime_post(w1())).status == 200);
  client third(server.port());
  const auto refused = third.receive();
  CHECK(refused.status == 503);
  CHECK(refused.connection == "close");
  CHECK(third.closed_by_server());
  CHECK(first.exchange(runtime_post(w1())).status == 200);
}

namespace {

/// A head for `body_size` bytes of W1, as the runtime sends it, and the body apart.
std::string head_for(std::size_t body_size) {
  const std::string whole = runtime_post(std::string(body_size, 'x'));
  return whole.substr(0, whole.size() - body_size);
}

}  // namespace

TEST_CASE("server: body_timeout shorter than header_timeout closes a trickling body whose head came in one write") {
  test_functions f;
  // header_timeout is a minute, body_timeout a tenth of a second, and the test waits at most
  // 20 s: only body_timeout can close the connection in time.
  running_server server(f.fns, {.header_timeout = 60s, .body_timeout = 100ms});
  const std::string body = w1();
  SUBCASE("the head alone in one write") {
    client c(server.port());
    c.send(head_for(body.size()));
    c.send(body.substr(0, 1));
    CHECK(closed_within(c.socket()));
  }
  SUBCASE("the head and the body's first bytes in one write") {
    client c(server.port());
    c.send(head_for(body.size()) + body.substr(0, 10));
    CHECK(closed_within(c.socket()));
  }
  client after(server.port());
  CHECK(after.exchange(runtime_post(w1())).status == 200);
}

TEST_CASE("server: body_timeout longer than header_timeout lets a body trickle in for longer than header_timeout") {
  test_functions f;
  running_server server(f.fns, {.header_timeout = 200ms, .body_timeout = 60s});
  const std::string body = w1();
  REQUIRE(body.size() > 4);
  client c(server.port());
  c.send(head_for(body.size()) + body.substr(0, 1));  // the head complete in one read
  // Each round lasts at least header_timeout: a second connection sends half a head, and the
  // server's closing it (its header_timeout) is the clock. Only then does the body go on.
  for (std::size_t i = 1; i <= 3; ++i) {
    CAPTURE(i);
    client slow(server.port());
    slow.send("POST /statefun HTTP/1.1\r\nHo");
    REQUIRE(closed_within(slow.socket()));
    c.send(body.substr(i, 1));
  }
  // More than twice header_timeout has passed since the head: only body_timeout applies.
  const auto response = c.exchange(body.substr(4));
  CHECK(response.status == 200);
  CHECK(response.body == statefun::test::expected_reply(f.fns, body));
}

TEST_CASE("server: a client that writes its whole refused request before reading reads the refusal") {
  test_functions f;
  running_server server(f.fns, {.max_body_bytes = 1000});
  const std::string big(4u << 20, 'x');
  SUBCASE("413: a 4 MiB body over a 1000-byte limit") {
    client c(server.port());
    // send() returns only once every byte is taken: the server must read what it refused.
    c.send("POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
    const auto response = c.receive();
    CHECK(response.status == 413);
    CHECK(c.closed_by_server());
  }
  SUBCASE("400: a malformed request line and 4 MiB after it") {
    client c(server.port());
    c.send("HELLO\r\n\r\n" + big);
    const auto response = c.receive();
    CHECK(response.status == 400);
    CHECK(c.closed_by_server());
  }
  SUBCASE("413, by chunks") {
    client c(server.port());
    c.send("POST /statefun HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400000\r\n" + big + "\r\n0\r\n\r\n");
    const auto response = c.receive();
    CHECK(response.status == 413);
    CHECK(c.closed_by_server());
  }
  client after(server.port());
  CHECK(after.exchange(runtime_post(w1())).status == 200);
}

TEST_CASE("server: the discarding after a refusal is bounded by linger_bytes") {
  test_functions f;
  // (linger_timeout long: only the byte bound can end the discarding while the test writes.)
  running_server server(f.fns, {.max_body_bytes = 1000, .linger_timeout = 60s, .linger_bytes = 64 * 1024});
  client c(server.port());
  c.send("POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n");
  CHECK(c.receive().status == 413);
  // The client goes on sending: past linger_bytes the server closes, and the writes fail.
  const std::string chunk(1 << 20, 'x');
  std::error_code error;
  for (int i = 0; i < 256 && !error; ++i) {
    ::asio::write(c.socket(), ::asio::buffer(chunk), error);
  }
  CHECK(error);
}
