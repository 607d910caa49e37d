#pragma once

/// @file
/// `retry_policy`: which failed attempts the runtime's HTTP transports retry, and how long they
/// wait in between (docs/runtime_rules.md §1.5, rule 7).

#include <statefun/local/module.hpp>

#include <algorithm>
#include <chrono>

namespace statefun::inline v0::local::detail {

class retry_policy {
 public:
  explicit retry_policy(transport_kind transport) noexcept : transport_(transport) {}

  [[nodiscard]] transport_kind transport() const noexcept { return transport_; }

  /// The async transport retries every status; OkHttp only 408, 409, 420, 429, 499, 500 and >= 500.
  [[nodiscard]] bool retries_status(int status) const noexcept {
    if (transport_ == transport_kind::async) {
      return true;
    }
    switch (status) {
      case 408: case 409: case 420: case 429: case 499: return true;
      default: return status >= 500;
    }
  }

  /// A 2xx answer with the wrong content type or a body that does not parse: the async transport
  /// retries it; OkHttp checks after its retry loop, so the call fails at once.
  [[nodiscard]] bool retries_bad_answer() const noexcept { return transport_ == transport_kind::async; }

  /// The wait after failed attempt number `attempt` (1 for the first): async 4, 8, 16 ms...;
  /// OkHttp 10, 20, 40 ms... (the caller caps it by the budget left).
  [[nodiscard]] std::chrono::milliseconds backoff(int attempt) const noexcept {
    const int doublings = std::min(attempt - 1, 30);
    const std::chrono::milliseconds first{transport_ == transport_kind::async ? 4 : 10};
    return first * (std::int64_t{1} << doublings);
  }

 private:
  transport_kind transport_;
};

}  // namespace statefun::inline v0::local::detail
