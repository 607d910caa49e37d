#pragma once

/// @file
/// `statefun::testing::clock`: an event loop whose time the test moves, for functions that wait.

#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>

#include <statefun/asio/detail/scope_clock.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/config.hpp>
#include <statefun/task.hpp>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>
#include <vector>

namespace statefun::inline v0::testing {

/**
 * The executor a function under test runs on, and its clock, which only the test moves.
 *
 * A function's timed waits, `statefun::asio::sleep_for` and the retries' backoff of an
 * `http_client` among them, wait on this clock: `advance(5s)` ends, in order, every wait due
 * within the next five seconds, at once. Other Asio work posted to `executor()` runs whenever
 * the harness runs ready work (after each invocation and each step of an advance). A plain
 * `asio::steady_timer` still waits in real time: use `sleep_for` in functions you test.
 *
 * **Example**:
 * @code
 * auto out = fn.receive(order{...});  // the function sleeps 5 s: pending
 * fn.advance(std::chrono::seconds(5));
 * CHECK(out.messages().size() == 1);
 * @endcode
 */
class clock final : public asio::detail::scope_clock {
 public:
  /// The clock's time points (they start at the epoch, time_point{}).
  using time_point = std::chrono::steady_clock::time_point;
  /// The clock's durations.
  using duration = std::chrono::steady_clock::duration;

  /// A clock at the epoch, with nothing waiting.
  clock() = default;
  /// Not copyable: waits point into it.
  clock(const clock&) = delete;
  /// Not copyable: waits point into it.
  clock& operator=(const clock&) = delete;
  /// Ends what still waits (see `shutdown`).
  ~clock() override { shutdown(); }

  /// The clock's time now: the epoch plus every advance so far.
  [[nodiscard]] time_point now() const noexcept { return now_; }
  /// How many waits are pending.
  [[nodiscard]] std::size_t waiting() const noexcept { return waiters_.size(); }
  /// When the earliest pending wait is due, if any.
  [[nodiscard]] std::optional<time_point> next_due() const noexcept {
    if (waiters_.empty()) {
      return std::nullopt;
    }
    return (*earliest())->due;
  }

  /// Where the functions run (an `asio::io_context` the harness polls; it never blocks).
  [[nodiscard]] ::asio::any_io_executor executor() noexcept { return io_.get_executor(); }

  /// Moves the clock `by` forward, ending each wait due by then in the order of its time.
  void advance(duration by) { advance_to(now_ + std::max(by, duration::zero())); }

  /// Moves the clock to `until` (not backwards), ending each wait due by then in order.
  void advance_to(time_point until) {
    run_ready();
    while (!waiters_.empty()) {
      const auto next = earliest();
      if ((*next)->due > until) {
        break;
      }
      sleeper* due = *next;
      waiters_.erase(next);
      now_ = std::max(now_, due->due);
      resume(*due);
      run_ready();
    }
    now_ = std::max(now_, until);
  }

  /// Runs the work ready on the executor now (handlers posted, waits due at `now()`).
  void run_ready() {
    for (;;) {
      io_.restart();
      io_.poll();
      const auto next = earliest();
      if (next == waiters_.end() || (*next)->due > now_) {
        return;
      }
      sleeper* due = *next;
      waiters_.erase(next);
      resume(*due);
    }
  }

  /// Ends every pending wait with `operation_aborted` (each function then unwinds as when its
  /// request is cancelled) and runs what is ready.
  void shutdown() {
    while (!waiters_.empty()) {
      sleeper* w = waiters_.front();
      waiters_.erase(waiters_.begin());
      w->aborted = true;
      resume(*w);
    }
    io_.restart();
    io_.poll();
  }

  /// (The seam of `sleep_for` and `http_client`.) Completes once the test moved the clock
  /// `duration` past now.
  task<> wait(duration d) override {
    sleeper w{this, now_ + std::max(d, duration::zero())};
    co_await w;
  }

 private:
  /// One pending wait, in the frame of the coroutine that waits.
  struct sleeper {
    clock* owner;
    time_point due;
    std::uint64_t order = 0;
    std::coroutine_handle<> waiting{};
    asio::detail::task_scope* scope = nullptr;
    bool aborted = false;

    bool await_ready() noexcept {
      const asio::detail::task_scope* current = asio::detail::task_scope::current();
      aborted = current != nullptr && current->cancelled();
      return aborted;
    }
    void await_suspend(std::coroutine_handle<> h) {
      waiting = h;
      scope = asio::detail::task_scope::current();
      order = owner->next_order_++;
      owner->waiters_.push_back(this);
    }
    void await_resume() const {
      if (aborted) {
        throw std::system_error(::asio::error::operation_aborted, "statefun::testing::clock: the wait was ended");
      }
    }
  };

  [[nodiscard]] std::vector<sleeper*>::const_iterator earliest() const noexcept {
    return std::min_element(waiters_.begin(), waiters_.end(), [](const sleeper* a, const sleeper* b) {
      return a->due != b->due ? a->due < b->due : a->order < b->order;
    });
  }

  /// Resumes a wait in its task's scope, as a `use_task` completion would.
  static void resume(sleeper& w) {
    const asio::detail::task_scope::entered entered(w.scope);
    w.waiting.resume();
  }

  ::asio::io_context io_;
  time_point now_{};
  std::uint64_t next_order_ = 0;
  std::vector<sleeper*> waiters_;
};

}  // namespace statefun::inline v0::testing
