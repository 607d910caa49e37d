// The simulator's run through the whole application, checked against alerts computed here
// directly from the simulated inputs: the counts of the last 30 minutes by hand, the merchants'
// scores from the simulation's catalogue, and the model.

#include "simulation.hpp"
#include "test_app.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
using fraud_test::fraud_app;

namespace {

std::int32_t score_of(const std::string& merchant) {
  for (const auto& m : fraud::simulated_merchants) {
    if (m.name == merchant) {
      return m.score;
    }
  }
  FAIL("the simulation used a merchant of no catalogue: " << merchant);
  return 0;
}

/// The alerts the run must raise, worked out without the runtime.
std::vector<fraud::alert> expected_alerts(const std::vector<fraud::simulated_event>& events) {
  std::vector<fraud::alert> alerts;
  std::map<std::string, std::vector<std::chrono::seconds>> reported_at;  // per account
  std::chrono::seconds now{0};
  for (const auto& event : events) {
    now += event.after;
    if (const auto* report = std::get_if<fraud::confirmed_fraud>(&event.what)) {
      reported_at[report->account].push_back(now);
      continue;
    }
    const auto& tx = std::get<fraud::transaction>(event.what);
    const auto& reports = reported_at[tx.account];
    const auto recent = std::count_if(reports.begin(), reports.end(), [now](auto at) { return now < at + 30min; });
    const fraud::feature_vector features{tx.amount_cents, score_of(tx.merchant), true, static_cast<std::int32_t>(recent)};
    if (const auto score = fraud::risk_score(features); score >= fraud::alert_threshold) {
      alerts.push_back({tx, features, score});
    }
  }
  return alerts;
}

}  // namespace

TEST_CASE("the simulator's run raises exactly the alerts worked out from its inputs") {
  const auto events = fraud::simulate(150, 7);
  const auto expected = expected_alerts(events);
  // A run worth checking: alerts, some of them owed to recent frauds.
  REQUIRE(expected.size() >= 5);
  REQUIRE(std::any_of(expected.begin(), expected.end(), [](const auto& a) { return a.features.recent_frauds > 0; }));

  fraud_app app;  // its service knows the simulation's merchants
  for (const auto& event : events) {
    fraud::feed(app.rt, event);
  }
  CHECK(app.alerts() == expected);
  CHECK(app.scores.unavailable() == 0);
  for (const auto& event : events) {
    if (const auto* tx = std::get_if<fraud::transaction>(&event.what)) {
      CHECK_FALSE(app.holds_state(tx->id));
    }
  }

  app.rt.run_until_quiescent();  // every fraud forgotten in the end
  for (int account = 1; account <= 24; ++account) {
    CHECK(app.recent_frauds("acc-" + fraud::zero_padded(static_cast<std::uint64_t>(account), 2)) == std::nullopt);
  }
}

TEST_CASE("a seed always gives the same run, and another seed another") {
  const auto first = fraud::simulate(100, 1);
  CHECK(first.size() > 100);  // transactions and confirmed frauds
  CHECK(std::count_if(first.begin(), first.end(),
                      [](const auto& e) { return std::holds_alternative<fraud::transaction>(e.what); }) == 100);
  CHECK(fraud::simulate(100, 1) == first);
  CHECK(fraud::simulate(100, 2) != first);
}
