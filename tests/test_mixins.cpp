// test_mixins.cpp — mixins.hpp: ThreadingMixIn and ForkingMixIn over the four servers (Python's
// echo tests for the threading and forking servers), and the "better than Python" items of the
// mixins: threads reaped, max_threads, close_deadline, max_children, no zombies, only own
// children reaped; plus the accept-error back-off (EMFILE) of the loop.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server_test_util.hpp"
#include "socketserver/mixins.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using ss::Address;
using ss::Socket;
using stu::EchoDatagram;
using stu::EchoStream;
using stu::kTestStr;
using stu::local0;
using stu::ServerThread;

namespace {

// Checks what every forking test checks at the end: the server's children are gone (no zombie,
// no live one), and the unrelated child of the test was not reaped by the server.
void expect_no_children_and_unrelated_intact(ss::BaseServer&, const std::set<pid_t>& active,
                                             stu::UnrelatedChild& unrelated) {
  EXPECT_TRUE(active.empty()) << active.size() << " children still tracked";
  EXPECT_EQ(stu::children_except(unrelated.pid()), 0u) << "children left behind";
  EXPECT_TRUE(unrelated.reap_and_check()) << "the server reaped a child that was not its own";
}

}  // namespace

// ---- Python's echo tests, threading -----------------------------------------------------------

TEST(ThreadingEcho, ThreadingTCPServer) {
  ss::ThreadingTCPServer server(local0(), ss::handler<EchoStream>());
  stu::check_stream_echo(server);
  EXPECT_EQ(server.active_threads(), 0u);
  EXPECT_EQ(server.total_threads(), 3u);
}

TEST(ThreadingEcho, ThreadingUnixStreamServer) {
  testutil::TempDir dir;
  ss::ThreadingUnixStreamServer server(Address::unix_path(dir.file("s")),
                                       ss::handler<EchoStream>());
  stu::check_stream_echo(server);
  EXPECT_FALSE(stu::path_exists(dir.file("s")));
}

TEST(ThreadingEcho, ThreadingUDPServer) {
  ss::ThreadingUDPServer server(local0(), ss::handler<EchoDatagram>());
  stu::check_dgram_echo(server);
  EXPECT_EQ(server.total_threads(), 3u);
}

TEST(ThreadingEcho, ThreadingUnixDatagramServer) {
  testutil::TempDir dir;
  ss::ThreadingUnixDatagramServer server(Address::unix_path(dir.file("d")),
                                         ss::handler<EchoDatagram>());
  stu::check_dgram_echo(server);
  EXPECT_FALSE(stu::path_exists(dir.file("d")));
}

// ---- Python's echo tests, forking -------------------------------------------------------------

TEST(ForkingEcho, ForkingTCPServer) {
  stu::UnrelatedChild unrelated(/*exit_at_once=*/true);  // a zombie the server must not reap
  ss::ForkingTCPServer server(local0(), ss::handler<EchoStream>());
  stu::check_stream_echo(server);
  expect_no_children_and_unrelated_intact(server, server.active_children, unrelated);
}

TEST(ForkingEcho, ForkingUnixStreamServer) {
  stu::UnrelatedChild unrelated(true);
  testutil::TempDir dir;
  ss::ForkingUnixStreamServer server(Address::unix_path(dir.file("s")), ss::handler<EchoStream>());
  stu::check_stream_echo(server);
  expect_no_children_and_unrelated_intact(server, server.active_children, unrelated);
  EXPECT_FALSE(stu::path_exists(dir.file("s")));
}

TEST(ForkingEcho, ForkingUDPServer) {
  stu::UnrelatedChild unrelated(true);
  ss::ForkingUDPServer server(local0(), ss::handler<EchoDatagram>());
  stu::check_dgram_echo(server);
  expect_no_children_and_unrelated_intact(server, server.active_children, unrelated);
}

TEST(ForkingEcho, ForkingUnixDatagramServer) {
  stu::UnrelatedChild unrelated(true);
  testutil::TempDir dir;
  ss::ForkingUnixDatagramServer server(Address::unix_path(dir.file("d")),
                                       ss::handler<EchoDatagram>());
  stu::check_dgram_echo(server);
  expect_no_children_and_unrelated_intact(server, server.active_children, unrelated);
}

// ---- handler errors in threading and forking servers ------------------------------------------

namespace {
struct Thrower : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;
  void handle() override {
    if (rfile.readline() == "fail\n") throw std::runtime_error("handler failed on purpose");
    wfile.write("fine\n");
  }
};

template <class Server>
void check_handler_errors(Server& server) {
  ServerThread t(server);
  EXPECT_EQ(stu::stream_roundtrip(server.server_address, "fail\n"), "");
  EXPECT_EQ(stu::stream_roundtrip(server.server_address, "ok\n"), "fine\n");
  EXPECT_EQ(stu::stream_roundtrip(server.server_address, "fail\n"), "");
  EXPECT_EQ(stu::stream_roundtrip(server.server_address, "ok\n"), "fine\n");
  t.stop();
  server.server_close();  // waits for the threads / children
}
}  // namespace

TEST(MixinErrors, ThreadingHandlerErrorsAreReportedAndServingGoesOn) {
  stu::StderrCapture capture;
  ss::ThreadingTCPServer server(local0(), ss::handler<Thrower>());
  check_handler_errors(server);
  const std::string err = capture.stop();
  EXPECT_EQ(stu::count_of(err, "Exception occurred during processing of request from 127.0.0.1:"),
            2)
      << err;
  EXPECT_EQ(stu::count_of(err, "std::runtime_error: handler failed on purpose"), 2) << err;
  EXPECT_EQ(stu::count_of(err, std::string(40, '-') + "\n"), 4) << err;
}

// Python prints the full four-line report for every failed request, so 900 clients that reset
// wrote 3,601 lines. A reset (an expected failure) is one line, rate-limited with a count
// (issue 9, item 8); the full report stays for real exceptions (the test above).
TEST(MixinErrors, ManyResetsAreAFewLinesOfStderr) {
  using Base = ss::ThreadingTCPServer;
  struct Counting : Base {
    using Base::Base;
    std::atomic<int> errors{0};
    void handle_error(ss::Request& request, const Address& client) override {
      errors.fetch_add(1);
      Base::handle_error(request, client);
    }
  };
  stu::StderrCapture capture;
  Counting server(local0(), ss::handler([](ss::StreamRequestHandler& self) {
                    self.wfile.write(self.rfile.readline());  // the reset ends the readline
                  }));
  ServerThread t(server);
  constexpr int kResets = 300;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kResets; ++i) {
    Socket c = stu::stream_client(server.server_address);
    c.sendall("half a li");
    const linger reset{1, 0};  // close() sends RST
    c.setsockopt(SOL_SOCKET, SO_LINGER,
                 std::string_view(reinterpret_cast<const char*>(&reset), sizeof reset));
    c.close();
  }
  EXPECT_TRUE(stu::wait_until([&] { return server.errors.load() >= kResets / 2; }, 20s))
      << server.errors.load() << " errors";
  t.stop();
  server.server_close();  // the handler threads have ended
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  const std::string err = capture.stop();
  const int lines = stu::count_of(err, "\n");
  EXPECT_GE(lines, 1) << "the resets are reported";
  EXPECT_LE(lines, 3 + 2 * static_cast<int>(seconds.count())) << err;  // about one a second
  EXPECT_EQ(stu::count_of(err, std::string(40, '-')), 0) << "not the full report: " << err;
  EXPECT_EQ(stu::count_of(err, "connection reset"), 0) << "the kind is not the text: " << err;
  EXPECT_EQ(stu::count_of(err, "Connection reset by peer"), lines) << err;
  EXPECT_NE(err.find("request from 127.0.0.1:"), std::string::npos) << err;
  if (lines >= 2) {
    EXPECT_NE(err.find("similar messages suppressed"), std::string::npos) << err;
  }
}

TEST(MixinErrors, ForkingHandlerErrorsAreReportedAndServingGoesOn) {
  stu::StderrCapture capture;  // before the children are forked: they inherit it
  ss::ForkingTCPServer server(local0(), ss::handler<Thrower>());
  check_handler_errors(server);
  EXPECT_TRUE(server.active_children.empty());
  const std::string err = capture.stop();
  EXPECT_EQ(stu::count_of(err, "Exception occurred during processing of request from 127.0.0.1:"),
            2)
      << err;
  EXPECT_EQ(stu::count_of(err, "std::runtime_error: handler failed on purpose"), 2) << err;
}

// ---- ThreadingMixIn ---------------------------------------------------------------------------

namespace {
// mixins.hpp's rule for the default max_threads, computed here on its own.
std::size_t documented_default_max_threads() {
  std::size_t limit = SIZE_MAX;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    limit = std::min<std::size_t>(limit, rl.rlim_cur / 2);
  if (::getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    limit = std::min<std::size_t>(limit, rl.rlim_cur / 2);
  std::uint64_t stack = 8u << 20;
  if (::getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 0)
    stack = rl.rlim_cur;
  const std::uint64_t memory = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                               static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
  limit = std::min<std::size_t>(limit, memory / stack);
  return std::max<std::size_t>(limit, 1);
}
}  // namespace

TEST(ThreadingMixIn, DefaultMaxThreadsIsFiniteAndFromTheProcessLimits) {
  // Python's ThreadingMixIn has no limit (9,000 idle clients: 9,000 threads); ours defaults to
  // the bound documented in mixins.hpp, from RLIMIT_NOFILE, RLIMIT_NPROC and memory / stack.
  ss::ThreadingTCPServer server(local0(), ss::handler<EchoStream>());
  EXPECT_GT(server.max_threads, 0u) << "0 would mean no limit";
  EXPECT_EQ(server.max_threads, documented_default_max_threads());
  server.server_close();

  // It follows the limits: with the soft descriptor limit at 64, half of it (unless another
  // limit is lower still).
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  const std::size_t with_64 = ss::detail::default_max_threads();
  const std::size_t expected = documented_default_max_threads();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(with_64, expected);
  EXPECT_LE(with_64, 32u);
}

// server_close joins its handler threads: what a thread runs as it exits (thread_local
// destructors, a library's per-thread clean-up such as OpenSSL's) is over when it returns. With
// detached threads it was not, and a process that ended just after could see it half done.
std::atomic<int> exits_finished{0};
struct SlowThreadExit {
  ~SlowThreadExit() {
    std::this_thread::sleep_for(100ms);
    exits_finished.fetch_add(1);
  }
};
struct EchoWithSlowExit : EchoStream {
  using EchoStream::EchoStream;
  void handle() override {
    thread_local SlowThreadExit at_exit;
    (void)at_exit;
    EchoStream::handle();
  }
};

TEST(ThreadingMixIn, ServerCloseReturnsOnlyOnceItsThreadsHaveExited) {
  exits_finished = 0;
  ss::ThreadingTCPServer server(local0(), ss::handler<EchoWithSlowExit>());
  ServerThread t(server);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(stu::stream_roundtrip(server.server_address), kTestStr);
  t.stop();
  server.server_close();
  EXPECT_EQ(exits_finished.load(), 3) << "a handler thread was still exiting";
}

TEST(ThreadingMixIn, FinishedThreadsAreReapedAsItGoes) {
  ss::ThreadingTCPServer server(local0(), ss::handler<EchoStream>());
  ServerThread t(server);
  std::size_t most_tracked = 0;
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(stu::stream_roundtrip(server.server_address), kTestStr);
    most_tracked = std::max(most_tracked, server.tracked_threads());
  }
  EXPECT_LE(most_tracked, 10u) << "finished threads must not pile up (Python keeps all)";
  EXPECT_TRUE(stu::wait_until([&] { return server.tracked_threads() == 0; }, 10s))
      << "service_actions reaps the last ones: " << server.tracked_threads();
  EXPECT_EQ(server.total_threads(), 200u);
  t.stop();
  server.server_close();
  EXPECT_EQ(server.tracked_threads(), 0u);
}

TEST(ThreadingMixIn, MaxThreadsPausesAcceptsUntilAThreadFinishes) {
  std::counting_semaphore<16> gate(0);
  std::atomic<int> started{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  ss::ThreadingTCPServer server(local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                                  ++started;
                                  const int now = ++in_flight;
                                  int prev = most.load();
                                  while (now > prev && !most.compare_exchange_weak(prev, now)) {
                                  }
                                  const bool got = gate.try_acquire_for(20s);
                                  --in_flight;
                                  if (got) self.wfile.write(self.rfile.readline());
                                }));
  server.max_threads = 2;
  ServerThread t(server);
  std::vector<Socket> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(stu::stream_client(server.server_address, 20s));
    clients.back().sendall("c" + std::to_string(i) + "\n");
  }
  ASSERT_TRUE(stu::wait_until([&] { return started.load() == 2; }, 10s));
  std::this_thread::sleep_for(300ms);  // what is tested: no third handler starts meanwhile
  EXPECT_EQ(started.load(), 2) << "a third handler started beyond max_threads";
  EXPECT_LE(server.active_threads(), 2u);
  gate.release();  // one finishes: the third may start
  EXPECT_TRUE(stu::wait_until([&] { return started.load() == 3; }, 10s));
  gate.release(2);
  int answered = 0;
  for (auto& c : clients) answered += stu::read_line(c).empty() ? 0 : 1;
  EXPECT_EQ(answered, 3);
  EXPECT_LE(most.load(), 2);
  t.stop();
  server.server_close();
  EXPECT_LE(most.load(), 2);
}

TEST(ThreadingMixIn, ServerCloseWithDeadlineReturnsWhileAClientIdles) {
  std::atomic<int> entered{0};
  std::atomic<bool> returned{false};
  ss::ThreadingTCPServer server(local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                                  ++entered;
                                  self.rfile.readline();  // the client never sends a line
                                  returned = true;
                                }));
  server.close_deadline = 200ms;
  ASSERT_TRUE(server.block_on_close);
  ServerThread t(server);
  Socket idle = stu::stream_client(server.server_address, 20s);
  ASSERT_TRUE(stu::wait_until([&] { return entered.load() == 1; }, 10s));
  t.stop();
  const auto t0 = std::chrono::steady_clock::now();
  server.server_close();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 5s) << "server_close must not wait for the idle client";
  EXPECT_GE(took, 150ms) << "but it waits for the deadline first";
  EXPECT_TRUE(returned.load()) << "the blocked handler was released and returned";
  EXPECT_EQ(server.active_threads(), 0u);
  EXPECT_EQ(idle.recv(10), "") << "the idle connection was shut down";
}

TEST(ThreadingMixIn, BlockOnCloseWaitsForRunningHandlers) {
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  ss::ThreadingTCPServer server(local0(), ss::handler([&](ss::StreamRequestHandler&) {
                                  entered = true;
                                  // A slow handler, still running at server_close: the case.
                                  std::this_thread::sleep_for(300ms);
                                  finished = true;
                                }));
  ServerThread t(server);
  Socket c = stu::stream_client(server.server_address);
  ASSERT_TRUE(stu::wait_until([&] { return entered.load(); }, 10s));
  t.stop();
  server.server_close();
  EXPECT_TRUE(finished.load()) << "server_close returned before the handler finished";
  EXPECT_EQ(server.active_threads(), 0u);
}

TEST(ThreadingMixIn, DaemonThreadsAreNotWaitedForByServerClose) {
  std::atomic<bool> entered{false};
  std::atomic<bool> returned{false};
  ss::ThreadingTCPServer server(local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                                  entered = true;
                                  self.rfile.readline();
                                  returned = true;
                                }));
  server.daemon_threads = true;
  ServerThread t(server);
  Socket idle = stu::stream_client(server.server_address, 20s);
  ASSERT_TRUE(stu::wait_until([&] { return entered.load(); }, 10s));
  t.stop();
  const auto t0 = std::chrono::steady_clock::now();
  server.server_close();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_FALSE(returned.load()) << "the handler is still blocked (not waited for)";
  EXPECT_EQ(server.active_threads(), 1u);
  idle.close();  // now it returns; the destructor joins it
  EXPECT_TRUE(stu::wait_until([&] { return returned.load(); }, 10s));
}

// Handler threads are detached and untrack themselves: nothing waits for the loop to go round.
// The loop sleeps for an hour after the last accept, so only the threads themselves can bring
// the counts down.
TEST(ThreadingMixIn, ThreadsUntrackThemselvesWhileTheLoopSleeps) {
  ss::ThreadingTCPServer server(local0(), ss::handler([](ss::StreamRequestHandler& self) {
                                  self.wfile.write(self.rfile.readline());
                                  self.rfile.readline();  // until the client closes
                                }));
  ServerThread t(server, 1h);
  for (int i = 0; i < 3; ++i) {
    Socket c = stu::stream_client(server.server_address);
    c.sendall(kTestStr);
    ASSERT_EQ(stu::read_line(c), kTestStr);
    // The loop has gone back to sleep (its thread, seen through /proc).
    ASSERT_TRUE(stu::wait_asleep(t.tid())) << "the loop never went back to sleep";
  }  // each client closes here: its handler ends after the loop last ran
  EXPECT_TRUE(stu::wait_until(
      [&] { return server.tracked_threads() == 0 && server.active_threads() == 0; }, 5s))
      << "tracked " << server.tracked_threads() << ", active " << server.active_threads()
      << ": ended threads wait for the loop to reap them";
  EXPECT_TRUE(stu::wait_until([&] { return server.counters().current == 0; }, 5s));
  EXPECT_EQ(server.total_threads(), 3u);
  EXPECT_EQ(server.counters().total, 3u);
  EXPECT_FALSE(t.returned());
  t.stop();
  EXPECT_EQ(t.error(), "");
  server.server_close();
  EXPECT_EQ(server.tracked_threads(), 0u);
}

TEST(ThreadingMixIn, ServerCloseReturnsOnlyAfterTheLastHandlerEnds) {
  std::atomic<int> finished{0};
  ss::ThreadingTCPServer server(local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                                  self.wfile.write(self.rfile.readline());
                                  self.rfile.readline();  // until the client closes
                                  // Still running after t.stop(): what server_close must wait for.
                                  std::this_thread::sleep_for(200ms);
                                  ++finished;
                                }));
  ServerThread t(server, 1h);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(stu::stream_roundtrip(server.server_address), kTestStr);  // closes at once
  }
  t.stop();
  EXPECT_LT(finished.load(), 2) << "too slow to test anything: the handlers already ended";
  server.server_close();
  EXPECT_EQ(finished.load(), 2) << "server_close returned while a handler was still running";
  EXPECT_EQ(server.active_threads(), 0u);
  EXPECT_EQ(server.tracked_threads(), 0u);
}

TEST(ThreadingMixIn, DestructorWaitsForAHandlerStillRunning) {
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  std::optional<ss::ThreadingTCPServer> server;
  server.emplace(local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                   entered = true;
                   self.wfile.write(self.rfile.readline());
                   self.rfile.readline();  // until the client closes
                   // Still running when the server is destroyed: the case under test.
                   std::this_thread::sleep_for(200ms);
                   // Touches the server: a destructor that did not wait makes this a use
                   // after free (ASan) as well as leaving `finished` false.
                   finished = self.server.counters().current == 1;
                 }));
  {
    ServerThread t(*server, 1h);
    EXPECT_EQ(stu::stream_roundtrip(server->server_address), kTestStr);
    ASSERT_TRUE(entered.load());
  }  // loop stopped; the handler is still asleep
  EXPECT_FALSE(finished.load()) << "the handler ended too soon for the test to mean anything";
  server.reset();  // no server_close: the destructor alone
  EXPECT_TRUE(finished.load()) << "the server was destroyed under a running handler";
}

TEST(ThreadingMixIn, MaxThreadsOneServesTheNextClientOnceTheFirstEnds) {
  std::atomic<int> started{0};
  ss::ThreadingTCPServer server(local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                                  ++started;
                                  self.wfile.write("started\n");
                                  self.wfile.write(self.rfile.readline());
                                }));
  server.max_threads = 1;
  ServerThread t(server, 1h);  // only a wake-up (or the 20 ms pause poll) resumes accepting
  Socket first = stu::stream_client(server.server_address);
  ASSERT_EQ(stu::read_line(first), "started\n");
  Socket second = stu::stream_client(server.server_address);  // waits in the listen backlog
  second.settimeout(300ms);
  EXPECT_THROW(second.recv(100), ss::timeout_error) << "a second handler beyond max_threads";
  EXPECT_EQ(server.counters().total, 1u) << "accepted beyond max_threads";
  EXPECT_EQ(server.total_threads(), 1u);
  EXPECT_EQ(started.load(), 1);
  first.sendall("first\n");
  EXPECT_EQ(stu::read_line(first), "first\n");
  const auto t0 = std::chrono::steady_clock::now();
  second.settimeout(5s);
  EXPECT_EQ(stu::read_line(second), "started\n") << "the loop did not resume accepting";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  second.sendall("second\n");
  EXPECT_EQ(stu::read_line(second), "second\n");
  EXPECT_TRUE(stu::wait_until([&] { return server.active_threads() == 0; }, 5s));
  EXPECT_EQ(server.counters().total, 2u);
  EXPECT_EQ(server.total_threads(), 2u);
  t.stop();
  EXPECT_EQ(t.error(), "");
  server.server_close();
}

// Suspected bug (mixins.hpp, ThreadingMixIn::server_close): Server::server_close() closes the
// server's socket BEFORE the handler threads are joined. A datagram handler replies through
// that socket (DatagramRequestHandler::finish -> sendto), so a handler still running gets EBADF
// (its reply is lost and handle_error fires) or, if the descriptor number was reused meanwhile,
// sends into an unrelated descriptor; TSan reports the close/sendto race (seen intermittently
// in ThreadingEcho.ThreadingUnixDatagramServer). Python closes first too, but it has no
// descriptor reuse hazard; with block_on_close the running handlers should finish first.
TEST(ThreadingMixIn, ServerCloseLetsARunningDatagramHandlerReply) {
  std::atomic<bool> entered{false};
  ss::ThreadingUDPServer server(local0(), ss::handler([&](ss::DatagramRequestHandler& self) {
                                  entered = true;
                                  // Still running at server_close: the case under test.
                                  std::this_thread::sleep_for(300ms);
                                  self.wfile.write("late reply");
                                }));
  ServerThread t(server);
  Socket c(AF_INET, SOCK_DGRAM);
  c.settimeout(10s);
  c.bind(local0());
  c.sendto("x", server.server_address);
  ASSERT_TRUE(stu::wait_until([&] { return entered.load(); }, 10s));
  t.stop();
  stu::StderrCapture capture;
  server.server_close();  // block_on_close: waits for the handler
  const std::string err = capture.stop();
  std::string reply;
  c.settimeout(3s);
  try {
    reply = c.recvfrom(100).first;
  } catch (const ss::timeout_error&) {
  }
  EXPECT_EQ(reply, "late reply") << "the running handler's reply was lost: " << err;
  EXPECT_EQ(err, "");
}

// ---- ForkingMixIn -----------------------------------------------------------------------------

TEST(ForkingMixIn, TimeoutDefaultsTo300SecondsLikePython) {
  ss::ForkingTCPServer server(local0(), ss::handler<EchoStream>());
  ASSERT_TRUE(server.timeout.has_value());
  EXPECT_DOUBLE_EQ(server.timeout->count(), 300.0);
  EXPECT_EQ(server.max_children, 40u);
  EXPECT_TRUE(server.block_on_close);
}

// Suspected bug (mixins.hpp, ForkingMixIn::timeout_default_): the default member initialiser
// overwrites the timeout given in ServerOptions, so `.timeout` is ignored for forking servers.
TEST(ForkingMixIn, ExplicitTimeoutOptionIsHonoured) {
  ss::ForkingTCPServer server(local0(), ss::handler<EchoStream>(), {.timeout = 250ms});
  ASSERT_TRUE(server.timeout.has_value());
  EXPECT_DOUBLE_EQ(server.timeout->count(), 0.25)
      << "ServerOptions::timeout was overwritten by ForkingMixIn's 300 s default";
}

TEST(ForkingMixIn, MaxChildrenPausesAccepts) {
  stu::UnrelatedChild unrelated;  // alive throughout
  // Each child says "started", then waits for its client's line.
  ss::ForkingTCPServer server(local0(), ss::handler([](ss::StreamRequestHandler& self) {
                                self.wfile.write("started\n");
                                self.wfile.write(self.rfile.readline());
                              }));
  server.max_children = 2;
  ServerThread t(server);
  std::vector<Socket> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(stu::stream_client(server.server_address, 20s));
  EXPECT_EQ(stu::read_line(clients[0]), "started\n");
  EXPECT_EQ(stu::read_line(clients[1]), "started\n");
  clients[2].settimeout(300ms);
  EXPECT_THROW(clients[2].recv(100), ss::timeout_error) << "a third child beyond max_children";
  std::size_t live = 0;
  for (const auto& [pid, state] : stu::child_processes()) {
    if (pid != unrelated.pid() && state != 'Z') ++live;
  }
  EXPECT_LE(live, 2u);
  clients[0].sendall("one\n");
  EXPECT_EQ(stu::read_line(clients[0]), "one\n");
  clients[2].settimeout(20s);
  EXPECT_EQ(stu::read_line(clients[2]), "started\n") << "accepting resumed after a child ended";
  clients[1].sendall("two\n");
  clients[2].sendall("three\n");
  EXPECT_EQ(stu::read_line(clients[1]), "two\n");
  EXPECT_EQ(stu::read_line(clients[2]), "three\n");
  t.stop();
  server.server_close();
  expect_no_children_and_unrelated_intact(server, server.active_children, unrelated);
}

TEST(ForkingMixIn, NoZombiesWhileServingAndOnlyOwnChildrenReaped) {
  stu::UnrelatedChild unrelated(true);  // becomes a zombie of the test at once
  ss::ForkingTCPServer server(local0(), ss::handler<EchoStream>());
  ServerThread t(server, 20ms);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(stu::stream_roundtrip(server.server_address), kTestStr);
  EXPECT_TRUE(stu::wait_until(
      [&] { return stu::children_except(unrelated.pid(), /*zombies_only=*/true) == 0; }, 10s))
      << "ended children are reaped while the server runs";
  EXPECT_EQ(stu::proc_stat(unrelated.pid()).state, 'Z') << "the unrelated child is left alone";
  t.stop();
  server.server_close();
  expect_no_children_and_unrelated_intact(server, server.active_children, unrelated);
}

namespace {
// A process group of its own running a ForkingTCPServer under StopOnSignals: writes its port on
// `out`, serves until a signal stops it, closes (waiting for its children), exits 0.
[[noreturn]] void forking_server_with_stop_signals(int out) {
  ::setpgid(0, 0);
  int status = 1;
  try {
    ss::ForkingTCPServer server(local0(), ss::handler([](ss::StreamRequestHandler& self) {
                                  self.wfile.write("ready\n");
                                  (void)self.rfile.readline();  // the client stays silent
                                }));
    const std::string port = std::to_string(server.server_address.port()) + "\n";
    if (::write(out, port.data(), port.size()) != static_cast<ssize_t>(port.size())) ::_exit(3);
    {
      ss::StopOnSignals stop(server);
      server.serve_forever();
    }
    server.server_close();
    status = 0;
  } catch (...) {
  }
  ::_exit(status);
}
}  // namespace

TEST(ForkingMixIn, CtrlCStopsTheServerAndAChildServingASilentClient) {
  // Python: Ctrl-C sends SIGINT to the whole foreground group; the forked child dies of it
  // (KeyboardInterrupt) and the parent's server_close, waiting for children, returns. With
  // StopOnSignals installed, our children must not inherit its handler (which would swallow the
  // signal and leave the parent waiting in server_close while the client stays).
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    forking_server_with_stop_signals(fds[1]);
  }
  ::close(fds[1]);
  // Read the port line with a bound (poll), then connect and wait for the child's greeting.
  std::string line;
  pollfd p{fds[0], POLLIN, 0};
  for (int i = 0; i < 100 && line.find('\n') == std::string::npos; ++i) {
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[16];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  ASSERT_NE(line.find('\n'), std::string::npos) << "no port from the server process";
  Socket quiet = stu::stream_client(Address("127.0.0.1", std::stoi(line)));
  EXPECT_EQ(stu::read_line(quiet), "ready\n") << "a child serves the client";
  ASSERT_EQ(::kill(-pid, SIGINT), 0);  // Ctrl-C: the whole group
  int status = 0;
  const bool ended = stu::wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 10s);
  if (!ended) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  EXPECT_TRUE(ended) << "the server was still running 10 s after SIGINT to its group";
#if defined(__SANITIZE_THREAD__)
  // Under TSan a forked child inherits the parent's warning count and exits 66 when it is not
  // zero (a race reported by an earlier test); the server process itself is single-threaded.
  EXPECT_TRUE(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 66))
      << "status " << status;
#else
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
#endif
  EXPECT_EQ(stu::read_line(quiet), "") << "the child ended, and with it the connection";
}

// ---- accept errors: descriptors exhausted -----------------------------------------------------

namespace {

// Runs in a forked child, single-threaded: a TCPServer whose process has no descriptor left.
// Commands on `ctl`: 'r' releases the descriptors, 'q' (or end of file) stops the loop.
[[noreturn]] void emfile_server_child(int ctl, int info, const std::string& err_path) {
  int status = 1;
  try {
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err >= 0) ::dup2(err, 2);
    struct Srv : ss::TCPServer {
      using TCPServer::TCPServer;
      int ctl = -1;
      int info = -1;
      bool exhausted = false;
      std::vector<int> hog;
      void service_actions() override {
        if (!exhausted) {  // first call: inside the loop, its selector already made
          exhausted = true;
          hog = stu::exhaust_descriptors();
          const int port = server_address.port();
          if (::write(info, &port, sizeof port) != sizeof port) ::_exit(3);
          return;
        }
        char c = 0;
        const ssize_t n = ::read(ctl, &c, 1);
        if (n == 0 || c == 'q') {
          shutdown();
        } else if (c == 'r') {
          for (int fd : hog) ::close(fd);
          hog.clear();
        }
      }
    };
    Srv server(local0(), ss::handler<EchoStream>());
    server.ctl = ctl;
    server.info = info;
    ::fcntl(ctl, F_SETFL, O_NONBLOCK);
    server.serve_forever(50ms);
    server.server_close();
    status = 0;
  } catch (...) {
    status = 2;
  }
  ::_exit(status);
}

}  // namespace

TEST(AcceptErrors, DescriptorsExhaustedNoSpinAndServiceResumes) {
  testutil::TempDir dir;
  stu::CommandedChild child(emfile_server_child, dir.file("stderr"));
  const int port = child.read_port();
  ASSERT_NE(port, 0) << "the child did not start: " << child.stderr_text();
  const Address addr{"127.0.0.1", port};

  const int early_served = stu::check_descriptor_exhaustion(child, addr);
  EXPECT_TRUE(child.command('q')) << "the child is gone: " << child.stderr_text();
  EXPECT_TRUE(child.exited_cleanly())
      << "child status " << child.finish() << ": " << child.stderr_text();
  const std::string err = child.stderr_text();
  const int reports = stu::count_of(err, "Too many open files");
  EXPECT_GE(reports, 1) << "the accept error is reported: " << err;
  EXPECT_LE(reports, 6) << "at a bounded rate: " << err;
  RecordProperty("early_clients_served", early_served);
}
