#pragma once

// The checkout saga's participants and messages: `saga/stock` (one per item) holds stock, and
// `saga/wallet` (one per user) holds money. Both answer every request with a reply to the
// caller, as any function can; they do not know whether the caller is a durable flow
// (checkout_flow.hpp) or message handlers (checkout_handlers.hpp).

#include <statefun/durable.hpp>
#include <statefun/json.hpp>
#include <statefun/statefun.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace saga {

/// What starts a checkout (the ingress; the function's id is the order id).
struct order {
  std::string user;
  std::string item;
  std::int64_t count = 0;
  std::int64_t price = 0;  ///< per item, in cents
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(order, user, item, count, price)

struct reserve {
  std::string order_id;
  std::int64_t count = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(reserve, order_id, count)

struct release {
  std::string order_id;
  std::int64_t count = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(release, order_id, count)

struct charge {
  std::string order_id;
  std::int64_t amount = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(charge, order_id, amount)

/// The answer to `reserve` or `release`: whether it was done, and the stock left.
struct stock_reply {
  bool ok = false;
  std::int64_t left = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(stock_reply, ok, left)

/// The answer to `charge`: whether it was paid, and the balance left.
struct wallet_reply {
  bool ok = false;
  std::int64_t balance = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(wallet_reply, ok, balance)

}  // namespace saga

STATEFUN_JSON_TYPE(saga::order, "saga.types/Order");
STATEFUN_JSON_TYPE(saga::reserve, "saga.types/Reserve");
STATEFUN_JSON_TYPE(saga::release, "saga.types/Release");
STATEFUN_JSON_TYPE(saga::charge, "saga.types/Charge");
STATEFUN_JSON_TYPE(saga::stock_reply, "saga.types/StockReply");
STATEFUN_JSON_TYPE(saga::wallet_reply, "saga.types/WalletReply");

namespace saga {

inline constexpr auto on_shelf = statefun::value_spec<std::int64_t>{"on_shelf"};
inline constexpr auto balance = statefun::value_spec<std::int64_t>{"balance"};
/// What the shop starts with, for the examples: 10 of every item, 100.00 in every wallet.
inline constexpr std::int64_t initial_stock = 10;
inline constexpr std::int64_t initial_balance = 10'000;

/// `saga/stock`: reserves all of a request or nothing; releases what a failed checkout held.
inline stock_reply stock(statefun::context& ctx, const statefun::message& msg) {
  std::int64_t left = ctx.storage().get(on_shelf).value_or(initial_stock);
  bool ok = true;
  if (msg.is<reserve>()) {
    const auto request = msg.as<reserve>();
    ok = request.count <= left;
    left -= ok ? request.count : 0;
  } else {
    left += msg.as<release>().count;
  }
  ctx.storage().set(on_shelf, left);
  return {ok, left};  // returned: sent to the caller as the reply
}

/// `saga/wallet`: charges an amount if the balance covers it.
inline wallet_reply wallet(statefun::context& ctx, const statefun::message& msg) {
  const auto request = msg.as<charge>();
  std::int64_t left = ctx.storage().get(balance).value_or(initial_balance);
  const bool ok = request.amount <= left;
  left -= ok ? request.amount : 0;
  ctx.storage().set(balance, left);
  return {ok, left};
}

/// How a checkout ends: a record on the Kafka topic "receipts", keyed by order id. `Context` is
/// `statefun::context` or `statefun::durable_context`.
template <class Context>
void publish(Context& ctx, const std::string& outcome) {
  ctx.send_egress(statefun::kafka_egress{"saga/receipts"}.topic("receipts").key(ctx.self().id).value(outcome));
}

}  // namespace saga
