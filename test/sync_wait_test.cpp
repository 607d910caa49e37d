#include <statefun/sync_wait.hpp>

#include <statefun/task.hpp>

#include <atomic>
#include <coroutine>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "support/doctest.hpp"
#include "support/manual_event.hpp"
#include "support/tasks.hpp"
#include "support/worker_thread.hpp"

using statefun::sync_wait;
using statefun::task;
using statefun_test::answer;
using statefun_test::manual_event;
using statefun_test::nothing;
using statefun_test::reference_to;
using statefun_test::worker_thread;

namespace {

task<std::unique_ptr<std::string>> boxed(std::string text) {
  co_return std::make_unique<std::string>(std::move(text));
}

task<int> fail() {
  throw std::runtime_error("boom");
  co_return 0;
}

// Signals `started`, waits on the caller's thread until `release` is set, then finishes on the
// worker.
task<std::thread::id> finish_on_when_released(std::latch& started, manual_event& release,
                                              worker_thread& worker) {
  started.count_down();
  co_await release;
  co_await worker.schedule();
  co_return std::this_thread::get_id();
}

task<int> fail_on(worker_thread& worker) {
  co_await worker.schedule();
  throw std::invalid_argument("thrown on the worker");
  co_return 0;
}

task<int> hop_then_add(worker_thread& worker, int value) {
  co_await worker.schedule();
  co_return value + 1;
}

task<int> await_hop(worker_thread& worker, int value) {
  const int result = co_await hop_then_add(worker, value);
  co_return result;
}

// An awaitable that is not a task: completes without suspending.
struct ready_value {
  int value;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  int await_resume() const noexcept { return value; }
};

// An awaitable reached through a member operator co_await and yielding an lvalue reference.
struct reference_source {
  int target = 0;
  struct awaiter {
    int& target;
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    int& await_resume() const noexcept { return target; }
  };
  awaiter operator co_await() & noexcept { return {target}; }
};

static_assert(std::is_same_v<decltype(sync_wait(answer())), int>);
static_assert(std::is_same_v<decltype(sync_wait(nothing())), void>);
static_assert(std::is_same_v<decltype(sync_wait(std::declval<task<int&>>())), int&>);
static_assert(std::is_same_v<decltype(sync_wait(std::declval<reference_source&>())), int&>);

}  // namespace

TEST_CASE("sync_wait returns the result of the awaited task") {
  SUBCASE("an int") { CHECK(sync_wait(answer()) == 42); }
  SUBCASE("void") { sync_wait(nothing()); }
  SUBCASE("a move-only value") {
    std::unique_ptr<std::string> value = sync_wait(boxed("boxed"));
    REQUIRE(value != nullptr);
    CHECK(*value == "boxed");
  }
  SUBCASE("a reference") {
    int target = 0;
    int& result = sync_wait(reference_to(target));
    CHECK(&result == &target);
  }
  SUBCASE("a task held in a variable") {
    task<int> work = answer();
    CHECK(sync_wait(std::move(work)) == 42);
    CHECK(work.is_ready());
  }
}

TEST_CASE("sync_wait accepts awaitables other than task") {
  SUBCASE("a plain awaiter") { CHECK(sync_wait(ready_value{5}) == 5); }
  SUBCASE("std::suspend_never") { sync_wait(std::suspend_never{}); }
  SUBCASE("an lvalue with operator co_await yielding a reference") {
    reference_source source;
    int& result = sync_wait(source);
    CHECK(&result == &source.target);
  }
}

TEST_CASE("sync_wait rethrows the exception of the awaited task") {
  SUBCASE("thrown on the calling thread") {
    CHECK_THROWS_AS((void)sync_wait(fail()), std::runtime_error);
  }
  SUBCASE("thrown on another thread") {
    worker_thread worker;
    CHECK_THROWS_AS((void)sync_wait(fail_on(worker)), std::invalid_argument);
  }
}

TEST_CASE("sync_wait blocks until a task that finishes on another thread completes") {
  // The task cannot finish before another thread releases it, and that thread only does so once
  // the task has started, i.e. while the main thread is inside sync_wait. So sync_wait must
  // still be running at the release and can only return after the worker has finished the task.
  worker_thread worker;
  std::latch started{1};
  manual_event release;
  std::atomic<bool> sync_wait_returned{false};
  bool returned_before_release = true;
  std::thread releaser([&] {
    started.wait();
    returned_before_release = sync_wait_returned.load();
    release.set();
  });

  const std::thread::id finished_on = sync_wait(finish_on_when_released(started, release, worker));
  sync_wait_returned = true;
  releaser.join();

  CHECK_FALSE(returned_before_release);
  CHECK(finished_on == worker.id());
  CHECK(finished_on != std::this_thread::get_id());
}

TEST_CASE("a task finishing on another thread while its awaiter suspends is handled either way") {
  // A stress test, not an ordering test: the worker may resume the child while the main thread
  // is still inside await_suspend or after it has returned, so over many runs both sides of the
  // handshake win the race. Every interleaving must give the same result.
  worker_thread worker;
  int sum = 0;
  for (int i = 0; i < 20'000; ++i) {
    sum += sync_wait(await_hop(worker, 1)) - 2;
  }
  CHECK(sum == 0);
}
