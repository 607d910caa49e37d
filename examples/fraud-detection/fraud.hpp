#pragma once

// Fraud detection, after the StateFun workshop. A transaction reaches its transaction manager,
// which asks the merchant function (for the transaction's merchant) and the counter (for its
// account) for features, hands the feature vector to the model, and raises an alert when the
// score is high. The counter counts the frauds confirmed on an account and forgets each one
// after 30 minutes; the merchant function asks an outside service, over HTTP.

#include "merchant_score_client.hpp"
#include "model.hpp"
#include "types.hpp"

#include <statefun/statefun.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fraud {

// The function types, and the egress alerts go to.
inline constexpr std::string_view transaction_manager_type = "fraud/transaction-manager";
inline constexpr std::string_view merchant_type = "fraud/merchant";
inline constexpr std::string_view counter_type = "fraud/counter";
inline constexpr std::string_view model_type = "fraud/model";
inline constexpr std::string_view alerts_egress = "fraud/alerts";

/// What a function does with a message it has no use for: refuses it, by name.
inline std::invalid_argument unexpected(const statefun::context& ctx, const statefun::message& msg) {
  return std::invalid_argument(ctx.self().to_string() + ": unexpected message of type " + std::string(msg.type_name()));
}

// ---- fraud/transaction-manager (id: the transaction id) -------------------------------------

// The transaction being scored and its features as they come back; all gone once it is scored.
inline constexpr auto pending_transaction = statefun::value_spec<transaction>{"transaction"};
inline constexpr auto merchant_feature = statefun::value_spec<merchant_score>{"merchant_score"};
inline constexpr auto fraud_feature = statefun::value_spec<fraud_count>{"fraud_count"};

/// The feature vector, once the transaction and both of its features are in.
inline std::optional<feature_vector> features_so_far(const statefun::storage& state) {
  const auto tx = state.get(pending_transaction);
  const auto merchant = state.get(merchant_feature);
  const auto frauds = state.get(fraud_feature);
  if (!tx || !merchant || !frauds) {
    return std::nullopt;
  }
  return feature_vector{tx->amount_cents, merchant->score, merchant->known, frauds->recent};
}

/// Sends the feature vector to the model once both features are in.
inline void score_when_complete(statefun::context& ctx) {
  if (const auto features = features_so_far(ctx.storage())) {
    ctx.send(statefun::message_to({model_type, ctx.self().id}).value(*features));
  }
}

inline void manage_transaction(statefun::context& ctx, const statefun::message& msg) {
  statefun::storage& state = ctx.storage();
  if (msg.is<transaction>()) {
    const auto tx = msg.as<transaction>();
    if (tx.id != ctx.self().id) {
      throw std::invalid_argument("transaction '" + tx.id + "' arrived keyed '" + ctx.self().id +
                                  "' (the Kafka key must be the transaction id)");
    }
    state.set(pending_transaction, tx);
    ctx.send(statefun::message_to({merchant_type, tx.merchant}).value(feature_request{tx.id}));
    ctx.send(statefun::message_to({counter_type, tx.account}).value(feature_request{tx.id}));
  } else if (msg.is<merchant_score>()) {
    state.set(merchant_feature, msg.as<merchant_score>());
    score_when_complete(ctx);
  } else if (msg.is<fraud_count>()) {
    state.set(fraud_feature, msg.as<fraud_count>());
    score_when_complete(ctx);
  } else if (msg.is<fraud_score>()) {
    // The model only ever scores a complete feature vector, so everything is still in state.
    const auto tx = state.get(pending_transaction).value();
    const auto score = msg.as<fraud_score>().score;
    if (score >= alert_threshold) {
      const alert suspicious{tx, features_so_far(state).value(), score};
      ctx.send_egress(statefun::kafka_egress{alerts_egress}.topic("alerts").key(tx.account).value(suspicious));
    }
    state.remove(pending_transaction);
    state.remove(merchant_feature);
    state.remove(fraud_feature);
  } else {
    throw unexpected(ctx, msg);
  }
}

// ---- fraud/merchant (id: the merchant) -------------------------------------------------------

inline statefun::task<> score_merchant(merchant_score_client& scores, statefun::context& ctx,
                                       const statefun::message& msg) {
  if (!msg.is<feature_request>()) {
    throw unexpected(ctx, msg);
  }
  const merchant_score score = co_await scores.score_of(ctx.self().id);
  ctx.reply(score);
}

// ---- fraud/counter (id: the account) ---------------------------------------------------------

/// How long a confirmed fraud counts against its account.
inline constexpr std::chrono::minutes report_lifetime{30};
inline constexpr auto recent_frauds = statefun::value_spec<std::int32_t>{"recent_frauds"};

inline void count_frauds(statefun::context& ctx, const statefun::message& msg) {
  statefun::storage& state = ctx.storage();
  const std::int32_t count = state.get(recent_frauds).value_or(0);
  if (msg.is<confirmed_fraud>()) {
    state.set(recent_frauds, count + 1);
    const auto report = msg.as<confirmed_fraud>();
    ctx.send_after(report_lifetime, statefun::message_to(ctx.self()).value(forget_report{report.transaction}));
  } else if (msg.is<forget_report>()) {
    if (count > 1) {
      state.set(recent_frauds, count - 1);
    } else {
      state.remove(recent_frauds);  // nothing is kept for accounts without recent frauds
    }
  } else if (msg.is<feature_request>()) {
    ctx.reply(fraud_count{count});
  } else {
    throw unexpected(ctx, msg);
  }
}

// ---- fraud/model (id: the transaction id, to spread the work) --------------------------------

inline void score_transaction(statefun::context& ctx, const statefun::message& msg) {
  ctx.reply(fraud_score{risk_score(msg.as<feature_vector>())});
}

/// Binds the application's functions; the merchant function calls the service through `scores`.
inline void bind_functions(statefun::functions& fns, merchant_score_client& scores) {
  fns.bind(transaction_manager_type, {pending_transaction, merchant_feature, fraud_feature}, manage_transaction);
  fns.bind(merchant_type, [&scores](statefun::context& ctx, const statefun::message& msg) {
    return score_merchant(scores, ctx, msg);
  });
  fns.bind(counter_type, {recent_frauds}, count_frauds);
  fns.bind(model_type, score_transaction);
}

}  // namespace fraud
