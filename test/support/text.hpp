#pragma once

#include <string_view>

namespace statefun_test {

/// True if `text` holds `part`: for checking what an error message says.
inline bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace statefun_test
