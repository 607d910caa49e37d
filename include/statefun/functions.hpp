#pragma once

/// @file
/// `functions`: the registry of the function types a service serves.

#include <statefun/context.hpp>
#include <statefun/message.hpp>
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

/// A plain function: `void f(statefun::context&, statefun::message)`.
template <class Fn>
concept plain_function = std::invocable<Fn&, context&, const message&> &&
                         std::is_void_v<std::invoke_result_t<Fn&, context&, const message&>>;

/// A coroutine: `statefun::task<> f(statefun::context&, statefun::message)`.
template <class Fn>
concept coroutine_function = std::invocable<Fn&, context&, const message&> &&
                             std::same_as<std::invoke_result_t<Fn&, context&, const message&>, task<>>;

namespace detail {

/// A bound function type: its declared states and how to run it.
struct bound_function {
  type_name type;
  std::vector<state_spec> specs;
  /// Owns the state names `specs` point to (a `value_spec` only views its name). Reserved
  /// up front and never grown, so the views stay valid.
  std::vector<std::string> names;
  /// Exactly one of the two is set.
  std::function<void(context&, const message&)> run_plain;
  std::function<task<>(context&, const message&)> run_coroutine;
};

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
   * Binds `fn` (a plain function or a coroutine) to `type`, declaring the states it uses.
   * @throws std::invalid_argument if `type` is already bound or a state is declared twice.
   */
  template <class Fn>
    requires plain_function<Fn> || coroutine_function<Fn>
  functions& bind(type_name type, std::initializer_list<state_spec> specs, Fn fn) {
    auto bound = std::make_unique<detail::bound_function>(detail::bound_function{std::move(type), {}, {}, {}, {}});
    bound->names.reserve(specs.size());
    for (const state_spec& spec : specs) {
      for (const state_spec& earlier : bound->specs) {
        if (earlier.name == spec.name) {
          throw std::invalid_argument("statefun: state '" + std::string(spec.name) +
                                      "' is declared twice for function '" + bound->type.str() + "'");
        }
      }
      state_spec owned = spec;
      owned.name = bound->names.emplace_back(spec.name);
      bound->specs.push_back(owned);
    }
    if constexpr (coroutine_function<Fn>) {
      bound->run_coroutine = std::move(fn);
    } else {
      bound->run_plain = std::move(fn);
    }
    const std::string key = bound->type.str();
    if (!by_type_.emplace(key, std::move(bound)).second) {
      throw std::invalid_argument("statefun: function type '" + key + "' is bound twice");
    }
    return *this;
  }

  /// Binds `fn` to `type`, with no persisted state.
  template <class Fn>
    requires plain_function<Fn> || coroutine_function<Fn>
  functions& bind(type_name type, Fn fn) {
    return bind(std::move(type), {}, std::move(fn));
  }

  /// The function bound to `type` (`namespace/name`), or null.
  [[nodiscard]] const detail::bound_function* find(std::string_view type) const noexcept {
    const auto it = by_type_.find(type);
    return it == by_type_.end() ? nullptr : it->second.get();
  }

  [[nodiscard]] std::size_t size() const noexcept { return by_type_.size(); }

  /// A handler serving these functions (see request_reply_handler.hpp).
  [[nodiscard]] request_reply_handler handler() const;

 private:
  std::unordered_map<std::string, std::unique_ptr<detail::bound_function>, detail::string_hash,
                     std::equal_to<>>
      by_type_;
};

}  // namespace statefun::inline v0
