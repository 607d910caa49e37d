#pragma once

/// @file
/// `statefun::asio::async_run`: runs a `statefun::task` on an Asio executor, as an Asio
/// asynchronous operation.

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>

#include <statefun/asio/detail/detached.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/config.hpp>
#include <statefun/task.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace statefun::inline v0::asio {
namespace detail {

/// The completion signature of running a `task<T>`: the exception, then the value if any.
template <class T>
struct run_signature {
  using type = void(std::exception_ptr, T);
};

template <>
struct run_signature<void> {
  using type = void(std::exception_ptr);
};

/// Runs `work` in a scope of its own on `executor`, then calls `handler` on its executor.
template <class T, class Handler>
detached run_detached(::asio::any_io_executor executor, task<T> work, Handler handler) {
  task_scope scope(executor);
  auto slot = ::asio::get_associated_cancellation_slot(handler);
  if (slot.is_connected()) {
    slot.assign([&scope](::asio::cancellation_type type) { scope.cancel(type); });
  }
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  {
    const task_scope::entered entered(&scope);
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(work);
        value.emplace(true);
      } else {
        value.emplace(co_await std::move(work));
      }
    } catch (...) {
      error = std::current_exception();
    }
  }
  if (slot.is_connected()) {
    slot.clear();
  }
  auto handler_executor = ::asio::get_associated_executor(handler, executor);
  ::asio::dispatch(handler_executor, [handler = std::move(handler), error,
                                      value = std::move(value)]() mutable {
    if constexpr (std::is_void_v<T>) {
      std::move(handler)(error);
    } else if (value) {
      std::move(handler)(error, std::move(*value));
    } else {
      std::move(handler)(error, T{});
    }
  });
}

}  // namespace detail

/**
 * Runs `work` on `executor` and completes with `(std::exception_ptr, T)` (or
 * `(std::exception_ptr)` for `task<void>`), like `asio::co_spawn` does for `asio::awaitable`.
 *
 * The task starts on `executor` (inline when called from it) in a scope of its own: the
 * `use_task` operations it awaits complete on `executor`, and cancelling the operation (a
 * cancellation slot bound to `token`) cancels whichever of them are pending. For a task that
 * returns a value on the exception path, `T` must be default-constructible.
 *
 * @code
 * asio::io_context io;
 * statefun::asio::async_run(io.get_executor(), fetch(), [](std::exception_ptr e, int n) { ... });
 * io.run();
 * @endcode
 */
template <task_result T, class CompletionToken>
auto async_run(::asio::any_io_executor executor, task<T> work, CompletionToken&& token) {
  return ::asio::async_initiate<CompletionToken, typename detail::run_signature<T>::type>(
      [](auto handler, ::asio::any_io_executor executor, task<T> work) {
        ::asio::dispatch(executor, [executor, work = std::move(work),
                                    handler = std::move(handler)]() mutable {
          // The task sets its scope as current and may suspend with it set: put back ours.
          const detail::task_scope::entered restore(detail::task_scope::current());
          detail::run_detached(executor, std::move(work), std::move(handler));
        });
      },
      token, std::move(executor), std::move(work));
}

}  // namespace statefun::inline v0::asio
