// http_client over Unix domain sockets (docs/runtime_rules.md 1.8): `http+unix:///path/x.sock` and
// `https+unix://` (plain HTTP too) reach a service listening on a socket file, with the same
// pooling, reconnects, retries and timeouts as over TCP.

#include <statefun/asio/http_client.hpp>

#include <statefun/asio/server.hpp>
#include <statefun/statefun.hpp>

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

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
using statefun::test::run_on;
using statefun::test::failure_of;
using statefun::test::get_n_times;
using statefun::test::quick;
using statefun::test::temp_dir;
using statefun::test::unix_fake_service;
using unix_endpoint = asio::local::stream_protocol::endpoint;

namespace {

/// The message of the std::invalid_argument constructing a client for `url` throws, or "".
std::string refusal(std::string_view url) {
  asio::io_context io;
  try {
    http_client client(io.get_executor(), url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("http_client over a Unix socket: calls reuse one connection, and send Host: localhost") {
  const temp_dir dir;
  unix_fake_service service(unix_endpoint(dir / "service.sock"));
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  CHECK(service.url() == "http+unix://" + dir / "service.sock");

  const auto responses = run_on(io, get_n_times(client, "/hello?x=1", 3));
  REQUIRE(responses.size() == 3);
  for (const http_response& response : responses) {
    CHECK(response.status == 200);
    CHECK(response.body == "GET /hello?x=1\n");
  }
  CHECK(run_on(io, client.post("/statefun", "payload", "application/octet-stream")).body ==
        "POST /statefun\npayload");
  CHECK(service.connections_accepted() == 1);
  CHECK(client.idle_connections() == 1);
  const auto requests = service.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].target == "/hello?x=1");  // the target as given: the base URL is the socket
  CHECK(requests[0].header("Host") == "localhost");
  CHECK(requests[3].header("Content-Length") == "7");
}

TEST_CASE("http_client over a Unix socket: a pooled connection the server closed is replaced without a retry") {
  const temp_dir dir;
  unix_fake_service service(unix_endpoint(dir / "service.sock"));
  service.on("/bye", {.close_after_answer = true});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  CHECK(run_on(io, client.get("/bye")).status == 200);
  CHECK(client.idle_connections() == 1);
  REQUIRE(service.wait_for_closed(1));
  CHECK(run_on(io, client.get("/next", quick(0))).status == 200);  // retries = 0: transparent
  CHECK(service.connections_accepted() == 2);
  CHECK(service.requests_answered() == 2);
}

TEST_CASE("http_client over a Unix socket: failures are retried like TCP ones") {
  const temp_dir dir;
  unix_fake_service service(unix_endpoint(dir / "service.sock"));
  service.on("/drop", {.drop_first = 1});
  service.on("/flaky", {.unavailable_first = 2});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  SUBCASE("a connection closed without an answer") {
    CHECK(run_on(io, client.get("/drop", quick(1))).status == 200);
    CHECK(service.requests_received() == 2);
  }
  SUBCASE("the same, with no retry left, throws eof") {
    CHECK(failure_of(io, client.get("/drop", quick(0))) == asio::error::eof);
  }
  SUBCASE("503, 503, then 200 on one connection") {
    CHECK(run_on(io, client.get("/flaky", quick(2))).status == 200);
    CHECK(service.requests_answered() == 3);
    CHECK(service.connections_accepted() == 1);
  }
}

TEST_CASE("http_client over a Unix socket: close-delimited and chunked responses, and timeouts") {
  const temp_dir dir;
  unix_fake_service service(unix_endpoint(dir / "service.sock"));
  service.on("/until-close", {.body = "all of it", .close_delimited = true});
  service.on("/chunked", {.body = "hello, chunked world", .chunked = true});
  service.on("/never", {.hold = true});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  CHECK(run_on(io, client.get("/until-close")).body == "all of it");
  CHECK(client.idle_connections() == 0);
  CHECK(run_on(io, client.get("/chunked")).body == "hello, chunked world");
  CHECK(client.idle_connections() == 1);

  call_options options;
  options.timeout = 50ms;
  options.retries = 1;
  options.backoff = 1ms;
  CHECK(failure_of(io, client.get("/never", options)) == asio::error::timed_out);
  CHECK(service.wait_for_requests(4));  // both attempts reached the service
  CHECK(client.idle_connections() == 0);  // the reused one timed out too: none is pooled
}

TEST_CASE("http_client over a Unix socket: no listener is a connect error, after the retries") {
  const temp_dir dir;
  asio::io_context io;
  SUBCASE("no socket file") {
    http_client client(io.get_executor(), "http+unix://" + dir / "absent.sock");
    // (Asio's system category does not map to std::errc, so compare with ENOENT in it.)
    CHECK(failure_of(io, client.get("/", quick(2))) == std::error_code(ENOENT, asio::error::get_system_category()));
  }
  SUBCASE("a socket file nobody listens on") {
    {
      asio::local::stream_protocol::acceptor gone(io, unix_endpoint(dir / "gone.sock"));
    }  // closed; the file stays
    http_client client(io.get_executor(), "http+unix://" + dir / "gone.sock");
    CHECK(failure_of(io, client.get("/", quick(2))) == asio::error::connection_refused);
  }
}

TEST_CASE("http_client over a Unix socket: https+unix is plain HTTP, and the path is percent-decoded") {
  const temp_dir dir;
  unix_fake_service service(unix_endpoint(dir / "with space.sock"));
  asio::io_context io;
  for (const std::string& url : {"https+unix://" + dir / "with%20space.sock",
                                 "HTTP+UNIX://" + dir / "with%20space.sock/"}) {
    CAPTURE(url);
    http_client client(io.get_executor(), url);
    CHECK(run_on(io, client.get("/plain")).body == "GET /plain\n");
  }
}

TEST_CASE("http_client over a Unix socket: the runtime's POST to http_server's Unix listener") {
  const temp_dir dir;
  const std::string path = dir / "functions.sock";
  statefun::test::test_functions f;
  statefun::test::running_server server(f.fns, {}, [&](statefun::asio::http_server& s) { s.listen_unix(path); });
  asio::io_context io;
  http_client client(io.get_executor(), "http+unix://" + path);
  const std::string request = statefun::test::w1();
  auto handler = f.fns.handler();
  const auto expected = handler.handle_sync(request);
  REQUIRE(expected);
  for (int i = 0; i < 2; ++i) {
    const http_response response = run_on(io, client.post("/statefun", request, "application/octet-stream", quick()));
    CHECK(response.status == 200);
    CHECK(response.header("Content-Type") == "application/octet-stream");
    CHECK(response.body == *expected);
  }
  CHECK(server.server().connections() == 1);  // kept alive
}

TEST_CASE("http_client: Unix base URLs name the socket file, up to the first .sock segment") {
  for (const std::string_view url :
       {"http+unix://tmp/x.sock", "http+unix:/tmp/x.sock", "http+unix:///tmp/x", "http+unix:///",
        "http+unix:///tmp/x.sock/path", "http+unix:///tmp/x.sock?q=1", "http+unix:///tmp/x.sock#f",
        "http+unix:///tmp/bad%2.sock", "http+unix:///tmp/nul%00.sock"}) {
    CAPTURE(url);
    CHECK(refusal(url).find(std::string(url)) != std::string::npos);  // the message names it
  }
  CHECK(refusal("http+unix://tmp/x.sock").find("three slashes") != std::string::npos);
  CHECK(refusal("http+unix:///tmp/x").find(".sock") != std::string::npos);
  CHECK(refusal("http+unix:///" + std::string(200, 'a') + ".sock").find("too long") != std::string::npos);
  for (const std::string_view url : {"http+unix:///tmp/x.sock", "http+unix:///tmp/x.sock/", "https+unix:///x.sock",
                                     "Http+Unix:///a.sock.d/b.sock", "http+unix:///.sock"}) {
    CAPTURE(url);
    CHECK(refusal(url).empty());
  }
}
