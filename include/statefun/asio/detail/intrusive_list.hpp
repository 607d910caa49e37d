#pragma once

/// @file
/// `intrusive_list`: a doubly linked list threaded through its elements (no allocation).

#include <cstddef>

#include <statefun/config.hpp>

namespace statefun::inline v0::asio::detail {

/// The links an element of an `intrusive_list` carries (derive from it).
class intrusive_list_hook {
 public:
  intrusive_list_hook() = default;
  intrusive_list_hook(const intrusive_list_hook&) = delete;
  intrusive_list_hook& operator=(const intrusive_list_hook&) = delete;

 private:
  template <class T>
  friend class intrusive_list;
  intrusive_list_hook* previous_ = nullptr;
  intrusive_list_hook* next_ = nullptr;
};

/**
 * The elements of type `T` (derived from `intrusive_list_hook`) that are in the list, newest
 * first. Pushing and erasing are O(1) and never allocate, which is why pending operations and
 * open connections are kept this way. Not thread-safe: one thread owns a list.
 */
template <class T>
class intrusive_list {
 public:
  void push_front(T& element) noexcept {
    intrusive_list_hook& hook = element;
    hook.previous_ = nullptr;
    hook.next_ = first_;
    if (first_ != nullptr) {
      first_->previous_ = &hook;
    }
    first_ = &hook;
    ++size_;
  }

  void erase(T& element) noexcept {
    intrusive_list_hook& hook = element;
    (hook.previous_ != nullptr ? hook.previous_->next_ : first_) = hook.next_;
    if (hook.next_ != nullptr) {
      hook.next_->previous_ = hook.previous_;
    }
    hook.previous_ = hook.next_ = nullptr;
    --size_;
  }

  std::size_t size() const noexcept { return size_; }

  /// Calls `f(element)` for each element; `f` may erase the element it is given.
  template <class F>
  void for_each(F f) {
    for (intrusive_list_hook* hook = first_; hook != nullptr;) {
      intrusive_list_hook* next = hook->next_;
      f(static_cast<T&>(*hook));
      hook = next;
    }
  }

 private:
  intrusive_list_hook* first_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace statefun::inline v0::asio::detail
