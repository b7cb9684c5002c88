// ThreadPoolMixIn and the request counters every server keeps.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <latch>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "server_test_util.hpp"

namespace {

using namespace stu;
using ss::Socket;

// A handler that says "started", then blocks until `release` opens (or the client closes).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 20s, [this] { return open; });
  }
};

ss::RequestHandlerClass gated_echo(Gate& gate) {
  return ss::handler([&gate](ss::StreamRequestHandler& self) {
    self.wfile.write("started\n");
    gate.wait();
    self.wfile.write(self.rfile.readline());
  });
}

TEST(ThreadPool, EchoesThroughEveryAlias) {
  ss::ThreadPoolTCPServer tcp(local0(), ss::handler<EchoStream>());
  check_stream_echo(tcp);
  ss::ThreadPoolUDPServer udp(local0(), ss::handler<EchoDatagram>());
  check_dgram_echo(udp);
  testutil::TempDir dir;
  ss::ThreadPoolUnixStreamServer unix_stream(ss::Address::unix_path(dir.path() + "/s"),
                                             ss::handler<EchoStream>());
  check_stream_echo(unix_stream);
  ss::ThreadPoolUnixDatagramServer unix_dgram(ss::Address::unix_path(dir.path() + "/d"),
                                              ss::handler<EchoDatagram>());
  check_dgram_echo(unix_dgram);
}

TEST(ThreadPool, StartsAtMostMaxWorkersAndCountsRequests) {
  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>());
  server.max_workers = 3;
  ServerThread t(server);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  EXPECT_EQ(server.worker_count(), 3u);
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  const ss::ServerCounters c = server.counters();
  EXPECT_EQ(c.total, 20u);
  EXPECT_EQ(c.queued, 0u);
  EXPECT_EQ(c.refused, 0u);
  t.stop();
  server.server_close();
  EXPECT_EQ(server.worker_count(), 0u);
}

TEST(ThreadPool, BusyWorkersLeaveRequestsVisiblyQueued) {
  Gate gate;
  ss::ThreadPoolTCPServer server(local0(), gated_echo(gate));
  server.serve_when_readable = false;  // the handler speaks first, to silent clients
  server.max_workers = 1;
  ServerThread t(server);
  Socket first = stream_client(server.server_address);
  EXPECT_EQ(read_line(first), "started\n");
  Socket second = stream_client(server.server_address);
  EXPECT_TRUE(wait_until([&] { return server.counters().queued == 1; }))
      << "the second connection waits in the queue, and the queue says so";
  EXPECT_EQ(server.counters().current, 1u);
  gate.release();
  first.sendall("one\n");
  EXPECT_EQ(read_line(first), "one\n");
  EXPECT_EQ(read_line(second), "started\n");
  second.sendall("two\n");
  EXPECT_EQ(read_line(second), "two\n");
  t.stop();
  server.server_close();
}

TEST(ThreadPool, RefusePolicyClosesWhatTheQueueCannotHold) {
  Gate gate;
  ss::ThreadPoolTCPServer server(local0(), gated_echo(gate));
  server.serve_when_readable = false;  // the handler speaks first, to silent clients
  server.max_workers = 1;
  server.max_queued = 1;
  server.overload = ss::Overload::refuse;
  ServerThread t(server);
  Socket busy = stream_client(server.server_address);
  EXPECT_EQ(read_line(busy), "started\n");
  Socket queued = stream_client(server.server_address);
  EXPECT_TRUE(wait_until([&] { return server.counters().queued == 1; }));
  Socket refused = stream_client(server.server_address);
  EXPECT_EQ(read_all(refused), "") << "a refused connection is closed at once";
  EXPECT_EQ(server.counters().refused, 1u);
  gate.release();
  busy.sendall("a\n");
  EXPECT_EQ(read_line(busy), "a\n");
  EXPECT_EQ(read_line(queued), "started\n");
  queued.sendall("b\n");
  EXPECT_EQ(read_line(queued), "b\n");
  t.stop();
  server.server_close();
}

struct HookServer : ss::ThreadPoolTCPServer {
  using ss::ThreadPoolTCPServer::ThreadPoolMixIn;
  std::atomic<int> hooked{0};
  void handle_overload(ss::Request& request, const ss::Address&) override {
    ++hooked;
    request.connection.sendall("busy\n");
    shutdown_request(request);
  }
};

TEST(ThreadPool, HookPolicyCallsHandleOverload) {
  Gate gate;
  HookServer server(local0(), gated_echo(gate));
  server.serve_when_readable = false;  // the handler speaks first, to silent clients
  server.max_workers = 1;
  server.max_queued = 0;
  server.overload = ss::Overload::hook;
  ServerThread t(server);
  Socket busy = stream_client(server.server_address);
  EXPECT_EQ(read_line(busy), "started\n");
  Socket extra = stream_client(server.server_address);
  EXPECT_EQ(read_line(extra), "busy\n");
  EXPECT_EQ(server.hooked.load(), 1);
  gate.release();
  busy.sendall("x\n");
  EXPECT_EQ(read_line(busy), "x\n");
  t.stop();
  server.server_close();
}

TEST(ThreadPool, WaitPolicyStopsAcceptingWhenTheQueueIsFull) {
  Gate gate;
  ss::ThreadPoolTCPServer server(local0(), gated_echo(gate));
  server.serve_when_readable = false;  // the handler speaks first, to silent clients
  server.max_workers = 1;
  server.max_queued = 1;
  ServerThread t(server);
  Socket busy = stream_client(server.server_address);
  EXPECT_EQ(read_line(busy), "started\n");
  Socket queued = stream_client(server.server_address);
  EXPECT_TRUE(wait_until([&] { return server.counters().queued == 1; }));
  Socket waiting = stream_client(server.server_address);  // stays in the listen backlog
  std::this_thread::sleep_for(100ms);  // what is tested: no accept happens meanwhile
  EXPECT_EQ(server.counters().total, 2u) << "not accepted while the queue is full";
  gate.release();
  for (Socket* s : {&busy, &queued, &waiting}) {
    if (s != &busy) {
      EXPECT_EQ(read_line(*s), "started\n");
    }
    s->sendall("z\n");
    EXPECT_EQ(read_line(*s), "z\n");
  }
  EXPECT_EQ(server.counters().total, 3u);
  EXPECT_EQ(server.counters().refused, 0u) << "nothing lost";
  t.stop();
  server.server_close();
}

TEST(ThreadPool, ServerCloseDeadlineEndsRequestsOfIdleClients) {
  ss::ThreadPoolTCPServer server(local0(), ss::handler([](ss::StreamRequestHandler& self) {
                                   self.wfile.write("ready\n");
                                   self.wfile.write("got:" + self.rfile.readline());
                                 }));
  server.serve_when_readable = false;  // the handler speaks first
  server.close_deadline = 200ms;
  ServerThread t(server);
  Socket idle = stream_client(server.server_address);
  EXPECT_EQ(read_line(idle), "ready\n");
  idle.sendall("partial");
  t.stop();
  const auto start = std::chrono::steady_clock::now();
  server.server_close();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "server_close hung on an idle client";
  EXPECT_EQ(read_line(idle), "got:partial") << "the handler saw end of input and still replied";
}

// ---- stream pools: idle workers accept for themselves --------------------------------------

// A pool that records which threads accept (get_request) and verify, and which thread runs the
// loop (service_actions runs on it); handle_error only counts. `verdict(n)` decides the n-th
// verify_request (1-based; it may throw); unset: accept everything.
template <class Base>
struct RecordingPool : Base {
  using Base::Base;

  std::function<bool(int)> verdict;
  std::atomic<int> verifications{0};
  std::atomic<int> errors{0};

  std::pair<ss::Request, ss::Address> get_request() override {
    auto got = Base::get_request();  // throws when there is nothing to accept
    std::lock_guard<std::mutex> lock(rec_mu_);
    accept_threads_.push_back(std::this_thread::get_id());
    return got;
  }
  bool verify_request(ss::Request& request, const ss::Address& client_address) override {
    {
      std::lock_guard<std::mutex> lock(rec_mu_);
      verify_threads_.push_back(std::this_thread::get_id());
    }
    const int n = ++verifications;
    return verdict ? verdict(n) : Base::verify_request(request, client_address);
  }
  void handle_error(ss::Request&, const ss::Address&) override { ++errors; }
  void service_actions() override {
    Base::service_actions();
    std::lock_guard<std::mutex> lock(rec_mu_);
    loop_thread_ = std::this_thread::get_id();
  }

  /// The serve_forever thread, once the loop has gone round at least once (bounded wait).
  std::thread::id loop_thread() {
    wait_until([this] {
      std::lock_guard<std::mutex> lock(rec_mu_);
      return loop_thread_ != std::thread::id{};
    });
    std::lock_guard<std::mutex> lock(rec_mu_);
    return loop_thread_;
  }
  void forget_loop_thread() {
    std::lock_guard<std::mutex> lock(rec_mu_);
    loop_thread_ = {};
  }
  std::vector<std::thread::id> accept_threads() {
    std::lock_guard<std::mutex> lock(rec_mu_);
    return accept_threads_;
  }
  std::vector<std::thread::id> verify_threads() {
    std::lock_guard<std::mutex> lock(rec_mu_);
    return verify_threads_;
  }

 private:
  std::mutex rec_mu_;
  std::thread::id loop_thread_;
  std::vector<std::thread::id> accept_threads_;
  std::vector<std::thread::id> verify_threads_;
};

using RecordingTCPPool = RecordingPool<ss::ThreadPoolTCPServer>;

// The tests below that expect no accept on the loop thread run fewer connections than there are
// workers: the pool is never full, so the loop never has a reason to listen. (Once the pool has
// been full, the loop may still take one more connection before it sees a worker free again.)
std::size_t count_equal(const std::vector<std::thread::id>& ids, std::thread::id id) {
  return static_cast<std::size_t>(std::count(ids.begin(), ids.end(), id));
}

bool listener_nonblocking(const ss::BaseServer& server) {
  const int flags = ::fcntl(server.fileno(), F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

TEST(ThreadPool, IdleWorkersAcceptNotTheLoop) {
  RecordingTCPPool server(local0(), ss::handler<EchoStream>());
  server.max_workers = 16;
  ASSERT_TRUE(server.workers_accept) << "workers accept by default";
  ServerThread t(server);
  const std::thread::id loop = server.loop_thread();
  ASSERT_NE(loop, std::thread::id{});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  const std::vector<std::thread::id> accepted = server.accept_threads();
  EXPECT_EQ(accepted.size(), 10u);
  EXPECT_EQ(count_equal(accepted, loop), 0u) << "the loop accepted while workers were idle";
  EXPECT_EQ(count_equal(accepted, std::this_thread::get_id()), 0u);
  EXPECT_EQ(count_equal(server.verify_threads(), loop), 0u)
      << "verify_request runs in the worker that accepted";
  EXPECT_EQ(server.counters().total, 10u);
  EXPECT_EQ(server.counters().refused, 0u);
  t.stop();
  EXPECT_EQ(t.error(), "");
  server.server_close();
}

TEST(ThreadPool, WorkersAcceptFalseLeavesAcceptingToTheLoop) {
  RecordingTCPPool server(local0(), ss::handler<EchoStream>());
  server.max_workers = 4;
  server.workers_accept = false;
  ServerThread t(server);
  const std::thread::id loop = server.loop_thread();
  ASSERT_NE(loop, std::thread::id{});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  const std::vector<std::thread::id> accepted = server.accept_threads();
  EXPECT_EQ(accepted.size(), 10u);
  EXPECT_EQ(count_equal(accepted, loop), 10u) << "every accept on the loop thread";
  EXPECT_EQ(count_equal(server.verify_threads(), loop), 10u);
  EXPECT_FALSE(listener_nonblocking(server)) << "the listener is left alone";
  t.stop();
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  EXPECT_EQ(server.counters().total, 10u);
  EXPECT_EQ(server.counters().queued, 0u);
  server.server_close();
}

TEST(ThreadPool, ListenerModeIsRestoredAndNothingIsAcceptedAfterShutdown) {
  RecordingTCPPool server(local0(), ss::handler<EchoStream>());
  server.max_workers = 8;
  ASSERT_FALSE(listener_nonblocking(server));
  ServerThread t(server);
  const std::thread::id loop1 = server.loop_thread();
  EXPECT_TRUE(wait_until([&] { return listener_nonblocking(server); }))
      << "while serving, the listener is non-blocking at the descriptor level";
  EXPECT_FALSE(server.socket.gettimeout().has_value()) << "but its Python timeout is unchanged";
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  EXPECT_FALSE(server.socket.gettimeout().has_value());
  t.stop();  // shutdown() has returned
  EXPECT_FALSE(listener_nonblocking(server)) << "blocking mode not restored by shutdown()";
  EXPECT_FALSE(server.socket.gettimeout().has_value());
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  EXPECT_EQ(server.counters().total, 1u);

  // A client after shutdown() returned: nobody may accept it (no worker still at the listener).
  Socket late = stream_client(server.server_address);
  late.sendall("late\n");
  late.settimeout(300ms);
  EXPECT_THROW(late.recv(100), ss::timeout_error) << "served after shutdown() returned";
  EXPECT_EQ(server.counters().total, 1u) << "accepted after shutdown() returned";
  EXPECT_EQ(server.accept_threads().size(), 1u);

  // serve_forever again: the pending client and new ones are served, by workers again.
  server.forget_loop_thread();
  ServerThread t2(server);
  const std::thread::id loop2 = server.loop_thread();
  late.settimeout(10s);
  EXPECT_EQ(read_line(late), "late\n") << "the client left in the backlog is served";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  EXPECT_TRUE(listener_nonblocking(server));
  const std::vector<std::thread::id> accepted = server.accept_threads();
  EXPECT_EQ(accepted.size(), 5u);
  EXPECT_EQ(count_equal(accepted, loop1) + count_equal(accepted, loop2), 0u);
  t2.stop();
  EXPECT_EQ(t2.error(), "");
  EXPECT_FALSE(listener_nonblocking(server));
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  EXPECT_EQ(server.counters().total, 5u);
  server.server_close();
}

TEST(ThreadPool, VerifyRefusalInAWorkerClosesAndCounts) {
  RecordingTCPPool server(local0(), ss::handler<EchoStream>());
  server.max_workers = 8;
  server.verdict = [](int n) { return n != 1; };  // the first connection is refused
  ServerThread t(server);
  const std::thread::id loop = server.loop_thread();
  Socket refused = stream_client(server.server_address, 5s);
  EXPECT_EQ(read_all(refused), "") << "a refused connection is closed at once";
  EXPECT_EQ(server.counters().refused, 1u);
  EXPECT_EQ(server.counters().total, 1u) << "a refused connection still counts as accepted";
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr) << "the next client is served";
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  const ss::ServerCounters c = server.counters();
  EXPECT_EQ(c.total, 2u);
  EXPECT_EQ(c.refused, 1u);
  EXPECT_EQ(c.queued, 0u);
  EXPECT_EQ(server.errors.load(), 0);
  EXPECT_EQ(count_equal(server.verify_threads(), loop), 0u) << "refused on the worker path";
  t.stop();
  server.server_close();
}

TEST(ThreadPool, VerifyThrowingInAWorkerIsReportedClosedAndServingGoesOn) {
  RecordingTCPPool server(local0(), ss::handler<EchoStream>());
  server.max_workers = 8;
  server.verdict = [](int n) {
    if (n == 1) throw std::runtime_error("verify_request failed on purpose");
    return true;
  };
  ServerThread t(server);
  const std::thread::id loop = server.loop_thread();
  Socket failed = stream_client(server.server_address, 5s);
  EXPECT_EQ(read_all(failed), "") << "the connection whose verification threw is closed";
  EXPECT_EQ(server.errors.load(), 1) << "handle_error is called for the exception";
  EXPECT_EQ(server.counters().refused, 1u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr) << "serving goes on";
  }
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  EXPECT_EQ(server.counters().total, 4u);
  EXPECT_EQ(server.counters().refused, 1u);
  EXPECT_EQ(server.errors.load(), 1);
  EXPECT_EQ(count_equal(server.verify_threads(), loop), 0u);
  t.stop();
  EXPECT_EQ(t.error(), "");
  server.server_close();
}

TEST(ThreadPool, HandlerErrorInAWorkerAcceptedRequestIsHandledOnce) {
  RecordingTCPPool server(local0(), ss::handler([](ss::StreamRequestHandler& self) {
                            const std::string line = self.rfile.readline();
                            if (line == "fail\n") throw std::runtime_error("handler failed");
                            self.wfile.write(line);
                          }));
  server.max_workers = 8;
  ServerThread t(server);
  const std::thread::id loop = server.loop_thread();
  EXPECT_EQ(stream_roundtrip(server.server_address, "fail\n"), "");
  EXPECT_TRUE(wait_until([&] { return server.errors.load() >= 1; }));
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr) << "the next client is served";
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  EXPECT_EQ(server.errors.load(), 1) << "handle_error once, for the one failure";
  EXPECT_EQ(server.counters().total, 3u);
  EXPECT_EQ(server.counters().refused, 0u) << "a failed handler is not a refusal";
  EXPECT_EQ(count_equal(server.accept_threads(), loop), 0u);
  t.stop();
  EXPECT_EQ(t.error(), "");
  server.server_close();
}

TEST(ThreadPool, ManyClientsThroughFewSelfAcceptingWorkersNeverStall) {
  constexpr int kClients = 8;
  constexpr int kEach = 25;
  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>());
  server.max_workers = 3;
  ServerThread t(server);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::atomic<int> answered{0};
  std::mutex fail_mu;
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int k = 0; k < kClients; ++k) {
    clients.emplace_back([&, k] {
      for (int i = 0; i < kEach && std::chrono::steady_clock::now() < deadline; ++i) {
        const std::string msg = "client " + std::to_string(k) + " #" + std::to_string(i) + "\n";
        std::string reply;
        std::string error;
        try {
          reply = stream_roundtrip(server.server_address, msg);
        } catch (const std::exception& e) {
          error = e.what();
        }
        if (reply != msg) {
          std::lock_guard<std::mutex> lock(fail_mu);
          if (first_failure.empty()) first_failure = "'" + reply + "' for '" + msg + "' " + error;
          return;  // a stalled client stops: bounded by its socket timeouts
        }
        ++answered;
      }
    });
  }
  for (std::thread& c : clients) c.join();
  EXPECT_LT(std::chrono::steady_clock::now(), deadline) << "no stall: everything within 30 s";
  EXPECT_EQ(answered.load(), kClients * kEach) << first_failure;
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  const ss::ServerCounters c = server.counters();
  EXPECT_EQ(c.total, static_cast<std::size_t>(kClients * kEach));
  EXPECT_EQ(c.queued, 0u);
  EXPECT_EQ(c.current, 0u);
  EXPECT_EQ(c.refused, 0u);
  EXPECT_EQ(server.worker_count(), 3u);
  t.stop();
  EXPECT_EQ(t.error(), "");
  server.server_close();
}

TEST(ThreadPool, UnixStreamPoolWorkersAccept) {
  testutil::TempDir dir;
  RecordingPool<ss::ThreadPoolUnixStreamServer> server(ss::Address::unix_path(dir.file("pool")),
                                                       ss::handler<EchoStream>());
  server.max_workers = 8;
  ServerThread t(server);
  const std::thread::id loop = server.loop_thread();
  EXPECT_TRUE(wait_until([&] { return listener_nonblocking(server); }));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  const std::vector<std::thread::id> accepted = server.accept_threads();
  EXPECT_EQ(accepted.size(), 5u);
  EXPECT_EQ(count_equal(accepted, loop), 0u) << "the loop accepted while workers were idle";
  t.stop();
  EXPECT_EQ(t.error(), "");
  EXPECT_FALSE(listener_nonblocking(server));
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  EXPECT_EQ(server.counters().total, 5u);
  server.server_close();
  EXPECT_FALSE(path_exists(dir.file("pool")));
}

// Only kPollers (2) idle workers wait on the listener; the others wait their turn. Connections
// that each keep a worker busy must still reach every worker, none of them queued.
TEST(ThreadPool, EveryIdleWorkerTakesItsTurnAtTheListener) {
  Gate gate;
  RecordingTCPPool server(local0(), gated_echo(gate));
  server.serve_when_readable = false;  // the handler speaks first, to silent clients
  server.max_workers = 4;
  ServerThread t(server);
  const std::thread::id loop = server.loop_thread();
  std::vector<Socket> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(stream_client(server.server_address, 5s));
    std::string line;
    try {
      line = read_line(clients.back());
    } catch (const ss::timeout_error&) {
    }
    EXPECT_EQ(line, "started\n") << "connection " << i << " found no worker";
  }
  EXPECT_EQ(server.counters().current, 4u);
  EXPECT_EQ(server.counters().queued, 0u);
  EXPECT_EQ(count_equal(server.accept_threads(), loop), 0u);
  gate.release();
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const std::string msg = "c" + std::to_string(i) + "\n";
    clients[i].sendall(msg);
    EXPECT_EQ(read_line(clients[i]), msg);
  }
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  EXPECT_EQ(server.counters().total, 4u);
  t.stop();
  server.server_close();
}

TEST(ThreadPool, WhenEveryWorkerIsBusyTheLoopAcceptsAndQueues) {
  Gate gate;
  RecordingTCPPool server(local0(), gated_echo(gate));
  server.serve_when_readable = false;  // the handler speaks first, to silent clients
  server.max_workers = 2;
  ServerThread t(server);
  const std::thread::id loop = server.loop_thread();
  Socket a = stream_client(server.server_address);
  Socket b = stream_client(server.server_address);
  EXPECT_EQ(read_line(a), "started\n");
  EXPECT_EQ(read_line(b), "started\n");
  EXPECT_EQ(count_equal(server.accept_threads(), loop), 0u) << "idle workers took a and b";
  Socket c = stream_client(server.server_address);
  EXPECT_TRUE(wait_until([&] { return server.counters().queued == 1; }))
      << "with no idle worker the loop accepts and the request waits, visibly, in the queue";
  EXPECT_EQ(server.counters().total, 3u);
  EXPECT_EQ(server.counters().current, 2u);
  const std::vector<std::thread::id> accepted = server.accept_threads();
  ASSERT_EQ(accepted.size(), 3u);
  EXPECT_EQ(accepted.back(), loop) << "the third connection was accepted by the loop";
  gate.release();
  a.sendall("a\n");
  EXPECT_EQ(read_line(a), "a\n");
  EXPECT_EQ(read_line(c), "started\n") << "the queued request is served once a worker is free";
  c.sendall("c\n");
  EXPECT_EQ(read_line(c), "c\n");
  b.sendall("b\n");
  EXPECT_EQ(read_line(b), "b\n");
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  EXPECT_EQ(server.counters().queued, 0u);
  EXPECT_EQ(server.counters().refused, 0u);
  t.stop();
  server.server_close();
}

TEST(Counters, SyncServerCountsCurrentTotalAndRefused) {
  struct Picky : ss::TCPServer {
    using TCPServer::TCPServer;
    std::atomic<int> seen{0};
    bool verify_request(ss::Request&, const ss::Address&) override { return ++seen % 2 == 1; }
  };
  std::atomic<std::size_t> current_inside{0};
  Picky server(local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                 current_inside.store(self.server.counters().current);
                 self.wfile.write(self.rfile.readline());
               }));
  ServerThread t(server);
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);  // accepted
  EXPECT_EQ(stream_roundtrip(server.server_address), "");        // refused: closed at once
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  t.stop();
  const ss::ServerCounters c = server.counters();
  EXPECT_EQ(c.total, 3u);
  EXPECT_EQ(c.refused, 1u);
  EXPECT_EQ(c.current, 0u);
  EXPECT_EQ(current_inside.load(), 1u) << "the request being served counts as current";
  server.server_close();
}

TEST(Counters, ThreadingServerCountsRunningHandlers) {
  Gate gate;
  ss::ThreadingTCPServer server(local0(), gated_echo(gate));
  ServerThread t(server);
  Socket a = stream_client(server.server_address);
  Socket b = stream_client(server.server_address);
  EXPECT_EQ(read_line(a), "started\n");
  EXPECT_EQ(read_line(b), "started\n");
  EXPECT_EQ(server.counters().current, 2u);
  gate.release();
  a.sendall("1\n");
  b.sendall("2\n");
  EXPECT_EQ(read_line(a), "1\n");
  EXPECT_EQ(read_line(b), "2\n");
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }));
  EXPECT_EQ(server.counters().total, 2u);
  t.stop();
  server.server_close();
}

}  // namespace

namespace {

// Counts the loop's passes (service_actions runs once per pass).
struct PassCountingPool : ss::ThreadPoolTCPServer {
  using ss::ThreadPoolTCPServer::ThreadPoolTCPServer;
  std::atomic<int> passes{0};
  void service_actions() override {
    ss::ThreadPoolTCPServer::service_actions();
    ++passes;
  }
};

}  // namespace

TEST(ThreadPool, AnIdleSelfAcceptingPoolLetsTheLoopSleep) {
  // The loop does not listen while workers accept; it must not poll for the moment it should
  // (the pool wakes it), so with a one-hour poll_interval it hardly goes round at all.
  PassCountingPool server(local0(), ss::handler<EchoStream>());
  server.max_workers = 4;
  ServerThread t(server, std::chrono::hours(1));
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  const int before = server.passes.load();
  std::this_thread::sleep_for(500ms);  // what is tested: the loop stays asleep meanwhile
  EXPECT_LE(server.passes.load() - before, 3) << "the loop woke up while nothing happened";
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  t.stop();
  server.server_close();
}

// ---- serve_when_readable: silent clients are parked, not served (issue 9 item 2) -------------

namespace {

// An echo pool (default settings but the ones a test names) on TCP or a Unix path. TCP listeners
// have TCP_DEFER_ACCEPT (a silent client is accepted after about a second); Unix ones do not
// (it is accepted at once, and the peek after accept parks it).
template <class Pool>
struct EchoPool {
  testutil::TempDir dir;
  Pool server;
  explicit EchoPool(const ss::ServerOptions& options = {})
      : server(address(dir), ss::handler<EchoStream>(), options) {}
  static ss::Address address(testutil::TempDir& d) {
    if constexpr (std::is_same_v<Pool, ss::ThreadPoolUnixStreamServer>) {
      return ss::Address::unix_path(d.file("pool"));
    } else {
      return local0();
    }
  }
};

template <class Pool>
void silent_clients_hold_no_worker() {
  // Python has no pool; Poco's hands a connection to a worker at once, so as many silent clients
  // as workers stop it. Ours: max_workers * 2 silent clients and a few that send one byte (no
  // newline: their handlers wait for the rest), and a well-behaved client is still answered.
  EchoPool<Pool> pool;
  auto& server = pool.server;
  const std::size_t workers = server.max_workers;
  ServerThread t(server);
  std::vector<Socket> silent;
  for (std::size_t i = 0; i < workers * 2; ++i)
    silent.push_back(stream_client(server.server_address));
  std::vector<Socket> tricklers;
  for (int i = 0; i < 3; ++i) {
    tricklers.push_back(stream_client(server.server_address));
    tricklers.back().sendall("x");
  }
  EXPECT_TRUE(wait_until([&] { return server.park_counters().parked == workers * 2; }, 10s))
      << "parked: " << server.park_counters().parked;
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 3; }, 10s))
      << "the three that sent a byte hold a worker each, the silent ones none: "
      << server.counters().current;
  Socket good = stream_client(server.server_address, 5s);  // bound against a hang
  good.sendall(kTestStr);
  EXPECT_EQ(read_line(good), kTestStr) << "a well-behaved client is answered";
  // A parked client that finally sends is served too.
  silent.front().sendall(kTestStr);
  EXPECT_EQ(read_line(silent.front()), kTestStr);
  tricklers.clear();  // their handlers see the end of input (else server_close waits for them)
  t.stop();
  server.server_close();
  EXPECT_EQ(server.park_counters().parked, 0u) << "server_close closed the parked connections";
  EXPECT_EQ(read_all(silent.back()), "") << "a parked client sees its connection end";
}

}  // namespace

TEST(ThreadPoolParking, SilentTcpClientsHoldNoWorker) {
  silent_clients_hold_no_worker<ss::ThreadPoolTCPServer>();
}

TEST(ThreadPoolParking, SilentUnixClientsHoldNoWorker) {
  silent_clients_hold_no_worker<ss::ThreadPoolUnixStreamServer>();
}

TEST(ThreadPoolParking, ParkedConnectionsAreCappedOldestClosedFirst) {
  EchoPool<ss::ThreadPoolUnixStreamServer> pool;
  auto& server = pool.server;
  server.max_parked = 4;
  ServerThread t(server);
  std::vector<Socket> silent;
  for (int i = 0; i < 6; ++i) {
    silent.push_back(stream_client(server.server_address));
    EXPECT_TRUE(wait_until([&] { return server.park_counters().total == std::size_t(i + 1); }));
  }
  const ss::ParkCounters c = server.park_counters();
  EXPECT_EQ(c.parked, 4u);
  EXPECT_EQ(c.dropped, 2u);
  EXPECT_EQ(read_all(silent[0]), "") << "the oldest was closed";
  EXPECT_EQ(read_all(silent[1]), "");
  silent[5].sendall(kTestStr);
  EXPECT_EQ(read_line(silent[5]), kTestStr) << "the newest is still parked, and served";
  t.stop();
  server.server_close();
}

TEST(ThreadPoolParking, ParkedConnectionsAreClosedAfterTheIdleTimeout) {
  EchoPool<ss::ThreadPoolUnixStreamServer> pool({.idle_timeout = 200ms});
  auto& server = pool.server;
  ServerThread t(server);
  Socket silent = stream_client(server.server_address);
  EXPECT_EQ(read_all(silent), "") << "closed after the shorter idle_timeout (read bounded by 10 s)";
  EXPECT_EQ(server.park_counters().dropped, 1u);
  EXPECT_EQ(server.park_counters().parked, 0u);
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  t.stop();
  server.server_close();
}

TEST(ThreadPoolParking, ParkTimeoutDefaultsTo60SecondsAndHandlersGetNoTimeout) {
  ss::ThreadPoolTCPServer pool(local0(), ss::handler<EchoStream>());
  ASSERT_TRUE(pool.park_timeout.has_value());
  EXPECT_DOUBLE_EQ(pool.park_timeout->count(), 60.0);
  EXPECT_FALSE(pool.idle_timeout.has_value()) << "handlers wait as Python's do, unless asked";
  EXPECT_TRUE(pool.serve_when_readable);
  EXPECT_GT(pool.max_parked, 0u);
}

TEST(ThreadPoolParking, ParkedConnectionsAreClosedAfterTheParkTimeout) {
  EchoPool<ss::ThreadPoolUnixStreamServer> pool;
  auto& server = pool.server;
  server.park_timeout = 200ms;
  ServerThread t(server);
  Socket silent = stream_client(server.server_address);
  EXPECT_EQ(read_all(silent), "") << "closed after park_timeout (read bounded by 10 s)";
  EXPECT_EQ(server.park_counters().dropped, 1u);
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  t.stop();
  server.server_close();
}

// A graceful stop (a prefork worker's SIGHUP restart, Ctrl-C) while a request is on its way:
// the connection was accepted and parked before its bytes arrived. server_close serves it if it
// arrives within parked_close_grace of the parking (it was closed unanswered: a lost request,
// seen once under load in Prefork.SighupRestartsEveryWorkerWithoutAFailedRequest); with no
// grace it is closed at once, as before.
void request_on_its_way_at_close(ss::Timeout grace, const std::string& expected) {
  EchoPool<ss::ThreadPoolUnixStreamServer> pool;
  auto& server = pool.server;
  server.parked_close_grace = grace;
  ServerThread t(server);
  Socket late = stream_client(server.server_address);
  ASSERT_TRUE(wait_until([&] { return server.park_counters().parked == 1; }));
  t.stop();
  std::thread closer([&] { server.server_close(); });
  std::this_thread::sleep_for(200ms);  // server_close has begun; the request arrives now
  try {
    late.sendall(kTestStr);
  } catch (const ss::socket_error&) {
    // closed already (no grace): the read below sees the end
  }
  EXPECT_EQ(expected.empty() ? read_all(late) : read_line(late), expected);
  closer.join();
  EXPECT_EQ(server.park_counters().parked, 0u);
}

TEST(ThreadPoolParking, ARequestOnItsWayWhenTheServerClosesIsServed) {
  // 5 s: far more than the test's 200 ms, so that a slow shutdown on a busy machine does not
  // use the grace up before the request arrives (server_close returns as soon as it has).
  request_on_its_way_at_close(std::chrono::duration<double>(5), kTestStr);
}

TEST(ThreadPoolParking, WithoutAGraceARequestOnItsWayIsClosedAtServerClose) {
  request_on_its_way_at_close(std::nullopt, "");
}

TEST(ThreadPoolParking, AClientThatClosesWhileParkedIsHandedItsEnd) {
  // End of input counts as readable: the handler runs, sees it, and the request ends.
  EchoPool<ss::ThreadPoolUnixStreamServer> pool;
  auto& server = pool.server;
  ServerThread t(server);
  {
    Socket quitter = stream_client(server.server_address);
    EXPECT_TRUE(wait_until([&] { return server.park_counters().parked == 1; }));
  }
  EXPECT_TRUE(wait_until([&] {
    return server.park_counters().parked == 0 && server.counters().total == 1 &&
           server.counters().current == 0;
  }));
  EXPECT_EQ(server.park_counters().dropped, 0u);
  t.stop();
  server.server_close();
}

TEST(ThreadPoolParking, ServeWhenReadableFalseServesAServerThatSpeaksFirst) {
  testutil::TempDir dir;
  ss::ThreadPoolUnixStreamServer server(
      ss::Address::unix_path(dir.file("greet")),
      ss::handler([](ss::StreamRequestHandler& self) { self.wfile.write("hello\n"); }));
  server.serve_when_readable = false;
  ServerThread t(server);
  Socket c = stream_client(server.server_address);
  EXPECT_EQ(read_line(c), "hello\n") << "served without sending anything";
  EXPECT_EQ(server.park_counters().total, 0u);
  t.stop();
  server.server_close();
}

TEST(ThreadPool, ABusyPoolSaysSoInOneRateLimitedLine) {
  // Issue 10 item 19 (Poco's pool stalls silently): when every worker is held and connections
  // wait, one line on stderr says so; a burst of waiting connections is not a burst of lines.
  Gate gate;
  ss::ThreadPoolTCPServer server(local0(), gated_echo(gate));
  server.serve_when_readable = false;  // the handler speaks first, to silent clients
  server.max_workers = 2;
  std::string text;
  std::chrono::steady_clock::time_point started;
  {
    StderrCapture err;
    started = std::chrono::steady_clock::now();
    ServerThread t(server);
    Socket a = stream_client(server.server_address);
    Socket b = stream_client(server.server_address);
    EXPECT_EQ(read_line(a), "started\n");
    EXPECT_EQ(read_line(b), "started\n");
    std::vector<Socket> waiting;
    for (int i = 0; i < 6; ++i) waiting.push_back(stream_client(server.server_address));
    EXPECT_TRUE(wait_until([&] { return server.counters().queued == 6; }));
    gate.release();
    for (Socket* s : {&a, &b}) {
      s->sendall("x\n");
      EXPECT_EQ(read_line(*s), "x\n");
    }
    for (Socket& s : waiting) {
      EXPECT_EQ(read_line(s), "started\n");
      s.sendall("y\n");
      EXPECT_EQ(read_line(s), "y\n");
    }
    t.stop();
    server.server_close();
    text = err.stop();
  }
  // At most one line a second (and one more if a second boundary fell in), however slow the
  // machine made the burst.
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  const int lines = count_of(text, "workers of the pool on");
  EXPECT_GE(lines, 1) << "the stall was not reported";
  EXPECT_LE(lines, 2 + seconds) << "one line a second at most: " << text;
  EXPECT_NE(
      text.find("all 2 workers of the pool on " + server.server_address.to_string() + " are busy"),
      std::string::npos)
      << text;
}

TEST(ThreadPool, APoolWithAFreeWorkerReportsNothing) {
  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>());
  server.max_workers = 4;
  std::string text;
  {
    StderrCapture err;
    ServerThread t(server);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
    t.stop();
    server.server_close();
    text = err.stop();
  }
  EXPECT_EQ(text.find("workers of the pool"), std::string::npos) << text;
}

// ---- request_delimiter: partial lines park too --------------------------------------------------

TEST(ThreadPoolParking, WithADelimiterAClientTricklingAPartialLineHoldsNoWorker) {
  // Without a delimiter, one byte is a request: a client that sends "x" and then a byte now and
  // then holds a worker until idle_timeout or request_timeout. With request_delimiter "\n" it
  // stays parked until its line is whole.
  EchoPool<ss::ThreadPoolUnixStreamServer> pool;
  auto& server = pool.server;
  server.max_workers = 2;
  server.request_delimiter = "\n";
  ServerThread t(server);
  std::vector<Socket> tricklers;
  for (int i = 0; i < 4; ++i) {
    tricklers.push_back(stream_client(server.server_address));
    tricklers.back().sendall("x");
  }
  EXPECT_TRUE(wait_until([&] { return server.park_counters().parked == 4; }));
  for (Socket& s : tricklers) s.sendall("y");
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr) << "both workers are free";
  EXPECT_EQ(server.park_counters().parked, 4u) << "the partial lines are still parked";
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 0; }))
      << "no worker is held: " << server.counters().current;
  tricklers[0].sendall("z\n");
  EXPECT_EQ(read_line(tricklers[0]), "xyz\n") << "a whole line goes to a worker, bytes intact";
  t.stop();
  server.server_close();
}

TEST(ThreadPoolParking, WithADelimiterMaxLineBytesWithoutOneAreARequest) {
  testutil::TempDir dir;
  ss::ThreadPoolUnixStreamServer server(
      ss::Address::unix_path(dir.file("raw")),
      ss::handler([](ss::StreamRequestHandler& self) { self.wfile.write(self.rfile.read(8)); }));
  server.request_delimiter = "\n";
  server.max_line = 8;
  ServerThread t(server);
  Socket c = stream_client(server.server_address);
  c.sendall("1234");
  EXPECT_TRUE(wait_until([&] { return server.park_counters().parked == 1; }));
  c.sendall("5678");
  EXPECT_EQ(read_all(c), "12345678") << "max_line bytes without a delimiter are served";
  t.stop();
  server.server_close();
}

TEST(ThreadPoolParking, WithADelimiterAPartialLineThenEndOfInputIsServed) {
  // Python's socketserver hands the handler whatever came, the last unterminated line included
  // (readline returns it at end of input). A delimiter must not park such a request until
  // park_timeout: once no more can come, the partial line is the request. Both orders: the end
  // arrives before the pool looks (at accept), and while the connection is parked.
  EchoPool<ss::ThreadPoolUnixStreamServer> pool;
  auto& server = pool.server;
  server.request_delimiter = "\n";
  server.park_timeout = 30s;  // far beyond the clients' 10 s reads: only a serve answers them
  ServerThread t(server);
  Socket at_once = stream_client(server.server_address);
  at_once.sendall("partial");
  at_once.shutdown(SHUT_WR);
  EXPECT_EQ(read_all(at_once), "partial") << "the last line, unterminated, is served";
  Socket later = stream_client(server.server_address);
  later.sendall("late");
  EXPECT_TRUE(wait_until([&] { return server.park_counters().parked == 1; }));
  later.shutdown(SHUT_WR);
  EXPECT_EQ(read_all(later), "late") << "the end of input wakes the parked partial line";
  EXPECT_EQ(server.park_counters().dropped, 0u);
  t.stop();
  server.server_close();
}

namespace {
// A Unix pool of one worker and no queue, with the given overload policy and a gated handler
// (says "started", waits for the gate, echoes a line); its hook counts and answers "busy".
struct OverloadPool : ss::ThreadPoolUnixStreamServer {
  OverloadPool(const ss::Address& addr, Gate& gate, ss::Overload policy)
      : ss::ThreadPoolUnixStreamServer(addr, gated_echo(gate)) {
    max_workers = 1;
    max_queued = 0;
    overload = policy;
  }
  std::atomic<int> hooked{0};
  void handle_overload(ss::Request& request, const ss::Address&) override {
    ++hooked;
    request.connection.sendall("busy\n");
    shutdown_request(request);
  }
};

// The only worker is held; a silent client is parked; then it sends its line. It must meet
// the overload policy like a new connection (before, it was queued past max_queued).
void parked_then_ready_meets_the_policy(ss::Overload policy) {
  testutil::TempDir dir;
  Gate gate;
  OverloadPool server(ss::Address::unix_path(dir.file("busy")), gate, policy);
  ServerThread t(server);
  Socket held = stream_client(server.server_address);
  held.sendall("a\n");
  EXPECT_EQ(read_line(held), "started\n");
  Socket parked = stream_client(server.server_address);
  EXPECT_TRUE(wait_until([&] { return server.park_counters().parked == 1; }));
  parked.sendall("b\n");
  if (policy == ss::Overload::refuse) {
    EXPECT_TRUE(wait_until([&] { return server.counters().refused == 1; }, 5s))
        << "refused: " << server.counters().refused << ", queued: " << server.counters().queued;
    // Closed with its line unread: end of input, or (Unix sockets) a reset.
    std::string got;
    try {
      got = read_all(parked);
    } catch (const ss::connection_reset_error&) {
    }
    EXPECT_EQ(got, "") << "a refused connection is closed";
  } else {
    EXPECT_EQ(read_line(parked), "busy\n") << "handle_overload answered it";
    EXPECT_EQ(server.hooked.load(), 1);
  }
  EXPECT_EQ(server.counters().queued, 0u) << "nothing queued past max_queued 0";
  gate.release();
  EXPECT_EQ(read_line(held), "a\n") << "the held request goes on";
  t.stop();
  server.server_close();
}
}  // namespace

TEST(ThreadPoolParking, AParkedRequestThatBecomesReadyMeetsTheRefusePolicy) {
  parked_then_ready_meets_the_policy(ss::Overload::refuse);
}

TEST(ThreadPoolParking, AParkedRequestThatBecomesReadyMeetsTheHookPolicy) {
  parked_then_ready_meets_the_policy(ss::Overload::hook);
}

TEST(ThreadPoolParking, NothingParksAfterServerClose) {
  // A worker still admitting a connection when server_close runs must not park it in a set
  // nobody watches any more (it stayed open until park_timeout, or for ever): it is closed.
  EchoPool<ss::ThreadPoolUnixStreamServer> pool;
  auto& server = pool.server;
  {
    ServerThread t(server);
    EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
    Socket silent = stream_client(server.server_address);
    EXPECT_TRUE(wait_until([&] { return server.park_counters().parked == 1; }));
    t.stop();
  }
  server.server_close();
  auto [client, end] = ss::socketpair(AF_UNIX, SOCK_STREAM);
  client.settimeout(5.0);
  ss::Request request;
  request.connection = std::move(end);
  server.process_request(request, server.server_address);  // silent: it would park
  EXPECT_EQ(read_all(client), "") << "closed at once, not parked";
  EXPECT_EQ(server.park_counters().parked, 0u);
}

namespace {
// A non-blocking connect to `addr` (loopback: it completes at once or soon after).
Socket connect_nowait(const ss::Address& addr) {
  Socket s(AF_INET, SOCK_STREAM);
  s.settimeout(0s);
  (void)s.connect_ex(addr);
  return s;
}
// Sends `data` on a socket whose connect may still be under way; bounded to 10 s.
bool send_when_connected(Socket& s, std::string_view data) {
  for (int i = 0; i < 1000; ++i) {
    try {
      if (s.send(data) == data.size()) return true;
    } catch (const ss::socket_error&) {
    }
    pollfd p{s.fileno(), POLLOUT, 0};
    ::poll(&p, 1, 10);
  }
  return false;
}
}  // namespace

TEST(ThreadPoolParking, TenThousandSilentAndAThousandTricklingClientsDoNotStopAWellBehavedOne) {
  // Issue 9's flood: 10,000 clients that connect and send nothing, 1,000 that send a byte now
  // and then, and a well-behaved client must be answered (the issue asks for under 1 s; the
  // bound here is 10 s, against a hang; the time is recorded as a property). A default pool:
  // the silent ones are parked, and each trickler's handler, asleep in readline, hands its
  // worker's place on (max_threads). Both ends live in this process, so the count is scaled to
  // the hard descriptor limit when it is below 2 x 11,000 + a margin (said below).
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit raised = saved;
  raised.rlim_cur = saved.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &raised), 0);
  struct Restore {
    rlimit limit;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
  } restore{saved};
  const std::size_t room = raised.rlim_cur == RLIM_INFINITY ? 24000 : raised.rlim_cur;
  const std::size_t total = std::min<std::size_t>(11000, (room - 1000) / 2);
  if (total < 1100) GTEST_SKIP() << "descriptor limit " << room << " too low";
  const std::size_t silent_count = total * 10 / 11;
  const std::size_t trickle_count = total - silent_count;
  RecordProperty("silent_clients", static_cast<int>(silent_count));
  RecordProperty("trickling_clients", static_cast<int>(trickle_count));
  if (total < 11000)
    std::printf("scaled down to %zu silent + %zu trickling clients\n", silent_count, trickle_count);

  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>());
  if (server.max_threads < trickle_count + server.max_workers) {
    GTEST_SKIP() << "the default max_threads here, " << server.max_threads
                 << " (from this process's limits: memory / 8 MiB stacks, RLIMIT_NPROC / 2), "
                    "is below a thread per trickler";
  }
  ServerThread t(server);
  std::vector<Socket> silent;
  std::vector<Socket> trickle;
  silent.reserve(silent_count);
  trickle.reserve(trickle_count);
  for (std::size_t i = 0; i < silent_count; ++i)
    silent.push_back(connect_nowait(server.server_address));
  for (std::size_t i = 0; i < trickle_count; ++i)
    trickle.push_back(connect_nowait(server.server_address));
  std::size_t trickled = 0;
  for (Socket& s : trickle) trickled += send_when_connected(s, "x") ? 1 : 0;
  EXPECT_EQ(trickled, trickle_count);

  const auto probe = [&](const char* when) {
    const auto start = std::chrono::steady_clock::now();
    Socket good = stream_client(server.server_address, 10s);  // a sanitizer build: 2 s here
    good.sendall(kTestStr);
    EXPECT_EQ(read_line(good), kTestStr) << when;
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("well-behaved client %s: answered in %.1f ms (parked %zu, busy %zu, threads %zu)\n",
                when, ms, server.park_counters().parked, server.counters().current,
                server.worker_count());
    return ms;
  };
  RecordProperty("first_probe_ms", static_cast<int>(probe("with the flood connected")));
  // Wait for most of them to be accepted and parked (TCP_DEFER_ACCEPT holds silent ones ~1 s).
  EXPECT_TRUE(wait_until([&] { return server.park_counters().total >= total * 9 / 10; }, 30s))
      << "parked in all: " << server.park_counters().total;
  for (Socket& s : trickle) (void)send_when_connected(s, "y");  // the next trickle
  RecordProperty("second_probe_ms", static_cast<int>(probe("with the flood parked")));
  RecordProperty("threads", static_cast<int>(server.worker_count()));
  EXPECT_LE(server.worker_count(), server.max_threads);
  EXPECT_LE(server.counters().current, trickle_count + 1)
      << "only the tricklers' handlers are running: the silent clients hold no thread";
  silent.clear();
  trickle.clear();
  t.stop();
  server.server_close();
}
