#pragma once

/// @file
/// A recycling allocator for coroutine frames.
///
/// Request handlers create and destroy many short-lived coroutine frames of a few recurring
/// sizes. Each thread keeps a small free list per size class, so a frame of a size seen before
/// is usually recycled without touching the global heap.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include <statefun/config.hpp>

#if defined(__SANITIZE_ADDRESS__)
#define STATEFUN_DETAIL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STATEFUN_DETAIL_ASAN 1
#endif
#endif

#if defined(STATEFUN_DETAIL_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace statefun::inline v0::detail {

/**
 * Allocates coroutine frames from thread-local free lists.
 *
 * Sizes are rounded up to a multiple of `granularity`; requests above `max_pooled_size` go
 * straight to `::operator new`. Every block starts with a header recording its size class, so a
 * block may be freed on any thread: it then joins that thread's free list (or the heap if the
 * list is full). Each list holds at most `max_cached_per_class` blocks, so a burst of frames
 * does not pin memory for the life of the thread. A thread's cached blocks are returned to the
 * heap when the thread exits.
 *
 * Under AddressSanitizer, cached blocks are poisoned, so a use after a frame was freed is still
 * reported as long as the block has not been handed out again.
 */
class frame_allocator {
 public:
  /// Size classes are multiples of this many bytes.
  static constexpr std::size_t granularity = 64;
  /// Number of size classes (64, 128, ..., 1024 bytes).
  static constexpr std::size_t class_count = 16;
  /// Largest request served from the free lists.
  static constexpr std::size_t max_pooled_size = granularity * class_count;
  /// Upper bound on the blocks each thread caches per size class.
  static constexpr std::size_t max_cached_per_class = 64;

  /**
   * Allocates a block for a coroutine frame of `size` bytes.
   * @param size Frame size requested by the compiler.
   * @return Storage aligned to `__STDCPP_DEFAULT_NEW_ALIGNMENT__`.
   * @throws std::bad_alloc if the heap is exhausted.
   */
  [[nodiscard]] static void* allocate(std::size_t size) {
    const std::uint32_t size_class = size_class_for(size);
    if (size_class != oversized) {
      if (thread_cache* cache = local_cache(); cache != nullptr) {
        if (block_header* block = cache->pop(size_class); block != nullptr) {
          live_.fetch_add(1, std::memory_order_relaxed);
          return block + 1;
        }
      }
    }
    auto* block = static_cast<block_header*>(::operator new(block_bytes(size_class, size)));
    block->next_ = nullptr;
    block->size_class_ = size_class;
    live_.fetch_add(1, std::memory_order_relaxed);
    return block + 1;
  }

  /**
   * Returns a block obtained from allocate(), on any thread.
   * @param frame Pointer returned by allocate().
   * @param size  The size passed to allocate() (informational: the block header is authoritative).
   */
  static void deallocate(void* frame, [[maybe_unused]] std::size_t size) noexcept {
    block_header* block = static_cast<block_header*>(frame) - 1;
    live_.fetch_sub(1, std::memory_order_relaxed);
    if (block->size_class_ != oversized) {
      if (thread_cache* cache = local_cache(); cache != nullptr && cache->push(block)) {
        return;
      }
    }
    ::operator delete(block);
  }

  /// Frames allocated and not yet freed, process-wide (a relaxed atomic shared by all threads).
  [[nodiscard]] static std::size_t live_frames() noexcept {
    return live_.load(std::memory_order_relaxed);
  }

  /// Blocks the calling thread caches for the size class that serves `size` (0 if not pooled).
  [[nodiscard]] static std::size_t cached_blocks(std::size_t size) noexcept {
    const std::uint32_t size_class = size_class_for(size);
    thread_cache* cache = local_cache();
    if (size_class == oversized || cache == nullptr) {
      return 0;
    }
    return cache->counts_[size_class - 1];
  }

  /// Returns every block cached by the calling thread to the heap.
  static void trim() noexcept {
    if (thread_cache* cache = local_cache(); cache != nullptr) {
      cache->release_all();
    }
  }

 private:
  /// Precedes every block; keeps the frame at the default new alignment.
  struct alignas(__STDCPP_DEFAULT_NEW_ALIGNMENT__) block_header {
    block_header* next_;
    std::uint32_t size_class_;  // 1..class_count, or `oversized`
  };

  static constexpr std::uint32_t oversized = 0;

  struct thread_cache {
    block_header* heads_[class_count] = {};
    std::size_t counts_[class_count] = {};

    thread_cache() = default;
    thread_cache(const thread_cache&) = delete;
    thread_cache& operator=(const thread_cache&) = delete;

    ~thread_cache() {
      release_all();
      // Frames destroyed later in this thread's teardown bypass the (now gone) cache.
      cache_destroyed_ = true;
    }

    block_header* pop(std::uint32_t size_class) noexcept {
      block_header* block = heads_[size_class - 1];
      if (block == nullptr) {
        return nullptr;
      }
      unpoison(block);
      heads_[size_class - 1] = block->next_;
      --counts_[size_class - 1];
      return block;
    }

    bool push(block_header* block) noexcept {
      const std::uint32_t size_class = block->size_class_;
      if (counts_[size_class - 1] >= max_cached_per_class) {
        return false;
      }
      block->next_ = heads_[size_class - 1];
      heads_[size_class - 1] = block;
      ++counts_[size_class - 1];
      poison(block);
      return true;
    }

    void release_all() noexcept {
      for (std::size_t i = 0; i < class_count; ++i) {
        while (heads_[i] != nullptr) {
          block_header* block = heads_[i];
          unpoison(block);
          heads_[i] = block->next_;
          ::operator delete(block);
        }
        counts_[i] = 0;
      }
    }
  };

  static constexpr std::uint32_t size_class_for(std::size_t size) noexcept {
    if (size > max_pooled_size) {
      return oversized;
    }
    return size == 0 ? 1U : static_cast<std::uint32_t>((size + granularity - 1) / granularity);
  }

  static constexpr std::size_t block_bytes(std::uint32_t size_class, std::size_t size) noexcept {
    return sizeof(block_header) + (size_class == oversized ? size : size_class * granularity);
  }

  static thread_cache* local_cache() noexcept {
    if (cache_destroyed_) {
      return nullptr;
    }
    thread_local thread_cache cache;
    return &cache;
  }

  // The payload of a cached block must not be touched until it is handed out again.
  static void poison([[maybe_unused]] block_header* block) noexcept {
#if defined(STATEFUN_DETAIL_ASAN)
    ASAN_POISON_MEMORY_REGION(block + 1, block->size_class_ * granularity);
#endif
  }

  static void unpoison([[maybe_unused]] block_header* block) noexcept {
#if defined(STATEFUN_DETAIL_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(block + 1, block->size_class_ * granularity);
#endif
  }

  // One counter for the whole process: frames often finish on a thread other than the one that
  // created them, so per-thread counts would not balance. The cost is one relaxed RMW per
  // allocation and per free.
  alignas(64) static inline std::atomic<std::size_t> live_{0};
  static constinit inline thread_local bool cache_destroyed_ = false;
};

}  // namespace statefun::inline v0::detail
