// test_timers.cpp — the reactor's Timers (src/reactor_impl.hpp) on their own: due calls come
// out in deadline order (ties in the order scheduled), cancelled and moved entries are skipped
// and never shorten a wait, and detach_all leaves no DelayedCall pointing at a dead reactor.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "reactor_impl.hpp"  // src/: internal

namespace ss = socketserver;
using namespace std::chrono_literals;

namespace {

ss::steady::time_point t0() { return ss::steady::time_point{} + 1h; }

TEST(Timers, DueCallsComeOutInDeadlineOrderTiesAsScheduled) {
  ss::Timers timers;
  std::string order;
  timers.add(nullptr, t0() + 3ms, [&] { order += 'c'; });
  timers.add(nullptr, t0() + 1ms, [&] { order += 'a'; });
  timers.add(nullptr, t0() + 2ms, [&] { order += 'b'; });
  timers.add(nullptr, t0() + 2ms, [&] { order += 'B'; });
  EXPECT_EQ(timers.next_due(), t0() + 1ms);
  EXPECT_FALSE(timers.pop_due(t0())) << "nothing is due before its time";
  while (auto fn = timers.pop_due(t0() + 2ms)) (*fn)();
  EXPECT_EQ(order, "abB");
  EXPECT_EQ(timers.next_due(), t0() + 3ms);
  while (auto fn = timers.pop_due(t0() + 10ms)) (*fn)();
  EXPECT_EQ(order, "abBc");
  EXPECT_TRUE(timers.empty());
  EXPECT_FALSE(timers.next_due());
}

TEST(Timers, CancelledAndMovedEntriesAreSkippedAndDoNotShortenTheWait) {
  ss::Timers timers;
  int ran = 0;
  auto early = timers.add(nullptr, t0() + 1ms, [&] { ran += 1; });
  auto moved = timers.add(nullptr, t0() + 2ms, [&] { ran += 10; });
  timers.add(nullptr, t0() + 5ms, [&] { ran += 100; });
  early->active = false;  // what DelayedCall::cancel does
  timers.note_stale();
  moved->when = t0() + 4ms;  // what DelayedCall::reset does
  ++moved->generation;
  timers.push(moved);
  timers.note_stale();
  EXPECT_EQ(timers.next_due(), t0() + 4ms) << "the stale heads are dropped first";
  while (auto fn = timers.pop_due(t0() + 3ms)) (*fn)();
  EXPECT_EQ(ran, 0);
  while (auto fn = timers.pop_due(t0() + 4ms)) (*fn)();
  EXPECT_EQ(ran, 10) << "the moved call runs once, at its new time";
  EXPECT_FALSE(moved->active);
  while (auto fn = timers.pop_due(t0() + 5ms)) (*fn)();
  EXPECT_EQ(ran, 110);
}

TEST(Timers, ACallWhoseHandlesAreGoneStillRunsAndIsFreed) {
  ss::Timers timers;
  auto keep = std::make_shared<int>(0);
  std::weak_ptr<int> watch = keep;
  timers.add(nullptr, t0(), [keep = std::move(keep)] { ++*keep; });
  auto fn = timers.pop_due(t0());
  ASSERT_TRUE(fn);
  (*fn)();
  EXPECT_FALSE(watch.expired()) << "the function is the caller's now";
  fn.reset();
  EXPECT_TRUE(watch.expired()) << "and nothing else holds what it captured";
}

TEST(Timers, DetachAllForgetsTheReactor) {
  ss::Timers timers;
  auto* fake = reinterpret_cast<ss::ReactorImpl*>(&timers);  // never dereferenced
  auto state = timers.add(fake, t0(), [] {});
  ASSERT_EQ(state->impl, fake);
  timers.detach_all();
  EXPECT_EQ(state->impl, nullptr);
  EXPECT_TRUE(timers.empty());
}

}  // namespace
