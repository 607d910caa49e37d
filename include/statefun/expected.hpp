#pragma once

/// @file
/// `statefun::expected<T, E>`: `std::expected` where the standard library has it, and a small
/// stand-in with the same core interface where it does not (C++20 on libstdc++ 12).

#include <statefun/config.hpp>

#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202202L
#include <expected>

namespace statefun::inline v0 {
template <class T, class E>
using expected = std::expected<T, E>;
template <class E>
using unexpected = std::unexpected<E>;
}  // namespace statefun::inline v0

#else
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace statefun::inline v0 {

/// Wraps an error so that it can initialise an `expected` unambiguously.
template <class E>
class unexpected {
 public:
  /// Wraps the error `e`.
  explicit unexpected(E e) : error_(std::move(e)) {}
  /// The wrapped error.
  [[nodiscard]] const E& error() const& noexcept { return error_; }
  /// The wrapped error.
  [[nodiscard]] E& error() & noexcept { return error_; }
  /// The wrapped error, moved out.
  [[nodiscard]] E&& error() && noexcept { return std::move(error_); }

 private:
  E error_;
};

/// Thrown by `expected::value()` when it holds an error.
class bad_expected_access : public std::logic_error {
 public:
  bad_expected_access() : std::logic_error("statefun::expected holds an error, not a value") {}
};

/// Either a `T` or an `E`. The subset of `std::expected` that statefun-cpp uses.
template <class T, class E>
class expected {
 public:
  /// The value's type.
  using value_type = T;
  /// The error's type.
  using error_type = E;

  expected()
    requires std::is_default_constructible_v<T>
      : storage_(std::in_place_index<0>) {}
  /// Holds a value made from `value`.
  template <class U = T>
    requires std::is_constructible_v<T, U&&> &&
             (!std::is_same_v<std::remove_cvref_t<U>, expected>) &&
             (!std::is_same_v<std::remove_cvref_t<U>, unexpected<E>>)
  /// Holds a value made from `value`.
  expected(U&& value) : storage_(std::in_place_index<0>, std::forward<U>(value)) {}
  /// Holds the error that `e` wraps.
  expected(unexpected<E> e) : storage_(std::in_place_index<1>, std::move(e).error()) {}

  /// True when it holds a value, false when an error.
  [[nodiscard]] bool has_value() const noexcept { return storage_.index() == 0; }
  /// `has_value()`.
  explicit operator bool() const noexcept { return has_value(); }

  /// The value. @throws bad_expected_access if it holds an error.
  [[nodiscard]] T& value() & { return check(), std::get<0>(storage_); }
  /// The value. @throws bad_expected_access if it holds an error.
  [[nodiscard]] const T& value() const& { return check(), std::get<0>(storage_); }
  /// The value, moved out. @throws bad_expected_access if it holds an error.
  [[nodiscard]] T&& value() && { return check(), std::get<0>(std::move(storage_)); }

  /// The value, unchecked: only when `has_value()`.
  [[nodiscard]] T& operator*() & noexcept { return *std::get_if<0>(&storage_); }
  /// The value, unchecked: only when `has_value()`.
  [[nodiscard]] const T& operator*() const& noexcept { return *std::get_if<0>(&storage_); }
  /// The value's members, unchecked: only when `has_value()`.
  [[nodiscard]] T* operator->() noexcept { return std::get_if<0>(&storage_); }
  /// The value's members, unchecked: only when `has_value()`.
  [[nodiscard]] const T* operator->() const noexcept { return std::get_if<0>(&storage_); }

  /// The error, unchecked: only when `!has_value()`.
  [[nodiscard]] E& error() & noexcept { return *std::get_if<1>(&storage_); }
  /// The error, unchecked: only when `!has_value()`.
  [[nodiscard]] const E& error() const& noexcept { return *std::get_if<1>(&storage_); }
  /// The error, moved out, unchecked: only when `!has_value()`.
  [[nodiscard]] E&& error() && noexcept { return std::move(*std::get_if<1>(&storage_)); }

 private:
  void check() const {
    if (!has_value()) {
      throw bad_expected_access{};
    }
  }

  std::variant<T, E> storage_;
};

}  // namespace statefun::inline v0
#endif
