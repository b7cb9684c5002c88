// test_timeout.cpp — TimeoutMixin (Twisted's policies.TimeoutMixin: set_timeout, reset_timeout,
// timeout_connection) and ListenOptions::idle_timeout on listen_tcp / listen_unix: a silent
// client is dropped while the others are served.
#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "reactor_test_util.hpp"
#include "socketserver/testing.hpp"
#include "test_util.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;

// Twisted's usual shape: setTimeout in connectionMade, resetTimeout on every line.
struct Timed : ss::TimeoutMixin<ss::LineReceiver> {
  explicit Timed(ss::Timeout period) : period_(period) {}
  void connection_made() override { set_timeout(period_); }
  void line_received(std::string_view line) override {
    reset_timeout();
    send_line(line);
  }
  void timeout_connection() override {
    ++timeouts;
    TimeoutMixin::timeout_connection();
  }
  ss::Timeout period_;
  int timeouts = 0;
};

// Runs `reactor` until pred() holds (polled every 5 ms) or `limit`, whichever first.
template <class Pred>
void run_until(ss::Reactor& reactor, Pred pred, std::chrono::duration<double> limit = 20s) {
  std::function<void()> poll = [&] {
    if (pred()) {
      reactor.stop();
    } else {
      reactor.call_later(5ms, poll);
    }
  };
  reactor.call_later(0s, poll);
  rtu::run_bounded(reactor, limit);
}

TEST(TimeoutMixin, SilenceEndsInTimeoutConnectionWhichLosesTheConnection) {
  // Twisted: __timedOut -> timeoutConnection -> transport.loseConnection().
  ss::Reactor reactor;
  ss::StringTransport tr(&reactor);
  Timed p(50ms);
  p.make_connection(tr);
  run_until(reactor, [&] { return tr.disconnecting(); });
  EXPECT_EQ(p.timeouts, 1);
  EXPECT_TRUE(tr.disconnecting());
  EXPECT_FALSE(tr.aborted());  // nothing was queued: a clean close
}

TEST(TimeoutMixin, ResetTimeoutPostponesIt) {
  // Lines every 10 ms against a 400 ms timeout, for 1 s: never timed out; then silence: timed
  // out. (Upper bounds only: the lines keep it alive whatever the machine's speed, as long as
  // a 10 ms timer is not 400 ms late.)
  ss::Reactor reactor;
  ss::StringTransport tr(&reactor);
  Timed p(400ms);
  p.make_connection(tr);
  int sent = 0;
  ss::LoopingCall talk(reactor, [&] {
    p.data_received("x\r\n");
    if (++sent == 100) reactor.stop();
  });
  talk.start(10ms);
  rtu::run_bounded(reactor);
  talk.stop();
  EXPECT_EQ(p.timeouts, 0);
  EXPECT_FALSE(tr.disconnecting());
  run_until(reactor, [&] { return tr.disconnecting(); });
  EXPECT_EQ(p.timeouts, 1);
}

TEST(TimeoutMixin, SetTimeoutNoneCancelsAndReturnsThePrevious) {
  ss::Reactor reactor;
  ss::StringTransport tr(&reactor);
  Timed p(20ms);
  p.make_connection(tr);
  const ss::Timeout previous = p.set_timeout(std::nullopt);  // Twisted: setTimeout(None)
  ASSERT_TRUE(previous.has_value());
  EXPECT_DOUBLE_EQ(previous->count(), 0.02);
  bool fired = false;
  reactor.call_later(100ms, [&] {
    fired = true;
    reactor.stop();
  });
  rtu::run_bounded(reactor);
  EXPECT_TRUE(fired);
  EXPECT_EQ(p.timeouts, 0);
  EXPECT_FALSE(tr.disconnecting());
  EXPECT_FALSE(p.set_timeout(30ms).has_value());  // set again: it counts down again
  run_until(reactor, [&] { return tr.disconnecting(); });
  EXPECT_EQ(p.timeouts, 1);
}

TEST(TimeoutMixin, NoTimeoutAfterTheProtocolIsGone) {
  // Destroyed (or disconnected) before the countdown ends: nothing runs.
  ss::Reactor reactor;
  ss::StringTransport tr(&reactor);
  {
    Timed p(10ms);
    p.make_connection(tr);
  }
  Timed q(10ms);
  q.make_connection(tr);
  tr.end_connection(q);
  reactor.call_later(60ms, [&] { reactor.stop(); });
  rtu::run_bounded(reactor);
  EXPECT_EQ(q.timeouts, 0);
  EXPECT_FALSE(tr.disconnecting());
}

TEST(TimeoutMixin, OverARealConnection) {
  ss::Reactor reactor;
  auto factory = std::make_shared<ss::Factory>();
  factory->protocol = [] { return std::make_unique<Timed>(ss::Timeout(100ms)); };
  ss::ListeningPort& port = reactor.listen_tcp(0, factory, rtu::local_opts());
  rtu::ReactorThread loop(reactor);
  ss::Socket c = stu::stream_client(port.get_host());
  c.sendall("hi\r\n");
  EXPECT_EQ(testutil::recv_exactly(c, 4), "hi\r\n");
  EXPECT_EQ(stu::read_all(c), "");  // then silence: the server closes
}

// ---- ListenOptions::idle_timeout -----------------------------------------------------------

ss::ListenOptions idle_opts(std::chrono::duration<double> idle) {
  ss::ListenOptions o = rtu::local_opts();
  o.idle_timeout = idle;
  return o;
}

TEST(IdleTimeout, SilentClientIsDroppedWhileOthersAreServed) {
  // Issue 9 item 2: a connected-but-silent client must not hold the server. Three silent
  // clients and one that talks every 20 ms for three idle periods (idle periods long enough
  // that a loaded machine does not starve the talker past one).
  ss::Reactor reactor;
  auto log = std::make_shared<rtu::Log>();
  ss::ListeningPort& port = reactor.listen_tcp(0, ss::Factory::for_protocol<rtu::Echo>(log),
                                               idle_opts(1500ms));
  rtu::ReactorThread loop(reactor);
  std::vector<ss::Socket> silent;
  for (int i = 0; i < 3; ++i) silent.push_back(stu::stream_client(port.get_host()));
  ss::Socket talker = stu::stream_client(port.get_host());
  const auto until = std::chrono::steady_clock::now() + 4500ms;
  int exchanges = 0;
  while (std::chrono::steady_clock::now() < until && exchanges < 1000) {
    talker.sendall("ping");
    EXPECT_EQ(testutil::recv_exactly(talker, 4), "ping") << exchanges;
    ++exchanges;
    std::this_thread::sleep_for(20ms);  // a talker with pauses: the behaviour under test
  }
  for (ss::Socket& s : silent) {
    s.settimeout(10s);
    EXPECT_EQ(stu::read_all(s), "");  // closed by the server
  }
  // The talker is still served.
  talker.sendall("still");
  EXPECT_EQ(testutil::recv_exactly(talker, 5), "still");
  ASSERT_TRUE(rtu::wait_until([&] { return log->lost.load() >= 3; }));
  const std::vector<ss::Reason> reasons = log->get_reasons();
  for (const ss::Reason& r : reasons) {
    EXPECT_EQ(r.error, ETIMEDOUT) << r.what();
    EXPECT_NE(r.what().find("idle_timeout"), std::string::npos) << r.what();
  }
  EXPECT_EQ(reactor.connection_count(), 1u);
}

TEST(IdleTimeout, ListenUnixTakesItToo) {
  testutil::TempDir dir;
  const ss::Address path = ss::Address::unix_path(dir.file("idle.sock"));
  ss::Reactor reactor;
  ss::ListenOptions o;
  o.idle_timeout = 100ms;
  reactor.listen_unix(path, ss::Factory::for_protocol<rtu::Echo>(), o);
  rtu::ReactorThread loop(reactor);
  ss::Socket c(AF_UNIX, SOCK_STREAM);
  c.settimeout(10s);
  c.connect(path);
  c.sendall("a");
  EXPECT_EQ(testutil::recv_exactly(c, 1), "a");
  EXPECT_EQ(stu::read_all(c), "");
}

TEST(IdleTimeout, BadValuesAreRejectedBeforeBinding) {
  ss::Reactor reactor;
  auto f = ss::Factory::for_protocol<rtu::Echo>();
  EXPECT_THROW(reactor.listen_tcp(0, f, idle_opts(0s)), std::invalid_argument);
  EXPECT_THROW(reactor.listen_tcp(0, f, idle_opts(-1s)), std::invalid_argument);
  ss::ListenOptions o;
  o.idle_timeout = std::chrono::duration<double>(std::nan(""));
  EXPECT_THROW(reactor.listen_unix(ss::Address::abstract(testutil::unique_abstract("idle")), f, o),
               std::invalid_argument);
  // Too large for the clock (it overflowed the conversion): Python's OverflowError.
  EXPECT_THROW(reactor.listen_tcp(0, f, idle_opts(std::chrono::duration<double>(1e300))),
               std::overflow_error);
  o.idle_timeout = std::chrono::duration<double>(std::numeric_limits<double>::infinity());
  EXPECT_THROW(reactor.listen_unix(ss::Address::abstract(testutil::unique_abstract("idle")), f, o),
               std::overflow_error);
}

TEST(ReactorDelays, TooLargeForTheClockThrowOverflowErrorAndScheduleNothing) {
  ss::Reactor reactor;
  const std::chrono::duration<double> inf(std::numeric_limits<double>::infinity());
  const std::chrono::duration<double> huge(1e300);
  EXPECT_THROW(reactor.call_later(inf, [] {}), std::overflow_error);
  EXPECT_THROW(reactor.call_later(huge, [] {}), std::overflow_error);
  ss::DelayedCall call = reactor.call_later(10s, [] {});
  EXPECT_THROW(call.reset(huge), std::overflow_error);
  EXPECT_THROW(call.delay(inf), std::overflow_error);
  EXPECT_TRUE(call.active());
  EXPECT_NEAR(call.get_time(), 10.0, 1.0) << "unchanged by the bad calls";
  call.cancel();
  ss::LoopingCall loop(reactor, [] {});
  EXPECT_THROW(loop.start(inf), std::overflow_error);
  EXPECT_FALSE(loop.running());
  EXPECT_THROW(reactor.call_later(1e9s + 1s, [] {}), std::overflow_error);
}

}  // namespace
