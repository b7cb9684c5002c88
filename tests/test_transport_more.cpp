// test_transport_more.cpp — stream transports on the reactor, continued: exceptions thrown by
// protocol callbacks are contained, and 10 000 idle connections on one reactor.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "reactor_test_util.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;
using rtu::Echo;
using rtu::Log;
using rtu::ReactorThread;

// ---- exceptions in protocol callbacks --------------------------------------------------------

struct Thrower : ss::Protocol {
  enum class Where { made, data, lost };
  Thrower(std::shared_ptr<Log> log, Where where) : log_(std::move(log)), where_(where) {}
  void connection_made() override {
    log_->made.fetch_add(1);
    if (where_ == Where::made) throw std::runtime_error("boom-in-made");
  }
  void data_received(std::string_view d) override {
    if (where_ == Where::data && d.find("boom") != std::string_view::npos) {
      throw std::runtime_error("boom-in-data");
    }
    transport().write(d);
  }
  void connection_lost(const ss::Reason& r) override {
    log_->lost_with(r);
    if (where_ == Where::lost) throw std::runtime_error("boom-in-lost");
  }
  std::shared_ptr<Log> log_;
  Where where_;
};

void check_contained(Thrower::Where where, const std::string& marker) {
  ss::Reactor reactor;
  auto log = std::make_shared<Log>();
  ss::ListeningPort& port = reactor.listen_tcp(
      0, ss::Factory::for_protocol<Thrower>(log, where), rtu::local_opts());
  ss::ListeningPort& echo =
      reactor.listen_tcp(0, ss::Factory::for_protocol<Echo>(), rtu::local_opts());
  stu::StderrCapture err;
  std::string peer;
  {
    ReactorThread loop(reactor);
    ss::Socket before = stu::stream_client(echo.get_host());
    ss::Socket bad = stu::stream_client(port.get_host());
    peer = bad.getsockname().to_string();
    if (where == Thrower::Where::data) {
      bad.sendall("ok\n");
      EXPECT_EQ(stu::read_line(bad), "ok\n");
      bad.sendall("boom\n");
    }
    if (where != Thrower::Where::lost) {
      EXPECT_EQ(stu::read_all(bad), "");  // that connection is closed
    } else {
      bad.close();
    }
    EXPECT_TRUE(rtu::wait_until([&] { return log->lost.load() == 1; }));
    before.sendall("before\n");  // every other connection is served as before
    EXPECT_EQ(stu::read_line(before), "before\n");
    EXPECT_EQ(stu::stream_roundtrip(echo.get_host(), "after\n"), "after\n");
    EXPECT_TRUE(loop.call([] { return true; }));
  }
  const std::string text = err.stop();
  EXPECT_EQ(stu::count_of(text, marker), 1) << text;
  EXPECT_NE(text.find(peer), std::string::npos) << "no peer address " << peer << " in: " << text;
  EXPECT_EQ(log->lost.load(), 1);
}

TEST(ReactorExceptions, InDataReceivedReportedOnceAndConnectionClosed) {
  check_contained(Thrower::Where::data, "boom-in-data");
}
TEST(ReactorExceptions, InConnectionMadeContained) {
  check_contained(Thrower::Where::made, "boom-in-made");
}
TEST(ReactorExceptions, InConnectionLostContained) {
  check_contained(Thrower::Where::lost, "boom-in-lost");
}

// ---- connector retries -------------------------------------------------------------------------

struct Retrying : ss::ClientFactory {
  explicit Retrying(ss::Reactor& r) : reactor(r) { protocol = [] { return std::make_unique<Echo>(); }; }
  void started_connecting(ss::Connector&) override { ++started; }
  void client_connection_failed(ss::Connector& c, const ss::Reason&) override {
    ++failed;
    if (failed < 3) {
      c.connect();  // Twisted's connector.connect() from clientConnectionFailed
    } else {
      reactor.stop();
    }
  }
  void start_factory() override { ++starts; }
  void stop_factory() override { ++stops; }
  ss::Reactor& reactor;
  int started = 0;
  int failed = 0;
  int starts = 0;
  int stops = 0;
};

TEST(ReactorConnect, RetryFromClientConnectionFailed) {
  testutil::ClosedPort closed;
  ss::Reactor reactor;
  auto f = std::make_shared<Retrying>(reactor);
  ss::Connector& c = reactor.connect_tcp("127.0.0.1", closed.address().port(), f);
  rtu::run_bounded(reactor);
  EXPECT_EQ(f->failed, 3);
  EXPECT_EQ(f->started, 3);
  EXPECT_EQ(f->starts, 1);
  EXPECT_EQ(f->stops, 1);
  EXPECT_STREQ(c.state(), "disconnected");
}

// ---- many idle connections ---------------------------------------------------------------------

TEST(ReactorScale, TenThousandIdleConnectionsAllAcceptedAndAnswered) {
  const rlim_t limit = rtu::raise_nofile();
  // Two descriptors per connection in this process (client and server end) plus headroom.
  std::size_t n = 10000;
  if (limit < 2 * n + 100) n = limit > 300 ? (static_cast<std::size_t>(limit) - 300) / 2 : 0;
  if (n < 1000) GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << limit << " is too low";
  if (n < 10000) {
    std::cout << "[ note ] RLIMIT_NOFILE hard limit " << limit << " < 20100: scaled down to " << n
              << " connections\n";
  }
  RecordProperty("connections", static_cast<int>(n));
  ss::Reactor reactor;
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<Echo>(), rtu::local_opts());
  const int p = port.get_host().port();
  ReactorThread loop(reactor);
  const long rss_before = rtu::vm_rss_kib();
  std::vector<int> fds;
  fds.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = rtu::nb_connect(p);
    ASSERT_GE(fd, 0) << "connect #" << i << ": " << std::strerror(errno);
    fds.push_back(fd);
    if (fds.size() % 256 == 0) {  // let the reactor keep up with the listen queue
      ASSERT_TRUE(rtu::wait_until([&] { return reactor.connection_count() >= fds.size(); }, 60s))
          << reactor.connection_count() << " of " << fds.size();
    }
  }
  ASSERT_TRUE(rtu::wait_until([&] { return reactor.connection_count() == n; }, 60s))
      << reactor.connection_count() << " of " << n << " accepted";
  const long rss_after = rtu::vm_rss_kib();
  const double per_conn = static_cast<double>(rss_after - rss_before) * 1024.0 / n;
  std::cout << "[ note ] reactor RSS: " << rss_before << " KiB -> " << rss_after << " KiB, "
            << per_conn << " bytes per connection (" << n << " connections)\n";
  RecordProperty("rss_bytes_per_connection", static_cast<int>(per_conn));
  // Each one answers a request afterwards.
  for (int fd : fds) ASSERT_EQ(::send(fd, "ping\n", 5, MSG_NOSIGNAL), 5);
  std::vector<std::string> got(n);
  std::vector<pollfd> pending;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) {
    pending.push_back({fds[i], POLLIN, 0});
    index.push_back(i);
  }
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  for (int round = 0; round < 100000 && !pending.empty(); ++round) {
    if (std::chrono::steady_clock::now() > deadline) break;
    if (::poll(pending.data(), pending.size(), 100) < 0 && errno != EINTR) break;
    for (std::size_t k = 0; k < pending.size();) {
      bool done = false;
      if (pending[k].revents != 0) {
        char buf[64];
        const ssize_t r = ::recv(pending[k].fd, buf, sizeof buf, 0);
        if (r > 0) got[index[k]].append(buf, static_cast<std::size_t>(r));
        done = r <= 0 || got[index[k]].size() >= 5;
      }
      if (done) {
        pending[k] = pending.back();
        pending.pop_back();
        index[k] = index.back();
        index.pop_back();
      } else {
        ++k;
      }
    }
  }
  std::size_t answered = 0;
  for (const std::string& g : got) answered += g == "ping\n" ? 1 : 0;
  EXPECT_EQ(answered, n);
  for (int fd : fds) ::close(fd);
  EXPECT_TRUE(rtu::wait_until([&] { return reactor.connection_count() == 0; }, 60s));
}

}  // namespace
