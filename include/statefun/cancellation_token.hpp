#pragma once

/// @file
/// `cancellation_token`: the name under which a delayed message can be cancelled.

#include <statefun/config.hpp>
#include <statefun/detail/utf8.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace statefun::inline v0 {

/**
 * Names a delayed message so that `context::cancel_delayed_message` can cancel it.
 *
 * The runtime fails the job on an empty token, and cannot read one that is not UTF-8, so such
 * tokens are refused here.
 */
class cancellation_token {
 public:
  /// @throws std::invalid_argument if `token` is empty or not valid UTF-8.
  explicit cancellation_token(std::string token) : token_(std::move(token)) {
    if (token_.empty()) {
      throw std::invalid_argument("statefun: a cancellation token must not be empty");
    }
    detail::require_utf8(token_, "the cancellation token");
  }

  /// The token's text.
  [[nodiscard]] const std::string& str() const noexcept { return token_; }
  /// Equal when the texts are.
  friend bool operator==(const cancellation_token&, const cancellation_token&) = default;

 private:
  std::string token_;
};

}  // namespace statefun::inline v0
