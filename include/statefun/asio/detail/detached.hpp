#pragma once

/// @file
/// `detached`: the return type of a coroutine that starts at once and frees itself at the end.

#include <coroutine>
#include <cstddef>
#include <exception>

#include <statefun/config.hpp>
#include <statefun/detail/frame_allocator.hpp>

namespace statefun::inline v0::asio::detail {

/**
 * A fire-and-forget coroutine: it runs until its first suspension when called, and its frame
 * is destroyed when the body ends. The body must handle every exception itself; one that
 * escapes is a bug in this library and terminates.
 */
struct detached {
  struct promise_type {
    [[nodiscard]] static void* operator new(std::size_t size) {
      return statefun::detail::frame_allocator::allocate(size);
    }
    static void operator delete(void* frame, std::size_t size) noexcept {
      statefun::detail::frame_allocator::deallocate(frame, size);
    }

    detached get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };
};

}  // namespace statefun::inline v0::asio::detail
