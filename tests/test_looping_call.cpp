// test_looping_call.cpp — LoopingCall, Twisted's task.LoopingCall: start(interval, now),
// stop(), running(); an exception stops it and is reported.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "reactor_test_util.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;

TEST(LoopingCall, NowCallsAtOnceThenEveryIntervalUntilStop) {
  // Twisted: start(interval, now=True) calls f inside start(); stop() fires the Deferred.
  ss::Reactor reactor;
  int calls = 0;
  int done_calls = 0;
  bool done_error = true;
  ss::LoopingCall* self = nullptr;
  ss::LoopingCall lc(reactor, [&] {
    if (++calls == 3) {
      self->stop();
      reactor.stop();
    }
  });
  self = &lc;
  lc.start(5ms, true, [&](std::exception_ptr e) {
    ++done_calls;
    done_error = e != nullptr;
  });
  EXPECT_EQ(calls, 1);  // before the reactor runs: Twisted calls it at once too
  EXPECT_TRUE(lc.running());
  EXPECT_DOUBLE_EQ(lc.interval(), 0.005);
  rtu::run_bounded(reactor);
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(lc.running());
  EXPECT_EQ(done_calls, 1);
  EXPECT_FALSE(done_error);
}

TEST(LoopingCall, NotNowWaitsOneInterval) {
  ss::Reactor reactor;
  int calls = 0;
  ss::LoopingCall lc(reactor, [&] {
    ++calls;
    reactor.stop();
  });
  lc.start(10ms, false);
  EXPECT_EQ(calls, 0);
  const double t0 = reactor.seconds();
  rtu::run_bounded(reactor);
  EXPECT_EQ(calls, 1);
  EXPECT_GE(reactor.seconds() - t0, 0.009);  // not before its interval
  EXPECT_TRUE(lc.running());                 // the reactor stopped, not the LoopingCall
  lc.stop();
  EXPECT_FALSE(lc.running());
}

TEST(LoopingCall, ExceptionStopsItAndGoesToDone) {
  // Twisted: an exception from f stops the LoopingCall and errbacks its Deferred.
  ss::Reactor reactor;
  int calls = 0;
  std::string error;
  ss::LoopingCall lc(reactor, [&] {
    if (++calls == 2) throw std::runtime_error("boom on call 2");
  });
  lc.start(2ms, true, [&](std::exception_ptr e) {
    try {
      if (e) std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      error = ex.what();
    }
    // Let a few more intervals pass: no further call may come.
    reactor.call_later(30ms, [&] { reactor.stop(); });
  });
  rtu::run_bounded(reactor);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(error, "boom on call 2");
  EXPECT_FALSE(lc.running());
}

TEST(LoopingCall, ExceptionWithoutDoneIsReported) {
  // No Deferred handler in Twisted: "Unhandled error in Deferred" is logged. Here: stderr.
  ss::Reactor reactor;
  int calls = 0;
  ss::LoopingCall lc(reactor, [&] {
    ++calls;
    if (calls == 2) {
      reactor.call_later(30ms, [&] { reactor.stop(); });
      throw std::runtime_error("looping failure 7731");
    }
  });
  testing::internal::CaptureStderr();
  lc.start(2ms);
  rtu::run_bounded(reactor);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(lc.running());
  EXPECT_NE(err.find("LoopingCall"), std::string::npos) << err;
  EXPECT_NE(err.find("looping failure 7731"), std::string::npos) << err;
}

TEST(LoopingCall, StopAndStartAgainFromInsideTheCall) {
  ss::Reactor reactor;
  int calls = 0;
  ss::LoopingCall* self = nullptr;
  ss::LoopingCall lc(reactor, [&] {
    ++calls;
    if (calls == 2) {  // restart with another interval: exactly one schedule follows
      self->stop();
      self->start(1ms, false);
    }
    if (calls == 4) reactor.stop();
  });
  self = &lc;
  lc.start(1ms);
  rtu::run_bounded(reactor);
  EXPECT_EQ(calls, 4);
  EXPECT_TRUE(lc.running());
}

TEST(LoopingCall, MisuseThrows) {
  ss::Reactor reactor;
  ss::LoopingCall lc(reactor, [] {});
  EXPECT_THROW(lc.stop(), std::logic_error);  // Twisted: AssertionError, not running
  EXPECT_THROW(lc.start(-1s), std::invalid_argument);
  EXPECT_THROW(lc.start(std::chrono::duration<double>(std::nan(""))), std::invalid_argument);
  EXPECT_FALSE(lc.running());
  lc.start(1s);
  EXPECT_THROW(lc.start(1s), std::logic_error);  // already running
  lc.stop();
  EXPECT_THROW(ss::LoopingCall(reactor, nullptr), std::invalid_argument);
}

TEST(LoopingCall, DestroyedLoopingCallIsNotCalled) {
  ss::Reactor reactor;
  int calls = 0;
  {
    ss::LoopingCall lc(reactor, [&] { ++calls; });
    lc.start(1ms);
  }
  reactor.call_later(30ms, [&] { reactor.stop(); });
  rtu::run_bounded(reactor);
  EXPECT_EQ(calls, 1);  // the call inside start() only
}

}  // namespace
