#pragma once

/// @file
/// `type_name`: the `namespace/name` identifiers StateFun gives to functions, egresses and
/// value types.

#include <statefun/config.hpp>
#include <statefun/detail/utf8.hpp>

#include <compare>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace statefun::inline v0 {

/**
 * A validated `namespace/name` pair, such as `example/greeter` or `io.statefun.types/int`.
 *
 * The runtime splits type names at `/` and fails the whole job unless it finds exactly two
 * non-empty parts, and refuses a response whose strings are not UTF-8, so a bad name is refused
 * here, where the mistake is made.
 *
 * **Example**:
 * @code
 * statefun::type_name greeter{"example/greeter"};
 * assert(greeter.namespace_name() == "example" && greeter.name() == "greeter");
 * @endcode
 */
class type_name {
 public:
  /// Why `text` is not a valid type name, or an empty view if it is one.
  [[nodiscard]] static constexpr std::string_view problem(std::string_view text) noexcept {
    if (!detail::is_valid_utf8(text)) {
      return "is not valid UTF-8";
    }
    const std::size_t slash = text.rfind('/');
    if (slash == std::string_view::npos) {
      return "has no '/' between namespace and name";
    }
    if (slash == 0) {
      return "has an empty namespace";
    }
    if (slash + 1 == text.size()) {
      return "has an empty name";
    }
    if (text.find('/') != slash) {
      return "has more than one '/'";
    }
    return {};
  }

  /// True when `text` is a valid type name: what `check` would accept.
  [[nodiscard]] static constexpr bool is_valid(std::string_view text) noexcept {
    return problem(text).empty();
  }

  /// Throws `std::invalid_argument` naming `text` unless it is a valid type name.
  static void check(std::string_view text) {
    if (const auto why = problem(text); !why.empty()) {
      throw std::invalid_argument("statefun: type name '" + detail::escaped(text) + "' " +
                                  std::string(why));
    }
  }

  /**
   * @param text `namespace/name`.
   * @throws std::invalid_argument if `text` is not exactly two non-empty parts split by `/`,
   *         or is not valid UTF-8.
   */
  type_name(std::string_view text) : text_(text), slash_(text.rfind('/')) { check(text); }
  /// As `type_name(std::string_view)`. @throws std::invalid_argument as that does.
  type_name(const char* text) : type_name(std::string_view(text)) {}
  /// As `type_name(std::string_view)`. @throws std::invalid_argument as that does.
  type_name(const std::string& text) : type_name(std::string_view(text)) {}

  /// @throws std::invalid_argument if either part is empty, holds a `/` or is not UTF-8.
  type_name(std::string_view namespace_name, std::string_view name)
      : type_name(join(namespace_name, name)) {}

  /**
   * Replaces the value with `namespace_name/name`, reusing the storage already held.
   * @return false (and no change) if either part is empty, holds a `/` or is not UTF-8.
   */
  bool try_assign(std::string_view namespace_name, std::string_view name) {
    if (namespace_name.empty() || name.empty() ||
        namespace_name.find('/') != std::string_view::npos ||
        name.find('/') != std::string_view::npos || !detail::is_valid_utf8(namespace_name) ||
        !detail::is_valid_utf8(name)) {
      return false;
    }
    text_.assign(namespace_name).append(1, '/').append(name);
    slash_ = namespace_name.size();
    return true;
  }

  /// The part before the `/`.
  [[nodiscard]] std::string_view namespace_name() const noexcept {
    return std::string_view(text_).substr(0, slash_);
  }
  /// The part after the `/`.
  [[nodiscard]] std::string_view name() const noexcept {
    return std::string_view(text_).substr(slash_ + 1);
  }
  /// The whole `namespace/name`.
  [[nodiscard]] const std::string& str() const noexcept { return text_; }
  /// The whole `namespace/name`.
  operator std::string_view() const noexcept { return text_; }

  /// Equal when the texts are.
  friend bool operator==(const type_name& a, const type_name& b) noexcept {
    return a.text_ == b.text_;
  }
  /// Orders by text, so type names can key a `std::map`.
  friend auto operator<=>(const type_name& a, const type_name& b) noexcept {
    return a.text_ <=> b.text_;
  }
  // One overload per string kind, so that comparing with any of them is unambiguous and never
  // constructs (and so never validates) a type_name from the other side.
  /// Compares with the text `b` without validating it.
  friend bool operator==(const type_name& a, std::string_view b) noexcept { return a.text_ == b; }
  /// Compares with the text `b` without validating it.
  friend bool operator==(const type_name& a, const char* b) noexcept { return a.text_ == b; }
  /// Compares with the text `b` without validating it.
  friend bool operator==(const type_name& a, const std::string& b) noexcept { return a.text_ == b; }

 private:
  static std::string join(std::string_view namespace_name, std::string_view name) {
    std::string text;
    text.reserve(namespace_name.size() + 1 + name.size());
    text.append(namespace_name).append(1, '/').append(name);
    return text;
  }

  std::string text_;
  std::size_t slash_;
};

}  // namespace statefun::inline v0

template <>
/// Hashes a type name like its text, so type names can key a `std::unordered_map`.
struct std::hash<statefun::type_name> {
  /// The hash of `t.str()`.
  std::size_t operator()(const statefun::type_name& t) const noexcept {
    return std::hash<std::string_view>{}(t.str());
  }
};
