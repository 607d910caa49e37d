#pragma once

// What travels between the REST gateway and the functions, all of it JSON: requests on the
// Kafka ingress users/requests, the account each users/user keeps, and the answers on the Kafka
// egress users/responses (module.yaml names the same topics).

#include <statefun/json.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace user_service {

/// What a request asks for: one per REST endpoint.
enum class operation { unknown, create, find, remove, credit, add_credit, subtract_credit };

// (A string not listed reads as the first entry, `unknown`, which the functions refuse.)
NLOHMANN_JSON_SERIALIZE_ENUM(operation, {{operation::unknown, nullptr},
                                         {operation::create, "create"},
                                         {operation::find, "find"},
                                         {operation::remove, "remove"},
                                         {operation::credit, "credit"},
                                         {operation::add_credit, "add_credit"},
                                         {operation::subtract_credit, "subtract_credit"}})

/// One HTTP request, as the gateway publishes it to the ingress.
struct user_request {
  std::string request_id{};  // chosen by the gateway; the answer's Kafka key
  operation op = operation::unknown;
  std::string user_id{};     // the Kafka key, and so the users/user id; empty for create
  std::int64_t amount = 0;   // add_credit and subtract_credit only
};
// (Fields left out read as their defaults, so that a producer may write only what it needs.)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(user_request, request_id, op, user_id, amount)

/// What users/create sends the users/user of a new id: open your account.
struct open_account {
  std::string request_id{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(open_account, request_id)

/// What one users/user keeps.
struct account {
  std::string user_id{};
  std::int64_t credit = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(account, user_id, credit)

/// The answer to one request: the HTTP status and JSON body the gateway sends back.
struct user_response {
  std::string request_id{};
  int status = 0;
  nlohmann::json body{};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user_response, request_id, status, body)

/// The body of every refusal, from the functions and the gateway alike.
inline nlohmann::json error_body(std::string_view what) { return {{"error", what}}; }

// Where they travel (module.yaml): one ingress reading two topics, so that creates reach the
// one users/create and everything else the users/user of its key; one egress for the answers.
inline constexpr std::string_view requests_ingress = "users/requests";
inline constexpr std::string_view create_topic = "user-create-requests";  // -> users/create
inline constexpr std::string_view user_topic = "user-requests";           // -> users/user
inline constexpr std::string_view id_issuer = "singleton";  // the key of every create request
inline constexpr std::string_view responses_egress = "users/responses";
inline constexpr std::string_view responses_topic = "user-responses";  // key: the request id

}  // namespace user_service

STATEFUN_JSON_TYPE(user_service::user_request, "users.types/Request");
STATEFUN_JSON_TYPE(user_service::open_account, "users.types/OpenAccount");
STATEFUN_JSON_TYPE(user_service::account, "users.types/Account");
STATEFUN_JSON_TYPE(user_service::user_response, "users.types/Response");
