#pragma once

// How a fuzz target reports a broken property: print what and why, then abort, so libFuzzer
// saves the input as a reproducer.

#include <cstdio>
#include <cstdlib>
#include <string>

namespace statefun::fuzz {

[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz property broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

inline void require(bool condition, const char* what, const std::string& detail = {}) {
  if (!condition) {
    fail(what, detail);
  }
}

}  // namespace statefun::fuzz
