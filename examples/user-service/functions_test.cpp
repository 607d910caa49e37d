// The functions on the local runtime, without HTTP: requests go in through the module's Kafka
// ingress as the gateway publishes them, answers are read from its Kafka egress.

#include "request_bus.hpp"
#include "user_service.hpp"

#include <statefun/local/module_yaml.hpp>
#include <statefun/local/runtime.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace {

using namespace user_service;
namespace local = statefun::local;
using json = nlohmann::json;

struct functions_app {
  local::runtime rt{local::load_module(EXAMPLE_MODULE_YAML), {.clock = local::clock::virtual_time()}};
  statefun::functions fns;
  int requests = 0;

  functions_app() {
    bind_functions(fns);
    rt.serve(fns);
  }

  /// Publishes a request as the gateway does, and returns its answer.
  user_response ask(operation op, const std::string& user_id = "", std::int64_t amount = 0) {
    const user_request request{.request_id = "r" + std::to_string(++requests), .op = op, .user_id = user_id,
                               .amount = amount};
    const ingress_record record = record_of(request);
    rt.ingest(requests_ingress, record.key, request, record.topic);
    rt.run_until_idle();
    return answer_to(request.request_id);
  }

  /// The one answer on the egress keyed `request_id`.
  user_response answer_to(const std::string& request_id) const {
    std::optional<user_response> found;
    for (const auto& record : rt.egress(responses_egress)) {
      REQUIRE(record.kafka);
      CHECK(record.kafka->topic == responses_topic);
      if (record.kafka->key == request_id) {
        CHECK_FALSE(found);
        found = answer_of(request_id, record.kafka->value);
      }
    }
    REQUIRE(found);
    return *found;
  }

  std::optional<account> account_of(const std::string& user_id) const {
    return rt.state(statefun::address{"users/user", user_id}, account_state);
  }
};

json account_json(const std::string& user_id, std::int64_t credit) {
  return {{"user_id", user_id}, {"credit", credit}};
}

}  // namespace

TEST_CASE("users/create hands out ids in order, and each new user starts with no credit") {
  functions_app app;
  for (int i = 0; i < 3; ++i) {
    const user_response created = app.ask(operation::create);
    CHECK(created.status == 201);
    CHECK(created.body == account_json(std::to_string(i), 0));
  }
  CHECK(app.rt.state(statefun::address{"users/create", std::string(id_issuer)}, next_id) == 3);
  REQUIRE(app.account_of("2"));
  CHECK(app.account_of("2")->credit == 0);
}

TEST_CASE("answers are records of the topic user-responses, keyed by request id, with JSON values") {
  functions_app app;
  app.ask(operation::create);
  const auto& records = app.rt.egress(responses_egress);
  REQUIRE(records.size() == 1);
  CHECK(records[0].kafka->topic == "user-responses");
  CHECK(records[0].kafka->key == "r1");
  CHECK(json::parse(records[0].kafka->value) ==
        json{{"request_id", "r1"}, {"status", 201}, {"body", account_json("0", 0)}});
}

TEST_CASE("find, credit, add and subtract answer with the account") {
  functions_app app;
  app.ask(operation::create);
  CHECK(app.ask(operation::add_credit, "0", 30).body == account_json("0", 30));
  CHECK(app.ask(operation::subtract_credit, "0", 12).body == account_json("0", 18));
  const user_response found = app.ask(operation::find, "0");
  CHECK(found.status == 200);
  CHECK(found.body == account_json("0", 18));
  const user_response credit = app.ask(operation::credit, "0");
  CHECK(credit.status == 200);
  CHECK(credit.body == json{{"credit", 18}});
  CHECK(app.ask(operation::subtract_credit, "0", 18).body == account_json("0", 0));  // down to zero is fine
}

TEST_CASE("subtracting more than the credit is 409 and changes nothing") {
  functions_app app;
  app.ask(operation::create);
  app.ask(operation::add_credit, "0", 10);
  const user_response refused = app.ask(operation::subtract_credit, "0", 11);
  CHECK(refused.status == 409);
  CHECK(refused.body == json{{"error", "insufficient credit"}});
  CHECK(app.account_of("0")->credit == 10);
}

TEST_CASE("a user without an account is 404, and remove deletes the account for good") {
  functions_app app;
  for (const operation op : {operation::find, operation::credit, operation::remove}) {
    CHECK(app.ask(op, "0").status == 404);
  }
  CHECK(app.ask(operation::add_credit, "0", 5).status == 404);
  CHECK(app.ask(operation::subtract_credit, "0", 5).status == 404);
  CHECK_FALSE(app.account_of("0"));  // asking creates nothing

  app.ask(operation::create);
  app.ask(operation::add_credit, "0", 5);
  const user_response removed = app.ask(operation::remove, "0");
  CHECK(removed.status == 200);
  CHECK(removed.body == account_json("0", 5));
  CHECK_FALSE(app.account_of("0"));
  const user_response gone = app.ask(operation::find, "0");
  CHECK(gone.status == 404);
  CHECK(gone.body == json{{"error", "user not found"}});
  CHECK(app.ask(operation::create).body["user_id"] == "1");  // ids are not reused
}

TEST_CASE("an amount that is not positive is 400: the topic may have other producers than the gateway") {
  functions_app app;
  app.ask(operation::create);
  app.ask(operation::add_credit, "0", 5);
  for (const std::int64_t amount : {std::int64_t{0}, std::int64_t{-5}, std::numeric_limits<std::int64_t>::min()}) {
    CAPTURE(amount);
    CHECK(app.ask(operation::add_credit, "0", amount).status == 400);
    CHECK(app.ask(operation::subtract_credit, "0", amount).status == 400);
  }
  CHECK(app.account_of("0")->credit == 5);
}

TEST_CASE("a credit that would overflow is 409") {
  functions_app app;
  app.ask(operation::create);
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  CHECK(app.ask(operation::add_credit, "0", max - 1).status == 200);
  CHECK(app.ask(operation::add_credit, "0", 1).body == account_json("0", max));
  CHECK(app.ask(operation::add_credit, "0", 1).status == 409);
  CHECK(app.account_of("0")->credit == max);
}

TEST_CASE("a request the function does not serve is 400") {
  functions_app app;
  app.ask(operation::create);

  SUBCASE("not a create, on the create topic") {
    app.rt.ingest(requests_ingress, std::string(id_issuer), user_request{.request_id = "x", .op = operation::find},
                  create_topic);
    app.rt.run_until_idle();
    CHECK(app.answer_to("x").status == 400);
    CHECK(app.rt.state(statefun::address{"users/create", std::string(id_issuer)}, next_id) == 1);
  }
  SUBCASE("a create, on a user's topic") {
    app.rt.ingest(requests_ingress, "0", user_request{.request_id = "x", .op = operation::create}, user_topic);
    app.rt.run_until_idle();
    CHECK(app.answer_to("x").status == 400);
  }
  SUBCASE("an operation nobody knows") {
    app.rt.ingest_raw(requests_ingress, "0", R"({"request_id":"x","op":"transfer","user_id":"0","amount":5})",
                      user_topic);
    app.rt.run_until_idle();
    CHECK(app.answer_to("x").body == json{{"error", "not an operation on a user"}});
  }
}
