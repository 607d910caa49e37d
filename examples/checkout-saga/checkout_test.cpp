// The checkout saga end to end on the local runtime, configured by its module.yaml: orders come
// in through the Kafka ingress, receipts go out through the Kafka egress. Every case runs both
// versions: the durable flow (checkout_flow.hpp) and the message handlers (checkout_handlers.hpp).

#include "checkout_flow.hpp"
#include "checkout_handlers.hpp"

#include <statefun/local/module_yaml.hpp>
#include <statefun/local/runtime.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace {

namespace local = statefun::local;

struct version {
  const char* name;
  void (*bind)(statefun::functions&);
};

constexpr version versions[] = {{"durable flow", saga::bind_flow}, {"message handlers", saga::bind_handlers}};

struct saga_app {
  statefun::functions fns;  // before the runtime, which must go first
  local::runtime rt{local::load_module(EXAMPLE_MODULE_YAML), {.clock = local::clock::virtual_time()}};

  explicit saga_app(const version& v) {
    v.bind(fns);
    rt.serve(fns);
  }

  void place(const std::string& order_id, const saga::order& o) { rt.ingest("saga/orders", order_id, o); }

  /// Receipts by order id, once the snapshot that publishes them is taken (exactly once).
  std::map<std::string, std::string> receipts() {
    rt.run_until_idle();
    rt.take_snapshot();
    std::map<std::string, std::string> out;
    for (const auto& record : rt.egress("saga/receipts")) {
      REQUIRE(record.kafka);
      CHECK(out.emplace(record.kafka->key.value_or("?"), record.kafka->value).second);  // one per order
    }
    return out;
  }

  std::int64_t shelf(const std::string& item) {
    return rt.state(statefun::address{"saga/stock", item}, saga::on_shelf).value_or(saga::initial_stock);
  }
  std::int64_t balance(const std::string& user) {
    return rt.state(statefun::address{"saga/wallet", user}, saga::balance).value_or(saga::initial_balance);
  }
};

}  // namespace

TEST_CASE("an order that can be paid: stock reserved, user charged, receipt published") {
  for (const version& v : versions) {
    CAPTURE(v.name);
    saga_app app(v);
    app.place("o1", {"ann", "apple", 3, 500});
    CHECK(app.receipts() == std::map<std::string, std::string>{{"o1", "confirmed, 7 left, balance 8500"}});
    CHECK(app.shelf("apple") == 7);
    CHECK(app.balance("ann") == 8500);
  }
}

TEST_CASE("an order beyond the stock is refused before anyone is charged") {
  for (const version& v : versions) {
    CAPTURE(v.name);
    saga_app app(v);
    app.place("o2", {"ann", "apple", 11, 500});
    CHECK(app.receipts() == std::map<std::string, std::string>{{"o2", "out of stock"}});
    CHECK(app.shelf("apple") == 10);
    CHECK(app.balance("ann") == 10'000);
  }
}

TEST_CASE("a declined payment gives the reserved stock back (the compensation)") {
  for (const version& v : versions) {
    CAPTURE(v.name);
    saga_app app(v);
    app.place("o3", {"bob", "pear", 5, 5'000});  // 250.00 > 100.00
    CHECK(app.receipts() == std::map<std::string, std::string>{{"o3", "payment declined, stock released"}});
    CHECK(app.shelf("pear") == 10);
    CHECK(app.balance("bob") == 10'000);
  }
}

TEST_CASE("many orders at once: both versions agree, and stock and money add up") {
  std::vector<std::map<std::string, std::string>> outcomes;
  for (const version& v : versions) {
    CAPTURE(v.name);
    saga_app app(v);
    const char* users[] = {"ann", "bob", "cid"};
    std::int64_t confirmed_items = 0;
    for (int i = 0; i < 12; ++i) {
      app.place("o" + std::to_string(i), {users[i % 3], "apple", 1 + i % 3, 900 + 700 * (i % 4)});
    }
    const auto receipts = app.receipts();
    CHECK(receipts.size() == 12);
    std::map<std::string, std::int64_t> spent;
    for (int i = 0; i < 12; ++i) {
      const auto& text = receipts.at("o" + std::to_string(i));
      if (text.starts_with("confirmed")) {
        confirmed_items += 1 + i % 3;
        spent[users[i % 3]] += (1 + i % 3) * (900 + 700 * (i % 4));
      }
    }
    CHECK(app.shelf("apple") + confirmed_items == saga::initial_stock);
    for (const char* user : users) {
      CHECK(app.balance(user) + spent[user] == saga::initial_balance);
    }
    outcomes.push_back(receipts);
  }
  // Which orders win depends only on the order they reach stock and wallets, the same for both.
  CHECK(outcomes[0] == outcomes[1]);
}
