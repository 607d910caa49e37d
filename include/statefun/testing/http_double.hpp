#pragma once

/// @file
/// `statefun::testing::http_double`: a scripted stand-in for an outside HTTP service, called
/// through `statefun::asio::http_client` without sockets.

#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/steady_timer.hpp>

#include <statefun/asio/detail/scope_clock.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/asio/http_client.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/config.hpp>
#include <statefun/expected.hpp>
#include <statefun/task.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace statefun::inline v0::testing {

/// How the double answers one attempt.
struct http_answer {
  /// The response's status.
  int status = 200;
  /// The response's body.
  std::string body{};
  /// The response's header fields.
  std::vector<std::pair<std::string, std::string>> headers{};
  /// How long the answer takes, on the test's clock. Longer than the call's per-attempt
  /// timeout: the attempt times out (`asio::error::timed_out`) when the timeout passes.
  std::chrono::milliseconds delay{};
  /// Set: the attempt fails with this error (after `delay`) instead of answering, e.g.
  /// `asio::error::connection_refused`.
  std::error_code error{};
};

namespace detail {

/// The double's script and record, shared by the double and the clients it made.
class http_script final : public asio::http_responder {
 public:
  task<expected<asio::http_response, std::error_code>> attempt(const asio::http_request& request,
                                                               std::chrono::milliseconds timeout) override {
    requests_.push_back(request);
    const http_answer answer = next(requests_.back());
    const bool times_out = timeout > std::chrono::milliseconds::zero() && answer.delay > timeout;
    const std::chrono::milliseconds wait = times_out ? timeout : answer.delay;
    if (wait > std::chrono::milliseconds::zero()) {
      co_await wait_for(wait);
    }
    if (times_out) {
      co_return unexpected<std::error_code>(::asio::error::timed_out);
    }
    if (answer.error) {
      co_return unexpected<std::error_code>(answer.error);
    }
    co_return asio::http_response{answer.status, answer.headers, answer.body};
  }

  std::deque<http_answer> queue_;
  std::function<http_answer(const asio::http_request&)> otherwise_;
  std::vector<asio::http_request> requests_;

 private:
  http_answer next(const asio::http_request& request) {
    if (!queue_.empty()) {
      http_answer answer = std::move(queue_.front());
      queue_.pop_front();
      return answer;
    }
    if (otherwise_) {
      return otherwise_(request);
    }
    throw std::logic_error("statefun::testing::http_double: no answer scripted for " + request.method + " " +
                           request.target + " (attempt " + std::to_string(requests_.size()) + ")");
  }

  /// On the test's clock, or in real time outside a harness.
  static task<> wait_for(std::chrono::milliseconds wait) {
    const asio::detail::task_scope* scope = asio::detail::task_scope::current();
    if (scope != nullptr && scope->clock() != nullptr) {
      co_await scope->clock()->wait(wait);
      co_return;
    }
    ::asio::steady_timer timer(asio::current_executor(), wait);
    co_await timer.async_wait(asio::use_task);
  }
};

}  // namespace detail

/**
 * A scripted outside HTTP service. Make a client of it with `client()` and give that to the
 * function under test in place of the real one; the client then checks, frames, times out and
 * retries its calls as over a network, but each attempt is answered from the script: in order
 * from `answer()`, then by `otherwise()`. Delays and timeouts run on the test's clock. Every
 * attempt is recorded (`requests()`). An attempt with nothing scripted fails the invocation
 * with a `std::logic_error` that names the request.
 *
 * **Example**:
 * @code
 * statefun::testing::http_double scores;
 * scores.answer({.status = 503}).answer({.status = 200, .body = R"({"score": 90})"});
 * fns.bind("fraud/merchant", merchant_function{scores.client()});
 * ...
 * CHECK(scores.calls() == 2);
 * CHECK(scores.requests()[0].target == "/score/shop");
 * @endcode
 */
class http_double {
 public:
  /// How long `time_out()`'s answer takes: past any timeout a test would set.
  static constexpr std::chrono::milliseconds never = std::chrono::hours(24 * 365);

  /// A double with nothing scripted yet.
  http_double() : script_(std::make_shared<detail::http_script>()) {}

  /**
   * A client whose attempts this double answers (`base_url` gives the `Host` field; the
   * client may outlive the double). Give it to the function under test in place of its real
   * client.
   */
  [[nodiscard]] asio::http_client client(std::string_view base_url = "http://double.test",
                                         asio::client_options options = {}) const {
    return asio::http_client(::asio::any_io_executor{}, base_url, script_, std::move(options));
  }

  /// As `client(base_url, options)`, for code that also calls outside any task: such calls
  /// start on `executor`, as a real client's do.
  [[nodiscard]] asio::http_client client(::asio::any_io_executor executor, std::string_view base_url,
                                         asio::client_options options = {}) const {
    return asio::http_client(std::move(executor), base_url, script_, std::move(options));
  }

  /// Answers the next attempt (after the ones queued already) with `a`.
  http_double& answer(http_answer a) {
    script_->queue_.push_back(std::move(a));
    return *this;
  }
  /// Answers the next `times` attempts with `a`.
  http_double& answer(http_answer a, std::size_t times) {
    for (std::size_t i = 0; i < times; ++i) {
      script_->queue_.push_back(a);
    }
    return *this;
  }
  /// Fails the next attempt as a service that is down does: `connection_refused`.
  http_double& refuse() { return answer({.error = ::asio::error::connection_refused}); }
  /// Never answers the next attempt: it ends when the call's per-attempt timeout passes.
  http_double& time_out() { return answer({.delay = never}); }
  /// How attempts are answered once the queued answers are used up: `a` every time.
  http_double& otherwise(http_answer a) {
    script_->otherwise_ = [a = std::move(a)](const asio::http_request&) { return a; };
    return *this;
  }
  /// How attempts are answered once the queued answers are used up: as `answer_for` says.
  http_double& otherwise(std::function<http_answer(const asio::http_request&)> answer_for) {
    script_->otherwise_ = std::move(answer_for);
    return *this;
  }

  /// How many attempts the clients made (each retry counts).
  [[nodiscard]] std::size_t calls() const noexcept { return script_->requests_.size(); }
  /// Every attempt's request, in order (with the `Host` field the client added).
  [[nodiscard]] const std::vector<asio::http_request>& requests() const noexcept { return script_->requests_; }
  /// Answers still queued.
  [[nodiscard]] std::size_t queued() const noexcept { return script_->queue_.size(); }

 private:
  std::shared_ptr<detail::http_script> script_;
};

}  // namespace statefun::inline v0::testing
