#pragma once

// String equality for the hot path: views of the same text (a spec's name compared with the cell
// it declared) match by address, and the rest by one memcmp, without the out-of-line three-way
// compare libstdc++ uses for `==`.

#include <statefun/config.hpp>

#include <cstring>
#include <string_view>

namespace statefun::inline v0::detail {

inline bool same_text(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  return a.data() == b.data() || a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace statefun::inline v0::detail
