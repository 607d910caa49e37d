#pragma once

// The shopping cart on the local runtime, for the runner and the tests: configured by the
// module.yaml deployed to the cluster (EXAMPLE_MODULE_YAML), the functions served in this
// process, input produced to the module's Kafka topics, a virtual clock by default.

#include "shopping_cart.hpp"

#include <statefun/local/module_yaml.hpp>
#include <statefun/local/runtime.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace shopping_cart {

struct local_shop {
  statefun::functions fns;  // declared first: the runtime must not outlive the functions it serves
  statefun::local::runtime rt;

  explicit local_shop(statefun::local::runtime_options options = {.clock = statefun::local::clock::virtual_time()})
      : rt(statefun::local::load_module(EXAMPLE_MODULE_YAML), std::move(options)) {
    bind_functions(fns);
    rt.serve(fns);
  }

  // Records as the warehouse and the shoppers produce them; the next run call reads them.
  void restock(const std::string& item, std::int64_t quantity) {
    rt.ingest("shopping-cart/warehouse", item, restock_item{quantity});
  }
  void add(const std::string& user, const std::string& item, std::int64_t quantity) {
    rt.ingest("shopping-cart/shop", user, add_to_cart{item, quantity}, "add-to-cart");
  }
  void remove(const std::string& user, const std::string& item, std::int64_t quantity) {
    rt.ingest("shopping-cart/shop", user, remove_from_cart{item, quantity}, "remove-from-cart");
  }
  void clear(const std::string& user) { rt.ingest("shopping-cart/shop", user, clear_cart{}, "clear-cart"); }
  void checkout(const std::string& user) {
    rt.ingest("shopping-cart/shop", user, shopping_cart::checkout{}, "checkout");
  }

  /// A Flink checkpoint: it saves everything, and publishes the receipts (exactly-once egress).
  statefun::local::snapshot checkpoint() { return rt.take_snapshot(); }

  /// The receipts published so far (at checkpoints), in order.
  [[nodiscard]] std::vector<receipt> receipts() const {
    std::vector<receipt> out;
    for (const auto& record : rt.egress("shopping-cart/receipts")) {
      out.push_back(statefun::type<receipt>::decode(record.kafka->value));
    }
    return out;
  }

  /// The feedback published to `user` so far, in order.
  [[nodiscard]] std::vector<std::string> feedback_to(const std::string& user) const {
    std::vector<std::string> out;
    for (const auto& record : rt.egress("shopping-cart/feedback")) {
      if (record.kafka->key == user) {
        out.push_back(record.kafka->value);
      }
    }
    return out;
  }

  [[nodiscard]] std::int64_t stock_of(const std::string& item) const {
    return rt.state(inventory_of(item), stock).value_or(0);
  }
  [[nodiscard]] cart cart_of(const std::string& user) const {
    return rt.state(statefun::address{"shopping-cart/cart", user}, cart_state).value_or(cart{});
  }
};

}  // namespace shopping_cart
