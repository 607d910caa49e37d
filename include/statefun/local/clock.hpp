#pragma once

/// @file
/// `local::clock`: the processing time the local runtime reads, real or virtual.

#include <statefun/config.hpp>

#include <chrono>
#include <stdexcept>

namespace statefun::inline v0::local {

/**
 * The runtime's processing-time clock: it decides when delayed messages fall due and when state
 * expires (docs/runtime_rules.md §2.9, §2.10).
 *
 * A real clock follows `std::chrono::steady_clock`. A virtual clock stands still until told to
 * move (`advance`), so a test can say "61 seconds later" and run in microseconds; the runtime
 * jumps it to the next due delayed message when asked to run until quiescent.
 */
class clock {
 public:
  /// The steady clock's duration.
  using duration = std::chrono::steady_clock::duration;
  /// A point on the steady clock's time line (virtual time too).
  using time_point = std::chrono::steady_clock::time_point;

  /// Follows the steady clock.
  [[nodiscard]] static clock real() noexcept { return clock(false); }
  /// Stands still at an arbitrary start until advanced.
  [[nodiscard]] static clock virtual_time() noexcept { return clock(true); }

  /// True for `virtual_time()`.
  [[nodiscard]] bool is_virtual() const noexcept { return virtual_; }

  /// The current time: the steady clock's, or where a virtual clock was advanced to.
  [[nodiscard]] time_point now() const noexcept { return virtual_ ? now_ : std::chrono::steady_clock::now(); }

  /**
   * Moves a virtual clock forward by `by`.
   * @throws std::logic_error on a real clock, or for a negative `by` (time never goes back).
   */
  void advance(duration by) {
    if (!virtual_) {
      throw std::logic_error("statefun::local::clock: only a virtual clock can be advanced");
    }
    if (by < duration::zero()) {
      throw std::logic_error("statefun::local::clock: cannot go back in time");
    }
    now_ += by;
  }

  /// Moves a virtual clock to `when`, if that is later than now.
  void advance_to(time_point when) {
    if (when > now()) {
      advance(when - now());
    }
  }

 private:
  explicit clock(bool is_virtual) noexcept : virtual_(is_virtual) {}

  bool virtual_;
  // A virtual clock starts a day after the epoch: far enough that subtracting a TTL or a
  // timeout never underflows.
  time_point now_ = time_point{} + std::chrono::hours{24};
};

}  // namespace statefun::inline v0::local
