// statefun::testing::http_double: an outside service scripted for a function's http_client,
// without sockets: answers, delays and timeouts on the test's clock, failures, retries.

#include <statefun/testing/http_double.hpp>

#include <statefun/statefun.hpp>
#include <statefun/testing/instance.hpp>

#include <asio/error.hpp>

#include "support/doctest.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <system_error>

using namespace std::chrono_literals;

namespace {

/// A function that asks a score service: the status and body, or the error's text.
struct scorer {
  std::shared_ptr<statefun::asio::http_client> client;
  statefun::asio::call_options options{.timeout = 500ms, .retries = 2, .backoff = 100ms};

  statefun::task<std::string> operator()(statefun::context&, const statefun::message& msg) const {
    std::string answer;
    try {
      const auto reply = co_await client->get("/score/" + msg.as<std::string>(), options);
      answer = std::to_string(reply.status) + " " + reply.body;
    } catch (const std::system_error& e) {
      answer = e.code() == ::asio::error::timed_out ? "timed out" : "failed: " + e.code().message();
    }
    co_return answer;
  }
};

const statefun::address score_caller{"test/score_caller", "c"};

/// The function bound with a client of `service`, and one instance of it.
struct scoring {
  explicit scoring(const statefun::testing::http_double& service) : fns(bound(service)) {}
  static statefun::functions bound(const statefun::testing::http_double& service) {
    statefun::functions fns;
    fns.bind("test/scorer", scorer{std::make_shared<statefun::asio::http_client>(service.client())});
    return fns;
  }
  statefun::functions fns;
  statefun::testing::instance fn{fns, {"test/scorer", "1"}};
};

}  // namespace

TEST_CASE("the double answers a call with the scripted status, body and headers, and records it") {
  statefun::testing::http_double service;
  service.answer({.status = 200, .body = "90", .headers = {{"Content-Type", "text/plain"}}});
  scoring s(service);
  const auto out = s.fn.receive("shop", score_caller);
  CHECK(out.reply<std::string>() == "200 90");
  REQUIRE(service.calls() == 1);
  CHECK(service.requests()[0].method == "GET");
  CHECK(service.requests()[0].target == "/score/shop");
  CHECK(service.requests()[0].headers.at(0) == std::pair<std::string, std::string>{"Host", "double.test"});
}

TEST_CASE("a 5xx is retried after the backoff on the test's clock, and the retry's answer used") {
  statefun::testing::http_double service;
  service.answer({.status = 503}, 2).answer({.status = 200, .body = "70"});
  scoring s(service);
  const auto out = s.fn.receive("shop", score_caller);
  CHECK(out.pending());  // waits 100 ms before the first retry
  CHECK(service.calls() == 1);
  s.fn.advance(100ms);
  CHECK(service.calls() == 2);
  s.fn.advance(200ms);  // the backoff doubles
  CHECK(service.calls() == 3);
  CHECK(out.reply<std::string>() == "200 70");
}

TEST_CASE("a delayed answer arrives when the clock reaches it; one past the timeout times out") {
  statefun::testing::http_double service;
  service.answer({.status = 200, .body = "late but in time", .delay = 400ms});
  service.time_out().time_out().time_out();
  scoring s(service);
  const auto first = s.fn.receive("a", score_caller);
  s.fn.advance(399ms);
  CHECK(first.pending());
  s.fn.advance(1ms);
  CHECK(first.reply<std::string>() == "200 late but in time");

  const auto second = s.fn.receive("b", score_caller);
  s.fn.advance(10s);
  CHECK(second.reply<std::string>() == "timed out");
  CHECK(service.calls() == 4);  // the first call and three attempts of the second
}

TEST_CASE("a refused connection fails the call once retries run out") {
  statefun::testing::http_double service;
  service.refuse().refuse().refuse();
  scoring s(service);
  const auto out = s.fn.receive("a", score_caller);
  s.fn.advance(1s);
  CHECK(out.reply<std::string>().starts_with("failed: "));
  CHECK(service.calls() == 3);
}

TEST_CASE("otherwise() answers by request once the queue is used up; nothing scripted fails clearly") {
  statefun::testing::http_double service;
  scoring s(service);
  const auto unscripted = s.fn.receive("a", score_caller);
  CHECK(unscripted.failed());
  CHECK(unscripted.error().find("no answer scripted for GET /score/a") != std::string::npos);
  service.otherwise([](const statefun::asio::http_request& r) {
    return statefun::testing::http_answer{.status = 200, .body = r.target};
  });
  CHECK(s.fn.receive("b", score_caller).reply<std::string>() == "200 /score/b");
}
