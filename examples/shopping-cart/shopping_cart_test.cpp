// The shopping cart end to end on the local runtime: configured by its module.yaml, fed through
// its Kafka ingresses, checked at its Kafka egresses and in its functions' state, with a
// virtual clock for the carts' expiry.

#include "local_shop.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using shopping_cart::local_shop;
using items = std::map<std::string, std::int64_t>;
using lines = std::vector<std::string>;

}  // namespace

TEST_CASE("restocked items can be added to a cart and bought: one receipt, and the stock stays down") {
  local_shop shop;
  shop.restock("socks", 5);
  shop.restock("hats", 2);
  shop.add("ann", "socks", 2);
  shop.rt.run_until_idle();
  shop.add("ann", "hats", 1);
  shop.rt.run_until_idle();
  CHECK(shop.cart_of("ann").items == items{{"hats", 1}, {"socks", 2}});
  CHECK(shop.stock_of("socks") == 3);  // reserved as soon as added
  CHECK(shop.stock_of("hats") == 1);

  shop.checkout("ann");
  shop.rt.run_until_idle();
  CHECK(shop.cart_of("ann").items.empty());
  CHECK(shop.receipts().empty());  // exactly-once: published by the next checkpoint
  shop.checkpoint();

  const auto receipts = shop.receipts();
  REQUIRE(receipts.size() == 1);
  CHECK(receipts[0].receipt_id == "ann-1");
  CHECK(receipts[0].user == "ann");
  CHECK(receipts[0].items == items{{"hats", 1}, {"socks", 2}});
  const auto& record = *shop.rt.egress("shopping-cart/receipts").at(0).kafka;
  CHECK(record.topic == "receipts");
  CHECK(record.key == "ann");
  CHECK(record.value == R"({"items":{"hats":1,"socks":2},"receipt_id":"ann-1","user":"ann"})");

  CHECK(shop.stock_of("socks") == 3);  // sold
  CHECK(shop.stock_of("hats") == 1);
  CHECK(shop.feedback_to("ann") == lines{"added 2 x socks to your cart", "added 1 x hats to your cart"});
}

TEST_CASE("an item out of stock stays out of the cart, and the user is told why") {
  local_shop shop;
  shop.restock("socks", 1);
  shop.add("ann", "socks", 2);
  shop.add("ann", "gloves", 1);  // never restocked
  shop.rt.ingest("shopping-cart/shop", "ann", shopping_cart::add_to_cart{"socks", 0}, "add-to-cart");
  shop.rt.ingest("shopping-cart/warehouse", "socks", shopping_cart::restock_item{-5});  // no restock at all
  shop.rt.run_until_idle();
  CHECK(shop.cart_of("ann").items.empty());
  CHECK(shop.stock_of("socks") == 1);
  CHECK(shop.stock_of("gloves") == 0);
  const auto feedback = shop.feedback_to("ann");
  CHECK(std::multiset<std::string>(feedback.begin(), feedback.end()) ==
        std::multiset<std::string>{"cannot add 2 x socks: only 1 left", "cannot add 1 x gloves: out of stock",
                                   "cannot add: name an item and a quantity above 0"});
}

TEST_CASE("two users racing for the last items: exactly one gets them, and no unit is lost or made up") {
  for (const bool ann_first : {true, false}) {
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
      CAPTURE(ann_first);
      CAPTURE(seed);
      local_shop shop({.clock = statefun::local::clock::virtual_time(), .shuffle_seed = seed});
      shop.restock("socks", 3);
      shop.rt.run_until_idle();
      for (const char* user : ann_first ? std::vector{"ann", "bob"} : std::vector{"bob", "ann"}) {
        shop.add(user, "socks", 2);  // both before the runtime runs: both are in flight at once
      }
      shop.rt.run_until_idle();

      const std::int64_t ann = shop.cart_of("ann").items["socks"];
      const std::int64_t bob = shop.cart_of("bob").items["socks"];
      CHECK(((ann == 2 && bob == 0) || (ann == 0 && bob == 2)));
      CHECK(shop.stock_of("socks") == 1);
      const std::string loser = ann == 2 ? "bob" : "ann";
      CHECK(shop.feedback_to(loser) == lines{"cannot add 2 x socks: only 1 left"});
    }
  }
}

TEST_CASE("clearing a cart puts its items back on the shelf") {
  local_shop shop;
  shop.restock("socks", 2);
  shop.restock("hats", 1);
  shop.add("ann", "socks", 2);
  shop.add("ann", "hats", 1);
  shop.rt.run_until_idle();
  CHECK(shop.stock_of("socks") == 0);
  CHECK(shop.stock_of("hats") == 0);

  shop.clear("ann");
  shop.rt.run_until_idle();
  CHECK(shop.cart_of("ann").items.empty());
  CHECK(shop.stock_of("socks") == 2);
  CHECK(shop.stock_of("hats") == 1);
  CHECK(shop.feedback_to("ann").back() == "cart cleared");

  shop.add("bob", "socks", 2);  // what ann gave back, bob can have
  shop.rt.run_until_idle();
  CHECK(shop.cart_of("bob").items == items{{"socks", 2}});
}

TEST_CASE("removing puts back what is removed, and never more than the cart holds") {
  local_shop shop;
  shop.restock("socks", 5);
  shop.add("ann", "socks", 3);
  shop.rt.run_until_idle();
  shop.remove("ann", "socks", 1);
  shop.rt.run_until_idle();
  CHECK(shop.cart_of("ann").items == items{{"socks", 2}});
  CHECK(shop.stock_of("socks") == 3);

  shop.remove("ann", "socks", 10);
  shop.remove("ann", "hats", 1);
  shop.rt.run_until_idle();
  CHECK(shop.cart_of("ann").items.empty());
  CHECK(shop.stock_of("socks") == 5);
  CHECK(shop.feedback_to("ann") == lines{"added 3 x socks to your cart", "removed 1 x socks from your cart",
                                         "removed 2 x socks from your cart", "no hats in your cart"});
}

TEST_CASE("checking out an empty cart publishes no receipt and tells the user") {
  local_shop shop;
  shop.checkout("ann");
  shop.rt.run_until_idle();
  shop.checkpoint();
  CHECK(shop.receipts().empty());
  CHECK(shop.feedback_to("ann") == lines{"nothing to check out: your cart is empty"});
  CHECK(shop.cart_of("ann").checkouts == 0);
}

TEST_CASE("each checkout publishes one receipt, with an id of its own") {
  local_shop shop;
  shop.restock("socks", 10);
  for (const auto& [user, quantity] : std::vector<std::pair<std::string, int>>{{"ann", 1}, {"ann", 2}, {"bob", 3}}) {
    shop.add(user, "socks", quantity);
    shop.rt.run_until_idle();
    shop.checkout(user);
    shop.rt.run_until_idle();
  }
  shop.checkout("ann");  // empty by now
  shop.rt.run_until_idle();
  shop.checkpoint();
  shop.checkpoint();  // a checkpoint with nothing new publishes nothing again

  const auto receipts = shop.receipts();
  REQUIRE(receipts.size() == 3);
  CHECK(receipts[0].receipt_id == "ann-1");
  CHECK(receipts[0].items == items{{"socks", 1}});
  CHECK(receipts[1].receipt_id == "ann-2");
  CHECK(receipts[1].items == items{{"socks", 2}});
  CHECK(receipts[2].receipt_id == "bob-1");
  CHECK(receipts[2].items == items{{"socks", 3}});
  CHECK(shop.cart_of("ann").checkouts == 2);
  CHECK(shop.stock_of("socks") == 4);
}

TEST_CASE("a receipt is published exactly once when the job crashes around a checkout") {
  local_shop shop;
  shop.restock("socks", 2);
  shop.add("ann", "socks", 2);
  shop.rt.run_until_idle();
  const auto before_checkout = shop.checkpoint();

  shop.checkout("ann");
  shop.rt.run_until_idle();
  CHECK(shop.cart_of("ann").items.empty());
  CHECK(shop.receipts().empty());

  SUBCASE("crash before the next checkpoint: the checkout is done again, and its receipt appears once") {
    shop.rt.restore(before_checkout);
    CHECK(shop.cart_of("ann").items == items{{"socks", 2}});  // as if the checkout never happened
    shop.rt.run_until_idle();                                   // the checkout record is read again
    shop.checkpoint();
  }
  SUBCASE("crash after the next checkpoint: nothing is done again") {
    const auto after_checkout = shop.checkpoint();
    shop.rt.restore(after_checkout);
    shop.rt.run_until_idle();
    shop.checkpoint();
  }
  const auto receipts = shop.receipts();
  REQUIRE(receipts.size() == 1);
  CHECK(receipts[0].receipt_id == "ann-1");
  CHECK(receipts[0].items == items{{"socks", 2}});
  CHECK(shop.cart_of("ann").items.empty());
  CHECK(shop.stock_of("socks") == 0);
}

TEST_CASE("a cart left alone for 30 minutes gives its items back; every message to it restarts the wait") {
  local_shop shop;
  shop.restock("socks", 2);
  shop.add("ann", "socks", 2);
  shop.rt.run_until_idle();
  shop.rt.advance(20min);
  shop.add("ann", "hats", 1);  // out of stock, but ann is still there
  shop.rt.run_until_idle();
  shop.rt.advance(29min);
  CHECK(shop.cart_of("ann").items == items{{"socks", 2}});
  shop.rt.advance(1min);
  CHECK(shop.cart_of("ann").items.empty());
  CHECK(shop.stock_of("socks") == 2);
  CHECK(shop.feedback_to("ann").back() == "your cart was left alone for 30 minutes: its items are back on the shelf");
}

TEST_CASE("an empty cart holds nothing, so nothing is left to expire") {
  local_shop shop;
  shop.restock("socks", 3);
  shop.add("ann", "socks", 1);
  shop.add("bob", "socks", 1);
  shop.add("cid", "socks", 1);
  shop.rt.run_until_idle();
  CHECK(shop.rt.pending_delayed_messages() == 3);
  shop.checkout("ann");
  shop.clear("bob");
  shop.remove("cid", "socks", 1);
  shop.rt.run_until_idle();
  CHECK(shop.rt.pending_delayed_messages() == 0);
}
