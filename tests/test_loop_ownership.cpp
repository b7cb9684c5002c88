// test_loop_ownership.cpp — what belongs to one loop: the reactor's thread (checked in a debug
// build) and SIGINT/SIGTERM (one stop-signal target per process: StopOnSignals, a Reactor run
// with its handlers, ReactorGroup::run_until_signal).
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "reactor_test_util.hpp"
#include "server_test_util.hpp"
#include "socketserver/reactor.hpp"
#include "socketserver/server.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;

namespace {

TEST(LoopThread, CallsFromAnotherThreadWhileItRunsThrowInADebugBuild) {
#ifdef NDEBUG
  GTEST_SKIP() << "a release build compiles the check out (NDEBUG); the debug builds run it";
#else
  ss::Reactor reactor;
  reactor.call_later(1h, [] {});  // before run(): any thread
  {
    rtu::ReactorThread loop(reactor);
    try {
      reactor.call_later(1s, [] {});
      ADD_FAILURE() << "call_later from another thread did not throw";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("call_later: called from another thread"),
                std::string::npos)
          << e.what();
    }
    EXPECT_THROW(reactor.listen_tcp(0, ss::Factory::for_protocol<rtu::Echo>(), rtu::local_opts()),
                 std::logic_error);
    EXPECT_THROW(reactor.call_when_running([] {}), std::logic_error);
    EXPECT_THROW(reactor.add_shutdown_trigger("before", [] {}), std::logic_error);
    // From its own thread (call_from_thread), the same calls are fine.
    const int port = loop.call([&] {
      reactor.call_later(1s, [] {}).cancel();
      return reactor.listen_tcp(0, ss::Factory::for_protocol<rtu::Echo>(), rtu::local_opts())
          .get_host()
          .port();
    });
    EXPECT_EQ(stu::stream_roundtrip({"127.0.0.1", port}), stu::kTestStr);
    loop.stop();
    EXPECT_EQ(loop.error(), "");
  }
  EXPECT_NO_THROW(reactor.call_later(1s, [] {}).cancel()) << "after run(): any thread again";
#endif
}

TEST(StopSignalTarget, OneLoopAtATimeIsStoppedBySigintAndSigterm) {
  ss::TCPServer server(stu::local0(), ss::handler<stu::EchoStream>());
  {
    ss::StopOnSignals guard(server);
    EXPECT_THROW(ss::StopOnSignals second(server), std::logic_error);
    ss::ReactorGroup group(1);
    try {
      group.run_until_signal();
      ADD_FAILURE() << "run_until_signal took the signals from an active StopOnSignals";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("already stop another loop"), std::string::npos)
          << e.what();
    }
  }
  // A reactor run with its handlers is the target: StopOnSignals says so instead of taking it.
  ss::Reactor reactor;
  {
    rtu::ReactorThread loop(reactor, /*install_signal_handlers=*/true);
    try {
      ss::StopOnSignals guard(server);
      ADD_FAILURE() << "StopOnSignals took the signals from a running reactor";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("a running Reactor"), std::string::npos) << e.what();
    }
    loop.stop();
  }
  // Once that loop has ended, the signals are free again.
  EXPECT_NO_THROW(ss::StopOnSignals guard(server));
}

}  // namespace
