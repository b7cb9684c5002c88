// Tests of where coroutine frames come from (asyncio.hpp's per-thread frame cache) and of
// Task<>::finished(), the frameless task a fast path returns (StreamWriter::drain's).
#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <coroutine>
#include <cstddef>
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

aio::Task<std::vector<void*>> call_twice() {
  std::vector<void*> at;
  at.push_back(co_await where_am_i());
  at.push_back(co_await where_am_i());
  co_return at;
}

#define SKIP_WITHOUT_RECYCLING()                                                   \
  if (!detail::frame_recycling_enabled()) {                                        \
    GTEST_SKIP() << "this build (AddressSanitizer) gives every frame to operator " \
                    "new and delete, so that a use after free is seen";            \
  }

TEST(FrameRecycling, TheNextFrameOfASizeClassReusesTheLastFreedOne) {
  SKIP_WITHOUT_RECYCLING();
  ss::Reactor reactor;
  const std::vector<void*> at = aio::run(reactor, call_twice(), false);
  ASSERT_EQ(at.size(), 2u);
  EXPECT_EQ(at[0], at[1]) << "the second call's frame is not the block the first one freed";

  void* a = detail::frame_allocate(100);
  detail::frame_free(a, 100);
  void* b = detail::frame_allocate(128);  // the same 64-byte class: 65..128
  EXPECT_EQ(a, b);
  void* c = detail::frame_allocate(129);  // the next class: not that block
  EXPECT_NE(b, c);
  detail::frame_free(b, 128);
  detail::frame_free(c, 129);
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
    const std::size_t large = detail::kFrameGrain * detail::kFrameClasses + 1;
    for (int i = 0; i < 10; ++i) blocks.push_back(detail::frame_allocate(large));
    for (void* p : blocks) detail::frame_free(p, large);
    after_large = detail::frame_cache_blocks();
  }).join();
  EXPECT_EQ(fresh, 0u);
  EXPECT_EQ(after_small, detail::kFrameCacheDepth);
  EXPECT_EQ(after_large, detail::kFrameCacheDepth) << "a frame above the largest class was kept";
}

TEST(FrameRecycling, AFrameFreedOnAnotherThreadJoinsThatThreadsCache) {
  SKIP_WITHOUT_RECYCLING();
  void* p = detail::frame_allocate(300);
  const std::size_t here_before = detail::frame_cache_blocks();
  std::size_t there = 0;
  std::thread([&] {
    detail::frame_free(p, 300);
    there = detail::frame_cache_blocks();
    void* again = detail::frame_allocate(300);
    EXPECT_EQ(again, p);
    detail::frame_free(again, 300);
  }).join();
  EXPECT_EQ(there, 1u);
  EXPECT_EQ(detail::frame_cache_blocks(), here_before);
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

  // 40 threads, each leaving every class of its cache full: about 5.4 MiB if not released.
  const std::size_t before = heap_in_use();
  for (int t = 0; t < 40; ++t) {
    std::thread([] {
      std::vector<std::pair<void*, std::size_t>> blocks;
      for (std::size_t c = 0; c < detail::kFrameClasses; ++c) {
        const std::size_t size = (c + 1) * detail::kFrameGrain;
        for (std::size_t i = 0; i < detail::kFrameCacheDepth; ++i) {
          blocks.emplace_back(detail::frame_allocate(size), size);
        }
      }
      for (auto [p, size] : blocks) detail::frame_free(p, size);
      EXPECT_EQ(detail::frame_cache_blocks(), detail::kFrameClasses * detail::kFrameCacheDepth);
    }).join();
  }
  const std::size_t after = heap_in_use();
  EXPECT_LT(after, before + 512 * 1024) << "the ended threads' caches were not released";
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

}  // namespace
