#pragma once

// How a fuzz target reports a broken property: print what and why, then abort, so libFuzzer
// saves the input as a reproducer.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

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

/**
 * Decodes `bytes` into `fresh` and into `reused` (a view that decoded other inputs before) and
 * requires the same outcome from both: decoding must not depend on what a view held.
 */
template <class View>
auto decode_fresh_and_reused(std::string_view bytes, View& fresh, View& reused) {
  const auto result = fresh.decode(bytes);
  const auto reused_result = reused.decode(bytes);
  require(result.code == reused_result.code && result.offset == reused_result.offset,
          "a reused view decodes differently");
  require(result.offset <= bytes.size(), "error offset past the input");
  require(!result || reused == fresh, "a reused view holds different fields");
  return result;
}

}  // namespace statefun::fuzz
