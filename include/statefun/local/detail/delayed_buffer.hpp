#pragma once

/// @file
/// `delayed_buffer`: messages waiting for their due time, and the index of their cancellation
/// tokens (docs/runtime_rules.md §2.10, rules 19 and 20).

#include <statefun/local/clock.hpp>
#include <statefun/local/detail/envelope.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace statefun::inline v0::local::detail {

/**
 * Delayed messages in due-time order (equal due times in the order they were scheduled), each
 * filed under its sender's key. A token names at most one *pending* message per sender key;
 * once that message fires or is cancelled the token is free again. Copyable: it is part of a
 * snapshot.
 */
class delayed_buffer {
 public:
  using time_point = clock::time_point;

  /// False (and nothing scheduled) if `token` already names a pending message of `sender_key`.
  bool schedule(time_point due, std::string sender_key, std::string token, envelope message) {
    const key at{due, next_sequence_++};
    if (!token.empty()) {
      if (!tokens_.emplace(std::pair{sender_key, token}, at).second) {
        return false;
      }
    }
    by_due_.emplace(at, entry{std::move(sender_key), std::move(token), std::move(message)});
    return true;
  }

  /// Removes the pending message `token` of `sender_key`; false if there is none (a no-op).
  bool cancel(const std::string& sender_key, std::string_view token) {
    const auto it = tokens_.find(std::pair{sender_key, std::string(token)});
    if (it == tokens_.end()) {
      return false;
    }
    by_due_.erase(it->second);
    tokens_.erase(it);
    return true;
  }

  /// When the earliest message falls due.
  [[nodiscard]] std::optional<time_point> next_due() const {
    return by_due_.empty() ? std::nullopt : std::optional(by_due_.begin()->first.due);
  }

  /// Takes the earliest message if it is due at `now`.
  std::optional<envelope> pop_due(time_point now) {
    if (by_due_.empty() || by_due_.begin()->first.due > now) {
      return std::nullopt;
    }
    auto node = by_due_.extract(by_due_.begin());
    entry& e = node.mapped();
    if (!e.token.empty()) {
      tokens_.erase(std::pair{std::move(e.sender_key), std::move(e.token)});
    }
    return std::move(e.message);
  }

  [[nodiscard]] std::size_t size() const noexcept { return by_due_.size(); }
  [[nodiscard]] bool empty() const noexcept { return by_due_.empty(); }

 private:
  struct key {
    time_point due;
    std::uint64_t sequence;
    friend auto operator<=>(const key&, const key&) = default;
  };
  struct entry {
    std::string sender_key;
    std::string token;
    envelope message;
  };

  std::map<key, entry> by_due_;
  std::map<std::pair<std::string, std::string>, key> tokens_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace statefun::inline v0::local::detail
