// statefun::testing::instance with plain functions: typed messages, callers and given state
// in; state after, messages, delayed messages, cancellations, egress records, replies and
// exceptions out.

#include <statefun/testing/instance.hpp>

#include <statefun/statefun.hpp>

#include "support/doctest.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

constexpr auto seen = statefun::value_spec<std::int32_t>{"seen"};
constexpr auto last_name = statefun::value_spec<std::string>{"last_name"};

/// Counts greetings; answers a caller; mails a Kafka record; schedules a reminder to itself.
void greet(statefun::context& ctx, const statefun::message& msg) {
  const auto name = msg.as<std::string>();
  if (name == "boom") {
    ctx.storage().set(seen, 1000);
    throw std::invalid_argument("no greeting for boom");
  }
  if (name == "forget") {
    ctx.storage().remove(seen);
    ctx.cancel_delayed_message(statefun::cancellation_token("reminder"));
    return;
  }
  const auto n = ctx.storage().get(seen).value_or(0) + 1;
  ctx.storage().set(seen, n);
  ctx.storage().set(last_name, name);
  if (ctx.caller()) {
    ctx.reply("hello " + name);
  }
  ctx.send(statefun::message_to({"example/audit", name}).value(n));
  ctx.send_after(1min, statefun::message_to(ctx.self()).value(std::string("remind")),
                 statefun::cancellation_token("reminder"));
  ctx.send_egress(statefun::kafka_egress{"example/greets"}.topic("greetings").key(name).value(n));
  ctx.send_egress(statefun::kinesis_egress{"example/stream"}.stream("s").partition_key(name).explicit_hash_key("7").value(
      std::string("hi")));
  ctx.send_egress(statefun::egress_to({"example/custom"}).value(std::int64_t{n}));
}

statefun::functions greeter_functions() {
  statefun::functions fns;
  fns.bind("example/greeter", {seen, last_name}, greet);
  return fns;
}

}  // namespace

TEST_CASE("an invocation sees the given state and its outcome reads the state after, typed") {
  const auto fns = greeter_functions();
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  greeter.set(seen, 2);
  const auto out = greeter.receive("ann");
  CHECK(out.state(seen) == 3);
  CHECK(out.state(last_name) == "ann");
  CHECK(out.written(seen));
  CHECK(out.written(last_name));
  CHECK_FALSE(out.removed(seen));
  CHECK(out.written_states() == std::vector<std::string>{"seen", "last_name"});
  CHECK(greeter.get(seen) == 3);
}

TEST_CASE("state without a value reads as none, with no missing-state round trip to see") {
  const auto fns = greeter_functions();
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  CHECK(greeter.get(seen) == std::nullopt);
  CHECK(greeter.receive("ann").state(seen) == 1);
}

TEST_CASE("state persists from one invocation to the next, as at the runtime") {
  const auto fns = greeter_functions();
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  greeter.receive("ann");
  greeter.receive("ann");
  CHECK(greeter.receive("ann").state(seen) == 3);
  const auto forgot = greeter.receive("forget");
  CHECK(forgot.removed(seen));
  CHECK(forgot.state(seen) == std::nullopt);
  CHECK(greeter.get(seen) == std::nullopt);
  CHECK(greeter.get(last_name) == "ann");
}

TEST_CASE("messages sent carry their target and a typed value") {
  const auto fns = greeter_functions();
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  const auto out = greeter.receive("bob");
  REQUIRE(out.messages().size() == 1);
  CHECK(out.messages()[0].target == statefun::address{"example/audit", "bob"});
  CHECK(out.messages()[0].is<std::int32_t>());
  CHECK(out.messages()[0].as<std::int32_t>() == 1);
  CHECK_THROWS_AS((void)out.messages()[0].as<std::string>(), statefun::type_mismatch);
  CHECK(out.replies().empty());  // from an ingress: no one to answer
}

TEST_CASE("a reply is the message to the caller, read with reply<T>()") {
  const auto fns = greeter_functions();
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  const auto out = greeter.receive("cy", statefun::address{"example/front", "1"});
  CHECK(out.reply<std::string>() == "hello cy");
  CHECK(out.messages().size() == 2);
  CHECK_THROWS_AS((void)greeter.receive("dee").reply<std::string>(), std::logic_error);
}

TEST_CASE("delayed messages carry their delay and token, and cancellations their token") {
  const auto fns = greeter_functions();
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  const auto out = greeter.receive("ann");
  REQUIRE(out.delayed().size() == 1);
  CHECK(out.delayed()[0].target == greeter.self());
  CHECK(out.delayed()[0].delay == 1min);
  CHECK(out.delayed()[0].token == "reminder");
  CHECK(out.delayed()[0].as<std::string>() == "remind");
  CHECK(greeter.scheduled().size() == 1);
  const auto forgot = greeter.receive("forget");
  CHECK(forgot.cancellations() == std::vector<std::string>{"reminder"});
  CHECK(greeter.scheduled().empty());
}

TEST_CASE("egress records are decoded: Kafka, Kinesis and any other egress") {
  const auto fns = greeter_functions();
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  greeter.set(seen, 41);
  const auto out = greeter.receive("ann");
  REQUIRE(out.egress().size() == 3);
  const auto& kafka = out.egress()[0];
  CHECK(kafka.egress == "example/greets");
  REQUIRE(kafka.kafka.has_value());
  CHECK(kafka.kafka->topic == "greetings");
  CHECK(kafka.kafka->key == "ann");
  CHECK(kafka.kafka->value_as<std::int32_t>() == 42);
  CHECK(kafka.kafka->value == std::string("\0\0\0\x2a", 4));
  const auto& kinesis = out.egress()[1];
  REQUIRE(kinesis.kinesis.has_value());
  CHECK(kinesis.kinesis->stream == "s");
  CHECK(kinesis.kinesis->partition_key == "ann");
  CHECK(kinesis.kinesis->explicit_hash_key == "7");
  CHECK(kinesis.kinesis->value_as<std::string>() == "hi");
  const auto& custom = out.egress()[2];
  CHECK(custom.egress == "example/custom");
  CHECK_FALSE(custom.kafka.has_value());
  CHECK(custom.as<std::int64_t>() == 42);
}

TEST_CASE("a function that throws fails its outcome with its own exception, and changes no state") {
  const auto fns = greeter_functions();
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  greeter.set(seen, 5);
  const auto out = greeter.receive("boom");
  CHECK(out.failed());
  CHECK(out.error() == "no greeting for boom");
  CHECK_THROWS_AS(out.rethrow(), std::invalid_argument);
  CHECK_THROWS_WITH_AS((void)out.messages(), "no greeting for boom", std::invalid_argument);
  CHECK(greeter.get(seen) == 5);
}

TEST_CASE("advancing the clock delivers the delayed messages an instance sent itself") {
  const auto fns = greeter_functions();
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  greeter.receive("ann");
  CHECK(greeter.advance(59s).messages().empty());  // not due yet
  const auto reminded = greeter.advance(1s);
  CHECK(reminded.state(seen) == 2);  // "remind" was greeted
  CHECK(reminded.state(last_name) == "remind");
}

TEST_CASE("an unbound type, an undeclared state and a mistyped state are refused by name") {
  const auto fns = greeter_functions();
  statefun::testing::instance nobody(fns, {"example/nobody", "x"});
  CHECK_THROWS_AS(nobody.receive(1), std::invalid_argument);
  statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
  constexpr auto other = statefun::value_spec<std::int32_t>{"other"};
  constexpr auto mistyped = statefun::value_spec<std::string>{"seen"};
  CHECK_THROWS_AS(greeter.set(other, 1), std::invalid_argument);
  CHECK_THROWS_AS(greeter.set(mistyped, "x"), statefun::type_mismatch);
}
