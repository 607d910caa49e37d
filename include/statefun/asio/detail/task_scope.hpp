#pragma once

/// @file
/// `task_scope`: where the Asio operations awaited by a task complete, and what cancels them.

#include <asio/any_io_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_type.hpp>

#include <statefun/asio/detail/intrusive_list.hpp>
#include <statefun/config.hpp>

#include <utility>

namespace statefun::inline v0::asio::detail {

class scope_clock;

/**
 * The context a tree of tasks runs in: the executor their Asio operations complete on, and the
 * operations that are pending right now, so that one call cancels all of them.
 *
 * A coroutine cannot ask its caller where it runs, so the scope is ambient: `current()` is a
 * thread-local pointer. Whoever runs tasks in a scope sets it (`entered`), and every `use_task`
 * completion sets it back to its operation's scope while it resumes the awaiting coroutine, so
 * the scope follows a task across suspensions, and tasks started meanwhile (`when_all`)
 * inherit it. A coroutine may suspend with its scope still current, so whoever starts or resumes
 * one restores the current scope afterwards (an `entered` around the call). Single-threaded: a
 * scope and its operations belong to one executor.
 */
class task_scope {
 public:
  /// One operation awaited in a scope: what `cancel` emits on.
  class operation : public intrusive_list_hook {
   public:
    operation() = default;

    ::asio::cancellation_slot slot() noexcept { return signal_.slot(); }

   private:
    friend task_scope;
    ::asio::cancellation_signal signal_;
  };

  /// Makes the current scope `scope` for a lifetime, then restores the one before.
  class entered {
   public:
    explicit entered(task_scope* scope) noexcept : previous_(std::exchange(current_ref(), scope)) {}
    ~entered() { current_ref() = previous_; }
    entered(const entered&) = delete;
    entered& operator=(const entered&) = delete;

   private:
    task_scope* previous_;
  };

  explicit task_scope(::asio::any_io_executor executor) noexcept : executor_(std::move(executor)) {}
  task_scope(const task_scope&) = delete;
  task_scope& operator=(const task_scope&) = delete;

  /// The scope of the task running on this thread, or null outside any scope.
  static task_scope* current() noexcept { return current_ref(); }

  const ::asio::any_io_executor& executor() const noexcept { return executor_; }

  /// True once `cancel` was called: operations awaited from now on fail at once.
  bool cancelled() const noexcept { return cancelled_; }

  /// Cancels every pending operation (each completes with `operation_aborted`) and all later ones.
  void cancel(::asio::cancellation_type type = ::asio::cancellation_type::terminal) {
    cancelled_ = true;
    pending_.for_each([type](operation& op) { op.signal_.emit(type); });
  }

  /// The clock the scope's timed waits (`sleep_for`, the HTTP client's backoff) use instead of
  /// real time, or null (real time): a unit test's clock (see statefun::testing).
  scope_clock* clock() const noexcept { return clock_; }
  /// Makes the scope's timed waits use `clock` (which must outlive them); null: real time.
  void use_clock(scope_clock* clock) noexcept { clock_ = clock; }

  /// Re-arms a cancelled scope for the next tree of tasks (no operation may be pending).
  void reset() noexcept { cancelled_ = false; }

  void attach(operation& op) noexcept { pending_.push_front(op); }
  void detach(operation& op) noexcept { pending_.erase(op); }

 private:
  static task_scope*& current_ref() noexcept {
    static thread_local task_scope* current = nullptr;
    return current;
  }

  ::asio::any_io_executor executor_;
  intrusive_list<operation> pending_;
  bool cancelled_ = false;
  scope_clock* clock_ = nullptr;
};

}  // namespace statefun::inline v0::asio::detail
