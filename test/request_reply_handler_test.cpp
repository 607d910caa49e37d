#include <statefun/request_reply_handler.hpp>

#include <statefun/egress.hpp>
#include <statefun/message_builder.hpp>

#include "support/doctest.hpp"
#include "support/requests.hpp"

#include <chrono>
#include <coroutine>
#include <optional>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using statefun::context;
using statefun::errc;
using statefun::message;
using statefun::test::request;
using statefun::test::response;

namespace {

constexpr statefun::value_spec<std::int32_t> count{"count"};
constexpr statefun::value_spec<std::string> label{"label", statefun::expire_after_write{90s}};
constexpr statefun::value_spec<bool> seen{"seen", statefun::expire_after_call{1min}};

response response_to(statefun::request_reply_handler& handler, const request& r) {
  const auto result = handler.handle_sync(r.bytes());
  REQUIRE_MESSAGE(result.has_value(), (result ? "" : result.error().message()));
  return response(*result);
}

statefun::error failure(statefun::request_reply_handler& handler, const request& r) {
  const auto result = handler.handle_sync(r.bytes());
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

/// Suspends and resumes the awaiting coroutine from a new thread, as an outside service would.
struct resume_on_new_thread {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const { std::thread([h] { h.resume(); }).detach(); }
  void await_resume() const noexcept {}
};

}  // namespace

TEST_CASE("missing states are requested in declaration order before any user code runs") {
  int runs = 0;
  statefun::functions fns;
  fns.bind("t/f", {count, label, seen}, [&runs](context&, const message&) { ++runs; });
  auto handler = fns.handler();

  const auto reply = response_to(handler, request("t", "f", "1").empty_state("label").invoke("x"));

  CHECK(runs == 0);
  REQUIRE(reply->incomplete);
  REQUIRE(reply->missing_values.size() == 2);
  CHECK(reply->missing_values[0].state_name == "count");
  CHECK(reply->missing_values[0].type_name == "io.statefun.types/int");
  CHECK(reply->missing_values[0].mode == statefun::codec::expire_mode::none);
  CHECK(reply->missing_values[1].state_name == "seen");
  CHECK(reply->missing_values[1].type_name == "io.statefun.types/bool");
  CHECK(reply->missing_values[1].mode == statefun::codec::expire_mode::after_invoke);
  CHECK(reply->missing_values[1].expire_after_ms == 60'000);
}

TEST_CASE("expire-after-write specs are announced with their milliseconds") {
  statefun::functions fns;
  fns.bind("t/f", {label}, [](context&, const message&) {});
  auto handler = fns.handler();
  const auto reply = response_to(handler, request("t", "f", "1").invoke("x"));
  REQUIRE(reply->missing_values.size() == 1);
  CHECK(reply->missing_values[0].mode == statefun::codec::expire_mode::after_write);
  CHECK(reply->missing_values[0].expire_after_ms == 90'000);
}

TEST_CASE("states the function does not declare are ignored") {
  statefun::functions fns;
  fns.bind("t/f", {count}, [](context& ctx, const message&) { ctx.storage().set(count, 1); });
  auto handler = fns.handler();
  const auto reply =
      response_to(handler, request("t", "f", "1").state("retired", std::string("old")).empty_state("count").invoke("x"));
  REQUIRE(reply->mutations.size() == 1);
  CHECK(reply->mutations[0].state_name == "count");
}

TEST_CASE("a batch runs in order and each invocation sees the state the previous one wrote") {
  std::vector<std::string> order;
  statefun::functions fns;
  fns.bind("t/f", {count, label}, [&order](context& ctx, const message& msg) {
    const auto n = ctx.storage().get(count).value_or(0);
    order.push_back(msg.as<std::string>() + "@" + std::to_string(n));
    ctx.storage().set(count, n + 1);
    ctx.storage().set(label, msg.as<std::string>());
  });
  auto handler = fns.handler();

  const auto reply = response_to(
      handler, request("t", "f", "1").state("count", 10).empty_state("label").invoke("a").invoke("b").invoke("c"));

  CHECK(order == std::vector<std::string>{"a@10", "b@11", "c@12"});
  REQUIRE(reply->mutations.size() == 2);  // one per touched state, with its final value
  CHECK(reply->mutations[0].state_name == "count");
  CHECK(reply.mutation_value<std::int32_t>(0) == 13);
  CHECK(reply->mutations[1].state_name == "label");
  CHECK(reply.mutation_value<std::string>(1) == "c");
  CHECK(reply->mutations[1].value.type_name == "io.statefun.types/string");
}

TEST_CASE("the last change to a state in a batch decides its mutation") {
  statefun::functions fns;
  fns.bind("t/f", {count}, [](context& ctx, const message& msg) {
    if (msg.as<std::string>() == "set") {
      ctx.storage().set(count, 5);
    } else {
      ctx.storage().remove(count);
    }
  });
  auto handler = fns.handler();

  SUBCASE("set then remove deletes") {
    const auto reply = response_to(handler, request("t", "f", "1").state("count", 1).invoke("set").invoke("remove"));
    REQUIRE(reply->mutations.size() == 1);
    CHECK(reply->mutations[0].type == statefun::codec::mutation_type::remove);
    CHECK(reply->mutations[0].value.type_name.empty());
  }
  SUBCASE("remove then set modifies") {
    const auto reply = response_to(handler, request("t", "f", "1").state("count", 1).invoke("remove").invoke("set"));
    REQUIRE(reply->mutations.size() == 1);
    CHECK(reply->mutations[0].type == statefun::codec::mutation_type::modify);
    CHECK(reply.mutation_value<std::int32_t>(0) == 5);
  }
  SUBCASE("a removed state reads as absent within the batch") {
    statefun::functions other;
    std::vector<bool> present;
    other.bind("t/g", {count}, [&present](context& ctx, const message&) {
      present.push_back(ctx.storage().get(count).has_value());
      ctx.storage().remove(count);
    });
    auto h = other.handler();
    (void)response_to(h, request("t", "g", "1").state("count", 1).invoke("x").invoke("y"));
    CHECK(present == std::vector<bool>{true, false});
  }
}

TEST_CASE("a state sent without a value, or with has_value false, reads as absent") {
  std::vector<bool> present;
  statefun::functions fns;
  fns.bind("t/f", {count}, [&present](context& ctx, const message&) {
    present.push_back(ctx.storage().get(count).has_value());
  });
  auto handler = fns.handler();
  (void)response_to(handler, request("t", "f", "1").empty_state("count").invoke("x"));
  (void)response_to(handler,
               request("t", "f", "1").raw_state("count", "io.statefun.types/int", "").invoke("x"));  // has_value true, zero
  request no_value("t", "f", "1");
  no_value.invoke("x");
  // has_value = false with a type name: what some runtimes send for a registered, empty state.
  statefun::codec::invocation_batch_view batch;
  const std::string bytes = no_value.bytes();
  REQUIRE(static_cast<bool>(batch.decode(bytes)));
  batch.states.push_back({"count", true, {"io.statefun.types/int", false, {}}});
  std::string with_empty_state;
  batch.encode(with_empty_state);
  REQUIRE(handler.handle_sync(with_empty_state).has_value());
  CHECK(present == std::vector<bool>{false, true, false});
}

TEST_CASE("a read-only batch answers with no effects at all") {
  statefun::functions fns;
  fns.bind("t/f", {count}, [](context& ctx, const message&) { CHECK(ctx.storage().get(count) == 41); });
  auto handler = fns.handler();
  const auto result = handler.handle_sync(request("t", "f", "1").state("count", 41).invoke("x").bytes());
  REQUIRE(result.has_value());
  CHECK(result->empty());
}

TEST_CASE("the context names the target and the caller, and an all-empty caller is no caller") {
  std::vector<std::string> seen_callers;
  statefun::functions fns;
  fns.bind("t/f", [&seen_callers](context& ctx, const message&) {
    CHECK(ctx.self() == statefun::address{"t/f", "me"});
    seen_callers.push_back(ctx.caller() ? ctx.caller()->to_string() : "none");
  });
  auto handler = fns.handler();
  (void)response_to(handler, request("t", "f", "me")
                            .invoke("a", statefun::codec::address_view{"x", "caller", "7"})
                            .invoke("b")
                            .invoke("c", statefun::codec::address_view{"", "", ""}));
  CHECK(seen_callers == std::vector<std::string>{"x/caller/7", "none", "none"});
}

TEST_CASE("reply answers the caller of each invocation, and refuses when an ingress sent the message") {
  statefun::functions fns;
  fns.bind("t/f", [](context& ctx, const message& msg) { ctx.reply("re: " + msg.as<std::string>()); });
  auto handler = fns.handler();
  const auto reply = response_to(handler, request("t", "f", "me")
                                         .invoke("a", statefun::codec::address_view{"x", "asker", "7"})
                                         .invoke("b", statefun::codec::address_view{"y", "other", "8"}));
  REQUIRE(reply->messages.size() == 2);
  CHECK(reply->messages[0].target == statefun::codec::address_view{"x", "asker", "7"});
  CHECK(reply->messages[0].argument.type_name == "io.statefun.types/string");
  CHECK(reply->messages[1].target == statefun::codec::address_view{"y", "other", "8"});

  const auto e = failure(handler, request("t", "f", "me").invoke("from an ingress"));
  CHECK(e.code == errc::function_failed);
  CHECK(e.message().find("t/f/me cannot reply: the message came from an ingress") != std::string::npos);
}

TEST_CASE("an argument with has_value false is exposed as a message with no value") {
  bool had_value = true;
  statefun::functions fns;
  fns.bind("t/f", [&had_value](context&, const message& msg) {
    had_value = msg.has_value();
    CHECK(msg.is<std::string>());
    CHECK_THROWS_AS((void)msg.as<std::string>(), std::logic_error);
  });
  auto handler = fns.handler();
  (void)response_to(handler, request("t", "f", "1").raw_invoke({"io.statefun.types/string", false, {}}));
  CHECK_FALSE(had_value);
}

TEST_CASE("messages, delayed messages, cancellations and egress records keep their call order") {
  statefun::functions fns;
  fns.bind("t/f", [](context& ctx, const message&) {
    ctx.send_egress(statefun::egress_to("t/out").value("e1"));
    ctx.send_after(1001ms, statefun::message_to({"t/g", "a"}).value(1), statefun::cancellation_token{"one"});
    ctx.send(statefun::message_to({"t/g", "b"}).value(2));
    ctx.cancel_delayed_message(statefun::cancellation_token{"zero"});
    ctx.send_after(0ms, statefun::message_to({"t/g", "c"}).value(3));
    ctx.send(statefun::message_to({"t/g", "d"}).value(4));
  });
  auto handler = fns.handler();
  const auto reply = response_to(handler, request("t", "f", "1").invoke("x"));

  REQUIRE(reply->messages.size() == 2);
  CHECK(reply->messages[0].target.id == "b");
  CHECK(reply->messages[1].target.id == "d");
  REQUIRE(reply->delayed.size() == 3);
  CHECK(reply->delayed[0].delay_ms == 1001);  // exactly the requested milliseconds
  CHECK(reply->delayed[0].cancellation_token == "one");
  CHECK(reply->delayed[1].is_cancellation);
  CHECK(reply->delayed[1].cancellation_token == "zero");
  CHECK(reply->delayed[1].target.empty());
  CHECK(reply->delayed[2].delay_ms == 0);
  CHECK(reply->delayed[2].cancellation_token.empty());
  REQUIRE(reply->egresses.size() == 1);
  CHECK(reply->egresses[0].egress_namespace == "t");
  CHECK(reply->egresses[0].egress_type == "out");
}

TEST_CASE("values that would fail the Flink job are refused where the function makes them") {
  struct refusal {
    const char* what;
    void (*body)(context&);
    const char* names;  // a word the error must contain
  };
  static constexpr statefun::value_spec<std::int32_t> undeclared{"undeclared"};
  const refusal refusals[] = {
      {"a negative delay", [](context& ctx) { ctx.send_after(-1ms, statefun::message_to({"t/g", "a"}).value(1)); },
       "-1 ms"},
      {"an empty cancellation token",
       [](context& ctx) { ctx.cancel_delayed_message(statefun::cancellation_token{""}); }, "cancellation token"},
      {"a token reused while its message is pending",
       [](context& ctx) {
         ctx.send_after(1s, statefun::message_to({"t/g", "a"}).value(1), statefun::cancellation_token{"t"});
         ctx.send_after(2s, statefun::message_to({"t/g", "a"}).value(2), statefun::cancellation_token{"t"});
       },
       "'t'"},
      {"a target type with two slashes", [](context& ctx) { ctx.send(statefun::message_to({"a/b/c", "x"}).value(1)); },
       "a/b/c"},
      {"a target type with an empty part", [](context& ctx) { ctx.send(statefun::message_to({"/g", "x"}).value(1)); },
       "/g"},
      {"an egress type with two slashes", [](context& ctx) { ctx.send_egress(statefun::egress_to("e/g/h").value(1)); },
       "e/g/h"},
      {"an empty Kinesis partition key",
       [](context& ctx) { ctx.send_egress(statefun::kinesis_egress{"t/k"}.stream("s").value("v")); },
       "partition key"},
      {"a state the function never declared", [](context& ctx) { ctx.storage().set(undeclared, 1); }, "undeclared"},
      {"a write under a type other than the one the runtime holds",
       [](context& ctx) { ctx.storage().set(count, 1); }, "io.statefun.types/long"},
  };
  for (const refusal& r : refusals) {
    CAPTURE(r.what);
    statefun::functions fns;
    fns.bind("t/f", {count}, [&r](context& ctx, const message&) {
      ctx.send(statefun::message_to({"t/g", "before"}).value(0));  // an effect that must be dropped
      r.body(ctx);
    });
    auto handler = fns.handler();
    const auto e = failure(handler, request("t", "f", "1").raw_state("count", "io.statefun.types/long", "").invoke("x"));
    CHECK(e.code == errc::function_failed);
    CHECK(e.exception != nullptr);
    CHECK_MESSAGE(e.message().find(r.names) != std::string::npos, e.message());
  }
}

TEST_CASE("a state held under another type name fails the read, naming both types") {
  statefun::functions fns;
  fns.bind("t/f", {count}, [](context& ctx, const message&) { (void)ctx.storage().get(count); });
  auto handler = fns.handler();
  const auto e = failure(handler, request("t", "f", "1").raw_state("count", "io.statefun.types/long", "\x09\x01").invoke("x"));
  CHECK(e.message().find("io.statefun.types/long") != std::string::npos);
  CHECK(e.message().find("io.statefun.types/int") != std::string::npos);
}

TEST_CASE("an exception from user code fails the request, drops its effects, and the handler keeps serving") {
  statefun::functions fns;
  fns.bind("t/f", {count}, [](context& ctx, const message& msg) {
    ctx.storage().set(count, 99);
    ctx.send(statefun::message_to({"t/g", "x"}).value(1));
    if (msg.as<std::string>() == "boom") {
      throw std::runtime_error("boom went the function");
    }
  });
  auto handler = fns.handler();

  const auto e = failure(handler, request("t", "f", "1").state("count", 1).invoke("ok").invoke("boom"));
  CHECK(e.code == errc::function_failed);
  CHECK(e.message().find("boom went the function") != std::string::npos);
  CHECK(e.message().find("t/f/1") != std::string::npos);

  const auto reply = response_to(handler, request("t", "f", "2").state("count", 1).invoke("ok"));
  CHECK(reply->messages.size() == 1);  // nothing left over from the failed batch
  REQUIRE(reply->mutations.size() == 1);
  CHECK(reply.mutation_value<std::int32_t>(0) == 99);
}

TEST_CASE("requests that are not for a bound function are protocol errors naming the problem") {
  statefun::functions fns;
  fns.bind("t/f", [](context&, const message&) {});
  auto handler = fns.handler();

  SUBCASE("unknown function type") {
    const auto e = failure(handler, request("t", "nope", "1").invoke("x"));
    CHECK(e.code == errc::unknown_function);
    CHECK(e.message().find("t/nope") != std::string::npos);
  }
  SUBCASE("not a ToFunction at all") {
    const auto result = handler.handle_sync("GET / HTTP/1.1\r\n\r\n");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().message().find("at byte") != std::string::npos);
  }
  SUBCASE("empty body") {
    const auto result = handler.handle_sync("");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == errc::missing_invocation_batch);
  }
  SUBCASE("a target type holding a slash") {
    const auto e = failure(handler, request("t/x", "f", "1").invoke("x"));
    CHECK(e.code == errc::invalid_address);
  }
  SUBCASE("a caller with an empty namespace") {
    const auto e = failure(handler, request("t", "f", "1").invoke("x", statefun::codec::address_view{"", "g", "1"}));
    CHECK(e.code == errc::invalid_address);
  }
}

TEST_CASE("coroutine functions can await other tasks and work that completes on another thread") {
  static auto add_one = [](std::int32_t n) -> statefun::task<std::int32_t> { co_return n + 1; };
  statefun::functions fns;
  fns.bind("t/co", {count}, [](context& ctx, message) -> statefun::task<> {
    const auto n = co_await add_one(ctx.storage().get(count).value_or(0));
    co_await resume_on_new_thread{};
    ctx.storage().set(count, n);
  });
  auto handler = fns.handler();

  SUBCASE("handle_sync blocks until the batch completes") {
    const auto reply = response_to(handler, request("t", "co", "1").state("count", 1).invoke("a").invoke("b"));
    CHECK(reply.mutation_value<std::int32_t>(0) == 3);
  }
  SUBCASE("handle is itself a task") {
    const std::string bytes = request("t", "co", "1").state("count", 5).invoke("a").bytes();
    const auto result = statefun::sync_wait(handler.handle(bytes));
    REQUIRE(result.has_value());
    CHECK(response(*result).mutation_value<std::int32_t>(0) == 6);
  }
}

TEST_CASE("an exception thrown after a coroutine function suspends fails only that request") {
  statefun::functions fns;
  fns.bind("t/co", [](context& ctx, message msg) -> statefun::task<> {
    co_await resume_on_new_thread{};
    ctx.send(statefun::message_to({"t/g", "x"}).value(1));
    if (msg.as<std::string>() == "boom") {
      throw std::runtime_error("late failure");
    }
  });
  auto handler = fns.handler();
  const auto e = failure(handler, request("t", "co", "1").invoke("boom"));
  CHECK(e.message().find("late failure") != std::string::npos);
  CHECK(response_to(handler, request("t", "co", "1").invoke("fine"))->messages.size() == 1);
}

// --- Strings the runtime's protobuf-java must be able to read (UTF-8) ---------------------------

TEST_CASE("strings that are not UTF-8 are refused where the function makes them, naming the field") {
  struct refusal {
    const char* what;
    void (*body)(context&);
    const char* names;  // what the error must contain
  };
  const refusal refusals[] = {
      {"a target id", [](context& ctx) { ctx.send(statefun::message_to({"t/g", "caf\xE9"}).value(1)); },
       "the id of an address of 't/g' 'caf\\xe9'"},
      {"a target id changed after the address was made",
       [](context& ctx) {
         statefun::address to{"t/g", "ok"};
         to.id = "\xC0\x80";
         ctx.send(statefun::message_to(to).value(1));
       },
       "the id of an address of 't/g'"},
      {"a function type", [](context& ctx) { ctx.send(statefun::message_to({"t/\xFF", "a"}).value(1)); },
       "type name 't/\\xff' is not valid UTF-8"},
      {"an egress type", [](context& ctx) { ctx.send_egress(statefun::egress_to("e/\xED\xA0\x80").value(1)); },
       "type name 'e/\\xed\\xa0\\x80'"},
      {"a value type", [](context& ctx) { ctx.send(statefun::message_to({"t/g", "a"}).raw_value("v/\x80", "")); },
       "type name 'v/\\x80'"},
      {"a cancellation token",
       [](context& ctx) { ctx.cancel_delayed_message(statefun::cancellation_token{"tok\xF5"}); },
       "the cancellation token 'tok\\xf5'"},
      {"a string value", [](context& ctx) { ctx.send(statefun::message_to({"t/g", "a"}).value(std::string("\xC3"))); },
       "io.statefun.types/string value"},
      {"a Kafka topic",
       [](context& ctx) { ctx.send_egress(statefun::kafka_egress{"t/k"}.topic("\xFE").value("v")); },
       "the Kafka topic of a record to egress 't/k'"},
      {"a Kafka key",
       [](context& ctx) { ctx.send_egress(statefun::kafka_egress{"t/k"}.topic("t").key("\xE2\x82").value("v")); },
       "the Kafka key of a record to egress 't/k'"},
      {"a Kinesis stream",
       [](context& ctx) { ctx.send_egress(statefun::kinesis_egress{"t/k"}.stream("\x80").partition_key("p").value("v")); },
       "the Kinesis stream"},
      {"a Kinesis partition key",
       [](context& ctx) { ctx.send_egress(statefun::kinesis_egress{"t/k"}.stream("s").partition_key("\x80").value("v")); },
       "the Kinesis partition key"},
      {"a Kinesis explicit hash key",
       [](context& ctx) {
         ctx.send_egress(
             statefun::kinesis_egress{"t/k"}.stream("s").partition_key("p").explicit_hash_key("\x80").value("v"));
       },
       "the Kinesis explicit hash key"},
      {"a string state", [](context& ctx) { ctx.storage().set(label, "\xF4\x90\x80\x80"); }, "not valid UTF-8"},
  };
  for (const refusal& r : refusals) {
    CAPTURE(r.what);
    statefun::functions fns;
    fns.bind("t/f", {label}, [&r](context& ctx, const message&) {
      ctx.send(statefun::message_to({"t/g", "before"}).value(0));  // an effect that must be dropped
      r.body(ctx);
    });
    auto handler = fns.handler();
    const auto e = failure(handler, request("t", "f", "1").empty_state("label").invoke("x"));
    CHECK(e.code == errc::function_failed);
    CHECK_MESSAGE(e.message().find(r.names) != std::string::npos, e.message());
    CHECK_MESSAGE(e.message().find("not valid UTF-8") != std::string::npos, e.message());
  }
}

TEST_CASE("Kafka and Kinesis record values are bytes, sent exactly as given (no UTF-8 check)") {
  statefun::functions fns;
  const std::string binary("\xFF\x00\xC0\x80", 4);
  fns.bind("t/f", [&binary](context& ctx, const message&) {
    ctx.send_egress(statefun::kafka_egress{"t/k"}.topic("t").key("k\xC3\xA9").value(binary));
    ctx.send_egress(statefun::kinesis_egress{"t/s"}.stream("s").partition_key("p").value(binary));
  });
  auto handler = fns.handler();
  const auto reply = response_to(handler, request("t", "f", "1").invoke("x"));
  REQUIRE(reply->egresses.size() == 2);
  for (const auto& e : reply->egresses) {
    CHECK(e.argument.value.find(binary) != std::string_view::npos);
  }
  CHECK(reply->egresses[0].argument.value.find("k\xC3\xA9") != std::string_view::npos);
}

TEST_CASE("a request with a string that is not UTF-8 is a decode error naming the field, and nothing runs") {
  struct row {
    const char* what;
    request r;
    const char* field;
  };
  const std::optional<statefun::codec::address_view> bad_caller =
      statefun::codec::address_view{"t", "g", "\xED\xBF\xBF"};
  std::vector<row> rows;
  rows.reserve(6);  // a request holds views into its own strings: keep the rows where they are
  rows.push_back({"the target namespace", request("t\x80", "f", "1"), "target.namespace"});
  rows.push_back({"the target id", request("t", "f", "\xC1\xBF"), "target.id"});
  rows.push_back({"a state name", std::move(request("t", "f", "1").empty_state("\xF8")), "state.state_name"});
  rows.push_back({"a state's type name",
                  std::move(request("t", "f", "1").raw_state("label", "io.statefun.types/string\xFF", "")),
                  "state.state_value.typename"});
  rows.push_back({"a caller id (echoed by reply)", std::move(request("t", "f", "1").invoke("x", bad_caller)),
                  "invocation.caller.id"});
  rows.push_back({"an argument's type name",
                  std::move(request("t", "f", "1").raw_invoke({"t/\xE0\x80\x80", true, ""})),
                  "invocation.argument.typename"});
  for (auto& r : rows) {
    CAPTURE(r.what);
    bool ran = false;
    statefun::functions fns;
    fns.bind("t/f", [&ran](context& ctx, const message&) {
      ran = true;
      if (ctx.caller()) {
        ctx.reply(1);
      }
    });
    auto handler = fns.handler();
    const auto e = failure(handler, r.r);
    CHECK(e.code == errc::invalid_utf8);
    CHECK_MESSAGE(e.message().find(r.field) != std::string::npos, e.message());
    CHECK_FALSE(ran);
  }
}

// --- The protocol details of the official SDKs ---------------------------------------------------

TEST_CASE("a state listed twice in a request reads as its last entry, as in the Python and Go SDKs") {
  std::optional<std::int32_t> read;
  statefun::functions fns;
  fns.bind("t/f", {count}, [&read](context& ctx, const message&) { read = ctx.storage().get(count); });
  auto handler = fns.handler();
  (void)response_to(handler, request("t", "f", "1").state("count", 1).state("count", 2).invoke("x"));
  CHECK(read == 2);
  (void)response_to(handler, request("t", "f", "1").state("count", 3).empty_state("count").invoke("x"));
  CHECK(read == std::nullopt);
}

TEST_CASE("a state value with an empty type name is checked against the declared type like any other") {
  statefun::functions fns;
  fns.bind("t/f", {count}, [](context& ctx, const message&) { (void)ctx.storage().get(count); });
  auto handler = fns.handler();
  const auto e = failure(handler, request("t", "f", "1").raw_state("count", "", "\x0d\x01\x00\x00\x00").invoke("x"));
  CHECK(e.code == errc::function_failed);
  CHECK_MESSAGE(e.message().find("held by the runtime as ''") != std::string::npos, e.message());
  // Without a value there is no type to check: the state reads as absent and can be written.
  statefun::functions writes;
  std::optional<std::int32_t> read;
  writes.bind("t/f", {count}, [&read](context& ctx, const message&) {
    read = ctx.storage().get(count);
    ctx.storage().set(count, 5);
  });
  auto writer = writes.handler();
  statefun::codec::invocation_batch_view batch;
  request no_value("t", "f", "1");
  no_value.invoke("x");
  const std::string plain = no_value.bytes();
  REQUIRE(static_cast<bool>(batch.decode(plain)));
  batch.states.push_back({"count", true, {"", false, {}}});
  std::string bytes;
  batch.encode(bytes);
  const auto result = writer.handle_sync(bytes);
  REQUIRE(result.has_value());
  CHECK(read == std::nullopt);
  CHECK(response(*result).mutation_value<std::int32_t>(0) == 5);
}

TEST_CASE("storage().set deduces the value type from the spec alone, and writes its bytes") {
  static constexpr statefun::value_spec<std::int64_t> total{"total"};
  static constexpr statefun::value_spec<std::string> name{"name"};
  static constexpr statefun::value_spec<double> ratio{"ratio"};
  statefun::functions fns;
  fns.bind("t/f", {total, name, ratio}, [](context& ctx, const message&) {
    ctx.storage().set(total, 1111);  // an int literal for an int64 spec
    ctx.storage().set(name, "x");    // a string literal for a std::string spec
    ctx.storage().set(ratio, 1);     // an int for a double spec
  });
  auto handler = fns.handler();
  const auto reply = response_to(
      handler, request("t", "f", "1").empty_state("total").empty_state("name").empty_state("ratio").invoke("x"));
  REQUIRE(reply->mutations.size() == 3);
  CHECK(reply->mutations[0].value.type_name == "io.statefun.types/long");
  CHECK(reply->mutations[0].value.value == std::string_view("\x09\x57\x04\x00\x00\x00\x00\x00\x00", 9));
  CHECK(reply->mutations[1].value.type_name == "io.statefun.types/string");
  CHECK(reply->mutations[1].value.value == "\x0a\x01x");
  CHECK(reply.mutation_value<double>(2) == 1.0);
}

TEST_CASE("empty ids are served and sent: the runtime routes a Kafka record with key \"\" to id \"\"") {
  std::string seen = "(not run)";
  statefun::functions fns;
  fns.bind("t/f", [&seen](context& ctx, const message&) {
    seen = ctx.self().id;
    ctx.send(statefun::message_to({"t/g", ""}).value(1));
  });
  auto handler = fns.handler();
  const auto reply = response_to(handler, request("t", "f", "").invoke("x"));
  CHECK(seen.empty());
  REQUIRE(reply->messages.size() == 1);
  CHECK(reply->messages[0].target.id.empty());
  CHECK(reply->messages[0].target.type == "g");
}
