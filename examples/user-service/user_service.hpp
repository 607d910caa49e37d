#pragma once

// The user service's functions. users/create, one instance, hands out the next free user id and
// opens that user's account; one users/user per user keeps its account and answers find,
// credit, add, subtract and remove. Every request is answered on the egress users/responses,
// keyed by its request id, with an HTTP status and a JSON body.

#include "messages.hpp"

#include <statefun/json.hpp>
#include <statefun/statefun.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace user_service {

inline constexpr auto next_id = statefun::value_spec<std::int64_t>{"next_id"};
inline constexpr auto account_state = statefun::value_spec<account>{"account"};

/// Publishes the answer to request `request_id`.
inline void answer(statefun::context& ctx, const std::string& request_id, int status, nlohmann::json body) {
  ctx.send_egress(statefun::kafka_egress{responses_egress}
                      .topic(std::string(responses_topic))
                      .key(request_id)
                      .value(user_response{request_id, status, std::move(body)}));
}

/// Answers request `request_id` with an error.
inline void refuse(statefun::context& ctx, const std::string& request_id, int status, std::string_view why) {
  answer(ctx, request_id, status, error_body(why));
}

/// users/create (id "singleton"): ids are handed out in order and never reused.
inline void create_user(statefun::context& ctx, const statefun::message& msg) {
  const auto request = msg.as<user_request>();
  if (request.op != operation::create) {
    return refuse(ctx, request.request_id, 400, "users/create only creates users");
  }
  const std::int64_t id = ctx.storage().get(next_id).value_or(0);
  ctx.storage().set(next_id, id + 1);
  ctx.send(statefun::message_to({"users/user", std::to_string(id)}).value(open_account{request.request_id}));
}

inline void add_credit(statefun::context& ctx, const user_request& request, account user) {
  if (request.amount <= 0) {
    return refuse(ctx, request.request_id, 400, "the amount must be a positive whole number");
  }
  if (request.amount > std::numeric_limits<std::int64_t>::max() - user.credit) {
    return refuse(ctx, request.request_id, 409, "the credit would exceed its maximum");
  }
  user.credit += request.amount;
  ctx.storage().set(account_state, user);
  answer(ctx, request.request_id, 200, user);
}

inline void subtract_credit(statefun::context& ctx, const user_request& request, account user) {
  if (request.amount <= 0) {
    return refuse(ctx, request.request_id, 400, "the amount must be a positive whole number");
  }
  if (request.amount > user.credit) {
    return refuse(ctx, request.request_id, 409, "insufficient credit");
  }
  user.credit -= request.amount;
  ctx.storage().set(account_state, user);
  answer(ctx, request.request_id, 200, user);
}

/// users/user (id = the user id): one user's account; no account is an unknown user.
inline void user(statefun::context& ctx, const statefun::message& msg) {
  if (msg.is<open_account>()) {
    const account opened{ctx.self().id, 0};
    ctx.storage().set(account_state, opened);
    return answer(ctx, msg.as<open_account>().request_id, 201, opened);
  }
  const auto request = msg.as<user_request>();
  const auto current = ctx.storage().get(account_state);
  if (!current) {
    return refuse(ctx, request.request_id, 404, "user not found");
  }
  switch (request.op) {
    case operation::find:
      return answer(ctx, request.request_id, 200, *current);
    case operation::credit:
      return answer(ctx, request.request_id, 200, {{"credit", current->credit}});
    case operation::add_credit:
      return add_credit(ctx, request, *current);
    case operation::subtract_credit:
      return subtract_credit(ctx, request, *current);
    case operation::remove:
      ctx.storage().remove(account_state);
      return answer(ctx, request.request_id, 200, *current);
    default:
      return refuse(ctx, request.request_id, 400, "not an operation on a user");
  }
}

/// Binds the application's functions.
inline void bind_functions(statefun::functions& fns) {
  fns.bind("users/create", {next_id}, create_user);
  fns.bind("users/user", {account_state}, user);
}

}  // namespace user_service
