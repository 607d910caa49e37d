// The REST routing on its own: from method and target to the request for the functions, or to
// the answer the gateway gives at once.

#include "request_bus.hpp"
#include "routes.hpp"

#include <doctest/doctest.h>

#include <string>
#include <variant>

namespace {

using namespace user_service;

user_request routed_request(std::string_view method, std::string_view target) {
  const route_result routed = route(method, target);
  REQUIRE(std::holds_alternative<user_request>(routed));
  return std::get<user_request>(routed);
}

http_answer immediate_answer(std::string_view method, std::string_view target) {
  const route_result routed = route(method, target);
  REQUIRE(std::holds_alternative<http_answer>(routed));
  return std::get<http_answer>(routed);
}

}  // namespace

TEST_CASE("each endpoint becomes a request with its operation, user and amount") {
  const user_request create = routed_request("POST", "/users/create");
  CHECK(create.op == operation::create);
  CHECK(create.user_id.empty());
  CHECK(record_of(create).topic == create_topic);

  CHECK(routed_request("GET", "/users/find/7").op == operation::find);
  CHECK(routed_request("DELETE", "/users/remove/7").op == operation::remove);
  CHECK(routed_request("GET", "/users/credit/7").op == operation::credit);

  const user_request add = routed_request("POST", "/users/credit/add/7/250");
  CHECK(add.op == operation::add_credit);
  CHECK(add.user_id == "7");
  CHECK(add.amount == 250);

  const user_request subtract = routed_request("POST", "/users/credit/subtract/12/3");
  CHECK(subtract.op == operation::subtract_credit);
  CHECK(subtract.user_id == "12");
  CHECK(subtract.amount == 3);
  CHECK(record_of(subtract).topic == user_topic);
  CHECK(record_of(subtract).key == "12");

  CHECK(routed_request("GET", "/users/find/7?verbose=1").user_id == "7");  // the query is ignored
}

TEST_CASE("the request id is left to the gateway") {
  CHECK(routed_request("GET", "/users/find/7").request_id.empty());
}

TEST_CASE("a path that is no endpoint is 404") {
  for (const char* target : {"/", "/users", "/users/", "/users/create/", "/users/find", "/users/find/7/8",
                             "/users/credit/add/7", "/users/credit/add/7/5/5", "/Users/find/7", "*"}) {
    CAPTURE(target);
    const http_answer answer = immediate_answer("GET", target);
    CHECK(answer.status == 404);
    CHECK(answer.body == nlohmann::json{{"error", "no such endpoint"}});
  }
}

TEST_CASE("an endpoint asked with the wrong method is 405, and Allow names the right one") {
  const http_answer get_create = immediate_answer("GET", "/users/create");
  CHECK(get_create.status == 405);
  CHECK(get_create.allow == "POST");
  CHECK(immediate_answer("POST", "/users/find/7").allow == "GET");
  CHECK(immediate_answer("GET", "/users/remove/7").allow == "DELETE");
  CHECK(immediate_answer("DELETE", "/users/credit/7").allow == "GET");
  CHECK(immediate_answer("GET", "/users/credit/add/7/5").allow == "POST");
  CHECK(immediate_answer("HEAD", "/users/find/7").allow == "GET");
  CHECK(immediate_answer("get", "/users/find/7").status == 405);  // methods are case-sensitive
}

TEST_CASE("a user id that users/create cannot have handed out is 404 without asking") {
  for (const char* id : {"abc", "-1", "1.5", "", "%31", "12345678901234567890"}) {
    CAPTURE(id);
    const http_answer answer = immediate_answer("GET", "/users/find/" + std::string(id));
    CHECK(answer.status == 404);
    CHECK(answer.body == nlohmann::json{{"error", "user not found"}});
  }
}

TEST_CASE("an amount that is not a positive whole number is 400") {
  for (const char* amount : {"-5", "abc", "", "0", "1.5", "+5", "1e3", " 5", "5 ", "9223372036854775808"}) {
    CAPTURE(amount);
    for (const char* op : {"add", "subtract"}) {
      const http_answer answer = immediate_answer("POST", "/users/credit/" + std::string(op) + "/7/" + amount);
      CHECK(answer.status == 400);
      CHECK(answer.body == nlohmann::json{{"error", "the amount must be a positive whole number"}});
    }
  }
  CHECK(routed_request("POST", "/users/credit/add/7/9223372036854775807").amount == 9223372036854775807);
}
