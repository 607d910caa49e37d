#pragma once

/// @file
/// `scope_clock`: a clock that stands in for real time in the timed waits of a `task_scope`.

#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/config.hpp>
#include <statefun/task.hpp>

#include <chrono>

namespace statefun::inline v0::asio::detail {

/**
 * Where the timed waits of a scope happen when not on real time: a unit test's clock, which
 * the test moves (statefun::testing::clock). `sleep_for` and the HTTP client's backoff ask the
 * current scope for one: a null check, and real timers when there is none.
 */
class scope_clock {
 public:
  virtual ~scope_clock() = default;

  /// Completes once this clock has moved `duration` past its time now, in the awaiting
  /// task's scope; fails with `operation_aborted` if that scope was cancelled.
  virtual task<> wait(std::chrono::steady_clock::duration duration) = 0;
};

}  // namespace statefun::inline v0::asio::detail
