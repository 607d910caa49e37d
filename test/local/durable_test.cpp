#include <statefun/local/runtime.hpp>
#include <statefun/metrics/prometheus.hpp>
#include <statefun/durable.hpp>
#include <statefun/statefun.hpp>

#include "support/doctest.hpp"
#include "support/exposition.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

// Durable functions (durable.hpp) on the local runtime: calls, sleeps, runs, all/first, the
// journal's replay, and what happens when the service restarts, the runtime restores a snapshot
// or a batch comes twice.

namespace {

using namespace std::chrono_literals;
namespace local = statefun::local;
using statefun::address;
using statefun::durable_context;
using statefun::message;
using statefun::task;

constexpr auto stock = statefun::value_spec<std::int64_t>{"stock"};
constexpr auto visits = statefun::value_spec<std::int64_t>{"visits"};
constexpr auto note = statefun::value_spec<std::string>{"note", statefun::expire_after_write{30s}};

/// What the functions below did, across every instance of the service (a restart keeps it:
/// it stands for the outside world, not for the service's memory).
struct world {
  std::int64_t charges = 0;           ///< run() side effects performed
  std::set<std::string> charge_keys;  ///< their idempotency keys
  std::vector<std::string> log;       ///< what flows saw, in order
};

/// `shop/stock` (plain, returns its reply), `shop/bank` (plain, replies with ctx.reply or not at
/// all), and `shop/order`, a durable flow: reserve, wait, charge once, confirm.
statefun::functions shop(world& w, statefun::durable_options options = {}) {
  statefun::functions fns;
  fns.bind("shop/stock", {stock}, [](statefun::context& ctx, const message& msg) -> std::int64_t {
    const auto wanted = msg.as<std::int64_t>();
    const auto left = ctx.storage().get(stock).value_or(10);
    if (wanted > left) {
      return -1;
    }
    ctx.storage().set(stock, left - wanted);
    return left - wanted;
  });
  fns.bind("shop/bank", [](statefun::context& ctx, const message& msg) {
    const auto text = msg.as<std::string>();
    if (text != "ignore me") {
      ctx.reply("ok:" + text);
    }
  });
  fns.bind(
      "shop/order", {visits},
      [&w](durable_context& ctx, const message& msg) -> task<std::string> {
        const auto count = msg.as<std::int64_t>();
        const auto before = ctx.storage().get(visits).value_or(0);
        ctx.storage().set(visits, before + 1);
        const auto left = co_await ctx.call<std::int64_t>({"shop/stock", "apple"}, count);
        if (left < 0) {
          ctx.send_egress(statefun::egress_to("shop/out").value(ctx.self().id + ": out of stock"));
          co_return "refused";
        }
        co_await ctx.sleep(10s);
        const auto charged = co_await ctx.run("charge", [&w](std::string_view key) {
          ++w.charges;
          w.charge_keys.emplace(key);
          return std::string("charge-") + std::to_string(w.charges);
        });
        const auto bank = co_await ctx.call<std::string>({"shop/bank", "main"}, charged);
        // Read back after three awaits: the replay must see what the first run wrote.
        const auto seen = ctx.storage().get(visits).value_or(0);
        ctx.send_egress(statefun::egress_to("shop/out")
                            .value(ctx.self().id + ": " + std::to_string(left) + " left, " + bank +
                                   ", visits " + std::to_string(seen)));
        co_return "confirmed";
      },
      options);
  return fns;
}

/// A runtime on a virtual clock with the egress `shop/out`.
struct shop_runtime {
  explicit shop_runtime(local::delivery_semantic semantic = local::delivery_semantic::at_least_once) {
    rt.add_egress({.kind = local::egress_kind::any, .id = "shop/out", .semantic = semantic});
  }
  local::runtime rt{{.clock = local::clock::virtual_time()}};
};

/// The shop served in process, with more functions bound by `more`.
struct shop_app {
  explicit shop_app(const std::function<void(statefun::functions&)>& more = {},
                    local::delivery_semantic semantic = local::delivery_semantic::at_least_once)
      : fns(shop(w)), out(semantic) {
    if (more) {
      more(fns);
    }
    out.rt.serve(fns);
  }

  world w;
  statefun::functions fns;  // before the runtime, which must go first
  shop_runtime out;
  local::runtime& rt = out.rt;
};

std::vector<std::string> records(const local::runtime& rt, std::string_view egress = "shop/out") {
  std::vector<std::string> out;
  for (const auto& r : rt.egress(egress)) {
    out.push_back(r.value.as<std::string>());
  }
  return out;
}

/**
 * A function service that keeps nothing between requests: each request gets a fresh registry
 * and handler, as if the process had restarted. With `twice`, each batch is handled once and
 * its answer thrown away, then handled again (the runtime resending a batch whose answer it
 * never got): the functions see every batch twice, the runtime applies one answer.
 */
class restarting_service final : public local::function_endpoint {
 public:
  restarting_service(std::function<statefun::functions()> start, bool twice) : start_(std::move(start)), twice_(twice) {}

  void send(std::string_view, std::string to_function, local::reply_to reply) override {
    if (twice_) {
      (void)handle(to_function);
    }
    auto answer = handle(to_function);
    if (answer) {
      reply.ok(std::move(*answer));
    } else {
      reply.fail(error_);
    }
  }

  [[nodiscard]] std::string describe() const override { return "a service restarted for every request"; }

  std::size_t requests = 0;

 private:
  std::optional<std::string> handle(const std::string& request) {
    ++requests;
    const statefun::functions fns = start_();
    auto handler = fns.handler();
    auto result = handler.handle_sync(request);
    if (!result) {
      error_ = result.error().message();
      return std::nullopt;
    }
    return std::string(*result);
  }

  std::function<statefun::functions()> start_;
  bool twice_;
  std::string error_;
};

}  // namespace

TEST_CASE("durable: a flow calls, sleeps, runs a side effect once and calls again, then replies") {
  shop_app app;
  auto& rt = app.rt;
  auto& w = app.w;
  rt.send(address{"shop/order", "o1"}, std::int64_t{3});
  rt.run_until_idle();
  CHECK(records(rt).empty());  // asleep
  CHECK(w.charges == 0);
  rt.advance(9s);
  CHECK(w.charges == 0);
  rt.advance(1s);
  CHECK(records(rt) == std::vector<std::string>{"o1: 7 left, ok:charge-1, visits 1"});
  CHECK(w.charges == 1);
  CHECK(w.charge_keys == std::set<std::string>{"shop/order/o1#1.3"});
  CHECK(rt.pending_delayed_messages() == 0);
}

TEST_CASE("durable: the flow's return value goes to its caller, as a reply to a durable call") {
  shop_app app([](statefun::functions& fns) {
    fns.bind("shop/front", [](durable_context& ctx, const message& msg) -> task<> {
      const auto outcome = co_await ctx.call<std::string>({"shop/order", msg.as<std::string>()}, std::int64_t{20});
      ctx.send_egress(statefun::egress_to("shop/out").value("front saw " + outcome));
    });
  });
  auto& rt = app.rt;
  rt.send(address{"shop/front", "f"}, std::string("big"));
  rt.run_until_idle();
  CHECK(records(rt) == std::vector<std::string>{"big: out of stock", "front saw refused"});
}

TEST_CASE("durable: messages reaching a suspended flow wait, in order, until it ends") {
  shop_app app;
  auto& rt = app.rt;
  for (std::int64_t n : {4, 5, 2}) {
    rt.send(address{"shop/order", "same"}, n);
  }
  rt.run_until_idle();
  rt.advance(10s);
  rt.advance(10s);
  rt.advance(10s);
  // One after the other, each seeing the stock the one before left: 10 - 4, 6 - 5, then 2 > 1.
  CHECK(records(rt) == std::vector<std::string>{"same: 6 left, ok:charge-1, visits 1",
                                                "same: 1 left, ok:charge-2, visits 2", "same: out of stock"});
}

TEST_CASE("durable: the service restarts before every request; nothing but the journal carries the flow") {
  world in_process_world;
  const auto fns = shop(in_process_world);
  shop_runtime expected;
  auto& expected_rt = expected.rt;
  expected_rt.serve(fns);

  world restarted_world;
  shop_runtime shop_rt;
  auto& rt = shop_rt.rt;
  auto service = std::make_shared<restarting_service>([&] { return shop(restarted_world); }, false);
  rt.bind("shop/*", service);

  for (auto* r : {&expected_rt, &rt}) {
    for (const char* id : {"a", "b", "c"}) {
      r->send(address{"shop/order", id}, std::int64_t{2});
    }
    r->run_until_idle();
    r->advance(10s);
  }
  CHECK(records(rt) == records(expected_rt));
  CHECK(records(rt).size() == 3);
  CHECK(restarted_world.charges == 3);
  CHECK(service->requests > 9);
  // Every call answered once (the stock taken once per order), every sleep woken once.
  CHECK(rt.state(address{"shop/stock", "apple"}, stock) == 4);
  CHECK(rt.stats().delayed_fired == 3);
  CHECK(rt.pending_delayed_messages() == 0);
}

TEST_CASE("durable: every batch handled twice (a redelivery): effects once, run() once per committed step") {
  world w;
  shop_runtime shop_rt;
  auto& rt = shop_rt.rt;
  auto service = std::make_shared<restarting_service>([&] { return shop(w); }, true);
  rt.bind("shop/*", service);
  rt.send(address{"shop/order", "twice"}, std::int64_t{1});
  rt.run_until_idle();
  rt.advance(10s);
  CHECK(records(rt) == std::vector<std::string>{"twice: 9 left, ok:charge-2, visits 1"});
  // The batch that ran the charge ran twice; the answer the runtime kept carries the second.
  CHECK(w.charges == 2);
  // Both attempts used the same key, so an outside service could tell the repeat.
  CHECK(w.charge_keys == std::set<std::string>{"shop/order/twice#1.3"});
  CHECK(rt.state(address{"shop/stock", "apple"}, stock) == 9);  // reserved once
  CHECK(rt.stats().delayed_fired == 1);                          // one wake
}

TEST_CASE("durable: a crash after flows went on, and the restore of the snapshot taken while they waited") {
  shop_app app({}, local::delivery_semantic::exactly_once);
  auto& rt = app.rt;
  auto& w = app.w;
  rt.send(address{"shop/order", "x"}, std::int64_t{1});
  rt.send(address{"shop/order", "y"}, std::int64_t{1});
  rt.run_until_idle();
  const auto asleep = rt.take_snapshot();
  rt.advance(10s);  // both flows end, but no snapshot publishes their records: then a crash
  CHECK(records(rt).empty());
  rt.restore(asleep);
  rt.advance(10s);
  rt.take_snapshot();
  CHECK(records(rt) == std::vector<std::string>{"x: 9 left, ok:charge-3, visits 1", "y: 8 left, ok:charge-4, visits 1"});
  CHECK(w.charges == 4);  // the outside world saw both runs' charges: run() is at least once
  CHECK(w.charge_keys.size() == 2);  // with one key per step, so it can tell
}

TEST_CASE("durable: a call's timeout, and its late reply dropped") {
  shop_app app([](statefun::functions& fns) {
    fns.bind("shop/late", [](statefun::context& ctx, const message& msg) {  // answers after 8 s
      ctx.send_after(8s, statefun::message_to(*ctx.caller()).value("late:" + msg.as<std::string>()));
    });
    fns.bind("shop/ask", [](durable_context& ctx, const message&) -> task<> {
      std::string outcome;
      try {
        outcome = co_await ctx.call<std::string>({"shop/late", "l"}, std::string("first"), {.timeout = 5s});
      } catch (const statefun::call_timeout& e) {
        outcome = std::string("timeout: ") + e.what();
      }
      ctx.send_egress(statefun::egress_to("shop/out").value(outcome));
      const auto next = co_await ctx.call<std::string>({"shop/late", "l"}, std::string("second"));
      ctx.send_egress(statefun::egress_to("shop/out").value(next));
    });
  });
  auto& rt = app.rt;
  rt.send(address{"shop/ask", "q"}, std::string("go"));
  rt.run_until_idle();
  CHECK(records(rt).empty());
  rt.advance(5s);
  REQUIRE(records(rt).size() == 1);
  CHECK(records(rt)[0].starts_with("timeout: statefun: shop/ask/q: flow 1, step 1: no reply from shop/late/l within 5000 ms"));
  rt.advance(3s);  // "late:first" arrives, for the call that timed out: dropped
  CHECK(records(rt).size() == 1);
  rt.advance(5s);
  CHECK(records(rt) == std::vector<std::string>{records(rt)[0], "late:second"});
  CHECK(rt.pending_delayed_messages() == 0);
}

TEST_CASE("durable: all() waits for every call, first() takes the earliest and abandons the rest") {
  shop_app app([](statefun::functions& fns) {
    fns.bind("shop/both", [](durable_context& ctx, const message&) -> task<> {
      auto [a, b] = co_await ctx.all(ctx.call<std::string>({"shop/bank", "1"}, std::string("a")),
                                     ctx.call<std::string>({"shop/bank", "2"}, std::string("b")));
      auto raced = co_await ctx.first(ctx.sleep(1min), ctx.call<std::string>({"shop/bank", "3"}, std::string("c")));
      const std::string winner = raced.index() == 1 ? std::get<1>(raced) : "the sleep";
      auto timed = co_await ctx.first(ctx.call<std::string>({"shop/bank", "4"}, std::string("ignore me")),
                                      ctx.sleep(2s));
      ctx.send_egress(statefun::egress_to("shop/out")
                          .value(a + " " + b + " " + winner + " " + (timed.index() == 1 ? "slept" : "answered")));
    });
  });
  auto& rt = app.rt;
  rt.send(address{"shop/both", "z"}, std::string("go"));
  rt.run_until_idle();
  CHECK(rt.pending_delayed_messages() == 2);  // the 2 s sleep, and the 1 min timeout of call 4
  rt.advance(2s);
  CHECK(records(rt) == std::vector<std::string>{"ok:a ok:b ok:c slept"});
  // The lost sleep of 1 min and call 4's timeout are cancelled with their flow's steps.
  CHECK(rt.pending_delayed_messages() == 0);
}

TEST_CASE("durable: a call back into the waiting address fails the call instead of deadlocking") {
  statefun::functions fns;
  fns.bind("loop/a", [](durable_context& ctx, const message& msg) -> task<std::string> {
    if (msg.as<std::string>() != "start") {
      co_return "pong";  // the call back from b, once the first flow has ended
    }
    std::string outcome;
    try {
      const auto n = co_await ctx.call<std::int64_t>({"loop/b", "1"}, std::string("ping"));
      outcome = std::to_string(n);
    } catch (const statefun::reentrant_call& e) {
      outcome = e.what();
    }
    ctx.send_egress(statefun::egress_to("loop/out").value(outcome));
    co_return "";
  });
  fns.bind("loop/b", [](durable_context& ctx, const message&) -> task<std::int64_t> {
    const auto back = co_await ctx.call<std::string>({"loop/a", "1"}, std::string("are you there?"));
    ctx.send_egress(statefun::egress_to("loop/out").value("b got " + back));
    co_return 42;
  });
  fns.bind("loop/self", [](durable_context& ctx, const message&) -> task<> {
    co_await ctx.call<std::string>(ctx.self(), std::string("me?"));
  });
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  rt.add_egress({.kind = local::egress_kind::any, .id = "loop/out"});
  rt.send(address{"loop/a", "1"}, std::string("start"));
  rt.run_until_idle();
  const auto out = records(rt, "loop/out");
  REQUIRE(out.size() == 2);
  CHECK(out[0].find("loop/b/1") != std::string::npos);
  CHECK(out[0].find("a call back into a waiting address") != std::string::npos);
  CHECK(out[1] == "b got pong");  // b's 42 then reached a's ended flow: dropped
  CHECK(rt.pending_delayed_messages() == 0);

  rt.send(address{"loop/self", "1"}, std::string("go"));
  CHECK_THROWS_WITH_AS(rt.run_until_idle(), doctest::Contains("calls itself"), local::job_failure);
}

TEST_CASE("durable: calls in a cycle through a third address end at the timeout, which says why") {
  statefun::functions fns;
  const statefun::durable_options quick{.call_timeout = 30s};
  for (const auto& [self, next] : {std::pair{"ring/a", "ring/b"}, {"ring/b", "ring/c"}, {"ring/c", "ring/a"}}) {
    fns.bind(
        self, {},
        [next = std::string(next)](durable_context& ctx, const message&) -> task<std::string> {
          try {
            co_return co_await ctx.call<std::string>({next, "1"}, std::string("hop"));
          } catch (const statefun::call_timeout& e) {
            ctx.send_egress(statefun::egress_to("ring/out").value(std::string(e.what())));
          }
          co_return "gave up";
        },
        quick);
  }
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  rt.add_egress({.kind = local::egress_kind::any, .id = "ring/out"});
  rt.send(address{"ring/a", "1"}, std::string("start"));
  rt.run_until_idle();
  CHECK(records(rt, "ring/out").empty());
  rt.advance(30s);
  const auto out = records(rt, "ring/out");
  REQUIRE_FALSE(out.empty());
  CHECK(out[0].find("no reply from ring/b/1 within 30000 ms") != std::string::npos);
  CHECK(out[0].find("1 messages wait for this flow to end") != std::string::npos);
}

TEST_CASE("durable: a flow that replays differently fails the batch, naming the step") {
  int run_number = 0;
  statefun::functions fns;
  fns.bind("odd/flow", [&run_number](durable_context& ctx, const message&) -> task<> {
    ++run_number;
    if (run_number == 1) {
      co_await ctx.sleep(1s);
    } else {
      co_await ctx.sleep(2s);  // not what the first run journaled
    }
  });
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  rt.send(address{"odd/flow", "1"}, std::string("go"));
  rt.run_until_idle();
  CHECK_THROWS_WITH_AS(rt.advance(1s),
                       doctest::Contains("odd/flow/1: flow 1, step 1: the journal recorded a sleep of 1000 ms, the "
                                         "replay asked for a sleep of 2000 ms"),
                       local::job_failure);
}

TEST_CASE("durable: state written between awaits reads back the same on every replay") {
  statefun::functions fns;
  fns.bind("tally/t", {visits}, [](durable_context& ctx, const message&) -> task<> {
    std::vector<std::int64_t> seen;
    for (int i = 0; i < 3; ++i) {
      const auto n = ctx.storage().get(visits).value_or(0);
      seen.push_back(n);
      ctx.storage().set(visits, n + 10);
      co_await ctx.sleep(1s);
    }
    std::string text;
    for (auto n : seen) {
      text += std::to_string(n) + " ";
    }
    ctx.send_egress(statefun::egress_to("tally/out").value(text + "final " +
                                                            std::to_string(ctx.storage().get(visits).value_or(0))));
  });
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  rt.add_egress({.kind = local::egress_kind::any, .id = "tally/out"});
  rt.send(address{"tally/t", "1"}, std::string("go"));
  rt.run_until_idle();
  rt.advance(3s);
  CHECK(records(rt, "tally/out") == std::vector<std::string>{"0 10 20 final 30"});
}

TEST_CASE("durable: a state that expires while the flow waits reads as expired, and is not taken for a replay that differs") {
  statefun::functions fns;
  fns.bind("ttl/t", {note}, [](durable_context& ctx, const message&) -> task<> {
    ctx.storage().set(note, std::string("kept"));
    co_await ctx.sleep(10s);
    const std::string early = ctx.storage().get(note).value_or("expired");
    co_await ctx.sleep(1min);
    const std::string late = ctx.storage().get(note).value_or("expired");
    ctx.send_egress(statefun::egress_to("ttl/out").value(early + " then " + late));
  });
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  rt.add_egress({.kind = local::egress_kind::any, .id = "ttl/out"});
  rt.send(address{"ttl/t", "1"}, std::string("go"));
  rt.run_until_idle();
  rt.advance(2min);
  CHECK(records(rt, "ttl/out") == std::vector<std::string>{"kept then expired"});
  CHECK_FALSE(rt.state(address{"ttl/t", "1"}, note).has_value());
}

TEST_CASE("durable: the journal's bound fails the batch that would pass it, saying what fills it") {
  statefun::functions fns;
  fns.bind(
      "full/f", {},
      [](durable_context& ctx, const message&) -> task<> { co_await ctx.sleep(1h); },
      statefun::durable_options{.max_journal_bytes = 400});
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  for (int i = 0; i < 20; ++i) {
    rt.send(address{"full/f", "1"}, std::string(40, 'x'));
  }
  CHECK_THROWS_WITH_AS(rt.run_until_idle(), doctest::Contains("more than the 400 allowed"), local::job_failure);
}

TEST_CASE("durable: a run() that throws fails with run_failed, and replays the same failure") {
  int attempts = 0;
  statefun::functions fns;
  fns.bind("risky/r", [&attempts](durable_context& ctx, const message&) -> task<> {
    std::string outcome;
    try {
      co_await ctx.run("flaky", [&attempts]() -> std::int64_t {
        ++attempts;
        throw std::runtime_error("the card was declined");
      });
    } catch (const statefun::run_failed& e) {
      outcome = e.what();
    }
    co_await ctx.sleep(1s);
    ctx.send_egress(statefun::egress_to("risky/out").value(outcome));
  });
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  rt.add_egress({.kind = local::egress_kind::any, .id = "risky/out"});
  rt.send(address{"risky/r", "1"}, std::string("go"));
  rt.run_until_idle();
  rt.advance(1s);
  CHECK(records(rt, "risky/out") ==
        std::vector<std::string>{"statefun: risky/r/1: flow 1, step 1: run(\"flaky\") failed: the card was declined"});
  CHECK(attempts == 1);
}

TEST_CASE("durable: a plain function of another SDK sees an ordinary message from the flow, and answers by sending") {
  // What a Java, Python, Go or JavaScript function sees: the value, its type, and the flow's
  // address as the caller; it answers by sending a message of the awaited type to its caller.
  std::vector<std::string> seen;
  statefun::functions fns;
  fns.bind("mixed/other", [&seen](statefun::context& ctx, const message& msg) {
    seen.push_back(std::string(msg.type_name()) + " from " + ctx.caller()->to_string());
    ctx.send(statefun::message_to(*ctx.caller()).value(std::int64_t{7}));
  });
  fns.bind("mixed/flow", [](durable_context& ctx, const message&) -> task<> {
    const auto n = co_await ctx.call<std::int64_t>({"mixed/other", "x"}, std::string("question"));
    ctx.send_egress(statefun::egress_to("mixed/out").value(std::to_string(n)));
  });
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  rt.add_egress({.kind = local::egress_kind::any, .id = "mixed/out"});
  rt.send(address{"mixed/flow", "1"}, std::string("go"));
  rt.run_until_idle();
  CHECK(seen == std::vector<std::string>{"io.statefun.types/string from mixed/flow/1"});
  CHECK(records(rt, "mixed/out") == std::vector<std::string>{"7"});
}

namespace {

/// `function_type`'s value of a per-type series of `metrics`.
double per_type(const statefun::metrics::prometheus& metrics, const std::string& name, const std::string& type,
                const std::string& more_labels = "") {
  std::string text;
  metrics.write(text);
  return statefun::test::parse_exposition(text).at(name + "{function_type=\"" + type + "\"" + more_labels + "}");
}

}  // namespace

TEST_CASE("durable metrics: a flow's start, its replayed steps, its journal bytes and its end") {
  statefun::metrics::prometheus metrics;
  shop_app app([&metrics](statefun::functions& fns) { fns.observe(&metrics); });
  auto& rt = app.rt;
  rt.send(address{"shop/order", "o1"}, std::int64_t{3});
  rt.run_until_idle();  // batch 1 calls shop/stock; batch 2 takes its reply (step 1 replayed), sleeps
  CHECK(per_type(metrics, "statefun_durable_flows_started_total", "shop/order") == 1);
  CHECK(per_type(metrics, "statefun_durable_flows_finished_total", "shop/order") == 0);
  CHECK(per_type(metrics, "statefun_durable_steps_replayed_total", "shop/order") == 1);
  rt.advance(10s);  // the wake (steps 1-2 replayed) runs the charge and calls shop/bank; its
                    // reply (steps 1-4 replayed) ends the flow
  CHECK(records(rt) == std::vector<std::string>{"o1: 7 left, ok:charge-1, visits 1"});
  CHECK(per_type(metrics, "statefun_durable_flows_started_total", "shop/order") == 1);
  CHECK(per_type(metrics, "statefun_durable_flows_finished_total", "shop/order") == 1);
  CHECK(per_type(metrics, "statefun_durable_steps_replayed_total", "shop/order") == 1 + 2 + 4);
  const double read = per_type(metrics, "statefun_durable_journal_read_bytes_total", "shop/order");
  const double written = per_type(metrics, "statefun_durable_journal_written_bytes_total", "shop/order");
  CHECK(read > 0);
  CHECK(read <= written);  // each batch reads what the one before it wrote
  CHECK(per_type(metrics, "statefun_function_state_read_bytes_total", "shop/order") >= read);
  CHECK(per_type(metrics, "statefun_function_batches_total", "shop/order") == 4);
  // Plain functions have no flows; durable ones never count as suspended coroutines.
  CHECK(per_type(metrics, "statefun_durable_flows_started_total", "shop/stock") == 0);
  CHECK(per_type(metrics, "statefun_function_suspended", "shop/order") == 0);
}

TEST_CASE("durable metrics: a flow's return value to its caller is a reply, its calls are messages") {
  statefun::metrics::prometheus metrics;
  shop_app app([&metrics](statefun::functions& fns) {
    fns.bind("shop/front", [](durable_context& ctx, const message& msg) -> task<> {
      const auto outcome = co_await ctx.call<std::string>({"shop/order", msg.as<std::string>()}, std::int64_t{20});
      ctx.send_egress(statefun::egress_to("shop/out").value("front saw " + outcome));
    });
    fns.observe(&metrics);
  });
  auto& rt = app.rt;
  rt.send(address{"shop/front", "f"}, std::string("big"));
  rt.run_until_idle();
  CHECK(records(rt) == std::vector<std::string>{"big: out of stock", "front saw refused"});
  const auto effects = [&](const std::string& type, const std::string& kind) {
    return per_type(metrics, "statefun_function_effects_total", type, ",kind=\"" + kind + "\"");
  };
  CHECK(effects("shop/order", "reply") == 1);    // "refused", returned to shop/front
  CHECK(effects("shop/order", "message") == 1);  // the call to shop/stock
  CHECK(effects("shop/front", "message") == 1);  // the call to shop/order
  CHECK(effects("shop/front", "reply") == 0);
  CHECK(per_type(metrics, "statefun_durable_flows_finished_total", "shop/order") == 1);
  CHECK(per_type(metrics, "statefun_durable_flows_finished_total", "shop/front") == 1);
}
