// Example: the greeter. Each user's logins are counted in state, and every login sends a
// greeting to a Kafka egress (topic "greetings", keyed by the user name). It runs on the local
// runtime, which plays Flink's part in this process: each name is a message from an ingress.
//
// Run: build/examples/greeter [name ...]   (reads names from stdin when none are given)

#include <statefun/local/runtime.hpp>
#include <statefun/statefun.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr auto logins = statefun::value_spec<std::int32_t>{"logins", statefun::expire_after_call{std::chrono::days{30}}};

std::string greeting(const std::string& name, std::int32_t seen) {
  if (seen == 1) {
    return "Hello " + name + "! Welcome.";
  }
  return "Hello " + name + "! Nice to see you again (" + std::to_string(seen) + " logins).";
}

void greet(statefun::context& ctx, const statefun::message& msg) {
  const auto seen = ctx.storage().get(logins).value_or(0) + 1;
  ctx.storage().set(logins, seen);
  ctx.send_egress(statefun::kafka_egress{"example/greets"}
                      .topic("greetings")
                      .key(ctx.self().id)
                      .value(greeting(msg.as<std::string>(), seen)));
}

}  // namespace

int main(int argc, char** argv) {
  statefun::functions fns;
  fns.bind("example/greeter", {logins}, greet);

  std::vector<std::string> names(argv + 1, argv + argc);
  if (names.empty()) {
    for (std::string line; std::getline(std::cin, line);) {
      names.push_back(line);
    }
  }
  statefun::local::runtime runtime;
  runtime.serve(fns);
  runtime.add_egress({.kind = statefun::local::egress_kind::kafka, .id = "example/greets"});
  runtime.on_egress([](const statefun::local::egress_record& r) {
    std::cout << r.egress << " topic=" << r.kafka->topic << " key=" << r.kafka->key.value_or("")
              << " value=" << r.kafka->value << '\n';
  });
  for (const auto& name : names) {
    runtime.send(statefun::address{"example/greeter", name}, name);
  }
  runtime.run_until_quiescent();
}
