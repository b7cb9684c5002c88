// Issue 14, "Bad input: 10,000 idle connections": a coroutine server (start_server, one reactor
// in its own thread) holds 10,000 connections that send nothing, answers a fresh client while
// they are open, then answers every one of them. Both ends of each connection are in this
// process, so it needs more than 20,000 descriptors: the soft RLIMIT_NOFILE is raised to the
// hard one (and the hard one to 21,000 when it is lower and the process may: root), and the
// test skips (saying why) when it stays below 21,000.
// SOCKETSERVER_IDLE_CONNECTIONS=<n> runs it with n connections instead (a smaller machine).
// The RSS growth per connection is printed (of the whole process: clients and server), not
// asserted. Skipped under TSan, where 10,000 handler tasks take too long.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "socketserver/asyncio_streams.hpp"

namespace {

namespace ss = socketserver;
namespace aio = socketserver::asyncio;
using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_THREAD__)
constexpr bool kUnderTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kUnderTsan = true;
#else
constexpr bool kUnderTsan = false;
#endif
#else
constexpr bool kUnderTsan = false;
#endif

// VmRSS of this process in KiB (0 when /proc does not say).
long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
    std::getline(in, key);
  }
  return 0;
}

// A blocking client of 127.0.0.1:port with 10 s receive and send timeouts; -1 on failure.
int connect_client(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& data) {
  return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

// Reads one line (up to 200 bytes); "" on timeout or end.
std::string recv_line(int fd) {
  std::string line;
  char c = 0;
  while (line.size() < 200 && ::recv(fd, &c, 1, 0) == 1) {
    line += c;
    if (c == '\n') break;
  }
  return line;
}

// Polls `done` every millisecond until it holds or `limit` passes.
template <class F>
bool wait_until(F done, std::chrono::seconds limit) {
  const auto end = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct Fds {
  std::vector<int> fds;
  Fds() = default;
  Fds(const Fds&) = delete;
  Fds& operator=(const Fds&) = delete;
  ~Fds() {
    for (int fd : fds) ::close(fd);
  }
};

TEST(AsyncioIdle, TenThousandIdleConnectionsAreHeldAndEachIsAnswered) {
  if (kUnderTsan) GTEST_SKIP() << "10,000 handler tasks are too slow under TSan";
  int connections = 10000;
  if (const char* n = std::getenv("SOCKETSERVER_IDLE_CONNECTIONS"); n != nullptr) {
    connections = std::atoi(n);
  }
  ASSERT_GT(connections, 0);
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  const rlim_t need = static_cast<rlim_t>(2 * connections + 1000);
  const rlimit saved = rl;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
    // A privileged process (CAP_SYS_RESOURCE, e.g. root in CI) may raise the hard limit too.
    rlimit raised{need, need};
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      GTEST_SKIP() << "the hard RLIMIT_NOFILE is " << rl.rlim_max << ", below the " << need
                   << " descriptors " << connections
                   << " connections with both ends in this process need (and it cannot be "
                      "raised here: EPERM)";
    }
    rl = raised;
  }
  rl.rlim_cur = rl.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &rl), 0);
  struct Restore {
    rlimit limit;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
  } restore{saved};

  std::atomic<int> started{0};
  auto handle = [&started](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    started.fetch_add(1, std::memory_order_relaxed);
    for (;;) {
      std::string line = co_await reader.readline();
      if (line.empty()) break;
      writer.write("echo " + line);
      co_await writer.drain();
    }
  };
  ss::Reactor reactor;
  ss::ListenOptions options;
  options.backlog = 4096;
  aio::Server server = aio::start_server(reactor, handle, "127.0.0.1", 0, options);
  const int port = server.address().port();
  ASSERT_NE(port, 0);
  std::thread loop([&reactor] { reactor.run(); });
  struct Stop {
    ss::Reactor& reactor;
    std::thread& loop;
    ~Stop() {
      reactor.stop();
      loop.join();
    }
  } stop{reactor, loop};

  const long rss_before = rss_kib();
  const auto t0 = Clock::now();
  Fds idle;
  idle.fds.reserve(static_cast<std::size_t>(connections));
  constexpr int kBatch = 500;
  while (static_cast<int>(idle.fds.size()) < connections) {
    const int batch = std::min(kBatch, connections - static_cast<int>(idle.fds.size()));
    for (int i = 0; i < batch; ++i) {
      const int fd = connect_client(port);
      ASSERT_GE(fd, 0) << "connection " << idle.fds.size() << ": " << std::strerror(errno);
      idle.fds.push_back(fd);
    }
    // Let the server accept this batch before the next one.
    const int want = static_cast<int>(idle.fds.size());
    ASSERT_TRUE(wait_until([&] { return started.load() >= want; }, std::chrono::seconds(30)))
        << started.load() << " of " << want << " handlers started";
  }
  const auto opened = Clock::now();
  const long rss_after = rss_kib();

  // A fresh client is answered while every idle one is open.
  {
    Fds fresh;
    fresh.fds.push_back(connect_client(port));
    ASSERT_GE(fresh.fds[0], 0);
    ASSERT_TRUE(send_all(fresh.fds[0], "fresh\n"));
    EXPECT_EQ(recv_line(fresh.fds[0]), "echo fresh\n");
  }
  const auto fresh_done = Clock::now();

  // Then every idle connection is answered.
  for (std::size_t i = 0; i < idle.fds.size(); ++i) {
    ASSERT_TRUE(send_all(idle.fds[i], std::to_string(i) + "\n")) << "connection " << i;
  }
  int answered = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (std::size_t i = 0; i < idle.fds.size() && Clock::now() < deadline; ++i) {
    if (recv_line(idle.fds[i]) == "echo " + std::to_string(i) + "\n") ++answered;
  }
  EXPECT_EQ(answered, connections);
  const auto all_done = Clock::now();

  using ms = std::chrono::milliseconds;
  std::printf(
      "[ idle     ] %d connections opened in %lld ms; fresh client answered in %lld ms; all "
      "answered in %lld ms\n"
      "[ idle     ] VmRSS of the whole process (clients and server): %ld KiB before, %ld KiB "
      "after, %.2f KiB per connection\n",
      connections, static_cast<long long>(std::chrono::duration_cast<ms>(opened - t0).count()),
      static_cast<long long>(std::chrono::duration_cast<ms>(fresh_done - opened).count()),
      static_cast<long long>(std::chrono::duration_cast<ms>(all_done - fresh_done).count()),
      rss_before, rss_after,
      static_cast<double>(rss_after - rss_before) / static_cast<double>(connections));
}

}  // namespace
