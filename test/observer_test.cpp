#include <statefun/observer.hpp>

#include <statefun/observer_fanout.hpp>

#include <statefun/durable.hpp>
#include <statefun/egress.hpp>
#include <statefun/message_builder.hpp>
#include <statefun/metrics/prometheus.hpp>
#include <statefun/request_reply_handler.hpp>

#include "support/doctest.hpp"
#include "support/exposition.hpp"
#include "support/manual_event.hpp"
#include "support/requests.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using statefun::context;
using statefun::failure_kind;
using statefun::message;
using statefun::test::request;

namespace {

constexpr statefun::value_spec<std::int32_t> observed_count{"count"};

/// Bytes of `v` as a state value on the wire.
std::size_t encoded_size(std::int32_t v) {
  std::string bytes;
  statefun::type<std::int32_t>::encode(v, bytes);
  return bytes.size();
}

/// An observer that keeps every event it is given, per function type.
struct recording_observer final : statefun::observer {
  struct per_type final : statefun::function_observer {
    void batch_handled(const statefun::batch_event& e) noexcept override { handled.push_back(e); }
    void missing_state(std::size_t missing) noexcept override { missing_states.push_back(missing); }
    void batch_failed(failure_kind kind, const statefun::batch_event& e) noexcept override {
      failures.push_back(kind);
      failed.push_back(e);
    }
    std::vector<statefun::batch_event> handled;
    std::vector<statefun::batch_event> failed;
    std::vector<std::size_t> missing_states;
    std::vector<failure_kind> failures;
  };

  statefun::function_observer* function_type(const statefun::type_name& type) override {
    asked.push_back(type.str());
    auto& slot = types[type.str()];
    if (!slot) {
      slot = std::make_unique<per_type>();
    }
    return slot.get();
  }
  void request_failed(failure_kind kind) noexcept override { unrouted.push_back(kind); }

  std::map<std::string, std::unique_ptr<per_type>> types;
  std::vector<std::string> asked;
  std::vector<failure_kind> unrouted;
};

}  // namespace

TEST_CASE("an observer is asked once per bound type, whether attached before or after binding") {
  recording_observer o;
  statefun::functions fns;
  fns.bind("t/before", [](context&, const message&) {});
  fns.observe(&o);
  fns.bind("t/after", [](context&, const message&) {});
  CHECK(o.asked == std::vector<std::string>{"t/before", "t/after"});
  CHECK(fns.observer() == &o);
  auto handler = fns.handler();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(handler.handle_sync(request("t", "before", "1").invoke("x").bytes()));
  }
  CHECK(o.asked.size() == 2);  // serving asks nothing
  CHECK(o.types["t/before"]->handled.size() == 3);
  CHECK(o.types["t/after"]->handled.empty());
}

TEST_CASE("a batch's event counts its invocations, effects by kind, and state bytes read and written") {
  recording_observer o;
  statefun::functions fns;
  fns.bind("t/f", {observed_count}, [](context& ctx, const message&) {
    ctx.storage().set(observed_count, ctx.storage().get(observed_count).value_or(0) + 1);
    ctx.send(statefun::message_to({"t/g", "a"}).value(1));
    ctx.send_after(5ms, statefun::message_to({"t/g", "b"}).value(2), statefun::cancellation_token{"tok"});
    ctx.cancel_delayed_message(statefun::cancellation_token{"tok"});
    ctx.send_egress(statefun::egress_to("t/out").value("record"));
    if (ctx.caller()) {
      ctx.reply(std::string("re"));
    }
  });
  fns.observe(&o);
  auto handler = fns.handler();
  REQUIRE(handler.handle_sync(request("t", "f", "1")
                                  .state("count", std::int32_t{41})
                                  .invoke("one", statefun::codec::address_view{"x", "asker", "7"})
                                  .invoke("two")
                                  .bytes()));
  const auto& events = o.types["t/f"]->handled;
  REQUIRE(events.size() == 1);
  const statefun::batch_event& e = events.front();
  CHECK(e.invocations == 2);
  CHECK(e.messages == 2);
  CHECK(e.delayed_messages == 2);
  CHECK(e.cancellations == 2);
  CHECK(e.egress_records == 2);
  CHECK(e.replies == 1);
  CHECK(e.state_bytes_read == encoded_size(41));
  CHECK(e.state_bytes_written == encoded_size(43));
  CHECK(e.handler_time >= 0ns);
  CHECK(o.types["t/f"]->failed.empty());
}

TEST_CASE("a function's return value is counted as a reply, not as a message") {
  recording_observer o;
  statefun::functions fns;
  fns.bind("t/f", [](context&, const message&) { return std::string("answer"); });
  fns.observe(&o);
  auto handler = fns.handler();
  REQUIRE(handler.handle_sync(request("t", "f", "1").invoke("q", statefun::codec::address_view{"x", "y", "z"}).bytes()));
  REQUIRE(o.types["t/f"]->handled.size() == 1);
  CHECK(o.types["t/f"]->handled[0].replies == 1);
  CHECK(o.types["t/f"]->handled[0].messages == 0);
}

TEST_CASE("failures are told by kind: exception, refused effect, malformed request, unknown type") {
  recording_observer o;
  statefun::functions fns;
  fns.bind("t/throws", [](context&, const message&) { throw std::runtime_error("on purpose"); });
  fns.bind("t/refused", [](context& ctx, const message&) {
    ctx.send_after(-1ms, statefun::message_to({"t/g", "a"}).value(1));
  });
  fns.bind("t/ok", [](context&, const message&) {});
  fns.observe(&o);
  auto handler = fns.handler();
  CHECK_FALSE(handler.handle_sync(request("t", "throws", "1").invoke("x").bytes()));
  CHECK_FALSE(handler.handle_sync(request("t", "refused", "1").invoke("x").bytes()));
  CHECK_FALSE(handler.handle_sync(request("t", "nobody", "1").invoke("x").bytes()));
  CHECK_FALSE(handler.handle_sync("\xff\xff not a ToFunction"));
  CHECK_FALSE(handler.handle_sync(
      request("t", "ok", "1").invoke("x", statefun::codec::address_view{"", "", ""}).invoke("y",
          statefun::codec::address_view{"bad", "", "1"}).bytes()));

  CHECK(o.types["t/throws"]->failures == std::vector<failure_kind>{failure_kind::exception});
  CHECK(o.types["t/refused"]->failures == std::vector<failure_kind>{failure_kind::refused_effect});
  CHECK(o.types["t/ok"]->failures == std::vector<failure_kind>{failure_kind::malformed_request});
  CHECK(o.types["t/ok"]->handled.empty());
  CHECK(o.unrouted == std::vector<failure_kind>{failure_kind::unknown_function_type, failure_kind::malformed_request});
}

TEST_CASE("the missing-state handshake is told with the number of missing states") {
  recording_observer o;
  statefun::functions fns;
  fns.bind("t/f", {observed_count}, [](context&, const message&) {});
  fns.observe(&o);
  auto handler = fns.handler();
  REQUIRE(handler.handle_sync(request("t", "f", "1").invoke("x").bytes()));
  CHECK(o.types["t/f"]->missing_states == std::vector<std::size_t>{1});
  CHECK(o.types["t/f"]->handled.empty());
}

TEST_CASE("with no observer nothing is told, and detaching stops the events") {
  recording_observer o;
  statefun::functions fns;
  fns.bind("t/f", [](context&, const message&) {});
  fns.observe(&o);
  fns.observe(nullptr);
  CHECK(fns.observer() == nullptr);
  auto handler = fns.handler();
  REQUIRE(handler.handle_sync(request("t", "f", "1").invoke("x").bytes()));
  CHECK_FALSE(handler.handle_sync(request("t", "nobody", "1").invoke("x").bytes()));
  CHECK(o.types["t/f"]->handled.empty());
  CHECK(o.unrouted.empty());
}

TEST_CASE("a fan-out hands every event to each of its observers") {
  recording_observer a;
  recording_observer b;
  struct server_events final : statefun::observer {
    void timeout(statefun::timeout_kind) noexcept override { ++timeouts; }
    int timeouts = 0;
  } c;
  statefun::observer_fanout both{&a, &b, &c};
  statefun::functions fns;
  fns.bind("t/f", [](context&, const message&) {});
  fns.observe(&both);
  auto handler = fns.handler();
  REQUIRE(handler.handle_sync(request("t", "f", "1").invoke("x").bytes()));
  CHECK_FALSE(handler.handle_sync(request("t", "nobody", "1").invoke("x").bytes()));
  both.timeout(statefun::timeout_kind::idle);
  for (recording_observer* r : {&a, &b}) {
    CHECK(r->types["t/f"]->handled.size() == 1);
    CHECK(r->unrouted == std::vector<failure_kind>{failure_kind::unknown_function_type});
  }
  CHECK(c.timeouts == 1);
  std::string text;
  CHECK_FALSE(both.expose(text));  // none of them keeps an exposition
}

TEST_CASE("a handler made before the observer was attached tells it nothing") {
  recording_observer o;
  statefun::functions fns;
  fns.bind("t/f", [](context&, const message&) {});
  auto early = fns.handler();
  fns.observe(&o);
  REQUIRE(early.handle_sync(request("t", "f", "1").invoke("x").bytes()));
  CHECK(o.types["t/f"]->handled.empty());
  auto late = fns.handler();
  REQUIRE(late.handle_sync(request("t", "f", "1").invoke("x").bytes()));
  CHECK(o.types["t/f"]->handled.size() == 1);
}

namespace {

/// Per-type events of coroutine and durable functions, kept for the tests below; `suspended`
/// opens once an invocation waits, so that a test knows it is waiting without polling.
struct kinds_observer final : statefun::observer {
  struct per_type final : statefun::function_observer {
    void batch_handled(const statefun::batch_event& e) noexcept override { handled.push_back(e); }
    void missing_state(std::size_t) noexcept override {}
    void batch_failed(failure_kind, const statefun::batch_event&) noexcept override {}
    void durable_batch(const statefun::durable_event& e) noexcept override { durable.push_back(e); }
    void coroutine_suspended() noexcept override {
      ++suspensions;
      suspended.count_down();
    }
    void coroutine_finished() noexcept override { ++finishes; }
    std::vector<statefun::batch_event> handled;
    std::vector<statefun::durable_event> durable;
    std::atomic<int> suspensions{0};
    std::atomic<int> finishes{0};
    std::latch suspended{1};
  };
  statefun::function_observer* function_type(const statefun::type_name& type) override {
    auto& slot = types[type.str()];
    if (!slot) {
      slot = std::make_unique<per_type>();
    }
    return slot.get();
  }
  std::map<std::string, std::unique_ptr<per_type>> types;
};

statefun::task<> wait_for(statefun_test::manual_event& gate) { co_await gate; }

statefun::task<std::string> answer_at_once() { co_return "at once"; }

double suspended_now(const statefun::metrics::prometheus& metrics, const std::string& type) {
  std::string text;
  metrics.write(text);
  return statefun::test::parse_exposition(text).at("statefun_function_suspended{function_type=\"" + type + "\"}");
}

}  // namespace

TEST_CASE("the suspended gauge counts a coroutine function's invocation while it waits, and is 0 after") {
  statefun::metrics::prometheus metrics;
  kinds_observer signal;
  statefun::observer_fanout both{&metrics, &signal};
  statefun_test::manual_event gate;
  statefun::functions fns;
  fns.bind("t/waits", [&gate](context&, const message&) { return wait_for(gate); });
  fns.observe(&both);
  auto handler = fns.handler();
  const std::string bytes = request("t", "waits", "1").invoke("x").bytes();
  bool answered = false;
  std::thread serving([&] { answered = handler.handle_sync(bytes).has_value(); });
  signal.types["t/waits"]->suspended.wait();  // the invocation waits on the gate
  CHECK(suspended_now(metrics, "t/waits") == 1);
  gate.set();  // resumes it here: it finishes, and its batch with it
  CHECK(suspended_now(metrics, "t/waits") == 0);
  serving.join();
  CHECK(answered);
  CHECK(signal.types["t/waits"]->suspensions == 1);
  CHECK(signal.types["t/waits"]->finishes == 1);
}

TEST_CASE("a coroutine function that finishes without waiting, and a plain function, are never suspended") {
  kinds_observer o;
  statefun::functions fns;
  fns.bind("t/quick", [](context&, const message&) { return answer_at_once(); });
  fns.bind("t/plain", [](context&, const message&) {});
  fns.observe(&o);
  auto handler = fns.handler();
  REQUIRE(handler.handle_sync(request("t", "quick", "1").invoke("x").invoke("y").bytes()));
  REQUIRE(handler.handle_sync(request("t", "plain", "1").invoke("x").bytes()));
  for (const char* type : {"t/quick", "t/plain"}) {
    CHECK(o.types[type]->handled.size() == 1);
    CHECK(o.types[type]->suspensions == 0);
    CHECK(o.types[type]->finishes == 0);
    CHECK(o.types[type]->durable.empty());
  }
}

TEST_CASE("a durable flow's reply and return value are counted as replies, and its flow as started and finished") {
  kinds_observer o;
  statefun::functions fns;
  fns.bind("t/replies", [](statefun::durable_context& ctx, const message&) -> statefun::task<> {
    ctx.reply(std::string("early"));
    co_return;
  });
  fns.bind("t/returns", [](statefun::durable_context&, const message&) { return answer_at_once(); });
  fns.observe(&o);
  auto handler = fns.handler();
  const statefun::codec::address_view caller{"x", "asker", "7"};
  for (const char* type : {"replies", "returns"}) {
    REQUIRE(handler.handle_sync(
        request("t", type, "1").empty_state(statefun::detail::journal_state_name).invoke("q", caller).bytes()));
    const auto& per_type = *o.types[std::string("t/") + type];
    REQUIRE(per_type.handled.size() == 1);
    CHECK(per_type.handled[0].replies == 1);
    CHECK(per_type.handled[0].messages == 0);
    REQUIRE(per_type.durable.size() == 1);
    const statefun::durable_event& d = per_type.durable[0];
    CHECK(d.flows_started == 1);
    CHECK(d.flows_finished == 1);
    CHECK(d.steps_replayed == 0);
    CHECK(d.journal_bytes_read == 0);  // the first message: no journal yet
    CHECK(d.journal_bytes_written <= per_type.handled[0].state_bytes_written);
  }
}

TEST_CASE("a durable flow's reply to an ingress message is a refused effect, as a function's is") {
  recording_observer o;
  statefun::functions fns;
  fns.bind("t/replies", [](statefun::durable_context& ctx, const message&) -> statefun::task<> {
    ctx.reply(std::string("to no one"));
    co_return;
  });
  fns.observe(&o);
  auto handler = fns.handler();
  CHECK_FALSE(
      handler.handle_sync(request("t", "replies", "1").empty_state(statefun::detail::journal_state_name).invoke("q").bytes()));
  CHECK(o.types["t/replies"]->failures == std::vector<failure_kind>{failure_kind::refused_effect});
}
