#pragma once

/// @file
/// `log_limiter`: how the server keeps a flood of one kind of event (a client sending bad
/// requests in a loop) from flooding its log.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <statefun/config.hpp>

namespace statefun::inline v0::asio::detail {

/// How many events of one kind a window left out.
struct log_summary {
  std::string kind;
  std::size_t suppressed = 0;
};

/**
 * Lets through at most `burst` lines of one kind per `window`, the window starting at the
 * kind's first line; the others are counted, and when the window ends one line says how many
 * were left out (`log_summary`). Kinds are few and fixed (a 500, a refusal, an accept failure...), so they are
 * kept in a small vector. Not thread-safe: the caller locks.
 */
class log_limiter {
 public:
  using clock = std::chrono::steady_clock;

  log_limiter(std::size_t burst, clock::duration window) : burst_(burst), window_(window) {}

  /**
   * Whether a line of `kind` logged at `now` goes through. Summaries of windows that ended by
   * `now` are appended to `summaries` first (they are to be logged before the line).
   */
  bool admit(std::string_view kind, clock::time_point now, std::vector<log_summary>& summaries) {
    expire(now, summaries);
    for (entry& e : entries_) {
      if (e.kind == kind) {
        if (e.passed < burst_) {
          ++e.passed;
          return true;
        }
        ++e.suppressed;
        return false;
      }
    }
    if (burst_ == 0) {
      return true;  // no limit
    }
    entries_.push_back(entry{std::string(kind), now, 1, 0});
    return true;
  }

  /// Appends the summaries of windows that ended by `now` to `summaries`, and forgets them.
  void expire(clock::time_point now, std::vector<log_summary>& summaries) {
    std::erase_if(entries_, [&](const entry& e) {
      if (now - e.start < window_) {
        return false;
      }
      if (e.suppressed > 0) {
        summaries.push_back(log_summary{e.kind, e.suppressed});
      }
      return true;
    });
  }

  std::size_t burst() const noexcept { return burst_; }
  clock::duration window() const noexcept { return window_; }

 private:
  struct entry {
    std::string kind;
    clock::time_point start;
    std::size_t passed;
    std::size_t suppressed;
  };

  std::size_t burst_;
  clock::duration window_;
  std::vector<entry> entries_;
};

}  // namespace statefun::inline v0::asio::detail
