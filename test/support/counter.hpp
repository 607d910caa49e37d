#pragma once

#include <statefun/context.hpp>
#include <statefun/message.hpp>
#include <statefun/value_spec.hpp>

#include <cstdint>

namespace statefun_test {

/// The state of bench/counter, the function the workloads (test/data/workloads/) target.
inline constexpr statefun::value_spec<std::int32_t> count{"count"};

/// bench/counter, as bench/dispatch.cpp binds it: one more in `count` per message.
inline void counter(statefun::context& ctx, const statefun::message&) {
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
}

}  // namespace statefun_test
