// Coroutine functions under statefun::testing: their waits run on the test's clock, which only
// the test moves; the invocation stays pending until it does.

#include <statefun/testing/clock.hpp>

#include <statefun/asio/sleep.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/statefun.hpp>
#include <statefun/testing/instance.hpp>

#include <asio/post.hpp>

#include "support/doctest.hpp"

#include <chrono>
#include <cstdint>
#include <string>

using namespace std::chrono_literals;

namespace {

constexpr auto polls = statefun::value_spec<std::int32_t>{"polls"};

/// Waits 5 s, then (after an Asio post) 2 s more, then answers.
statefun::task<std::string> slow_echo(statefun::context& ctx, const statefun::message& msg) {
  co_await statefun::asio::sleep_for(5s);
  ctx.storage().set(polls, ctx.storage().get(polls).value_or(0) + 1);
  co_await ::asio::post(statefun::asio::current_executor(), statefun::asio::use_task);
  co_await statefun::asio::sleep_for(2s);
  co_return "echo " + msg.as<std::string>();
}

statefun::task<> fails_after_a_wait(statefun::context&, const statefun::message&) {
  co_await statefun::asio::sleep_for(1s);
  throw std::runtime_error("gave up");
}

statefun::functions clock_functions() {
  statefun::functions fns;
  fns.bind("test/slow-echo", {polls}, slow_echo);
  fns.bind("test/fails", fails_after_a_wait);
  return fns;
}

const statefun::address caller{"test/caller", "c"};

}  // namespace

TEST_CASE("a coroutine function's wait leaves its outcome pending until the test advances the clock") {
  const auto fns = clock_functions();
  statefun::testing::instance echo(fns, {"test/slow-echo", "1"});
  const auto out = echo.receive("hi", caller);
  CHECK(out.pending());
  CHECK(echo.clock().waiting() == 1);
  CHECK_THROWS_AS((void)out.messages(), std::logic_error);
  echo.advance(4s);
  CHECK(out.pending());
  echo.advance(1s);  // the first wait ends; the second begins
  CHECK(out.pending());
  echo.advance(2s);
  REQUIRE_FALSE(out.pending());
  CHECK(out.reply<std::string>() == "echo hi");
  CHECK(out.state(polls) == 1);
  CHECK(echo.clock().now().time_since_epoch() == 7s);
}

TEST_CASE("one advance past several waits ends them in order") {
  const auto fns = clock_functions();
  statefun::testing::instance echo(fns, {"test/slow-echo", "1"});
  const auto out = echo.receive("hi", caller);
  echo.advance(1h);
  REQUIRE_FALSE(out.pending());
  CHECK(out.reply<std::string>() == "echo hi");
}

TEST_CASE("a new invocation while one is pending is refused: advance first") {
  const auto fns = clock_functions();
  statefun::testing::instance echo(fns, {"test/slow-echo", "1"});
  const auto out = echo.receive("hi", caller);
  CHECK_THROWS_AS(echo.receive("again", caller), std::logic_error);
  echo.advance(7s);
  CHECK(echo.receive("again", caller).pending());
}

TEST_CASE("an exception after a wait fails the pending outcome") {
  const auto fns = clock_functions();
  statefun::testing::instance f(fns, {"test/fails", "1"});
  const auto out = f.receive(1);
  CHECK(out.pending());
  f.advance(1s);
  CHECK(out.failed());
  CHECK(out.error() == "gave up");
}

TEST_CASE("an instance destroyed while its function waits ends the wait, without leaks") {
  const auto fns = clock_functions();
  std::optional<statefun::testing::outcome> out;
  {
    statefun::testing::instance echo(fns, {"test/slow-echo", "1"});
    out.emplace(echo.receive("hi", caller));
  }
  CHECK(out->failed());
}
