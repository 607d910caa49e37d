// State of a type with no statefun::type<T>: the one error says how to give it one.
// expect-error: statefun: this type has no statefun::type<T>, so it cannot be sent or stored
#include <statefun/functions.hpp>
#include <statefun/json.hpp>

struct order {
  int count = 0;
};

#ifndef STATEFUN_MISUSE
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(order, count)
STATEFUN_JSON_TYPE(order, "example/Order");
#endif

constexpr statefun::value_spec<order> last{"last"};

void remember(statefun::context& ctx, const statefun::message& msg) {
  ctx.storage().set(last, msg.as<order>());
}

void bind(statefun::functions& fns) { fns.bind("example/remember", {last}, remember); }
