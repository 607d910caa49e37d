#pragma once
// The functions that answer the official SDK's protocol vectors (test/data/*.bin, described in
// test/data/vectors.md) and the benchmark workloads (test/data/workloads/): test/vectors_test.cpp
// replays the request bodies through them, and test/java/java_peer_server.cpp serves them to the
// runtime's Java client stacks.

#include <statefun/egress.hpp>
#include <statefun/functions.hpp>
#include <statefun/json.hpp>
#include <statefun/message_builder.hpp>

#include "support/counter.hpp"
#include "support/values.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace statefun::test {

/// vec/counter, vec/ttl, vec/types, vec/deleter, vec/reader, vec/echo and vec/messenger.
inline statefun::functions vector_functions() {
  using namespace std::chrono_literals;
  using statefun::context;
  using statefun::message;
  using statefun_test::count;
  using statefun_test::counter;
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

/// Binds the workloads' functions: bench/counter (W1, W2, W4) and bench/fanout (W3).
inline void bind_workload_functions(statefun::functions& fns) {
  using statefun_test::count;
  using statefun_test::counter;
  fns.bind("bench/counter", {count}, counter);
  fns.bind("bench/fanout", {count}, [](statefun::context& ctx, const statefun::message&) {
    counter(ctx, statefun::message{});
    ctx.send(statefun::message_to({"bench/counter", "user-2"}).value("hello"));
    ctx.send_egress(statefun::kafka_egress{"bench/egress"}.topic("out").key(ctx.self().id).value("hello"));
  });
}

}  // namespace statefun::test
