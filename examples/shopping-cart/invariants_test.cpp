// The shopping cart under a seeded random stream of commands over many users and items, fed in
// bursts while the runtime is stopped at random points, with time passing (carts expire) and,
// in one variant, checkpoints and crashes (restores of the latest checkpoint) in between.
// Whatever happens:
//   - no stock is ever negative;
//   - no unit is lost or made up: for each item, on the shelf + in carts + on receipts
//     = restocked;
//   - receipts are exactly once: the n-th checkout of a user has the receipt "<user>-<n>", once.

#include "local_shop.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using shopping_cart::local_shop;

/// How the stream is fed and what goes wrong on the way.
struct plan {
  std::uint64_t seed = 0;
  std::size_t commands = 3000;
  double checkpoint = 0.0;  ///< at each pause: the chance of a checkpoint...
  double crash = 0.0;       ///< ...or of a crash, which restores the latest checkpoint
};

/// What the stream asked for, as its producers would count it.
struct produced {
  std::map<std::string, std::int64_t> restocked;
  std::map<std::string, int> checkouts;  ///< checkout records per user
  int crashes = 0;
};

const std::vector<std::string> users = {"ann", "bob", "cid", "dee", "eve", "fay", "gus", "hal", "ivy", "jan"};
const std::vector<std::string> things = {"socks", "hats", "gloves", "scarves", "boots"};

produced feed_random_commands(local_shop& shop, const plan& p) {
  std::mt19937_64 random(p.seed);
  auto pick = [&random](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(random)];
  };
  auto number = [&random](int low, int high) { return std::uniform_int_distribution<int>(low, high)(random); };
  auto chance = [&random](double probability) { return std::bernoulli_distribution(probability)(random); };

  produced out;
  auto latest = shop.checkpoint();
  for (std::size_t sent = 0; sent < p.commands; ++sent) {
    const int roll = number(0, 99);
    const std::string user = pick(users);
    const std::string item = pick(things);
    if (roll < 15) {
      const int quantity = number(1, 6);
      shop.restock(item, quantity);
      out.restocked[item] += quantity;
    } else if (roll < 60) {
      shop.add(user, item, number(1, 3));
    } else if (roll < 72) {
      shop.remove(user, item, number(1, 3));
    } else if (roll < 78) {
      shop.clear(user);
    } else {
      shop.checkout(user);
      ++out.checkouts[user];
    }

    if (chance(0.3)) {  // a pause: the runtime does some work, then stops anywhere
      shop.rt.run_steps(static_cast<std::size_t>(number(1, 40)));
      for (const auto& thing : things) {
        REQUIRE(shop.stock_of(thing) >= 0);
      }
      if (chance(p.crash)) {
        shop.rt.restore(latest);
        ++out.crashes;
      } else if (chance(p.checkpoint)) {
        latest = shop.checkpoint();
      }
    }
    if (chance(0.02)) {
      shop.rt.advance(std::chrono::minutes(number(1, 20)));  // some carts expire
    }
  }
  shop.rt.run_until_idle();
  shop.checkpoint();
  return out;
}

void check_invariants(const local_shop& shop, const produced& in) {

  std::map<std::string, std::int64_t> sold;
  std::set<std::string> receipt_ids;
  std::map<std::string, int> receipts_of;
  for (const auto& r : shop.receipts()) {
    REQUIRE_MESSAGE(receipt_ids.insert(r.receipt_id).second, "receipt " << r.receipt_id << " published twice");
    REQUIRE(r.receipt_id == r.user + "-" + std::to_string(++receipts_of[r.user]));  // none left out
    REQUIRE_FALSE(r.items.empty());
    for (const auto& [item, quantity] : r.items) {
      sold[item] += quantity;
    }
  }
  for (const auto& item : things) {
    CAPTURE(item);
    std::int64_t in_carts = 0;
    for (const auto& user : users) {
      const auto items = shop.cart_of(user).items;
      const auto line = items.find(item);
      in_carts += line == items.end() ? 0 : line->second;
    }
    CHECK(shop.stock_of(item) >= 0);
    CHECK(shop.stock_of(item) + in_carts + sold[item] == in.restocked.at(item));
  }
  for (const auto& user : users) {
    CAPTURE(user);
    CHECK(receipts_of[user] == shop.cart_of(user).checkouts);
    CHECK(receipts_of[user] <= in.checkouts.at(user));
  }
}

}  // namespace

TEST_CASE("a random stream of commands never loses or makes up a unit, and never repeats a receipt") {
  SUBCASE("delivered in order, no faults: every checkout publishes a receipt or says the cart is empty") {
    local_shop shop;
    const produced in = feed_random_commands(shop, {.seed = 20240601});
    check_invariants(shop, in);
    for (const auto& user : users) {
      CAPTURE(user);
      int empty_checkouts = 0;
      for (const auto& text : shop.feedback_to(user)) {
        empty_checkouts += text == "nothing to check out: your cart is empty" ? 1 : 0;
      }
      CHECK(shop.cart_of(user).checkouts + empty_checkouts == in.checkouts.at(user));
    }
  }
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    SUBCASE(("shuffled, with checkpoints and crashes, seed " + std::to_string(seed)).c_str()) {
      local_shop shop({.clock = statefun::local::clock::virtual_time(), .shuffle_seed = seed});
      const produced in = feed_random_commands(shop, {.seed = seed, .checkpoint = 0.3, .crash = 0.1});
      CHECK(in.crashes > 10);
      check_invariants(shop, in);
    }
  }
}
