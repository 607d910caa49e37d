#include <statefun/task.hpp>

#include <statefun/detail/awaitable_traits.hpp>
#include <statefun/detail/frame_allocator.hpp>
#include <statefun/sync_wait.hpp>

#include <coroutine>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/doctest.hpp"
#include "support/tasks.hpp"

using statefun::detail::frame_allocator;
using statefun::task;
using statefun_test::answer;
using statefun_test::counted;
using statefun_test::nothing;
using statefun_test::reference_to;

namespace {

// Compile-time shape of task.
static_assert(!std::is_copy_constructible_v<task<int>>);
static_assert(!std::is_copy_assignable_v<task<int>>);
static_assert(std::is_nothrow_move_constructible_v<task<int>>);
static_assert(std::is_nothrow_move_assignable_v<task<int>>);
static_assert(std::is_same_v<task<>, task<void>>);
static_assert(statefun::detail::awaitable<task<int>>);
static_assert(statefun::detail::awaitable<task<int>&&>);
static_assert(!statefun::detail::awaitable<task<int>&>, "awaiting an lvalue task must not compile");
static_assert(!statefun::detail::awaitable<const task<int>&>);
static_assert(!statefun::detail::awaitable<const task<int>&&>);
static_assert(std::is_same_v<statefun::detail::await_result_t<task<int>>, int>);
static_assert(std::is_same_v<statefun::detail::await_result_t<task<int&>>, int&>);
static_assert(std::is_same_v<statefun::detail::await_result_t<task<const int&>>, const int&>);
static_assert(std::is_same_v<statefun::detail::await_result_t<task<>>, void>);
static_assert(std::is_same_v<statefun::detail::await_result_t<task<std::unique_ptr<int>>>,
                             std::unique_ptr<int>>);

// Clang elides the frame of a task that provably never leaves its caller (HALO), so tests that
// count frames while a task is alive first let it escape through a call the optimiser cannot
// see into.
template <class T>
[[gnu::noinline]] task<T> escape(task<T> work) {
  return work;
}

task<void> set_flag(bool& flag) {
  flag = true;
  co_return;
}

task<std::string> greeting() { co_return "hello, world: a string too long for the SSO buffer"; }

task<std::unique_ptr<int>> boxed(int value) { co_return std::make_unique<int>(value); }

task<int> fail_with(std::string message) {
  throw std::runtime_error(message);
  co_return 0;
}

task<void> fail_void() {
  throw std::logic_error("void task failed");
  co_return;
}

task<int> fail_after_await() {
  const int value = co_await answer();
  if (value == 42) {
    throw std::out_of_range("after an await");
  }
  co_return value;
}

task<void> hold(counted /*argument*/) {
  counted local;
  co_return;
}

task<void> hold_and_suspend(counted /*argument*/) {
  counted local;
  co_await std::suspend_always{};
}

task<int> one() { co_return 1; }

// Owns a started coroutine that awaits a task, so a test can destroy that task while it is
// suspended mid-body (nothing ever resumes it).
class started_awaiter {
 public:
  struct promise_type {
    started_awaiter get_return_object() noexcept {
      return started_awaiter{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };

  explicit started_awaiter(std::coroutine_handle<promise_type> coro) noexcept : coro_(coro) {}
  started_awaiter(started_awaiter&& other) noexcept : coro_(std::exchange(other.coro_, {})) {}
  started_awaiter& operator=(started_awaiter&&) = delete;
  ~started_awaiter() {
    if (coro_) {
      coro_.destroy();
    }
  }

  bool done() const noexcept { return coro_.done(); }

 private:
  std::coroutine_handle<promise_type> coro_;
};

started_awaiter await_in_background(task<void> work) { co_await std::move(work); }

}  // namespace

TEST_CASE("a task does not start until it is awaited") {
  bool started = false;
  auto work = set_flag(started);
  CHECK_FALSE(started);
  CHECK_FALSE(work.is_ready());

  statefun::sync_wait(std::move(work));
  CHECK(started);
  CHECK(work.is_ready());
}

STATEFUN_CO_TEST_CASE("co_await yields the result of the task") {
  SUBCASE("an int") {
    const int value = co_await answer();
    CHECK(value == 42);
  }
  SUBCASE("void") { co_await nothing(); }
  SUBCASE("a string") {
    const std::string value = co_await greeting();
    CHECK(value == "hello, world: a string too long for the SSO buffer");
  }
  SUBCASE("a move-only value") {
    std::unique_ptr<int> value = co_await boxed(7);
    REQUIRE(value != nullptr);
    CHECK(*value == 7);
  }
  SUBCASE("a reference to the very object returned") {
    int target = 1;
    int& result = co_await reference_to(target);
    CHECK(&result == &target);
    result = 2;
    CHECK(target == 2);
  }
  SUBCASE("a task stored in a variable and moved into co_await") {
    task<int> work = answer();
    const int value = co_await std::move(work);
    CHECK(value == 42);
    CHECK(work.is_ready());
  }
}

STATEFUN_CO_TEST_CASE("co_await rethrows the exception the task threw") {
  SUBCASE("thrown before the first suspension") {
    bool caught = false;
    try {
      (void)co_await fail_with("boom");
    } catch (const std::runtime_error& error) {
      caught = std::string(error.what()) == "boom";
    }
    CHECK(caught);
  }
  SUBCASE("thrown by a void task") {
    bool caught = false;
    try {
      co_await fail_void();
    } catch (const std::logic_error&) {
      caught = true;
    }
    CHECK(caught);
  }
  SUBCASE("thrown after awaiting another task") {
    bool caught = false;
    try {
      (void)co_await fail_after_await();
    } catch (const std::out_of_range&) {
      caught = true;
    }
    CHECK(caught);
  }
}

STATEFUN_CO_TEST_CASE("awaiting an empty task throws broken_promise") {
  SUBCASE("default-constructed") {
    task<int> empty;
    CHECK(empty.is_ready());
    bool caught = false;
    try {
      (void)co_await std::move(empty);
    } catch (const statefun::broken_promise&) {
      caught = true;
    }
    CHECK(caught);
  }
  SUBCASE("moved-from") {
    task<void> original = nothing();
    task<void> moved = std::move(original);
    bool caught = false;
    try {
      co_await std::move(original);  // NOLINT(bugprone-use-after-move): the point of the test
    } catch (const statefun::broken_promise&) {
      caught = true;
    }
    CHECK(caught);
    co_await std::move(moved);
  }
}

TEST_CASE("destroying a task destroys its arguments and locals") {
  counted::reset();

  SUBCASE("never awaited") {
    {
      auto work = hold(counted{});
      CHECK(counted::alive() == 1);  // the argument's copy in the frame; the body never ran
      CHECK(counted::default_constructions() == 1);
    }
    CHECK(counted::alive() == 0);
  }
  SUBCASE("run to completion") {
    {
      auto work = hold(counted{});
      statefun::sync_wait(std::move(work));
      CHECK(counted::default_constructions() == 2);  // argument and local
      CHECK(counted::alive() == 1);                  // the argument lives as long as the frame
    }
    CHECK(counted::alive() == 0);
  }
  SUBCASE("suspended in the middle of its body") {
    {
      auto work = hold_and_suspend(counted{});
      started_awaiter background = await_in_background(std::move(work));
      CHECK_FALSE(background.done());
      CHECK(counted::alive() == 2);  // argument and local, frozen at the suspension point
    }
    CHECK(counted::alive() == 0);
  }
}

TEST_CASE("a task's frame is freed on every path") {
  const std::size_t before = frame_allocator::live_frames();

  SUBCASE("normal return") { CHECK(statefun::sync_wait(answer()) == 42); }
  SUBCASE("exception") {
    CHECK_THROWS_AS((void)statefun::sync_wait(fail_with("boom")), std::runtime_error);
  }
  SUBCASE("never awaited") {
    {
      auto work = escape(answer());
      CHECK(frame_allocator::live_frames() == before + 1);
    }
  }
  SUBCASE("moved-from by construction and by assignment") {
    {
      auto first = escape(answer());
      auto second = std::move(first);
      CHECK(frame_allocator::live_frames() == before + 1);
      first = escape(answer());
      CHECK(frame_allocator::live_frames() == before + 2);
      second = std::move(first);  // frees the frame `second` held
      CHECK(frame_allocator::live_frames() == before + 1);
      task<int>& alias = second;
      second = std::move(alias);  // self-move keeps the frame
      CHECK(frame_allocator::live_frames() == before + 1);
      CHECK(statefun::sync_wait(std::move(second)) == 42);
    }
  }
  SUBCASE("suspended and destroyed") {
    {
      started_awaiter background = await_in_background(escape(hold_and_suspend(counted{})));
      CHECK(frame_allocator::live_frames() == before + 1);  // started_awaiter uses plain new
    }
  }
  SUBCASE("nested awaits") {
    CHECK_THROWS_AS((void)statefun::sync_wait(fail_after_await()), std::out_of_range);
  }

  CHECK(frame_allocator::live_frames() == before);
}

STATEFUN_CO_TEST_CASE("a million synchronous co_awaits in a loop do not overflow the stack") {
  SUBCASE("task<int>") {
    int sum = 0;
    for (int i = 0; i < 1'000'000; ++i) {
      sum += co_await one();
    }
    CHECK(sum == 1'000'000);
  }
  SUBCASE("task<void>") {
    for (int i = 0; i < 1'000'000; ++i) {
      co_await nothing();
    }
  }
}

STATEFUN_CO_TEST_CASE("is_ready becomes true once the task has finished") {
  task<int> work = answer();
  CHECK_FALSE(work.is_ready());
  const int value = co_await std::move(work);
  CHECK(value == 42);
  CHECK(work.is_ready());
}
