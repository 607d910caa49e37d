#pragma once

/// @file
/// `statefun::testing::instance`: one function instance (an address) under test, called
/// directly with typed messages and given state; its effects come back typed.

#include <asio/any_io_executor.hpp>

#include <statefun/address.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/config.hpp>
#include <statefun/detail/durable_journal.hpp>
#include <statefun/detail/encoded_value.hpp>
#include <statefun/durable.hpp>
#include <statefun/egress.hpp>
#include <statefun/functions.hpp>
#include <statefun/local/detail/egress_decoding.hpp>
#include <statefun/request_reply_handler.hpp>
#include <statefun/testing/clock.hpp>
#include <statefun/testing/detail/outcome_state.hpp>
#include <statefun/testing/detail/run_batch.hpp>
#include <statefun/testing/outcome.hpp>
#include <statefun/testing/records.hpp>
#include <statefun/testing/step.hpp>
#include <statefun/testing/typed_value.hpp>
#include <statefun/type.hpp>
#include <statefun/value_spec.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace statefun::inline v0::testing {

/**
 * One function instance under test: the function bound to `self.type` in a `functions`
 * registry, at the address `self`, with its own state, clock and executor.
 *
 * `receive` calls the function with a typed message (from an ingress, or from a caller) and
 * returns its `outcome`. Underneath, the harness runs the SDK's own request handler, exactly
 * as a runtime's request would, with every declared state attached (so no missing-state round
 * trip); the test never sees protobuf. State written by one invocation is there for the next,
 * as at the runtime; a failed invocation leaves it as it was.
 *
 * Time stands still unless the test moves it: `advance` ends the function's timed waits due
 * by then (coroutine functions, on `clock()`), and delivers the delayed messages the instance
 * sent itself (`send_after` to self, a durable function's sleeps and call timeouts) once due.
 * A durable function's calls appear in `outcome::calls()`; `answer` delivers their replies,
 * and `steps()` shows its flow's steps.
 *
 * **Example**:
 * @code
 * statefun::testing::instance greeter(fns, {"example/greeter", "ann"});
 * greeter.set(seen, 2);
 * auto out = greeter.receive("hi");
 * CHECK(out.state(seen) == 3);
 * CHECK(out.egress().at(0).kafka->value_as<std::string>() == "Hello ann, third time!");
 * @endcode
 */
class instance {
 public:
  /**
   * The instance at `self` of the function `fns` binds to `self.type`. `fns` must outlive it.
   * The function is looked up at the first use, so that `fns` may be filled after (a test
   * fixture's members, say).
   * @throws std::invalid_argument (at the first use) if no function is bound to that type.
   */
  instance(const functions& fns, address self) : self_(std::move(self)), fns_(&fns), handler_(fns.handler()) {}
  /// Not copyable: its invocations point into it.
  instance(const instance&) = delete;
  /// Not copyable: its invocations point into it.
  instance& operator=(const instance&) = delete;
  /// Ends what still waits: each pending wait fails with `operation_aborted`.
  ~instance() { clock_.shutdown(); }

  /// The instance's address.
  [[nodiscard]] const address& self() const noexcept { return self_; }
  /// The clock its waits run on.
  [[nodiscard]] testing::clock& clock() noexcept { return clock_; }
  /// The executor it runs on (for an `http_client` the function uses, say).
  [[nodiscard]] ::asio::any_io_executor executor() noexcept { return clock_.executor(); }

  /**
   * Gives the state of `spec` a value, as if an earlier invocation had written it.
   * @throws std::invalid_argument if the function does not declare `spec`.
   */
  template <typed T>
  instance& set(const value_spec<T>& spec, const std::type_identity_t<T>& value) {
    state_slot& slot = find(spec.name(), spec.type_name());
    slot.present = true;
    slot.bytes.clear();
    type<T>::encode(value, slot.bytes);
    return *this;
  }

  /// Empties the state of `spec`. @throws std::invalid_argument if it is not declared.
  template <typed T>
  instance& remove(const value_spec<T>& spec) {
    state_slot& slot = find(spec.name(), spec.type_name());
    slot.present = false;
    slot.bytes.clear();
    return *this;
  }

  /// The state's value now, or nothing. @throws std::invalid_argument if it is not declared.
  template <typed T>
  [[nodiscard]] std::optional<T> get(const value_spec<T>& spec) const {
    const state_slot& slot = const_cast<instance*>(this)->find(spec.name(), spec.type_name());
    if (!slot.present) {
      return std::nullopt;
    }
    return type<T>::decode(slot.bytes);
  }

  /**
   * Calls the function with `value` (a string literal travels as a string), from `caller`, or
   * from an ingress when there is none.
   * @throws std::logic_error if an earlier invocation is still pending (advance the clock).
   */
  template <statefun::detail::sendable V>
  outcome receive(const V& value, std::optional<address> caller = std::nullopt) {
    return receive(typed_value::of(value), std::move(caller));
  }

  /// Calls the function with a value already encoded (any type name, or none).
  outcome receive(typed_value value, std::optional<address> caller = std::nullopt) {
    auto into = std::make_shared<detail::outcome_state>();
    into->caller = caller;
    std::vector<invocation> batch;
    batch.push_back({std::move(caller), std::move(value)});
    run(std::move(batch), into);
    return outcome(into);
  }

  /**
   * Answers a durable function's call (from `outcome::calls()`): `reply` comes from the
   * call's target, as the callee's reply would.
   */
  template <statefun::detail::sendable V>
  outcome answer(const sent_message& call, const V& reply) {
    return receive(typed_value::of(reply), call.target);
  }

  /**
   * Moves the clock `by` forward. In the order of their times, it ends the function's timed
   * waits (a pending invocation goes on) and delivers the delayed messages this instance sent
   * itself that are due and not cancelled (those due together, as one batch).
   * @return The effects of the deliveries (none if nothing was due). An invocation that was
   *         pending before completes its own outcome.
   */
  outcome advance(clock::duration by) {
    const clock::time_point until = clock_.now() + std::max(by, clock::duration::zero());
    auto into = std::make_shared<detail::outcome_state>();
    for (;;) {
      const std::optional<clock::time_point> wait = clock_.next_due();
      const std::optional<clock::time_point> delivery = next_delivery();
      if (wait && *wait <= until && (!delivery || *wait <= *delivery || busy_)) {
        clock_.advance_to(*wait);
        continue;
      }
      if (delivery && *delivery <= until && !busy_ && into->now != detail::outcome_state::status::failed) {
        clock_.advance_to(*delivery);
        deliver_due(into);
        continue;
      }
      break;
    }
    clock_.advance_to(until);
    return outcome(into);
  }

  /// The steps of the durable function's flows so far, in the order issued (empty for other
  /// functions). A step of a flow that ended is shown as it ended.
  [[nodiscard]] const std::vector<step>& steps() const noexcept { return steps_; }

  /// The delayed messages this instance sent itself that are not delivered or cancelled yet.
  [[nodiscard]] std::vector<delayed_message> scheduled() const {
    std::vector<delayed_message> out;
    for (const pending_delivery& p : scheduled_) {
      out.push_back({self_, std::chrono::duration_cast<std::chrono::milliseconds>(p.due - clock_.now()), p.token,
                     p.value});
    }
    return out;
  }

 private:
  using state_slot = detail::state_slot;

  /// How a durable flow's own wake tokens begin (durable_engine::token): hidden from outcomes.
  static constexpr std::string_view wake_token_prefix = "statefun-cpp/";

  struct invocation {
    std::optional<address> caller;
    typed_value value;
  };

  /// A delayed message to this instance, waiting for its time.
  struct pending_delivery {
    clock::time_point due;
    std::uint64_t order;
    std::string token;
    typed_value value;
  };

  state_slot& find(std::string_view name, std::string_view type) {
    bound();
    for (state_slot& slot : slots_) {
      if (slot.name == name) {
        if (slot.type != type) {
          throw type_mismatch("statefun::testing: state '" + std::string(name) + "' of function '" +
                              self_.type.str() + "' is declared as '" + slot.type + "', not '" + std::string(type) +
                              "'");
        }
        return slot;
      }
    }
    throw std::invalid_argument("statefun::testing: state '" + std::string(name) + "' is not declared for function '" +
                                self_.type.str() + "'");
  }

  /// The bound function, looked up (and its states laid out) at the first use.
  const statefun::detail::bound_function& bound() {
    if (bound_ == nullptr) {
      bound_ = fns_->find(self_.type.str());
      if (bound_ == nullptr) {
        throw std::invalid_argument("statefun::testing: no function is bound to '" + self_.type.str() + "'");
      }
      for (const state_spec& spec : bound_->specs) {
        slots_.push_back({std::string(spec.name), std::string(spec.type_name), false, {}});
      }
    }
    return *bound_;
  }

  [[nodiscard]] bool durable() const noexcept { return bound_ != nullptr && static_cast<bool>(bound_->run_durable); }

  [[nodiscard]] std::optional<clock::time_point> next_delivery() const {
    std::optional<clock::time_point> first;
    for (const pending_delivery& p : scheduled_) {
      if (!first || p.due < *first) {
        first = p.due;
      }
    }
    return first;
  }

  /// Delivers the delayed messages due now, in the order they were sent, as one batch.
  void deliver_due(const std::shared_ptr<detail::outcome_state>& into) {
    std::vector<pending_delivery> due;
    std::vector<pending_delivery> later;
    for (pending_delivery& p : scheduled_) {
      (p.due <= clock_.now() ? due : later).push_back(std::move(p));
    }
    scheduled_ = std::move(later);
    std::sort(due.begin(), due.end(), [](const pending_delivery& a, const pending_delivery& b) {
      return a.due != b.due ? a.due < b.due : a.order < b.order;
    });
    std::vector<invocation> batch;
    for (pending_delivery& p : due) {
      batch.push_back({self_, std::move(p.value)});
    }
    if (into->caller == std::nullopt) {
      into->caller = self_;
    }
    run(std::move(batch), into);
  }

  /// Runs one batch through the SDK's handler; `into` gets its effects when it ends.
  void run(std::vector<invocation> batch, const std::shared_ptr<detail::outcome_state>& into) {
    bound();
    if (busy_) {
      throw std::logic_error("statefun::testing: " + self_.to_string() +
                             " still runs an earlier invocation, waiting on the test's clock: advance it first");
    }
    codec::invocation_batch_view request;
    request.target = {self_.type.namespace_name(), self_.type.name(), self_.id};
    for (const state_slot& slot : slots_) {
      if (slot.present) {
        request.states.push_back({slot.name, true, {slot.type, true, slot.bytes}});
      } else {
        request.states.push_back({slot.name, false, {}});
      }
    }
    for (const invocation& inv : batch) {
      std::optional<codec::address_view> caller;
      if (inv.caller) {
        caller = codec::address_view{inv.caller->type.namespace_name(), inv.caller->type.name(), inv.caller->id};
      }
      request.invocations.push_back(
          {caller, {inv.value.type_name(), inv.value.has_value(), inv.value.bytes()}});
    }
    request_.clear();
    request.encode(request_);
    batch_ = std::move(batch);
    journal_before_ = journal_now();
    if (durable() && journal_before_.flow && !journal_before_.flow->trigger.caller.empty() &&
        (into->caller == std::nullopt || into->caller == self_ || is_callee(*into->caller))) {
      into->caller = statefun::detail::address_of_key(journal_before_.flow->trigger.caller);
    }
    into->now = detail::outcome_state::status::pending;
    busy_ = true;
    {
      const asio::detail::task_scope::entered restore(asio::detail::task_scope::current());
      detail::run_batch(clock_.executor(), clock_, handler_, request_,
                        [this, into](const std::optional<request_reply_handler::result>& result,
                                     std::exception_ptr error) { finish(result, error, *into); });
    }
    clock_.run_ready();
  }

  [[nodiscard]] bool is_callee(const address& a) const {
    const std::string key = statefun::detail::address_key(a);
    return std::any_of(journal_before_.outstanding.begin(), journal_before_.outstanding.end(),
                       [&key](const statefun::detail::journal_outstanding& o) { return o.callee == key; });
  }

  [[nodiscard]] statefun::detail::journal journal_now() const {
    statefun::detail::journal j;
    if (!durable()) {
      return j;
    }
    for (const state_slot& slot : slots_) {
      if (slot.name == statefun::detail::journal_state_name && slot.present) {
        if (!statefun::detail::journal_codec::decode(slot.bytes, j)) {
          j = {};
        }
      }
    }
    return j;
  }

  static std::string what_of(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      return x.what();
    } catch (...) {
      return "an exception of unknown type";
    }
  }

  static void failed(detail::outcome_state& into, std::exception_ptr error) {
    into.now = detail::outcome_state::status::failed;
    into.error = error;
    into.error_message = what_of(error);
  }

  /// The batch ended: its effects go into `into`, its state changes into the instance.
  void finish(const std::optional<request_reply_handler::result>& result, std::exception_ptr error,
              detail::outcome_state& into) {
    busy_ = false;
    if (error) {
      failed(into, error);
      return;
    }
    if (!*result) {
      const statefun::error& e = result->error();
      failed(into, e.exception ? e.exception : std::make_exception_ptr(std::runtime_error(e.message())));
      return;
    }
    const std::string response(**result);
    codec::from_function_view view;
    if (!view.decode(response) || view.incomplete) {
      failed(into, std::make_exception_ptr(std::logic_error(
                       "statefun::testing: the handler's response is not an invocation result (a bug)")));
      return;
    }
    for (const codec::mutation_view& m : view.mutations) {
      for (state_slot& slot : slots_) {
        if (slot.name == m.state_name) {
          const bool removal = m.type == codec::mutation_type::remove;
          slot.present = !removal;
          slot.bytes = removal ? std::string() : std::string(m.value.value);
          if (slot.name != statefun::detail::journal_state_name) {
            into.changed(slot.name, removal);
          }
        }
      }
    }
    std::vector<sent_message> sent;
    for (const codec::message_view& m : view.messages) {
      sent.push_back({address_of(m.target), value_of(m.argument)});
      into.messages.push_back(sent.back());
    }
    for (const codec::delayed_view& d : view.delayed) {
      if (d.is_cancellation) {
        if (!durable() || !d.cancellation_token.starts_with(wake_token_prefix)) {
          into.cancellations.emplace_back(d.cancellation_token);
        }
        std::erase_if(scheduled_, [&d](const pending_delivery& p) { return p.token == d.cancellation_token; });
        continue;
      }
      delayed_message delayed{address_of(d.target), std::chrono::milliseconds(d.delay_ms),
                              std::string(d.cancellation_token), value_of(d.argument)};
      if (delayed.target == self_) {
        scheduled_.push_back({clock_.now() + delayed.delay, next_order_++, delayed.token, delayed.value});
      }
      if (!durable() || delayed.value.type_name() != statefun::detail::wake_type_name) {
        into.delayed.push_back(std::move(delayed));  // (a durable flow's own wakes are its business)
      }
    }
    for (const codec::egress_view& e : view.egresses) {
      into.egress.push_back(record_of(e));
    }
    if (durable()) {
      track_steps(sent, into);
    }
    into.state_after.clear();
    for (const state_slot& slot : slots_) {
      if (slot.name != statefun::detail::journal_state_name) {
        into.state_after.push_back(slot);
      }
    }
    into.now = detail::outcome_state::status::done;
  }

  static address address_of(const codec::address_view& a) {
    return {type_name(a.namespace_name, a.type), std::string(a.id)};
  }

  static typed_value value_of(const codec::typed_value_view& v) {
    return {std::string(v.type_name), std::string(v.value), v.has_value};
  }

  static egress_record record_of(const codec::egress_view& e) {
    egress_record record{std::string(e.egress_namespace) + "/" + std::string(e.egress_type), value_of(e.argument),
                         std::nullopt, std::nullopt};
    if (e.argument.type_name == kafka_egress::record_type) {
      if (auto k = local::detail::decode_kafka_record(e.argument.value)) {
        record.kafka = kafka_record{std::move(k->topic), std::move(k->key), std::move(k->value)};
      }
    } else if (e.argument.type_name == kinesis_egress::record_type) {
      if (auto k = local::detail::decode_kinesis_record(e.argument.value)) {
        record.kinesis = kinesis_record{std::move(k->stream), std::move(k->partition_key),
                                        std::move(k->explicit_hash_key), std::move(k->value)};
      }
    }
    return record;
  }

  static step::status status_of(statefun::detail::journal_step::status s) {
    using js = statefun::detail::journal_step::status;
    switch (s) {
      case js::pending: return step::status::pending;
      case js::done: return step::status::done;
      case js::failed: return step::status::failed;
      case js::timed_out: return step::status::timed_out;
      case js::abandoned: return step::status::abandoned;
    }
    return step::status::pending;
  }

  step& step_at(std::uint64_t flow, std::uint32_t number) {
    for (step& s : steps_) {
      if (s.flow == flow && s.number == number) {
        return s;
      }
    }
    step fresh;
    fresh.flow = flow;
    fresh.number = number;
    return steps_.emplace_back(std::move(fresh));
  }

  /// Updates `steps_` from the journal, and finds the calls the batch issued among `sent`.
  void track_steps(const std::vector<sent_message>& sent, detail::outcome_state& into) {
    namespace sd = statefun::detail;
    const sd::journal after = journal_now();
    // The calls issued now: outstanding after, not before; their requests are the messages to
    // their callees, in order.
    std::vector<bool> used(sent.size(), false);
    for (const sd::journal_outstanding& o : after.outstanding) {
      const bool known = std::any_of(journal_before_.outstanding.begin(), journal_before_.outstanding.end(),
                                     [&o](const sd::journal_outstanding& b) { return b.flow == o.flow && b.step == o.step; });
      if (known) {
        continue;
      }
      const address callee = sd::address_of_key(o.callee);
      for (std::size_t i = 0; i < sent.size(); ++i) {
        if (!used[i] && sent[i].target == callee) {
          used[i] = true;
          into.calls.push_back(sent[i]);
          break;
        }
      }
    }
    // A flow that ended in this batch: its steps pending before were completed by this batch's
    // wakes and replies, or abandoned.
    if (journal_before_.flow && (!after.flow || after.flow->id != journal_before_.flow->id)) {
      const sd::journal_flow& ended = *journal_before_.flow;
      for (std::uint32_t i = 0; i < ended.steps.size(); ++i) {
        step& s = step_at(ended.id, i + 1);
        if (s.state == step::status::pending) {
          s.state = completed_by_batch(ended, i) ? step::status::done : step::status::abandoned;
        }
      }
    }
    if (after.flow) {
      for (std::uint32_t i = 0; i < after.flow->steps.size(); ++i) {
        const sd::journal_step& js = after.flow->steps[i];
        step& s = step_at(after.flow->id, i + 1);
        switch (js.what) {
          case sd::journal_step::kind::call:
            s.what = step::kind::call;
            s.target = sd::address_of_key(js.subject);
            break;
          case sd::journal_step::kind::sleep: s.what = step::kind::sleep; break;
          case sd::journal_step::kind::run:
            s.what = step::kind::run;
            s.name = js.subject;
            break;
          case sd::journal_step::kind::next_message: s.what = step::kind::next_message; break;
        }
        s.duration = std::chrono::milliseconds(js.millis);
        s.state = status_of(js.state);
      }
    }
  }

  /// Whether this batch brought step `index` of `flow` its completion: its wake, or a reply
  /// from its callee.
  bool completed_by_batch(const statefun::detail::journal_flow& flow, std::uint32_t index) const {
    namespace sd = statefun::detail;
    const sd::journal_step& js = flow.steps[index];
    for (const invocation& inv : batch_) {
      if (inv.caller == self_ && inv.value.type_name() == sd::wake_type_name) {
        std::uint64_t wake_flow = 0;
        std::uint32_t wake_step = 0;
        if (sd::journal_codec::decode_wake(inv.value.bytes(), wake_flow, wake_step) && wake_flow == flow.id &&
            wake_step == index) {
          return true;
        }
      } else if (js.what == sd::journal_step::kind::call && inv.caller &&
                 sd::address_key(*inv.caller) == js.subject) {
        return true;
      }
    }
    return false;
  }

  address self_;
  const functions* fns_;
  const statefun::detail::bound_function* bound_ = nullptr;
  testing::clock clock_;
  request_reply_handler handler_;
  std::vector<state_slot> slots_;
  std::vector<pending_delivery> scheduled_;
  std::uint64_t next_order_ = 0;
  std::vector<step> steps_;
  bool busy_ = false;
  // The batch in flight.
  std::string request_;
  std::vector<invocation> batch_;
  statefun::detail::journal journal_before_;
};

}  // namespace statefun::inline v0::testing
