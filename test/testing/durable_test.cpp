// Durable functions under statefun::testing: the test sees their calls and answers them,
// advances their sleeps, sees their steps, and reads their result.

#include <statefun/testing/instance.hpp>

#include <statefun/durable.hpp>
#include <statefun/statefun.hpp>
#include <statefun/testing/step.hpp>

#include "support/doctest.hpp"

#include <chrono>
#include <cstdint>
#include <string>

using namespace std::chrono_literals;

namespace {

constexpr auto orders = statefun::value_spec<std::int32_t>{"orders"};

/// Reserves stock, records a receipt number, waits 5 s, and answers with the reservation.
statefun::task<std::string> checkout(statefun::durable_context& ctx, const statefun::message& msg) {
  const auto item = msg.as<std::string>();
  const auto held = co_await ctx.call<std::int32_t>({"shop/stock", item}, std::int32_t{2});
  const auto receipt = co_await ctx.run("receipt", [] { return std::int64_t{77}; });
  ctx.storage().set(orders, ctx.storage().get(orders).value_or(0) + 1);
  co_await ctx.sleep(5s);
  co_return item + " x" + std::to_string(held) + " #" + std::to_string(receipt);
}

statefun::functions durable_functions() {
  statefun::functions fns;
  fns.bind("shop/checkout", {orders}, checkout);
  return fns;
}

const statefun::address front{"shop/front", "f"};

}  // namespace

TEST_CASE("a durable function's call is seen with its target and value, and the test answers it") {
  const auto fns = durable_functions();
  statefun::testing::instance flow(fns, {"shop/checkout", "o1"});
  const auto started = flow.receive("apple", front);
  REQUIRE(started.calls().size() == 1);
  CHECK(started.calls()[0].target == statefun::address{"shop/stock", "apple"});
  CHECK(started.calls()[0].as<std::int32_t>() == 2);
  CHECK(started.replies().empty());
  CHECK(started.delayed().empty());  // the call's timeout is the flow's own business

  const auto answered = flow.answer(started.calls()[0], std::int32_t{2});
  CHECK(answered.state(orders) == 1);
  CHECK(answered.replies().empty());  // asleep

  const auto woke = flow.advance(5s);
  CHECK(woke.reply<std::string>() == "apple x2 #77");
  CHECK(flow.get(orders) == 1);
}

TEST_CASE("each step of a durable flow is seen: the call, the run by name, the sleep") {
  const auto fns = durable_functions();
  statefun::testing::instance flow(fns, {"shop/checkout", "o1"});
  const auto started = flow.receive("pear", front);
  REQUIRE(flow.steps().size() == 1);
  CHECK(flow.steps()[0].what == statefun::testing::step::kind::call);
  CHECK(flow.steps()[0].target == statefun::address{"shop/stock", "pear"});
  CHECK(flow.steps()[0].state == statefun::testing::step::status::pending);
  (void)flow.answer(started.calls()[0], std::int32_t{1});
  REQUIRE(flow.steps().size() == 3);
  CHECK(flow.steps()[0].state == statefun::testing::step::status::done);
  CHECK(flow.steps()[1].what == statefun::testing::step::kind::run);
  CHECK(flow.steps()[1].name == "receipt");
  CHECK(flow.steps()[2].what == statefun::testing::step::kind::sleep);
  CHECK(flow.steps()[2].duration == 5s);
  CHECK(flow.steps()[2].state == statefun::testing::step::status::pending);
  (void)flow.advance(5s);
  CHECK(flow.steps()[2].state == statefun::testing::step::status::done);
}

TEST_CASE("an unanswered call times out when the clock passes the call timeout") {
  statefun::functions fns;
  fns.bind("shop/checkout", {orders}, checkout, statefun::durable_options{.call_timeout = 30s});
  statefun::testing::instance flow(fns, {"shop/checkout", "o1"});
  (void)flow.receive("fig", front);
  const auto timed_out = flow.advance(30s);
  CHECK(timed_out.failed());
  CHECK(timed_out.error().find("no reply from shop/stock/fig") != std::string::npos);
}
