#pragma once

/// @file
/// Storage for what a coroutine produced, plus the promise hooks that fill it.

#include <concepts>
#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include <statefun/config.hpp>

namespace statefun::inline v0 {

/// Thrown when a result is requested from a task that has no coroutine (default-constructed or
/// moved-from) or whose coroutine never produced one.
class broken_promise : public std::logic_error {
 public:
  broken_promise() : std::logic_error("statefun: task has no result (no coroutine or not run)") {}
};

}  // namespace statefun::inline v0

namespace statefun::inline v0::detail {

/**
 * Base for promise types producing a `T`: provides `return_value`, `unhandled_exception` and
 * access to the outcome. Specialised for references (stored as a pointer) and void.
 */
template <class T>
class promise_result {
 public:
  /// Stores the operand of `co_return` (copy-initialisation, like `return`).
  template <class U = T>
  requires std::convertible_to<U&&, T>
  void return_value(U&& value) { result_.template emplace<value_index>(std::forward<U>(value)); }

  /// Stores the exception escaping the coroutine body.
  void unhandled_exception() noexcept {
    result_.template emplace<exception_index>(std::current_exception());
  }

  /// True if the coroutine ended with an exception.
  [[nodiscard]] bool has_exception() const noexcept { return result_.index() == exception_index; }

  /// Rethrows the stored exception, if any.
  void rethrow_if_exception() const {
    if (has_exception()) {
      std::rethrow_exception(std::get<exception_index>(result_));
    }
  }

  /**
   * Moves the value out.
   * @return The value passed to `co_return`.
   * @throws The stored exception, or broken_promise if the coroutine has not finished.
   */
  T result() && {
    rethrow_if_exception();
    if (result_.index() != value_index) {
      throw broken_promise{};
    }
    return std::move(std::get<value_index>(result_));
  }

 private:
  // Indices rather than types: T may itself be std::exception_ptr or std::monostate.
  static constexpr std::size_t value_index = 1;
  static constexpr std::size_t exception_index = 2;
  std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <class T>
class promise_result<T&> {
 public:
  /// Stores the address of the operand of `co_return`.
  void return_value(T& value) noexcept {
    result_.template emplace<value_index>(std::addressof(value));
  }

  /// Stores the exception escaping the coroutine body.
  void unhandled_exception() noexcept {
    result_.template emplace<exception_index>(std::current_exception());
  }

  /// True if the coroutine ended with an exception.
  [[nodiscard]] bool has_exception() const noexcept { return result_.index() == exception_index; }

  /// Rethrows the stored exception, if any.
  void rethrow_if_exception() const {
    if (has_exception()) {
      std::rethrow_exception(std::get<exception_index>(result_));
    }
  }

  /**
   * Returns the reference.
   * @return The reference passed to `co_return`.
   * @throws The stored exception, or broken_promise if the coroutine has not finished.
   */
  T& result() && {
    rethrow_if_exception();
    if (result_.index() != value_index) {
      throw broken_promise{};
    }
    return *std::get<value_index>(result_);
  }

 private:
  static constexpr std::size_t value_index = 1;
  static constexpr std::size_t exception_index = 2;
  std::variant<std::monostate, T*, std::exception_ptr> result_;
};

template <>
class promise_result<void> {
 public:
  /// Nothing to store for `co_return;`.
  void return_void() noexcept {}

  /// Stores the exception escaping the coroutine body.
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  /// True if the coroutine ended with an exception.
  [[nodiscard]] bool has_exception() const noexcept { return exception_ != nullptr; }

  /// Rethrows the stored exception, if any.
  void rethrow_if_exception() const {
    if (exception_) {
      std::rethrow_exception(exception_);
    }
  }

  /**
   * Completes the hand-over of a void result.
   * @throws The stored exception, if any.
   */
  void result() && { rethrow_if_exception(); }

 private:
  std::exception_ptr exception_;
};

}  // namespace statefun::inline v0::detail
