// A durable function (taking durable_context&) written as a plain one, returning void instead of
// a task: the one error says to make it a coroutine (or to take a context&).
// expect-error: statefun: a durable function (one taking statefun::durable_context&) must be a coroutine
#include <statefun/durable.hpp>

#ifdef STATEFUN_MISUSE
void order(statefun::durable_context& ctx, const statefun::message&) {
  ctx.send(statefun::message_to({"shop/stock", "apple"}).value(1));
}
#else
statefun::task<> order(statefun::durable_context& ctx, const statefun::message&) {
  co_await ctx.sleep(std::chrono::seconds(1));
}
#endif

void bind(statefun::functions& fns) { fns.bind("shop/order", order); }
