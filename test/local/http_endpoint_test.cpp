#include <statefun/local/runtime.hpp>
#include <statefun/local/tls.hpp>
#include <statefun/metrics/prometheus.hpp>

#include "asio/certificates.hpp"
#include "asio/fake_service.hpp"
#include "asio/server_support.hpp"
#include "local/support/scripted_endpoint.hpp"
#include "support/doctest.hpp"
#include "support/exposition.hpp"
#include "support/process.hpp"

#include <statefun/asio/tls.hpp>
#include <statefun/statefun.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

// The runtime as an HTTP client of functions (docs/runtime_rules.md §1, rules 5-9): against a fake service
// that answers as told (to see exactly what goes over the wire and how failures are retried),
// and against our own server with real functions, over TCP, Unix sockets and TLS.

namespace {

using namespace std::chrono_literals;
namespace local = statefun::local;
using statefun::address;
using statefun::test::answer;
using statefun::test::behaviour;
using statefun::test::fake_service;

/// A FromFunction with one record for the egress `test/out`.
std::string one_record(std::string_view text) { return answer{}.egress("test", "out", "test/text", text).bytes(); }

local::typed_value text(std::string value) { return {"test/text", std::move(value), true}; }

/// A virtual-time runtime whose `test/*` functions are at `url`.
struct over_http {
  explicit over_http(const std::string& url, local::transport_kind transport = local::transport_kind::async,
                     std::chrono::milliseconds call = 2min, local::runtime_options options = {.clock = local::clock::virtual_time()})
      : rt(std::move(options)) {
    local::endpoint_spec spec{.functions = "test/*", .url_path_template = url, .transport = transport, .call = call};
    rt.bind_http(spec);
    rt.add_egress({.kind = local::egress_kind::any, .id = "test/out"});
  }

  std::size_t records() const { return rt.egress("test/out").size(); }

  local::runtime rt;
};

/// Answer the first `failures` requests to `target` as `failing` says, then the rest with one
/// record: a retry shows as a record, whatever the machine's speed (a failure "until the
/// budget is used up" leaves the number of attempts to the clock).
void fail_then_answer(fake_service& service, const std::string& target, behaviour failing, std::size_t failures) {
  service.on(target, std::move(failing));
  service.on_request([&service, target, failures](const statefun::test::received_request&) {
    // The hook runs after the request's behaviour was chosen: this changes the next one's.
    if (service.requests_received() == failures) {
      service.on(target, {.body = one_record("ok"), .content_type = "application/octet-stream"});
    }
  });
}

std::string octet_stream_answer(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("rule 5: requests are POSTs of the ToFunction with the Netty header set, one at a time, on a kept-alive connection") {
  fake_service service;
  service.on("/fn", {.body = one_record("ok"), .content_type = "application/octet-stream"});
  over_http h(service.url() + "/{function.name}");
  for (const char* m : {"1", "2", "3"}) {
    h.rt.send(address{"test/fn", "a"}, text(m));
  }
  h.rt.run_until_idle();
  CHECK(h.records() == 2);  // "1" alone, then "2" and "3" as one batch (one answer, one record)
  const auto requests = service.requests();
  REQUIRE(requests.size() == 2);
  for (const auto& r : requests) {
    CHECK(r.method == "POST");
    CHECK(r.target == "/fn");  // {function.name}: the type's name
    CHECK(r.header("Content-Type") == "application/octet-stream");
    CHECK(r.header("Accept") == "application/octet-stream");
    CHECK(r.header("User-Agent") == "statefun");
    CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
    CHECK_FALSE(r.header("Transfer-Encoding").has_value());
    statefun::codec::invocation_batch_view batch;
    REQUIRE(batch.decode(std::string_view(r.body)));
    CHECK(batch.target == statefun::codec::address_view{"test", "fn", "a"});
  }
  CHECK(service.connections_accepted() == 1);
  CHECK(service.most_held() <= 1);
}

TEST_CASE("a runtime destroyed while a call is in flight cancels the call and closes its connection") {
  // The call's coroutines and its connection are freed by its completion: the runtime cancels
  // it and lets it complete before going (under AddressSanitizer, a leak would fail the test).
  fake_service service;
  service.on("/fn", {.hold = true});
  {
    over_http h(service.url() + "/{function.name}");
    service.on_request([&h](const statefun::test::received_request&) { h.rt.stop(); });
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run();  // until the service has the request, which it holds unanswered
    CHECK(service.requests_received() == 1);
  }
  // Answered now, the service finds the runtime's end of the connection closed.
  service.release();
  CHECK(service.wait_for_closed(1));
  CHECK(service.connections_accepted() == 1);
}

TEST_CASE("rule 6: the async transport accepts Netty's lenient content type; okhttp wants it exactly and fails at once") {
  fake_service service;
  service.on("/", {.body = one_record("ok"), .content_type = "Application/Octet-Stream, text/plain"});
  SUBCASE("async") {
    over_http h(service.url());
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    CHECK(h.records() == 1);
  }
  SUBCASE("okhttp") {
    over_http h(service.url(), local::transport_kind::okhttp);
    h.rt.send(address{"test/fn", "a"}, text("1"));
    CHECK_THROWS_WITH_AS(h.rt.run_until_idle(), doctest::Contains("okhttp transport: not retried"), local::job_failure);
    CHECK(service.requests_received() == 1);
  }
  SUBCASE("async, with strict_content_type: retried as a bad answer") {
    fail_then_answer(service, "/", {.body = one_record("lenient"), .content_type = "Application/Octet-Stream"}, 2);
    over_http h(service.url(), local::transport_kind::async, 2min,
                {.clock = local::clock::virtual_time(), .strict_content_type = true});
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    CHECK(h.records() == 1);
    CHECK(service.requests_received() == 3);  // the first two refused for their Content-Type
  }
  SUBCASE("async, with strict_content_type: until the budget is used up") {
    over_http h(service.url(), local::transport_kind::async, 60ms,
                {.clock = local::clock::virtual_time(), .strict_content_type = true});
    h.rt.send(address{"test/fn", "a"}, text("1"));
    CHECK_THROWS_WITH_AS(h.rt.run_until_idle(), doctest::Contains("call budget"), local::job_failure);
  }
}

TEST_CASE("rule 6: a 2xx answer with an empty body is a success with no effects") {
  fake_service service;
  service.on("/", {.raw = octet_stream_answer("")});
  over_http h(service.url());
  h.rt.send(address{"test/fn", "a"}, text("1"));
  h.rt.run_until_idle();
  CHECK(h.rt.requests_in_flight() == 0);
  CHECK(h.records() == 0);
}

TEST_CASE("rule 7: the async transport retries every failure, 404 and bad bodies included, within its call budget") {
  fake_service service;
  SUBCASE("503 then success") {
    service.on("/", {.body = one_record("ok"), .unavailable_first = 2, .content_type = "application/octet-stream"});
    over_http h(service.url());
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    CHECK(h.records() == 1);
    CHECK(service.requests_received() == 3);
  }
  SUBCASE("a dropped connection, then success") {
    service.on("/", {.body = one_record("ok"), .drop_first = 1, .content_type = "application/octet-stream"});
    over_http h(service.url());
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    CHECK(h.records() == 1);
  }
  SUBCASE("404 twice, then success") {
    fail_then_answer(service, "/", {.status = 404, .body = "no"}, 2);
    over_http h(service.url());
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    CHECK(h.records() == 1);
    CHECK(service.requests_received() == 3);
  }
  SUBCASE("a body that is not a FromFunction, then success") {
    fail_then_answer(service, "/", {.body = std::string("\xff\xff\xff", 3), .content_type = "application/octet-stream"}, 1);
    over_http h(service.url());
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    CHECK(h.records() == 1);
    CHECK(service.requests_received() == 2);
  }
  SUBCASE("404 until the budget is used up") {
    // The last failure named is the 404 when the budget ran out between attempts, or the wait
    // for an answer when it ran out during one: which, depends on the machine's speed.
    service.on("/", {.status = 404, .body = "no"});
    over_http h(service.url(), local::transport_kind::async, 50ms);
    h.rt.send(address{"test/fn", "a"}, text("1"));
    CHECK_THROWS_WITH_AS(h.rt.run_until_idle(), doctest::Contains("call budget"), local::job_failure);
  }
}

TEST_CASE("rule 7: the okhttp transport retries 5xx and I/O errors and fails at once on other statuses") {
  fake_service service;
  SUBCASE("503 then success") {
    service.on("/", {.body = one_record("ok"), .unavailable_first = 2, .content_type = "application/octet-stream"});
    over_http h(service.url(), local::transport_kind::okhttp);
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    CHECK(h.records() == 1);
  }
  SUBCASE("404") {
    service.on("/", {.status = 404, .body = "no"});
    over_http h(service.url(), local::transport_kind::okhttp);
    h.rt.send(address{"test/fn", "a"}, text("1"));
    CHECK_THROWS_WITH_AS(h.rt.run_until_idle(), doctest::Contains("HTTP status 404 (okhttp transport: not retried)"),
                         local::job_failure);
    CHECK(service.requests_received() == 1);
  }
  SUBCASE("409 is retried") {
    fail_then_answer(service, "/", {.status = 409, .body = "busy"}, 2);
    over_http h(service.url(), local::transport_kind::okhttp);
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    CHECK(h.records() == 1);
    CHECK(service.requests_received() == 3);
  }
  SUBCASE("409 until the budget is used up") {
    service.on("/", {.status = 409, .body = "busy"});
    over_http h(service.url(), local::transport_kind::okhttp, 50ms);
    h.rt.send(address{"test/fn", "a"}, text("1"));
    CHECK_THROWS_WITH_AS(h.rt.run_until_idle(), doctest::Contains("call budget"), local::job_failure);
  }
}

TEST_CASE("endpoint retries are counted per function type, by reason: status, bad answer, I/O error") {
  fake_service service;
  statefun::metrics::prometheus metrics;
  const auto retries = [&](std::string_view reason) {
    std::string out;
    metrics.write(out);
    return statefun::test::parse_exposition(out).at(
        "statefun_local_endpoint_retries_total{function_type=\"test/fn\",reason=\"" + std::string(reason) + "\"}");
  };
  const local::runtime_options options{.clock = local::clock::virtual_time(), .observer = &metrics};
  SUBCASE("two 503s") {
    service.on("/", {.body = one_record("ok"), .unavailable_first = 2, .content_type = "application/octet-stream"});
    over_http h(service.url(), local::transport_kind::async, 2min, options);
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    REQUIRE(h.records() == 1);
    CHECK(retries("status") == 2);
    CHECK(retries("bad_answer") == 0);
    CHECK(retries("io_error") == 0);
  }
  SUBCASE("a dropped connection") {
    service.on("/", {.body = one_record("ok"), .drop_first = 1, .content_type = "application/octet-stream"});
    over_http h(service.url(), local::transport_kind::async, 2min, options);
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    REQUIRE(h.records() == 1);
    CHECK(retries("io_error") == 1);
    CHECK(retries("status") == 0);
  }
  SUBCASE("a body that is not a FromFunction") {
    fail_then_answer(service, "/", {.body = std::string("\xff\xff\xff", 3), .content_type = "application/octet-stream"}, 1);
    over_http h(service.url(), local::transport_kind::async, 2min, options);
    h.rt.send(address{"test/fn", "a"}, text("1"));
    h.rt.run_until_idle();
    REQUIRE(h.records() == 1);
    CHECK(retries("bad_answer") == 1);
  }
}

namespace {

constexpr auto count = statefun::value_spec<std::int64_t>{"count"};

void counter(statefun::context& ctx, const statefun::message& msg) {
  const auto n = ctx.storage().get(count).value_or(0) + 1;
  ctx.storage().set(count, n);
  ctx.send_egress(statefun::egress_to("test/out").value(msg.as<std::string>() + "#" + std::to_string(n)));
}

statefun::functions counter_functions() {
  statefun::functions fns;
  fns.bind("test/fn", {count}, counter);
  return fns;
}

std::vector<std::string> run_counter(local::runtime& rt) {
  rt.add_egress({.kind = local::egress_kind::any, .id = "test/out"});
  for (const char* id : {"a", "b", "a", "c", "a"}) {
    rt.send(address{"test/fn", id}, std::string(id));
  }
  rt.run_until_idle();
  // Each address's records come in order; how addresses interleave depends on timing.
  std::vector<std::string> out;
  for (const auto& r : rt.egress("test/out")) {
    out.push_back(r.value.as<std::string>());
  }
  std::stable_sort(out.begin(), out.end(), [](const std::string& x, const std::string& y) { return x[0] < y[0]; });
  return out;
}

}  // namespace

TEST_CASE("rules 5 and 8: an application gives the same results in process, over TCP and over a Unix socket (okhttp)") {
  const auto fns = counter_functions();
  local::runtime in_process({.clock = local::clock::virtual_time()});
  in_process.serve(fns);
  const auto expected = run_counter(in_process);
  CHECK(expected == std::vector<std::string>{"a#1", "a#2", "a#3", "b#1", "c#1"});

  statefun::test::running_server tcp(fns);
  local::runtime over_tcp({.clock = local::clock::virtual_time()});
  over_tcp.bind_http({.functions = "test/*", .url_path_template = "http://127.0.0.1:" + std::to_string(tcp.port()) + "/statefun"});
  CHECK(run_counter(over_tcp) == expected);

  const statefun::test::temp_dir dir;
  const std::string socket = dir / "fn.sock";
  statefun::test::running_server uds(fns, {}, [&](statefun::asio::http_server& s) { s.listen_unix(socket); });
  local::runtime over_uds({.clock = local::clock::virtual_time()});
  over_uds.bind_http({.functions = "test/*", .url_path_template = "http+unix://" + socket + "/statefun",
                      .transport = local::transport_kind::okhttp});
  CHECK(run_counter(over_uds) == expected);
}

TEST_CASE("rule 8: a Unix socket URL on the async transport is a configuration error") {
  local::runtime rt;
  CHECK_THROWS_WITH_AS(rt.bind_http({.functions = "test/*", .url_path_template = "http+unix:///run/fn.sock/statefun"}),
                       doctest::Contains("(rule 8)"), std::invalid_argument);
}

TEST_CASE("rule 9: https endpoints with a CA bundle and a client certificate (mutual TLS)") {
  if (statefun::test::openssl_program().empty()) {
    MESSAGE("skipped: the build found no openssl command to make certificates with");
    return;
  }
  const auto& c = statefun::test::test_certificates();
  const auto fns = counter_functions();
  std::uint16_t port = 0;
  statefun::test::running_server server(fns, {}, [&](statefun::asio::http_server& s) {
    port = statefun::asio::listen_tls(s, "127.0.0.1", 0,
                                      {.certificate_chain = c.server_cert, .private_key = c.server_key, .client_ca = c.ca});
  });
  local::endpoint_spec spec{.functions = "test/*", .url_path_template = "https://localhost:" + std::to_string(port) + "/statefun"};
  spec.tls = {.trust_cacerts = c.ca, .client_cert = c.client_cert, .client_key = c.client_key};
  SUBCASE("with the client certificate") {
    local::runtime rt({.clock = local::clock::virtual_time(), .tls = local::tls_connector});
    rt.bind_http(spec);
    CHECK(run_counter(rt) == std::vector<std::string>{"a#1", "a#2", "a#3", "b#1", "c#1"});
  }
  SUBCASE("without one, the server refuses every attempt until the budget is used up") {
    spec.tls.client_cert.clear();
    spec.tls.client_key.clear();
    spec.call = 50ms;
    local::runtime rt({.clock = local::clock::virtual_time(), .tls = local::tls_connector});
    rt.bind_http(spec);
    CHECK_THROWS_WITH_AS(run_counter(rt), doctest::Contains("call budget"), local::job_failure);
  }
  SUBCASE("without TLS support in the runtime, the run fails saying how to add it") {
    local::runtime rt({.clock = local::clock::virtual_time()});
    rt.bind_http(spec);
    CHECK_THROWS_WITH_AS(run_counter(rt), doctest::Contains("statefun::local::tls_connector"), local::job_failure);
  }
  SUBCASE("a certificate without its key is refused") {
    spec.tls.client_key.clear();
    local::runtime rt({.clock = local::clock::virtual_time(), .tls = local::tls_connector});
    rt.bind_http(spec);
    CHECK_THROWS_WITH_AS(run_counter(rt), doctest::Contains("client_cert and client_key"), local::job_failure);
  }
}
