#pragma once

/// @file
/// `name_table`: interns names (function types, value types) as small dense numbers.

#include <statefun/config.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace statefun::inline v0::local::detail {

/// Hashes `std::string` and `std::string_view` alike, so maps keyed by strings are searched
/// with views and no temporary string.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

/// A map from owned strings, searched by view.
template <class Value>
using string_map = std::unordered_map<std::string, Value, string_hash, std::equal_to<>>;

/**
 * Gives each distinct name a number, for good. The runtime keeps the number where it would
 * otherwise keep a copy of a long type name in every queued message. Append-only, so numbers
 * taken before a snapshot stay valid after a restore.
 */
class name_table {
 public:
  /// The number of `name`, giving it the next one if it is new.
  std::uint32_t intern(std::string_view name) {
    if (const auto it = index_.find(name); it != index_.end()) {
      return it->second;
    }
    const auto number = static_cast<std::uint32_t>(names_.size());
    names_.emplace_back(name);
    index_.emplace(names_.back(), number);
    return number;
  }

  /// The number of `name`, or `npos` if it has none.
  [[nodiscard]] std::uint32_t find(std::string_view name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? npos : it->second;
  }

  [[nodiscard]] const std::string& name(std::uint32_t number) const { return names_[number]; }
  [[nodiscard]] std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(names_.size()); }

  static constexpr std::uint32_t npos = ~std::uint32_t{0};

 private:
  std::deque<std::string> names_;  // a deque: growing it never moves a name
  string_map<std::uint32_t> index_;
};

}  // namespace statefun::inline v0::local::detail
