// The server's metrics on real sockets: GET /metrics answers the Prometheus exposition, and
// what the test does over HTTP (requests, failures, refusals, timeouts, connections over the
// limit) is what the exposition counts.

#include <statefun/asio/server.hpp>
#include <statefun/asio/tls.hpp>
#include <statefun/metrics/prometheus.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "asio/certificates.hpp"
#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/exposition.hpp"
#include "support/requests.hpp"

using namespace std::chrono_literals;
using statefun::test::client;
using statefun::test::parse_exposition;
using statefun::test::running_server;
using statefun::test::runtime_post;
using statefun::test::test_functions;
using statefun::test::w1;

namespace {

/// A GET of `path`, as Prometheus sends it.
std::string scrape_request(std::string_view path = "/metrics") {
  return "GET " + std::string(path) +
         " HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n\r\n";
}

/// Scrapes `port` on a connection of its own and reads the exposition back.
statefun::test::exposition scrape(std::uint16_t port, std::string_view path = "/metrics") {
  client c(port);
  const auto response = c.exchange(scrape_request(path));
  REQUIRE(response.status == 200);
  CHECK(response.content_type == "text/plain; version=0.0.4; charset=utf-8");
  return parse_exposition(response.body);
}

/// test_functions observed by a Prometheus observer, which the server also gets.
struct metered {
  metered() { f.fns.observe(&metrics); }
  statefun::metrics::prometheus metrics;
  test_functions f;
};

}  // namespace

TEST_CASE("server metrics: GET /metrics counts the requests, invocations and failures sent over HTTP") {
  metered m;
  running_server server(m.f.fns, {.path = "/statefun", .observer = &m.metrics});
  constexpr int requests = 7;
  {
    client c(server.port());
    for (int i = 0; i < requests; ++i) {
      REQUIRE(c.exchange(runtime_post(w1())).status == 200);
    }
    const std::string throws = statefun::test::request("test", "throws", "1").invoke("x").bytes();
    CHECK(c.exchange(runtime_post(throws)).status == 500);
    CHECK(c.exchange(runtime_post(throws)).status == 500);
    CHECK(c.exchange("GET /statefun/x HTTP/1.1\r\nHost: x\r\n\r\n").status == 404);
  }
  const auto e = scrape(server.port());
  CHECK(e.at("statefun_function_batches_total{function_type=\"bench/counter\"}") == requests);
  CHECK(e.at("statefun_function_invocations_total{function_type=\"bench/counter\"}") == requests);
  CHECK(e.at("statefun_function_batch_duration_seconds_count{function_type=\"bench/counter\"}") == requests);
  CHECK(e.at("statefun_function_failures_total{function_type=\"test/throws\",kind=\"exception\"}") == 2);
  CHECK(e.at("statefun_server_responses_total{status=\"200\"}") == requests);
  CHECK(e.at("statefun_server_responses_total{status=\"500\"}") == 2);
  CHECK(e.at("statefun_server_responses_total{status=\"404\"}") == 1);
  CHECK(e.at("statefun_server_connections_accepted_total") == 2);  // the scrape's own included
  CHECK(e.at("statefun_server_received_bytes_total") > requests * static_cast<double>(w1().size()));
  CHECK(e.at("statefun_server_sent_bytes_total") > 0);
  CHECK(e.at("statefun_server_connections") >= 1);
}

TEST_CASE("server metrics: HEAD answers the head only, other methods 405, and the path is configurable") {
  metered m;
  running_server server(m.f.fns, {.path = "/statefun", .observer = &m.metrics, .metrics_path = "/internal/metrics"});
  client c(server.port());
  const auto head = c.exchange_head("HEAD /internal/metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  const auto post = c.exchange("POST /internal/metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  CHECK(post.status == 405);
  CHECK(post.allow == "GET, HEAD");
  CHECK(c.exchange(scrape_request("/metrics")).status == 404);
  const auto e = scrape(server.port(), "/internal/metrics");
  CHECK(e.at("statefun_server_responses_total{status=\"405\"}") == 1);
}

TEST_CASE("server metrics: with no observer nothing is kept and GET /metrics answers 404") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  CHECK(c.exchange(runtime_post(w1())).status == 200);
  CHECK(c.exchange(scrape_request()).status == 404);
  CHECK(f.fns.observer() == nullptr);
}

TEST_CASE("server metrics: connections over the limit are counted as refused (503)") {
  metered m;
  running_server server(m.f.fns, {.observer = &m.metrics, .max_connections = 1});
  client first(server.port());
  CHECK(first.exchange(runtime_post(w1())).status == 200);
  client second(server.port());
  CHECK(second.receive().status == 503);
  CHECK(second.closed_by_server());
  const auto response = first.exchange(scrape_request());
  REQUIRE(response.status == 200);
  const auto e = parse_exposition(response.body);
  CHECK(e.at("statefun_server_connections_refused_total") == 1);
  CHECK(e.at("statefun_server_connections_accepted_total") == 1);
  CHECK(e.at("statefun_server_responses_total{status=\"503\"}") == 1);
}

TEST_CASE("server metrics: parser refusals are counted by reason") {
  metered m;
  running_server server(m.f.fns, {.observer = &m.metrics, .max_head_bytes = 1024});
  {
    client c(server.port());
    CHECK(c.exchange("HELLO\r\n\r\n").status == 400);
  }
  {
    client c(server.port());
    CHECK(c.exchange("POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n").status == 431);
  }
  {
    client c(server.port());
    CHECK(c.exchange("POST / HTTP/2.0\r\nHost: x\r\n\r\n").status == 505);
  }
  const auto e = scrape(server.port());
  CHECK(e.at("statefun_server_parser_refusals_total{reason=\"bad_request\"}") == 1);
  CHECK(e.at("statefun_server_parser_refusals_total{reason=\"head_too_large\"}") == 1);
  CHECK(e.at("statefun_server_parser_refusals_total{reason=\"version_not_supported\"}") == 1);
  CHECK(e.at("statefun_server_parser_refusals_total{reason=\"body_too_large\"}") == 0);
  CHECK(e.at("statefun_server_responses_total{status=\"400\"}") == 1);
}

TEST_CASE("server metrics: deadlines that close connections are counted by kind") {
  metered m;
  SUBCASE("header and body") {
    running_server server(m.f.fns, {.observer = &m.metrics, .header_timeout = 300ms, .body_timeout = 300ms});
    {
      client c(server.port());
      c.send("POST /statefun HTTP/1.1\r\nHost: x\r\nX-Slow: ");
      CHECK(c.closed_by_server());
    }
    {
      client c(server.port());
      c.send("POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b");
      CHECK(c.closed_by_server());
    }
    const auto e = scrape(server.port());
    CHECK(e.at("statefun_server_timeouts_total{kind=\"header\"}") == 1);
    CHECK(e.at("statefun_server_timeouts_total{kind=\"body\"}") == 1);
    CHECK(e.at("statefun_server_timeouts_total{kind=\"idle\"}") == 0);
  }
  SUBCASE("idle") {
    running_server server(m.f.fns, {.observer = &m.metrics, .idle_timeout = 300ms});
    {
      client c(server.port());
      CHECK(c.exchange(runtime_post(w1())).status == 200);
      CHECK(c.closed_by_server());
    }
    const auto e = scrape(server.port());
    CHECK(e.at("statefun_server_timeouts_total{kind=\"idle\"}") == 1);
    CHECK(e.at("statefun_server_timeouts_total{kind=\"header\"}") == 0);
  }
}

TEST_CASE("server metrics: the counters of a multi-threaded server add up") {
  metered m;
  running_server server(m.f.fns, {.observer = &m.metrics, .threads = 4});
  constexpr int clients = 8;
  constexpr int requests = 25;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&server, &ok] {
      client c(server.port());
      for (int i = 0; i < requests; ++i) {
        if (c.exchange(runtime_post(w1())).status == 200) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  REQUIRE(ok.load() == clients * requests);
  const auto e = scrape(server.port());
  CHECK(e.at("statefun_function_batches_total{function_type=\"bench/counter\"}") == clients * requests);
  CHECK(e.at("statefun_function_invocations_total{function_type=\"bench/counter\"}") == clients * requests);
  CHECK(e.at("statefun_server_responses_total{status=\"200\"}") == clients * requests);
  CHECK(e.at("statefun_server_connections_accepted_total") == clients + 1);
}

TEST_CASE("server metrics: a second server on its own port serves the first one's metrics") {
  metered m;
  running_server service(m.f.fns, {.observer = &m.metrics});
  const statefun::functions none;
  running_server scraper(none, {.path = "/-", .metrics_source = &m.metrics});
  {
    client c(service.port());
    CHECK(c.exchange(runtime_post(w1())).status == 200);
    CHECK(c.exchange(scrape_request()).status == 200);  // served on the service's port too
  }
  const auto e = scrape(scraper.port());
  CHECK(e.at("statefun_function_batches_total{function_type=\"bench/counter\"}") == 1);
  // The scraper has no observer: its own connections are not the service's traffic.
  CHECK(e.at("statefun_server_connections_accepted_total") == 1);
}

TEST_CASE("server metrics: failed TLS handshakes are counted") {
  if (!statefun::test::have_openssl()) {
    return;
  }
  metered m;
  const auto& certs = statefun::test::test_certificates();
  std::uint16_t tls_port = 0;
  running_server server(m.f.fns, {.observer = &m.metrics}, [&](statefun::asio::http_server& s) {
    tls_port = statefun::asio::listen_tls(s, "127.0.0.1", 0,
                                          {.certificate_chain = certs.server_cert,
                                           .private_key = certs.server_key,
                                           .private_key_password = {},
                                           .client_ca = certs.ca});
  });
  // A client without a certificate, where the server wants one (mutual TLS).
  CHECK_FALSE(statefun::test::try_exchange(tls_port, certs.ca, std::nullopt, runtime_post(w1())));
  // One serving thread: once the next client is answered, the refused one is counted.
  statefun::test::tls_client good(tls_port, certs.ca, statefun::test::client_identity{certs.client_cert, certs.client_key});
  const auto response = good.exchange(scrape_request());
  REQUIRE(response.status == 200);
  const auto e = parse_exposition(response.body);
  CHECK(e.at("statefun_server_tls_handshake_failures_total") == 1);
  CHECK(e.at("statefun_server_connections_accepted_total") == 2);
}
