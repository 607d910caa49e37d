// Transactions end to end: features from the merchant and counter functions, the model's
// score, alerts at the Kafka egress exactly at the threshold, state cleaned up afterwards, and
// bad input refused by name.

#include "test_app.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using fraud_test::fraud_app;
using fraud_test::tx;

TEST_CASE("a transaction scoring the threshold or more raises an alert carrying its features") {
  fraud_app app;
  app.transact(tx("tx-1", "acc-1", "risky-shop", 100'000));    // 40 (amount) + 30 (merchant)
  app.transact(tx("tx-2", "acc-2", "trusted-shop", 100'000));  // 40 + 0
  app.transact(tx("tx-3", "acc-1", "risky-shop", 75'000));     // 30 + 30: the threshold
  app.transact(tx("tx-4", "acc-1", "risky-shop", 74'999));     // 29 + 30: just below
  app.transact(tx("tx-5", "acc-3", "average-shop", 500));      // 0 + 15

  CHECK(app.alerts() == std::vector<fraud::alert>{
                            {tx("tx-1", "acc-1", "risky-shop", 100'000), {100'000, 100, true, 0}, 70},
                            {tx("tx-3", "acc-1", "risky-shop", 75'000), {75'000, 100, true, 0}, 60},
                        });
  CHECK(app.score_requests() == 5);  // one per transaction: no retries when the service answers
}

TEST_CASE("once a transaction is scored, its transaction manager keeps nothing") {
  fraud_app app;
  app.transact(tx("tx-1", "acc-1", "risky-shop", 100'000));
  app.transact(tx("tx-2", "acc-1", "trusted-shop", 100));
  CHECK(app.alerts().size() == 1);
  CHECK_FALSE(app.holds_state("tx-1"));
  CHECK_FALSE(app.holds_state("tx-2"));
  CHECK(app.rt.pending_delayed_messages() == 0);
}

TEST_CASE("frauds recently confirmed on the account raise its transactions' score") {
  fraud_app app;
  const auto purchase = [](const std::string& id) { return tx(id, "acc-7", "average-shop", 50'000); };
  app.transact(purchase("tx-1"));  // 20 (amount) + 15 (merchant)
  app.confirm_fraud("acc-7");
  app.transact(purchase("tx-2"));  // + 15 (one fraud)
  app.confirm_fraud("acc-7");
  app.transact(purchase("tx-3"));  // + 30 (two frauds)
  app.confirm_fraud("acc-7");
  app.transact(purchase("tx-4"));  // + 30 (three count as two)

  CHECK(app.alerts() == std::vector<fraud::alert>{
                            {purchase("tx-3"), {50'000, 50, true, 2}, 65},
                            {purchase("tx-4"), {50'000, 50, true, 3}, 65},
                        });
}

TEST_CASE("bad input fails the run, saying what is wrong") {
  fraud_app app;

  SUBCASE("a transaction without a merchant") {
    app.rt.ingest_raw("fraud/transactions", "tx-1", R"({"id": "tx-1", "account": "acc-1"})", "transactions");
    CHECK_THROWS_WITH_AS(app.rt.run_until_idle(), doctest::Contains("key 'merchant' not found"),
                         statefun::local::job_failure);
  }
  SUBCASE("a transaction keyed by something other than its id") {
    app.rt.ingest("fraud/transactions", "acc-1", tx("tx-1", "acc-1", "risky-shop", 100), "transactions");
    CHECK_THROWS_WITH_AS(app.rt.run_until_idle(), doctest::Contains("the Kafka key must be the transaction id"),
                         statefun::local::job_failure);
  }
  SUBCASE("a message a function has no use for") {
    app.rt.send(statefun::address{fraud::counter_type, "acc-1"}, fraud::fraud_score{99});
    CHECK_THROWS_WITH_AS(app.rt.run_until_idle(),
                         doctest::Contains("fraud/counter/acc-1: unexpected message of type fraud.types/FraudScore"),
                         statefun::local::job_failure);
  }
  SUBCASE("a request with nobody to answer") {
    app.rt.send(statefun::address{fraud::model_type, "tx-1"}, fraud::feature_vector{100, 50, true, 0});
    CHECK_THROWS_WITH_AS(app.rt.run_until_idle(), doctest::Contains("fraud/model/tx-1 cannot reply: the message came from an ingress"),
                         statefun::local::job_failure);
  }
}
