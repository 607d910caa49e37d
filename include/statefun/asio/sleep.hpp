#pragma once

/// @file
/// `statefun::asio::sleep_for`: a timer wait inside a function served by statefun::asio.

#include <asio/steady_timer.hpp>

#include <statefun/asio/detail/scope_clock.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/config.hpp>
#include <statefun/task.hpp>

#include <chrono>

namespace statefun::inline v0::asio {

/**
 * Resumes after `duration` on the current task's executor, without blocking it (other
 * requests go on meanwhile). Throws `std::system_error` (`operation_aborted`) when the request
 * is cancelled first, and `std::logic_error` outside a task run by statefun::asio.
 *
 * This is a wait inside one invocation; to act later without holding the runtime's request
 * open, send a delayed message instead (`context::send_after`).
 *
 * In a unit test (statefun::testing), the wait is on the test's clock: it ends when the test
 * moves that clock past it, not in real time.
 */
inline task<> sleep_for(std::chrono::steady_clock::duration duration) {
  if (const detail::task_scope* scope = detail::task_scope::current(); scope != nullptr && scope->clock() != nullptr) {
    co_await scope->clock()->wait(duration);
    co_return;
  }
  ::asio::steady_timer timer(current_executor(), duration);
  co_await timer.async_wait(use_task);
}

}  // namespace statefun::inline v0::asio
