// Issue 14, part 4: coroutine handlers on many cores. start_server(ReactorGroup&, ...) listens
// on one port from every reactor of the group (SO_REUSEPORT); each connection and its handler's
// coroutine stay on the reactor thread that accepted it. Tested: connections reach both
// reactors and no handler ever resumes on another thread; closing the group cancels every
// handler on every reactor and frees its frame; the same over TLS; a port that cannot be bound
// leaves nothing listening; ReactorGroup::call_in_each before and while the group runs, and its
// refusal from one of the group's own threads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "socketserver/asyncio_streams.hpp"
#include "socketserver/errors.hpp"
#include "socketserver/ssl.hpp"
#include "ssl_test_util.hpp"
#include "test_util.hpp"

namespace {

namespace ss = socketserver;
namespace aio = socketserver::asyncio;
using namespace std::chrono_literals;
using namespace testutil;

// What the handlers saw, shared by the reactor threads.
struct Seen {
  std::mutex mu;
  std::set<std::thread::id> threads;  // where handlers ran
  std::atomic<int> moved{0};          // resumptions on a thread other than the first
  std::atomic<int> frames{0};         // handler frames alive now
  std::atomic<int> cancelled{0};      // handlers that ended by CancelledError
};

// Counts a handler frame while it lives.
struct FrameCount {
  std::atomic<int>& n;
  explicit FrameCount(std::atomic<int>& count) : n(count) { n.fetch_add(1); }
  FrameCount(const FrameCount&) = delete;
  FrameCount& operator=(const FrameCount&) = delete;
  ~FrameCount() { n.fetch_sub(1); }
};

// Echoes lines with the handler's thread checked after every await.
aio::StreamHandler echo_on_one_thread(Seen& seen) {
  return [&seen](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    FrameCount frame(seen.frames);
    const std::thread::id home = std::this_thread::get_id();
    {
      std::lock_guard<std::mutex> lock(seen.mu);
      seen.threads.insert(home);
    }
    try {
      for (;;) {
        std::string line = co_await reader.readline();
        if (std::this_thread::get_id() != home) seen.moved.fetch_add(1);
        if (line.empty()) break;
        writer.write(line);
        co_await writer.drain();
        if (std::this_thread::get_id() != home) seen.moved.fetch_add(1);
      }
    } catch (const aio::CancelledError&) {
      seen.cancelled.fetch_add(1);
      throw;
    }
  };
}

ss::Socket connect_to(int port) {
  ss::Socket s(AF_INET, SOCK_STREAM);
  s.settimeout(10.0);
  s.connect({"127.0.0.1", port});
  return s;
}

TEST(AsyncioGroup, ConnectionsReachEveryReactorAndEachHandlerStaysOnItsThread) {
  Seen seen;
  ss::ReactorGroup group(2);
  group.start([](ss::Reactor&, std::size_t) {});
  aio::ServerGroup servers = aio::start_server(group, echo_on_one_thread(seen), "127.0.0.1", 0);
  const int port = servers.address().port();
  ASSERT_NE(port, 0);
  ASSERT_EQ(servers.size(), 2u);
  // 32 connections: all on one reactor has odds of 2^-31 (the kernel hashes the 4-tuple).
  constexpr int kClients = 32;
  std::vector<ss::Socket> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(connect_to(port));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kClients; ++i) {
      const std::string line = "client " + std::to_string(i) + " round " + std::to_string(round);
      clients[i].sendall(line + "\n");
      EXPECT_EQ(recv_exactly(clients[i], line.size() + 1), line + "\n") << i;
    }
  }
  for (auto& c : clients) c.close();
  EXPECT_TRUE(wait_until([&] { return seen.frames.load() == 0; })) << seen.frames.load();
  EXPECT_EQ(seen.moved.load(), 0) << "a handler resumed on another reactor's thread";
  std::lock_guard<std::mutex> lock(seen.mu);
  EXPECT_EQ(seen.threads.size(), 2u) << "the connections did not reach both reactors";
  EXPECT_EQ(seen.threads.count(std::this_thread::get_id()), 0u);
}

TEST(AsyncioGroup, CloseCancelsEveryHandlerOnEveryReactorAndFreesItsFrame) {
  Seen seen;
  ss::ReactorGroup group(2);
  group.start([](ss::Reactor&, std::size_t) {});
  aio::ServerGroup servers = aio::start_server(group, echo_on_one_thread(seen), "127.0.0.1", 0);
  const int port = servers.address().port();
  constexpr int kClients = 40;
  std::vector<ss::Socket> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(connect_to(port));
  ASSERT_TRUE(wait_until([&] { return seen.frames.load() == kClients; })) << seen.frames.load();
  servers.close();
  // close() returns once every reactor has closed its own: nothing is left to wait for.
  EXPECT_EQ(seen.frames.load(), 0);
  EXPECT_EQ(seen.cancelled.load(), kClients);
  for (auto& c : clients) EXPECT_EQ(drain(c), "");  // each connection ended (EOF or reset)
  // Nobody listens on the port any more.
  ss::Socket late(AF_INET, SOCK_STREAM);
  late.settimeout(5.0);
  EXPECT_THROW(late.connect({"127.0.0.1", port}), ss::connection_refused_error);
  servers.close();  // idempotent
  {
    std::lock_guard<std::mutex> lock(seen.mu);
    EXPECT_EQ(seen.threads.size(), 2u);
  }
}

TEST(AsyncioGroup, StartedBeforeTheGroupRunsAndDestroyedAfterItStopped) {
  Seen seen;
  ss::ReactorGroup group(2);
  aio::ServerGroup servers = aio::start_server(group, echo_on_one_thread(seen), "127.0.0.1", 0);
  const int port = servers.address().port();
  ASSERT_NE(port, 0);
  group.start([](ss::Reactor&, std::size_t) {});
  ss::Socket held = connect_to(port);
  held.sendall("one\n");
  EXPECT_EQ(recv_exactly(held, 4), "one\n");
  group.stop();                  // the loops end with the handler still waiting for a line
  servers = aio::ServerGroup();  // closed after the stop: in this thread, no loop runs
  EXPECT_EQ(seen.frames.load(), 0);
  EXPECT_EQ(drain(held), "");
}

// Each reactor's Server adds a shutdown trigger (its handlers cancelled when that reactor
// stops); closing the group removes them, so starting and closing groups of servers on running
// reactors does not grow them.
TEST(AsyncioGroup, StartingAndClosingRepeatedlyLeavesNoShutdownTriggerBehind) {
  Seen seen;
  ss::ReactorGroup group(2);
  group.start([](ss::Reactor&, std::size_t) {});
  std::mutex mu;
  std::vector<std::size_t> counts(group.size());
  const auto trigger_counts = [&] {
    group.call_in_each([&](ss::Reactor& reactor, std::size_t i) {
      std::lock_guard<std::mutex> lock(mu);
      counts[i] = reactor.shutdown_trigger_count();
    });
    return counts;
  };
  const std::vector<std::size_t> before = trigger_counts();
  for (int round = 0; round < 30; ++round) {
    aio::ServerGroup servers = aio::start_server(group, echo_on_one_thread(seen), "127.0.0.1", 0);
    std::vector<std::size_t> open = trigger_counts();
    for (std::size_t i = 0; i < open.size(); ++i) ASSERT_EQ(open[i], before[i] + 1) << round;
    ss::Socket c = connect_to(servers.address().port());  // a handler comes and goes
    c.sendall("hi\n");
    ASSERT_EQ(recv_exactly(c, 3), "hi\n") << round;
    servers.close();
    ASSERT_EQ(trigger_counts(), before) << "after round " << round;
  }
  EXPECT_EQ(seen.moved.load(), 0);
}

TEST(AsyncioGroup, OverTlsEachClientIsServedOnOneThread) {
  SSLTEST_NEED_PKI();
  Seen seen;
  ss::SSLContext server_ctx(ss::PROTOCOL_TLS_SERVER);
  server_ctx.load_cert_chain(ssltest::pki().server_cert, ssltest::pki().server_key);
  ss::ReactorGroup group(2);
  group.start([](ss::Reactor&, std::size_t) {});
  aio::ServerGroup servers =
      aio::start_server(group, echo_on_one_thread(seen), "127.0.0.1", 0, server_ctx);
  const int port = servers.address().port();
  ASSERT_NE(port, 0);
  // Clients on a loop of their own, in this thread.
  ss::Reactor reactor;
  constexpr int kClients = 24;
  std::atomic<int> answered{0};
  auto client = [&](int i) -> aio::Task<> {
    auto [reader, writer] = co_await aio::open_connection(
        reactor, "127.0.0.1", port,
        ss::create_default_context(ss::Purpose::SERVER_AUTH, ssltest::pki().ca_cert), "localhost");
    const std::string line = "tls client " + std::to_string(i) + "\n";
    writer.write(line);
    if (co_await reader.readline() == line) answered.fetch_add(1);
    writer.close();
    co_await writer.wait_closed();
  };
  auto main = [&]() -> aio::Task<> {
    std::vector<aio::Task<>> all;
    for (int i = 0; i < kClients; ++i) all.push_back(client(i));
    co_await aio::gather(std::move(all));
  };
  aio::run(reactor, aio::wait_for(main(), 30s), false);
  EXPECT_EQ(answered.load(), kClients);
  EXPECT_TRUE(wait_until([&] { return seen.frames.load() == 0; }));
  EXPECT_EQ(seen.moved.load(), 0);
  std::lock_guard<std::mutex> lock(seen.mu);
  EXPECT_EQ(seen.threads.size(), 2u) << "the TLS connections did not reach both reactors";
}

TEST(AsyncioGroup, APortThatCannotBeBoundThrowsAndLeavesNothingListening) {
  Seen seen;
  // A listener without SO_REUSEPORT holds the port: the group's first bind fails.
  ss::Socket holder = tcp_listener();
  const int port = holder.getsockname().port();
  ss::ReactorGroup group(2);
  group.start([](ss::Reactor&, std::size_t) {});
  EXPECT_THROW(aio::start_server(group, echo_on_one_thread(seen), "127.0.0.1", port),
               ss::socket_error);
  // The group goes on: a server on a free port serves.
  aio::ServerGroup servers = aio::start_server(group, echo_on_one_thread(seen), "127.0.0.1", 0);
  ss::Socket c = connect_to(servers.address().port());
  c.sendall("still\n");
  EXPECT_EQ(recv_exactly(c, 6), "still\n");
}

TEST(ReactorGroupCallInEach, RunsInEachLoopsThreadOrHereWhenNoneRuns) {
  ss::ReactorGroup group(2);
  std::vector<std::thread::id> where(2);
  group.call_in_each([&](ss::Reactor&, std::size_t i) { where[i] = std::this_thread::get_id(); });
  EXPECT_EQ(where[0], std::this_thread::get_id());
  EXPECT_EQ(where[1], std::this_thread::get_id());
  group.start([](ss::Reactor&, std::size_t) {});
  group.call_in_each([&](ss::Reactor& r, std::size_t i) {
    EXPECT_TRUE(r.running());
    where[i] = std::this_thread::get_id();
  });
  EXPECT_NE(where[0], std::this_thread::get_id());
  EXPECT_NE(where[1], std::this_thread::get_id());
  EXPECT_NE(where[0], where[1]);
  // The first exception comes back; every loop still ran its call.
  std::atomic<int> ran{0};
  EXPECT_THROW(group.call_in_each([&](ss::Reactor&, std::size_t i) {
    ran.fetch_add(1);
    if (i == 1) throw std::runtime_error("from reactor 1");
  }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 2);
}

TEST(ReactorGroupCallInEach, RefusedFromOneOfTheGroupsThreads) {
  ss::ReactorGroup group(1);
  group.start([](ss::Reactor&, std::size_t) {});
  std::atomic<int> refused{0};
  std::atomic<bool> done{false};
  group.reactor(0).call_from_thread([&] {
    try {
      group.call_in_each([](ss::Reactor&, std::size_t) {});
    } catch (const std::logic_error&) {
      refused.fetch_add(1);
    }
    done.store(true);
  });
  ASSERT_TRUE(wait_until([&] { return done.load(); }));
  EXPECT_EQ(refused.load(), 1);
}

}  // namespace
