#pragma once

/// @file
/// `request_reply_handler`: the seam every transport plugs into. Bytes of a `ToFunction` in,
/// bytes of a `FromFunction` (or an error) out.

#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/context.hpp>
#include <statefun/detail/monotonic_clock.hpp>
#include <statefun/detail/same_text.hpp>
#include <statefun/error.hpp>
#include <statefun/expected.hpp>
#include <statefun/functions.hpp>
#include <statefun/message.hpp>
#include <statefun/observer.hpp>
#include <statefun/storage.hpp>
#include <statefun/sync_wait.hpp>
#include <statefun/task.hpp>

#include <chrono>
#include <coroutine>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <cstdint>
#include <vector>

namespace statefun::inline v0 {

/**
 * Runs batches of invocations for the functions of a `functions` registry.
 *
 * For each request it decodes the `ToFunction` (views, no copies), looks up the target's
 * function, answers the missing-state handshake if the runtime lacks a declared state, and
 * otherwise runs the invocations in order and answers their effects.
 *
 * A handler keeps its buffers between requests, so steady-state requests do not allocate. It
 * serves one request at a time: a transport makes one per connection (or per worker). The
 * registry must outlive it.
 *
 * **Example**:
 * @code
 * auto handler = fns.handler();
 * auto response = handler.handle_sync(request_bytes);
 * if (!response) { log(response.error().message()); }
 * @endcode
 */
class request_reply_handler {
 public:
  /// The response bytes (valid until the next request), or why there are none.
  using result = expected<std::string_view, error>;

  /// A handler for the functions of `fns`, which must outlive it; it reports to `fns.observer()`.
  explicit request_reply_handler(const functions& fns) noexcept : functions_(&fns), observer_(fns.observer()) {}

  /**
   * Handles one request. `request` and the handler must outlive the returned task.
   *
   * A malformed request, an unknown function type, or an exception from the function is an
   * `error` (the transport answers 500 with `error::message()`); the function's effects are
   * then dropped, none reach the response.
   */
  [[nodiscard]] task<result> handle(std::string_view request) {
    const step first = prepare(request);
    if (first.function == nullptr) {
      co_return first.answer;
    }
    if (first.function->run_plain) {
      co_return run_plain(*first.function);
    }
    if (first.function->run_durable != nullptr) {
      co_return co_await first.function->run_durable(*this, *first.function);
    }
    co_return co_await run_coroutine(*first.function);
  }

  /// Handles one request on this thread, blocking while a coroutine function waits.
  [[nodiscard]] result handle_sync(std::string_view request) {
    const step first = prepare(request);
    if (first.function == nullptr) {
      return first.answer;
    }
    if (first.function->run_plain) {
      return run_plain(*first.function);
    }
    if (first.function->run_durable != nullptr) {
      return sync_wait(first.function->run_durable(*this, *first.function));
    }
    return sync_wait(run_coroutine(*first.function));
  }

 private:
  /**
   * Awaits an invocation of a coroutine function for an observer: tells it when the invocation
   * waits on asynchronous work (it did not finish when first run) and, then, when it finished.
   * One that finishes inline raises nothing.
   */
  class observed_invocation {
   public:
    observed_invocation(task<> work, function_observer& events) noexcept
        : work_(std::move(work)), awaiter_(std::move(work_).operator co_await()), events_(&events) {}
    observed_invocation(const observed_invocation&) = delete;
    observed_invocation& operator=(const observed_invocation&) = delete;

    bool await_ready() const noexcept { return awaiter_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
      // Before the invocation can resume us (maybe on another thread): the gauge goes up first.
      const auto tell = [this]() noexcept {
        suspended_ = true;
        events_->coroutine_suspended();
      };
      return awaiter_.await_suspend(awaiting, tell);
    }
    void await_resume() {
      if (suspended_) {
        events_->coroutine_finished();
      }
      awaiter_.await_resume();
    }

   private:
    task<> work_;
    detail::task_awaiter<void> awaiter_;
    function_observer* events_;
    bool suspended_ = false;
  };

  /// What `prepare` found: a function to run, or else the answer already.
  struct step {
    const detail::bound_function* function = nullptr;
    result answer = std::string_view{};
  };

  step prepare(std::string_view request) {
    effects_.clear();
    events_ = nullptr;
    if (observer_ != nullptr) {
      started_ns_ = detail::monotonic_ns();
    }
    if (const auto decoded = batch_.decode(request); !decoded) {
      return {nullptr, refuse(failure_kind::malformed_request, decoded.to_error())};
    }
    // A handler (one per connection) mostly sees one function type after another: keep the
    // last one's name and lookup instead of rebuilding the string and hashing it again.
    const codec::address_view& target = batch_.target;
    if (function_ == nullptr || !detail::same_text(target.type, self_.type.name()) ||
        !detail::same_text(target.namespace_name, self_.type.namespace_name())) {
      function_ = nullptr;
      if (!self_.type.try_assign(target.namespace_name, target.type)) {
        return {nullptr, refuse(failure_kind::malformed_request, error{errc::invalid_address, "target type '" +
                                                                     std::string(target.namespace_name) +
                                                                     "/" + std::string(target.type) + "'"})};
      }
      function_ = functions_->find(self_.type.str());
      if (function_ == nullptr) {
        return {nullptr, refuse(failure_kind::unknown_function_type, error{errc::unknown_function, self_.type.str()})};
      }
    }
    self_.id.assign(target.id);
    const detail::bound_function* function = function_;
    // (A handler made before `functions::observe` keeps observing nothing: it read no clock.)
    events_ = observer_ != nullptr ? function->events : nullptr;
    if (attach_states(*function)) {
      return {function, std::string_view{}};
    }
    if (events_ != nullptr) {
      events_->missing_state(missing_.size());
    }
    codec::from_function_writer::write_incomplete_context(missing_, response_);
    return {nullptr, std::string_view(response_)};
  }

  /// Pairs each declared state with what the request sent; false (and `missing_` filled, in
  /// declaration order) when the runtime lacks some of them.
  bool attach_states(const detail::bound_function& function) {
    cells_.resize(function.specs.size());
    missing_.clear();
    for (std::size_t i = 0; i < function.specs.size(); ++i) {
      const state_spec& spec = function.specs[i];
      detail::state_cell& cell = cells_[i];
      cell.name = spec.name;
      cell.declared_type = spec.type_name;
      cell.changed = detail::state_cell::change::none;
      const codec::state_view* sent = find_state(spec.name);
      if (sent == nullptr) {
        missing_.push_back({spec.name, spec.type_name, expire_mode_of(spec.expires),
                            spec.expires.after().count()});
        continue;
      }
      cell.incoming_present = sent->holds_value();
      cell.incoming_type = sent->has_state_value ? sent->value.type_name : std::string_view{};
      // A value is checked against the declared type whatever its type name, "" included (as
      // the official SDKs do); only a state without a value carries no type to check.
      cell.incoming_type_matches =
          cell.incoming_type == cell.declared_type || (cell.incoming_type.empty() && !cell.incoming_present);
      cell.incoming_value = sent->value.value;
    }
    return missing_.empty();
  }

  /// The state `name` as the request sent it: its last entry, should it be listed twice (the
  /// Python and Go SDKs index the states by name, so the last one wins there too).
  [[nodiscard]] const codec::state_view* find_state(std::string_view name) const noexcept {
    for (auto state = batch_.states.rbegin(); state != batch_.states.rend(); ++state) {
      if (state->name == name) {
        return &*state;
      }
    }
    return nullptr;
  }

  static codec::expire_mode expire_mode_of(const expiration& e) noexcept {
    switch (e.kind()) {
      case expiration::mode::after_call: return codec::expire_mode::after_invoke;
      case expiration::mode::after_write: return codec::expire_mode::after_write;
      case expiration::mode::none: break;
    }
    return codec::expire_mode::none;
  }

  /// Sets the caller for invocation `i` and returns its message (or an error for a bad caller).
  expected<message, error> begin_invocation(std::size_t i) {
    const codec::invocation_view& invocation = batch_.invocations[i];
    if (!invocation.caller) {
      caller_.reset();
    } else {
      const codec::address_view& from = *invocation.caller;
      if (!caller_) {
        caller_.emplace(address{type_name("-/-"), {}});
      }
      if (!caller_->type.try_assign(from.namespace_name, from.type)) {
        return unexpected(error{errc::invalid_address, "caller type '" + std::string(from.namespace_name) +
                                                           "/" + std::string(from.type) + "'"});
      }
      caller_->id.assign(from.id);
    }
    const codec::typed_value_view& argument = invocation.argument;
    return message(argument.type_name, argument.value, argument.has_value);
  }

  result run_plain(const detail::bound_function& function) {
    statefun::storage storage(cells_, self_.type);
    context ctx(self_, caller_, storage, effects_);
    for (std::size_t i = 0; i < batch_.invocations.size(); ++i) {
      const auto msg = begin_invocation(i);
      if (!msg) {
        return fail(msg.error(), failure_kind::malformed_request);
      }
      try {
        function.run_plain(ctx, *msg);
      } catch (...) {
        return fail_with_exception(std::current_exception());
      }
    }
    return finish();
  }

  task<result> run_coroutine(const detail::bound_function& function) {
    statefun::storage storage(cells_, self_.type);
    context ctx(self_, caller_, storage, effects_);
    for (std::size_t i = 0; i < batch_.invocations.size(); ++i) {
      const auto msg = begin_invocation(i);
      if (!msg) {
        co_return fail(msg.error(), failure_kind::malformed_request);
      }
      std::exception_ptr failure;
      try {
        if (events_ == nullptr) {
          co_await function.run_coroutine(ctx, *msg);
        } else {
          observed_invocation invocation(function.run_coroutine(ctx, *msg), *events_);
          co_await invocation;
        }
      } catch (...) {
        failure = std::current_exception();
      }
      if (failure) {
        co_return fail_with_exception(failure);
      }
    }
    co_return finish();
  }

  /// durable.hpp runs durable functions through `run_durable`, with its engine.
  friend struct detail::durable_access;

  /// A durable function: each invocation goes through the engine, which replays the
  /// address's flow from its journal (durable.hpp); the journal is written back last. A
  /// template, instantiated by durable.hpp only, so that the core does not compile the engine.
  template <class Engine, class Body>
  task<result> run_durable(const detail::bound_function& function, const Body& body, const durable_options& options) {
    statefun::storage storage(cells_, self_.type);
    context ctx(self_, caller_, storage, effects_);
    Engine engine(body, options, ctx, function.specs, cells_);
    std::exception_ptr failure;
    try {
      engine.load();
    } catch (...) {
      failure = std::current_exception();
    }
    for (std::size_t i = 0; i < batch_.invocations.size() && !failure; ++i) {
      const auto msg = begin_invocation(i);
      if (!msg) {
        co_return fail(msg.error(), failure_kind::malformed_request);
      }
      try {
        co_await engine.deliver(caller_, *msg);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    if (!failure) {
      try {
        engine.store();
      } catch (...) {
        failure = std::current_exception();
      }
    }
    if (failure) {
      co_return fail_with_exception(failure);
    }
    if (events_ != nullptr) {
      events_->durable_batch(engine.stats());
    }
    co_return finish();
  }

  /// Writes one mutation per state the batch changed, then the response.
  result finish() {
    for (const detail::state_cell& cell : cells_) {
      if (cell.changed == detail::state_cell::change::modified) {
        effects_.writer.add_mutation(
            {codec::mutation_type::modify, cell.name, {cell.declared_type, true, cell.pending}});
      } else if (cell.changed == detail::state_cell::change::removed) {
        effects_.writer.add_mutation({codec::mutation_type::remove, cell.name, {}});
      }
    }
    effects_.writer.finish(response_);
    if (events_ != nullptr) {
      report_handled();
    }
    return std::string_view(response_);
  }

  result fail(error e, failure_kind kind) {
    e.function_type = self_.type.str();
    if (events_ != nullptr) {
      events_->batch_failed(kind, observed_batch());
    }
    effects_.clear();
    return unexpected(std::move(e));
  }

  /// A request that reached no function: only the observer (if any) hears of it.
  unexpected<error> refuse(failure_kind kind, error e) {
    if (observer_ != nullptr) {
      observer_->request_failed(kind);
    }
    return unexpected(std::move(e));
  }

  /// Out of line so that the observer's code does not change how the compiler inlines the
  /// serving path: with it inlined, W1 cost 60 instructions more with metrics off.
  [[gnu::noinline]] void report_handled() const noexcept { events_->batch_handled(observed_batch()); }

  /// What the batch did, for the observer: only computed when there is one.
  batch_event observed_batch() const noexcept {
    batch_event event;
    event.invocations = static_cast<std::uint32_t>(batch_.invocations.size());
    event.handler_time = std::chrono::nanoseconds(detail::monotonic_ns() - started_ns_);
    event.messages = effects_.messages;
    event.delayed_messages = effects_.delayed_messages;
    event.cancellations = effects_.cancellations;
    event.egress_records = effects_.egress_records;
    event.replies = effects_.replies;
    for (const detail::state_cell& cell : cells_) {
      if (cell.incoming_present) {
        event.state_bytes_read += cell.incoming_value.size();
      }
      if (cell.changed == detail::state_cell::change::modified) {
        event.state_bytes_written += cell.pending.size();
      }
    }
    return event;
  }

  result fail_with_exception(std::exception_ptr exception) {
    std::string what = "exception of unknown type";
    try {
      std::rethrow_exception(exception);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    return fail(error{errc::function_failed, self_.to_string() + ": " + what, exception},
                effects_.refused ? failure_kind::refused_effect : failure_kind::exception);
  }

  const functions* functions_;
  /// The registry's observer (fixed before serving), or null: then nothing below is used.
  observer* observer_;
  /// The observer of the current batch's function type, or null.
  function_observer* events_ = nullptr;
  /// When the batch began (`detail::monotonic_ns`), if there is an observer.
  std::int64_t started_ns_ = 0;
  /// The function bound to `self_.type`, or null when that is not known yet.
  const detail::bound_function* function_ = nullptr;
  codec::invocation_batch_view batch_;
  address self_{type_name("-/-"), {}};
  std::optional<address> caller_;
  std::vector<detail::state_cell> cells_;
  std::vector<codec::missing_value_view> missing_;
  detail::batch_effects effects_;
  std::string response_;
};

inline request_reply_handler functions::handler() const { return request_reply_handler(*this); }

}  // namespace statefun::inline v0
