#include <statefun/metrics/prometheus.hpp>

#include <statefun/request_reply_handler.hpp>

#include "support/doctest.hpp"
#include "support/exposition.hpp"
#include "support/process.hpp"
#include "support/requests.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifndef STATEFUN_TEST_PROMTOOL
#error "the build passes STATEFUN_TEST_PROMTOOL, the path of Prometheus' promtool (empty if none)"
#endif

using namespace std::chrono_literals;
using statefun::context;
using statefun::message;
using statefun::test::parse_exposition;
using statefun::test::request;

namespace {

constexpr statefun::value_spec<std::int32_t> metered_count{"count"};

/// Functions that count, send, and fail on purpose, observed by `metrics`.
struct metered_functions {
  explicit metered_functions(statefun::metrics::prometheus& metrics) {
    fns.bind("t/counter", {metered_count}, [](context& ctx, const message&) {
      ctx.storage().set(metered_count, ctx.storage().get(metered_count).value_or(0) + 1);
      ctx.send(statefun::message_to({"t/other", "a"}).value(1));
    });
    fns.bind("t/throws", [](context&, const message&) { throw std::runtime_error("on purpose"); });
    fns.observe(&metrics);
  }
  statefun::functions fns;
};

/// Bytes of `v` as a state value on the wire.
std::size_t state_bytes(std::int32_t v) {
  std::string bytes;
  statefun::type<std::int32_t>::encode(v, bytes);
  return bytes.size();
}

std::string exposition_of(const statefun::metrics::prometheus& metrics) {
  std::string text;
  metrics.write(text);
  return text;
}

}  // namespace

TEST_CASE("the exposition declares every family once, with HELP and TYPE, before its samples") {
  statefun::metrics::prometheus metrics;
  metered_functions f(metrics);
  const auto e = parse_exposition(exposition_of(metrics));
  CHECK(e.types.at("statefun_function_batches_total") == "counter");
  CHECK(e.types.at("statefun_function_batch_duration_seconds") == "histogram");
  CHECK(e.types.at("statefun_function_batch_size") == "histogram");
  CHECK(e.types.at("statefun_server_connections") == "gauge");
  CHECK(e.at("statefun_function_batches_total{function_type=\"t/counter\"}") == 0);
  CHECK(e.at("statefun_function_batch_duration_seconds_bucket{function_type=\"t/counter\",le=\"+Inf\"}") == 0);
  CHECK(e.at("statefun_function_batch_duration_seconds_bucket{function_type=\"t/counter\",le=\"0.005\"}") == 0);
  CHECK(e.at("statefun_server_responses_total{status=\"503\"}") == 0);
}

TEST_CASE("batches, invocations, effects, state bytes and failures are counted per function type") {
  statefun::metrics::prometheus metrics;
  metered_functions f(metrics);
  auto handler = f.fns.handler();
  std::size_t read = 0;
  std::size_t written = 0;
  for (int i = 0; i < 3; ++i) {
    read += state_bytes(i);
    written += state_bytes(i + 2);
    REQUIRE(handler.handle_sync(
        request("t", "counter", "1").state("count", std::int32_t{i}).invoke("a").invoke("b").bytes()));
  }
  REQUIRE(handler.handle_sync(request("t", "counter", "1").invoke("a").bytes()));  // missing state
  CHECK_FALSE(handler.handle_sync(request("t", "throws", "1").invoke("a").bytes()));
  CHECK_FALSE(handler.handle_sync(request("t", "nobody", "1").invoke("a").bytes()));
  CHECK_FALSE(handler.handle_sync("not a batch"));

  const auto e = parse_exposition(exposition_of(metrics));
  const std::string counter = "{function_type=\"t/counter\"}";
  CHECK(e.at("statefun_function_batches_total" + counter) == 3);
  CHECK(e.at("statefun_function_invocations_total" + counter) == 6);
  CHECK(e.at("statefun_function_missing_state_total" + counter) == 1);
  CHECK(e.at("statefun_function_state_read_bytes_total" + counter) == static_cast<double>(read));
  CHECK(e.at("statefun_function_state_written_bytes_total" + counter) == static_cast<double>(written));
  CHECK(e.at("statefun_function_effects_total{function_type=\"t/counter\",kind=\"message\"}") == 6);
  CHECK(e.at("statefun_function_effects_total{function_type=\"t/counter\",kind=\"reply\"}") == 0);
  CHECK(e.at("statefun_function_batch_size_bucket{function_type=\"t/counter\",le=\"1\"}") == 0);
  CHECK(e.at("statefun_function_batch_size_bucket{function_type=\"t/counter\",le=\"2\"}") == 3);
  CHECK(e.at("statefun_function_batch_size_sum" + counter) == 6);
  CHECK(e.at("statefun_function_batch_duration_seconds_count" + counter) == 3);
  CHECK(e.at("statefun_function_batches_total{function_type=\"t/throws\"}") == 1);
  CHECK(e.at("statefun_function_failures_total{function_type=\"t/throws\",kind=\"exception\"}") == 1);
  CHECK(e.at("statefun_function_failures_total{function_type=\"\",kind=\"unknown_function_type\"}") == 1);
  CHECK(e.at("statefun_function_failures_total{function_type=\"\",kind=\"malformed_request\"}") == 1);
  CHECK(e.at("statefun_function_failures_total{function_type=\"t/counter\",kind=\"exception\"}") == 0);
}

TEST_CASE("histogram buckets are cumulative and the +Inf bucket equals the count") {
  statefun::metrics::detail::histogram<3> h({std::array<std::uint64_t, 3>{1, 5, 10}});
  for (const std::uint64_t v : {0, 1, 2, 5, 6, 10, 11, 1000}) {
    h.observe(v);
  }
  std::string text;
  statefun::metrics::detail::append_family(text, "x", "histogram", "test");
  statefun::metrics::detail::append_histogram(text, "x", h, 1.0, {});
  const auto e = parse_exposition(text);
  CHECK(e.at("x_bucket{le=\"1\"}") == 2);
  CHECK(e.at("x_bucket{le=\"5\"}") == 4);
  CHECK(e.at("x_bucket{le=\"10\"}") == 6);
  CHECK(e.at("x_bucket{le=\"+Inf\"}") == 8);
  CHECK(e.at("x_count") == 8);
  CHECK(e.at("x_sum") == 1035);
}

TEST_CASE("label values are escaped: backslash, double quote and line feed") {
  std::string text;
  statefun::metrics::detail::append_label_value(text, "a\\b\"c\nd");
  CHECK(text == "a\\\\b\\\"c\\nd");
}

TEST_CASE("counters add up when more threads than shards handle batches at once") {
  // Each thread counts in a shard of its own until the shards run out; the rest share the
  // last one with locked additions. More threads than shards exercise both.
  statefun::metrics::prometheus metrics;
  metered_functions f(metrics);
  constexpr int threads = static_cast<int>(statefun::metrics::detail::shard_count) + 4;
  constexpr int batches = 200;
  const std::string bytes = request("t", "counter", "1").state("count", std::int32_t{1}).invoke("a").bytes();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&f, &bytes] {
      auto handler = f.fns.handler();
      for (int i = 0; i < batches; ++i) {
        (void)handler.handle_sync(bytes);
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  const auto e = parse_exposition(exposition_of(metrics));
  CHECK(e.at("statefun_function_batches_total{function_type=\"t/counter\"}") == threads * batches);
  CHECK(e.at("statefun_function_batch_duration_seconds_count{function_type=\"t/counter\"}") == threads * batches);
  CHECK(e.at("statefun_function_effects_total{function_type=\"t/counter\",kind=\"message\"}") == threads * batches);
  CHECK(e.at("statefun_function_invocations_total{function_type=\"t/counter\"}") == threads * batches);
  CHECK(e.at("statefun_function_batch_size_bucket{function_type=\"t/counter\",le=\"1\"}") == threads * batches);
  CHECK(e.at("statefun_function_state_read_bytes_total{function_type=\"t/counter\"}") ==
        e.at("statefun_function_state_written_bytes_total{function_type=\"t/counter\"}"));
  CHECK(e.at("statefun_function_state_written_bytes_total{function_type=\"t/counter\"}") > 0);
}

TEST_CASE("promtool check metrics accepts the exposition (skipped without Prometheus' promtool)") {
  if (std::string_view(STATEFUN_TEST_PROMTOOL).empty()) {
    MESSAGE("skipped: the build found no promtool (Debian: apt-get install prometheus)");
    return;
  }
  statefun::metrics::prometheus metrics;
  metered_functions f(metrics);
  auto handler = f.fns.handler();
  REQUIRE(handler.handle_sync(request("t", "counter", "1").state("count", std::int32_t{1}).invoke("a").bytes()));
  CHECK_FALSE(handler.handle_sync(request("t", "throws", "1").invoke("a").bytes()));
  statefun::client_observer* client = metrics.client("scores");
  client->connection(statefun::client_connection_event::opened);
  client->attempt({statefun::client_outcome::timeout, 0});
  client->retry();
  client->attempt({statefun::client_outcome::response, 200});
  client->call({statefun::client_outcome::response, 200, 2, 30ms});
  statefun::test::temp_dir dir;
  const std::string file = dir.write("metrics.txt", exposition_of(metrics));
  const auto result = statefun::test::run({STATEFUN_TEST_PROMTOOL, "check", "metrics"}, statefun::test::hang_guard, file);
  INFO("promtool said: " << result.out << result.err);
  CHECK(result.status == statefun::test::exit_status::exited_with(0));
  CHECK(result.err.empty());  // lint problems are printed, even when the exit code is 0
}

TEST_CASE("an HTTP client's calls are counted by outcome: the status's class, or why there was no response") {
  statefun::metrics::prometheus metrics;
  statefun::client_observer* client = metrics.client("scores");
  REQUIRE(client != nullptr);
  CHECK(metrics.client("scores") == client);  // one name, one set of series
  using statefun::client_outcome;
  const std::vector<std::pair<statefun::client_call_event, std::string>> calls{
      {{client_outcome::response, 204, 1, 1ms}, "2xx"},          {{client_outcome::response, 302, 1, 1ms}, "3xx"},
      {{client_outcome::response, 429, 1, 1ms}, "4xx"},          {{client_outcome::response, 599, 3, 1ms}, "5xx"},
      {{client_outcome::response, 600, 1, 1ms}, "other_status"}, {{client_outcome::timeout, 0, 1, 1ms}, "timeout"},
      {{client_outcome::connection_error, 0, 1, 1ms}, "connection_error"},
      {{client_outcome::bad_response, 0, 1, 1ms}, "bad_response"}, {{client_outcome::cancelled, 0, 1, 1ms}, "cancelled"},
  };
  for (const auto& [event, outcome] : calls) {
    client->call(event);
  }
  const auto e = parse_exposition(exposition_of(metrics));
  for (const auto& [event, outcome] : calls) {
    CHECK(e.at("statefun_client_calls_total{client=\"scores\",outcome=\"" + outcome + "\"}") == 1);
  }
  CHECK(e.at("statefun_client_call_duration_seconds_count{client=\"scores\"}") == static_cast<double>(calls.size()));
  CHECK(e.at("statefun_client_call_duration_seconds_bucket{client=\"scores\",le=\"0.001\"}") ==
        static_cast<double>(calls.size()));
}

TEST_CASE("a client's connection gauges follow its connections opening, closing, and entering and leaving the pool") {
  statefun::metrics::prometheus metrics;
  statefun::client_observer* client = metrics.client("");
  using statefun::client_connection_event;
  for (const client_connection_event event :
       {client_connection_event::opened, client_connection_event::opened, client_connection_event::pooled,
        client_connection_event::pooled, client_connection_event::unpooled, client_connection_event::closed}) {
    client->connection(event);
  }
  const auto e = parse_exposition(exposition_of(metrics));
  CHECK(e.at("statefun_client_connections_opened_total{client=\"\"}") == 2);
  CHECK(e.at("statefun_client_connections{client=\"\"}") == 1);
  CHECK(e.at("statefun_client_idle_connections{client=\"\"}") == 1);
}
