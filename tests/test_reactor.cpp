// test_reactor.cpp — the reactor's loop: run/stop, timers (call_later, DelayedCall),
// call_from_thread, call_when_running, shutdown triggers, signals.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "reactor_test_util.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;
using rtu::ReactorThread;
using rtu::run_bounded;

// ---- run / stop ----------------------------------------------------------------------------

TEST(ReactorLoop, RunsUntilStopFromATimer) {
  ss::Reactor reactor;
  EXPECT_FALSE(reactor.running());
  bool inside = false;
  reactor.call_later(10ms, [&] {
    inside = reactor.running();
    reactor.stop();
  });
  run_bounded(reactor);
  EXPECT_TRUE(inside);
  EXPECT_FALSE(reactor.running());
  EXPECT_EQ(reactor.stopped_by_signal(), 0);
}

TEST(ReactorLoop, StopTwiceIsFine) {
  ss::Reactor reactor;
  int after = 0;
  reactor.call_later(5ms, [&] {
    reactor.stop();
    reactor.stop();  // Twisted raises here; we must not
  });
  reactor.add_shutdown_trigger("before", [&] { ++after; });
  run_bounded(reactor);
  EXPECT_EQ(after, 1);
  reactor.stop();  // not running: a no-op
  reactor.stop();
  // The stale stops must not end the next run early.
  bool timer_ran = false;
  reactor.call_later(30ms, [&] {
    timer_ran = true;
    reactor.stop();
  });
  run_bounded(reactor);
  EXPECT_TRUE(timer_ran);
  EXPECT_EQ(after, 2);
}

TEST(ReactorLoop, StopFromAnotherThread) {
  ss::Reactor reactor;
  ReactorThread loop(reactor);
  ASSERT_TRUE(reactor.running());
  std::thread other([&] {
    reactor.stop();
    reactor.stop();
  });
  other.join();
  EXPECT_TRUE(loop.wait_returned());
  EXPECT_FALSE(reactor.running());
}

TEST(ReactorLoop, StopFromAnotherThreadAsSoonAsRunningIsNeverLost) {
  // stop() is thread-safe: once another thread sees running(), one stop() must end run().
  int lost = 0;
  for (int round = 0; round < 200; ++round) {
    ss::Reactor reactor;
    std::atomic<bool> returned{false};
    std::thread loop([&] {
      reactor.run(false);
      returned.store(true);
    });
    // Spin (no sleep: the stop must come right as running() turns true), bounded by time, not
    // by a count: on a loaded machine the loop thread may take long to be scheduled, and a
    // stop() before running() is rightly a no-op.
    const auto spin_until = std::chrono::steady_clock::now() + 10s;
    while (!reactor.running() && std::chrono::steady_clock::now() < spin_until) {
    }
    EXPECT_TRUE(reactor.running()) << "round " << round << ": run() never started";
    reactor.stop();  // once
    if (!rtu::wait_until([&] { return returned.load(); }, 2000ms)) ++lost;
    rtu::wait_until([&] {  // a lost stop: stop again until run() returns (bounded)
      if (returned.load()) return true;
      reactor.stop();
      return false;
    });
    loop.join();
  }
  EXPECT_EQ(lost, 0) << lost << " of 200 stop() calls were lost";
}

TEST(ReactorLoop, AStoppedReactorRunsAgain) {
  ss::Reactor reactor;
  auto log = std::make_shared<rtu::Log>();
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<rtu::Echo>(log), rtu::local_opts());
  for (int round = 0; round < 3; ++round) {
    ReactorThread loop(reactor);
    ASSERT_TRUE(reactor.running()) << "round " << round;
    EXPECT_EQ(stu::stream_roundtrip(port.get_host(), "again\n"), "again\n") << "round " << round;
    loop.stop();
    EXPECT_FALSE(reactor.running());
  }
  // A timer scheduled between runs runs in the next one.
  int ran = 0;
  reactor.call_later(0s, [&] { ++ran; });
  reactor.call_later(20ms, [&] { reactor.stop(); });
  run_bounded(reactor);
  EXPECT_EQ(ran, 1);
}

TEST(ReactorLoop, RunWhileRunningThrowsLogicError) {
  ss::Reactor reactor;
  bool threw = false;
  reactor.call_later(0s, [&] {
    try {
      reactor.run(false);
    } catch (const std::logic_error&) {
      threw = true;
    }
    reactor.stop();
  });
  run_bounded(reactor);
  EXPECT_TRUE(threw);

  ReactorThread loop(reactor);
  EXPECT_THROW(reactor.run(false), std::logic_error);  // from another thread, too
  EXPECT_TRUE(reactor.running());
  loop.stop();
  EXPECT_FALSE(reactor.running());
}

TEST(ReactorLoop, SecondsIsMonotonic) {
  ss::Reactor reactor;
  const double a = reactor.seconds();
  std::this_thread::sleep_for(5ms);  // time must pass: the behaviour under test
  const double b = reactor.seconds();
  EXPECT_GT(b, a);
}

// ---- timers ----------------------------------------------------------------------------------

TEST(ReactorTimers, RunInDeadlineOrder) {
  // Deadlines are "delay from the call"; a descheduled test thread shifts them, so the expected
  // order is that of each call's own deadline (get_time() + seconds() right after scheduling).
  ss::Reactor reactor;
  std::vector<int> order;
  std::vector<std::pair<double, int>> deadlines;
  for (int ms : {40, 10, 30, 0, 20}) {
    ss::DelayedCall c = reactor.call_later(std::chrono::milliseconds(ms),
                                           [&order, ms] { order.push_back(ms); });
    deadlines.emplace_back(c.get_time() + reactor.seconds(), ms);
  }
  reactor.call_later(80ms, [&] { reactor.stop(); });
  run_bounded(reactor);
  std::sort(deadlines.begin(), deadlines.end());
  std::vector<int> expected;
  for (const auto& d : deadlines) expected.push_back(d.second);
  EXPECT_EQ(order, expected);
  EXPECT_EQ(order.size(), 5u);
}

TEST(ReactorTimers, CancelAndActive) {
  ss::Reactor reactor;
  int a = 0;
  int b = 0;
  ss::DelayedCall ca = reactor.call_later(10ms, [&] { ++a; });
  ss::DelayedCall cb = reactor.call_later(10ms, [&] { ++b; });
  ss::DelayedCall copy = cb;  // copies refer to one call
  EXPECT_TRUE(ca.active());
  EXPECT_TRUE(cb.active());
  copy.cancel();
  EXPECT_FALSE(cb.active());
  EXPECT_EQ(cb.get_time(), 0);
  cb.cancel();  // twice: no effect
  reactor.call_later(50ms, [&] { reactor.stop(); });
  run_bounded(reactor);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0);
  EXPECT_FALSE(ca.active());
  ca.cancel();  // after it ran: no effect
  EXPECT_EQ(a, 1);
  EXPECT_THROW(ca.reset(1s), std::logic_error);
  EXPECT_THROW(cb.delay(1s), std::logic_error);

  ss::DelayedCall none;
  EXPECT_FALSE(none.active());
  EXPECT_EQ(none.get_time(), 0);
  none.cancel();
}

TEST(ReactorTimers, ResetDelayAndGetTime) {
  ss::Reactor reactor;
  std::vector<std::string> order;
  ss::DelayedCall r = reactor.call_later(10ms, [&] { order.push_back("reset"); });
  ss::DelayedCall d = reactor.call_later(10ms, [&] { order.push_back("delayed"); });
  reactor.call_later(40ms, [&] { order.push_back("middle"); });
  ss::DelayedCall far = reactor.call_later(2s, [] {});
  ss::DelayedCall near = reactor.call_later(1s, [] {});
  EXPECT_GT(far.get_time(), near.get_time());
  EXPECT_LE(far.get_time(), 2.0);
  EXPECT_GT(near.get_time(), 0.0);
  r.reset(80ms);  // from now
  d.delay(110ms); // 10 + 110 = 120 ms from the start
  EXPECT_TRUE(r.active());
  EXPECT_GT(r.get_time(), 0.04);
  EXPECT_GT(d.get_time(), r.get_time());
  far.cancel();
  near.cancel();
  reactor.call_later(200ms, [&] { reactor.stop(); });
  run_bounded(reactor);
  EXPECT_EQ(order, (std::vector<std::string>{"middle", "reset", "delayed"}));
  EXPECT_FALSE(r.active());
  EXPECT_FALSE(d.active());
}

TEST(ReactorTimers, ResetToEarlierRunsEarlierAndOnce) {
  ss::Reactor reactor;
  int runs = 0;
  std::vector<std::string> order;
  ss::DelayedCall c = reactor.call_later(10s, [&] {
    ++runs;
    order.push_back("c");
  });
  c.reset(10ms);
  reactor.call_later(50ms, [&] { order.push_back("later"); });
  reactor.call_later(100ms, [&] { reactor.stop(); });
  run_bounded(reactor);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(order, (std::vector<std::string>{"c", "later"}));
}

TEST(ReactorTimers, BadDelayAndThrowingCallback) {
  ss::Reactor reactor;
  EXPECT_THROW(reactor.call_later(-1s, [] {}), std::invalid_argument);
  int after = 0;
  stu::StderrCapture err;
  reactor.call_later(0s, [] { throw std::runtime_error("timer-boom"); });
  reactor.call_later(10ms, [&] {
    ++after;
    reactor.stop();
  });
  run_bounded(reactor);
  const std::string text = err.stop();
  EXPECT_EQ(after, 1);
  EXPECT_EQ(stu::count_of(text, "timer-boom"), 1) << text;
}

TEST(ReactorTimers, CancelledFarTimerDoesNotDelayLoop) {
  // A cancelled head must not make the loop sleep until its deadline.
  ss::Reactor reactor;
  ss::DelayedCall far = reactor.call_later(3600s, [] {});
  bool ran = false;
  reactor.call_later(0s, [&] {
    far.cancel();
    reactor.call_later(10ms, [&] {
      ran = true;
      reactor.stop();
    });
  });
  run_bounded(reactor, 20s);
  EXPECT_TRUE(ran);
}

TEST(ReactorTimers, ResettingOneCallManyTimesKeepsMemoryBounded) {
  // An idle timeout reset on every read (Twisted's TimeoutMixin) must not grow the timer heap by
  // one entry per reset.
  ss::Reactor reactor;
  ss::DelayedCall idle = reactor.call_later(3600s, [] {});
  const long before = rtu::vm_rss_kib();
  for (int i = 0; i < 1000000; ++i) idle.reset(3600s);
  const long grown_kib = rtu::vm_rss_kib() - before;
  EXPECT_LT(grown_kib, 8 * 1024) << "1 000 000 resets grew RSS by " << grown_kib << " KiB";
  idle.cancel();
}

// ---- call_from_thread -------------------------------------------------------------------------

TEST(ReactorCallFromThread, EightThreadsManyCallsEachRunOnceInTheLoop) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 2000;
  ss::Reactor reactor;
  std::vector<int> counts(kThreads * kCalls, 0);  // touched only in the reactor thread
  int wrong_thread = 0;
  int total = 0;
  std::atomic<int> done{0};
  {
    ReactorThread loop(reactor);
    const std::thread::id loop_id = loop.loop_id();
    std::vector<std::thread> threads;
    std::atomic<bool> go{false};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < kCalls; ++i) {
          reactor.call_from_thread([&, idx = t * kCalls + i] {
            ++counts[static_cast<std::size_t>(idx)];
            if (std::this_thread::get_id() != loop_id) ++wrong_thread;
            ++total;
            done.fetch_add(1, std::memory_order_release);
          });
        }
      });
    }
    go.store(true);
    for (auto& th : threads) th.join();
    EXPECT_TRUE(rtu::wait_until([&] { return done.load() >= kThreads * kCalls; }, 60s));
    loop.stop();
  }
  EXPECT_EQ(total, kThreads * kCalls);
  EXPECT_EQ(wrong_thread, 0);
  int bad = 0;
  for (int c : counts) bad += c != 1 ? 1 : 0;
  EXPECT_EQ(bad, 0);
}

TEST(ReactorCallFromThread, WakesABlockedLoopAndQueuesBeforeRun) {
  ss::Reactor reactor;
  std::atomic<int> early{0};
  reactor.call_from_thread([&] { early.fetch_add(1); });  // before run: runs once it starts
  ReactorThread loop(reactor);
  EXPECT_TRUE(rtu::wait_until([&] { return early.load() == 1; }, 10s));
  // No timers, no I/O: only the waker can end the wait, once the loop is in it.
  ASSERT_TRUE(rtu::wait_asleep(loop.loop_tid())) << "the loop never blocked in its wait";
  const std::thread::id id = loop.call([] { return std::this_thread::get_id(); });
  EXPECT_EQ(id, loop.loop_id());
  EXPECT_EQ(early.load(), 1);
}

// ---- call_when_running and shutdown triggers ---------------------------------------------------

TEST(ReactorCallWhenRunning, BeforeAndDuringRun) {
  ss::Reactor reactor;
  std::vector<std::string> order;
  reactor.call_when_running([&] {
    order.push_back(reactor.running() ? "first-running" : "first-not-running");
  });
  reactor.call_when_running([&] {
    order.push_back("second");
    reactor.call_when_running([&] { order.push_back("nested-now"); });  // runs at once
    order.push_back("after-nested");
  });
  reactor.call_later(0s, [&] {
    order.push_back("timer");
    reactor.stop();
  });
  run_bounded(reactor);
  EXPECT_EQ(order, (std::vector<std::string>{"first-running", "second", "nested-now",
                                              "after-nested", "timer"}));
  // They ran once: a second run does not repeat them.
  order.clear();
  reactor.call_later(0s, [&] { reactor.stop(); });
  run_bounded(reactor);
  EXPECT_TRUE(order.empty());
}

TEST(ReactorShutdownTriggers, BeforeThenAfterWithConnectionsStillOpen) {
  ss::Reactor reactor;
  auto log = std::make_shared<rtu::Log>();
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<rtu::Echo>(log), rtu::local_opts());
  std::vector<std::string> order;
  std::size_t open_before = 0;
  reactor.add_shutdown_trigger("after", [&] { order.push_back("after"); });
  reactor.add_shutdown_trigger("before", [&] {
    order.push_back("before");
    open_before = reactor.connection_count();
  });
  EXPECT_THROW(reactor.add_shutdown_trigger("sideways", [] {}), std::invalid_argument);
  ss::Socket client = stu::stream_client(port.get_host());
  {
    ReactorThread loop(reactor);
    client.sendall("x");
    EXPECT_EQ(testutil::recv_exactly(client, 1), "x");
    EXPECT_TRUE(order.empty());
    loop.stop();
  }
  EXPECT_EQ(order, (std::vector<std::string>{"before", "after"}));
  EXPECT_EQ(open_before, 1u);
}

// Twisted's removeSystemEventTrigger: a removed trigger does not run, in either phase; the
// others do, in their order; removing one twice, or an id never given, says false.
TEST(ReactorShutdownTriggers, ARemovedTriggerDoesNotRunAndTheCountFollows) {
  ss::Reactor reactor;
  std::vector<std::string> order;
  EXPECT_EQ(reactor.shutdown_trigger_count(), 0u);
  const ss::TriggerId b1 = reactor.add_shutdown_trigger("before", [&] { order.push_back("b1"); });
  const ss::TriggerId b2 = reactor.add_shutdown_trigger("before", [&] { order.push_back("b2"); });
  const ss::TriggerId d1 = reactor.add_shutdown_trigger("during", [&] { order.push_back("d1"); });
  const ss::TriggerId a1 = reactor.add_shutdown_trigger("after", [&] { order.push_back("a1"); });
  EXPECT_EQ(reactor.shutdown_trigger_count(), 4u);
  EXPECT_NE(b1, b2);
  EXPECT_TRUE(reactor.remove_shutdown_trigger(b1));
  EXPECT_TRUE(reactor.remove_shutdown_trigger(d1));
  EXPECT_FALSE(reactor.remove_shutdown_trigger(b1));
  EXPECT_FALSE(reactor.remove_shutdown_trigger(ss::TriggerId{12345}));
  EXPECT_EQ(reactor.shutdown_trigger_count(), 2u);
  reactor.call_when_running([&] { reactor.stop(); });
  reactor.run(false);
  EXPECT_EQ(order, (std::vector<std::string>{"b2", "a1"}));
  // A trigger stays until removed: a reactor that runs again runs it again.
  order.clear();
  EXPECT_TRUE(reactor.remove_shutdown_trigger(a1));
  reactor.call_when_running([&] {
    // Removed while the loop runs: gone from this stop too.
    EXPECT_TRUE(reactor.remove_shutdown_trigger(b2));
    reactor.stop();
  });
  reactor.run(false);
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(reactor.shutdown_trigger_count(), 0u);
}

// ---- signals ---------------------------------------------------------------------------------

void signal_stops_run(int sig) {
  testutil::SignalCounter counter(sig);  // the handler that must come back afterwards
  ASSERT_TRUE(counter.ok());
  const int before = testutil::g_signals_caught.load();
  ss::Reactor reactor;
  {
    ReactorThread loop(reactor, /*install_signal_handlers=*/true);
    ASSERT_TRUE(reactor.running());
    ASSERT_EQ(::kill(::getpid(), sig), 0);
    EXPECT_TRUE(loop.wait_returned(10s)) << "signal " << sig << " did not stop run()";
  }
  EXPECT_EQ(reactor.stopped_by_signal(), sig);
  EXPECT_EQ(testutil::g_signals_caught.load(), before) << "the old handler ran during run()";
  struct sigaction now {};
  ASSERT_EQ(::sigaction(sig, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, &testutil::count_signal) << "old handler not restored";
  ASSERT_EQ(::kill(::getpid(), sig), 0);
  EXPECT_TRUE(rtu::wait_until([&] { return testutil::g_signals_caught.load() == before + 1; }));
  // A later run that ends by stop() reports no signal.
  reactor.call_later(0s, [&] { reactor.stop(); });
  run_bounded(reactor);
  EXPECT_EQ(reactor.stopped_by_signal(), 0);
}

TEST(ReactorSignals, SigintStopsRunCleanly) { signal_stops_run(SIGINT); }
TEST(ReactorSignals, SigtermStopsRunCleanly) { signal_stops_run(SIGTERM); }

TEST(ReactorSignals, WithoutHandlersASignalDoesNotStopIt) {
  testutil::SignalCounter counter(SIGTERM);
  ASSERT_TRUE(counter.ok());
  const int before = testutil::g_signals_caught.load();
  ss::Reactor reactor;
  ReactorThread loop(reactor, /*install_signal_handlers=*/false);
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_TRUE(rtu::wait_until([&] { return testutil::g_signals_caught.load() == before + 1; }));
  std::this_thread::sleep_for(50ms);  // what is tested: run() does not end meanwhile
  EXPECT_TRUE(reactor.running());
  EXPECT_FALSE(loop.returned());
  EXPECT_EQ(reactor.stopped_by_signal(), 0);
  EXPECT_EQ(loop.call([] { return 7; }), 7);  // still serving
  loop.stop();
  EXPECT_EQ(reactor.stopped_by_signal(), 0);
}

}  // namespace
