// The greeter end to end on the local runtime: configured by its module.yaml, fed through its
// Kafka ingress, checked at its Kafka egress, with a virtual clock for the idle reset. Every
// case runs both versions: the message handler (greeter.hpp) and the durable flow
// (greeter_durable.hpp).

#include "greeter.hpp"
#include "greeter_durable.hpp"

#include <statefun/local/module_yaml.hpp>
#include <statefun/local/runtime.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace local = statefun::local;

/// One way to write the greeter.
struct version {
  const char* name;
  void (*bind)(statefun::functions&);
};

constexpr version versions[] = {{"message handler", greeter::bind_functions},
                                {"durable flow", greeter::bind_durable_functions}};

struct greeter_app {
  statefun::functions fns;  // before the runtime, which must go first
  local::runtime rt{local::load_module(EXAMPLE_MODULE_YAML), {.clock = local::clock::virtual_time()}};

  explicit greeter_app(const version& v) {
    v.bind(fns);
    rt.serve(fns);
  }

  void login(const std::string& user) {
    rt.ingest("greeter/logins", user, greeter::user_login{user, "WEB"});
    rt.run_until_idle();
  }

  /// (key, value) of every record on the topic "seen" so far.
  std::vector<std::pair<std::string, std::string>> seen() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& record : rt.egress("greeter/seen")) {
      REQUIRE(record.kafka);
      CHECK(record.kafka->topic == "seen");
      out.emplace_back(record.kafka->key.value_or("<none>"), record.kafka->value);
    }
    return out;
  }

  std::optional<std::int32_t> count_of(const std::string& user) {
    return rt.state(statefun::address{"greeter/user", user}, greeter::seen);
  }
};

using records = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_CASE("each user's logins are counted and published to the topic 'seen', keyed by user name") {
  for (const version& v : versions) {
    CAPTURE(v.name);
    greeter_app app(v);
    for (const char* user : {"ann", "bob", "ann", "ann", "bob"}) {
      app.login(user);
    }
    CHECK(app.seen() == records{{"ann", "1"}, {"bob", "1"}, {"ann", "2"}, {"ann", "3"}, {"bob", "2"}});
    CHECK(app.count_of("ann") == 3);
    CHECK(app.count_of("bob") == 2);
    CHECK(app.count_of("cid") == std::nullopt);
  }
}

TEST_CASE("a user idle for more than 60 seconds starts again from zero") {
  for (const version& v : versions) {
    CAPTURE(v.name);
    greeter_app app(v);
    app.login("ann");
    app.login("ann");
    app.rt.advance(59s);
    CHECK(app.count_of("ann") == 2);  // not yet
    app.rt.advance(2s);
    CHECK(app.count_of("ann") == std::nullopt);
    app.login("ann");
    CHECK(app.seen() == records{{"ann", "1"}, {"ann", "2"}, {"ann", "1"}});
  }
}

TEST_CASE("every login cancels the pending reset and arms a new one") {
  for (const version& v : versions) {
    CAPTURE(v.name);
    greeter_app app(v);
    app.login("ann");
    app.login("bob");
    for (int i = 0; i < 5; ++i) {  // ann logs in every 40 s: never idle for 60 s
      app.rt.advance(40s);
      app.login("ann");
    }
    CHECK(app.count_of("ann") == 6);
    CHECK(app.count_of("bob") == std::nullopt);  // bob has been idle for 200 s
    const auto fired_before = app.rt.stats().delayed_fired;
    app.rt.run_until_quiescent();  // the virtual clock jumps to ann's one pending reset
    CHECK(app.rt.stats().delayed_fired == fired_before + 1);
    CHECK(app.count_of("ann") == std::nullopt);
  }
}

TEST_CASE("several logins of one user in one batch leave one pending reset") {
  for (const version& v : versions) {
    CAPTURE(v.name);
    greeter_app app(v);
    for (int i = 0; i < 3; ++i) {  // delivered together: the greeter's state machine batches them
      app.rt.ingest("greeter/logins", "ann", greeter::user_login{"ann", "MOBILE"});
    }
    app.rt.run_until_idle();
    CHECK(app.count_of("ann") == 3);
    const auto fired_before = app.rt.stats().delayed_fired;
    app.rt.run_until_quiescent();
    CHECK(app.rt.stats().delayed_fired == fired_before + 1);
    CHECK(app.count_of("ann") == std::nullopt);
  }
}
