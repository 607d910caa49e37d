#pragma once

/// @file
/// `http_endpoint`: functions behind an HTTP URL (any SDK), called as the runtime's async or
/// OkHttp transport would call them (docs/runtime_rules.md §1.2-1.6, rules 5-7).

#include <asio/any_io_executor.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/error.hpp>

#include <statefun/asio/async_run.hpp>
#include <statefun/asio/http_client.hpp>
#include <statefun/asio/sleep.hpp>
#include <statefun/codec/from_function.hpp>
#include <statefun/detail/http_grammar.hpp>
#include <statefun/local/detail/endpoint_url.hpp>
#include <statefun/local/detail/retry_policy.hpp>
#include <statefun/local/function_endpoint.hpp>
#include <statefun/local/module.hpp>
#include <statefun/observer.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <list>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace statefun::inline v0::local::detail {

/// How a successful answer's `Content-Type` is checked (rule 6).
enum class content_type_check {
  lenient,  ///< Netty: some comma-separated value equals `application/octet-stream`, any case
  strict,   ///< OkHttp: the whole header is exactly `application/octet-stream`
};

/// True if `response` carries the content type a transport accepts.
inline bool acceptable_content_type(const statefun::asio::http_response& response, content_type_check check) {
  namespace g = statefun::detail::http1;
  static constexpr std::string_view binary = "application/octet-stream";
  for (const auto& [name, value] : response.headers) {
    if (!g::iequals(name, "content-type")) {
      continue;
    }
    if (check == content_type_check::strict) {
      return value == binary;
    }
    if (g::list_contains(value, binary)) {
      return true;
    }
  }
  return false;
}

/**
 * One function type's URL. Requests go out as HTTP/1.1 POSTs with the Netty transport's header
 * set (less `Accept-Encoding`: we do not decompress, so we do not offer to), over pooled
 * keep-alive connections, one request per connection at a time. Failed attempts are retried
 * as the endpoint's transport would; when it would give up, the request fails (the run stops).
 */
class http_endpoint final : public function_endpoint {
 public:
  /**
   * @param url The expanded URL for this function type.
   * @param client Reaches `url`'s origin (shared by the types behind the same origin).
   * @param observer Told of each retry (the function type's observer), or null.
   * @throws std::invalid_argument for a URL the transport cannot use.
   */
  http_endpoint(::asio::any_io_executor executor, const endpoint_spec& spec, std::string url,
                statefun::asio::http_client client, bool strict_content_type,
                local_function_observer* observer = nullptr)
      : executor_(std::move(executor)),
        spec_(spec),
        url_(std::move(url)),
        target_(split_endpoint_url(url_, spec.transport).target),
        client_(std::move(client)),
        policy_(spec.transport),
        check_(strict_content_type || spec.transport == transport_kind::okhttp ? content_type_check::strict
                                                                               : content_type_check::lenient),
        observer_(observer) {}

  void send(std::string_view, std::string to_function, reply_to reply) override {
    const auto call_signal = in_flight_.emplace(in_flight_.end());
    auto complete = [this, call_signal, reply, url = url_](std::exception_ptr error, outcome result) {
      in_flight_.erase(call_signal);
      if (error) {
        reply.fail(url + ": " + describe_exception(error));
      } else if (result.ok) {
        reply.ok(std::move(result.text));
      } else {
        reply.fail(std::move(result.text));
      }
    };
    statefun::asio::async_run(executor_, call(std::move(to_function)),
                              ::asio::bind_cancellation_slot(call_signal->slot(), std::move(complete)));
  }

  [[nodiscard]] std::string describe() const override { return url_; }

  /// Cancels every call in flight: each then completes (failed) on the event loop.
  void cancel_calls() {
    for (::asio::cancellation_signal& signal : in_flight_) {
      signal.emit(::asio::cancellation_type::terminal);
    }
  }

  /// Calls sent and not completed yet.
  [[nodiscard]] std::size_t calls_in_flight() const noexcept { return in_flight_.size(); }

 private:
  static std::string describe_exception(const std::exception_ptr& error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      return std::string("the call failed: ") + e.what();
    } catch (...) {
      return "the call failed";
    }
  }

  struct outcome {
    bool ok = false;
    std::string text;  ///< the body, or why there is none
  };

  /// One attempt's verdict: an answer, or why not and whether to try again.
  struct attempt {
    std::optional<std::string> body;
    std::string failure;
    bool retry = false;
    local_retry_reason reason = local_retry_reason::io_error;
  };

  task<outcome> call(std::string body) {
    using steady = std::chrono::steady_clock;
    const auto deadline = steady::now() + spec_.call;
    std::string last_failure;
    for (int number = 1;; ++number) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      attempt result = co_await try_once(body, left);
      if (result.body) {
        co_return outcome{true, std::move(*result.body)};
      }
      if (!result.retry) {
        co_return outcome{false, url_ + ": " + result.failure + " (" + kind() + " transport: not retried)"};
      }
      const auto wait = policy_.backoff(number);
      const auto now_left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (now_left < std::chrono::milliseconds{1}) {
        co_return outcome{false, url_ + ": gave up after " + std::to_string(number) + " attempts, the call budget of " +
                                     std::to_string(spec_.call.count()) + " ms is used up; last failure: " +
                                     result.failure};
      }
      if (observer_ != nullptr) {
        observer_->endpoint_retried(result.reason);
      }
      co_await statefun::asio::sleep_for(std::min(wait, now_left));
    }
  }

  task<attempt> try_once(const std::string& body, std::chrono::milliseconds left) {
    // The async transport has no read timeout: an attempt may use what is left of the budget,
    // and running out ends the call (not retried). OkHttp gives each attempt (a clone of the
    // call) its own call and read timeouts; the deadline bounds only the backoff sleeps, so a
    // last attempt may end after it.
    const bool async = policy_.transport() == transport_kind::async;
    const auto timeout = std::max(std::chrono::milliseconds{1}, async ? left : std::min(spec_.call, spec_.read));
    statefun::asio::http_request request{"POST", target_, headers(), body};
    try {
      auto response = co_await client_.request(std::move(request), {.timeout = timeout, .retries = 0});
      if (response.status < 200 || response.status > 299) {
        co_return attempt{std::nullopt, "HTTP status " + std::to_string(response.status),
                          policy_.retries_status(response.status), local_retry_reason::status};
      }
      if (!acceptable_content_type(response, check_)) {
        const auto type = response.header("content-type");
        co_return attempt{std::nullopt,
                          "the answer's Content-Type is '" + std::string(type.value_or("(none)")) +
                              "', not application/octet-stream",
                          policy_.retries_bad_answer(), local_retry_reason::bad_answer};
      }
      codec::from_function_view check;
      if (const auto decoded = check.decode(response.body);
          !decoded && decoded.code != errc::invalid_mutation_type) {  // that one fails the job later
        co_return attempt{std::nullopt, "the answer is not a FromFunction (" + decoded.to_error().message() + ")",
                          policy_.retries_bad_answer(), local_retry_reason::bad_answer};
      }
      co_return attempt{std::move(response.body), {}, false};
    } catch (const std::system_error& e) {
      if (async && e.code() == ::asio::error::timed_out) {
        co_return attempt{std::nullopt, "no answer within the call budget (" + std::to_string(spec_.call.count()) + " ms)",
                          false};
      }
      if (e.code() == std::errc::protocol_error) {
        co_return attempt{std::nullopt, std::string("malformed HTTP response: ") + e.what(), async};
      }
      co_return attempt{std::nullopt, e.what(), true};
    }
  }

  std::vector<std::pair<std::string, std::string>> headers() const {
    return {{"Content-Type", "application/octet-stream"},
            {"Accept", "application/octet-stream"},
            {"Connection", "keep-alive"},
            {"User-Agent", policy_.transport() == transport_kind::async ? "statefun" : "okhttp/3.14.6"}};
  }

  [[nodiscard]] std::string kind() const { return policy_.transport() == transport_kind::async ? "async" : "okhttp"; }

  ::asio::any_io_executor executor_;
  endpoint_spec spec_;
  std::string url_;
  std::string target_;
  statefun::asio::http_client client_;
  retry_policy policy_;
  content_type_check check_;
  local_function_observer* observer_;
  /// One per call in flight (a list: each stays where it is while its call runs).
  std::list<::asio::cancellation_signal> in_flight_;
};

}  // namespace statefun::inline v0::local::detail
