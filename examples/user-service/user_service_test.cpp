// The user service end to end, as run_local.cpp runs it: the gateway and the local runtime on
// one event loop (on a thread of the test), configured by module.yaml, driven with real HTTP
// requests over loopback.

#include "http_gateway.hpp"
#include "local_bus.hpp"
#include "test_client.hpp"
#include "user_service.hpp"

#include <statefun/local/module_yaml.hpp>
#include <statefun/local/runtime.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <algorithm>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace user_service;
using user_service::test::test_connection;
using user_service::test::test_response;
using json = nlohmann::json;

/// The whole application, serving on a free port until destroyed.
class running_user_service {
 public:
  running_user_service() {
    bind_functions(fns_);
    rt_.serve(fns_);
    port_ = gateway_.port();
    loop_ = std::thread([this] {
      try {
        rt_.run();
      } catch (const std::exception& e) {
        failure_ = e.what();  // a function failed the run
      }
    });
  }

  running_user_service(const running_user_service&) = delete;
  running_user_service& operator=(const running_user_service&) = delete;

  ~running_user_service() {
    rt_.post([this] {
      gateway_.stop();
      rt_.stop();
    });
    loop_.join();
    rt_.drain();  // the connections the gateway closed come to their end
    CHECK(failure_ == "");
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  statefun::functions fns_;
  statefun::local::runtime rt_{statefun::local::load_module(EXAMPLE_MODULE_YAML)};
  local_bus bus_{rt_};
  http_gateway gateway_{rt_.io_context(), bus_, {.port = 0}};
  std::uint16_t port_ = 0;
  std::thread loop_;
  std::string failure_;
};

/// Creates a user and returns its id.
std::string create_user(test_connection& client) {
  const test_response created = client.request("POST", "/users/create");
  REQUIRE(created.status == 201);
  return created.json.at("user_id").get<std::string>();
}

json expected_account(const std::string& user_id, std::int64_t credit) {
  return {{"user_id", user_id}, {"credit", credit}};
}

}  // namespace

TEST_CASE("POST /users/create returns the new user's id, and the user starts with no credit") {
  running_user_service service;
  test_connection client(service.port());
  const test_response created = client.request("POST", "/users/create");
  CHECK(created.status == 201);
  CHECK(created.json == expected_account("0", 0));

  const test_response found = client.request("GET", "/users/find/0");
  CHECK(found.status == 200);
  CHECK(found.json == expected_account("0", 0));
  const test_response credit = client.request("GET", "/users/credit/0");
  CHECK(credit.status == 200);
  CHECK(credit.json == json{{"credit", 0}});
}

TEST_CASE("credit is added and subtracted, down to zero and not below") {
  running_user_service service;
  test_connection client(service.port());
  const std::string id = create_user(client);

  const test_response added = client.request("POST", "/users/credit/add/" + id + "/100");
  CHECK(added.status == 200);
  CHECK(added.json == expected_account(id, 100));
  CHECK(client.request("POST", "/users/credit/subtract/" + id + "/30").json == expected_account(id, 70));
  CHECK(client.request("GET", "/users/credit/" + id).json == json{{"credit", 70}});

  const test_response refused = client.request("POST", "/users/credit/subtract/" + id + "/71");
  CHECK(refused.status == 409);
  CHECK(refused.json == json{{"error", "insufficient credit"}});
  CHECK(client.request("GET", "/users/credit/" + id).json == json{{"credit", 70}});  // unchanged

  CHECK(client.request("POST", "/users/credit/subtract/" + id + "/70").json == expected_account(id, 0));
  CHECK(client.request("POST", "/users/credit/subtract/" + id + "/1").status == 409);
}

TEST_CASE("an unknown user is 404 on every endpoint, and so is a removed one") {
  running_user_service service;
  test_connection client(service.port());
  const auto check_unknown = [&client](const std::string& id) {
    for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/users/find/" + id},
             {"GET", "/users/credit/" + id},
             {"POST", "/users/credit/add/" + id + "/5"},
             {"POST", "/users/credit/subtract/" + id + "/5"},
             {"DELETE", "/users/remove/" + id}}) {
      const test_response response = client.request(method, target);
      CHECK(response.status == 404);
      CHECK(response.json == json{{"error", "user not found"}});
    }
  };
  check_unknown("42");
  check_unknown("not-a-number");

  const std::string id = create_user(client);
  client.request("POST", "/users/credit/add/" + id + "/5");
  const test_response removed = client.request("DELETE", "/users/remove/" + id);
  CHECK(removed.status == 200);
  CHECK(removed.json == expected_account(id, 5));
  check_unknown(id);
  CHECK(create_user(client) != id);  // ids are not handed out again
}

TEST_CASE("a bad amount is 400 and changes nothing") {
  running_user_service service;
  test_connection client(service.port());
  const std::string id = create_user(client);
  client.request("POST", "/users/credit/add/" + id + "/10");
  for (const char* amount : {"-5", "abc", "", "0", "2.5"}) {
    CAPTURE(amount);
    for (const char* op : {"add", "subtract"}) {
      const std::string target = "/users/credit/" + std::string(op) + "/" + id + "/" + amount;
      const test_response refused = client.request("POST", target);
      CHECK(refused.status == 400);
      CHECK(refused.json == json{{"error", "the amount must be a positive whole number"}});
    }
  }
  CHECK(client.request("GET", "/users/credit/" + id).json == json{{"credit", 10}});
}

TEST_CASE("ids are unique and increasing across many creates, from many connections at once") {
  running_user_service service;
  std::vector<std::unique_ptr<test_connection>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(std::make_unique<test_connection>(service.port()));
  }
  std::vector<std::int64_t> ids;
  for (int round = 0; round < 5; ++round) {
    for (auto& client : clients) {  // ten creates in flight at once
      client->send_request("POST", "/users/create");
    }
    std::vector<std::int64_t> this_round;
    for (auto& client : clients) {
      const test_response created = client->receive();
      REQUIRE(created.status == 201);
      this_round.push_back(std::stoll(created.json.at("user_id").get<std::string>()));
    }
    std::sort(this_round.begin(), this_round.end());
    CHECK((ids.empty() || this_round.front() > ids.back()));  // later rounds, later ids
    ids.insert(ids.end(), this_round.begin(), this_round.end());
  }
  CHECK(std::adjacent_find(ids.begin(), ids.end(), [](auto a, auto b) { return a >= b; }) == ids.end());
  CHECK(ids.size() == 50);
}

TEST_CASE("many requests are in flight at once, and each answer reaches its own request") {
  running_user_service service;
  test_connection setup(service.port());
  constexpr int users = 10;
  for (int user = 0; user < users; ++user) {
    REQUIRE(create_user(setup) == std::to_string(user));
    setup.request("POST", "/users/credit/add/" + std::to_string(user) + "/" + std::to_string(1000 * (user + 1)));
  }

  constexpr int requests = 100;
  std::vector<std::unique_ptr<test_connection>> clients;
  for (int i = 0; i < requests; ++i) {  // all sent before any answer is read
    clients.push_back(std::make_unique<test_connection>(service.port()));
    const std::string user = std::to_string(i % users);
    clients.back()->send_request("POST", "/users/credit/subtract/" + user + "/" + std::to_string(i + 1));
  }
  // Each answer holds the credit right after its own subtraction, and every amount is different:
  // per user, the answers ordered by credit must then form one chain of exactly those amounts.
  std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> chains(users);  // (credit after, amount)
  for (int i = 0; i < requests; ++i) {
    const test_response answer = clients[static_cast<std::size_t>(i)]->receive();
    REQUIRE(answer.status == 200);
    CHECK(answer.json.at("user_id") == std::to_string(i % users));
    chains[static_cast<std::size_t>(i % users)].emplace_back(answer.json.at("credit").get<std::int64_t>(), i + 1);
  }
  for (int user = 0; user < users; ++user) {
    CAPTURE(user);
    auto& chain = chains[static_cast<std::size_t>(user)];
    std::sort(chain.begin(), chain.end(), std::greater<>());
    std::int64_t credit = 1000 * (user + 1);
    for (const auto& step : chain) {
      credit -= step.second;
      CHECK(step.first == credit);
    }
    CHECK(setup.request("GET", "/users/credit/" + std::to_string(user)).json.at("credit") == credit);
  }
}

TEST_CASE("an unknown path is 404 and a wrong method 405, with Allow") {
  running_user_service service;
  test_connection client(service.port());
  const test_response unknown = client.request("GET", "/orders/find/1");
  CHECK(unknown.status == 404);
  CHECK(unknown.json == json{{"error", "no such endpoint"}});
  const test_response wrong = client.request("GET", "/users/create");
  CHECK(wrong.status == 405);
  CHECK(wrong.allow == "POST");
  CHECK(client.request("POST", "/users/find/0").allow == "GET");
}

TEST_CASE("malformed HTTP is 400, and the service goes on serving") {
  running_user_service service;
  test_connection bad(service.port());
  bad.send("GET /users/find/0 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n");
  const test_response refused = bad.receive();
  CHECK(refused.status == 400);
  CHECK(refused.connection == "close");
  CHECK(bad.closed_by_gateway());

  test_connection good(service.port());
  CHECK(good.request("POST", "/users/create").status == 201);
}
