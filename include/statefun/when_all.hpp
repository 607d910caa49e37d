#pragma once

/// @file
/// `statefun::when_all`: await several tasks at once and collect all their results.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <statefun/config.hpp>
#include <statefun/detail/frame_allocator.hpp>
#include <statefun/detail/promise_result.hpp>
#include <statefun/task.hpp>

namespace statefun::inline v0 {

/// The tuple element when_all produces for a `task<T>`: `T`, with void as `std::monostate`.
template <task_result T>
using when_all_tuple_element_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

/// The vector element when_all produces for a `task<T>`: `T`, with `U&` as
/// `std::reference_wrapper<U>`.
template <task_result T>
using when_all_vector_element_t =
    std::conditional_t<std::is_lvalue_reference_v<T>,
                       std::reference_wrapper<std::remove_reference_t<T>>, T>;

namespace detail {

template <task_result T>
struct when_all_vector_result {
  using type = std::vector<when_all_vector_element_t<T>>;
};

template <>
struct when_all_vector_result<void> {
  using type = void;
};

}  // namespace detail

/// What when_all produces for a `std::vector<task<T>>`: a vector of results, or void.
template <task_result T>
using when_all_vector_result_t = typename detail::when_all_vector_result<T>::type;

namespace detail {

/**
 * Joins n children with one atomic count of n + 1 (cppcoro's scheme). Each child decrements it
 * when it finishes; the awaiting coroutine decrements it once after starting them all. Whoever
 * brings it to zero continues the awaiting coroutine: the awaiter itself (by not suspending)
 * when every child finished synchronously, or the last child (by resuming it) otherwise.
 */
class when_all_counter {
 public:
  explicit when_all_counter(std::size_t children) noexcept : count_(children + 1) {}

  /// Called by the awaiting coroutine once every child has started; true if it must suspend.
  bool try_suspend(std::coroutine_handle<> awaiting) noexcept {
    awaiting_ = awaiting;
    return count_.fetch_sub(1, std::memory_order_acq_rel) > 1;
  }

  /// Called by each child as it finishes.
  void notify_child_done() noexcept {
    if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Resuming may destroy the child's frame, which our caller runs in: touch nothing after.
      awaiting_.resume();
    }
  }

 private:
  std::atomic<std::size_t> count_;
  std::coroutine_handle<> awaiting_;
};

template <task_result T>
class when_all_child;

/// The promise of the coroutine that awaits one task on behalf of when_all.
template <task_result T>
class when_all_child_promise final : public promise_result<T> {
 public:
  when_all_child_promise() noexcept = default;
  when_all_child_promise(const when_all_child_promise&) = delete;
  when_all_child_promise& operator=(const when_all_child_promise&) = delete;

  [[nodiscard]] static void* operator new(std::size_t size) {
    return frame_allocator::allocate(size);
  }

  static void operator delete(void* frame, std::size_t size) noexcept {
    frame_allocator::deallocate(frame, size);
  }

  when_all_child<T> get_return_object() noexcept;

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }

    void await_suspend(std::coroutine_handle<when_all_child_promise> self) noexcept {
      self.promise().counter_->notify_child_done();
    }

    void await_resume() const noexcept {}
  };

  final_awaiter final_suspend() const noexcept { return {}; }

  /// Runs the child until it finishes or first suspends.
  void start(std::coroutine_handle<> self, when_all_counter& counter) noexcept {
    counter_ = &counter;
    self.resume();
  }

 private:
  when_all_counter* counter_ = nullptr;
};

/// Owns one child coroutine of when_all and hands over its outcome.
template <task_result T>
class when_all_child {
 public:
  using promise_type = when_all_child_promise<T>;

  explicit when_all_child(std::coroutine_handle<promise_type> coro) noexcept : coro_(coro) {}
  when_all_child(when_all_child&& other) noexcept : coro_(std::exchange(other.coro_, {})) {}
  when_all_child(const when_all_child&) = delete;
  when_all_child& operator=(const when_all_child&) = delete;
  when_all_child& operator=(when_all_child&&) = delete;

  ~when_all_child() {
    if (coro_) {
      coro_.destroy();
    }
  }

  void start(when_all_counter& counter) noexcept { coro_.promise().start(coro_, counter); }

  void rethrow_if_exception() const { coro_.promise().rethrow_if_exception(); }

  /// The task's result as when_all stores it (void as std::monostate).
  when_all_tuple_element_t<T> result() && {
    if constexpr (std::is_void_v<T>) {
      std::move(coro_.promise()).result();
      return {};
    } else {
      return std::move(coro_.promise()).result();
    }
  }

 private:
  std::coroutine_handle<promise_type> coro_;
};

template <task_result T>
when_all_child<T> when_all_child_promise<T>::get_return_object() noexcept {
  return when_all_child<T>{std::coroutine_handle<when_all_child_promise>::from_promise(*this)};
}

template <task_result T>
when_all_child<T> make_when_all_child(task<T> work) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(work);
  } else {
    co_return co_await std::move(work);
  }
}

template <task_result... Ts>
void start_children(std::tuple<when_all_child<Ts>...>& children,
                    when_all_counter& counter) noexcept {
  std::apply([&counter](auto&... child) { (child.start(counter), ...); }, children);
}

template <task_result T>
void start_children(std::vector<when_all_child<T>>& children, when_all_counter& counter) noexcept {
  for (when_all_child<T>& child : children) {
    child.start(counter);
  }
}

/// Starts every child in order and suspends until the last one has finished.
template <class Children>
class when_all_awaiter {
 public:
  when_all_awaiter(Children& children, std::size_t count) noexcept
      : children_(children), counter_(count) {}

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    start_children(children_, counter_);
    return counter_.try_suspend(awaiting);
  }

  void await_resume() const noexcept {}

 private:
  Children& children_;
  when_all_counter counter_;
};

}  // namespace detail

/**
 * Runs several tasks concurrently and collects their results in argument order.
 *
 * Nothing starts until the returned task is awaited; the tasks are then started one after the
 * other on the awaiting thread, each running until it finishes or first suspends.
 *
 * @param tasks The tasks to run; when_all takes ownership.
 * @return A task producing a tuple of each task's result, `std::monostate` for `task<void>`
 *         and `U&` for `task<U&>`.
 * @throws If any task throws, the exception of the first such task in argument order, rethrown
 *         once every task has finished.
 */
template <task_result... Ts>
task<std::tuple<when_all_tuple_element_t<Ts>...>> when_all(task<Ts>... tasks) {
  std::tuple<detail::when_all_child<Ts>...> children{
      detail::make_when_all_child(std::move(tasks))...};
  co_await detail::when_all_awaiter<std::tuple<detail::when_all_child<Ts>...>>{children,
                                                                               sizeof...(Ts)};
  std::apply([](auto&... child) { (child.rethrow_if_exception(), ...); }, children);
  co_return std::apply(
      [](auto&... child) {
        return std::tuple<when_all_tuple_element_t<Ts>...>(std::move(child).result()...);
      },
      children);
}

/**
 * Runs a dynamic number of tasks concurrently and collects their results in order.
 *
 * @param tasks The tasks to run; when_all takes ownership.
 * @return A task producing one result per task, in order (`U&` as `std::reference_wrapper<U>`);
 *         for `task<void>` elements, a `task<void>` that completes once every task has finished.
 * @throws If any task throws, the exception of the first such task by index, rethrown once
 *         every task has finished.
 */
template <task_result T>
task<when_all_vector_result_t<T>> when_all(std::vector<task<T>> tasks) {
  std::vector<detail::when_all_child<T>> children;
  children.reserve(tasks.size());
  for (task<T>& work : tasks) {
    children.push_back(detail::make_when_all_child(std::move(work)));
  }
  co_await detail::when_all_awaiter<std::vector<detail::when_all_child<T>>>{children,
                                                                            children.size()};
  for (const detail::when_all_child<T>& child : children) {
    child.rethrow_if_exception();
  }
  if constexpr (std::is_void_v<T>) {
    co_return;
  } else {
    std::vector<when_all_vector_element_t<T>> results;
    results.reserve(children.size());
    for (detail::when_all_child<T>& child : children) {
      results.push_back(std::move(child).result());
    }
    co_return results;
  }
}

}  // namespace statefun::inline v0
