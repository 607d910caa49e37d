#pragma once

/// @file
/// `statefun::sync_wait`: drive an awaitable to completion from ordinary (non-coroutine) code.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <semaphore>
#include <type_traits>
#include <utility>

#include <statefun/config.hpp>
#include <statefun/detail/awaitable_traits.hpp>
#include <statefun/detail/frame_allocator.hpp>
#include <statefun/detail/promise_result.hpp>

namespace statefun::inline v0 {

namespace detail {

/// What sync_wait returns for an awaitable: lvalue references as is, everything else by value.
template <class R>
using sync_wait_value_t =
    std::conditional_t<std::is_lvalue_reference_v<R>, R, std::remove_cvref_t<R>>;

template <class R>
class sync_wait_driver;

/**
 * The promise of the coroutine sync_wait uses to await on the caller's behalf.
 *
 * The caller resumes the coroutine itself; if the coroutine then suspends on something that
 * completes elsewhere, the caller blocks on a semaphore until the coroutine reaches its final
 * suspend point. As with task, both sides race on one flag, so a synchronous completion costs
 * no semaphore operation at all.
 */
template <class R>
class sync_wait_promise final : public promise_result<R> {
 public:
  sync_wait_promise() noexcept = default;
  sync_wait_promise(const sync_wait_promise&) = delete;
  sync_wait_promise& operator=(const sync_wait_promise&) = delete;

  [[nodiscard]] static void* operator new(std::size_t size) {
    return frame_allocator::allocate(size);
  }

  static void operator delete(void* frame, std::size_t size) noexcept {
    frame_allocator::deallocate(frame, size);
  }

  sync_wait_driver<R> get_return_object() noexcept;

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }

    void await_suspend(std::coroutine_handle<sync_wait_promise> self) noexcept {
      sync_wait_promise& promise = self.promise();
      if (promise.completed_.exchange(true, std::memory_order_acq_rel)) {
        // The caller is (about to be) blocked. It may return and destroy this frame as soon as
        // the count is released, so nothing here may be touched afterwards.
        promise.caller_wakeup_->release();
      }
    }

    void await_resume() const noexcept {}
  };

  final_awaiter final_suspend() const noexcept { return {}; }

  /**
   * Runs the coroutine `self` and returns once it has finished.
   * @param self   Handle to the coroutine owning this promise.
   * @param wakeup Semaphore, owned by the caller, released if the coroutine finishes elsewhere.
   */
  void run(std::coroutine_handle<> self, std::binary_semaphore& wakeup) noexcept {
    caller_wakeup_ = &wakeup;
    self.resume();
    if (!completed_.exchange(true, std::memory_order_acq_rel)) {
      wakeup.acquire();
    }
  }

 private:
  std::binary_semaphore* caller_wakeup_ = nullptr;
  std::atomic<bool> completed_{false};
};

/// Owns the coroutine that awaits on sync_wait's behalf.
template <class R>
class sync_wait_driver {
 public:
  using promise_type = sync_wait_promise<R>;

  explicit sync_wait_driver(std::coroutine_handle<promise_type> coro) noexcept : coro_(coro) {}
  sync_wait_driver(sync_wait_driver&& other) noexcept : coro_(std::exchange(other.coro_, {})) {}
  sync_wait_driver(const sync_wait_driver&) = delete;
  sync_wait_driver& operator=(const sync_wait_driver&) = delete;
  sync_wait_driver& operator=(sync_wait_driver&&) = delete;

  ~sync_wait_driver() {
    if (coro_) {
      coro_.destroy();
    }
  }

  /// Runs to completion, blocking the calling thread if the work completes elsewhere.
  void run() noexcept {
    // On the caller's stack, not in the frame: see the note in final_awaiter.
    std::binary_semaphore wakeup{0};
    coro_.promise().run(coro_, wakeup);
  }

  /// The awaited result; rethrows the awaited exception.
  R result() && { return std::move(coro_.promise()).result(); }

 private:
  std::coroutine_handle<promise_type> coro_;
};

template <class R>
sync_wait_driver<R> sync_wait_promise<R>::get_return_object() noexcept {
  return sync_wait_driver<R>{std::coroutine_handle<sync_wait_promise>::from_promise(*this)};
}

template <awaitable A>
sync_wait_driver<sync_wait_value_t<await_result_t<A>>> make_sync_wait_driver(A&& awaitable) {
  if constexpr (std::is_void_v<await_result_t<A>>) {
    co_await std::forward<A>(awaitable);
  } else {
    co_return co_await std::forward<A>(awaitable);
  }
}

}  // namespace detail

/**
 * Awaits `awaitable` from ordinary code: runs it on the calling thread and, if it suspends on
 * something that completes on another thread, blocks (without spinning) until it finishes.
 *
 * @param awaitable What to await, e.g. `std::move(some_task)`; it must outlive the call.
 * @return The result of `co_await awaitable`: lvalue references as is, anything else by value.
 * @throws Whatever awaiting `awaitable` throws.
 */
template <detail::awaitable A>
auto sync_wait(A&& awaitable) -> detail::sync_wait_value_t<detail::await_result_t<A>> {
  auto driver = detail::make_sync_wait_driver(std::forward<A>(awaitable));
  driver.run();
  return std::move(driver).result();
}

}  // namespace statefun::inline v0
