#pragma once

/// @file
/// `durable_options`: what `functions::bind` takes for a durable function, and the name of the
/// state durable functions reserve. Kept apart from durable.hpp so that `functions` can name them
/// without compiling the durable engine (include <statefun/durable.hpp> to bind durable functions).

#include <chrono>
#include <cstddef>
#include <string_view>

namespace statefun::inline v0 {

/// How a durable function keeps its journal and waits for calls.
struct durable_options {
  /// How long a call waits for its reply unless the call says otherwise. A wait that never
  /// ends (a lost reply, calls in a cycle) then ends as a `call_timeout` instead of silently.
  std::chrono::milliseconds call_timeout = std::chrono::minutes(1);
  /// The largest journal (encoded) an address may keep. A batch that would leave a bigger one
  /// fails with `journal_full`; the runtime then retries it as any failed batch.
  std::size_t max_journal_bytes = 1024 * 1024;
};

namespace detail {

/// The reserved state holding a durable function's journal, and its type name (`bind` refuses
/// the name for any function's own state).
inline constexpr std::string_view journal_state_name = "statefun_cpp_journal";
/// The journal state's type name.
inline constexpr std::string_view journal_type_name = "io.statefun_cpp.durable/journal";

}  // namespace detail

}  // namespace statefun::inline v0
