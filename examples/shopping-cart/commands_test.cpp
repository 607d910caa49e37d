// The local runner's commands: each one feeds its record to the module's ingress (or lets
// virtual time pass); bad input is refused with a message that says what is wrong.

#include "commands.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using shopping_cart::local_shop;
using shopping_cart::parse_command;

void run(local_shop& shop, const std::vector<std::string>& script) {
  for (const auto& line : script) {
    parse_command(line)(shop);
    shop.rt.run_until_idle();
  }
}

}  // namespace

TEST_CASE("each command feeds its record to the application") {
  local_shop shop;
  run(shop, {"restock socks 5", "restock hats 1", "add ann socks 3", "add ann hats 1", "remove ann socks 1"});
  CHECK(shop.cart_of("ann").items == std::map<std::string, std::int64_t>{{"hats", 1}, {"socks", 2}});
  CHECK(shop.stock_of("socks") == 3);

  run(shop, {"clear ann", "add bob  hats\t1", "checkout bob"});
  shop.checkpoint();
  CHECK(shop.cart_of("ann").items.empty());
  REQUIRE(shop.receipts().size() == 1);
  CHECK(shop.receipts()[0].user == "bob");

  const auto start = shop.rt.now();
  run(shop, {"+90s", "+30min"});
  CHECK(shop.rt.now() - start == 90s + 30min);
}

TEST_CASE("a bad command is refused, saying what is wrong") {
  auto refusal = [](const std::string& line) {
    try {
      static_cast<void>(parse_command(line));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  CHECK(refusal("add ann socks") == "usage: add USER ITEM QUANTITY");
  CHECK(refusal("restock socks 1 2") == "usage: restock ITEM QUANTITY");
  CHECK(refusal("checkout") == "usage: checkout USER");
  CHECK(refusal("clear ann bob") == "usage: clear USER");
  CHECK(refusal("remove ann socks") == "usage: remove USER ITEM QUANTITY");
  CHECK(refusal("add ann socks 0") == "'0' is not a quantity (a whole number above 0)");
  CHECK(refusal("add ann socks -2") == "'-2' is not a quantity (a whole number above 0)");
  CHECK(refusal("restock socks 2x") == "'2x' is not a quantity (a whole number above 0)");
  CHECK(refusal("restock socks 99999999999999999999") ==
        "'99999999999999999999' is not a quantity (a whole number above 0)");
  CHECK(refusal("+soon").find("'soon' is not a duration") == 0);
  CHECK(refusal("buy ann socks 1").starts_with("not a command (restock ITEM QUANTITY | add USER"));
  CHECK(refusal("").starts_with("not a command"));
}
