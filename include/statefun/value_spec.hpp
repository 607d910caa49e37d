#pragma once

/// @file
/// `value_spec<T>`: the declaration of one persisted value of a function (name, type, expiry).

#include <statefun/type.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace statefun::inline v0 {

/// Expire a value this long after the last invocation that could see it, or the last write.
struct expire_after_call {
  /// How long; must be positive.
  std::chrono::milliseconds duration;
};

/// Expire a value this long after it was last written.
struct expire_after_write {
  /// How long; must be positive.
  /// How long; must be positive.
  std::chrono::milliseconds duration;
};

/// When a value expires. The default never expires.
class expiration {
 public:
  /// The expiry modes, numbered as the protocol's ExpireMode (NONE, AFTER_WRITE, AFTER_INVOKE).
  enum class mode : std::uint8_t { none = 0, after_write = 1, after_call = 2 };

  constexpr expiration() noexcept = default;
  /// Expires `e.duration` after the last call or write. @throws std::invalid_argument if not positive.
  constexpr expiration(expire_after_call e) : mode_(mode::after_call), after_(check(e.duration)) {}
  /// Expires `e.duration` after the last write. @throws std::invalid_argument if not positive.
  constexpr expiration(expire_after_write e) : mode_(mode::after_write), after_(check(e.duration)) {}

  /// The mode.
  [[nodiscard]] constexpr mode kind() const noexcept { return mode_; }
  /// The duration; zero for `mode::none`.
  [[nodiscard]] constexpr std::chrono::milliseconds after() const noexcept { return after_; }

  /// Equal when mode and duration are.
  friend constexpr bool operator==(const expiration&, const expiration&) = default;

 private:
  static constexpr std::chrono::milliseconds check(std::chrono::milliseconds d) {
    if (d <= std::chrono::milliseconds::zero()) {
      throw std::invalid_argument("statefun: an expiration duration must be positive");
    }
    return d;
  }

  mode mode_ = mode::none;
  std::chrono::milliseconds after_{0};
};

namespace detail {

constexpr bool is_state_name(std::string_view name) noexcept {
  auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (name.empty() || !letter(name.front())) {
    return false;
  }
  for (char c : name) {
    if (!letter(c) && !digit(c)) {
      return false;
    }
  }
  return true;
}

}  // namespace detail

/**
 * Declares a persisted value of type `T`. Usually `constexpr`, at namespace scope, and bound to
 * a function with `functions::bind`.
 *
 * **Example**:
 * @code
 * using namespace std::chrono_literals;
 * constexpr auto seen = statefun::value_spec<std::int32_t>{"seen", statefun::expire_after_call{60s}};
 * @endcode
 *
 * @throws std::invalid_argument (a compile error in a constant expression) if the name is not
 *         `[A-Za-z_][A-Za-z0-9_]*` or the expiry is not positive.
 */
template <class T>
class value_spec {
  static_assert(detail::report_untyped<T>());  // the one error for a type that is not typed
  static_assert(!std::is_same_v<T, std::string_view>,
                "state must own its value: use value_spec<std::string>");

 public:
  /// The C++ type of the value.
  using value_type = T;

  /**
   * @param name the state's name, `[A-Za-z_][A-Za-z0-9_]*`; the text is not copied, so it must
   *        outlive the spec (a string literal does).
   * @param expires when the value expires; never by default.
   * @throws std::invalid_argument if the name does not match.
   */
  constexpr value_spec(std::string_view name, expiration expires = {}) : name_(name), expires_(expires) {
    if (!detail::is_state_name(name)) {
      throw std::invalid_argument("statefun: state name '" + std::string(name) +
                                  "' must match [A-Za-z_][A-Za-z0-9_]*");
    }
  }

  /// The state's name.
  [[nodiscard]] constexpr std::string_view name() const noexcept { return name_; }
  /// When the value expires.
  [[nodiscard]] constexpr expiration expires() const noexcept { return expires_; }
  /// The StateFun type name of `T`. @throws std::invalid_argument if `type<T>::name()` is invalid.
  [[nodiscard]] std::string_view type_name() const { return type_name_of<T>(); }

 private:
  std::string_view name_;
  expiration expires_;
};

/// A `value_spec` with its C++ type erased: what the registry keeps and the handshake sends.
struct state_spec {
  /// The state's name.
  std::string_view name;
  /// The value's type name.
  std::string_view type_name;
  /// When the value expires.
  expiration expires;

  template <class T>
  /// The spec of `spec`, so a braced list of `value_spec`s of mixed types can be bound.
  state_spec(const value_spec<T>& spec)  // NOLINT(google-explicit-constructor): used in braced lists
      : name(spec.name()), type_name(spec.type_name()), expires(spec.expires()) {}

  /// A state whose value the SDK encodes itself (a durable function's journal).
  state_spec(std::string_view name_, std::string_view type_name_, expiration expires_ = {})
      : name(name_), type_name(type_name_), expires(expires_) {}
};

}  // namespace statefun::inline v0
