#pragma once

/// @file
/// `statefun::task<T>`: a lazily started coroutine producing one `T`, awaited exactly once.

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <statefun/config.hpp>
#include <statefun/detail/frame_allocator.hpp>
#include <statefun/detail/promise_result.hpp>

namespace statefun::inline v0 {

/// What a task may produce: void, an lvalue reference, or a move-constructible object.
template <class T>
concept task_result = std::is_void_v<T> || std::is_lvalue_reference_v<T> ||
    (std::is_object_v<T> && !std::is_array_v<T> && std::move_constructible<T> &&
     std::destructible<T>);

template <task_result T = void>
class task;

namespace detail {

/**
 * What every task promise shares: frame allocation, lazy start and the completion handshake.
 *
 * Why not symmetric transfer (returning the continuation's handle from the final awaiter)?
 * With g++ 12 at -O0..-O1 and under AddressSanitizer the tail call that symmetric transfer relies
 * on is not emitted, so a coroutine awaiting a million synchronously completing tasks in a loop
 * overflows the stack (the same failure libcoro issue #273 reports). We use cppcoro's fallback
 * for compilers without guaranteed tail calls instead: the awaiter resumes the child inline and
 * both sides then race on one flag. Whoever sets it second continues the parent: the awaiter
 * (by not suspending) when the child finished synchronously, which keeps the stack flat, or the
 * child's final awaiter (by resuming the parent) when the child finished later, possibly on
 * another thread.
 */
class task_promise_base {
 public:
  task_promise_base() noexcept = default;
  task_promise_base(const task_promise_base&) = delete;
  task_promise_base& operator=(const task_promise_base&) = delete;

  /// Coroutine frames come from the recycling frame allocator.
  [[nodiscard]] static void* operator new(std::size_t size) {
    return frame_allocator::allocate(size);
  }

  /// Returns a frame to the frame allocator.
  static void operator delete(void* frame, std::size_t size) noexcept {
    frame_allocator::deallocate(frame, size);
  }

  /// Tasks are lazy: the body runs only once the task is awaited.
  std::suspend_always initial_suspend() const noexcept { return {}; }

  /// Resumes the awaiting coroutine if it already suspended (see the class comment).
  struct final_awaiter {
    bool await_ready() const noexcept { return false; }

    template <std::derived_from<task_promise_base> Promise>
    void await_suspend(std::coroutine_handle<Promise> self) noexcept {
      task_promise_base& promise = self.promise();
      if (promise.completed_.exchange(true, std::memory_order_acq_rel)) {
        // The awaiter suspended first. Resuming it may destroy this frame, so touch nothing
        // after this call.
        promise.continuation_.resume();
      }
    }

    void await_resume() const noexcept {}
  };

  final_awaiter final_suspend() const noexcept { return {}; }

  /**
   * Starts the coroutine `self` on behalf of `awaiting`.
   * @param self     Handle to the coroutine owning this promise.
   * @param awaiting The coroutine awaiting it.
   * @return True if `awaiting` must suspend (the body is still running elsewhere).
   */
  bool start(std::coroutine_handle<> self, std::coroutine_handle<> awaiting) noexcept {
    continuation_ = awaiting;
    self.resume();
    // Finished synchronously: the final awaiter already set the flag, and nobody else will
    // touch it again, so a plain load decides (no locked instruction on the common path).
    if (completed_.load(std::memory_order_acquire)) {
      return false;
    }
    return !completed_.exchange(true, std::memory_order_acq_rel);
  }

  /**
   * `start`, calling `on_suspend()` if the body did not finish inline, before the flag that
   * lets the body resume `awaiting`: whatever `on_suspend` does happens before `awaiting` runs
   * again (the handler counts suspended invocations up there, and down once resumed).
   */
  template <class OnSuspend>
  bool start(std::coroutine_handle<> self, std::coroutine_handle<> awaiting, OnSuspend& on_suspend) noexcept {
    continuation_ = awaiting;
    self.resume();
    if (completed_.load(std::memory_order_acquire)) {
      return false;
    }
    on_suspend();
    return !completed_.exchange(true, std::memory_order_acq_rel);
  }

 private:
  std::coroutine_handle<> continuation_;
  std::atomic<bool> completed_{false};
};

/// The promise of `task<T>`.
template <task_result T>
class task_promise final : public task_promise_base, public promise_result<T> {
 public:
  task<T> get_return_object() noexcept;
};

/// What `co_await std::move(task)` uses.
template <task_result T>
class task_awaiter {
 public:
  explicit task_awaiter(std::coroutine_handle<task_promise<T>> coro) noexcept : coro_(coro) {}

  /// A task with no coroutine or a finished one needs no suspension.
  bool await_ready() const noexcept { return !coro_ || coro_.done(); }

  /// Runs the task inline; suspends only if it did not finish synchronously.
  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    return coro_.promise().start(coro_, awaiting);
  }

  /// As above, calling `on_suspend()` (noexcept) first if the task did not finish inline.
  template <class OnSuspend>
  bool await_suspend(std::coroutine_handle<> awaiting, OnSuspend& on_suspend) noexcept {
    return coro_.promise().start(coro_, awaiting, on_suspend);
  }

  /**
   * Hands over the task's result.
   * @return The value (moved out), the reference, or nothing for `task<void>`.
   * @throws The task's exception, or broken_promise for a task without a coroutine.
   */
  T await_resume() {
    if (!coro_) {
      throw broken_promise{};
    }
    return std::move(coro_.promise()).result();
  }

 private:
  std::coroutine_handle<task_promise<T>> coro_;
};

}  // namespace detail

/**
 * A lazily started coroutine that produces a `T` (or throws) and is awaited exactly once.
 *
 * The body does not run until the task is awaited with `co_await std::move(t)` (or handed to
 * sync_wait() / when_all()). The task owns its coroutine frame: destroying the task destroys
 * the frame together with its arguments and locals, whether or not it ever ran. Only rvalues
 * can be awaited, which makes "this task is consumed here" visible at the call site.
 *
 * @tparam T void, an lvalue reference, or a move-constructible object type.
 */
template <task_result T>
class [[nodiscard]] task {
 public:
  /// The coroutine promise (used by the compiler).
  using promise_type = detail::task_promise<T>;
  /// What `co_await` on the task gives.
  using value_type = T;

  /// An empty task; awaiting it throws broken_promise.
  task() noexcept = default;

  /// Takes over `other`'s coroutine; `other` becomes empty.
  task(task&& other) noexcept : coro_(std::exchange(other.coro_, {})) {}

  /// Destroys this task's coroutine (if any) and takes over `other`'s; `other` becomes empty.
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      coro_ = std::exchange(other.coro_, {});
    }
    return *this;
  }

  task(const task&) = delete;
  task& operator=(const task&) = delete;

  ~task() { destroy(); }

  /// True if the body has finished, or there is no coroutine.
  [[nodiscard]] bool is_ready() const noexcept { return !coro_ || coro_.done(); }

  /// Runs the task and yields its result: `T` by value, `T&`, or nothing for `task<void>`.
  detail::task_awaiter<T> operator co_await() && noexcept { return detail::task_awaiter<T>{coro_}; }

  /// Awaiting an lvalue is rejected: write `co_await std::move(t)`.
  void operator co_await() & = delete;  // a task is awaited once, as an rvalue: co_await std::move(t)

 private:
  friend promise_type;

  explicit task(std::coroutine_handle<promise_type> coro) noexcept : coro_(coro) {}

  void destroy() noexcept {
    if (coro_) {
      coro_.destroy();
    }
  }

  std::coroutine_handle<promise_type> coro_;
};

template <task_result T>
task<T> detail::task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}

}  // namespace statefun::inline v0
