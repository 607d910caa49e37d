// The counter: each confirmed fraud counts against its account for 30 minutes, then a delayed
// message forgets it. On the runtime's virtual clock.

#include "test_app.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <vector>

using namespace std::chrono_literals;
using fraud_test::fraud_app;
using fraud_test::tx;

TEST_CASE("a confirmed fraud counts for 30 minutes, then is forgotten") {
  fraud_app app;
  app.confirm_fraud("acc-1");
  CHECK(app.recent_frauds("acc-1") == 1);
  CHECK(app.rt.pending_delayed_messages() == 1);
  app.rt.advance(29min);
  CHECK(app.recent_frauds("acc-1") == 1);
  app.rt.advance(59s);
  CHECK(app.recent_frauds("acc-1") == 1);
  app.rt.advance(1s);  // 30 minutes
  CHECK(app.recent_frauds("acc-1") == std::nullopt);  // nothing kept for an account without frauds
  CHECK(app.rt.pending_delayed_messages() == 0);
}

TEST_CASE("overlapping reports are each forgotten 30 minutes after their own arrival") {
  fraud_app app;
  app.confirm_fraud("acc-1", "tx-a");  // at 0
  app.rt.advance(10min);
  app.confirm_fraud("acc-1", "tx-b");  // at 10 min
  app.rt.advance(10min);
  app.confirm_fraud("acc-1", "tx-c");  // at 20 min
  app.confirm_fraud("acc-2", "tx-d");  // another account, at 20 min

  app.rt.advance(9min + 59s);  // 29:59
  CHECK(app.recent_frauds("acc-1") == 3);
  app.rt.advance(1s);  // 30:00: the first is forgotten
  CHECK(app.recent_frauds("acc-1") == 2);
  app.rt.advance(10min);  // 40:00: the second
  CHECK(app.recent_frauds("acc-1") == 1);
  CHECK(app.recent_frauds("acc-2") == 1);
  app.rt.advance(10min);  // 50:00: the third, and the other account's
  CHECK(app.recent_frauds("acc-1") == std::nullopt);
  CHECK(app.recent_frauds("acc-2") == std::nullopt);
}

TEST_CASE("reports arriving together are counted and forgotten one by one") {
  fraud_app app;
  for (const char* id : {"tx-a", "tx-b", "tx-c"}) {  // fed together: they may reach the counter as one batch
    app.rt.ingest("fraud/transactions", "acc-1", fraud::confirmed_fraud{"acc-1", id}, "confirmed-fraud");
  }
  app.rt.run_until_idle();
  CHECK(app.recent_frauds("acc-1") == 3);
  CHECK(app.rt.pending_delayed_messages() == 3);
  app.rt.run_until_quiescent();  // the virtual clock jumps to each reminder
  CHECK(app.recent_frauds("acc-1") == std::nullopt);
  CHECK(app.rt.stats().delayed_fired == 3);
}

TEST_CASE("a transaction's score counts the frauds of the last 30 minutes only") {
  fraud_app app;
  const auto purchase = [](const char* id) { return tx(id, "acc-1", "risky-shop", 100'000); };  // 40 + 30
  app.confirm_fraud("acc-1");
  app.rt.advance(29min + 59s);
  app.transact(purchase("tx-1"));
  app.rt.advance(1s);
  app.transact(purchase("tx-2"));

  CHECK(app.alerts() == std::vector<fraud::alert>{
                            {purchase("tx-1"), {100'000, 100, true, 1}, 85},
                            {purchase("tx-2"), {100'000, 100, true, 0}, 70},
                        });
}
