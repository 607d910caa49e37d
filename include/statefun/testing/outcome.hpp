#pragma once

/// @file
/// `statefun::testing::outcome`: what one invocation (or one `advance`) of a function did.

#include <statefun/address.hpp>
#include <statefun/config.hpp>
#include <statefun/error.hpp>
#include <statefun/testing/detail/outcome_state.hpp>
#include <statefun/testing/records.hpp>
#include <statefun/type.hpp>
#include <statefun/value_spec.hpp>

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace statefun::inline v0::testing {

/**
 * The effects of one invocation, in the order the function produced them: messages, delayed
 * messages, cancellations, egress records, replies, and the states it wrote or removed.
 *
 * A coroutine function that waits on the test's clock leaves its outcome `pending()` until the
 * test advances the clock past the wait; the same object then holds the effects. An outcome
 * of a function that threw is `failed()`: reading its effects rethrows the function's
 * exception (the runtime drops the effects of a failed batch, and so does the harness).
 *
 * **Example**:
 * @code
 * auto out = greeter.receive("hi", caller);
 * CHECK(out.reply<std::string>() == "hello, hi");
 * CHECK(out.state(seen) == 1);
 * @endcode
 */
class outcome {
 public:
  /// (Used by the harness.)
  explicit outcome(std::shared_ptr<const detail::outcome_state> state) noexcept : state_(std::move(state)) {}

  /// True while the function waits on the test's clock: advance it.
  [[nodiscard]] bool pending() const noexcept { return state_->now == detail::outcome_state::status::pending; }
  /// True when the function threw (or the harness refused the batch).
  [[nodiscard]] bool failed() const noexcept { return state_->now == detail::outcome_state::status::failed; }
  /// What the function threw, or null.
  [[nodiscard]] std::exception_ptr exception() const noexcept { return state_->error; }
  /// The `what()` of what the function threw; empty when it did not.
  [[nodiscard]] const std::string& error() const noexcept { return state_->error_message; }
  /// Throws what the function threw, if it threw (for `CHECK_THROWS_AS(out.rethrow(), E)`).
  void rethrow() const {
    if (state_->error) {
      std::rethrow_exception(state_->error);
    }
  }

  /// The messages sent now, replies and a durable function's calls among them.
  [[nodiscard]] const std::vector<sent_message>& messages() const { return checked().messages; }
  /// The messages sent with `send_after`.
  [[nodiscard]] const std::vector<delayed_message>& delayed() const { return checked().delayed; }
  /// The tokens of `cancel_delayed_message` calls.
  [[nodiscard]] const std::vector<std::string>& cancellations() const { return checked().cancellations; }
  /// The egress records.
  [[nodiscard]] const std::vector<egress_record>& egress() const { return checked().egress; }
  /// A durable function's calls issued in this outcome (their requests; answer them with
  /// `instance::answer`).
  [[nodiscard]] const std::vector<sent_message>& calls() const { return checked().calls; }

  /// The messages sent to the caller (StateFun has no replies on the wire: a reply is a
  /// message to the caller).
  [[nodiscard]] std::vector<sent_message> replies() const {
    const detail::outcome_state& s = checked();
    std::vector<sent_message> out;
    if (s.caller) {
      std::copy_if(s.messages.begin(), s.messages.end(), std::back_inserter(out),
                   [&s](const sent_message& m) { return m.target == *s.caller; });
    }
    return out;
  }

  /**
   * The one reply, decoded as `R`.
   * @throws std::logic_error unless exactly one message went to the caller.
   * @throws statefun::type_mismatch if it is not an `R`.
   */
  template <typed R>
  [[nodiscard]] R reply() const {
    const auto all = replies();
    if (all.size() != 1) {
      throw std::logic_error("statefun::testing: expected one reply, the function sent " + std::to_string(all.size()));
    }
    return all.front().as<R>();
  }

  /// The names of the states written, in declaration order of their first write.
  [[nodiscard]] const std::vector<std::string>& written_states() const { return checked().written; }
  /// The names of the states removed.
  [[nodiscard]] const std::vector<std::string>& removed_states() const { return checked().removed; }

  /// True when the state of `spec` was written.
  template <typed T>
  [[nodiscard]] bool written(const value_spec<T>& spec) const {
    const auto& names = checked().written;
    return std::find(names.begin(), names.end(), spec.name()) != names.end();
  }
  /// True when the state of `spec` was removed.
  template <typed T>
  [[nodiscard]] bool removed(const value_spec<T>& spec) const {
    const auto& names = checked().removed;
    return std::find(names.begin(), names.end(), spec.name()) != names.end();
  }

  /**
   * The state's value after the invocation, or nothing if it holds none.
   * @throws std::invalid_argument if the function does not declare `spec`.
   */
  template <typed T>
  [[nodiscard]] std::optional<T> state(const value_spec<T>& spec) const {
    for (const detail::state_slot& slot : checked().state_after) {
      if (slot.name == spec.name()) {
        if (!slot.present) {
          return std::nullopt;
        }
        return statefun::message(slot.type, slot.bytes, true).as<T>();
      }
    }
    throw std::invalid_argument("statefun::testing: state '" + std::string(spec.name()) + "' is not declared");
  }

 private:
  const detail::outcome_state& checked() const {
    if (pending()) {
      throw std::logic_error(
          "statefun::testing: the invocation still waits on the test's clock: advance it first");
    }
    rethrow();
    return *state_;
  }

  std::shared_ptr<const detail::outcome_state> state_;
};

}  // namespace statefun::inline v0::testing
