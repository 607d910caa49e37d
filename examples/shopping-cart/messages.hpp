#pragma once

// The shopping cart's messages, all JSON: the records the warehouse and the shoppers produce to
// Kafka, what a cart and an item's inventory say to each other, and what the application
// publishes. Quantities are counts of units, 64-bit so that sums of them do not overflow.

#include <statefun/json.hpp>
#include <statefun/statefun.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace shopping_cart {

// ------------------------------------------------------------- from Kafka (the record's key)

/// Topic "restock" (key: the item): units delivered to the warehouse.
struct restock_item {
  std::int64_t quantity{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(restock_item, quantity)

/// Topic "add-to-cart" (key: the user).
struct add_to_cart {
  std::string item{};
  std::int64_t quantity{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(add_to_cart, item, quantity)

/// Topic "remove-from-cart" (key: the user).
struct remove_from_cart {
  std::string item{};
  std::int64_t quantity{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(remove_from_cart, item, quantity)

/// Topic "clear-cart" (key: the user): give back everything in the cart. (No fields: `{}`.)
struct clear_cart {};

/// Topic "checkout" (key: the user): buy everything in the cart.
struct checkout {};

// --------------------------------------------------------- between a cart and an inventory

/// Cart to inventory: take `quantity` units off the shelf for me, all of them or none.
struct reserve_item {
  std::int64_t quantity{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(reserve_item, quantity)

/// Inventory to cart: the answer to `reserve_item`.
struct reservation {
  std::string item{};
  std::int64_t quantity{};
  bool reserved{};
  std::int64_t in_stock{};  ///< left on the shelf after this answer
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(reservation, item, quantity, reserved, in_stock)

/// Cart to inventory: put reserved units back on the shelf.
struct release_item {
  std::int64_t quantity{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(release_item, quantity)

/// Cart to itself: the user has left the cart alone for too long.
struct cart_expired {};

// ------------------------------------------------------------------------- state and output

/// A user's cart: the units reserved for it, and how many checkouts it has had.
struct cart {
  std::map<std::string, std::int64_t> items{};
  std::int64_t checkouts{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(cart, items, checkouts)

/// Topic "receipts" (key: the user): what one checkout bought.
struct receipt {
  std::string receipt_id{};  ///< "<user>-<n>" for the user's n-th checkout
  std::string user{};
  std::map<std::string, std::int64_t> items{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(receipt, receipt_id, user, items)

}  // namespace shopping_cart

STATEFUN_JSON_TYPE(shopping_cart::restock_item, "shopping-cart.types/RestockItem");
STATEFUN_JSON_TYPE(shopping_cart::add_to_cart, "shopping-cart.types/AddToCart");
STATEFUN_JSON_TYPE(shopping_cart::remove_from_cart, "shopping-cart.types/RemoveFromCart");
STATEFUN_JSON_TYPE(shopping_cart::clear_cart, "shopping-cart.types/ClearCart");
STATEFUN_JSON_TYPE(shopping_cart::checkout, "shopping-cart.types/Checkout");
STATEFUN_JSON_TYPE(shopping_cart::reserve_item, "shopping-cart.types/ReserveItem");
STATEFUN_JSON_TYPE(shopping_cart::reservation, "shopping-cart.types/Reservation");
STATEFUN_JSON_TYPE(shopping_cart::release_item, "shopping-cart.types/ReleaseItem");
STATEFUN_JSON_TYPE(shopping_cart::cart_expired, "shopping-cart.types/CartExpired");
STATEFUN_JSON_TYPE(shopping_cart::cart, "shopping-cart.types/Cart");
STATEFUN_JSON_TYPE(shopping_cart::receipt, "shopping-cart.types/Receipt");
