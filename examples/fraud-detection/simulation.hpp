#pragma once

// The simulated world the local runner (and its test) feed to the application: 24 accounts
// shopping at 8 merchants, three of the accounts compromised, their frauds confirmed a little
// later. Seeded, so a run can be repeated exactly.

#include "types.hpp"

#include <statefun/local/runtime.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <random>
#include <utility>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fraud {

/// A merchant of the simulation, and the score the merchant-score service gives it.
struct simulated_merchant {
  std::string_view name{};
  std::int32_t score{};
};

inline constexpr std::array<simulated_merchant, 8> simulated_merchants{{
    {"corner-bakery", 5},
    {"fresh-market", 10},
    {"book-nook", 15},
    {"city-fuel", 20},
    {"electro-mart", 45},
    {"jewel-box", 60},
    {"night-casino", 85},
    {"gift-cards-online", 95},
}};

/// The merchants' scores as the service's --scores option takes them: {"name": score, ...}.
inline std::string simulated_merchant_scores() {
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& merchant : simulated_merchants) {
    scores[std::string(merchant.name)] = merchant.score;
  }
  return scores.dump();
}

/// `n` in decimal, with leading zeros up to `width` digits.
inline std::string zero_padded(std::uint64_t n, std::size_t width) {
  std::string digits = std::to_string(n);
  return std::string(width > digits.size() ? width - digits.size() : 0, '0') + digits;
}

/// One input of a run: a transaction or a confirmed fraud, some time after the previous input.
struct simulated_event {
  std::chrono::seconds after{};
  std::variant<transaction, confirmed_fraud> what{};

  friend bool operator==(const simulated_event&, const simulated_event&) = default;
};

/**
 * `transactions` transactions of accounts acc-01 to acc-24, 1 to 120 seconds apart. The
 * compromised accounts (acc-03, acc-11, acc-17) spend more, at riskier merchants, and their
 * transactions are confirmed fraudulent in between, oldest first.
 */
inline std::vector<simulated_event> simulate(std::size_t transactions, std::uint64_t seed) {
  // mt19937_64's output is fixed by the standard; the distributions are not, so: modulo.
  std::mt19937_64 rng(seed);
  const auto pick = [&rng](std::int64_t n) { return static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n)); };
  const auto between = [&pick](std::int64_t low, std::int64_t high) { return low + pick(high - low + 1); };

  std::vector<simulated_event> events;
  std::deque<transaction> unconfirmed;  // the compromised accounts' transactions, oldest first
  for (std::size_t count = 0; count < transactions;) {
    const std::chrono::seconds after{between(1, 120)};
    if (!unconfirmed.empty() && pick(4) == 0) {
      events.push_back({after, confirmed_fraud{unconfirmed.front().account, unconfirmed.front().id}});
      unconfirmed.pop_front();
      continue;
    }
    const auto account = static_cast<std::uint64_t>(between(1, 24));
    const bool compromised = account == 3 || account == 11 || account == 17;
    const std::int64_t tier = pick(100);
    transaction tx;
    tx.id = "tx-" + zero_padded(++count, 5);
    tx.account = "acc-" + zero_padded(account, 2);
    tx.merchant = simulated_merchants[static_cast<std::size_t>(compromised ? between(4, 7) : pick(8))].name;
    tx.amount_cents = compromised   ? between(20'000, 200'000)
                      : tier < 70   ? between(500, 8'000)
                      : tier < 95   ? between(8'000, 40'000)
                                    : between(40'000, 150'000);
    if (compromised) {
      unconfirmed.push_back(tx);
    }
    events.push_back({after, std::move(tx)});
  }
  return events;
}

/// Lets `e.after` pass on `rt`'s clock, then feeds `e` to the application through its Kafka
/// ingress and runs until it has been handled.
inline void feed(statefun::local::runtime& rt, const simulated_event& e) {
  rt.advance(e.after);
  if (const auto* tx = std::get_if<transaction>(&e.what)) {
    rt.ingest("fraud/transactions", tx->id, *tx, "transactions");
  } else {
    const auto& report = std::get<confirmed_fraud>(e.what);
    rt.ingest("fraud/transactions", report.account, report, "confirmed-fraud");
  }
  rt.run_until_idle();
}

}  // namespace fraud
