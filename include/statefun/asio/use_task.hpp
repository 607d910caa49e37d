#pragma once

/// @file
/// `statefun::asio::use_task`: the completion token that makes any Asio asynchronous operation
/// awaitable in a `statefun::task`.

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/error.hpp>

#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/config.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

namespace statefun::inline v0::asio {

/**
 * Completion token for awaiting an Asio operation inside a `statefun::task`:
 *
 * @code
 * statefun::task<std::size_t> read_some(asio::ip::tcp::socket& socket, std::span<char> into) {
 *   co_return co_await socket.async_read_some(asio::buffer(into), statefun::asio::use_task);
 * }
 * @endcode
 *
 * The operation is lazy: nothing starts until the result is awaited. `co_await` then yields the
 * operation's results with the error taken out: a leading `error_code` that is set is thrown as
 * `std::system_error` (a leading `exception_ptr` is rethrown), and what remains is returned as
 * nothing, one value, or a `std::tuple`. Wrap the token in `asio::experimental::as_tuple` to get
 * the error code as a value instead.
 *
 * Inside a function served by `statefun::asio::http_server` (or a task started by `async_run`),
 * the operation completes on the request's executor, and it is cancelled (completing with
 * `asio::error::operation_aborted`) when the request is: the runtime's connection went away, or
 * the server is shutting down past its deadline. Elsewhere it completes on the I/O object's
 * executor.
 */
struct use_task_t {
  constexpr use_task_t() noexcept = default;
};

/// The completion token value: `co_await timer.async_wait(statefun::asio::use_task)`.
inline constexpr use_task_t use_task{};

/**
 * The executor of the task running on this thread: where a function served by
 * `statefun::asio::http_server` should create its timers and sockets.
 * @throws std::logic_error Outside a task started by this library's server or `async_run`.
 */
inline const ::asio::any_io_executor& current_executor() {
  const detail::task_scope* scope = detail::task_scope::current();
  if (scope == nullptr) {
    throw std::logic_error(
        "statefun::asio::current_executor() called outside a task run by statefun::asio "
        "(http_server or async_run)");
  }
  return scope->executor();
}

namespace detail {

/// What `co_await` on an operation yields: `Results` without a leading error, then unwrapped.
template <class... Results>
struct awaited_value {
  using type = std::tuple<Results...>;

  static type unpack(std::tuple<Results...>&& results) { return std::move(results); }
};

template <>
struct awaited_value<> {
  using type = void;

  static void unpack(std::tuple<>&&) noexcept {}
};

template <class Result>
struct awaited_value<Result> {
  using type = Result;

  static Result unpack(std::tuple<Result>&& results) { return std::get<0>(std::move(results)); }
};

/// True when an operation's results start with an error to throw rather than return.
template <class... Results>
inline constexpr bool leading_error = false;

template <class First, class... Rest>
inline constexpr bool leading_error<First, Rest...> =
    std::is_same_v<First, std::error_code> || std::is_same_v<First, std::exception_ptr>;

/// The completion handler `use_task` gives an initiation: only a pointer back to the awaiter.
template <class Operation>
class operation_handler {
 public:
  using cancellation_slot_type = ::asio::cancellation_slot;

  explicit operation_handler(Operation* op) noexcept : op_(op) {}

  cancellation_slot_type get_cancellation_slot() const noexcept {
    return op_->scope() != nullptr ? op_->slot() : cancellation_slot_type{};
  }

  task_scope* scope() const noexcept { return op_->scope(); }

  template <class... Values>
  void operator()(Values&&... values) {
    op_->complete(std::forward<Values>(values)...);
  }

 private:
  Operation* op_;
};

/**
 * The awaiter `use_task` turns an operation into: it holds the initiation and its arguments
 * until `co_await` (lazy), starts the operation from `await_suspend`, and is the operation's
 * cancellation target in the current scope while it is pending.
 */
template <class Initiation, class InitArgs, class... Results>
class awaitable_operation : public task_scope::operation {
 public:
  awaitable_operation(Initiation initiation, InitArgs args)
      : initiation_(std::move(initiation)), args_(std::move(args)) {}

  awaitable_operation(awaitable_operation&&) = default;

  /// An operation awaited in a cancelled scope fails without starting.
  bool await_ready() noexcept {
    scope_ = task_scope::current();
    return scope_ != nullptr && scope_->cancelled();
  }

  task_scope* scope() const noexcept { return scope_; }

  /// Stores the results and resumes the awaiting coroutine in the operation's scope.
  template <class... Values>
  void complete(Values&&... values) {
    results_.emplace(std::forward<Values>(values)...);
    if (scope_ != nullptr) {
      scope_->detach(*this);
    }
    // The awaiting coroutine may destroy this (its frame): touch nothing of it afterwards.
    const task_scope::entered entered(scope_);
    awaiting_.resume();
  }

  void await_suspend(std::coroutine_handle<> awaiting) {
    awaiting_ = awaiting;
    if (scope_ != nullptr) {
      scope_->attach(*this);
    }
    try {
      // Asio never completes an operation inside its initiation, but another thread may
      // complete (and resume the awaiter) before this returns: nothing may follow this call.
      std::apply(
          [this](auto&&... args) {
            std::move(initiation_)(operation_handler<awaitable_operation>(this),
                                   std::forward<decltype(args)>(args)...);
          },
          std::move(args_));
    } catch (...) {
      if (scope_ != nullptr) {
        scope_->detach(*this);
      }
      throw;
    }
  }

  auto await_resume() {
    if (!results_) {
      throw std::system_error(::asio::error::operation_aborted);
    }
    return unpack(std::move(*results_));
  }

 private:
  template <class... Values>
  static auto unpack(std::tuple<Values...>&& results) {
    if constexpr (leading_error<Values...>) {
      return unpack_after_error(std::move(results), std::index_sequence_for<Values...>{});
    } else {
      return awaited_value<Values...>::unpack(std::move(results));
    }
  }

  template <class First, class... Rest, std::size_t Zero, std::size_t... Indices>
  static auto unpack_after_error(std::tuple<First, Rest...>&& results,
                                 std::index_sequence<Zero, Indices...>) {
    First& error = std::get<0>(results);
    if constexpr (std::is_same_v<First, std::error_code>) {
      if (error) {
        throw std::system_error(error);
      }
    } else if (error) {
      std::rethrow_exception(error);
    }
    return awaited_value<Rest...>::unpack(std::tuple<Rest...>(std::get<Indices>(std::move(results))...));
  }

  Initiation initiation_;
  InitArgs args_;
  std::optional<std::tuple<Results...>> results_;
  task_scope* scope_ = nullptr;
  std::coroutine_handle<> awaiting_;
};

}  // namespace detail
}  // namespace statefun::inline v0::asio

namespace asio {

/// `use_task` for one completion signature: the initiating function returns the awaiter.
template <class Result, class... Args>
class async_result<statefun::asio::use_task_t, Result(Args...)> {
 public:
  template <class Initiation, class... InitArgs>
  /// Starts nothing yet: returns the awaiter that starts the operation when awaited.
  static auto initiate(Initiation&& initiation, statefun::asio::use_task_t, InitArgs&&... args) {
    using operation = statefun::asio::detail::awaitable_operation<
        std::decay_t<Initiation>, std::tuple<std::decay_t<InitArgs>...>, std::decay_t<Args>...>;
    return operation(std::forward<Initiation>(initiation),
                     std::tuple<std::decay_t<InitArgs>...>(std::forward<InitArgs>(args)...));
  }
};

/// A `use_task` completion runs on the executor of the task's scope, when there is one.
template <class Operation, class DefaultExecutor>
struct associated_executor<statefun::asio::detail::operation_handler<Operation>, DefaultExecutor> {
  using type = any_io_executor;

  static type get(const statefun::asio::detail::operation_handler<Operation>& handler,
                  const DefaultExecutor& fallback = DefaultExecutor()) noexcept {
    if (const statefun::asio::detail::task_scope* scope = handler.scope()) {
      return scope->executor();
    }
    return type(fallback);
  }
};

}  // namespace asio
