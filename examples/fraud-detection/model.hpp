#pragma once

// The fraud model: a deterministic risk score from a transaction's feature vector. A real
// deployment would evaluate a trained model here; integer points keep the example's outcomes
// exact, so the tests can say which transactions raise an alert.

#include "types.hpp"

#include <algorithm>
#include <cstdint>

namespace fraud {

/// Transactions scoring this much or more raise an alert.
inline constexpr std::int32_t alert_threshold = 60;

/**
 * The risk score, 0 to 100:
 * - the amount: 1 point per 25.00, up to 40 (from 1,000.00);
 * - the merchant's risk: 3 points per 10, up to 30 (an unknown merchant's neutral 50: 15);
 * - frauds confirmed on the account in the last 30 minutes: 15 points each, up to 30.
 */
inline std::int32_t risk_score(const feature_vector& f) {
  const auto amount_points = static_cast<std::int32_t>(std::clamp<std::int64_t>(f.amount_cents / 2'500, 0, 40));
  const std::int32_t merchant_points = std::clamp(f.merchant_score, 0, 100) * 3 / 10;
  const std::int32_t fraud_points = std::clamp(f.recent_frauds, 0, 2) * 15;
  return amount_points + merchant_points + fraud_points;
}

}  // namespace fraud
