#pragma once

/// @file
/// `functions`: the registry of the function types a service serves.

#include <statefun/context.hpp>
#include <statefun/durable_options.hpp>
#include <statefun/error.hpp>
#include <statefun/expected.hpp>
#include <statefun/message.hpp>
#include <statefun/observer.hpp>
#include <statefun/task.hpp>
#include <statefun/type_name.hpp>
#include <statefun/value_spec.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace statefun::inline v0 {

class request_reply_handler;
class durable_context;

namespace detail {

/// What a function returns: `T`, or `task<T>` (`is_task`), with `type` the `T`.
template <class T>
struct run_result {
  using type = T;
  static constexpr bool is_task = false;
};

template <class T>
struct run_result<task<T>> {
  using type = T;
  static constexpr bool is_task = true;
};

struct bound_function;
struct durable_access;

/**
 * How `functions::bind` takes a durable function. Only <statefun/durable.hpp> specialises it
 * (`value` true, and `attach` storing the function and the engine that runs it), so a service
 * that binds no durable function does not compile the durable engine.
 */
template <class Fn>
struct durable_binding {
  /// Whether `bind` takes `Fn` as a durable function.
  static constexpr bool value = false;
};

/// Runs a batch of a bound durable function on `handler` (set by durable.hpp's `attach`).
using durable_runner = task<expected<std::string_view, error>> (*)(request_reply_handler& handler,
                                                                   const bound_function& function);

}  // namespace detail

/// A plain function: `void f(statefun::context&, statefun::message)`, or one returning a value
/// that is sent back to the caller.
template <class Fn>
concept plain_function = std::invocable<Fn&, context&, const message&> &&
                         (std::is_void_v<std::invoke_result_t<Fn&, context&, const message&>> ||
                          detail::sendable<std::invoke_result_t<Fn&, context&, const message&>>);

/// A coroutine: `statefun::task<> f(statefun::context&, statefun::message)`, or `task<R>` whose
/// value is sent back to the caller.
template <class Fn>
concept coroutine_function = std::invocable<Fn&, context&, const message&> &&
                             detail::run_result<std::invoke_result_t<Fn&, context&, const message&>>::is_task;

namespace detail {

/// A bound function type: its declared states and how to run it.
struct bound_function {
  type_name type;
  std::vector<state_spec> specs{};
  /// Owns the state names `specs` point to (a `value_spec` only views its name). Reserved
  /// up front and never grown, so the views stay valid.
  std::vector<std::string> names{};
  /// Exactly one of the three is set.
  std::function<void(context&, const message&)> run_plain{};
  std::function<task<>(context&, const message&)> run_coroutine{};
  durable_runner run_durable = nullptr;
  /// A durable function and its options, as durable.hpp's `attach` stored them (`run_durable`
  /// knows their type).
  std::shared_ptr<const void> durable{};
  /// Where this type's events go (see `functions::observe`), or null: nothing is counted.
  function_observer* events = nullptr;
};

/// Sends a function's result to its caller; a result with no caller (an ingress) is dropped.
template <class R>
void answer_caller(context& ctx, const R& result) {
  if (ctx.caller()) {
    ctx.reply(result);
  }
}

/// Called with `(context&, const message&)`: a plain function or a coroutine.
template <class Fn>
concept takes_context = std::invocable<Fn&, context&, const message&>;

/// Called with `(durable_context&, const message&)`.
template <class Fn>
concept takes_durable_context = std::invocable<Fn&, durable_context&, const message&>;

/// Whether `Fn` takes `(durable_context&, const message&)` and returns a `task`.
template <class Fn>
consteval bool durable_coroutine_shape() {
  if constexpr (takes_durable_context<Fn>) {
    return run_result<std::invoke_result_t<Fn&, durable_context&, const message&>>::is_task;
  } else {
    return false;
  }
}

/// What `functions::bind` takes. The value a function returns is checked where it is sent:
/// a type that is not typed gets `type`'s one error there.
template <class Fn>
concept bindable = durable_binding<Fn>::value || takes_context<Fn>;

/// Stops the compilation at one error that says which functions `bind` takes (docs/types.md,
/// "Compile errors"); true for a function it takes.
template <class Fn>
consteval bool report_unbindable() {
  // Plain bools, not the concepts: see report_untyped.
  constexpr bool ok = bindable<Fn>;
  constexpr bool durable_shape = takes_durable_context<Fn>;
  constexpr bool durable_coroutine = durable_coroutine_shape<Fn>();
  constexpr bool mutable_message = std::invocable<Fn&, context&, message&>;
  static_assert(ok || !durable_coroutine,
                "statefun: this is a durable function (it takes statefun::durable_context&): "
                "#include <statefun/durable.hpp> where you bind it");
  static_assert(ok || durable_coroutine || !durable_shape,
                "statefun: a durable function (one taking statefun::durable_context&) must be a coroutine: "
                "statefun::task<> f(statefun::durable_context&, const statefun::message&), or task<R> to reply "
                "with an R; a function that awaits nothing takes statefun::context& instead");
  static_assert(ok || durable_shape || !mutable_message,
                "statefun: functions::bind: take the message as const statefun::message& (or by value), "
                "not as statefun::message&");
  static_assert(ok || durable_shape || mutable_message,
                "statefun: functions::bind cannot call this function with (statefun::context&, const "
                "statefun::message&). It takes one of: "
                "void f(statefun::context&, const statefun::message&); "
                "R f(statefun::context&, const statefun::message&) (R, a StateFun type, is sent to the caller); "
                "statefun::task<> or task<R> f(statefun::context&, const statefun::message&) (a coroutine); "
                "statefun::task<> or task<R> f(statefun::durable_context&, const statefun::message&) "
                "(a durable function, see <statefun/durable.hpp>); "
                "or a lambda or function object called so");
  return true;
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace detail

/**
 * The function types a service serves, each with its declared states.
 *
 * Bind everything at startup, then hand the registry to a transport (or call
 * `handler()`); the registry must outlive them and not change while they run.
 *
 * **Example**:
 * @code
 * statefun::functions fns;
 * fns.bind("example/greeter", {seen}, greet);
 * auto handler = fns.handler();
 * @endcode
 */
class functions {
 public:
  /**
   * Binds `fn` to `type`, declaring the states it uses. `fn` is a plain function, a coroutine
   * (`task<>`), or a durable function (taking a `durable_context&`: include durable.hpp). A plain
   * function or coroutine that returns a value sends it to its caller, as a reply.
   * Any other `fn` is a compile error that lists these forms.
   * @throws std::invalid_argument if `type` is already bound or a state is declared twice.
   */
  template <class Fn>
  functions& bind(type_name type, std::initializer_list<state_spec> specs, Fn fn) {
    return bind(std::move(type), specs, std::move(fn), durable_options{});
  }

  /// Binds a durable function with its own options (call timeout, journal bound).
  template <class Fn>
  functions& bind(type_name type, std::initializer_list<state_spec> specs, Fn fn, durable_options options) {
    // Unconstrained, so that a function bind cannot take stops at report_unbindable's one
    // error rather than at a list of failed constraints.
    static_assert(detail::report_unbindable<Fn>());
    if constexpr (detail::bindable<Fn>) {
      using result = std::invoke_result_t<Fn&, std::conditional_t<detail::durable_binding<Fn>::value, durable_context&, context&>,
                                          const message&>;
      using reply = typename detail::run_result<result>::type;
      if constexpr (!std::is_void_v<reply>) {
        // Here rather than where the reply is sent, so that the error's context is short.
        static_assert(detail::report_untyped<detail::sent_as_t<reply>>());
      }
      return bind_checked(std::move(type), specs, std::move(fn), options);
    } else {
      return *this;
    }
  }

  /// Binds `fn` to `type`, with no persisted state.
  template <class Fn>
  functions& bind(type_name type, Fn fn) {
    return bind(std::move(type), {}, std::move(fn));
  }

 private:
  template <class Fn>
  functions& bind_checked(type_name type, std::initializer_list<state_spec> specs, Fn fn, durable_options options) {
    auto bound = std::make_unique<detail::bound_function>(detail::bound_function{.type = std::move(type)});
    bound->names.reserve(specs.size() + 1);
    for (const state_spec& spec : specs) {
      for (const state_spec& earlier : bound->specs) {
        if (earlier.name == spec.name) {
          throw std::invalid_argument("statefun: state '" + std::string(spec.name) +
                                      "' is declared twice for function '" + bound->type.str() + "'");
        }
      }
      if (spec.name == detail::journal_state_name) {
        throw std::invalid_argument("statefun: state name '" + std::string(spec.name) +
                                    "' is reserved for durable functions' journal");
      }
      state_spec owned = spec;
      owned.name = bound->names.emplace_back(spec.name);
      bound->specs.push_back(owned);
    }
    if constexpr (detail::durable_binding<Fn>::value) {
      bound->specs.push_back(state_spec(bound->names.emplace_back(detail::journal_state_name), detail::journal_type_name));
      detail::durable_binding<Fn>::attach(*bound, std::move(fn), options);
    } else if constexpr (coroutine_function<Fn>) {
      using result = std::invoke_result_t<Fn&, context&, const message&>;
      using value = typename detail::run_result<result>::type;
      if constexpr (std::is_void_v<value>) {
        bound->run_coroutine = std::move(fn);
      } else {
        bound->run_coroutine = [fn = std::move(fn)](context& ctx, const message& msg) mutable -> task<> {
          auto work = fn(ctx, msg);
          value answer = co_await std::move(work);
          detail::answer_caller(ctx, answer);
        };
      }
    } else if constexpr (std::is_void_v<std::invoke_result_t<Fn&, context&, const message&>>) {
      bound->run_plain = std::move(fn);
    } else {
      bound->run_plain = [fn = std::move(fn)](context& ctx, const message& msg) mutable {
        detail::answer_caller(ctx, fn(ctx, msg));
      };
    }
    const std::string key = bound->type.str();
    if (by_type_.contains(key)) {
      throw std::invalid_argument("statefun: function type '" + key + "' is bound twice");
    }
    if (observer_ != nullptr) {
      bound->events = observer_->function_type(bound->type);
    }
    if (!by_type_.emplace(key, std::move(bound)).second) {
      throw std::invalid_argument("statefun: function type '" + key + "' is bound twice");
    }
    return *this;
  }

 public:
  /// The function bound to `type` (`namespace/name`), or null.
  [[nodiscard]] const detail::bound_function* find(std::string_view type) const noexcept {
    const auto it = by_type_.find(type);
    return it == by_type_.end() ? nullptr : it->second.get();
  }

  /// How many function types are bound.
  [[nodiscard]] std::size_t size() const noexcept { return by_type_.size(); }

  /**
   * Sends the events of these functions' handlers (batches, effects, failures) to `o`, which
   * must outlive the registry's handlers; null stops them. Call it before serving, as `bind`:
   * each bound type's events go to `o.function_type(type)`, asked for here once per type.
   * Handlers made before the first `observe` tell nothing (a server makes its handlers per
   * connection, so attach before it runs).
   */
  functions& observe(statefun::observer* o) {
    observer_ = o;
    for (auto& [key, bound] : by_type_) {
      bound->events = o != nullptr ? o->function_type(bound->type) : nullptr;
    }
    return *this;
  }

  /// Where these functions' events go, or null.
  [[nodiscard]] statefun::observer* observer() const noexcept { return observer_; }

  /// A handler serving these functions (see request_reply_handler.hpp).
  [[nodiscard]] request_reply_handler handler() const;

 private:
  std::unordered_map<std::string, std::unique_ptr<detail::bound_function>, detail::string_hash,
                     std::equal_to<>>
      by_type_;
  statefun::observer* observer_ = nullptr;
};

}  // namespace statefun::inline v0
