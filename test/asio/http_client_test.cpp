#include <statefun/asio/http_client.hpp>

// This file is built into a binary that does not link OpenSSL (test/asio/meson.build): plain
// HTTP must not need it. Only <statefun/asio/tls.hpp> may bring it in.
#if defined(OPENSSL_VERSION_NUMBER) || defined(ASIO_SSL_HPP)
#error "<statefun/asio/http_client.hpp> includes OpenSSL"
#endif

#include <statefun/asio/async_run.hpp>
#include <statefun/sync_wait.hpp>
#include <statefun/task.hpp>
#include <statefun/when_all.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/error.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "asio/client_support.hpp"
#include "asio/fake_service.hpp"
#include "support/doctest.hpp"
#include "support/run_on.hpp"

// The service's behaviours are written with designated initializers, which g++ 12 warns about
// for every member left out: https://gcc.gnu.org/bugzilla/show_bug.cgi?id=96868
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace std::chrono_literals;
using statefun::asio::call_options;
using statefun::asio::http_client;
using statefun::asio::http_request;
using statefun::asio::http_response;
using statefun::test::behaviour;
using statefun::test::fake_service;
using statefun::test::run_on;
using statefun::test::failure_of;
using statefun::test::invalid_argument_of;
using statefun::test::get_n_times;
using statefun::test::quick;

namespace {

}  // namespace

TEST_CASE("http_client: a GET returns the status, the headers and the body, and sends Host") {
  fake_service service;
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  const http_response response = run_on(io, client.get("/hello?x=1"));
  CHECK(response.status == 200);
  CHECK(response.body == "GET /hello?x=1\n");
  CHECK(response.header("content-type") == "text/plain");  // any case
  CHECK(response.header("CONTENT-LENGTH") == std::to_string(response.body.size()));
  CHECK_FALSE(response.header("X-Absent"));
  const auto requests = service.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].header("Host") == "127.0.0.1:" + std::to_string(service.port()));
  CHECK_FALSE(requests[0].header("Content-Length"));  // a GET without a body says nothing
}

TEST_CASE("http_client: a POST sends its body, Content-Length and Content-Type") {
  fake_service service;
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  const http_response response = run_on(io, client.post("/score", R"({"merchant":"m1"})", "application/json"));
  CHECK(response.status == 200);
  CHECK(response.body == "POST /score\n{\"merchant\":\"m1\"}");
  const auto requests = service.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].header("Content-Type") == "application/json");
  CHECK(requests[0].header("Content-Length") == "17");
}

TEST_CASE("http_client: request() sends the method and the caller's header fields") {
  fake_service service;
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  http_request request;
  request.method = "PUT";
  request.target = "/items/7";
  request.headers = {{"X-Trace", "abc"}, {"Host", "score.example"}};
  request.body = "seven";
  const http_response response = run_on(io, client.request(request, quick()));
  CHECK(response.body == "PUT /items/7\nseven");
  const auto requests = service.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].header("X-Trace") == "abc");
  CHECK(requests[0].header("Host") == "score.example");  // the caller's, not a second one
}

TEST_CASE("http_client: sequential calls reuse one keep-alive connection") {
  fake_service service;
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  const auto responses = run_on(io, get_n_times(client, "/again", 3));
  REQUIRE(responses.size() == 3);
  for (const http_response& response : responses) {
    CHECK(response.status == 200);
  }
  CHECK(service.connections_accepted() == 1);
  CHECK(service.requests_answered() == 3);
  CHECK(client.idle_connections() == 1);
}

TEST_CASE("http_client: a pooled connection the server has closed is replaced without a retry") {
  fake_service service;
  service.on("/bye", {.close_after_answer = true});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  CHECK(run_on(io, client.get("/bye")).status == 200);
  CHECK(client.idle_connections() == 1);  // nothing said it would close
  REQUIRE(service.wait_for_closed(1));    // ...but now it has
  CHECK(run_on(io, client.get("/next", quick(0))).status == 200);  // retries = 0: transparent
  CHECK(service.connections_accepted() == 2);
  CHECK(service.requests_answered() == 2);
}

TEST_CASE("http_client: a chunked response is de-chunked, and its connection reused") {
  fake_service service;
  service.on("/chunked", {.body = "hello, chunked world", .chunked = true});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  const auto responses = run_on(io, get_n_times(client, "/chunked", 2));
  CHECK(responses.at(0).body == "hello, chunked world");
  CHECK(responses.at(1).body == "hello, chunked world");
  CHECK(responses.at(0).header("Transfer-Encoding") == "chunked");
  CHECK(service.connections_accepted() == 1);
}

TEST_CASE("http_client: a close-delimited response ends when the server closes") {
  fake_service service;
  service.on("/until-close", {.body = "all of it", .close_delimited = true});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  CHECK(run_on(io, client.get("/until-close")).body == "all of it");
  CHECK(client.idle_connections() == 0);
  CHECK(run_on(io, client.get("/until-close")).body == "all of it");
  CHECK(service.connections_accepted() == 2);
}

TEST_CASE("http_client: a response with Connection: close keeps its connection out of the pool") {
  fake_service service;
  service.on("/once", {.connection_close = true});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  CHECK(run_on(io, client.get("/once")).status == 200);
  CHECK(client.idle_connections() == 0);
  CHECK(run_on(io, client.get("/once")).status == 200);
  CHECK(service.connections_accepted() == 2);
}

TEST_CASE("http_client: interim responses are skipped, and a HEAD response has no body") {
  fake_service service;
  service.on("/continue", {.body = "final", .interim = true});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  CHECK(run_on(io, client.get("/continue")).body == "final");
  http_request head;
  head.method = "HEAD";
  head.target = "/continue";
  const http_response response = run_on(io, client.request(head));
  CHECK(response.status == 200);
  CHECK(response.header("Content-Length") == "5");
  CHECK(response.body.empty());
  CHECK(run_on(io, client.get("/continue")).body == "final");  // the connection is still in step
  CHECK(service.connections_accepted() == 1);
}

TEST_CASE("http_client: 503, 503, then 200 with retries = 2 returns the 200") {
  fake_service service;
  service.on("/flaky", {.unavailable_first = 2});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  const http_response response = run_on(io, client.get("/flaky", quick(2)));
  CHECK(response.status == 200);
  CHECK(service.requests_answered() == 3);
  CHECK(service.connections_accepted() == 1);  // a 503 keeps the connection
}

TEST_CASE("http_client: when retries run out, the last 5xx response is returned") {
  fake_service service;
  service.on("/down", {.unavailable_first = 100});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  SUBCASE("after every retry") {
    CHECK(run_on(io, client.get("/down", quick(2))).status == 503);
    CHECK(service.requests_answered() == 3);
  }
  SUBCASE("at once when retry_on_5xx is off") {
    call_options options = quick(2);
    options.retry_on_5xx = false;
    CHECK(run_on(io, client.get("/down", options)).status == 503);
    CHECK(service.requests_answered() == 1);
  }
}

TEST_CASE("http_client: a 4xx response is returned, not retried") {
  fake_service service;
  service.on("/missing", {.status = 404, .body = "no such thing"});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  const http_response response = run_on(io, client.get("/missing", quick(3)));
  CHECK(response.status == 404);
  CHECK(response.body == "no such thing");
  CHECK(service.requests_answered() == 1);
}

TEST_CASE("http_client: a connection closed without an answer is an I/O error, and retried") {
  fake_service service;
  service.on("/drop", {.drop_first = 1});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  SUBCASE("retried") {
    CHECK(run_on(io, client.get("/drop", quick(1))).status == 200);
    CHECK(service.requests_received() == 2);
  }
  SUBCASE("thrown when no retry is left") {
    CHECK(failure_of(io, client.get("/drop", quick(0))) == asio::error::eof);
    CHECK(service.requests_received() == 1);
  }
}

TEST_CASE("http_client: a response that does not parse throws protocol_error, without a retry") {
  fake_service service;
  service.on("/garbage", {.raw = "HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n"});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  try {
    run_on(io, client.get("/garbage", quick(2)));
    FAIL("a malformed response must throw");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::protocol_error);
    CHECK(std::string_view(e.what()).find("Content-Length") != std::string_view::npos);
    CHECK(std::string_view(e.what()).find("GET http://127.0.0.1:") != std::string_view::npos);
  }
  CHECK(service.requests_received() == 1);
}

TEST_CASE("http_client: connecting to a closed port throws connection_refused after the retries") {
  asio::io_context io;
  asio::ip::tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string url = "http://127.0.0.1:" + std::to_string(closed.local_endpoint().port());
  closed.close();
  http_client client(io.get_executor(), url);
  CHECK(failure_of(io, client.get("/", quick(2))) == asio::error::connection_refused);
}

TEST_CASE("http_client: a host name is resolved") {
  fake_service service;
  asio::io_context io;
  http_client client(io.get_executor(), "http://localhost:" + std::to_string(service.port()));
  CHECK(run_on(io, client.get("/named")).status == 200);
  CHECK(service.requests()[0].header("Host") == "localhost:" + std::to_string(service.port()));
}

TEST_CASE("http_client: an attempt past its timeout fails with timed_out, and is retried") {
  fake_service service;
  service.on("/never", {.hold = true});  // released by no one
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  call_options options;
  options.timeout = 50ms;
  options.retries = 1;
  options.backoff = 1ms;
  CHECK(failure_of(io, client.get("/never", options)) == asio::error::timed_out);
  CHECK(service.wait_for_requests(2));  // both attempts reached the service
  CHECK(service.requests_answered() == 0);
  CHECK(service.connections_accepted() == 2);  // a timed-out connection is not reused
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("http_client: a cancelled call throws operation_aborted and is not retried") {
  fake_service service;
  service.on("/held", {.hold = true});
  asio::io_context io;
  asio::cancellation_signal cancel;
  // Cancel once the request is at the service: the client is then sending it or awaiting the
  // answer. The signal belongs to the client's event loop, so emit it there.
  service.on_request([&](const statefun::test::received_request&) {
    asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
  });
  http_client client(io.get_executor(), service.url());
  std::exception_ptr error;
  bool finished = false;
  statefun::asio::async_run(io.get_executor(), client.get("/held", quick(3)),
                            asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, http_response) {
                              error = e;
                              finished = true;
                            }));
  io.run();
  REQUIRE(finished);
  REQUIRE(error);
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    CHECK(e.code() == asio::error::operation_aborted);
  }
  CHECK(service.requests_received() == 1);
  CHECK(service.connections_accepted() == 1);
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("http_client: when_all runs two calls at once, on two connections") {
  fake_service service;
  // Each request is held until both are: a client that sent them one after the other would
  // wait forever for its first answer (until the hang guard's timeout).
  service.on("/slow", {.hold = true, .release_when_holding = 2});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  const auto [a, b] = run_on(io, statefun::when_all(client.get("/slow", quick()), client.get("/slow", quick())));
  CHECK(a.status == 200);
  CHECK(b.status == 200);
  CHECK(service.most_held() == 2);  // both arrived before either was answered
  CHECK(service.connections_accepted() == 2);
  CHECK(client.idle_connections() == 2);
}

TEST_CASE("http_client: a pooled connection is only reused on the executor it was opened on") {
  fake_service service;
  asio::io_context first;
  asio::io_context second;
  http_client client(first.get_executor(), service.url());
  CHECK(run_on(first, client.get("/")).status == 200);
  CHECK(run_on(second, client.get("/")).status == 200);  // not first's connection
  CHECK(service.connections_accepted() == 2);
  CHECK(run_on(first, client.get("/")).status == 200);
  CHECK(run_on(second, client.get("/")).status == 200);
  CHECK(service.connections_accepted() == 2);  // each reused its own
}

TEST_CASE("http_client: outside a task, a call runs on the client's executor") {
  fake_service service;
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });
  http_client client(io.get_executor(), service.url());
  CHECK(statefun::sync_wait(client.get("/plain")).body == "GET /plain\n");
  work.reset();
  loop.join();
}

TEST_CASE("http_client: bad base URLs are refused at construction, https without TLS by name") {
  asio::io_context io;
  const auto refusal = [&](std::string_view url) {
    return invalid_argument_of([&] { http_client(io.get_executor(), url); });
  };
  for (const std::string_view url : {"https://example.com", "HTTPS://example.com:8443/"}) {
    CAPTURE(url);
    const std::string message = refusal(url);
    CHECK(message.find(std::string(url)) != std::string::npos);
    CHECK(message.find("#include <statefun/asio/tls.hpp>") != std::string::npos);
    CHECK(message.find("tls_client(") != std::string::npos);
  }
  // An empty connector is no TLS either.
  CHECK_FALSE(invalid_argument_of([&] {
                http_client(io.get_executor(), "https://example.com", statefun::asio::client_connector{});
              }).empty());
  CHECK(refusal("ftp://example.com").find("http") != std::string::npos);
  for (const std::string_view url : {"example.com", "http://", "http://:80", "http://host:0", "http://host:65536",
                                     "http://host:8x", "http://host/path", "http://user@host", "http://[::1",
                                     "http://[zz]", "http://ho st"}) {
    CAPTURE(url);
    CHECK(refusal(url).find(std::string(url)) != std::string::npos);  // the message names it
  }
  for (const std::string_view url : {"http://localhost", "http://127.0.0.1:8080/", "HTTP://[::1]:9000", "http://a-b.c_d"}) {
    CAPTURE(url);
    CHECK(refusal(url).empty());
  }
}

TEST_CASE("http_client: a request that could smuggle bytes is refused at the call") {
  asio::io_context io;
  http_client client(io.get_executor(), "http://127.0.0.1:1");
  const auto refusal = [&](http_request request) {
    return invalid_argument_of([&] { (void)client.request(std::move(request)); });
  };
  CHECK_FALSE(refusal({"GET", "/", {{"X-A", "b\r\nX-Injected: 1"}}, {}}).empty());
  CHECK_FALSE(refusal({"GET", "/", {{"Bad Name", "v"}}, {}}).empty());
  CHECK_FALSE(refusal({"GET", "/a b", {}, {}}).empty());
  CHECK_FALSE(refusal({"GET", "relative", {}, {}}).empty());
  CHECK_FALSE(refusal({"G T", "/", {}, {}}).empty());
  CHECK_FALSE(refusal({"POST", "/", {{"Content-Length", "3"}}, "abc"}).empty());
  CHECK_FALSE(refusal({"POST", "/", {{"transfer-encoding", "chunked"}}, "abc"}).empty());
  CHECK(refusal({"GET", "/ok", {{"X-A", "b"}}, {}}).empty());
}
