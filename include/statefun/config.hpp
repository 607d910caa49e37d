#pragma once

/// @file
/// Version macros and the ABI namespace of statefun-cpp.
///
/// Every declaration lives in `statefun::v0` (an inline namespace), so two builds of the
/// library with incompatible layouts cannot be linked together silently.

#include <version>

/// The major version: a change breaks the API.
#define STATEFUN_VERSION_MAJOR 0
/// The minor version: additions (before 1.0, changes too).
#define STATEFUN_VERSION_MINOR 1
/// The patch version: fixes.
#define STATEFUN_VERSION_PATCH 0

/// `MAJOR * 10000 + MINOR * 100 + PATCH`, for `#if` comparisons.
#define STATEFUN_VERSION \
  (STATEFUN_VERSION_MAJOR * 10000 + STATEFUN_VERSION_MINOR * 100 + STATEFUN_VERSION_PATCH)

#if defined(__cpp_impl_coroutine) && __cpp_impl_coroutine >= 201902L
#else
#error "statefun-cpp needs C++20 coroutines (-std=c++20)"
#endif

namespace statefun::inline v0 {

/// The library version as a string, for logs and diagnostics.
inline constexpr const char* version_string = "0.1.0";

}  // namespace statefun::inline v0
