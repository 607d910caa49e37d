#pragma once

// A one-shot event that coroutines can await. Tests use it to hold a coroutine at a known point
// until something else has happened, so that completion order is fixed by synchronisation
// rather than by timing.

#include <coroutine>
#include <mutex>
#include <utility>
#include <vector>

namespace statefun_test {

/// Starts unset; `co_await event` suspends until `set()` is called (or continues at once if it
/// already was). Thread-safe; never reset.
class manual_event {
 public:
  class awaiter {
   public:
    explicit awaiter(manual_event& event) noexcept : event_(event) {}
    bool await_ready() const noexcept { return false; }
    /// False (do not suspend) if the event is already set.
    bool await_suspend(std::coroutine_handle<> handle) { return event_.add_waiter(handle); }
    void await_resume() const noexcept {}

   private:
    manual_event& event_;
  };

  manual_event() = default;
  manual_event(const manual_event&) = delete;
  manual_event& operator=(const manual_event&) = delete;

  awaiter operator co_await() noexcept { return awaiter{*this}; }

  /// Sets the event and resumes every waiting coroutine on the calling thread, in the order
  /// they started waiting; returns once each has run to its next suspension or completion.
  void set() {
    std::vector<std::coroutine_handle<>> waiters;
    {
      std::lock_guard lock(mutex_);
      set_ = true;
      waiters = std::exchange(waiters_, {});
    }
    // A resumed coroutine may destroy this event: only the local copy is used from here on.
    for (const std::coroutine_handle<> waiter : waiters) {
      waiter.resume();
    }
  }

  bool is_set() const {
    std::lock_guard lock(mutex_);
    return set_;
  }

 private:
  bool add_waiter(std::coroutine_handle<> handle) {
    std::lock_guard lock(mutex_);
    if (set_) {
      return false;
    }
    waiters_.push_back(handle);
    return true;
  }

  mutable std::mutex mutex_;
  bool set_ = false;
  std::vector<std::coroutine_handle<>> waiters_;
};

}  // namespace statefun_test
