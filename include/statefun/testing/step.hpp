#pragma once

/// @file
/// `statefun::testing::step`: one await of a durable function's flow, as a test sees it.

#include <statefun/address.hpp>
#include <statefun/config.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace statefun::inline v0::testing {

/// One await of a durable flow (`call`, `sleep`, `run`, `next_message`), in the order issued.
struct step {
  /// Which await it is.
  enum class kind : std::uint8_t {
    call,          ///< `ctx.call`
    sleep,         ///< `ctx.sleep`
    run,           ///< `ctx.run`
    next_message,  ///< `ctx.next_message`
  };
  /// Where it stands.
  enum class status : std::uint8_t {
    pending,    ///< issued, not completed
    done,       ///< completed with a value
    failed,     ///< completed with an error (a `run` that threw, a call answered wrongly)
    timed_out,  ///< a call whose timeout fired first
    abandoned,  ///< lost a `first()`, or its flow ended without awaiting it
  };

  /// The flow it belongs to (1, 2, ... per address).
  std::uint64_t flow = 0;
  /// Its place in the flow (1, 2, ...).
  std::uint32_t number = 0;
  /// Which await it is.
  kind what = kind::call;
  /// A call's target.
  std::optional<address> target;
  /// A `run`'s name.
  std::string name;
  /// A sleep's duration, or a call's timeout (zero: none).
  std::chrono::milliseconds duration{};
  /// Where it stood when last seen (steps of a flow that ended keep their last status).
  status state = status::pending;
};

}  // namespace statefun::inline v0::testing
