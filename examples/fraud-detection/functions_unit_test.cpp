// The fraud functions one at a time, with statefun::testing: no runtime, no score service
// process, no real time. The merchant function's outside service is an http_double, so its
// retries, timeouts and failures run on the test's clock in microseconds (merchant_test.cpp
// checks the same against the real Python service, end to end).

#include "fraud.hpp"

#include <statefun/testing.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
namespace testing = statefun::testing;

namespace {

const statefun::address manager{std::string(fraud::transaction_manager_type), "tx-1"};

/// The merchant function of "risky-shop", its score service scripted by `service`.
struct merchant_under_test {
  explicit merchant_under_test(const testing::http_double& service)
      : scores(service.client("http://merchant-score:8080")) {
    fraud::bind_functions(fns, scores);
  }

  fraud::merchant_score_client scores;
  statefun::functions fns;
  testing::instance merchant{fns, {std::string(fraud::merchant_type), "risky-shop"}};

  testing::outcome ask() { return merchant.receive(fraud::feature_request{"tx-1"}, manager); }
};

}  // namespace

TEST_CASE("unit: the merchant function answers the service's score for its merchant") {
  testing::http_double service;
  service.answer({.status = 200, .body = R"({"merchant": "risky-shop", "score": 90})"});
  merchant_under_test m(service);

  const auto out = m.ask();

  CHECK(out.reply<fraud::merchant_score>() == fraud::merchant_score{90, true});
  REQUIRE(service.calls() == 1);
  CHECK(service.requests()[0].target == "/score/risky-shop");
}

TEST_CASE("unit: a service failing twice, then answering: the retried score is used") {
  testing::http_double service;
  service.answer({.status = 503}, 2).answer({.status = 200, .body = R"({"score": 70})"});
  merchant_under_test m(service);

  const auto out = m.ask();
  CHECK(out.pending());  // backing off before the first retry
  m.merchant.advance(1s);

  CHECK(out.reply<fraud::merchant_score>() == fraud::merchant_score{70, true});
  CHECK(service.calls() == 3);
}

TEST_CASE("unit: a service slower than the timeout on every attempt: a neutral score flagged unknown") {
  testing::http_double service;
  service.otherwise({.status = 200, .body = R"({"score": 1})", .delay = 1min});
  merchant_under_test m(service);

  const auto out = m.ask();
  m.merchant.advance(10s);  // three attempts of 500 ms, and the backoffs

  CHECK(out.reply<fraud::merchant_score>() == fraud::unknown_merchant);
  CHECK(service.calls() == 3);
  CHECK(m.scores.unavailable() == 1);
}

TEST_CASE("unit: a service that is down: a neutral score flagged unknown") {
  testing::http_double service;
  service.otherwise({.error = ::asio::error::connection_refused});
  merchant_under_test m(service);

  const auto out = m.ask();
  m.merchant.advance(1s);

  CHECK(out.reply<fraud::merchant_score>() == fraud::unknown_merchant);
}

TEST_CASE("unit: a confirmed fraud counts against its account for 30 minutes") {
  testing::http_double unused;
  merchant_under_test m(unused);
  testing::instance counter(m.fns, {std::string(fraud::counter_type), "acc-1"});

  const auto confirmed = counter.receive(fraud::confirmed_fraud{"acc-1", "tx-0"});
  CHECK(confirmed.state(fraud::recent_frauds) == 1);
  REQUIRE(confirmed.delayed().size() == 1);
  CHECK(confirmed.delayed()[0].delay == fraud::report_lifetime);
  CHECK(counter.receive(fraud::feature_request{"tx-1"}, manager).reply<fraud::fraud_count>().recent == 1);

  CHECK(counter.advance(29min + 59s).removed_states().empty());
  CHECK(counter.advance(1s).removed(fraud::recent_frauds));  // forgotten, and nothing kept
  CHECK(counter.receive(fraud::feature_request{"tx-2"}, manager).reply<fraud::fraud_count>().recent == 0);
}

TEST_CASE("unit: the transaction manager asks for both features, then sends the vector to the model") {
  testing::http_double unused;
  merchant_under_test m(unused);
  testing::instance tx(m.fns, manager);

  const auto asked = tx.receive(fraud::transaction{"tx-1", "acc-1", "risky-shop", 100'000});
  REQUIRE(asked.messages().size() == 2);
  CHECK(asked.messages()[0].target == statefun::address{std::string(fraud::merchant_type), "risky-shop"});
  CHECK(asked.messages()[1].target == statefun::address{std::string(fraud::counter_type), "acc-1"});

  const statefun::address merchant{std::string(fraud::merchant_type), "risky-shop"};
  const statefun::address counter{std::string(fraud::counter_type), "acc-1"};
  CHECK(tx.receive(fraud::merchant_score{90, true}, merchant).messages().empty());  // one feature still missing
  const auto complete = tx.receive(fraud::fraud_count{1}, counter);
  REQUIRE(complete.messages().size() == 1);
  CHECK(complete.messages()[0].target == statefun::address{std::string(fraud::model_type), "tx-1"});
  CHECK(complete.messages()[0].as<fraud::feature_vector>() == fraud::feature_vector{100'000, 90, true, 1});
}
