#pragma once

// The merchant function's way to the outside merchant-score service (merchant_score_service.py):
// GET /score/<merchant> answers {"merchant": "...", "score": 0..100}. Each attempt has a
// timeout and failed attempts are retried; when the service stays slow, down or broken, the
// answer is a neutral score flagged unknown, so that a transaction is never held up by it.

#include "types.hpp"

#include <statefun/asio/http_client.hpp>
#include <statefun/task.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace fraud {

/// How the merchant function calls the service: one attempt, then `retries` more.
struct score_service_options {
  std::chrono::milliseconds timeout{500};  // per attempt
  int retries{2};
  std::chrono::milliseconds backoff{50};  // before the first retry; doubles after each
};

/// The score of a merchant the service could not tell us about.
inline constexpr merchant_score unknown_merchant{50, false};

class merchant_score_client {
 public:
  /// `base_url`: the service's origin, such as "http://merchant-score:8080".
  merchant_score_client(::asio::any_io_executor executor, std::string_view base_url,
                        score_service_options options = {})
      : http_(std::move(executor), base_url),
        call_{.timeout = options.timeout, .retries = options.retries, .backoff = options.backoff} {}

  /// A client of the service through `http` (in unit tests: a statefun::testing::http_double's
  /// client, see functions_unit_test.cpp).
  explicit merchant_score_client(statefun::asio::http_client http, score_service_options options = {})
      : http_(std::move(http)),
        call_{.timeout = options.timeout, .retries = options.retries, .backoff = options.backoff} {}

  /// The merchant's score, or `unknown_merchant` when the service gives none in time.
  statefun::task<merchant_score> score_of(std::string merchant) {
    std::optional<merchant_score> score;
    try {
      const statefun::asio::http_response reply = co_await http_.get("/score/" + path_segment(merchant), call_);
      score = parse(reply);
    } catch (const std::system_error& e) {
      if (e.code() == ::asio::error::operation_aborted) {
        throw;  // the invocation itself was cancelled: nobody is waiting for an answer
      }
    }
    if (!score) {
      ++unavailable_;
      co_return unknown_merchant;
    }
    co_return *score;
  }

  /// How many times `score_of` answered `unknown_merchant`.
  [[nodiscard]] std::size_t unavailable() const noexcept { return unavailable_; }

 private:
  /// A score from a 200 answer {"score": 0..100, ...}; nothing from anything else.
  static std::optional<merchant_score> parse(const statefun::asio::http_response& reply) {
    if (reply.status != 200) {
      return std::nullopt;
    }
    const auto body = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("score") || !body["score"].is_number_integer()) {
      return std::nullopt;
    }
    const auto score = body["score"].get<std::int64_t>();
    if (score < 0 || score > 100) {
      return std::nullopt;
    }
    return merchant_score{static_cast<std::int32_t>(score), true};
  }

  /// `text` percent-encoded as one URL path segment (merchant names come from Kafka records).
  static std::string path_segment(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      const bool unreserved = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                              (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
      if (unreserved) {
        out += c;
      } else {
        out += '%';
        out += hex[byte >> 4];
        out += hex[byte & 0xF];
      }
    }
    return out;
  }

  statefun::asio::http_client http_;
  statefun::asio::call_options call_;
  std::atomic<std::size_t> unavailable_{0};  // atomic: a server may run the function on many threads
};

}  // namespace fraud
