// The main of prometheus_live: without Prometheus (Debian: prometheus, which ships promtool)
// the suite is skipped (exit 77), unless CI=true or STATEFUN_TEST_REQUIRE_PROMETHEUS=1, where a
// missing Prometheus fails it.

#define DOCTEST_CONFIG_IMPLEMENT
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "support/doctest.hpp"

#ifndef STATEFUN_TEST_PROMETHEUS
#error "the build passes STATEFUN_TEST_PROMETHEUS and STATEFUN_TEST_PROMTOOL (empty when not found)"
#endif

namespace {

bool is_set(const char* variable, std::string_view value) {
  const char* set = std::getenv(variable);
  return set != nullptr && set == value;
}

bool runnable(const std::string& program) { return !program.empty() && ::access(program.c_str(), X_OK) == 0; }

}  // namespace

int main(int argc, char** argv) {
  if (!runnable(STATEFUN_TEST_PROMETHEUS) || !runnable(STATEFUN_TEST_PROMTOOL)) {
    const std::string why =
        "the build found no prometheus or promtool (Debian: apt-get install prometheus, then meson setup --reconfigure)";
    if (is_set("CI", "true") || is_set("STATEFUN_TEST_REQUIRE_PROMETHEUS", "1")) {
      std::cerr << "FAIL: " << why << " (required: CI=true or STATEFUN_TEST_REQUIRE_PROMETHEUS=1)\n";
      return 1;
    }
    std::cout << "SKIP: " << why << "\n";
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
