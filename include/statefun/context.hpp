#pragma once

/// @file
/// `context`: what a function can see and do during one invocation.

#include <statefun/address.hpp>
#include <statefun/cancellation_token.hpp>
#include <statefun/codec/from_function.hpp>
#include <statefun/egress.hpp>
#include <statefun/message_builder.hpp>
#include <statefun/storage.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace statefun::inline v0 {

namespace detail {

class durable_engine;

/// The effects of one batch, in the order the function produced them.
struct batch_effects {
  codec::from_function_writer writer;
  /// Tokens of delayed messages sent in this batch and not cancelled since.
  std::vector<std::string> pending_tokens;
  /// Effects of the batch by kind, for an observer (an increment each: cheaper than asking
  /// whether anyone observes).
  std::uint32_t messages = 0;
  std::uint32_t delayed_messages = 0;
  std::uint32_t cancellations = 0;
  std::uint32_t egress_records = 0;
  std::uint32_t replies = 0;
  /// The context refused an effect (and threw) in this batch.
  bool refused = false;

  void clear() noexcept {
    writer.clear();
    pending_tokens.clear();
    messages = delayed_messages = cancellations = egress_records = replies = 0;
    refused = false;
  }
};

inline codec::address_view view_of(const address& a) noexcept {
  return {a.type.namespace_name(), a.type.name(), a.id};
}

}  // namespace detail

/**
 * The invocation's view of the world: who it is, who called, its storage, and the effects it
 * can have. Effects reach the runtime only when the whole batch succeeds.
 */
class context {
 public:
  /// Used by the handler.
  context(const address& self, const std::optional<address>& caller, statefun::storage& storage,
          detail::batch_effects& effects) noexcept
      : self_(&self), caller_(&caller), storage_(&storage), effects_(&effects) {}

  /// The address of the function instance being invoked.
  [[nodiscard]] const address& self() const noexcept { return *self_; }
  /// The function that sent the message, or nothing when it came from an ingress.
  [[nodiscard]] const std::optional<address>& caller() const noexcept { return *caller_; }
  /// The persisted values of this instance.
  [[nodiscard]] statefun::storage& storage() const noexcept { return *storage_; }

  /// Sends `m` now.
  void send(const outgoing_message& m) {
    add_message(m);
    ++effects_->messages;
  }

  /**
   * Sends `value` to the function that sent the message being handled: the answer to a
   * request. It is a message like any other (StateFun has no replies on the wire).
   * @throws std::logic_error if the message came from an ingress: there is no one to answer.
   */
  template <detail::value_argument V>
  void reply(const V& value) {
    if (!caller_->has_value()) {
      effects_->refused = true;
      throw std::logic_error("statefun: " + self_->to_string() +
                             " cannot reply: the message came from an ingress, not from a function");
    }
    add_message(message_to(**caller_).value(value));
    ++effects_->replies;
  }

  /**
   * Sends `m` after `delay`.
   * @throws std::invalid_argument if `delay` is negative (the runtime would fail the job).
   */
  void send_after(std::chrono::milliseconds delay, const outgoing_message& m) {
    schedule(delay, m, {});
  }

  /**
   * Sends `m` after `delay`, cancellable with `token` until it is delivered.
   * @throws std::invalid_argument if `delay` is negative, or if this batch already sent a
   *         delayed message with `token` and has not cancelled it (the runtime would fail the
   *         job). A token still pending from an earlier batch cannot be seen from here.
   */
  void send_after(std::chrono::milliseconds delay, const outgoing_message& m,
                  const cancellation_token& token) {
    auto& pending = effects_->pending_tokens;
    if (std::find(pending.begin(), pending.end(), token.str()) != pending.end()) {
      effects_->refused = true;
      throw std::invalid_argument("statefun: cancellation token '" + token.str() +
                                  "' is already used by a delayed message of this batch");
    }
    schedule(delay, m, token.str());
    pending.push_back(token.str());
  }

  /// Cancels the delayed message sent with `token`, if it has not been delivered yet.
  void cancel_delayed_message(const cancellation_token& token) {
    auto& pending = effects_->pending_tokens;
    pending.erase(std::remove(pending.begin(), pending.end(), token.str()), pending.end());
    codec::delayed_view cancellation;
    cancellation.is_cancellation = true;
    cancellation.cancellation_token = token.str();
    effects_->writer.add_delayed(cancellation);
    ++effects_->cancellations;
  }

  /// Sends a record to an egress.
  void send_egress(const egress_message& e) {
    effects_->writer.add_egress(
        {e.egress().namespace_name(), e.egress().name(), {e.value_type(), true, e.value()}});
    ++effects_->egress_records;
  }

 private:
  friend class detail::durable_engine;

  /// A durable flow's answer to the caller that started it (not to this invocation's caller):
  /// sent as `send` sends, counted as a reply as `reply` counts one.
  void send_reply(const outgoing_message& m) {
    add_message(m);
    ++effects_->replies;
  }

  /// A durable flow's reply that has no one to go to: refused, as `reply` refuses one.
  void refuse_effect() noexcept { effects_->refused = true; }

  void add_message(const outgoing_message& m) {
    effects_->writer.add_message({detail::view_of(m.target()), {m.value_type(), true, m.value()}});
  }

  void schedule(std::chrono::milliseconds delay, const outgoing_message& m, std::string_view token) {
    if (delay < std::chrono::milliseconds::zero()) {
      effects_->refused = true;
      throw std::invalid_argument("statefun: delay of " + std::to_string(delay.count()) +
                                  " ms for a message to '" + m.target().to_string() +
                                  "' is negative");
    }
    codec::delayed_view delayed;
    delayed.delay_ms = delay.count();
    delayed.target = detail::view_of(m.target());
    delayed.argument = {m.value_type(), true, m.value()};
    delayed.cancellation_token = token;
    effects_->writer.add_delayed(delayed);
    ++effects_->delayed_messages;
  }

  const address* self_;
  const std::optional<address>* caller_;
  statefun::storage* storage_;
  detail::batch_effects* effects_;
};

}  // namespace statefun::inline v0
