// A durable function bound where <statefun/durable.hpp> is not included: the core does not know
// durable functions on its own, and the one error says which header to include.
// expect-error: statefun: this is a durable function (it takes statefun::durable_context&): #include <statefun/durable.hpp>
#include <statefun/functions.hpp>

#ifdef STATEFUN_MISUSE
statefun::task<> order(statefun::durable_context& ctx, const statefun::message& msg);
#else
#include <statefun/durable.hpp>
statefun::task<> order(statefun::durable_context& ctx, const statefun::message&) {
  co_await ctx.sleep(std::chrono::seconds(1));
}
#endif

void bind(statefun::functions& fns) { fns.bind("shop/order", order); }
