#include <statefun/when_all.hpp>

#include <statefun/detail/frame_allocator.hpp>
#include <statefun/sync_wait.hpp>
#include <statefun/task.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/doctest.hpp"
#include "support/manual_event.hpp"
#include "support/worker_thread.hpp"

using statefun::sync_wait;
using statefun::task;
using statefun::when_all;
using statefun::detail::frame_allocator;
using statefun_test::counted;
using statefun_test::manual_event;
using statefun_test::worker_thread;

namespace {

struct error_a : std::runtime_error {
  error_a() : std::runtime_error("a") {}
};

struct error_b : std::runtime_error {
  error_b() : std::runtime_error("b") {}
};

task<int> value(int v) { co_return v; }

task<void> nothing() { co_return; }

task<std::string> text(std::string s) { co_return s; }

task<int&> reference_to(int& target) { co_return target; }

task<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }

task<void> set_flag(bool& flag) {
  flag = true;
  co_return;
}

task<int> throw_a() {
  throw error_a{};
  co_return 0;
}

task<int> throw_b() {
  throw error_b{};
  co_return 0;
}

task<void> throw_a_void() {
  throw error_a{};
  co_return;
}

task<void> throw_b_void() {
  throw error_b{};
  co_return;
}

// The helpers below fix the completion order of when_all's tasks without timing. They rely on
// two guarantees: when_all starts its tasks one after the other in argument order, each running
// until it first suspends; and a worker_thread resumes what it is given one at a time, in order.

task<int> value_on(worker_thread& worker, int v) {
  co_await worker.schedule();
  co_return v;
}

// Waits until `gate` is set, then finishes on `worker`.
task<int> value_after(manual_event& gate, worker_thread& worker, int v) {
  co_await gate;
  co_await worker.schedule();
  co_return v;
}

// Sets `gate` on `worker` once the worker has run everything queued on it before.
task<void> open_on(worker_thread& worker, manual_event& gate) {
  co_await worker.schedule();
  gate.set();
}

// Waits until `gate` is set, then throws error_b on whichever thread set it.
task<int> throw_b_after(manual_event& gate) {
  co_await gate;
  throw error_b{};
  co_return 0;
}

task<void> set_flag_later(worker_thread& worker, std::atomic<bool>& flag) {
  co_await worker.schedule();
  flag = true;
}

// On the worker, sets `gate` (running whatever waits on it there, until it completes or next
// suspends) and only then sets `flag` and finishes.
task<void> open_then_set_flag(worker_thread& worker, manual_event& gate, std::atomic<bool>& flag) {
  co_await worker.schedule();
  gate.set();
  flag = true;
}

task<int> open_then_set_flag_int(worker_thread& worker, manual_event& gate,
                                 std::atomic<bool>& flag) {
  co_await open_then_set_flag(worker, gate, flag);
  co_return 0;
}

task<int> hold(counted /*argument*/) { co_return 1; }

// Clang elides the frame of a task that provably never leaves its caller (HALO), so tests that
// count frames while a task is alive first let it escape through a call the optimiser cannot
// see into.
template <class T>
[[gnu::noinline]] task<T> escape(task<T> work) {
  return work;
}

static_assert(std::is_same_v<decltype(when_all()), task<std::tuple<>>>);
static_assert(
    std::is_same_v<decltype(when_all(value(1), nothing(), reference_to(std::declval<int&>()))),
                   task<std::tuple<int, std::monostate, int&>>>);
static_assert(std::is_same_v<decltype(when_all(std::vector<task<int>>{})), task<std::vector<int>>>);
static_assert(std::is_same_v<decltype(when_all(std::vector<task<int&>>{})),
                             task<std::vector<std::reference_wrapper<int>>>>);
static_assert(std::is_same_v<decltype(when_all(std::vector<task<void>>{})), task<void>>);

}  // namespace

STATEFUN_CO_TEST_CASE("when_all of no tasks completes at once with an empty result") {
  SUBCASE("tuple form") {
    const std::tuple<> result = co_await when_all();
    (void)result;
  }
  SUBCASE("vector form") {
    const std::vector<int> result = co_await when_all(std::vector<task<int>>{});
    CHECK(result.empty());
  }
  SUBCASE("vector of void") { co_await when_all(std::vector<task<void>>{}); }
}

STATEFUN_CO_TEST_CASE("when_all yields every result in argument order") {
  SUBCASE("tuple form with values, void, a reference and a move-only value") {
    int target = 0;
    auto [number, unit, ref, name, box] =
        co_await when_all(value(1), nothing(), reference_to(target), text("two"), boxed(3));
    CHECK(number == 1);
    CHECK(unit == std::monostate{});
    CHECK(&ref == &target);
    CHECK(name == "two");
    REQUIRE(box != nullptr);
    CHECK(*box == 3);
  }
  SUBCASE("vector form") {
    std::vector<task<int>> tasks;
    for (int i = 0; i < 1000; ++i) {
      tasks.push_back(value(i));
    }
    const std::vector<int> results = co_await when_all(std::move(tasks));
    REQUIRE(results.size() == 1000);
    for (int i = 0; i < 1000; ++i) {
      CHECK(results[static_cast<std::size_t>(i)] == i);
    }
  }
  SUBCASE("vector of references") {
    int first = 0;
    int second = 0;
    std::vector<task<int&>> tasks;
    tasks.push_back(reference_to(first));
    tasks.push_back(reference_to(second));
    const std::vector<std::reference_wrapper<int>> results = co_await when_all(std::move(tasks));
    REQUIRE(results.size() == 2);
    CHECK(&results[0].get() == &first);
    CHECK(&results[1].get() == &second);
  }
  SUBCASE("vector of move-only values") {
    std::vector<task<std::unique_ptr<int>>> tasks;
    tasks.push_back(boxed(1));
    tasks.push_back(boxed(2));
    const std::vector<std::unique_ptr<int>> results = co_await when_all(std::move(tasks));
    REQUIRE(results.size() == 2);
    CHECK(*results[0] == 1);
    CHECK(*results[1] == 2);
  }
  SUBCASE("vector of void runs every task") {
    bool flags[3] = {false, false, false};
    std::vector<task<void>> tasks;
    for (bool& flag : flags) {
      tasks.push_back(set_flag(flag));
    }
    co_await when_all(std::move(tasks));
    CHECK(flags[0]);
    CHECK(flags[1]);
    CHECK(flags[2]);
  }
}

TEST_CASE("when_all starts no task until it is awaited") {
  bool first = false;
  bool second = false;
  auto both = when_all(set_flag(first), set_flag(second));
  CHECK_FALSE(first);
  CHECK_FALSE(second);
  CHECK_FALSE(both.is_ready());
  sync_wait(std::move(both));
  CHECK(first);
  CHECK(second);
}

TEST_CASE("when_all rethrows the first exception in argument order once every task has finished") {
  worker_thread worker;
  manual_event gate;
  std::atomic<bool> finished{false};

  // In the tuple and vector forms the order in time is fixed: throw_a throws while when_all
  // starts its tasks; the last task then moves to the worker and sets the gate there, so
  // throw_b_after (earlier in argument order) throws on the worker; only after that does the
  // last task set `finished` and complete. error_b must win, and only once `finished` is set.
  SUBCASE("tuple form") {
    CHECK_THROWS_AS(sync_wait(when_all(value(1), throw_b_after(gate), throw_a(),
                                       open_then_set_flag_int(worker, gate, finished))),
                    error_b);
    CHECK(finished);
  }
  SUBCASE("tuple form, synchronous") {
    CHECK_THROWS_AS(sync_wait(when_all(throw_a(), throw_b(), nothing())), error_a);
  }
  SUBCASE("vector form") {
    std::vector<task<int>> tasks;
    tasks.push_back(value(1));
    tasks.push_back(throw_b_after(gate));
    tasks.push_back(throw_a());
    tasks.push_back(open_then_set_flag_int(worker, gate, finished));
    CHECK_THROWS_AS(sync_wait(when_all(std::move(tasks))), error_b);
    CHECK(finished);
  }
  SUBCASE("vector of void") {
    // Both exceptions are thrown while when_all starts its tasks; the last task only moves to
    // the worker, where it sets `finished`, after they have.
    std::vector<task<void>> tasks;
    tasks.push_back(nothing());
    tasks.push_back(throw_a_void());
    tasks.push_back(throw_b_void());
    tasks.push_back(set_flag_later(worker, finished));
    CHECK_THROWS_AS(sync_wait(when_all(std::move(tasks))), error_a);
    CHECK(finished);
  }
}

TEST_CASE("when_all collects tasks that finish on other threads in argument order") {
  worker_thread slow;
  worker_thread fast;

  SUBCASE("tuple form") {
    // The first task finishes last: value_on(fast, 2) is queued on `fast` before open_on, so it
    // has finished by the time open_on sets the gate; only then does the first task move to
    // `slow` and finish there.
    manual_event gate;
    const auto [a, b, c, opened] = sync_wait(
        when_all(value_after(gate, slow, 1), value_on(fast, 2), value(3), open_on(fast, gate)));
    CHECK(a == 1);
    CHECK(b == 2);
    CHECK(c == 3);
    (void)opened;
  }
  SUBCASE("vector form, racing the awaiting coroutine") {
    // A stress test: the workers finish their tasks in any order relative to each other and to
    // the awaiting coroutine; every interleaving must give the same result.
    for (int round = 0; round < 2'000; ++round) {
      std::vector<task<int>> tasks;
      tasks.push_back(value_on(slow, 1));
      tasks.push_back(value_on(fast, 2));
      tasks.push_back(value(3));
      const std::vector<int> results = sync_wait(when_all(std::move(tasks)));
      REQUIRE(results == std::vector<int>{1, 2, 3});
    }
  }
}

TEST_CASE("when_all frees every frame and destroys every argument") {
  const std::size_t before = frame_allocator::live_frames();
  counted::reset();

  SUBCASE("awaited") {
    const auto [a, b] = sync_wait(when_all(hold(counted{}), hold(counted{})));
    CHECK(a + b == 2);
  }
  SUBCASE("never awaited") {
    auto unused = escape(when_all(escape(hold(counted{})), escape(hold(counted{}))));
    CHECK(frame_allocator::live_frames() == before + 3);  // when_all and both tasks
    CHECK(counted::alive() == 2);
  }
  SUBCASE("vector form with an exception") {
    std::vector<task<int>> tasks;
    tasks.push_back(hold(counted{}));
    tasks.push_back(throw_a());
    CHECK_THROWS_AS(sync_wait(when_all(std::move(tasks))), error_a);
  }

  CHECK(frame_allocator::live_frames() == before);
  CHECK(counted::alive() == 0);
}

STATEFUN_CO_TEST_CASE(
    "when_all of a hundred thousand synchronous tasks does not overflow the stack") {
  std::vector<task<int>> tasks;
  tasks.reserve(100'000);
  for (int i = 0; i < 100'000; ++i) {
    tasks.push_back(value(1));
  }
  const std::vector<int> results = co_await when_all(std::move(tasks));
  std::size_t sum = 0;
  for (const int r : results) {
    sum += static_cast<std::size_t>(r);
  }
  CHECK(sum == 100'000);
}
