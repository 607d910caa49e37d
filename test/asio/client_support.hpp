#pragma once

// What the http_client tests share (plain, Unix socket and TLS): how a call failed, a run of
// calls on one client, and call options that retry fast.

#include <statefun/asio/http_client.hpp>
#include <statefun/task.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/run_on.hpp"

namespace statefun::test {

/// The error code a task failed with (or a default one if it did not fail).
template <class T>
std::error_code failure_of(::asio::io_context& io, statefun::task<T> work) {
  try {
    run_on(io, std::move(work));
  } catch (const std::system_error& e) {
    return e.code();
  }
  return {};
}

/// The message of the std::system_error a task failed with (or "" if it did not fail).
template <class T>
std::string failure_message_of(::asio::io_context& io, statefun::task<T> work) {
  try {
    run_on(io, std::move(work));
  } catch (const std::system_error& e) {
    return e.what();
  }
  return "";
}

/// The message of the std::invalid_argument `f` throws, or "" if it throws none.
template <class F>
std::string invalid_argument_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

/// `n` GETs of `target`, one after the other, on one client.
inline statefun::task<std::vector<statefun::asio::http_response>> get_n_times(statefun::asio::http_client& client,
                                                                             std::string target, int n) {
  std::vector<statefun::asio::http_response> responses;
  for (int i = 0; i < n; ++i) {
    responses.push_back(co_await client.get(target));
  }
  co_return responses;
}

/// Options that keep a hung test from hanging forever, and fast retries.
inline statefun::asio::call_options quick(int retries = 0) {
  statefun::asio::call_options options;
  options.timeout = std::chrono::seconds{30};  // a hang guard only
  options.retries = retries;
  options.backoff = std::chrono::milliseconds{1};
  return options;
}

}  // namespace statefun::test
