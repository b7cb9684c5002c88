// ThreadPoolMixIn's growth: a worker whose handler sleeps for its client hands its place on
// (max_threads, spare_thread_linger), and the socket layer's announcement it stands on
// (detail/peer_wait.hpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server_test_util.hpp"
#include "socketserver/detail/peer_wait.hpp"
#include "socketserver/ssl.hpp"

namespace {

using namespace stu;
using ss::Socket;

// ---- the announcement --------------------------------------------------------------------

struct CountingObserver final : ss::detail::PeerWaitObserver {
  std::atomic<int> waits{0};
  void peer_wait_begins() noexcept override { ++waits; }
};

std::pair<Socket, Socket> stream_pair() { return ss::socketpair(AF_UNIX, SOCK_STREAM); }

TEST(PeerWait, ACallWhoseDataIsThereAnnouncesNothing) {
  auto [a, b] = stream_pair();
  CountingObserver observer;
  const ss::detail::PeerWaitScope scope(&observer);
  b.sendall("ready");
  EXPECT_EQ(a.recv(16), "ready");
  a.sendall("room enough");
  EXPECT_EQ(a.send("x"), 1u);
  EXPECT_EQ(observer.waits.load(), 0);
}

TEST(PeerWait, ABlockingReceiveThatMustWaitIsAnnouncedOnceAndGetsItsData) {
  auto [a, b] = stream_pair();
  CountingObserver observer;
  std::thread later([&b = b, &observer] {
    // Sends once the receiver has announced its wait (so the data cannot be there first).
    (void)wait_until([&] { return observer.waits.load() == 1; });
    b.sendall("late");
  });
  std::string got;
  {
    const ss::detail::PeerWaitScope scope(&observer);
    got = a.recv(16);  // a blocking socket (no timeout): the wait is announced, then made
  }
  later.join();
  EXPECT_EQ(got, "late");
  EXPECT_EQ(observer.waits.load(), 1);
}

TEST(PeerWait, AReceiveWithMsgWaitallStillGetsAllItAskedFor) {
  // A first try without waiting would return the 3 bytes there: the wait is found by a poll
  // instead, and the call is the blocking one it always was.
  auto [a, b] = stream_pair();
  CountingObserver observer;
  b.sendall("abc");
  std::thread later([&b = b, &observer] {
    (void)wait_until([&] { return observer.waits.load() == 0; });
    std::this_thread::sleep_for(50ms);
    b.sendall("defghij");
  });
  std::string got;
  {
    const ss::detail::PeerWaitScope scope(&observer);
    got = a.recv(10, MSG_WAITALL);
  }
  later.join();
  EXPECT_EQ(got, "abcdefghij");
  EXPECT_EQ(observer.waits.load(), 0) << "3 bytes were there: poll found the socket readable";
  std::thread again([&b = b, &observer] {
    (void)wait_until([&] { return observer.waits.load() == 1; });
    b.sendall("0123456789");
  });
  {
    const ss::detail::PeerWaitScope scope(&observer);
    got = a.recv(10, MSG_WAITALL);
  }
  again.join();
  EXPECT_EQ(got, "0123456789");
  EXPECT_EQ(observer.waits.load(), 1) << "nothing there: announced, then waited for all ten";
}

TEST(PeerWait, TheCallersOwnDontwaitIsNotAnnounced) {
  auto [a, b] = stream_pair();
  CountingObserver observer;
  const ss::detail::PeerWaitScope scope(&observer);
  EXPECT_THROW((void)a.recv(16, MSG_DONTWAIT), ss::blocking_io_error);
  EXPECT_EQ(observer.waits.load(), 0);
}

TEST(PeerWait, AWaitUnderATimeoutIsAnnounced) {
  auto [a, b] = stream_pair();
  a.settimeout(0.05);
  CountingObserver observer;
  const ss::detail::PeerWaitScope scope(&observer);
  EXPECT_THROW((void)a.recv(16), ss::timeout_error);
  EXPECT_EQ(observer.waits.load(), 1);
}

// Reads `size` bytes from `b` (once the writer has announced a wait), on a thread joined by
// the destructor.
class Drain {
 public:
  Drain(Socket& b, CountingObserver& observer, std::size_t size)
      : thread_([&b, &observer, size, this] {
          (void)wait_until([&] { return observer.waits.load() >= 1; });
          b.settimeout(10s);
          while (drained < size) {
            const std::string part = b.recv(1 << 16);
            if (part.empty()) break;
            drained += part.size();
          }
        }) {}
  ~Drain() { thread_.join(); }
  Drain(const Drain&) = delete;
  Drain& operator=(const Drain&) = delete;
  std::atomic<std::size_t> drained{0};

 private:
  std::thread thread_;
};

TEST(PeerWait, ASendallIntoAFullWindowIsAnnounced) {
  auto [a, b] = stream_pair();
  CountingObserver observer;
  const std::string big(4u << 20, 'z');  // far beyond a socketpair's buffers
  {
    Drain drain(b, observer, big.size());
    {
      const ss::detail::PeerWaitScope scope(&observer);
      a.sendall(big);
    }
    EXPECT_TRUE(wait_until([&] { return drain.drained.load() == big.size(); }))
        << "every byte arrived: " << drain.drained.load();
  }
  EXPECT_GE(observer.waits.load(), 1);
}

TEST(PeerWait, ABlockingSendIntoAFullWindowStillSendsItAll) {
  // Python's send may send part; a blocking send on Linux hands the kernel it all, and a first
  // try without waiting must not change that.
  auto [a, b] = stream_pair();
  CountingObserver observer;
  const std::string big(4u << 20, 's');
  std::size_t sent = 0;
  {
    Drain drain(b, observer, big.size());
    {
      const ss::detail::PeerWaitScope scope(&observer);
      sent = a.send(big);
    }
    EXPECT_TRUE(wait_until([&] { return drain.drained.load() == big.size(); }));
  }
  EXPECT_EQ(sent, big.size());
  EXPECT_GE(observer.waits.load(), 1);
}

TEST(PeerWait, ABlockingTlsReadIsAnnouncedBeforeOpenSslSleepsInIt) {
  const ss::SelfSigned cert = ss::make_self_signed_certificate({"localhost"});
  ss::SSLContext server_context(ss::PROTOCOL_TLS_SERVER);
  server_context.load_cert_chain_pem(cert.cert_pem, cert.key_pem);
  ss::SSLContext client_context(ss::PROTOCOL_TLS_CLIENT);
  client_context.load_verify_locations("", "", cert.cert_pem);
  auto [a, b] = stream_pair();
  std::optional<ss::SSLSocket> server;
  std::thread handshake([&, a = std::move(a)]() mutable {
    server.emplace(server_context.wrap_socket(std::move(a), true));
  });
  ss::SSLSocket client = client_context.wrap_socket(std::move(b), false, "localhost");
  handshake.join();
  ASSERT_TRUE(server.has_value());
  CountingObserver observer;
  std::thread later([&] {
    (void)wait_until([&] { return observer.waits.load() == 1; });
    client.sendall("over tls");
  });
  std::string got;
  {
    const ss::detail::PeerWaitScope scope(&observer);
    got = server->recv(64);  // a blocking SSLSocket: nothing there yet
  }
  later.join();
  EXPECT_EQ(got, "over tls");
  EXPECT_EQ(observer.waits.load(), 1);
  EXPECT_EQ(server->gettimeout(), std::nullopt);
  EXPECT_EQ(::fcntl(server->fileno(), F_GETFL) & O_NONBLOCK, 0)
      << "the descriptor is blocking again after the call";
}

TEST(PeerWait, TheScopeRestoresTheObserverBefore) {
  CountingObserver outer;
  CountingObserver inner;
  EXPECT_EQ(ss::detail::peer_wait_observer(), nullptr);
  {
    const ss::detail::PeerWaitScope a(&outer);
    {
      const ss::detail::PeerWaitScope b(&inner);
      EXPECT_EQ(ss::detail::peer_wait_observer(), &inner);
    }
    EXPECT_EQ(ss::detail::peer_wait_observer(), &outer);
  }
  EXPECT_EQ(ss::detail::peer_wait_observer(), nullptr);
}

// ---- the pool ------------------------------------------------------------------------------

// `n` clients that each send a partial line: their handlers wait in readline.
std::vector<Socket> tricklers(const ss::Address& address, int n) {
  std::vector<Socket> clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(stream_client(address));
    clients.back().sendall("x");
  }
  return clients;
}

TEST(ThreadPoolGrowth, HandlersWaitingOnTricklingClientsDoNotHoldThePool) {
  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>());
  server.max_workers = 2;
  ServerThread t(server);
  std::vector<Socket> slow = tricklers(server.server_address, 6);
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 6; }))
      << "each trickler's handler waits in readline: " << server.counters().current;
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr)
      << "a well-behaved client is answered while six handlers wait";
  EXPECT_GE(server.worker_count(), 7u) << "a thread per waiting handler, and one free";
  for (Socket& s : slow) s.sendall("y\n");
  for (Socket& s : slow) EXPECT_EQ(read_line(s), "xy\n") << "the tricklers are served too";
  t.stop();
  server.server_close();
  EXPECT_EQ(server.worker_count(), 0u);
}

TEST(ThreadPoolGrowth, WithMaxThreadsAtMaxWorkersWaitingHandlersHoldThePoolAsBefore) {
  // The opt-out, and what growth prevents: two tricklers hold both workers, and a third
  // client's request waits unanswered until one of them finishes.
  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>());
  server.max_workers = 2;
  server.max_threads = 2;
  ServerThread t(server);
  std::vector<Socket> slow = tricklers(server.server_address, 2);
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 2; }));
  Socket good = stream_client(server.server_address, 0.5s);
  good.sendall(kTestStr);
  EXPECT_THROW((void)good.recv(64), ss::timeout_error) << "no worker is free for it";
  EXPECT_EQ(server.worker_count(), 2u);
  slow[0].sendall("\n");
  EXPECT_EQ(read_line(slow[0]), "x\n");
  good.settimeout(10s);
  EXPECT_EQ(read_line(good), kTestStr) << "served once a worker is free";
  slow[1].sendall("\n");
  EXPECT_EQ(read_line(slow[1]), "x\n");
  t.stop();
  server.server_close();
}

TEST(ThreadPoolGrowth, NeverMoreThreadsThanMaxThreads) {
  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>());
  server.max_workers = 2;
  server.max_threads = 4;
  ServerThread t(server);
  std::vector<Socket> slow = tricklers(server.server_address, 10);
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 4; }))
      << "four handlers wait, the other six connections queue: " << server.counters().current;
  std::size_t most = 0;
  for (int i = 0; i < 40; ++i) {  // 200 ms of watching
    most = std::max(most, server.worker_count());
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(most, 4u);
  EXPECT_EQ(server.counters().current, 4u);
  for (Socket& s : slow) s.sendall("\n");
  for (Socket& s : slow) EXPECT_EQ(read_line(s), "x\n") << "every queued one is served in turn";
  t.stop();
  server.server_close();
}

TEST(ThreadPoolGrowth, SpareThreadsEndAfterTheLinger) {
  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>());
  server.max_workers = 2;
  server.spare_thread_linger = 0.2s;
  ServerThread t(server);
  {
    std::vector<Socket> slow = tricklers(server.server_address, 5);
    EXPECT_TRUE(wait_until([&] { return server.worker_count() >= 6; }))
        << "grown: " << server.worker_count();
  }  // the tricklers close: their handlers see the end of input and return
  EXPECT_TRUE(wait_until([&] { return server.worker_count() == 2; }))
      << "back to max_workers: " << server.worker_count();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  EXPECT_EQ(server.worker_count(), 2u) << "quick requests need no more threads";
  // It grows again from the slots left: the threads that ended were joined and replaced.
  std::vector<Socket> again = tricklers(server.server_address, 4);
  EXPECT_TRUE(wait_until([&] { return server.worker_count() >= 5; }));
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  again.clear();
  t.stop();
  server.server_close();
  EXPECT_EQ(server.worker_count(), 0u);
}

TEST(ThreadPoolGrowth, TheLastFreeThreadStaysWhileEveryOtherWaitsOnItsClient) {
  // Every worker asleep for its client, announced once, when a free thread was there: that
  // free thread, though beyond max_workers and idle past the linger, must not end, or nobody
  // is left for the listener (a new client would wait for some trickler to act).
  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>());
  server.max_workers = 1;
  server.spare_thread_linger = 0.1s;
  ServerThread t(server);
  std::vector<Socket> slow = tricklers(server.server_address, 3);
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 3; }));
  EXPECT_TRUE(wait_until([&] { return server.worker_count() == 4; }));
  std::this_thread::sleep_for(1500ms);  // the linger, and the idle threads' one-second look
  EXPECT_EQ(server.worker_count(), 4u) << "three asleep for their clients, one free";
  Socket good = stream_client(server.server_address, 5s);
  good.sendall(kTestStr);
  EXPECT_EQ(read_line(good), kTestStr) << "the free thread answers a new client";
  slow.clear();
  t.stop();
  server.server_close();
}

TEST(ThreadPoolGrowth, OverTlsTricklingClientsDoNotHoldThePool) {
  // End to end (each TLS handshake announces its wait too; the read after it is tested above,
  // PeerWait.ABlockingTlsReadIsAnnouncedBeforeOpenSslSleepsInIt).
  const ss::SelfSigned cert = ss::make_self_signed_certificate({"127.0.0.1"});
  auto server_context = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_SERVER);
  server_context->load_cert_chain_pem(cert.cert_pem, cert.key_pem);
  ss::ServerOptions options;
  options.ssl_context = server_context;
  ss::ThreadPoolTCPServer server(local0(), ss::handler<EchoStream>(), options);
  server.max_workers = 2;
  ServerThread t(server);
  ss::SSLContext client(ss::PROTOCOL_TLS_CLIENT);
  client.load_verify_locations("", "", cert.cert_pem);
  std::vector<ss::SSLSocket> slow;
  for (int i = 0; i < 4; ++i) {  // handshake done, then part of a line
    slow.push_back(client.wrap_socket(stream_client(server.server_address), false, "127.0.0.1"));
    slow.back().sendall("x");
  }
  EXPECT_TRUE(wait_until([&] { return server.counters().current == 4; }))
      << "four handlers wait in readline: " << server.counters().current;
  ss::SSLSocket good =
      client.wrap_socket(stream_client(server.server_address, 5s), false, "127.0.0.1");
  good.sendall(kTestStr);
  std::string reply;
  for (int i = 0; i < 100 && reply.find('\n') == std::string::npos; ++i) {
    const std::string part = good.recv(64);
    if (part.empty()) break;
    reply += part;
  }
  EXPECT_EQ(reply, kTestStr) << "answered over TLS while four handlers wait";
  EXPECT_GE(server.worker_count(), 5u);
  slow.clear();
  t.stop();
  server.server_close();
}

TEST(ThreadPoolGrowth, KeepAliveClientsBeyondMaxWorkersAreAllServed) {
  // A handler that serves lines until its client closes (the book's, looping): with a fixed
  // pool the fifth persistent client would wait for one of the first four to leave.
  ss::ThreadPoolTCPServer server(
      local0(), ss::handler([](ss::StreamRequestHandler& self) {
        for (int i = 0; i < 1000; ++i) {
          const std::string line = self.rfile.readline();
          if (line.empty()) return;
          self.wfile.write(line);
        }
      }));
  server.max_workers = 4;
  ServerThread t(server);
  std::vector<Socket> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(stream_client(server.server_address));
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const std::string line = "client " + std::to_string(i) + " round " +
                               std::to_string(round) + "\n";
      clients[i].sendall(line);
      EXPECT_EQ(read_line(clients[i]), line);
    }
  }
  clients.clear();
  t.stop();
  server.server_close();
}

TEST(ThreadPoolGrowth, AHandlerBlockedWritingToAClientThatNeverReadsHoldsNoOneElse) {
  // A peer that never reads: its handler sleeps in sendall; another client is still answered.
  ss::ThreadPoolTCPServer server(
      local0(), ss::handler([](ss::StreamRequestHandler& self) {
        const std::string line = self.rfile.readline();
        if (line == "flood\n") {
          const std::string chunk(1 << 20, 'f');
          for (int i = 0; i < 64; ++i) self.wfile.write(chunk);  // 64 MiB, far beyond buffers
          return;
        }
        self.wfile.write(line);
      }));
  server.max_workers = 1;
  ServerThread t(server);
  Socket deaf = stream_client(server.server_address);
  deaf.sendall("flood\n");
  EXPECT_TRUE(wait_until([&] { return testutil::bytes_unread(deaf.fileno()) > 0; }));
  EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr)
      << "the only worker sleeps writing to a client that never reads; another is answered";
  EXPECT_GE(server.worker_count(), 2u);
  deaf.close();  // unread bytes: a reset, and the writer's send fails (handle_error reports it)
  t.stop();
  server.server_close();
}

}  // namespace
