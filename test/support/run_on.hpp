#pragma once

// run_on(io, task): runs a task with statefun::asio::async_run on an io_context until it
// finishes, and returns its value or rethrows its exception: sync_wait for tasks that await
// Asio operations.

#include <statefun/asio/async_run.hpp>
#include <statefun/task.hpp>

#include <asio/io_context.hpp>

#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace statefun::test {

template <class T>
T run_on(::asio::io_context& io, statefun::task<T> work) {
  std::exception_ptr error;
  bool finished = false;
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  if constexpr (std::is_void_v<T>) {
    statefun::asio::async_run(io.get_executor(), std::move(work), [&](std::exception_ptr e) {
      error = e;
      finished = true;
    });
  } else {
    statefun::asio::async_run(io.get_executor(), std::move(work), [&](std::exception_ptr e, T v) {
      error = e;
      value.emplace(std::move(v));
      finished = true;
    });
  }
  io.restart();
  io.run();
  if (!finished) {
    throw std::logic_error("run_on: the io_context ran out of work before the task finished");
  }
  if (error) {
    std::rethrow_exception(error);
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*value);
  }
}

}  // namespace statefun::test
