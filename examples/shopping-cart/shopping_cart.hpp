#pragma once

// The shopping cart: an inventory per item and a cart per user (see README.md).
//
//   warehouse ──restock──► inventory (id = item)
//                              ▲ reserve, release │ reservation
//                              │                  ▼
//   shoppers ──add, remove, clear, checkout──► cart (id = user) ──► receipts, feedback

#include "cart.hpp"
#include "inventory.hpp"

#include <statefun/statefun.hpp>

namespace shopping_cart {

/// Binds the application's functions.
inline void bind_functions(statefun::functions& fns) {
  fns.bind("shopping-cart/inventory", {stock}, inventory);
  fns.bind("shopping-cart/cart", {cart_state}, user_cart);
}

}  // namespace shopping_cart
