#pragma once

/// @file
/// `read_buffer`: the bytes a connection has received and not consumed yet.

#include <algorithm>
#include <cstddef>
#include <cstdint>
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
 * written once, by the socket), and it moves pending bytes only when asked to (`reserve`,
 * `drop_back` after a parser's compaction), so views into the pending bytes stay valid while a
 * request that uses them is being handled.
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

  /// Forgets the last `n` pending bytes (a parser's `compact` freed them). Not while a read is
  /// writing after them: its bytes would land past the new end.
  void drop_back(std::size_t n) noexcept { end_ -= n; }

  /**
   * Makes room for at least `n` bytes after the pending ones, moving the pending bytes to the
   * front or into a larger block (invalidating views into them). A larger block is at least
   * twice the old one, so that a buffer grown one read at a time copies each byte a bounded
   * number of times, but no larger than `at_most` bytes unless the pending bytes and `n` need
   * more.
   */
  void reserve(std::size_t n, std::size_t at_most = SIZE_MAX) {
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
      const std::size_t doubled = capacity_ > SIZE_MAX / 2 ? SIZE_MAX : capacity_ * 2;
      const std::size_t capacity = std::max(size + n, std::min(doubled, at_most));
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

/**
 * How much room to make for the next read of a message whose body still lacks `expected` bytes
 * (0: unknown): `min_read`, or for a large body as many bytes as are pending already (at least
 * `min_body_read`), so that the buffer grows with the bytes received (doubling, which keeps the
 * copying linear) and never past what the message still needs. A peer that declares a large
 * body and sends one byte costs `min_body_read` bytes, not what it declared.
 */
inline std::size_t read_room(std::size_t pending, std::uint64_t expected, std::size_t min_read,
                             std::size_t min_body_read = 64 * 1024) noexcept {
  const std::uint64_t grown = std::min<std::uint64_t>(expected, std::max(pending, min_body_read));
  return static_cast<std::size_t>(std::max<std::uint64_t>(min_read, grown));
}

/// The most bytes a message within `max_head_bytes` and `max_body_bytes` can take in a buffer
/// (its framing reclaimed), plus `slack` for a read after it: a cap on the buffer's growth.
inline std::size_t message_bound(std::size_t max_head_bytes, std::uint64_t max_body_bytes, std::size_t slack) noexcept {
  const std::uint64_t bound = max_body_bytes > UINT64_MAX - max_head_bytes - slack ? UINT64_MAX
                                                                                   : max_body_bytes + max_head_bytes + slack;
  return bound > SIZE_MAX ? SIZE_MAX : static_cast<std::size_t>(bound);
}

}  // namespace statefun::inline v0::asio::detail
