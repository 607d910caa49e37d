// The http_client's metrics on real sockets: a loopback service that answers, answers 503 (so
// the client retries), holds an answer past the attempt's timeout, and closes without one; the
// Prometheus exposition then counts exactly those calls, attempts, retries and connections.

#include <statefun/asio/http_client.hpp>
#include <statefun/metrics/prometheus.hpp>
#include <statefun/observer_fanout.hpp>

#include <asio/error.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asio/client_support.hpp"
#include "asio/fake_service.hpp"
#include "support/doctest.hpp"
#include "support/exposition.hpp"
#include "support/run_on.hpp"

// The service's behaviours are written with designated initializers, which g++ 12 warns about
// for every member left out: https://gcc.gnu.org/bugzilla/show_bug.cgi?id=96868
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace std::chrono_literals;
using statefun::asio::call_options;
using statefun::asio::client_options;
using statefun::asio::http_client;
using statefun::test::fake_service;
using statefun::test::failure_of;
using statefun::test::parse_exposition;
using statefun::test::quick;
using statefun::test::run_on;

namespace {

statefun::test::exposition exposition_of(const statefun::metrics::prometheus& metrics) {
  std::string text;
  metrics.write(text);
  return parse_exposition(text);
}

std::string series(const std::string& name, const std::string& client, const std::string& outcome = "") {
  return name + "{client=\"" + client + "\"" + (outcome.empty() ? "" : ",outcome=\"" + outcome + "\"") + "}";
}

}  // namespace

TEST_CASE("http_client metrics: calls, attempts, retries, timeouts and connections of a known sequence") {
  fake_service service;
  service.on("/flaky", {.unavailable_first = 2});
  service.on("/missing", {.status = 404});
  service.on("/never", {.hold = true});  // released by no one: the attempt times out
  service.on("/drop", {.drop_first = 1});
  statefun::metrics::prometheus metrics;
  asio::io_context io;
  std::optional<http_client> client;
  client.emplace(io.get_executor(), service.url(), client_options{.observer = &metrics, .name = "scores"});

  CHECK(run_on(io, client->get("/ok", quick())).status == 200);          // opens connection 1, pools it
  CHECK(run_on(io, client->get("/flaky", quick(2))).status == 200);      // 503, 503, 200 on connection 1
  CHECK(run_on(io, client->get("/missing", quick(2))).status == 404);    // not retried
  call_options short_wait = quick();
  short_wait.timeout = 50ms;
  CHECK(failure_of(io, client->get("/never", short_wait)) == asio::error::timed_out);  // closes connection 1
  CHECK(failure_of(io, client->get("/drop", quick())) == asio::error::eof);            // connection 2, closed
  CHECK(run_on(io, client->get("/ok", quick())).status == 200);          // connection 3, pooled

  const auto e = exposition_of(metrics);
  const auto calls = [&](const std::string& outcome) { return e.at(series("statefun_client_calls_total", "scores", outcome)); };
  const auto attempts = [&](const std::string& outcome) {
    return e.at(series("statefun_client_attempts_total", "scores", outcome));
  };
  CHECK(calls("2xx") == 3);
  CHECK(calls("4xx") == 1);
  CHECK(calls("5xx") == 0);
  CHECK(calls("timeout") == 1);
  CHECK(calls("connection_error") == 1);
  CHECK(calls("bad_response") == 0);
  CHECK(calls("cancelled") == 0);
  CHECK(attempts("2xx") == 3);
  CHECK(attempts("5xx") == 2);
  CHECK(attempts("4xx") == 1);
  CHECK(attempts("timeout") == 1);
  CHECK(attempts("connection_error") == 1);
  CHECK(e.at(series("statefun_client_retries_total", "scores")) == 2);
  CHECK(e.at(series("statefun_client_connections_opened_total", "scores")) == 3);
  CHECK(e.at(series("statefun_client_connections", "scores")) == 1);
  CHECK(e.at(series("statefun_client_idle_connections", "scores")) == 1);
  CHECK(e.at(series("statefun_client_call_duration_seconds_count", "scores")) == 6);
  CHECK(e.at(series("statefun_client_call_duration_seconds_sum", "scores")) > 0);
  CHECK(e.types.at("statefun_client_call_duration_seconds") == "histogram");
  CHECK(e.types.at("statefun_client_connections") == "gauge");

  client.reset();  // its pooled connection closes with it
  const auto after = exposition_of(metrics);
  CHECK(after.at(series("statefun_client_connections", "scores")) == 0);
  CHECK(after.at(series("statefun_client_idle_connections", "scores")) == 0);
}

TEST_CASE("http_client metrics: a 5xx returned when retries run out is a 5xx call after its attempts") {
  fake_service service;
  service.on("/down", {.unavailable_first = 100});
  statefun::metrics::prometheus metrics;
  asio::io_context io;
  http_client client(io.get_executor(), service.url(), client_options{.observer = &metrics, .name = "ledger"});
  CHECK(run_on(io, client.get("/down", quick(2))).status == 503);
  const auto e = exposition_of(metrics);
  CHECK(e.at(series("statefun_client_calls_total", "ledger", "5xx")) == 1);
  CHECK(e.at(series("statefun_client_attempts_total", "ledger", "5xx")) == 3);
  CHECK(e.at(series("statefun_client_retries_total", "ledger")) == 2);
}

TEST_CASE("http_client metrics: clients of one name share their series; other names have their own") {
  fake_service service;
  statefun::metrics::prometheus metrics;
  asio::io_context io;
  http_client a(io.get_executor(), service.url(), client_options{.observer = &metrics, .name = "scores"});
  http_client b(io.get_executor(), service.url(), client_options{.observer = &metrics, .name = "scores"});
  http_client c(io.get_executor(), service.url(), client_options{.observer = &metrics, .name = "ledger"});
  http_client unobserved(io.get_executor(), service.url());
  for (http_client* client : {&a, &b, &c, &unobserved}) {
    CHECK(run_on(io, client->get("/", quick())).status == 200);
  }
  const auto e = exposition_of(metrics);
  CHECK(e.at(series("statefun_client_calls_total", "scores", "2xx")) == 2);
  CHECK(e.at(series("statefun_client_calls_total", "ledger", "2xx")) == 1);
  CHECK(e.at(series("statefun_client_connections", "scores")) == 2);
  std::size_t client_series = 0;
  for (const auto& [name, value] : e.samples) {
    client_series += name.starts_with("statefun_client_retries_total") ? 1 : 0;
  }
  CHECK(client_series == 2);  // the URL and the path are no label; the unobserved client has none
}

TEST_CASE("http_client metrics: a fan-out hands the client's events to each observer") {
  fake_service service;
  statefun::metrics::prometheus first;
  statefun::metrics::prometheus second;
  statefun::observer_fanout both{&first, &second};
  asio::io_context io;
  http_client client(io.get_executor(), service.url(), client_options{.observer = &both, .name = "scores"});
  CHECK(run_on(io, client.get("/", quick())).status == 200);
  for (const auto* metrics : {&first, &second}) {
    const auto e = exposition_of(*metrics);
    CHECK(e.at(series("statefun_client_calls_total", "scores", "2xx")) == 1);
    CHECK(e.at(series("statefun_client_idle_connections", "scores")) == 1);
  }
}
