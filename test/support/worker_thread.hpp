#pragma once

// A background thread that resumes coroutines handed to it, one at a time, in the order they
// arrive. Tests use it to make a coroutine continue (and usually finish) on another thread.
//
// There is deliberately no delay: a test that needs one coroutine to finish before another
// orders them with explicit synchronisation (see manual_event.hpp, or the FIFO order of one
// worker), never with time.

#include <condition_variable>
#include <coroutine>
#include <deque>
#include <mutex>
#include <thread>

namespace statefun_test {

/// One thread resuming queued coroutines in FIFO order until it is destroyed.
class worker_thread {
 public:
  /// Suspends the awaiting coroutine and queues it to be resumed on the worker.
  class schedule_awaiter {
   public:
    explicit schedule_awaiter(worker_thread& worker) noexcept : worker_(worker) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> handle) { worker_.post(handle); }
    void await_resume() const noexcept {}

   private:
    worker_thread& worker_;
  };

  worker_thread() = default;
  worker_thread(const worker_thread&) = delete;
  worker_thread& operator=(const worker_thread&) = delete;

  /// Runs everything still queued, then joins the thread.
  ~worker_thread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wakeup_.notify_one();
    thread_.join();
  }

  /// `co_await worker.schedule()` continues the coroutine on the worker as soon as the worker
  /// has resumed everything queued before it.
  schedule_awaiter schedule() noexcept { return schedule_awaiter{*this}; }

  std::thread::id id() const noexcept { return thread_.get_id(); }

 private:
  void post(std::coroutine_handle<> handle) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(handle);
    }
    wakeup_.notify_one();
  }

  void run() {
    for (;;) {
      std::coroutine_handle<> next;
      {
        std::unique_lock lock(mutex_);
        wakeup_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) {
          return;
        }
        next = queue_.front();
        queue_.pop_front();
      }
      next.resume();
    }
  }

  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<std::coroutine_handle<>> queue_;
  bool stopping_ = false;
  std::thread thread_{[this] { run(); }};  // last: everything it uses exists by now
};

}  // namespace statefun_test
