// Runs the greeter on the local runtime, configured by the module.yaml deployed to the cluster,
// with the functions in this process and a virtual clock. Each argument is a login of that user
// name, or "+DURATION" ("+90s", "+2min") to let that much time pass; egress records are printed
// as they are published.
//
//   build/examples/greeter/greeter ann bob ann +2min ann
//
// (reads the arguments one per line from stdin when none are given)

#include "greeter.hpp"

#include <statefun/local/module_yaml.hpp>
#include <statefun/local/runtime.hpp>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) try {
  statefun::functions fns;
  greeter::bind_functions(fns);

  statefun::local::runtime rt(statefun::local::load_module(EXAMPLE_MODULE_YAML),
                              {.clock = statefun::local::clock::virtual_time()});
  rt.serve(fns);  // in process: the module's endpoint (greeter-functions:8000) is not needed
  rt.on_egress([](const statefun::local::egress_record& r) {
    std::cout << "seen: key=" << r.kafka->key.value_or("") << " value=" << r.kafka->value << '\n';
  });

  std::vector<std::string> inputs(argv + 1, argv + argc);
  if (inputs.empty()) {
    for (std::string line; std::getline(std::cin, line);) {
      inputs.push_back(line);
    }
  }
  for (const auto& input : inputs) {
    if (input.starts_with('+')) {
      rt.advance(statefun::local::parse_flink_duration(input.substr(1)));
    } else {
      rt.ingest("greeter/logins", input, greeter::user_login{input, "WEB"});
      rt.run_until_idle();
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "greeter: " << e.what() << '\n';
  return 1;
}
