#include <statefun/local/runtime.hpp>
// After runtime.hpp on purpose: with <functional> (and so std::bind) in sight, an unqualified call
// in the loader once found std::bind by argument-dependent lookup and read nothing at all.
#include <statefun/local/module_yaml.hpp>

#include "local/support/scripted_endpoint.hpp"
#include "support/doctest.hpp"

#include <memory>
#include <string>

// A runtime configured from a module.yaml as it is deployed to a real cluster (rule 1): Kafka
// and Kinesis ingresses become in-memory topics, egresses keep their records in memory.

namespace {

namespace local = statefun::local;
using statefun::test::answer;
using statefun::test::scripted_endpoint;

constexpr const char* module_text = R"(
kind: io.statefun.endpoints.v2/http
spec:
  functions: example/*
  urlPathTemplate: http://greeter-svc:8000/statefun
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: example/names
  address: kafka-broker:9092
  startupPosition:
    type: earliest
  topics:
    - topic: names
      valueType: io.statefun.types/string
      targets:
        - example/greeter
        - example/audit
---
kind: io.statefun.kinesis.v1/ingress
spec:
  id: example/clicks
  streams:
    - stream: clicks
      valueType: example/Click
      targets:
        - example/greeter
---
kind: io.statefun.kafka.v1/egress
spec:
  id: example/greets
  address: kafka-broker:9092
  deliverySemantic:
    type: exactly-once
    transactionTimeout: 15min
)";

}  // namespace

TEST_CASE("rule 1: a runtime built from module.yaml feeds its ingresses' targets and keeps its egresses' records") {
  const local::module m = local::parse_module(module_text);
  REQUIRE(m.endpoints.size() == 1);
  REQUIRE(m.ingresses.size() == 2);
  local::runtime rt(m, {.clock = local::clock::virtual_time()});
  auto greeter = std::make_shared<scripted_endpoint>([](const statefun::test::held_request& r) {
    const auto greets = statefun::kafka_egress{"example/greets"}.topic("greetings").key(std::string(r.batch.target.id)).value(std::string("hi"));
    return answer{}.egress("example", "greets", greets.value_type(), greets.value()).bytes();
  });
  auto audit = std::make_shared<scripted_endpoint>([](const statefun::test::held_request&) { return answer{}.bytes(); });
  rt.bind("example/greeter", greeter);  // exact types win over the module's example/*
  rt.bind("example/audit", audit);
  rt.ingest("example/names", "ann", std::string("Ann"));
  rt.ingest_raw("example/clicks", "bob", "{\"x\":1}");
  rt.run_until_idle();
  CHECK(greeter->sent() == 2);
  CHECK(audit->sent() == 1);
  statefun::codec::invocation_batch_view first;
  REQUIRE(first.decode(std::string_view(audit->history().front())));
  CHECK(first.invocations.at(0).argument.type_name == "io.statefun.types/string");
  CHECK(rt.egress("example/greets").empty());  // exactly-once: published at the next snapshot
  (void)rt.take_snapshot();
  REQUIRE(rt.egress("example/greets").size() == 2);
  CHECK(rt.egress("example/greets")[0].kafka->key == "ann");
}
