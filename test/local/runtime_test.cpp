#include <statefun/local/runtime.hpp>

#include "local/support/scripted_endpoint.hpp"
#include "support/doctest.hpp"

#include <statefun/statefun.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

// The local runtime against docs/runtime_rules.md §5. Most cases play the function's side by hand with a
// scripted endpoint: it holds each request until the test answers, so a case can see exactly
// what the runtime sent and when, and answer with effects no SDK would produce.

namespace {

using namespace std::chrono_literals;
using statefun::address;
using statefun::test::answer;
using statefun::test::scripted_endpoint;
namespace local = statefun::local;
namespace codec = statefun::codec;

local::typed_value text(std::string value) { return {"test/text", std::move(value), true}; }

/// A virtual-time runtime whose `test/fn` functions are played by `fn`.
struct scripted {
  explicit scripted(int max_batch = 1000, local::runtime_options options = {.clock = local::clock::virtual_time()})
      : rt(std::move(options)) {
    rt.bind("test/fn", fn, max_batch);
    rt.add_egress({.kind = local::egress_kind::any, .id = "test/out"});
  }

  void send(std::string id, std::string value) { rt.send(address{"test/fn", std::move(id)}, text(std::move(value))); }

  std::shared_ptr<scripted_endpoint> fn = std::make_shared<scripted_endpoint>();
  local::runtime rt;
};

std::string missing_n() { return answer::missing({{"n", "test/int", codec::expire_mode::none, 0}}); }

std::vector<std::string> egress_values(const local::runtime& rt, std::string_view id) {
  std::vector<std::string> out;
  for (const auto& r : rt.egress(id)) {
    out.push_back(r.value.value);
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------------------------ routing (2-4)

TEST_CASE("rule 2: an exact function type binding wins over its namespace's binding") {
  auto exact = std::make_shared<scripted_endpoint>();
  auto wide = std::make_shared<scripted_endpoint>();
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.bind("shop/*", wide);
  rt.bind("shop/cart", exact);
  rt.send(address{"shop/cart", "1"}, text("a"));
  rt.send(address{"shop/stock", "1"}, text("b"));
  rt.drain();
  CHECK(exact->held() == 1);
  CHECK(exact->front().function_type == "shop/cart");
  CHECK(wide->held() == 1);
  CHECK(wide->front().function_type == "shop/stock");
}

TEST_CASE("rule 2: a message for a type that nothing serves fails the run, naming the type") {
  scripted s;
  s.rt.send(address{"other/fn", "1"}, text("a"));
  CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("'other/fn', which no endpoint serves"), local::job_failure);
}

TEST_CASE("rule 2: binding a function type or a namespace twice is a configuration error") {
  local::runtime rt;
  auto fn = std::make_shared<scripted_endpoint>();
  rt.bind("shop/cart", fn);
  rt.bind("shop/*", fn);
  CHECK_THROWS_WITH_AS(rt.bind("shop/cart", fn), doctest::Contains("bound twice"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(rt.bind("shop/*", fn), doctest::Contains("bound twice"), std::invalid_argument);
  CHECK_THROWS_AS(rt.bind("shop*/x", fn), std::invalid_argument);
  CHECK_THROWS_AS(rt.bind("sh*p/*", fn), std::invalid_argument);
}

TEST_CASE("rule 3: the URL template takes the function type's name, and the URL splits as the transport reads it") {
  using local::detail::expand_url_template;
  using local::detail::split_endpoint_url;
  CHECK(expand_url_template("http://svc:8000/{function.name}/x/{function.name}", "cart") ==
        "http://svc:8000/cart/x/cart");
  const auto plain = split_endpoint_url("http://greeter-svc", local::transport_kind::async);
  CHECK(plain.origin == "http://greeter-svc");
  CHECK(plain.target == "/");
  const auto query = split_endpoint_url("https://api.gateway.com:1234/statefun?xyz=5678#f", local::transport_kind::async);
  CHECK(query.origin == "https://api.gateway.com:1234");
  CHECK(query.target == "/statefun?xyz=5678#f");  // Netty puts the fragment on the request line
  CHECK(split_endpoint_url("http://h/p#f", local::transport_kind::okhttp).target == "/p");
  const auto uds = split_endpoint_url("http+unix:///some/path.sock/hello", local::transport_kind::okhttp);
  CHECK(uds.origin == "http+unix:///some/path.sock");
  CHECK(uds.target == "/hello");
  CHECK(split_endpoint_url("HTTPS+UNIX:///some/path.sock", local::transport_kind::okhttp).target == "/");
  CHECK_THROWS_AS(split_endpoint_url("http+unix:///some/path/hello", local::transport_kind::okhttp),
                  std::invalid_argument);
  CHECK_THROWS_AS(split_endpoint_url("ftp://h/x", local::transport_kind::async), std::invalid_argument);
}

TEST_CASE("rule 4: a message to a type name without exactly one '/' fails the run") {
  scripted s;
  s.send("a", "go");
  s.rt.drain();
  s.fn->reply(answer{}.send("bad/ns", "fn", "1", "test/text", "x").bytes());
  CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("'bad/ns/fn'"), local::job_failure);
}

TEST_CASE("rule 4: a state whose type name is not namespace/name fails the run when it is registered") {
  scripted s;
  s.send("a", "go");
  s.rt.drain();
  s.fn->reply(answer::missing({{"n", "no-slash", codec::expire_mode::none, 0}}));
  CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("(rule 4)"), local::job_failure);
}

// --------------------------------------------------------------------- state machine (10-13)

TEST_CASE("rules 10 and 11: one request per address at a time; what arrives meanwhile goes out as one batch") {
  scripted s;
  s.send("a", "1");
  s.send("a", "2");
  s.send("b", "x");
  s.send("a", "3");
  s.rt.drain();
  REQUIRE(s.fn->held() == 2);  // a and b are in flight together; a only once
  CHECK(s.fn->for_id("a").arguments() == std::vector<std::string>{"1"});
  CHECK(s.fn->for_id("b").arguments() == std::vector<std::string>{"x"});
  s.fn->reply("a", answer{}.bytes());
  s.rt.drain();
  REQUIRE(s.fn->held() == 2);
  CHECK(s.fn->for_id("a").arguments() == std::vector<std::string>{"2", "3"});
  s.fn->reply("a", answer{}.bytes());
  s.fn->reply("b", answer{}.bytes());
  s.rt.drain();
  CHECK(s.fn->held() == 0);
  CHECK(s.rt.requests_in_flight() == 0);
  CHECK(s.rt.stats().largest_batch == 2);
}

TEST_CASE("rule 11: a backlog of maxNumBatchRequests blocks input until the address's request completes") {
  scripted s(2);
  for (const char* m : {"1", "2", "3", "4"}) {
    s.send("a", m);
  }
  s.send("b", "x");
  s.rt.drain();
  // 1 is in flight, 2 and 3 wait: the backlog reached 2, so input stops before 4 and b's message
  CHECK(s.rt.backpressured());
  CHECK(s.fn->held() == 1);
  CHECK(s.rt.stats().messages == 3);
  s.fn->reply(answer{}.bytes());  // any completion lifts the block
  s.rt.drain();
  CHECK(s.fn->for_id("a").arguments() == std::vector<std::string>{"2", "3"});
  CHECK(s.fn->for_id("b").arguments() == std::vector<std::string>{"x"});
  CHECK_FALSE(s.rt.backpressured());
}

TEST_CASE("rule 11: a maxNumBatchRequests of 0 never blocks") {
  scripted s(0);
  for (int i = 0; i < 3000; ++i) {
    s.send("a", std::to_string(i));
  }
  s.rt.drain();
  CHECK_FALSE(s.rt.backpressured());
  s.fn->reply(answer{}.bytes());
  s.rt.drain();
  CHECK(s.fn->front().batch.invocations.size() == 2999);  // no cap on a batch (§2.3)
}

TEST_CASE("rule 12: a request names the full target and each invocation's caller, none for input") {
  scripted s;
  s.send("a", "from input");
  s.rt.drain();
  const auto& first = s.fn->front().batch;
  CHECK(first.target == codec::address_view{"test", "fn", "a"});
  REQUIRE(first.invocations.size() == 1);
  CHECK_FALSE(first.invocations[0].caller.has_value());
  CHECK(first.invocations[0].argument == codec::typed_value_view{"test/text", true, "from input"});
  s.fn->reply(answer{}.send("test", "fn", "b", "test/text", "hello b").bytes());
  s.rt.drain();
  const auto& second = s.fn->front().batch;
  CHECK(second.target == codec::address_view{"test", "fn", "b"});
  REQUIRE(second.invocations.size() == 1);
  REQUIRE(second.invocations[0].caller.has_value());
  CHECK(*second.invocations[0].caller == codec::address_view{"test", "fn", "a"});
}

TEST_CASE("rule 13: the next batch is sent with the state after the mutations, before the step's messages are delivered") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(missing_n());
  s.rt.drain();
  s.send("a", "2");
  s.rt.drain();
  s.fn->reply(answer{}.modify("n", "test/int", "one").send("test", "fn", "a", "test/text", "to self").bytes());
  s.rt.drain();
  // the backlog ("2") goes out first, with the new state; the message to self waits for it
  REQUIRE(s.fn->held() == 1);
  CHECK(s.fn->front().arguments() == std::vector<std::string>{"2"});
  REQUIRE(s.fn->front().state("n") != nullptr);
  CHECK(s.fn->front().state("n")->value.value == "one");
  s.fn->reply(answer{}.bytes());
  s.rt.drain();
  CHECK(s.fn->front().arguments() == std::vector<std::string>{"to self"});
}

TEST_CASE("rule 13: an answer's effects apply in the order messages, delayed messages, egress, state") {
  // A failing mutation at the end shows that the egress before it was already published, and
  // a failing egress shows that messages and delayed messages were already taken.
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer{}
                  .remove("unregistered")
                  .egress("test", "out", "test/text", "published")
                  .send_after(0, "test", "fn", "later", "delayed")
                  .send("test", "fn", "b", "test/text", "sent")
                  .bytes());
  CHECK_THROWS_AS(s.rt.drain(), local::job_failure);
  CHECK(egress_values(s.rt, "test/out") == std::vector<std::string>{"published"});
  CHECK(s.rt.pending_delayed_messages() == 1);

  scripted t;
  t.send("a", "1");
  t.rt.drain();
  t.fn->reply(answer{}
                  .egress("test", "unknown", "test/text", "x")
                  .send_after(0, "test", "fn", "later", "delayed")
                  .send("test", "fn", "b", "test/text", "sent")
                  .bytes());
  CHECK_THROWS_AS(t.rt.drain(), local::job_failure);
  CHECK(t.rt.pending_delayed_messages() == 1);
}

// ------------------------------------------------------------------ handshake and state (14-18)

TEST_CASE("rule 14: a missing-state answer registers the states and resends the same invocations; the backlog waits") {
  scripted s;
  s.rt.send(address{"test/fn", "a"}, text("1"));
  s.rt.drain();
  CHECK(s.fn->front().batch.states.empty());
  s.send("a", "2");  // arrives while the handshake is going on
  s.rt.drain();
  s.fn->reply(answer::missing({{"n", "test/int", codec::expire_mode::none, 0}, {"m", "", codec::expire_mode::none, 0}}));
  s.rt.drain();
  REQUIRE(s.fn->held() == 1);
  const auto& again = s.fn->front();
  CHECK(again.arguments() == std::vector<std::string>{"1"});
  CHECK(again.batch.states.size() == 2);
  REQUIRE(again.state("n") != nullptr);
  CHECK_FALSE(again.state("n")->has_state_value);
  s.fn->reply(answer{}.modify("m", "io.statefun.types/unset", "u").bytes());  // empty type = unset
  s.rt.drain();
  CHECK(s.fn->front().arguments() == std::vector<std::string>{"2"});
  CHECK(s.rt.state(address{"test/fn", "a"}, "m") == "u");
  CHECK(s.rt.stats().handshakes == 1);
}

TEST_CASE("rule 14: a registered state declared again: another type fails the run, another expiration is ignored") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer::missing({{"n", "test/int", codec::expire_mode::after_write, 1000}}));
  s.rt.drain();
  s.fn->reply(answer::missing({{"n", "test/int", codec::expire_mode::none, 0}}));  // ignored
  s.rt.drain();
  s.fn->reply(answer{}.modify("n", "test/int", "v").bytes());
  s.rt.drain();
  s.rt.advance(1000ms);  // the first registration's TTL still holds
  CHECK_FALSE(s.rt.state(address{"test/fn", "a"}, "n").has_value());

  s.send("a", "2");
  s.rt.drain();
  s.fn->reply(answer::missing({{"n", "test/long", codec::expire_mode::none, 0}}));
  CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("registered as test/int and now declared as test/long"),
                       local::job_failure);
}

TEST_CASE("rule 15: every registered state is attached, typed when it holds a value and bare when it does not") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer::missing({{"x", "test/x", codec::expire_mode::none, 0}, {"y", "test/y", codec::expire_mode::none, 0}}));
  s.rt.drain();
  s.fn->reply(answer{}.modify("x", "test/x", "").bytes());  // an empty value is still a value
  s.rt.drain();
  s.send("a", "2");
  s.rt.drain();
  const auto& request = s.fn->front();
  REQUIRE(request.state("x") != nullptr);
  CHECK(request.state("x")->has_state_value);
  CHECK(request.state("x")->value == codec::typed_value_view{"test/x", true, ""});
  REQUIRE(request.state("y") != nullptr);
  CHECK_FALSE(request.state("y")->has_state_value);
  // another address of the same type gets the same registered states (§2.7)
  s.fn->reply(answer{}.bytes());
  s.send("b", "1");
  s.rt.drain();
  CHECK(s.fn->front().batch.states.size() == 2);
}

TEST_CASE("rule 16: DELETE clears a value and MODIFY stores the raw bytes whatever has_value says") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(missing_n());
  s.rt.drain();
  s.fn->reply(answer{}.modify_raw({codec::mutation_type::modify, "n", {"test/int", false, "raw"}}).bytes());
  s.rt.drain();
  CHECK(s.rt.state(address{"test/fn", "a"}, "n") == "raw");
  s.send("a", "2");
  s.rt.drain();
  CHECK(s.fn->front().state("n")->value == codec::typed_value_view{"test/int", true, "raw"});
  s.fn->reply(answer{}.remove("n").bytes());
  s.rt.drain();
  CHECK_FALSE(s.rt.state(address{"test/fn", "a"}, "n").has_value());
}

TEST_CASE("rule 16: mutating an unregistered state, or writing a value of another type, fails the run") {
  SUBCASE("unregistered") {
    scripted s;
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(answer{}.modify("n", "test/int", "v").bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("function test/fn/a: mutation of state 'n'"),
                         local::job_failure);
  }
  SUBCASE("another type") {
    scripted s;
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(missing_n());
    s.rt.drain();
    s.fn->reply(answer{}.modify("n", "", "v").bytes());  // empty: io.statefun.types/unset
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("written as io.statefun.types/unset"), local::job_failure);
  }
  SUBCASE("an unknown mutation type") {
    scripted s;
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(missing_n());
    s.rt.drain();
    s.fn->reply(answer{}.modify_raw({static_cast<codec::mutation_type>(7), "n", {"test/int", true, "v"}}).bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("unknown type (rule 16)"), local::job_failure);
  }
}

TEST_CASE("a response with a string that is not UTF-8 fails the run, naming the field, as protobuf-java would") {
  SUBCASE("a message's target id") {
    scripted s;
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(answer{}.send("test", "fn", "caf\xE9", "test/text", "v").bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("outgoing_messages.target.id"), local::job_failure);
  }
  SUBCASE("a cancellation token") {
    scripted s;
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(answer{}.cancel("\xED\xA0\x80").bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("delayed_invocations.cancellation_token"),
                         local::job_failure);
  }
  SUBCASE("an egress type") {
    scripted s;
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(answer{}.egress("test", "out\xFF", "test/text", "v").bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("not valid UTF-8"), local::job_failure);
  }
}

TEST_CASE("rule 17: state TTL after write, after invoke and never, on the processing-time clock") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer::missing({{"w", "test/v", codec::expire_mode::after_write, 1000},
                               {"i", "test/v", codec::expire_mode::after_invoke, 1000},
                               {"n", "test/v", codec::expire_mode::none, 0}}));
  s.rt.drain();
  s.fn->reply(answer{}.modify("w", "test/v", "w").modify("i", "test/v", "i").modify("n", "test/v", "n").bytes());
  s.rt.drain();
  const address a{"test/fn", "a"};

  s.rt.advance(999ms);
  s.send("a", "read");  // reading refreshes only the after-invoke value
  s.rt.drain();
  CHECK(s.fn->front().state("w")->has_state_value);
  CHECK(s.fn->front().state("i")->has_state_value);
  s.fn->reply(answer{}.bytes());
  s.rt.drain();

  s.rt.advance(1ms);  // lastAccess + ttl <= now: expired
  CHECK_FALSE(s.rt.state(a, "w").has_value());
  CHECK(s.rt.state(a, "i") == "i");
  CHECK(s.rt.state(a, "n") == "n");
  CHECK(s.fn->held() == 0);  // expiry invokes nothing

  s.rt.advance(998ms);
  s.send("a", "again");
  s.rt.drain();
  CHECK_FALSE(s.fn->front().state("w")->has_state_value);
  CHECK(s.fn->front().state("i")->has_state_value);
  s.fn->reply(answer{}.modify("w", "test/v", "w2").bytes());  // a write refreshes after-write
  s.rt.drain();
  s.rt.advance(999ms);
  CHECK(s.rt.state(a, "w") == "w2");
  CHECK(s.rt.state(a, "i") == "i");
  s.rt.advance(1ms);
  CHECK_FALSE(s.rt.state(a, "i").has_value());
  CHECK_FALSE(s.rt.state(a, "w").has_value());
  s.rt.advance(24h);
  CHECK(s.rt.state(a, "n") == "n");
}

TEST_CASE("rule 18: a restore empties the state registry, so the handshake runs again, while values stay") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(missing_n());
  s.rt.drain();
  s.fn->reply(answer{}.modify("n", "test/int", "kept").bytes());
  s.rt.drain();
  const auto snap = s.rt.take_snapshot();
  s.rt.restore(snap);
  s.send("a", "2");
  s.rt.drain();
  CHECK(s.fn->front().batch.states.empty());  // nothing registered after the restart
  s.fn->reply(missing_n());
  s.rt.drain();
  CHECK(s.fn->front().state("n")->value.value == "kept");
}

// ----------------------------------------------------------------- delayed messages (19, 20)

TEST_CASE("rule 19: a delayed message arrives at its due time from its sender; equal due times keep their order") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer{}
                  .send_after(1000, "test", "fn", "b", "second")
                  .send_after(500, "test", "fn", "c", "first")
                  .send_after(1000, "test", "fn", "d", "third")
                  .bytes());
  s.rt.drain();
  CHECK(s.fn->held() == 0);
  s.rt.advance(499ms);
  CHECK(s.fn->held() == 0);
  s.rt.advance(1ms);
  REQUIRE(s.fn->held() == 1);
  CHECK(s.fn->front().arguments() == std::vector<std::string>{"first"});
  REQUIRE(s.fn->front().batch.invocations[0].caller.has_value());
  CHECK(*s.fn->front().batch.invocations[0].caller == codec::address_view{"test", "fn", "a"});
  s.rt.advance(500ms);
  REQUIRE(s.fn->held() == 3);
  const auto& history = s.fn->history();
  codec::invocation_batch_view second, third;
  REQUIRE(second.decode(std::string_view(history[history.size() - 2])));
  REQUIRE(third.decode(std::string_view(history.back())));
  CHECK(second.target.id == "b");
  CHECK(third.target.id == "d");
  CHECK(s.rt.stats().delayed_fired == 3);
}

TEST_CASE("rule 19: a negative delay fails the run") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer{}.send_after(-1, "test", "fn", "b", "x").bytes());
  CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("negative delay"), local::job_failure);
}

TEST_CASE("rule 19: a token that a pending message of the same sender id holds fails the run, across types too") {
  SUBCASE("same sender") {
    scripted s;
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(answer{}.send_after(10, "test", "fn", "b", "x", "t").send_after(10, "test", "fn", "b", "y", "t").bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("token 't'"), local::job_failure);
  }
  SUBCASE("a fired or cancelled token can be used again") {
    scripted s;
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(answer{}.send_after(10, "test", "fn", "b", "x", "t").cancel("t").send_after(10, "test", "fn", "b", "y", "t").bytes());
    s.rt.advance(10ms);
    CHECK(s.fn->front().arguments() == std::vector<std::string>{"y"});
  }
  SUBCASE("the real runtime files tokens under the sender's id alone") {
    auto other = std::make_shared<scripted_endpoint>();
    scripted s;
    s.rt.bind("test/other", other);
    s.send("a", "1");
    s.rt.send(address{"test/other", "a"}, text("1"));
    s.rt.drain();
    s.fn->reply(answer{}.send_after(10, "test", "fn", "b", "x", "t").bytes());
    other->reply(answer{}.send_after(10, "test", "fn", "b", "y", "t").bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("(rule 19)"), local::job_failure);
  }
  SUBCASE("unless filed under the full address") {
    auto other = std::make_shared<scripted_endpoint>();
    scripted s(1000, {.clock = local::clock::virtual_time(), .delayed_scope = local::delayed_message_scope::sender_address});
    s.rt.bind("test/other", other);
    s.send("a", "1");
    s.rt.send(address{"test/other", "a"}, text("1"));
    s.rt.drain();
    s.fn->reply(answer{}.send_after(10, "test", "fn", "b", "x", "t").bytes());
    other->reply(answer{}.send_after(10, "test", "fn", "b", "y", "t").bytes());
    s.rt.drain();
    CHECK(s.rt.pending_delayed_messages() == 2);
  }
}

TEST_CASE("rule 20: cancellation follows the answer's order; unknown tokens are no-ops; an empty token fails the run") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer{}
                  .send_after(100, "test", "fn", "b", "cancelled", "t1")
                  .cancel("t1")                                          // schedule then cancel: cancelled
                  .cancel("t2")                                          // cancel then schedule: stays
                  .send_after(100, "test", "fn", "b", "stays", "t2")
                  .cancel("never-scheduled")
                  .bytes());
  s.rt.drain();
  CHECK(s.rt.pending_delayed_messages() == 1);
  CHECK(s.rt.stats().delayed_cancelled == 1);
  s.rt.advance(100ms);
  CHECK(s.fn->front().arguments() == std::vector<std::string>{"stays"});
  s.fn->reply(answer{}.cancel("t2").bytes());  // already delivered: a no-op
  s.rt.drain();
  s.send("a", "2");
  s.rt.drain();
  s.fn->reply(answer{}.cancel("").bytes());
  CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("without a cancellation token"), local::job_failure);
}

TEST_CASE("rule 20: only the sender id that scheduled a message can cancel it") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer{}.send_after(100, "test", "fn", "x", "m", "t").bytes());
  s.send("b", "1");
  s.rt.drain();
  s.fn->reply(answer{}.cancel("t").bytes());
  s.rt.drain();
  CHECK(s.rt.pending_delayed_messages() == 1);
}

// ------------------------------------------------------------------ egress and ingress (21-23)

TEST_CASE("rule 21: egress records reach their egress unchanged; Kafka and Kinesis records are checked and decoded") {
  scripted s;
  s.rt.add_egress({.kind = local::egress_kind::kafka, .id = "test/kafka"});
  s.rt.add_egress({.kind = local::egress_kind::kinesis, .id = "test/kinesis"});
  const auto kafka = statefun::kafka_egress{"test/kafka"}.topic("t").key("k").value(std::string("v"));
  const auto keyless = statefun::kafka_egress{"test/kafka"}.topic("t").value(std::string("v2"));
  const auto kinesis = statefun::kinesis_egress{"test/kinesis"}.stream("s").partition_key("p").value(std::string("v"));
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer{}
                  .egress("test", "out", "test/anything", "as is")
                  .egress("test", "kafka", kafka.value_type(), kafka.value())
                  .egress("test", "kafka", keyless.value_type(), keyless.value())
                  .egress("test", "kinesis", kinesis.value_type(), kinesis.value())
                  .bytes());
  s.rt.drain();
  CHECK(s.rt.egress("test/out").at(0).value == local::typed_value{"test/anything", "as is", true});
  const auto& records = s.rt.egress("test/kafka");
  REQUIRE(records.size() == 2);
  CHECK(records[0].kafka == local::kafka_record{"t", "k", "v"});
  CHECK(records[1].kafka == local::kafka_record{"t", std::nullopt, "v2"});  // an empty key: keyless
  CHECK(s.rt.egress("test/kinesis").at(0).kinesis == local::kinesis_record{"s", "p", "v", ""});
}

TEST_CASE("rule 21: a record for an unknown egress, or not a KafkaProducerRecord for Kafka, fails the run") {
  SUBCASE("unknown") {
    scripted s;
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(answer{}.egress("test", "nowhere", "test/text", "x").bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("unknown egress 'test/nowhere'"), local::job_failure);
  }
  SUBCASE("wrong type") {
    scripted s;
    s.rt.add_egress({.kind = local::egress_kind::kafka, .id = "test/kafka"});
    s.send("a", "1");
    s.rt.drain();
    s.fn->reply(answer{}.egress("test", "kafka", "test/text", "x").bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("takes type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord"),
                         local::job_failure);
  }
  SUBCASE("a Kafka topic that is not UTF-8 (protobuf-java would not parse the record)") {
    scripted s;
    s.rt.add_egress({.kind = local::egress_kind::kafka, .id = "test/kafka"});
    s.send("a", "1");
    s.rt.drain();
    const std::string record = "\x12\x01v\x1a\x02\xC3\x28";  // value_bytes "v", topic C3 28
    s.fn->reply(answer{}.egress("test", "kafka", statefun::kafka_egress::record_type, record).bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("does not parse (malformed, or a topic or key that is not UTF-8)"),
                         local::job_failure);
  }
  SUBCASE("a Kinesis partition key that is not UTF-8") {
    scripted s;
    s.rt.add_egress({.kind = local::egress_kind::kinesis, .id = "test/kinesis"});
    s.send("a", "1");
    s.rt.drain();
    const std::string record = "\x0a\x01\xFF\x12\x01v\x1a\x01s";  // partition key FF, value "v", stream "s"
    s.fn->reply(answer{}.egress("test", "kinesis", statefun::kinesis_egress::record_type, record).bytes());
    CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("that is not UTF-8"), local::job_failure);
  }
}

TEST_CASE("rule 22: an ingress record goes to every target of its topic, keyed by the record key, with the route's type") {
  auto other = std::make_shared<scripted_endpoint>();
  scripted s;
  s.rt.bind("test/other", other);
  s.rt.add_ingress({.kind = local::ingress_kind::kafka,
                    .id = "test/in",
                    .routes = {{"names", "test/name", {"test/fn", "test/other"}}, {"ages", "test/age", {"test/fn"}}}});
  s.rt.ingest_raw("test/in", "ann", "raw bytes", "names");
  s.rt.drain();
  REQUIRE(s.fn->held() == 1);
  REQUIRE(other->held() == 1);
  for (auto* request : {&s.fn->front(), &other->front()}) {
    CHECK(request->batch.target.id == "ann");
    REQUIRE(request->batch.invocations.size() == 1);
    CHECK_FALSE(request->batch.invocations[0].caller.has_value());
    CHECK(request->batch.invocations[0].argument == codec::typed_value_view{"test/name", true, "raw bytes"});
  }
  CHECK_THROWS_AS(s.rt.ingest_raw("test/in", "ann", "x"), std::invalid_argument);  // two topics: name one
  CHECK_THROWS_AS(s.rt.ingest_raw("test/nope", "ann", "x"), std::invalid_argument);
  CHECK_THROWS_AS(s.rt.ingest("test/in", "ann", std::string("typed"), "ages"), std::invalid_argument);
  s.rt.ingest_raw("test/in", std::nullopt, "no key", "ages");
  CHECK_THROWS_WITH_AS(s.rt.drain(), doctest::Contains("has no key"), local::job_failure);
}

TEST_CASE("a typed record finds its topic by its value type when the ingress reads several") {
  scripted s;
  s.rt.add_ingress({.kind = local::ingress_kind::kafka,
                    .id = "test/in",
                    .routes = {{"names", "io.statefun.types/string", {"test/fn"}},
                               {"ages", "io.statefun.types/int", {"test/fn"}},
                               {"more-ages", "io.statefun.types/int", {"test/fn"}}}});
  s.rt.ingest("test/in", "ann", std::string("Ann"));  // the one string topic: names
  s.rt.drain();
  REQUIRE(s.fn->held() == 1);
  CHECK(s.fn->front().batch.invocations.at(0).argument.type_name == "io.statefun.types/string");
  CHECK_THROWS_WITH_AS(s.rt.ingest("test/in", "ann", std::int32_t{7}),
                       "statefun::local: ingress 'test/in' reads several topics of type 'io.statefun.types/int': name one",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.rt.ingest("test/in", "ann", 7.5),
                       "statefun::local: ingress 'test/in' reads no topic of type 'io.statefun.types/double'",
                       std::invalid_argument);
  s.rt.ingest("test/in", "bob", std::int32_t{7}, "more-ages");
}

TEST_CASE("rule 23: input pauses while max_async_operations requests are in flight, and the rest goes on") {
  scripted s(1000, {.clock = local::clock::virtual_time(), .max_async_operations = 2});
  for (const char* id : {"a", "b", "c", "d"}) {
    s.send(id, "1");
  }
  s.rt.drain();
  CHECK(s.fn->held() == 2);
  CHECK(s.rt.backpressured());
  // completions and the messages they send still run while input is paused
  s.fn->reply("a", answer{}.send("test", "fn", "a", "test/text", "local").bytes());
  s.rt.drain();
  CHECK(s.fn->held() == 2);
  CHECK(s.fn->for_id("a").arguments() == std::vector<std::string>{"local"});
  s.fn->reply("a", answer{}.bytes());
  s.rt.drain();
  CHECK(s.fn->for_id("c").arguments() == std::vector<std::string>{"1"});
}

// ----------------------------------------------------------------- fault tolerance (24-26)

TEST_CASE("rules 24 and 25: a restore resends the batches in flight at the snapshot and drops later answers") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(missing_n());
  s.rt.drain();
  s.fn->reply(answer{}.modify("n", "test/int", "before").bytes());
  s.rt.drain();
  s.send("a", "2");
  s.send("a", "3");
  s.rt.drain();
  const auto snap = s.rt.take_snapshot();  // "2" in flight, "3" in the backlog
  s.fn->reply(answer{}.modify("n", "test/int", "after").egress("test", "out", "test/text", "lost?").bytes());
  s.rt.drain();
  CHECK(s.fn->front().arguments() == std::vector<std::string>{"3"});
  s.rt.restore(snap);
  s.fn->reply(answer{}.modify("n", "test/int", "stale").bytes());  // the answer to "3", sent after the snapshot
  s.rt.drain();
  CHECK(s.rt.state(address{"test/fn", "a"}, "n") == "before");
  // the batch in flight at the snapshot comes again, first through the handshake
  REQUIRE(s.fn->held() == 1);
  CHECK(s.fn->front().arguments() == std::vector<std::string>{"2"});
  CHECK(s.fn->front().batch.states.empty());
  s.fn->reply(missing_n());
  s.rt.drain();
  CHECK(s.fn->front().state("n")->value.value == "before");
  s.fn->reply(answer{}.bytes());
  s.rt.drain();
  CHECK(s.fn->front().arguments() == std::vector<std::string>{"3"});  // the backlog, restored
  CHECK(s.rt.stats().restores == 1);
}

TEST_CASE("rule 25: delayed messages that fell due while down fire after the restore, and input resumes where it was") {
  scripted s;
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer{}.send_after(100, "test", "fn", "b", "delayed").bytes());
  s.rt.drain();
  const auto snap = s.rt.take_snapshot();
  s.send("c", "input after the snapshot");
  s.rt.advance(200ms);
  CHECK(s.fn->held() == 2);
  s.fn->reply(answer{}.bytes());
  s.fn->reply(answer{}.bytes());
  s.rt.drain();
  s.rt.restore(snap);
  s.rt.drain();
  REQUIRE(s.fn->held() == 2);
  CHECK(s.fn->for_id("b").arguments() == std::vector<std::string>{"delayed"});
  CHECK(s.fn->for_id("c").arguments() == std::vector<std::string>{"input after the snapshot"});
  CHECK(s.rt.stats().delayed_fired == 2);  // once before the crash, once after
}

TEST_CASE("rule 26: exactly-once egress output appears at the next snapshot and a restore drops it; at-least-once may repeat") {
  scripted s;
  s.rt.add_egress({.kind = local::egress_kind::any, .id = "test/once", .semantic = local::delivery_semantic::exactly_once});
  const auto snap = s.rt.take_snapshot();
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer{}.egress("test", "once", "test/text", "x").egress("test", "out", "test/text", "y").bytes());
  s.rt.drain();
  CHECK(s.rt.egress("test/once").empty());
  CHECK(egress_values(s.rt, "test/out") == std::vector<std::string>{"y"});
  s.rt.restore(snap);
  s.rt.drain();
  s.fn->reply(answer{}.egress("test", "once", "test/text", "x").egress("test", "out", "test/text", "y").bytes());
  s.rt.drain();
  (void)s.rt.take_snapshot();
  CHECK(egress_values(s.rt, "test/once") == std::vector<std::string>{"x"});
  CHECK(egress_values(s.rt, "test/out") == std::vector<std::string>{"y", "y"});
}

// --------------------------------------------------------------------------- ordering (27)

TEST_CASE("rule 27: each address gets its messages in the order they were sent; shuffling varies only the interleaving") {
  std::vector<std::vector<std::string>> orders;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    auto fn = std::make_shared<scripted_endpoint>([](const statefun::test::held_request&) { return answer{}.bytes(); });
    local::runtime rt({.clock = local::clock::virtual_time(), .shuffle_seed = seed});
    rt.bind("test/fn", fn, 0);
    auto sender = std::make_shared<scripted_endpoint>([](const statefun::test::held_request&) {
      answer a;
      for (int i = 0; i < 20; ++i) {
        std::move(a).send("test", "fn", i % 2 ? "odd" : "even", "test/text", std::to_string(i));
      }
      return a.bytes();
    });
    rt.bind("test/sender", sender);
    rt.send(address{"test/sender", "s"}, text("go"));
    rt.run_until_quiescent();
    std::vector<std::string> order, even, odd;
    for (const auto& bytes : fn->history()) {
      codec::invocation_batch_view batch;
      REQUIRE(batch.decode(std::string_view(bytes)));
      for (const auto& inv : batch.invocations) {
        order.emplace_back(inv.argument.value);
        (batch.target.id == "even" ? even : odd).emplace_back(inv.argument.value);
      }
    }
    CHECK(even == std::vector<std::string>{"0", "2", "4", "6", "8", "10", "12", "14", "16", "18"});
    CHECK(odd == std::vector<std::string>{"1", "3", "5", "7", "9", "11", "13", "15", "17", "19"});
    orders.push_back(order);
  }
  bool varied = false;
  for (const auto& order : orders) {
    varied = varied || order != orders.front();
  }
  CHECK(varied);
}

// --------------------------------------------------------------------------------- time

TEST_CASE("a virtual clock moves only when told; run_until_quiescent jumps it to each due message") {
  scripted s;
  const auto start = s.rt.now();
  s.send("a", "1");
  s.rt.drain();
  s.fn->reply(answer{}.send_after(60'000, "test", "fn", "a", "a minute later").bytes());
  s.rt.run_until_idle();
  CHECK(s.rt.now() == start);
  CHECK(s.rt.pending_delayed_messages() == 1);
  s.rt.run_until_quiescent();
  CHECK(s.rt.now() == start + 60s);
  CHECK(s.fn->front().arguments() == std::vector<std::string>{"a minute later"});
  CHECK_THROWS_AS(local::runtime().advance(1s), std::logic_error);
}

TEST_CASE("a real clock: run_until_quiescent waits for delayed messages") {
  auto fn = std::make_shared<scripted_endpoint>([](const statefun::test::held_request& r) {
    return r.arguments().front() == "go" ? answer{}.send_after(5, "test", "fn", "a", "later").bytes() : answer{}.bytes();
  });
  local::runtime rt;
  rt.bind("test/fn", fn);
  rt.send(address{"test/fn", "a"}, text("go"));
  rt.run_until_quiescent();
  CHECK(fn->sent() == 2);
  CHECK(rt.pending_delayed_messages() == 0);
}
