#pragma once

// A lifetime counter in the style of cppcoro's tests: every construction, copy, move and
// destruction of a `counted` is tallied, so a test can prove that a coroutine frame destroyed
// its arguments and locals.

#include <atomic>

namespace statefun_test {

/// Counts its own constructions, copies, moves and destructions (thread-safe).
class counted {
 public:
  counted() noexcept { default_constructions_.fetch_add(1, std::memory_order_relaxed); }
  counted(const counted&) noexcept { copy_constructions_.fetch_add(1, std::memory_order_relaxed); }
  counted(counted&&) noexcept { move_constructions_.fetch_add(1, std::memory_order_relaxed); }
  counted& operator=(const counted&) noexcept = default;
  counted& operator=(counted&&) noexcept = default;
  ~counted() { destructions_.fetch_add(1, std::memory_order_relaxed); }

  /// Zeroes every counter; call at the start of each test.
  static void reset() noexcept {
    default_constructions_ = 0;
    copy_constructions_ = 0;
    move_constructions_ = 0;
    destructions_ = 0;
  }

  static int default_constructions() noexcept { return default_constructions_.load(); }
  static int copy_constructions() noexcept { return copy_constructions_.load(); }
  static int move_constructions() noexcept { return move_constructions_.load(); }
  static int destructions() noexcept { return destructions_.load(); }

  /// All constructions of any kind.
  static int constructions() noexcept {
    return default_constructions() + copy_constructions() + move_constructions();
  }

  /// Objects constructed and not yet destroyed.
  static int alive() noexcept { return constructions() - destructions(); }

 private:
  static inline std::atomic<int> default_constructions_{0};
  static inline std::atomic<int> copy_constructions_{0};
  static inline std::atomic<int> move_constructions_{0};
  static inline std::atomic<int> destructions_{0};
};

}  // namespace statefun_test
