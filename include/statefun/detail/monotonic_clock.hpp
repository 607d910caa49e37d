#pragma once

/// @file
/// `monotonic_ns`: the clock the handler times batches with, for its observer.

#include <chrono>
#include <cstdint>

#if defined(__unix__) || defined(__APPLE__)
#include <time.h>
#endif

namespace statefun::inline v0::detail {

/**
 * Nanoseconds on a monotonic clock, from an unspecified start: only differences mean
 * something. On POSIX, `clock_gettime(CLOCK_MONOTONIC)` called directly (the clock libstdc++'s
 * `steady_clock` reads): `steady_clock::now()` is an out-of-line library call around it, which
 * a batch timed with metrics on would pay twice.
 */
inline std::int64_t monotonic_ns() noexcept {
#if defined(CLOCK_MONOTONIC)
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
#else
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
#endif
}

}  // namespace statefun::inline v0::detail
