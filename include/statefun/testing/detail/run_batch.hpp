#pragma once

/// @file
/// Runs one request through a handler, in a task scope whose timed waits use the test's clock.

#include <statefun/asio/detail/detached.hpp>
#include <statefun/asio/detail/scope_clock.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/config.hpp>
#include <statefun/request_reply_handler.hpp>

#include <asio/any_io_executor.hpp>

#include <exception>
#include <optional>
#include <string_view>

namespace statefun::inline v0::testing::detail {

/**
 * Runs `handler.handle(request)` now, until it first waits, and calls `done(result, error)`
 * when it ends (maybe later, when the clock moves). `request`, `handler` and `done` must
 * outlive it. The caller restores the current scope afterwards.
 */
template <class Done>
asio::detail::detached run_batch(::asio::any_io_executor executor, asio::detail::scope_clock& clock,
                                 request_reply_handler& handler, std::string_view request, Done done) {
  asio::detail::task_scope scope(executor);
  scope.use_clock(&clock);
  std::optional<request_reply_handler::result> result;
  std::exception_ptr error;
  {
    const asio::detail::task_scope::entered entered(&scope);
    try {
      auto work = handler.handle(request);
      result.emplace(co_await std::move(work));
    } catch (...) {
      error = std::current_exception();
    }
  }
  done(result, error);
}

}  // namespace statefun::inline v0::testing::detail
