// The server with many clients at once, functions that wait, clients that leave mid-request,
// and graceful shutdown.

#include <statefun/asio/server.hpp>

#include <statefun/asio/async_run.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/http/response_parser.hpp>
#include <statefun/when_all.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/files.hpp"
#include "support/requests.hpp"
#include "support/run_on.hpp"

using namespace std::chrono_literals;
using statefun::task;
using statefun::asio::use_task;
using statefun::test::client;
using statefun::test::running_server;
using statefun::test::runtime_post;
using statefun::test::w1;
using statefun::test::test_functions;

namespace {

std::string gated_request() {
  return runtime_post(statefun::test::request("test", "gated", "g")
                          .state("count", std::int32_t{0})
                          .invoke(1)
                          .bytes());
}

/// One connection, one request, one response: its status.
task<int> exchange_async(asio::ip::tcp::endpoint server, std::string request) {
  asio::ip::tcp::socket socket(statefun::asio::current_executor());
  co_await socket.async_connect(server, use_task);
  co_await asio::async_write(socket, asio::buffer(request), use_task);
  statefun::http::response_parser parser;
  std::string buffer(4096, '\0');
  std::size_t received = 0;
  for (;;) {
    received += co_await socket.async_read_some(
        asio::buffer(buffer.data() + received, buffer.size() - received), use_task);
    const auto status = parser.parse(std::span(buffer.data(), received));
    if (status == statefun::http::parse_status::complete) {
      co_return parser.status_code();
    }
    REQUIRE(status == statefun::http::parse_status::need_more);
    if (received == buffer.size()) {
      buffer.resize(buffer.size() * 2);
    }
  }
}

/// Raises the open-file limit as far as allowed; returns how many clients the test may open.
std::size_t clients_allowed(std::size_t wanted) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  // Each client costs two descriptors in this process (its socket and the server's).
  return std::min<std::size_t>(wanted, (limit.rlim_cur - 64) / 2);
}

}  // namespace

TEST_CASE("server: thousands of concurrent connections, on one thread and on four") {
  const std::size_t clients = clients_allowed(2000);
  MESSAGE("concurrent clients: " << clients);
  for (const std::size_t threads : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(threads);
    test_functions f;
    running_server server(f.fns, {.threads = threads});
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server.port());
    std::vector<task<int>> exchanges;
    for (std::size_t i = 0; i < clients; ++i) {
      exchanges.push_back(exchange_async(endpoint, runtime_post(w1())));
    }
    asio::io_context io;
    const std::vector<int> statuses =
        statefun::test::run_on(io, statefun::when_all(std::move(exchanges)));
    CHECK(std::count(statuses.begin(), statuses.end(), 200) == static_cast<long>(clients));
  }
}

TEST_CASE("server: a function that waits does not hold up other connections") {
  statefun::test::current_gate = std::make_unique<statefun::test::gate>();
  auto& gate = *statefun::test::current_gate;
  test_functions f;
  running_server server(f.fns);
  client slow(server.port());
  slow.send(gated_request());
  REQUIRE(gate.arrived.wait());
  client fast(server.port());
  for (int i = 0; i < 3; ++i) {
    CHECK(fast.exchange(runtime_post(w1())).status == 200);  // while the slow one waits
  }
  gate.open(server.server().executor());
  const auto response = slow.receive();
  CHECK(response.status == 200);
}

TEST_CASE("server: when the runtime hangs up mid-request, the function is cancelled") {
  statefun::test::current_gate = std::make_unique<statefun::test::gate>();
  auto& gate = *statefun::test::current_gate;
  test_functions f;
  running_server server(f.fns);
  {
    client leaving(server.port());
    leaving.send(gated_request());
    REQUIRE(gate.arrived.wait());
  }  // closes the connection
  CHECK(gate.cancelled.wait());
  client after(server.port());
  CHECK(after.exchange(runtime_post(w1())).status == 200);
}

TEST_CASE("server: stop answers the request in flight, closes idle connections, then returns") {
  statefun::test::current_gate = std::make_unique<statefun::test::gate>();
  auto& gate = *statefun::test::current_gate;
  test_functions f;
  running_server server(f.fns);
  client idle(server.port());
  CHECK(idle.exchange(runtime_post(w1())).status == 200);
  client busy(server.port());
  busy.send(gated_request());
  REQUIRE(gate.arrived.wait());
  server.server().stop();
  gate.open(server.server().executor());
  const auto response = busy.receive();
  CHECK(response.status == 200);
  CHECK(response.connection == "close");
  CHECK(busy.closed_by_server());
  CHECK(idle.closed_by_server());
  std::error_code refused;
  asio::io_context io;
  asio::ip::tcp::socket probe(io);
  probe.connect({asio::ip::make_address("127.0.0.1"), server.port()}, refused);
  CHECK(refused == asio::error::connection_refused);
  server.stop();  // run() has returned
}

TEST_CASE("server: with drain_delay, stop turns readiness 503 at once while the server still accepts and serves; a second stop closes the listener and the request in flight finishes") {
  statefun::test::current_gate = std::make_unique<statefun::test::gate>();
  auto& gate = *statefun::test::current_gate;
  test_functions f;
  // Longer than any test: only the second stop can end it.
  running_server server(f.fns, {.path = "/statefun", .drain_delay = std::chrono::hours(1)});
  client busy(server.port());
  busy.send(gated_request());
  REQUIRE(gate.arrived.wait());
  {
    client probe(server.port());
    CHECK(probe.exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200);
  }
  client idle(server.port());
  CHECK(idle.exchange(runtime_post(w1())).status == 200);

  server.server().stop();  // as SIGTERM does
  {
    client probe(server.port());  // still accepted
    const auto ready = probe.exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(ready.status == 503);
    CHECK(ready.body == "draining\n");
    CHECK(ready.connection == "close");
    client live(server.port());
    CHECK(live.exchange("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n").status == 200);
  }
  // A POST on a connection opened before the stop, and one on a new connection: both served,
  // each told to reconnect (Connection: close) to wherever the traffic goes now.
  const auto on_old = idle.exchange(runtime_post(w1()));
  CHECK(on_old.status == 200);
  CHECK(on_old.connection == "close");
  CHECK(idle.closed_by_server());
  client fresh(server.port());
  const auto on_new = fresh.exchange(runtime_post(w1()));
  CHECK(on_new.status == 200);
  CHECK(on_new.connection == "close");

  server.server().stop();  // the second: ends the delay
  gate.open(server.server().executor());  // (posted after the stop's work, on the same thread)
  const auto response = busy.receive();
  CHECK(response.status == 200);
  CHECK(response.connection == "close");
  CHECK(busy.closed_by_server());
  std::error_code refused;
  asio::io_context io;
  asio::ip::tcp::socket late(io);
  late.connect({asio::ip::make_address("127.0.0.1"), server.port()}, refused);
  CHECK(refused == asio::error::connection_refused);
  server.stop();  // run() returns
  const auto stopping = server.sink().named("server.stopping");
  REQUIRE(stopping.size() == 1);
  CHECK(stopping[0].at("drain_delay_ms") == "3600000");
}

TEST_CASE("server: past the shutdown deadline, functions still running are cancelled") {
  statefun::test::current_gate = std::make_unique<statefun::test::gate>();
  auto& gate = *statefun::test::current_gate;
  test_functions f;
  running_server server(f.fns, {.shutdown_timeout = 50ms});
  client busy(server.port());
  busy.send(gated_request());
  REQUIRE(gate.arrived.wait());
  server.stop();  // returns once the deadline has cancelled the function
  CHECK(gate.cancelled.is_set());
  CHECK(busy.closed_by_server());
}
