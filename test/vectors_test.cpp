// The official SDK's request/response pairs (test/data/*.bin, described in test/data/vectors.md),
// replayed through equivalent C++ functions.
#include <statefun/request_reply_handler.hpp>

#include <statefun/egress.hpp>
#include <statefun/json.hpp>

#include "support/counter.hpp"
#include "support/doctest.hpp"
#include "support/values.hpp"
#include "support/equivalent.hpp"
#include "support/files.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>


namespace {

using namespace std::chrono_literals;
using statefun::context;
using statefun::message;
using statefun_test::count;
using statefun_test::counter;

statefun::functions vector_functions() {
  static constexpr statefun::value_spec<std::int32_t> seen{"seen", statefun::expire_after_call{60s}};
  static constexpr statefun::value_spec<std::string> session{"session", statefun::expire_after_write{1h}};
  static constexpr statefun::value_spec<bool> flag{"flag"};
  static constexpr statefun::value_spec<std::int32_t> i{"i"};
  static constexpr statefun::value_spec<std::int64_t> l{"l"};
  static constexpr statefun::value_spec<float> f{"f"};
  static constexpr statefun::value_spec<double> d{"d"};
  static constexpr statefun::value_spec<bool> b{"b"};
  static constexpr statefun::value_spec<std::string> s{"s"};
  static constexpr statefun::value_spec<statefun::test::user> u{"u"};
  static constexpr statefun::value_spec<std::string> name{"name"};

  statefun::functions fns;
  fns.bind("vec/counter", {count}, counter);
  fns.bind("vec/ttl", {seen, session, flag}, [](context&, const message&) {});
  fns.bind("vec/types", {i, l, f, d, b, s, u}, [](context& ctx, const message&) {
    ctx.storage().set(i, -7);
    ctx.storage().set(l, (std::int64_t{1} << 40) + 3);
    ctx.storage().set(f, 1.5F);
    ctx.storage().set(d, -0.25);
    ctx.storage().set(b, false);
    ctx.storage().set(s, std::string("h\xC3\xA9llo \xE2\x9C\x93"));
    ctx.storage().set(u, statefun::test::user{"ann", 12});
  });
  fns.bind("vec/deleter", {count, name}, [](context& ctx, const message&) { ctx.storage().remove(count); });
  fns.bind("vec/reader", {count}, [](context& ctx, const message&) { (void)ctx.storage().get(count); });
  fns.bind("vec/echo", [](context& ctx, const message& msg) {
    if (ctx.caller()) {
      ctx.send(statefun::message_to(*ctx.caller()).value("echo:" + msg.as<std::string>()));
    }
  });
  fns.bind("vec/messenger", [](context& ctx, const message&) {
    ctx.send(statefun::message_to({"vec/counter", "x"}).value("hi"));
    ctx.send(statefun::message_to({"vec/counter", "y"}).value(42));
    ctx.send(statefun::message_to({"vec/counter", "z"}).value(statefun::test::user{"bo", 3}));
    ctx.send_after(1500ms, statefun::message_to({"vec/counter", "x"}).value("later"));
    ctx.send_after(2s, statefun::message_to({"vec/counter", "x"}).value(7), statefun::cancellation_token{"tok-1"});
    ctx.cancel_delayed_message(statefun::cancellation_token{"tok-0"});
    ctx.send_egress(statefun::kafka_egress{"vec/kafka"}.topic("out").key("k").value("a string"));
    ctx.send_egress(statefun::kafka_egress{"vec/kafka"}.topic("ints").value(258));
    ctx.send_egress(statefun::kafka_egress{"vec/kafka"}.topic("doubles").key("d").value(2.5));
    ctx.send_egress(statefun::kafka_egress{"vec/kafka"}.topic("typed").value(statefun::test::user{"cy", 1}));
    ctx.send_egress(
        statefun::kinesis_egress{"vec/kinesis"}.stream("s1").partition_key("p").explicit_hash_key("123").value("v"));
    const std::array<std::byte, 2> raw{std::byte{0}, std::byte{1}};
    ctx.send_egress(statefun::kinesis_egress{"vec/kinesis"}.stream("s2").partition_key("p2").value(std::span(raw)));
    ctx.send_egress(statefun::egress_to("vec/generic").value(statefun::test::user{"di", 0}));
  });
  return fns;
}

/// Replays vector `name`; returns our response bytes after checking equivalence.
std::string replay(const std::string& name) {
  static const statefun::functions fns = vector_functions();
  auto handler = fns.handler();
  const std::string request = statefun::test::read_data(name + ".request.bin");
  const std::string expected_bytes = statefun::test::read_data(name + ".response.bin");
  const auto response = handler.handle_sync(request);
  REQUIRE_MESSAGE(response.has_value(), (response ? "" : response.error().message()));
  statefun::codec::from_function_view ours;
  statefun::codec::from_function_view theirs;
  REQUIRE(static_cast<bool>(ours.decode(*response)));
  REQUIRE(static_cast<bool>(theirs.decode(expected_bytes)));
  CHECK_MESSAGE(statefun::test::difference(ours, theirs).empty(), statefun::test::difference(ours, theirs));
  return std::string(*response);
}

}  // namespace

TEST_CASE("every official vector is answered with an equivalent response") {
  for (const char* name : {"counter-absent", "counter-no-state-value", "counter-existing", "counter-batch",
                           "counter-missing-state", "ttl-missing-state", "types-write", "delete-state",
                           "read-only", "echo-caller", "messenger"}) {
    CAPTURE(name);
    (void)replay(name);
  }
}

TEST_CASE("canonical responses match the official SDK byte for byte") {
  // Where the reference is canonical proto3 in field order, so are we.
  for (const char* name : {"counter-absent", "counter-no-state-value", "counter-existing", "counter-batch",
                           "delete-state", "read-only", "echo-caller"}) {
    CAPTURE(name);
    CHECK(replay(name) == statefun::test::read_data(std::string(name) + ".response.bin"));
  }
}

TEST_CASE("the missing-state reply leaves out the expiration spec of a state that never expires") {
  // The reference writes an empty ExpirationSpec; absent means the same (NONE), as Java and JS do.
  const std::string ours = replay("counter-missing-state");
  CHECK(ours.size() < statefun::test::read_data("counter-missing-state.response.bin").size());
  statefun::codec::from_function_view view;
  REQUIRE(static_cast<bool>(view.decode(ours)));
  REQUIRE(view.missing_values.size() == 1);
  CHECK(view.missing_values[0].mode == statefun::codec::expire_mode::none);
}

TEST_CASE("the benchmark workloads get the responses the official SDKs gave") {
  statefun::functions fns;
  fns.bind("bench/counter", {count}, counter);
  fns.bind("bench/fanout", {count}, [](context& ctx, const message&) {
    counter(ctx, message{});
    ctx.send(statefun::message_to({"bench/counter", "user-2"}).value("hello"));
    ctx.send_egress(statefun::kafka_egress{"bench/egress"}.topic("out").key(ctx.self().id).value("hello"));
  });
  auto handler = fns.handler();
  for (const auto& pair : {std::pair{"w1_counter.bin", "w1_counter.response.bin"},
                           {"w2_counter_batch100.bin", "w2_counter_batch100.response.bin"},
                           {"w3_fanout.bin", "w3_fanout.response.bin"},
                           {"w4_missing_state.bin", "w4_missing_state.response.js.bin"}}) {
    const char* request = pair.first;
    const char* response = pair.second;
    CAPTURE(request);
    const std::string request_bytes = statefun::test::read_data(std::string("workloads/") + request);
    const std::string reference = statefun::test::read_data(std::string("workloads/") + response);
    const auto ours = handler.handle_sync(request_bytes);
    REQUIRE(ours.has_value());
    // Views point into the bytes they decode, which therefore live in variables above.
    statefun::codec::from_function_view a;
    statefun::codec::from_function_view b;
    REQUIRE(static_cast<bool>(a.decode(*ours)));
    REQUIRE(static_cast<bool>(b.decode(reference)));
    CHECK_MESSAGE(statefun::test::difference(a, b).empty(), statefun::test::difference(a, b));
  }
}
