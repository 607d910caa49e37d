#pragma once

// The interop application written with statefun-cpp: the same application as js/app.js, which
// the official JavaScript SDK serves. Line for line it does what the JavaScript does, so that one
// scenario gives the same egress records and states whichever SDK serves it.
//
//   interop/greeter (id: a user)   counts the user's logins (TTL: 30 min after the last call)
//                                  and remembers their devices (TTL: 2 h after the last write);
//                                  greets each login on the Kafka egress interop/greets
//                                  (topic "greetings"), reports it to interop/stats, and after a
//                                  first login schedules a reminder in 60 s, cancelled by the
//                                  second login. "forget" deletes the user's state.
//   interop/stats (id: "global")   counts welcomes (first logins) and returning logins, and
//                                  writes an audit entry per login to the egress interop/audit.
//   interop/quote (id: an item)    answers a quantity (an int) with its price in cents (an int),
//                                  sent back to the caller, and counts the quotes it gave: the
//                                  callee of a durable flow's ctx.call (interop_test.cpp).

#include <statefun/json.hpp>
#include <statefun/statefun.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace interop {

/// `interop/login`: `{"device":"phone"}`.
struct login {
  std::string device;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(login, device)

/// `interop/devices`: `["phone","laptop"]`, in the order first seen.
struct device_list {
  std::vector<std::string> names;
};
inline void to_json(nlohmann::json& j, const device_list& d) { j = d.names; }
inline void from_json(const nlohmann::json& j, device_list& d) { j.get_to(d.names); }

/// `interop/audit_entry`: `{"login":2,"returning":1,"user":"ann","welcomes":3}`. nlohmann
/// writes keys in sorted order; app.js builds its objects with sorted keys to match.
struct audit_entry {
  std::int32_t login = 0;
  std::int32_t returning = 0;
  std::string user;
  std::int32_t welcomes = 0;
  friend bool operator==(const audit_entry&, const audit_entry&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(audit_entry, login, returning, user, welcomes)

}  // namespace interop

STATEFUN_JSON_TYPE(interop::login, "interop/login");
STATEFUN_JSON_TYPE(interop::device_list, "interop/devices");
STATEFUN_JSON_TYPE(interop::audit_entry, "interop/audit_entry");

namespace interop {

using namespace std::chrono_literals;

inline constexpr std::string_view greeter_type = "interop/greeter";
inline constexpr std::string_view stats_type = "interop/stats";
inline constexpr std::string_view greets_egress = "interop/greets";  ///< io.statefun.kafka.v1/egress
inline constexpr std::string_view audit_egress = "interop/audit";    ///< any typed value
inline constexpr std::string_view quote_type = "interop/quote";

inline constexpr std::chrono::milliseconds reminder_delay = 60s;

inline constexpr auto logins = statefun::value_spec<std::int32_t>{"logins", statefun::expire_after_call{30min}};
inline constexpr auto devices = statefun::value_spec<device_list>{"devices", statefun::expire_after_write{2h}};
inline constexpr auto welcomes = statefun::value_spec<std::int32_t>{"welcomes"};
inline constexpr auto returning = statefun::value_spec<std::int32_t>{"returning"};
inline constexpr auto quoted = statefun::value_spec<std::int32_t>{"quoted"};

inline statefun::cancellation_token reminder_token(const std::string& user) {
  return statefun::cancellation_token("remind-" + user);
}

inline std::string greeting(const std::string& user, std::int32_t seen) {
  if (seen == 1) {
    return "Hello " + user + "! Welcome.";
  }
  return "Hello " + user + "! Nice to see you again (" + std::to_string(seen) + " logins).";
}

inline void on_login(statefun::context& ctx, const login& event) {
  const std::string& user = ctx.self().id;
  const std::int32_t seen = ctx.storage().get(logins).value_or(0) + 1;
  ctx.storage().set(logins, seen);
  device_list known = ctx.storage().get(devices).value_or(device_list{});
  if (std::find(known.names.begin(), known.names.end(), event.device) == known.names.end()) {
    known.names.push_back(event.device);
    ctx.storage().set(devices, known);
  }
  ctx.send_egress(statefun::kafka_egress{greets_egress}.topic("greetings").key(user).value(greeting(user, seen)));
  ctx.send(statefun::message_to({stats_type, "global"}).value(seen));
  if (seen == 1) {
    ctx.send_after(reminder_delay, statefun::message_to({greeter_type, user}).value(std::string("remind")),
                   reminder_token(user));
  } else if (seen == 2) {
    ctx.cancel_delayed_message(reminder_token(user));
  }
}

inline void on_remind(statefun::context& ctx) {
  const std::string& user = ctx.self().id;
  const std::int32_t seen = ctx.storage().get(logins).value_or(0);
  std::string on;
  for (const std::string& device : ctx.storage().get(devices).value_or(device_list{}).names) {
    on += (on.empty() ? "" : ", ") + device;
  }
  const std::string text = "We miss you, " + user + "! (" + std::to_string(seen) + " login" + (seen == 1 ? "" : "s") +
                           ", on " + on + ")";
  ctx.send_egress(statefun::kafka_egress{greets_egress}.topic("reminders").key(user).value(text));
}

inline void on_forget(statefun::context& ctx) {
  const std::string& user = ctx.self().id;
  ctx.storage().remove(logins);
  ctx.storage().remove(devices);
  ctx.cancel_delayed_message(reminder_token(user));
  ctx.send_egress(statefun::kafka_egress{greets_egress}.topic("forgotten").value(user));  // no key
}

inline void greeter(statefun::context& ctx, const statefun::message& msg) {
  if (msg.is<login>()) {
    return on_login(ctx, msg.as<login>());
  }
  if (msg.is<std::string>()) {
    const auto command = msg.as<std::string>();
    if (command == "remind") {
      return on_remind(ctx);
    }
    if (command == "forget") {
      return on_forget(ctx);
    }
  }
  throw std::invalid_argument(std::string(greeter_type) + ": unexpected message of type " +
                              std::string(msg.type_name()));
}

inline void stats(statefun::context& ctx, const statefun::message& msg) {
  const auto login_number = msg.as<std::int32_t>();
  const std::int32_t welcomed = ctx.storage().get(welcomes).value_or(0) + (login_number == 1 ? 1 : 0);
  const std::int32_t returned = ctx.storage().get(returning).value_or(0) + (login_number == 1 ? 0 : 1);
  ctx.storage().set(welcomes, welcomed);
  ctx.storage().set(returning, returned);
  const audit_entry entry{login_number, returned, ctx.caller().value().id, welcomed};
  ctx.send_egress(statefun::egress_to(audit_egress).value(entry));
}

inline std::int32_t price_in_cents(const std::string& item) {
  if (item == "socks") {
    return 250;
  }
  if (item == "hats") {
    return 1200;
  }
  throw std::invalid_argument(std::string(quote_type) + ": no price for " + item);
}

inline void quote(statefun::context& ctx, const statefun::message& msg) {
  const std::int32_t price = price_in_cents(ctx.self().id);
  const auto caller = ctx.caller();
  if (!caller) {
    throw std::invalid_argument(std::string(quote_type) + ": no caller to answer");
  }
  ctx.storage().set(quoted, ctx.storage().get(quoted).value_or(0) + 1);
  ctx.send(statefun::message_to(*caller).value(msg.as<std::int32_t>() * price));
}

/// Binds the application's function types.
inline void bind(statefun::functions& fns) {
  fns.bind(greeter_type, {logins, devices}, greeter);
  fns.bind(stats_type, {welcomes, returning}, stats);
  fns.bind(quote_type, {quoted}, quote);
}

}  // namespace interop
