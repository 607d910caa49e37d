#pragma once

// The checkout as one durable flow: reserve the stock, charge the user, and give the stock back
// if the charge fails. Each `co_await ctx.call` sends a request and resumes with the reply, an
// invocation later; the journal keeps the flow's place (docs/durable.md). Requests are named
// before the co_await: g++ 12 mishandles a braced temporary inside a co_await expression.

#include "saga.hpp"

namespace saga {

inline statefun::task<> checkout_flow(statefun::durable_context& ctx, const statefun::message& msg) {
  const auto o = msg.as<order>();
  const std::string& id = ctx.self().id;
  const statefun::address shelf{"saga/stock", o.item};

  const reserve hold{id, o.count};
  const auto held = co_await ctx.call<stock_reply>(shelf, hold);
  if (!held.ok) {
    publish(ctx, "out of stock");
    co_return;
  }
  const charge bill{id, o.count * o.price};
  const auto paid = co_await ctx.call<wallet_reply>({"saga/wallet", o.user}, bill);
  if (!paid.ok) {
    const release give_back{id, o.count};
    co_await ctx.call<stock_reply>(shelf, give_back);  // compensate
    publish(ctx, "payment declined, stock released");
    co_return;
  }
  publish(ctx, "confirmed, " + std::to_string(held.left) + " left, balance " + std::to_string(paid.balance));
}

inline void bind_flow(statefun::functions& fns) {
  fns.bind("saga/stock", {on_shelf}, stock);
  fns.bind("saga/wallet", {balance}, wallet);
  fns.bind("saga/checkout", checkout_flow);
}

}  // namespace saga
