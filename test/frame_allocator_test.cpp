#include <statefun/detail/frame_allocator.hpp>

#include <statefun/task.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "support/doctest.hpp"

using statefun::detail::frame_allocator;

namespace {

statefun::task<int> answer() { co_return 42; }

// Clang elides the frame of a task that provably never leaves its caller (HALO), so tests that
// count frames while a task is alive first let it escape through a call the optimiser cannot
// see into.
template <class T>
[[gnu::noinline]] statefun::task<T> escape(statefun::task<T> work) {
  return work;
}

}  // namespace

TEST_CASE("live_frames counts blocks allocated and not yet freed") {
  const std::size_t before = frame_allocator::live_frames();
  void* small = frame_allocator::allocate(100);
  void* large = frame_allocator::allocate(frame_allocator::max_pooled_size + 1);
  CHECK(frame_allocator::live_frames() == before + 2);
  frame_allocator::deallocate(small, 100);
  CHECK(frame_allocator::live_frames() == before + 1);
  frame_allocator::deallocate(large, frame_allocator::max_pooled_size + 1);
  CHECK(frame_allocator::live_frames() == before);
}

TEST_CASE("task frames come from the frame allocator") {
  const std::size_t before = frame_allocator::live_frames();
  {
    auto work = escape(answer());
    CHECK(frame_allocator::live_frames() == before + 1);
  }
  CHECK(frame_allocator::live_frames() == before);
}

TEST_CASE("a freed block is reused by the next allocation of the same size class") {
  frame_allocator::trim();
  void* first = frame_allocator::allocate(65);
  frame_allocator::deallocate(first, 65);
  CHECK(frame_allocator::cached_blocks(65) == 1);

  void* second = frame_allocator::allocate(128);  // 65..128 share a class
  CHECK(second == first);
  CHECK(frame_allocator::cached_blocks(128) == 0);

  void* other_class = frame_allocator::allocate(129);
  CHECK(other_class != first);
  frame_allocator::deallocate(second, 128);
  frame_allocator::deallocate(other_class, 129);
  frame_allocator::trim();
}

TEST_CASE("each thread caches a bounded number of blocks per size class") {
  frame_allocator::trim();
  constexpr std::size_t size = 300;
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < 3 * frame_allocator::max_cached_per_class; ++i) {
    blocks.push_back(frame_allocator::allocate(size));
  }
  for (void* block : blocks) {
    frame_allocator::deallocate(block, size);
  }
  CHECK(frame_allocator::cached_blocks(size) == frame_allocator::max_cached_per_class);
  CHECK(frame_allocator::cached_blocks(64) == 0);

  frame_allocator::trim();
  CHECK(frame_allocator::cached_blocks(size) == 0);
}

TEST_CASE("requests above the largest size class bypass the free lists") {
  frame_allocator::trim();
  constexpr std::size_t size = frame_allocator::max_pooled_size + 1;
  void* block = frame_allocator::allocate(size);
  frame_allocator::deallocate(block, size);
  CHECK(frame_allocator::cached_blocks(size) == 0);
  CHECK(frame_allocator::cached_blocks(frame_allocator::max_pooled_size) == 0);
}

TEST_CASE("blocks are aligned and fully usable") {
  for (const std::size_t size :
       {std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{65}, std::size_t{1000},
        std::size_t{1024}, std::size_t{1025}, std::size_t{5000}}) {
    CAPTURE(size);
    void* block = frame_allocator::allocate(size);
    CHECK(reinterpret_cast<std::uintptr_t>(block) % __STDCPP_DEFAULT_NEW_ALIGNMENT__ == 0);
    std::memset(block, 0xab, size);  // AddressSanitizer checks the whole range is ours
    frame_allocator::deallocate(block, size);
  }
  frame_allocator::trim();
}

TEST_CASE("a block may be freed on a thread other than the one that allocated it") {
  const std::size_t before = frame_allocator::live_frames();
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < 100; ++i) {
    blocks.push_back(frame_allocator::allocate(64 * (1 + i % 20)));  // pooled and oversized
  }
  std::thread other([&blocks] {
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      frame_allocator::deallocate(blocks[i], 64 * (1 + i % 20));
    }
    // The blocks now sit in this thread's cache, which is released when the thread exits.
  });
  other.join();
  CHECK(frame_allocator::live_frames() == before);
}

TEST_CASE("a task created on one thread may be destroyed on another") {
  const std::size_t before = frame_allocator::live_frames();
  auto work = answer();
  std::thread other([moved = std::move(work)]() mutable { auto local = std::move(moved); });
  other.join();
  CHECK(frame_allocator::live_frames() == before);
}
