// The merchant function and the outside merchant-score service, a real process on a loopback
// port: the score it answers, retries when it fails or is slow, and a neutral score flagged
// unknown when it stays failing, slow or down, so that the transaction still completes.

#include "test_app.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace std::chrono_literals;
using fraud_test::fraud_app;
using fraud_test::tx;

namespace {

/// Runs one transaction of 1,000.00 at `merchant` on an account with one recent fraud, and
/// returns its features. 40 (amount) + 15 (fraud) + at least 0 (merchant) is an alert whatever
/// the merchant's score, so the alert shows the score the merchant function answered.
fraud::feature_vector features_of_a_transaction(fraud_app& app, const std::string& merchant = "risky-shop") {
  app.confirm_fraud("acc-1");
  app.transact(tx("tx-1", "acc-1", merchant, 100'000));
  const auto alerts = app.alerts();
  REQUIRE(alerts.size() == 1);
  CHECK_FALSE(app.holds_state("tx-1"));  // the transaction is done
  return alerts[0].features;
}

constexpr fraud::feature_vector scored_by_service{100'000, 100, true, 1};
constexpr fraud::feature_vector scored_unknown{100'000, 50, false, 1};

}  // namespace

TEST_CASE("the merchant function answers the service's score for its merchant") {
  fraud_app app;
  CHECK(features_of_a_transaction(app) == scored_by_service);
  CHECK(app.score_requests() == 1);
  CHECK(app.scores.unavailable() == 0);
}

TEST_CASE("merchant names reach the service intact, whatever their characters") {
  fraud_app app;
  app.control({{"scores", {{"Café & Co/1?", 100}}}});
  CHECK(features_of_a_transaction(app, "Café & Co/1?") == scored_by_service);
}

TEST_CASE("a service failing twice, then answering: the retried score is used") {
  fraud_app app;
  app.control({{"fail_next", 2}, {"status", 503}});
  CHECK(features_of_a_transaction(app) == scored_by_service);
  CHECK(app.score_requests() == 3);
  CHECK(app.scores.unavailable() == 0);
}

TEST_CASE("a service failing every attempt: a neutral score flagged unknown") {
  fraud_app app;
  app.control({{"fail_next", 3}, {"status", 500}});
  CHECK(features_of_a_transaction(app) == scored_unknown);
  CHECK(app.score_requests() == 3);  // the first attempt and two retries
  CHECK(app.scores.unavailable() == 1);
}

TEST_CASE("a service refusing the request: no retry, a neutral score flagged unknown") {
  fraud_app app;
  app.control({{"fail_next", 1}, {"status", 404}});
  CHECK(features_of_a_transaction(app) == scored_unknown);
  CHECK(app.score_requests() == 1);  // a 4xx will not change on a retry
}

TEST_CASE("a service slower than the timeout on every attempt: a neutral score after the retries") {
  // A service of its own: the answers it is still sleeping on must not reach another test.
  const fraud::score_service_process slow(EXAMPLE_SCORE_SERVICE,
                                          {"--scores", fraud_test::crafted_scores, "--delay-ms", "60000"});
  fraud_app app{slow.url(), {.timeout = 200ms, .retries = 2, .backoff = 10ms}};  // each attempt times out
  CHECK(features_of_a_transaction(app) == scored_unknown);
  CHECK(app.scores.unavailable() == 1);
}

TEST_CASE("a service slow twice, then prompt: the third attempt's score is used") {
  const fraud::score_service_process slow(EXAMPLE_SCORE_SERVICE, {"--scores", fraud_test::crafted_scores});
  fraud_app app{slow.url(), {.timeout = 1s, .retries = 2, .backoff = 10ms}};
  app.control({{"delay_ms", 60'000}, {"slow_next", 2}});
  CHECK(features_of_a_transaction(app) == scored_by_service);
  CHECK(app.score_requests() == 3);
  CHECK(app.scores.unavailable() == 0);
}

TEST_CASE("a service that is down: a neutral score flagged unknown") {
  std::string url;
  {
    const fraud::score_service_process gone(EXAMPLE_SCORE_SERVICE);
    url = gone.url();
  }  // stopped: nothing listens on its port any more, connections are refused
  fraud_app app{url, fraud_test::patient};
  CHECK(features_of_a_transaction(app) == scored_unknown);
  CHECK(app.scores.unavailable() == 1);
}
