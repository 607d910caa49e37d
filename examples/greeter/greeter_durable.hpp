#pragma once

// The greeter again, as a durable function (docs/durable.md): the idle reset is a sleep in the
// flow instead of a delayed message that every login cancels and re-arms. Each login is one
// flow; the flow counts it, then waits for whichever comes first, a minute of quiet or the next
// login. The next login ends the wait and starts its own flow.

#include "greeter.hpp"

#include <statefun/durable.hpp>

namespace greeter {

inline statefun::task<> greet_durable(statefun::durable_context& ctx, const statefun::message& msg) {
  const auto login = msg.as<user_login>();
  const std::int32_t count = ctx.storage().get(seen).value_or(0) + 1;
  ctx.storage().set(seen, count);
  ctx.send_egress(statefun::kafka_egress{"greeter/seen"}.topic("seen").key(login.user_name).value(std::to_string(count)));

  const auto quiet_or_next = co_await ctx.first(ctx.sleep(idle_timeout), ctx.next_message());
  if (quiet_or_next.index() == 0) {
    ctx.storage().remove(seen);  // idle for a minute
  }
}

/// Binds the durable version under the same function type.
inline void bind_durable_functions(statefun::functions& fns) { fns.bind("greeter/user", {seen}, greet_durable); }

}  // namespace greeter
