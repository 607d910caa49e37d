#include <statefun/asio/use_task.hpp>

#include <statefun/asio/async_run.hpp>
#include <statefun/asio/sleep.hpp>
#include <statefun/sync_wait.hpp>
#include <statefun/task.hpp>
#include <statefun/when_all.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>

#include "support/doctest.hpp"
#include "support/run_on.hpp"

using namespace std::chrono_literals;
using statefun::task;
using statefun::asio::use_task;
using statefun::test::run_on;
using stream_socket = asio::local::stream_protocol::socket;

namespace {

task<int> wait_then(asio::steady_timer& timer, int value) {
  co_await timer.async_wait(use_task);
  co_return value;
}

task<std::string> echo_through(stream_socket& writer, stream_socket& reader, std::string text) {
  co_await asio::async_write(writer, asio::buffer(text), use_task);
  std::string received(text.size(), '\0');
  const std::size_t n = co_await asio::async_read(reader, asio::buffer(received), use_task);
  received.resize(n);
  co_return received;
}

task<std::error_code> read_with_error_code(stream_socket& reader) {
  char byte = 0;
  auto [error, n] =
      co_await reader.async_read_some(asio::buffer(&byte, 1), asio::experimental::as_tuple(use_task));
  CHECK(n == 0);
  co_return error;
}

task<void> read_one(stream_socket& reader) {
  char byte = 0;
  co_await reader.async_read_some(asio::buffer(&byte, 1), use_task);
}

task<bool> executor_is(const asio::any_io_executor& expected) {
  co_await asio::post(statefun::asio::current_executor(), use_task);
  co_return statefun::asio::current_executor() == expected;
}

}  // namespace

TEST_CASE("use_task: a timer wait resumes the task with no value") {
  asio::io_context io;
  asio::steady_timer timer(io, 1ms);
  CHECK(run_on(io, wait_then(timer, 7)) == 7);
}

TEST_CASE("use_task: the value after the error code is what co_await yields") {
  asio::io_context io;
  stream_socket a(io);
  stream_socket b(io);
  asio::local::connect_pair(a, b);
  CHECK(run_on(io, echo_through(a, b, "hello")) == "hello");
}

TEST_CASE("use_task: a failed operation throws std::system_error with its code") {
  asio::io_context io;
  stream_socket a(io);
  stream_socket b(io);
  asio::local::connect_pair(a, b);
  a.close();
  try {
    run_on(io, read_one(b));
    FAIL("reading from a closed peer must throw");
  } catch (const std::system_error& e) {
    CHECK(e.code() == asio::error::eof);
  }
}

TEST_CASE("use_task: as_tuple hands over the error code instead of throwing") {
  asio::io_context io;
  stream_socket a(io);
  stream_socket b(io);
  asio::local::connect_pair(a, b);
  a.close();
  CHECK(run_on(io, read_with_error_code(b)) == asio::error::eof);
}

TEST_CASE("use_task: nothing starts until the operation is awaited") {
  asio::io_context io;
  asio::steady_timer timer(io, 1h);
  {
    auto never_awaited = timer.async_wait(use_task);
    (void)never_awaited;
  }
  CHECK(io.poll() == 0);  // no wait was queued, so there is nothing to run
}

TEST_CASE("async_run: the task runs on the executor, and current_executor() names it") {
  asio::io_context io;
  CHECK(run_on(io, executor_is(io.get_executor())));
  CHECK_THROWS_AS(statefun::asio::current_executor(), std::logic_error);
}

TEST_CASE("async_run: an exception from the task reaches the completion handler") {
  asio::io_context io;
  CHECK_THROWS_WITH_AS(run_on(io, []() -> task<int> {
                         throw std::runtime_error("boom");
                         co_return 1;
                       }()),
                       "boom", std::runtime_error);
}

TEST_CASE("async_run: when_all waits on two timers at once") {
  asio::io_context io;
  asio::steady_timer first(io, 2ms);
  asio::steady_timer second(io, 1ms);
  const auto [a, b] = run_on(io, statefun::when_all(wait_then(first, 1), wait_then(second, 2)));
  CHECK(a == 1);
  CHECK(b == 2);
}

TEST_CASE("async_run: cancelling the run aborts every operation the task is waiting on") {
  asio::io_context io;
  asio::steady_timer first(io, 1h);
  asio::steady_timer second(io, 1h);
  asio::cancellation_signal cancel;
  std::exception_ptr error;
  bool finished = false;
  statefun::asio::async_run(
      io.get_executor(), statefun::when_all(wait_then(first, 1), wait_then(second, 2)),
      asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, std::tuple<int, int>) {
        error = e;
        finished = true;
      }));
  io.poll();  // both waits are now pending
  CHECK_FALSE(finished);
  cancel.emit(asio::cancellation_type::terminal);
  io.run();  // both aborted: nothing is left, so this returns
  REQUIRE(finished);
  REQUIRE(error);
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    CHECK(e.code() == asio::error::operation_aborted);
  }
}

TEST_CASE("async_run: an operation awaited after the cancel fails without starting") {
  asio::io_context io;
  asio::steady_timer timer(io, 1h);
  asio::steady_timer after(io, 1ms);
  asio::cancellation_signal cancel;
  int aborted = 0;
  auto body = [](asio::steady_timer& timer, asio::steady_timer& after, int& aborted) -> task<> {
    for (asio::steady_timer* t : {&timer, &after}) {
      try {
        co_await t->async_wait(use_task);
      } catch (const std::system_error& e) {
        aborted += e.code() == asio::error::operation_aborted ? 1 : 0;
      }
    }
  };
  statefun::asio::async_run(io.get_executor(), body(timer, after, aborted),
                            asio::bind_cancellation_slot(cancel.slot(), [](std::exception_ptr) {}));
  io.poll();
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  CHECK(aborted == 2);
}

TEST_CASE("sleep_for: waits on the current executor, and needs one") {
  asio::io_context io;
  CHECK_NOTHROW(run_on(io, statefun::asio::sleep_for(1ms)));
  CHECK_THROWS_AS(statefun::sync_wait(statefun::asio::sleep_for(1ms)), std::logic_error);
}
