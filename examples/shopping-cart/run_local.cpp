// Runs the shopping cart on the local runtime, configured by the module.yaml deployed to the
// cluster, with the functions in this process and a virtual clock. Each argument is a command
// (see commands.hpp); egress records are printed as they are published.
//
//   build/examples/shopping-cart/shopping-cart "restock socks 5" "add ann socks 2" "checkout ann"
//
// (reads the commands one per line from stdin when none are given; blank lines and lines
// starting with '#' are skipped)
//
// After each command the runtime runs until idle and takes a checkpoint, which publishes the
// receipts: their egress is exactly-once, so the cluster publishes them with each checkpoint.

#include "commands.hpp"
#include "local_shop.hpp"

#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

int main(int argc, char** argv) try {
  std::vector<std::string> lines(argv + 1, argv + argc);
  if (lines.empty()) {
    for (std::string line; std::getline(std::cin, line);) {
      if (line.find_first_not_of(" \t\r") != std::string::npos && !line.starts_with('#')) {
        lines.push_back(line);
      }
    }
  }
  std::vector<shopping_cart::command> commands;  // all read before any runs
  for (const auto& line : lines) {
    try {
      commands.push_back(shopping_cart::parse_command(line));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("'" + line + "': " + e.what());
    }
  }

  shopping_cart::local_shop shop;
  shop.rt.on_egress([](const statefun::local::egress_record& r) {
    std::cout << r.kafka->topic << ": key=" << r.kafka->key.value_or("") << " value=" << r.kafka->value << '\n';
  });
  for (const auto& command : commands) {
    command(shop);
    shop.rt.run_until_idle();
    shop.checkpoint();
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "shopping-cart: " << e.what() << '\n';
  return 1;
}
