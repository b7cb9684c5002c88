// Tests of asyncio.hpp's tasks: Task<T>, create_task, run, sleep, wait_for, gather, TaskGroup,
// and cancellation (an exception at the current await; destructors run).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "socketserver/asyncio.hpp"

namespace {

namespace ss = socketserver;
namespace aio = socketserver::asyncio;
using namespace std::chrono_literals;

// Counts live instances: a frame holding one has been freed when the count comes back.
struct Tracker {
  static inline int live = 0;
  Tracker() { ++live; }
  ~Tracker() { --live; }
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;
};

aio::Task<int> ready(int v) { co_return v; }

aio::Task<long> sum_ready(int n) {
  long total = 0;
  for (int i = 0; i < n; ++i) total += co_await ready(1);
  co_return total;
}

TEST(AsyncioTask, AMillionReadyAwaitsRunInConstantStack) {
  ss::Reactor reactor;
  EXPECT_EQ(aio::run(reactor, sum_ready(1'000'000), false), 1'000'000);
}

aio::Task<int> nested(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await nested(depth - 1);
}

TEST(AsyncioTask, DeepNestingOfReadyTasks) {
  ss::Reactor reactor;
  EXPECT_EQ(aio::run(reactor, nested(10'000), false), 10'000);
}

aio::Task<int> thrower() {
  throw std::runtime_error("boom");
  co_return 1;
}

aio::Task<std::string> catches() {
  try {
    co_await thrower();
  } catch (const std::runtime_error& e) {
    co_return std::string("caught ") + e.what();
  }
  co_return "not thrown";
}

TEST(AsyncioTask, ExceptionsPropagateThroughAwait) {
  ss::Reactor reactor;
  EXPECT_EQ(aio::run(reactor, catches(), false), "caught boom");
  EXPECT_THROW(aio::run(reactor, thrower(), false), std::runtime_error);
}

TEST(AsyncioTask, LazyUntilAwaited) {
  bool started = false;
  auto body = [&]() -> aio::Task<> {
    started = true;
    co_return;
  };
  {
    aio::Task<> t = body();
    EXPECT_FALSE(started);
  }  // destroyed unstarted: nothing runs, nothing leaks
  EXPECT_FALSE(started);
  ss::Reactor reactor;
  aio::run(reactor, body(), false);
  EXPECT_TRUE(started);
}

TEST(AsyncioTask, EmptyTaskAwaitThrows) {
  ss::Reactor reactor;
  auto outer = []() -> aio::Task<> {
    aio::Task<> empty;
    co_await std::move(empty);
  };
  EXPECT_THROW(aio::run(reactor, outer(), false), std::logic_error);
}

aio::Task<std::vector<int>> sleepers(ss::Reactor& reactor) {
  std::vector<int> order;
  auto one = [&](int id, std::chrono::milliseconds d) -> aio::Task<> {
    co_await aio::sleep(reactor, d);
    order.push_back(id);
  };
  co_await aio::gather(one(3, 60ms), one(1, 10ms), one(2, 30ms));
  co_return order;
}

TEST(AsyncioSleep, SleepsRunConcurrentlyAndWakeInDeadlineOrder) {
  ss::Reactor reactor;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(aio::run(reactor, sleepers(reactor), false), (std::vector<int>{1, 2, 3}));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // against a hang only
}

TEST(AsyncioSleep, NaNDelayIsRefused) {
  ss::Reactor reactor;
  auto body = [&]() -> aio::Task<> {
    co_await aio::sleep(reactor,
                        std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN()));
  };
  EXPECT_THROW(aio::run(reactor, body(), false), std::invalid_argument);
}

TEST(AsyncioGather, GivesValuesInOrderIncludingVoid) {
  ss::Reactor reactor;
  auto body = [&]() -> aio::Task<int> {
    auto slow = [&](int v) -> aio::Task<int> {
      co_await aio::sleep(reactor, 20ms);
      co_return v;
    };
    auto nothing = [&]() -> aio::Task<> { co_await aio::sleep(reactor, 1ms); };
    auto [a, b, c] = co_await aio::gather(slow(1), ready(2), nothing());
    (void)c;
    std::vector<aio::Task<int>> many;
    for (int i = 0; i < 5; ++i) many.push_back(slow(i));
    std::vector<int> values = co_await aio::gather(std::move(many));
    int total = a * 100 + b * 10;
    for (int v : values) total += v;
    co_return total;
  };
  EXPECT_EQ(aio::run(reactor, body(), false), 100 + 20 + (0 + 1 + 2 + 3 + 4));
}

TEST(AsyncioGather, AFailureCancelsTheOthersAndIsRethrown) {
  ss::Reactor reactor;
  int cancelled = 0;
  int finished = 0;
  auto body = [&]() -> aio::Task<> {
    auto slow = [&]() -> aio::Task<> {
      Tracker t;
      try {
        co_await aio::sleep(reactor, 10s);
        ++finished;
      } catch (const aio::CancelledError&) {
        ++cancelled;
        throw;
      }
    };
    auto fails = [&]() -> aio::Task<> {
      co_await aio::sleep(reactor, 10ms);
      throw std::runtime_error("child failed");
    };
    co_await aio::gather(slow(), fails(), slow());
  };
  const auto start = std::chrono::steady_clock::now();
  try {
    aio::run(reactor, body(), false);
    ADD_FAILURE() << "gather did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "child failed");
  }
  EXPECT_EQ(cancelled, 2);
  EXPECT_EQ(finished, 0);
  EXPECT_EQ(Tracker::live, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(AsyncioCancel, CancellationIsAnExceptionAtTheAwaitAndDestructorsRun) {
  ss::Reactor reactor;
  bool caught = false;
  auto victim = [&]() -> aio::Task<int> {
    Tracker t;
    try {
      co_await aio::sleep(reactor, 10s);
    } catch (const aio::CancelledError&) {
      caught = true;
      throw;
    }
    co_return 1;
  };
  auto body = [&]() -> aio::Task<bool> {
    aio::TaskHandle<int> h = aio::create_task(reactor, victim());
    co_await aio::sleep(reactor, 10ms);
    EXPECT_EQ(Tracker::live, 1);
    EXPECT_FALSE(h.done());
    EXPECT_TRUE(h.cancel());
    EXPECT_TRUE(h.done());  // resumed at once: it rethrew
    EXPECT_FALSE(h.cancel());
    try {
      co_await h;
    } catch (const aio::CancelledError&) {
      co_return h.cancelled();
    }
    co_return false;
  };
  EXPECT_TRUE(aio::run(reactor, body(), false));
  EXPECT_TRUE(caught);
  EXPECT_EQ(Tracker::live, 0);
}

TEST(AsyncioCancel, ATaskMayCatchCancellationAndGoOn) {
  ss::Reactor reactor;
  auto stubborn = [&]() -> aio::Task<int> {
    try {
      co_await aio::sleep(reactor, 10s);
    } catch (const aio::CancelledError&) {
    }
    co_await aio::sleep(reactor, 1ms);  // delivered once: this await is not cancelled
    co_return 7;
  };
  auto body = [&]() -> aio::Task<int> {
    aio::TaskHandle<int> h = aio::create_task(reactor, stubborn());
    co_await aio::sleep(reactor, 5ms);
    h.cancel();
    co_return co_await h;
  };
  EXPECT_EQ(aio::run(reactor, body(), false), 7);
}

TEST(AsyncioCancel, SelfCancelIsDeliveredAtTheNextAwait) {
  ss::Reactor reactor;
  std::shared_ptr<aio::detail::TaskState<void>> me;
  bool after = false;
  auto body = [&]() -> aio::Task<> {
    me->cancel();  // running: the flag waits for the next await
    after = true;
    co_await aio::sleep(reactor, 10s);
    ADD_FAILURE() << "the await was not cancelled";
  };
  // A lambda coroutine keeps its captures in the closure: the closure must outlive the task.
  auto first_yield = [&]() -> aio::Task<> {
    co_await aio::sleep(reactor, 0s);
    co_await body();
  };
  auto main_task = [&]() -> aio::Task<bool> {
    auto h = aio::create_task(reactor, first_yield());
    me = h.state();
    try {
      co_await h;
    } catch (const aio::CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(aio::run(reactor, main_task(), false));
  EXPECT_TRUE(after);
}

TEST(AsyncioWaitFor, TimesOutWithTheLibrarysTimeoutAndCancelsTheInner) {
  ss::Reactor reactor;
  bool inner_cancelled = false;
  auto inner = [&]() -> aio::Task<int> {
    Tracker t;
    try {
      co_await aio::sleep(reactor, 10s);
    } catch (const aio::CancelledError&) {
      inner_cancelled = true;
      throw;
    }
    co_return 1;
  };
  auto body = [&]() -> aio::Task<> { co_await aio::wait_for(inner(), 20ms); };
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(aio::run(reactor, body(), false), ss::timeout_error);
  EXPECT_TRUE(inner_cancelled);
  EXPECT_EQ(Tracker::live, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(AsyncioWaitFor, GivesTheValueInTime) {
  ss::Reactor reactor;
  auto inner = [&]() -> aio::Task<int> {
    co_await aio::sleep(reactor, 1ms);
    co_return 42;
  };
  auto body = [&]() -> aio::Task<int> {
    int v = co_await aio::wait_for(inner(), 5s);
    co_await aio::sleep(reactor, 20ms);  // the deadline must not fire later
    co_return v;
  };
  EXPECT_EQ(aio::run(reactor, body(), false), 42);
}

// A coroutine type that is not a Task (eager, records its exception).
struct PlainCoroutine {
  static inline std::exception_ptr error;
  struct promise_type {
    PlainCoroutine get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { error = std::current_exception(); }
  };
};

TEST(AsyncioWaitFor, OutsideATaskIsALogicError) {
  ss::Reactor reactor;
  // Awaited by a coroutine that is not a Task: no current task.
  PlainCoroutine::error = nullptr;
  auto plain = [&]() -> PlainCoroutine { co_await aio::wait_for(ready(1), 1s); };
  plain();
  ASSERT_TRUE(PlainCoroutine::error);
  EXPECT_THROW(std::rethrow_exception(PlainCoroutine::error), std::logic_error);
}

TEST(AsyncioTaskGroup, AFailingChildCancelsSiblingsAndTheBody) {
  ss::Reactor reactor;
  int sibling_cancelled = 0;
  bool body_cancelled = false;
  auto sibling = [&]() -> aio::Task<> {
    Tracker t;
    try {
      co_await aio::sleep(reactor, 10s);
    } catch (const aio::CancelledError&) {
      ++sibling_cancelled;
      throw;
    }
  };
  auto failing = [&]() -> aio::Task<> {
    co_await aio::sleep(reactor, 10ms);
    throw std::runtime_error("child failed");
  };
  auto body = [&]() -> aio::Task<> {
    co_await aio::task_group([&](aio::TaskGroup& tg) -> aio::Task<> {
      for (int i = 0; i < 3; ++i) tg.create_task(sibling());
      tg.create_task(failing());
      try {
        co_await aio::sleep(reactor, 10s);
      } catch (const aio::CancelledError&) {
        body_cancelled = true;
        throw;
      }
    });
  };
  try {
    aio::run(reactor, body(), false);
    ADD_FAILURE() << "the group did not raise";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "child failed");
  }
  EXPECT_EQ(sibling_cancelled, 3);
  EXPECT_TRUE(body_cancelled);
  EXPECT_EQ(Tracker::live, 0);
}

TEST(AsyncioTaskGroup, LeavingWaitsForEveryChild) {
  ss::Reactor reactor;
  std::vector<int> done;
  auto child = [&](int i) -> aio::Task<> {  // the argument is copied into the frame
    co_await aio::sleep(reactor, std::chrono::milliseconds(5 * (4 - i)));
    done.push_back(i);
  };
  auto body = [&]() -> aio::Task<std::size_t> {
    co_await aio::task_group([&](aio::TaskGroup& tg) -> aio::Task<> {
      for (int i = 0; i < 4; ++i) tg.create_task(child(i));
      co_return;  // the body ends first; the group still waits
    });
    co_return done.size();
  };
  EXPECT_EQ(aio::run(reactor, body(), false), 4u);
}

TEST(AsyncioTaskGroup, AChildFailingAtOnceCancelsTheBodyAtItsNextAwait) {
  ss::Reactor reactor;
  bool reached = false;
  auto body = [&]() -> aio::Task<> {
    co_await aio::task_group([&](aio::TaskGroup& tg) -> aio::Task<> {
      tg.create_task([]() -> aio::Task<> {
        throw std::runtime_error("at once");
        co_return;
      }());
      reached = true;
      co_await aio::sleep(reactor, 10s);
      ADD_FAILURE() << "the body was not cancelled";
    });
  };
  EXPECT_THROW(aio::run(reactor, body(), false), std::runtime_error);
  EXPECT_TRUE(reached);
}

TEST(AsyncioRun, StoppingTheReactorCancelsMainAndTheOtherTasks) {
  ss::Reactor reactor;
  int cancelled = 0;
  auto waiter = [&]() -> aio::Task<> {
    Tracker t;
    try {
      co_await aio::sleep(reactor, 10s);
    } catch (const aio::CancelledError&) {
      ++cancelled;
      throw;
    }
  };
  auto body = [&]() -> aio::Task<> {
    for (int i = 0; i < 10; ++i) (void)aio::create_task(reactor, waiter());
    reactor.call_later(20ms, [&] { reactor.stop(); });
    co_await waiter();
  };
  EXPECT_THROW(aio::run(reactor, body(), false), aio::CancelledError);
  EXPECT_EQ(cancelled, 11);
  EXPECT_EQ(Tracker::live, 0);
}

TEST(AsyncioRun, AStubbornTaskHasItsFrameFreed) {
  ss::Reactor reactor;
  auto stubborn = [&]() -> aio::Task<> {
    Tracker t;
    for (int i = 0; i < 3; ++i) {
      try {
        co_await aio::sleep(reactor, 10s);
      } catch (const aio::CancelledError&) {
      }
    }
  };
  auto body = [&]() -> aio::Task<> {
    (void)aio::create_task(reactor, stubborn());
    co_await aio::sleep(reactor, 1ms);
  };
  aio::run(reactor, body(), false);
  EXPECT_EQ(Tracker::live, 0);
}

}  // namespace
