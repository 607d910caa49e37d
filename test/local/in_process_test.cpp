#include <statefun/local/runtime.hpp>

#include "support/doctest.hpp"

#include <statefun/asio/sleep.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/statefun.hpp>

#include <asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

// Functions written with the SDK, served in process: every request goes through the real codec
// (ToFunction bytes in, FromFunction bytes out), exactly as over HTTP.

namespace {

using namespace std::chrono_literals;
namespace local = statefun::local;
using statefun::address;

constexpr auto logins = statefun::value_spec<std::int32_t>{"logins"};
constexpr auto reset_token = "idle-reset";

// The greeter of the StateFun walkthrough, with the exercise: a user idle for a minute starts
// again from zero (a delayed message, cancelled and re-armed on every login).
void greet(statefun::context& ctx, const statefun::message& msg) {
  if (msg.is<bool>()) {  // the idle timer
    ctx.storage().remove(logins);
    return;
  }
  const auto seen = ctx.storage().get(logins).value_or(0) + 1;
  ctx.storage().set(logins, seen);
  ctx.send_egress(statefun::kafka_egress{"example/greets"}.topic("seen").key(ctx.self().id).value(std::to_string(seen)));
  ctx.cancel_delayed_message(statefun::cancellation_token{reset_token});
  ctx.send_after(60s, statefun::message_to(ctx.self()).value(true), statefun::cancellation_token{reset_token});
}

statefun::functions greeter_functions() {
  statefun::functions fns;
  fns.bind("example/greeter", {logins}, greet);
  return fns;
}

std::vector<std::string> seen_values(const local::runtime& rt) {
  std::vector<std::string> out;
  for (const auto& r : rt.egress("example/greets")) {
    out.push_back(*r.kafka->key + "=" + r.kafka->value);
  }
  return out;
}

void login(local::runtime& rt, const std::string& user) { rt.send(address{"example/greeter", user}, user); }

}  // namespace

TEST_CASE("in process: the greeter runs through the codec, handshake, state, delayed messages and egress included") {
  const auto fns = greeter_functions();
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  rt.add_egress({.kind = local::egress_kind::kafka, .id = "example/greets"});
  login(rt, "ann");
  login(rt, "bob");
  login(rt, "ann");
  rt.run_until_idle();
  CHECK(seen_values(rt) == std::vector<std::string>{"ann=1", "bob=1", "ann=2"});
  CHECK(rt.state(address{"example/greeter", "ann"}, logins) == 2);
  CHECK(rt.stats().handshakes == 1);  // the first request of the type; the registry serves every address after
  CHECK(rt.pending_delayed_messages() == 2);  // one re-armed timer per user

  rt.advance(59s);
  login(rt, "ann");
  rt.advance(59s);  // ann logged in a minute ago less a second: still counting; bob has been reset
  CHECK(rt.state(address{"example/greeter", "ann"}, logins) == 3);
  CHECK_FALSE(rt.state(address{"example/greeter", "bob"}, logins).has_value());
  rt.run_until_quiescent();
  CHECK_FALSE(rt.state(address{"example/greeter", "ann"}, logins).has_value());
  login(rt, "ann");
  rt.run_until_idle();
  CHECK(seen_values(rt).back() == "ann=1");
}

TEST_CASE("in process: a function that throws fails the run with its message") {
  statefun::functions fns;
  fns.bind("test/broken", [](statefun::context&, const statefun::message&) { throw std::runtime_error("out of beans"); });
  local::runtime rt;
  rt.serve(fns);
  rt.send(address{"test/broken", "1"}, std::string("x"));
  CHECK_THROWS_WITH_AS(rt.run_until_idle(), doctest::Contains("out of beans"), local::job_failure);
}

namespace {

/// Holds the `test/slow` function until the test cancels it.
std::unique_ptr<::asio::steady_timer> gate;

statefun::task<> slow(statefun::context& ctx, statefun::message) {
  try {
    co_await gate->async_wait(statefun::asio::use_task);
  } catch (const std::system_error&) {  // cancelled: the test opened the gate
  }
  ctx.send_egress(statefun::egress_to("test/out").value(std::string("slow ") + ctx.self().id));
}

void fast(statefun::context& ctx, const statefun::message&) {
  ctx.send_egress(statefun::egress_to("test/out").value(std::string("fast ") + ctx.self().id));
}

}  // namespace

TEST_CASE("in process: a coroutine waiting on an Asio operation holds up only its own address") {
  statefun::functions fns;
  fns.bind("test/slow", slow);
  fns.bind("test/fast", fast);
  local::runtime rt;
  rt.serve(fns);
  rt.add_egress({.kind = local::egress_kind::any, .id = "test/out"});
  gate = std::make_unique<::asio::steady_timer>(rt.io_context(), std::chrono::steady_clock::time_point::max());
  rt.send(address{"test/slow", "a"}, std::string("1"));
  rt.send(address{"test/slow", "a"}, std::string("2"));  // waits behind the first (one request per address)
  rt.send(address{"test/fast", "b"}, std::string("1"));
  rt.drain();
  REQUIRE(rt.egress("test/out").size() == 1);
  CHECK(rt.egress("test/out")[0].value.as<std::string>() == "fast b");
  CHECK(rt.requests_in_flight() == 1);
  gate->expires_at(std::chrono::steady_clock::time_point::min());  // cancels the wait, and later ones end at once
  rt.run_until_idle();
  CHECK(rt.egress("test/out").size() == 3);
  CHECK(rt.stats().largest_batch == 1);
  CHECK(rt.requests_in_flight() == 0);
  gate.reset();
}

TEST_CASE("in process: a runtime destroyed while a function waits cancels the wait and lets the function end") {
  // The suspended function's frames are freed by its completion: the runtime cancels what it
  // awaits and lets it finish before going.
  bool wait_ended = false;
  bool frame_freed = false;
  struct on_exit {
    bool* flag;
    ~on_exit() { *flag = true; }
  };
  statefun::functions fns;
  fns.bind("test/waiting", [&](statefun::context&, const statefun::message&) -> statefun::task<> {
    const on_exit freed{&frame_freed};
    try {
      co_await statefun::asio::sleep_for(24h);
    } catch (const std::system_error&) {
      wait_ended = true;
    }
  });
  {
    local::runtime rt;
    rt.serve(fns);
    rt.send(address{"test/waiting", "a"}, std::string("1"));
    rt.drain();
    CHECK(rt.requests_in_flight() == 1);
    CHECK_FALSE(frame_freed);
  }
  CHECK(wait_ended);
  CHECK(frame_freed);
}

TEST_CASE("in process: serve() takes the place of a module's endpoint for the types it binds") {
  const auto fns = greeter_functions();
  local::module m;
  m.endpoints.push_back({.functions = "example/*", .url_path_template = "http://127.0.0.1:1/{function.name}"});
  m.egresses.push_back({.kind = local::egress_kind::kafka, .id = "example/greets"});
  local::runtime rt(m, {.clock = local::clock::virtual_time()});
  rt.serve(fns);
  login(rt, "ann");
  rt.run_until_idle();  // port 1 would refuse: nothing went over HTTP
  CHECK(seen_values(rt) == std::vector<std::string>{"ann=1"});
}

TEST_CASE("in process: a batch of messages that queued up reaches the function in order, with each caller") {
  statefun::functions fns;
  std::vector<std::string> seen;
  fns.bind("test/sink", [&seen](statefun::context&, const statefun::message& msg) { seen.push_back(msg.as<std::string>()); });
  fns.bind("test/source", [](statefun::context& ctx, const statefun::message&) {
    for (int i = 0; i < 5; ++i) {
      ctx.send(statefun::message_to(address{"test/sink", "one"}).value(std::to_string(i)));
    }
  });
  local::runtime rt;
  rt.serve(fns);
  rt.send(address{"test/source", "s"}, std::string("go"));
  rt.run_until_idle();
  CHECK(seen == std::vector<std::string>{"0", "1", "2", "3", "4"});
}
