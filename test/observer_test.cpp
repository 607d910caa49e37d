#include <statefun/observer.hpp>

#include <statefun/observer_fanout.hpp>

#include <statefun/egress.hpp>
#include <statefun/message_builder.hpp>
#include <statefun/request_reply_handler.hpp>

#include "support/doctest.hpp"
#include "support/requests.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
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
