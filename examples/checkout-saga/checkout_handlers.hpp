#pragma once

// The same checkout as message handlers, the way StateFun's other SDKs write it: the function
// keeps its place in a state of its own and picks up from there on each reply.

#include "saga.hpp"

namespace saga {

/// Where a checkout stands between messages.
struct checkout_state {
  order o;
  std::string step;  ///< "reserving", "charging", "releasing"
  std::int64_t left = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(checkout_state, o, step, left)

}  // namespace saga

STATEFUN_JSON_TYPE(saga::checkout_state, "saga.types/CheckoutState");

namespace saga {

inline constexpr auto progress = statefun::value_spec<checkout_state>{"progress"};

inline void checkout_handlers(statefun::context& ctx, const statefun::message& msg) {
  const std::string& id = ctx.self().id;
  if (msg.is<order>()) {
    const checkout_state started{msg.as<order>(), "reserving", 0};
    ctx.storage().set(progress, started);
    ctx.send(statefun::message_to({"saga/stock", started.o.item}).value(reserve{id, started.o.count}));
    return;
  }
  auto state = ctx.storage().get(progress).value();
  if (state.step == "reserving") {
    const auto held = msg.as<stock_reply>();
    if (!held.ok) {
      publish(ctx, "out of stock");
      ctx.storage().remove(progress);
      return;
    }
    state.step = "charging";
    state.left = held.left;
    ctx.storage().set(progress, state);
    ctx.send(statefun::message_to({"saga/wallet", state.o.user}).value(charge{id, state.o.count * state.o.price}));
  } else if (state.step == "charging") {
    const auto paid = msg.as<wallet_reply>();
    if (!paid.ok) {
      state.step = "releasing";
      ctx.storage().set(progress, state);
      ctx.send(statefun::message_to({"saga/stock", state.o.item}).value(release{id, state.o.count}));
      return;
    }
    publish(ctx, "confirmed, " + std::to_string(state.left) + " left, balance " + std::to_string(paid.balance));
    ctx.storage().remove(progress);
  } else {  // "releasing": the stock is back
    publish(ctx, "payment declined, stock released");
    ctx.storage().remove(progress);
  }
}

inline void bind_handlers(statefun::functions& fns) {
  fns.bind("saga/stock", {on_shelf}, stock);
  fns.bind("saga/wallet", {balance}, wallet);
  fns.bind("saga/checkout", {progress}, checkout_handlers);
}

}  // namespace saga
