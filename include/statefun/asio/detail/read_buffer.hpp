#pragma once

/// @file
/// `read_buffer`: the bytes a connection has received and not consumed yet.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

#include <statefun/config.hpp>

namespace statefun::inline v0::asio::detail {

/**
 * A growable byte buffer read into at its end and consumed from its front:
 * `[consumed | pending (received, not consumed) | free]`.
 *
 * Unlike std::string or std::vector it never zero-fills what it allocates (a 64 MiB body is
 * written once, by the socket), and it moves pending bytes only when asked to (`reserve`), so
 * views into the pending bytes stay valid while a request that uses them is being handled.
 */
class read_buffer {
 public:
  read_buffer() = default;
  read_buffer(const read_buffer&) = delete;
  read_buffer& operator=(const read_buffer&) = delete;

  /// The bytes received and not consumed.
  std::span<char> pending() noexcept { return {data_.get() + begin_, end_ - begin_}; }
  std::size_t pending_size() const noexcept { return end_ - begin_; }

  /// Where the next read may write.
  std::span<char> free_space() noexcept { return {data_.get() + end_, capacity_ - end_}; }

  /// `n` bytes were written at the start of `free_space()`.
  void commit(std::size_t n) noexcept { end_ += n; }

  /// Drops the first `n` pending bytes. (Moves nothing: a read may be writing after them.)
  void consume(std::size_t n) noexcept { begin_ += n; }

  /**
   * Makes room for at least `n` bytes after the pending ones, moving the pending bytes to the
   * front or into a larger block (invalidating views into them).
   */
  void reserve(std::size_t n) {
    if (begin_ == end_) {
      begin_ = end_ = 0;  // empty: start over at the front, nothing to move
    }
    if (capacity_ - end_ >= n) {
      return;
    }
    const std::size_t size = pending_size();
    if (capacity_ >= size + n && begin_ > 0) {
      std::memmove(data_.get(), data_.get() + begin_, size);
    } else {
      const std::size_t capacity = std::max(size + n, capacity_ * 2);
      std::unique_ptr<char[]> larger(new char[capacity]);  // default-initialised: not zeroed
      if (size > 0) {
        std::memcpy(larger.get(), data_.get() + begin_, size);
      }
      data_ = std::move(larger);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = size;
  }

  /// Frees the block when nothing is pending and it is larger than `keep` bytes (not while a
  /// read is writing into it).
  void shrink(std::size_t keep) noexcept {
    if (begin_ == end_ && capacity_ > keep) {
      data_.reset();
      capacity_ = begin_ = end_ = 0;
    }
  }

  std::size_t capacity() const noexcept { return capacity_; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace statefun::inline v0::asio::detail
