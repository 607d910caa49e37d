#pragma once

// A user's cart (id = the user). Units are reserved when they are added: the cart asks the
// item's inventory, and they enter the cart when the inventory answers that they are set
// aside. Removing, clearing and expiry put them back on the shelf; checkout sells what the cart
// holds and publishes one receipt.

#include "inventory.hpp"
#include "messages.hpp"

#include <statefun/statefun.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace shopping_cart {

inline constexpr auto cart_state = statefun::value_spec<cart>{"cart"};

/// How long a cart keeps its units after the last thing that happened to it.
inline constexpr std::chrono::minutes hold_time{30};

/// Tells the user how a request went (topic "feedback", key: the user).
inline void tell(statefun::context& ctx, const std::string& text) {
  ctx.send_egress(statefun::kafka_egress{"shopping-cart/feedback"}.topic("feedback").key(ctx.self().id).value(text));
}

inline std::string units(std::int64_t quantity, const std::string& item) {
  return std::to_string(quantity) + " x " + item;
}

inline void ask_inventory(statefun::context& ctx, const add_to_cart& request) {
  if (request.item.empty() || request.quantity <= 0) {
    tell(ctx, "cannot add: name an item and a quantity above 0");
    return;
  }
  ctx.send(statefun::message_to(inventory_of(request.item)).value(reserve_item{request.quantity}));
}

inline void take_reserved(statefun::context& ctx, cart& c, const reservation& answer) {
  const std::string asked = units(answer.quantity, answer.item);
  if (answer.reserved) {
    c.items[answer.item] += answer.quantity;
    tell(ctx, "added " + asked + " to your cart");
  } else if (answer.in_stock == 0) {
    tell(ctx, "cannot add " + asked + ": out of stock");
  } else {
    tell(ctx, "cannot add " + asked + ": only " + std::to_string(answer.in_stock) + " left");
  }
}

inline void put_back(statefun::context& ctx, const std::string& item, std::int64_t quantity) {
  ctx.send(statefun::message_to(inventory_of(item)).value(release_item{quantity}));
}

inline void remove_units(statefun::context& ctx, cart& c, const remove_from_cart& request) {
  if (request.quantity <= 0) {
    tell(ctx, "cannot remove: name a quantity above 0");
    return;
  }
  const auto line = c.items.find(request.item);
  if (line == c.items.end()) {
    tell(ctx, "no " + request.item + " in your cart");
    return;
  }
  const std::int64_t removed = std::min(request.quantity, line->second);
  put_back(ctx, request.item, removed);
  if ((line->second -= removed) == 0) {
    c.items.erase(line);
  }
  tell(ctx, "removed " + units(removed, request.item) + " from your cart");
}

inline void put_all_back(statefun::context& ctx, cart& c) {
  for (const auto& [item, quantity] : c.items) {
    put_back(ctx, item, quantity);
  }
  c.items.clear();
}

inline void expire(statefun::context& ctx, cart& c) {
  if (!c.items.empty()) {
    put_all_back(ctx, c);
    tell(ctx, "your cart was left alone for " + std::to_string(hold_time.count()) +
                  " minutes: its items are back on the shelf");
  }
}

inline void check_out(statefun::context& ctx, cart& c) {
  if (c.items.empty()) {
    tell(ctx, "nothing to check out: your cart is empty");
    return;
  }
  // The receipt and the emptied cart are one answer to the runtime: both happen, or neither.
  const std::string& user = ctx.self().id;
  const receipt sold{.receipt_id = user + "-" + std::to_string(++c.checkouts), .user = user, .items = c.items};
  ctx.send_egress(statefun::kafka_egress{"shopping-cart/receipts"}.topic("receipts").key(user).value(sold));
  c.items.clear();
}

/// The function: one cart per user.
inline void user_cart(statefun::context& ctx, const statefun::message& msg) {
  cart c = ctx.storage().get(cart_state).value_or(cart{});
  if (msg.is<add_to_cart>()) {
    ask_inventory(ctx, msg.as<add_to_cart>());
  } else if (msg.is<reservation>()) {
    take_reserved(ctx, c, msg.as<reservation>());
  } else if (msg.is<remove_from_cart>()) {
    remove_units(ctx, c, msg.as<remove_from_cart>());
  } else if (msg.is<clear_cart>()) {
    put_all_back(ctx, c);
    tell(ctx, "cart cleared");
  } else if (msg.is<checkout>()) {
    check_out(ctx, c);
  } else if (msg.is<cart_expired>()) {
    expire(ctx, c);
  } else {
    throw std::invalid_argument("shopping-cart/cart: unexpected message of type " + std::string(msg.type_name()));
  }
  ctx.storage().set(cart_state, c);

  // A cart holds its units for hold_time after its last message: each message re-arms the one
  // expiry (the token is scoped to this cart's id, the user).
  const statefun::cancellation_token expiry{"cart-expiry"};
  ctx.cancel_delayed_message(expiry);
  if (!c.items.empty()) {
    ctx.send_after(hold_time, statefun::message_to(ctx.self()).value(cart_expired{}), expiry);
  }
}

}  // namespace shopping_cart
