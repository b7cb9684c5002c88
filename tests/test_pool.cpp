// ThreadPoolMixIn and the request counters every server keeps.
#include <gtest/gtest.h>

#include <latch>

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
  server.max_workers = 1;
  server.max_queued = 1;
  ServerThread t(server);
  Socket busy = stream_client(server.server_address);
  EXPECT_EQ(read_line(busy), "started\n");
  Socket queued = stream_client(server.server_address);
  EXPECT_TRUE(wait_until([&] { return server.counters().queued == 1; }));
  Socket waiting = stream_client(server.server_address);  // stays in the listen backlog
  std::this_thread::sleep_for(100ms);
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
