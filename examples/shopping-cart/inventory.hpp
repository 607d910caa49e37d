#pragma once

// An item's inventory (id = the item): the units on the shelf. A reservation takes all the
// units it asks for or none, so the stock never goes negative and no cart gets part of a
// request.

#include "messages.hpp"

#include <statefun/statefun.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

namespace shopping_cart {

inline constexpr auto stock = statefun::value_spec<std::int64_t>{"stock"};

/// The inventory of `item`.
inline statefun::address inventory_of(std::string item) { return {"shopping-cart/inventory", std::move(item)}; }

/// The function: one inventory per item.
inline void inventory(statefun::context& ctx, const statefun::message& msg) {
  std::int64_t on_shelf = ctx.storage().get(stock).value_or(0);
  if (msg.is<reserve_item>()) {
    const std::int64_t wanted = msg.as<reserve_item>().quantity;
    const bool reserved = wanted > 0 && wanted <= on_shelf;
    if (reserved) {
      on_shelf -= wanted;
    }
    const reservation answer{.item = ctx.self().id, .quantity = wanted, .reserved = reserved, .in_stock = on_shelf};
    ctx.reply(answer);  // to the cart that asked
  } else if (msg.is<release_item>()) {
    on_shelf += std::max<std::int64_t>(msg.as<release_item>().quantity, 0);
  } else {
    on_shelf += std::max<std::int64_t>(msg.as<restock_item>().quantity, 0);  // a negative restock is no restock
  }
  ctx.storage().set(stock, on_shelf);
}

}  // namespace shopping_cart
