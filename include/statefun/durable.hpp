#pragma once

/// @file
/// Durable functions: a coroutine that `co_await`s replies from other functions, sleeps and
/// side effects, across as many invocations as they take. docs/durable.md has the semantics.

#include <statefun/address.hpp>
#include <statefun/context.hpp>
#include <statefun/detail/durable_engine.hpp>
#include <statefun/durable_options.hpp>
#include <statefun/error.hpp>
#include <statefun/expected.hpp>
#include <statefun/functions.hpp>
#include <statefun/message.hpp>
#include <statefun/message_builder.hpp>
#include <statefun/request_reply_handler.hpp>
#include <statefun/task.hpp>
#include <statefun/type.hpp>

#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace statefun::inline v0 {

/// How one call waits.
struct call_options {
  /// How long to wait for the reply; nothing: the function's `durable_options::call_timeout`;
  /// zero: no timeout at all.
  std::optional<std::chrono::milliseconds> timeout{};
};

namespace detail {

/// What the combinators need of an awaitable step.
template <class Op>
concept durable_op = requires(const Op& op) {
  { op.step_index() } -> std::same_as<std::uint32_t>;
  op.take();
};

/// Throws the error a completed call or run step holds, if it holds one.
inline void throw_if_failed(const journal_step& s) {
  switch (s.state) {
    case journal_step::status::timed_out: throw call_timeout(s.result);
    case journal_step::status::failed:
      if (s.what == journal_step::kind::run) {
        throw run_failed(s.result);
      }
      throw reentrant_call(s.result);
    case journal_step::status::abandoned:
      throw std::logic_error("statefun: a step that lost a first() was awaited again");
    case journal_step::status::pending:
    case journal_step::status::done: break;
  }
}

template <class Fn>
decltype(auto) invoke_run(Fn& fn, const std::string& key) {
  if constexpr (std::invocable<Fn&, std::string_view>) {
    return fn(std::string_view(key));
  } else {
    return fn();
  }
}

template <class Fn>
using run_return_t = decltype(invoke_run(std::declval<Fn&>(), std::declval<const std::string&>()));

}  // namespace detail

/**
 * A step that completes with a value: `co_await` it once, or hand it to `all()` / `first()`.
 * It is issued when created: the request (or the wake) is already on its way.
 */
template <class R>
class [[nodiscard]] durable_op {
 public:
  /// Made by `durable_context`'s awaits: step `index` of `engine`'s journal.
  durable_op(detail::durable_engine& engine, std::uint32_t index) noexcept : engine_(&engine), index_(index) {}

  /// True when the step has completed (so awaiting it does not suspend).
  bool await_ready() const noexcept { return engine_->step(index_).completed(); }
  /// Parks the flow until the step completes (the invocation ends meanwhile).
  std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept { return engine_->park(); }
  /// The step's value. @throws what the step failed with (see `durable_context::call`).
  R await_resume() const {
    engine_->consume();
    return take();
  }

  // What all() and first() use.
  /// The step's index in the journal.
  [[nodiscard]] std::uint32_t step_index() const noexcept { return index_; }
  /// The engine that runs the flow.
  [[nodiscard]] detail::durable_engine& engine() const noexcept { return *engine_; }
  /// The completed step's value, without consuming a turn. @throws what the step failed with.
  R take() const {
    const detail::journal_step& s = engine_->step(index_);
    detail::throw_if_failed(s);
    if constexpr (!std::is_void_v<R>) {
      return message(s.result_type, s.result, true).as<R>();
    }
  }

 private:
  detail::durable_engine* engine_;
  std::uint32_t index_;
};

/// A reply of type `R` from a call.
template <class R>
using call_op = durable_op<R>;
/// A durable sleep.
using sleep_op = durable_op<void>;

/// What an op yields inside a tuple or variant: its value, or `std::monostate` for a sleep.
template <class Op>
using op_value_t = std::conditional_t<std::is_void_v<decltype(std::declval<const Op&>().take())>, std::monostate,
                                      decltype(std::declval<const Op&>().take())>;

namespace detail {

template <class Op>
op_value_t<Op> take_value(const Op& op) {
  if constexpr (std::is_void_v<decltype(op.take())>) {
    op.take();
    return std::monostate{};
  } else {
    return op.take();
  }
}

}  // namespace detail

/// `co_await ctx.all(a, b, ...)`: every step's value, in a tuple, once all have completed.
template <class... Ops>
class [[nodiscard]] all_op {
 public:
  /// Waits for all of `ops`.
  explicit all_op(Ops... ops) : ops_(std::move(ops)...) {}

  /// True when every step has completed.
  bool await_ready() const noexcept {
    return std::apply([](const auto&... op) { return (op.await_ready() && ...); }, ops_);
  }
  /// Parks the flow until every step has completed.
  std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
    const auto completed = std::apply([](const auto&... op) { return (std::uint32_t{op.await_ready()} + ...); }, ops_);
    return std::get<0>(ops_).engine().park(completed);
  }
  /// Every step's value. @throws what the first failed step (in argument order) failed with.
  std::tuple<op_value_t<Ops>...> await_resume() const {
    std::apply([](const auto&... op) { (op.engine().consume(), ...); }, ops_);
    return std::apply([](const auto&... op) { return std::tuple<op_value_t<Ops>...>(detail::take_value(op)...); }, ops_);
  }

 private:
  std::tuple<Ops...> ops_;
};

/// `co_await ctx.first(a, b, ...)`: the value of the step that completed first, at its index in
/// the variant. The others are abandoned: their wakes cancelled, their late replies dropped.
template <class... Ops>
class [[nodiscard]] first_op {
 public:
  /// Waits for the first of `ops`.
  explicit first_op(Ops... ops) : ops_(std::move(ops)...) {}

  /// True when any step has completed.
  bool await_ready() const noexcept {
    return std::apply([](const auto&... op) { return (op.await_ready() || ...); }, ops_);
  }
  /// Parks the flow until a step completes.
  std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
    return std::get<0>(ops_).engine().park();
  }
  /// The first completed step's value. @throws what that step failed with.
  std::variant<op_value_t<Ops>...> await_resume() const {
    const std::size_t winner = first_completed(std::index_sequence_for<Ops...>{});
    detail::durable_engine& engine = std::get<0>(ops_).engine();
    engine.consume();
    if (engine.live()) {
      abandon_losers(engine, winner, std::index_sequence_for<Ops...>{});
    }
    return take(winner, std::index_sequence_for<Ops...>{});
  }

 private:
  template <std::size_t... I>
  std::size_t first_completed(std::index_sequence<I...>) const {
    std::size_t winner = sizeof...(Ops);
    std::uint32_t earliest = UINT32_MAX;
    (consider(I, std::get<I>(ops_), winner, earliest), ...);
    return winner;
  }

  template <class Op>
  static void consider(std::size_t i, const Op& op, std::size_t& winner, std::uint32_t& earliest) {
    const detail::journal_step& s = op.engine().step(op.step_index());
    if (s.completed() && s.completed_as < earliest) {
      earliest = s.completed_as;
      winner = i;
    }
  }

  template <std::size_t... I>
  void abandon_losers(detail::durable_engine& engine, std::size_t winner, std::index_sequence<I...>) const {
    ((I != winner ? engine.abandon(std::get<I>(ops_).step_index()) : void()), ...);
  }

  template <std::size_t... I>
  std::variant<op_value_t<Ops>...> take(std::size_t winner, std::index_sequence<I...>) const {
    std::optional<std::variant<op_value_t<Ops>...>> result;
    ((winner == I ? (void)result.emplace(std::in_place_index<I>, detail::take_value(std::get<I>(ops_))) : (void)0), ...);
    return std::move(*result);
  }

  std::tuple<Ops...> ops_;
};

/**
 * What a durable function sees and does. Like `context`, plus awaits that outlive the
 * invocation: `call`, `sleep`, `run`, `all` and `first`.
 *
 * The flow is replayed from its first line each time a result arrives, with every completed
 * await answered from the journal; effects (`send`, `send_egress`, state writes...) of the
 * replayed part are not repeated. Between awaits, code must do the same thing on every replay:
 * anything that could differ (clocks, random numbers, outside calls) belongs in `run`.
 *
 * **Example**:
 * @code
 * statefun::task<receipt> checkout(statefun::durable_context& ctx, const statefun::message& msg) {
 *   const auto order = msg.as<order_t>();
 *   const auto held = co_await ctx.call<reservation>({"shop/stock", order.item}, reserve{order.count});
 *   co_await ctx.sleep(std::chrono::seconds(5));
 *   co_return receipt{held.id};
 * }
 * @endcode
 */
class durable_context {
 public:
  /// Used by the engine.
  explicit durable_context(detail::durable_engine& engine) noexcept : engine_(&engine) {}

  /// The address of this function instance.
  [[nodiscard]] const address& self() const noexcept { return engine_->plain().self(); }
  /// Who sent the message that started this flow (nothing for an ingress).
  [[nodiscard]] const std::optional<address>& caller() const noexcept { return engine_->trigger_caller(); }
  /// The persisted values; while replaying they read as they did the first time.
  [[nodiscard]] statefun::storage& storage() const noexcept { return engine_->plain().storage(); }
  /// True while the flow re-runs steps an earlier invocation ran (their effects are dropped).
  [[nodiscard]] bool replaying() const noexcept { return !engine_->live(); }

  /// Sends `m` (once: not again on replays).
  void send(const outgoing_message& m) {
    if (engine_->live()) {
      engine_->plain().send(m);
    }
  }

  /// Sends `value` to the sender of the message that started the flow.
  /// @throws std::logic_error if that message came from an ingress.
  template <detail::value_argument V>
  void reply(const V& value) {
    if (!caller()) {
      engine_->refuse_reply();
      throw std::logic_error("statefun: " + self().to_string() +
                             " cannot reply: the flow was started by an ingress, not by a function");
    }
    if (engine_->live()) {
      engine_->reply(message_to(*caller()).value(value));  // counted as a reply, as context::reply
    }
  }

  /// Sends `m` after `delay` (once: not again on replays). @throws std::invalid_argument as `context::send_after`.
  void send_after(std::chrono::milliseconds delay, const outgoing_message& m) {
    if (engine_->live()) {
      engine_->plain().send_after(delay, m);
    }
  }

  /// Sends `m` after `delay`, cancellable with `token` (once). @throws std::invalid_argument as `context::send_after`.
  void send_after(std::chrono::milliseconds delay, const outgoing_message& m, const cancellation_token& token) {
    if (engine_->live()) {
      engine_->plain().send_after(delay, m, token);
    }
  }

  /// Cancels the delayed message sent with `token`, if not yet delivered (once: not on replays).
  void cancel_delayed_message(const cancellation_token& token) {
    if (engine_->live()) {
      engine_->plain().cancel_delayed_message(token);
    }
  }

  /// Sends a record to an egress (once: not again on replays).
  void send_egress(const egress_message& e) {
    if (engine_->live()) {
      engine_->plain().send_egress(e);
    }
  }

  /**
   * Sends `value` to `target` and awaits its reply, a message of type `R` from `target`.
   * Any function answers by sending an `R` back to its caller (in this SDK: `reply()` or by
   * returning an `R`). Replies from one callee are matched to calls to it in order.
   * @throws (when awaited) call_timeout, reentrant_call (docs/durable.md).
   * @throws std::logic_error (at once) for a call to this very address, which would wait
   *         behind its own flow forever.
   */
  template <class R, detail::value_argument V>
  call_op<R> call(const address& target, const V& value, call_options options = {}) {
    if (target == self()) {
      throw std::logic_error("statefun: " + self().to_string() +
                             " calls itself: the request would wait behind the flow that waits for it");
    }
    const auto timeout = options.timeout.value_or(engine_->options().call_timeout);
    if (timeout < std::chrono::milliseconds::zero()) {
      throw std::invalid_argument("statefun: a call's timeout must not be negative");
    }
    const auto step = engine_->issue(detail::journal_step::kind::call, detail::address_key(target), timeout.count());
    if (step.fresh) {
      engine_->send_call(step.index, message_to(target).value(value), type_name_of<R>());
    }
    return call_op<R>(*engine_, step.index);
  }

  /// Resumes the flow after `delay`, by a delayed message to itself.
  /// @throws std::invalid_argument if `delay` is negative.
  sleep_op sleep(std::chrono::milliseconds delay) {
    if (delay < std::chrono::milliseconds::zero()) {
      throw std::invalid_argument("statefun: sleep of " + std::to_string(delay.count()) + " ms is negative");
    }
    const auto step = engine_->issue(detail::journal_step::kind::sleep, {}, delay.count());
    if (step.fresh) {
      engine_->arm(step.index, delay);
    }
    return sleep_op(*engine_, step.index);
  }

  /**
   * Completes when a message for this address is waiting (one that arrived while the flow
   * was suspended, or arrives later). The message stays queued and starts the next flow once
   * this one ends: `co_await ctx.first(ctx.sleep(60s), ctx.next_message())` waits for a minute
   * of quiet, or ends the flow early to make way for the next message.
   */
  durable_op<void> next_message() {
    const auto step = engine_->issue(detail::journal_step::kind::next_message, {}, 0);
    if (step.fresh) {
      engine_->watch_queue(step.index);
    }
    return durable_op<void>(*engine_, step.index);
  }

  /**
   * Runs `fn` once and records its result, which replays then return without running it.
   * `fn()` or `fn(idempotency_key)` returns a value of a StateFun type, `void`, or a task of
   * either. The key is the same on every attempt of this step: an outside service can use it
   * to recognise a repeat (a batch that failed after `fn` ran is retried, and runs it again).
   * @throws run_failed with the exception's text if `fn` threw, now and on every replay.
   */
  template <class Fn>
  task<typename detail::run_result<detail::run_return_t<Fn>>::type> run(std::string name, Fn fn) {
    using result = detail::run_result<detail::run_return_t<Fn>>;
    using T = typename result::type;
    const auto step = engine_->issue(detail::journal_step::kind::run, name, 0);
    if (!step.fresh) {
      const detail::journal_step& s = engine_->step(step.index);
      engine_->consume();
      detail::throw_if_failed(s);
      if constexpr (!std::is_void_v<T>) {
        co_return type<T>::decode(s.result);
      } else {
        co_return;
      }
    }
    const std::string key = engine_->step_key(step.index);
    std::optional<std::string> error;
    std::string bytes;
    if constexpr (std::is_void_v<T>) {
      try {
        if constexpr (result::is_task) {
          auto work = detail::invoke_run(fn, key);
          co_await std::move(work);
        } else {
          detail::invoke_run(fn, key);
        }
      } catch (const std::exception& e) {
        error = e.what();
      } catch (...) {
        error = "an exception of unknown type";
      }
      finish_run(step.index, name, error, {}, {});
    } else {
      std::optional<T> value;
      try {
        if constexpr (result::is_task) {
          auto work = detail::invoke_run(fn, key);
          T made = co_await std::move(work);
          value.emplace(std::move(made));
        } else {
          value.emplace(detail::invoke_run(fn, key));
        }
        type<T>::encode(*value, bytes);
      } catch (const std::exception& e) {
        error = e.what();
      } catch (...) {
        error = "an exception of unknown type";
      }
      finish_run(step.index, name, error, type_name_of<T>(), std::move(bytes));
      co_return std::move(*value);
    }
  }

  /// Awaits every one of `ops` (calls and sleeps); their values in a tuple.
  template <detail::durable_op... Ops>
    requires(sizeof...(Ops) > 0)
  all_op<Ops...> all(Ops... ops) {
    return all_op<Ops...>(std::move(ops)...);
  }

  /// Awaits the first of `ops` to complete; the others are abandoned.
  template <detail::durable_op... Ops>
    requires(sizeof...(Ops) > 0)
  first_op<Ops...> first(Ops... ops) {
    return first_op<Ops...>(std::move(ops)...);
  }

 private:
  void finish_run(std::uint32_t index, const std::string& name, const std::optional<std::string>& error,
                  std::string_view type, std::string bytes) {
    if (error) {
      std::string why = engine_->where(index) + ": run(\"" + name + "\") failed: " + *error;
      engine_->complete_run(index, detail::journal_step::status::failed, {}, why);
      throw run_failed(why);
    }
    engine_->complete_run(index, detail::journal_step::status::done, type, std::move(bytes));
  }

  detail::durable_engine* engine_;
};

/// A durable function: `statefun::task<R> f(statefun::durable_context&, const statefun::message&)`,
/// where `R` is void or a value sent back to the caller when the flow ends.
template <class Fn>
concept durable_function = std::invocable<Fn&, durable_context&, const message&> &&
                           detail::run_result<std::invoke_result_t<Fn&, durable_context&, const message&>>::is_task;

// --- How functions::bind takes a durable function ----------------------------------------------

namespace detail {

/// What `bind` keeps of a durable function, behind `bound_function::durable`.
struct durable_bound {
  durable_body body;        ///< the function, its value (if any) sent as a reply
  durable_options options;  ///< as given to `bind`
};

/// Runs a durable function's batches through the handler, with the engine.
struct durable_access {
  /// A `durable_runner`: the batch through `handler`'s loop, with the durable engine.
  static task<expected<std::string_view, error>> run(request_reply_handler& handler, const bound_function& function) {
    const auto& bound = *static_cast<const durable_bound*>(function.durable.get());
    return handler.run_durable<durable_engine>(function, bound.body, bound.options);
  }
};

/// A durable function is bindable once this header is included.
template <class Fn>
  requires durable_function<Fn>
struct durable_binding<Fn> {
  /// `bind` takes `Fn`.
  static constexpr bool value = true;

  /// Stores `fn` (its value, if any, becomes a reply) and the runner in `bound`.
  static void attach(bound_function& bound, Fn fn, const durable_options& options) {
    using value = typename run_result<std::invoke_result_t<Fn&, durable_context&, const message&>>::type;
    durable_body body = [fn = std::move(fn)](durable_context& ctx, const message& msg) mutable -> task<> {
      if constexpr (std::is_void_v<value>) {
        co_await fn(ctx, msg);
      } else {
        auto flow = fn(ctx, msg);
        value answer = co_await std::move(flow);
        if (ctx.caller()) {
          ctx.reply(answer);  // a reply, as a coroutine function's return value is
        }
      }
    };
    bound.durable = std::make_shared<const durable_bound>(durable_bound{std::move(body), options});
    bound.run_durable = &durable_access::run;
  }
};

}  // namespace detail

/// @cond STATEFUN_INTERNAL
// --- The replay, which needs durable_context --------------------------------------------------

inline task<bool> detail::durable_engine::replay() {
  journal_flow& flow = *journal_.flow;
  next_step_ = 0;
  consumed_ = 0;
  fatal_ = nullptr;
  live_ = flow.completions == 0;
  saved_cells_.assign(cells_.begin(), cells_.end());
  if (!live_) {
    rewind_states();
  }
  trigger_caller_.reset();
  if (!flow.trigger.caller.empty()) {
    trigger_caller_.emplace(address_of_key(flow.trigger.caller));
  }
  const message trigger(flow.trigger.type, flow.trigger.value, flow.trigger.has_value);
  durable_context ctx(*this);
  flow_signal signal;
  signal_ = &signal;
  {
    flow_shell shell = run_in_shell((*body_)(ctx, trigger));
    shell.start(signal);
    co_await until_settled{&signal};
  }  // destroyed where they stand: what the flow needs next time is in the journal
  signal_ = nullptr;
  const bool parked = signal.now == flow_signal::state::parked;
  if (fatal_) {
    std::rethrow_exception(fatal_);  // even if the flow caught it
  }
  if (signal.error) {
    std::rethrow_exception(signal.error);
  }
  if (!live_) {
    nondeterminism("statefun: " + ctx_->self().to_string() + ": flow " + std::to_string(flow.id) +
                                  (parked ? " stopped to wait" : " ended") +
                                  " after " + std::to_string(consumed_) + " of the " +
                                  std::to_string(flow.completions) +
                                  " results its journal holds: the function does not replay deterministically");
  }
  if (!parked) {
    co_return true;
  }
  remember_first_values();
  co_return false;
}
/// @endcond

}  // namespace statefun::inline v0
