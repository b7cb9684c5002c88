// Tests of where coroutine frames come from (asyncio.hpp's per-thread frame cache) and of
// Task<>::finished(), the frameless task a fast path returns (StreamWriter::drain's).
#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

#include "socketserver/asyncio.hpp"

namespace {

namespace ss = socketserver;
namespace aio = socketserver::asyncio;
namespace detail = socketserver::asyncio::detail;
using namespace std::chrono_literals;

// The address of the frame of the coroutine that awaits it.
struct FrameAddress {
  void* address = nullptr;
  [[nodiscard]] bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    address = h.address();
    return false;
  }
  [[nodiscard]] void* await_resume() const noexcept { return address; }
};

aio::Task<void*> where_am_i() { co_return co_await FrameAddress{}; }

aio::Task<int> count_calls() {
  int n = 0;
  for (int i = 0; i < 10; ++i) n += (co_await where_am_i()) != nullptr ? 1 : 0;
  co_return n;
}

#define SKIP_WITHOUT_RECYCLING()                                                   \
  if (!detail::frame_recycling_enabled()) {                                        \
    GTEST_SKIP() << "this build (AddressSanitizer) gives every frame to operator " \
                    "new and delete, so that a use after free is seen";            \
  }

// (Every build: the count is kept with recycling or without.)
TEST(FrameRecycling, EveryCoroutineFrameComesThroughTheFrameAllocator) {
  ss::Reactor reactor;
  const std::uint64_t before = detail::frames_allocated();
  EXPECT_EQ(aio::run(reactor, count_calls(), false), 10);
  // count_calls, its ten where_am_i, and run's root frame.
  EXPECT_EQ(detail::frames_allocated() - before, 12u);
}

TEST(FrameRecycling, AFreedFrameWaitsInItsClassForTheNextOfThatClass) {
  SKIP_WITHOUT_RECYCLING();
  static_assert(detail::frame_class(100) == detail::frame_class(90));
  static_assert(detail::frame_class(detail::frame_block(detail::frame_class(100)) + 1) ==
                detail::frame_class(100) + 1);
  void* a = detail::frame_allocate(100);
  const std::size_t blocks = detail::frame_cache_blocks();
  const std::size_t bytes = detail::frame_cache_bytes();
  detail::frame_free(a, 100);
  EXPECT_EQ(detail::frame_cache_blocks(), blocks + 1);
  EXPECT_EQ(detail::frame_cache_bytes(), bytes + detail::frame_block(detail::frame_class(100)));
  void* b = detail::frame_allocate(90);  // the same class: that block, from the cache
  EXPECT_EQ(a, b);
  EXPECT_EQ(detail::frame_cache_blocks(), blocks);
  detail::frame_free(b, 90);
  EXPECT_EQ(detail::frame_cache_blocks(), blocks + 1);
  void* c = detail::frame_allocate(detail::frame_block(detail::frame_class(100)) + 1);
  EXPECT_NE(b, c);  // the next class: not that block
  detail::frame_free(c, detail::frame_block(detail::frame_class(100)) + 1);
}

TEST(FrameRecycling, EachClassKeepsAtMostItsDepthAndLargeFramesAreNotKept) {
  SKIP_WITHOUT_RECYCLING();
  std::size_t fresh = 99;
  std::size_t after_small = 0;
  std::size_t after_large = 0;
  std::thread([&] {  // a thread of its own: its cache starts empty
    fresh = detail::frame_cache_blocks();
    std::vector<void*> blocks;
    for (int i = 0; i < 100; ++i) blocks.push_back(detail::frame_allocate(48));
    for (void* p : blocks) detail::frame_free(p, 48);
    after_small = detail::frame_cache_blocks();
    blocks.clear();
    const std::size_t large = detail::frame_block(detail::kFrameClasses - 1) + 1;
    for (int i = 0; i < 10; ++i) blocks.push_back(detail::frame_allocate(large));
    for (void* p : blocks) detail::frame_free(p, large);
    after_large = detail::frame_cache_blocks();
  }).join();
  EXPECT_EQ(fresh, 0u);
  EXPECT_EQ(after_small, detail::kFrameCacheDepth);
  EXPECT_EQ(after_large, detail::kFrameCacheDepth) << "a frame above the largest class was kept";
}

TEST(FrameRecycling, AThreadKeepsAtMostItsBytesInAllClasses) {
  SKIP_WITHOUT_RECYCLING();
  std::size_t blocks_full = 0;
  std::size_t bytes_full = 0;
  std::size_t blocks_after = 0;
  std::size_t bytes_after = 0;
  std::thread([&] {
    // Every class at its depth would be far above the byte bound.
    std::vector<std::pair<void*, std::size_t>> all;
    for (std::size_t c = 0; c < detail::kFrameClasses; ++c) {
      const std::size_t size = detail::frame_block(c);
      for (std::size_t i = 0; i < detail::kFrameCacheDepth; ++i) {
        all.emplace_back(detail::frame_allocate(size), size);
      }
    }
    std::size_t largest_first = all.size();  // free the largest blocks first
    while (largest_first > 0) {
      --largest_first;
      detail::frame_free(all[largest_first].first, all[largest_first].second);
    }
    blocks_full = detail::frame_cache_blocks();
    bytes_full = detail::frame_cache_bytes();
    // One more of the largest: fewer bytes are left than it takes.
    const std::size_t size = detail::frame_block(detail::kFrameClasses - 1);
    void* more = detail::frame_allocate(size);  // (comes from the cache: one fewer there)
    void* another = detail::frame_allocate(size);
    detail::frame_free(more, size);
    detail::frame_free(another, size);  // the one that does not fit
    blocks_after = detail::frame_cache_blocks();
    bytes_after = detail::frame_cache_bytes();
  }).join();
  // The largest blocks first, then smaller ones into what is left: full to less than the
  // smallest block, far fewer blocks than every class at its depth.
  EXPECT_LE(bytes_full, detail::kFrameCacheBytes);
  EXPECT_LT(detail::kFrameCacheBytes - bytes_full, detail::frame_block(0));
  EXPECT_LT(blocks_full, 2 * detail::kFrameCacheDepth);
  EXPECT_EQ(blocks_after, blocks_full);
  EXPECT_EQ(bytes_after, bytes_full);
}

TEST(FrameRecycling, AFrameFreedOnAnotherThreadJoinsThatThreadsCache) {
  SKIP_WITHOUT_RECYCLING();
  void* p = detail::frame_allocate(300);
  std::size_t there = 0;
  std::thread([&] {
    detail::frame_free(p, 300);
    there = detail::frame_cache_blocks();
    void* again = detail::frame_allocate(300);
    EXPECT_EQ(again, p);
    detail::frame_free(again, 300);
  }).join();
  EXPECT_EQ(there, 1u);
}

// glibc's count of bytes in use, over every arena.
std::size_t heap_in_use() { return mallinfo2().uordblks; }

TEST(FrameRecycling, AThreadsCacheIsReleasedWhenTheThreadEnds) {
  SKIP_WITHOUT_RECYCLING();
  // First, that this build's allocator reports through mallinfo2 (a sanitizer's may not).
  const std::size_t base = heap_in_use();
  std::vector<char*> held;
  for (int i = 0; i < 1024; ++i) held.push_back(new char[1024]);
  const bool reports = heap_in_use() >= base + 1000 * 1024;
  for (char* p : held) delete[] p;
  if (!reports) GTEST_SKIP() << "this build's allocator does not report through mallinfo2";

  // 200 threads, each leaving its cache full: 3.2 MiB if not released.
  const std::size_t before = heap_in_use();
  for (int t = 0; t < 200; ++t) {
    std::thread([] {
      std::vector<std::pair<void*, std::size_t>> blocks;
      for (std::size_t c = 0; c < detail::kFrameClasses; ++c) {
        const std::size_t size = detail::frame_block(c);
        for (std::size_t i = 0; i < detail::kFrameCacheDepth; ++i) {
          blocks.emplace_back(detail::frame_allocate(size), size);
        }
      }
      for (auto [p, size] : blocks) detail::frame_free(p, size);
      EXPECT_GT(detail::frame_cache_bytes(),
                detail::kFrameCacheBytes - detail::frame_block(detail::kFrameClasses - 1));
    }).join();
  }
  const std::size_t after = heap_in_use();
  EXPECT_LT(after, before + 1024 * 1024) << "the ended threads' caches were not released";
}

aio::Task<int> two() { co_return 2; }

TEST(TaskFinished, AwaitingItGoesOnAtOnceAndItIsValid) {
  aio::Task<> t = aio::Task<>::finished();
  EXPECT_TRUE(t.valid());
  ss::Reactor reactor;
  int steps = 0;
  auto body = [&](aio::Task<> f) -> aio::Task<int> {
    co_await std::move(f);
    ++steps;
    co_await aio::Task<>::finished();
    ++steps;
    co_return steps;
  };
  EXPECT_EQ(aio::run(reactor, body(std::move(t)), false), 2);
  EXPECT_FALSE(t.valid());  // NOLINT(bugprone-use-after-move): moved from, as it should be
}

TEST(TaskFinished, AMovedFromFinishedTaskIsEmpty) {
  aio::Task<> t = aio::Task<>::finished();
  aio::Task<> u = std::move(t);
  EXPECT_TRUE(u.valid());
  EXPECT_FALSE(t.valid());  // NOLINT(bugprone-use-after-move)
  ss::Reactor reactor;
  auto await_it = [](aio::Task<> x) -> aio::Task<> { co_await std::move(x); };
  EXPECT_THROW(aio::run(reactor, await_it(std::move(t)), false), std::logic_error);
  EXPECT_NO_THROW(aio::run(reactor, await_it(std::move(u)), false));
}

TEST(TaskFinished, WorksWithWaitForGatherAndCreateTask) {
  ss::Reactor reactor;
  auto body = [&]() -> aio::Task<int> {
    co_await aio::wait_for(aio::Task<>::finished(), 1s);
    auto [nothing, value] = co_await aio::gather(aio::Task<>::finished(), two());
    (void)nothing;
    aio::TaskHandle<> h = aio::create_task(reactor, aio::Task<>::finished());
    EXPECT_TRUE(h.done());  // created tasks start at once: this one ends there
    co_await h;
    co_return value;
  };
  EXPECT_EQ(aio::run(reactor, body(), false), 2);
}

// Every finished task shares one ended frame: destroying one destroys nothing, and threads
// may make, await and drop them at once (TSan: no race on the shared frame).
TEST(TaskFinished, ManyOnTwoThreadsAtOnceShareOneFrameThatIsNeverDestroyed) {
  auto many = [] {
    ss::Reactor reactor;
    auto body = []() -> aio::Task<int> {
      int n = 0;
      for (int i = 0; i < 1000; ++i) {
        aio::Task<> t = aio::Task<>::finished();
        co_await std::move(t);
        ++n;
        aio::Task<> dropped = aio::Task<>::finished();  // destroyed unawaited
      }
      co_return n;
    };
    return aio::run(reactor, body(), false);
  };
  int a = 0;
  int b = 0;
  std::thread other([&] { a = many(); });
  b = many();
  other.join();
  EXPECT_EQ(a, 1000);
  EXPECT_EQ(b, 1000);
  const std::uint64_t before = detail::frames_allocated();
  aio::Task<> t1 = aio::Task<>::finished();
  aio::Task<> t2 = aio::Task<>::finished();
  EXPECT_EQ(detail::frames_allocated(), before) << "a finished task made a frame";
}

}  // namespace
