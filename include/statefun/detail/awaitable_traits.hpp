#pragma once

/// @file
/// Concepts describing what `co_await` accepts, and the type it produces.

#include <concepts>
#include <coroutine>
#include <type_traits>
#include <utility>

#include <statefun/config.hpp>

namespace statefun::inline v0::detail {

template <class T>
inline constexpr bool is_coroutine_handle_v = false;

template <class P>
inline constexpr bool is_coroutine_handle_v<std::coroutine_handle<P>> = true;

/// A type `await_suspend` may return: void, bool or a coroutine handle.
template <class T>
concept await_suspend_result =
    std::is_void_v<T> || std::is_same_v<T, bool> || is_coroutine_handle_v<T>;

/// A type with the three awaiter members, usable from a coroutine of any promise type.
template <class A>
concept awaiter = requires(A& a, std::coroutine_handle<> handle) {
  { a.await_ready() } -> std::convertible_to<bool>;
  { a.await_suspend(handle) } -> await_suspend_result;
  a.await_resume();
};

template <class A>
concept has_member_co_await = requires(A&& a) {
  static_cast<A&&>(a).operator co_await();
};

template <class A>
concept has_free_co_await = requires(A&& a) {
  operator co_await(static_cast<A&&>(a));
};

/// The awaiter `co_await a` would use (ignoring any `await_transform`).
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (has_member_co_await<A>) {
    return static_cast<A&&>(a).operator co_await();
  } else if constexpr (has_free_co_await<A>) {
    return operator co_await(static_cast<A&&>(a));
  } else {
    return static_cast<A&&>(a);
  }
}

/// A type that `co_await` accepts in a coroutine whose promise has no `await_transform`.
/// Value category matters: `awaitable<task<int>>` holds, `awaitable<task<int>&>` does not.
template <class A>
concept awaitable = requires(A&& a) {
  { get_awaiter(static_cast<A&&>(a)) } -> awaiter;
};

/// The type of `co_await std::declval<A>()`.
template <awaitable A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

}  // namespace statefun::inline v0::detail
