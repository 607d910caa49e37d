// Example: unit tests of the greeter's function with statefun::testing and doctest. One
// function, called directly: no runtime, no module.yaml, no sockets. (The greeter's end-to-end
// test on the local runtime is examples/greeter/greeter_test.cpp.)

#include "../greeter/greeter.hpp"
#include "../greeter/greeter_durable.hpp"

#include <statefun/testing.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace std::chrono_literals;

namespace {

statefun::functions greeter_functions() {
  statefun::functions fns;
  greeter::bind_functions(fns);
  return fns;
}

statefun::functions durable_greeter_functions() {
  statefun::functions fns;
  greeter::bind_durable_functions(fns);
  return fns;
}

}  // namespace

TEST_CASE("a login is counted and published to the topic 'seen', keyed by user") {
  const auto fns = greeter_functions();
  statefun::testing::instance ann(fns, {"greeter/user", "ann"});
  ann.set(greeter::seen, 2);  // two logins before this one

  const auto out = ann.receive(greeter::user_login{"ann", "WEB"});

  CHECK(out.state(greeter::seen) == 3);
  REQUIRE(out.egress().size() == 1);
  const auto& record = *out.egress()[0].kafka;
  CHECK(record.topic == "seen");
  CHECK(record.key == "ann");
  CHECK(record.value == "3");
}

TEST_CASE("every login re-arms the idle reset: the old reminder cancelled, a new one sent") {
  const auto fns = greeter_functions();
  statefun::testing::instance ann(fns, {"greeter/user", "ann"});

  const auto out = ann.receive(greeter::user_login{"ann", "MOBILE"});

  CHECK(out.cancellations() == std::vector<std::string>{"idle-reset"});
  REQUIRE(out.delayed().size() == 1);
  CHECK(out.delayed()[0].target == ann.self());
  CHECK(out.delayed()[0].delay == greeter::idle_timeout);
  CHECK(out.delayed()[0].token == "idle-reset");
  CHECK(out.delayed()[0].as<greeter::idle_expired>().user_name == "ann");
}

TEST_CASE("a user idle for a minute starts again from zero") {
  const auto fns = greeter_functions();
  statefun::testing::instance ann(fns, {"greeter/user", "ann"});
  ann.receive(greeter::user_login{"ann", "WEB"});
  ann.receive(greeter::user_login{"ann", "WEB"});

  CHECK(ann.advance(59s).removed_states().empty());
  const auto idle = ann.advance(1s);  // the reminder arrives

  CHECK(idle.removed(greeter::seen));
  CHECK(ann.receive(greeter::user_login{"ann", "WEB"}).state(greeter::seen) == 1);
}

TEST_CASE("the durable greeter waits for a minute of quiet in its flow, then resets") {
  const auto fns = durable_greeter_functions();
  statefun::testing::instance ann(fns, {"greeter/user", "ann"});

  const auto first = ann.receive(greeter::user_login{"ann", "WEB"});
  CHECK(first.state(greeter::seen) == 1);
  REQUIRE(ann.steps().size() == 2);  // first(sleep, next_message)
  CHECK(ann.steps()[0].what == statefun::testing::step::kind::sleep);
  CHECK(ann.steps()[0].duration == greeter::idle_timeout);

  CHECK(ann.receive(greeter::user_login{"ann", "WEB"}).state(greeter::seen) == 2);  // within the minute
  CHECK(ann.advance(1min).removed(greeter::seen));
}
