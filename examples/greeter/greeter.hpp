#pragma once

// The greeter: login events, keyed by user name, reach one greeter per user. It counts the
// user's logins and publishes the count to Kafka; a user idle for more than a minute starts
// again from zero (a delayed message, cancelled and re-armed on every login).

#include <statefun/json.hpp>
#include <statefun/statefun.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace greeter {

/// A login, as the ingress reads it from the Kafka topic "logins" (JSON; the key is the user).
struct user_login {
  std::string user_name;
  std::string login_type;  // "WEB", "MOBILE", ...
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user_login, user_name, login_type)

/// What a greeter sends itself to reset an idle user's count.
struct idle_expired {
  std::string user_name;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(idle_expired, user_name)

}  // namespace greeter

STATEFUN_JSON_TYPE(greeter::user_login, "greeter.types/UserLogin");
STATEFUN_JSON_TYPE(greeter::idle_expired, "greeter.types/IdleExpired");

namespace greeter {

inline constexpr std::chrono::seconds idle_timeout{60};
inline constexpr auto seen = statefun::value_spec<std::int32_t>{"seen"};

inline void greet(statefun::context& ctx, const statefun::message& msg) {
  // One reminder per user: the token is scoped to this greeter's id, which is the user name.
  const statefun::cancellation_token idle_reset{"idle-reset"};

  if (msg.is<idle_expired>()) {
    ctx.storage().remove(seen);
    return;
  }
  const auto login = msg.as<user_login>();
  const std::int32_t count = ctx.storage().get(seen).value_or(0) + 1;
  ctx.storage().set(seen, count);
  ctx.send_egress(statefun::kafka_egress{"greeter/seen"}.topic("seen").key(login.user_name).value(std::to_string(count)));

  ctx.cancel_delayed_message(idle_reset);
  ctx.send_after(idle_timeout, statefun::message_to(ctx.self()).value(idle_expired{login.user_name}), idle_reset);
}

/// Binds the application's functions.
inline void bind_functions(statefun::functions& fns) { fns.bind("greeter/user", {seen}, greet); }

}  // namespace greeter
