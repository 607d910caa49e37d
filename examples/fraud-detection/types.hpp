#pragma once

// The messages of the fraud-detection example, all JSON: what arrives from Kafka, what the
// functions ask and answer each other, and the alert published to Kafka.

#include <statefun/json.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace fraud {

/// A card transaction, from the Kafka topic "transactions" (key: the transaction id).
struct transaction {
  std::string id{};
  std::string account{};
  std::string merchant{};
  std::int64_t amount_cents{};

  friend bool operator==(const transaction&, const transaction&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(transaction, id, account, merchant, amount_cents)

/// A transaction confirmed fraudulent, from the Kafka topic "confirmed-fraud" (key: the account).
struct confirmed_fraud {
  std::string account{};
  std::string transaction{};  // the id of the fraudulent transaction

  friend bool operator==(const confirmed_fraud&, const confirmed_fraud&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(confirmed_fraud, account, transaction)

/// The transaction manager's question to the merchant and counter functions.
struct feature_request {
  std::string transaction{};  // who asks: for tracing only, the answer goes to the caller
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(feature_request, transaction)

/// The merchant's risk, 0 (trusted) to 100, from the merchant-score service; when the service
/// cannot say, a neutral 50 flagged unknown.
struct merchant_score {
  std::int32_t score{};
  bool known{};

  friend bool operator==(const merchant_score&, const merchant_score&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(merchant_score, score, known)

/// How many frauds were confirmed on the account in the last 30 minutes.
struct fraud_count {
  std::int32_t recent{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(fraud_count, recent)

/// What the model scores.
struct feature_vector {
  std::int64_t amount_cents{};
  std::int32_t merchant_score{};
  bool merchant_known{};
  std::int32_t recent_frauds{};

  friend bool operator==(const feature_vector&, const feature_vector&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(feature_vector, amount_cents, merchant_score, merchant_known, recent_frauds)

/// The model's answer: 0 (fine) to 100 (surely fraud).
struct fraud_score {
  std::int32_t score{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(fraud_score, score)

/// The counter's reminder to itself, 30 minutes after a report, to forget it.
struct forget_report {
  std::string transaction{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(forget_report, transaction)

/// A suspicious transaction, published to the Kafka topic "alerts" (key: the account).
struct alert {
  fraud::transaction transaction{};
  feature_vector features{};
  std::int32_t score{};

  friend bool operator==(const alert&, const alert&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(alert, transaction, features, score)

}  // namespace fraud

STATEFUN_JSON_TYPE(fraud::transaction, "fraud.types/Transaction");
STATEFUN_JSON_TYPE(fraud::confirmed_fraud, "fraud.types/ConfirmedFraud");
STATEFUN_JSON_TYPE(fraud::feature_request, "fraud.types/FeatureRequest");
STATEFUN_JSON_TYPE(fraud::merchant_score, "fraud.types/MerchantScore");
STATEFUN_JSON_TYPE(fraud::fraud_count, "fraud.types/FraudCount");
STATEFUN_JSON_TYPE(fraud::feature_vector, "fraud.types/FeatureVector");
STATEFUN_JSON_TYPE(fraud::fraud_score, "fraud.types/FraudScore");
STATEFUN_JSON_TYPE(fraud::forget_report, "fraud.types/ForgetReport");
STATEFUN_JSON_TYPE(fraud::alert, "fraud.types/Alert");
