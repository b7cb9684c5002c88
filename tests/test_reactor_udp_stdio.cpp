// test_reactor_udp_stdio.cpp — UDP ports (DatagramProtocol), StandardIO over pipes and a
// regular file, and ReactorGroup (N reactors, one port, SO_REUSEPORT).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "reactor_test_util.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;
using rtu::ReactorThread;
using rtu::run_bounded;

// ---- UDP -------------------------------------------------------------------------------------

struct UdpEcho : ss::DatagramProtocol {
  std::atomic<int> starts{0};
  std::atomic<int> stops{0};
  std::atomic<int> received{0};
  void start_protocol() override { starts.fetch_add(1); }
  void stop_protocol() override { stops.fetch_add(1); }
  void datagram_received(std::string_view data, const ss::Address& addr) override {
    received.fetch_add(1);
    if (data == "close") {
      transport().lose_connection();
      return;
    }
    transport().write(data, addr);
  }
};

TEST(ReactorUdp, EchoStartAndStopProtocol) {
  ss::Reactor reactor;
  auto proto = std::make_shared<UdpEcho>();
  ss::ListeningPort& port = reactor.listen_udp(0, proto, "127.0.0.1");
  EXPECT_EQ(proto->starts.load(), 1);
  EXPECT_NE(port.get_host().port(), 0);
  ReactorThread loop(reactor);
  EXPECT_EQ(stu::dgram_roundtrip(port.get_host(), "dgram one"), "dgram one");
  EXPECT_EQ(stu::dgram_roundtrip(port.get_host(), "dgram two"), "dgram two");
  EXPECT_EQ(loop.call([&] { return proto->transport().get_host(); }), port.get_host());
  loop.call([&] { port.stop_listening(); });
  EXPECT_EQ(proto->stops.load(), 1);
  EXPECT_THROW(loop.call([&] { return proto->transport().get_host(); }), std::logic_error);
  loop.call([&] { port.stop_listening(); });  // twice: no effect
  EXPECT_EQ(proto->stops.load(), 1);
}

TEST(ReactorUdp, OversizedDatagramDroppedReportedNextServed) {
  ss::Reactor reactor;
  auto proto = std::make_shared<UdpEcho>();
  ss::ListeningPort& port = reactor.listen_udp(0, proto, "127.0.0.1", 100);
  stu::StderrCapture err;
  {
    ReactorThread loop(reactor);
    ss::Socket c(AF_INET, SOCK_DGRAM);
    c.settimeout(10s);
    c.sendto(std::string(200, 'x'), port.get_host());
    c.sendto(std::string(100, 'y'), port.get_host());  // exactly the limit: served whole
    c.sendto("small", port.get_host());
    EXPECT_EQ(c.recvfrom(65536).first, std::string(100, 'y'));
    EXPECT_EQ(c.recvfrom(65536).first, "small");
    EXPECT_EQ(proto->received.load(), 2);
  }
  const std::string text = err.stop();
  EXPECT_NE(text.find("dropped"), std::string::npos) << text;
  EXPECT_NE(text.find("200"), std::string::npos) << text;
}

// max_packet_size = SIZE_MAX (Python/Twisted take any value) used to wrap the receive buffer to
// 0 bytes; it is taken as the largest datagram, and the largest UDP/IPv4 datagram is served.
TEST(ReactorUdp, MaxPacketSizeSizeMaxNeitherWrapsNorOverflows) {
  ss::Reactor reactor;
  auto proto = std::make_shared<UdpEcho>();
  ss::ListeningPort& port = reactor.listen_udp(0, proto, "127.0.0.1", SIZE_MAX);
  ReactorThread loop(reactor);
  ss::Socket c(AF_INET, SOCK_DGRAM);
  c.settimeout(10s);
  const std::string largest(65507, 'z');
  c.sendto(largest, port.get_host());
  EXPECT_EQ(c.recvfrom(65536).first, largest);
  EXPECT_EQ(proto->received.load(), 1);
}

TEST(ReactorUdp, LoseConnectionFromTheProtocolThenStopListening) {
  // The protocol closes its own port; stop_listening on the port afterwards must be harmless.
  ss::Reactor reactor;
  auto proto = std::make_shared<UdpEcho>();
  ss::ListeningPort& port = reactor.listen_udp(0, proto, "127.0.0.1");
  ReactorThread loop(reactor);
  ss::Socket c(AF_INET, SOCK_DGRAM);
  c.sendto("close", port.get_host());
  ASSERT_TRUE(rtu::wait_until([&] { return proto->stops.load() == 1; }));
  loop.call([] {});  // one more loop iteration: the retired port is gone by now
  loop.call([&] { port.stop_listening(); });
  EXPECT_EQ(proto->stops.load(), 1);
}

// ---- StandardIO ------------------------------------------------------------------------------

struct Upper : ss::Protocol {
  struct State {
    std::mutex mu;
    std::string data;
    std::atomic<int> made{0};
    std::atomic<int> lost{0};
    bool clean = false;
    ss::Reactor* stop = nullptr;
  };
  explicit Upper(std::shared_ptr<State> s) : s_(std::move(s)) {}
  void connection_made() override { s_->made.fetch_add(1); }
  void data_received(std::string_view d) override {
    std::string up(d);
    for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      s_->data.append(d);
    }
    transport().write(up);
  }
  void connection_lost(const ss::Reason& r) override {
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      s_->clean = r.is_clean();
    }
    s_->lost.fetch_add(1);
    if (s_->stop) s_->stop->stop();
  }
  std::shared_ptr<State> s_;
};

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() { EXPECT_EQ(::pipe2(fd, O_CLOEXEC), 0); }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (fd[0] >= 0) ::close(fd[0]);
    fd[0] = -1;
  }
  void close_write() {
    if (fd[1] >= 0) ::close(fd[1]);
    fd[1] = -1;
  }
};

TEST(ReactorStdio, PipesInAndOutThenEof) {
  Pipe in;
  Pipe out;
  auto st = std::make_shared<Upper::State>();
  ss::Reactor reactor;
  ss::StandardIO stdio(std::make_unique<Upper>(st), reactor, in.fd[0], out.fd[1]);
  EXPECT_EQ(st->made.load(), 1);
  ReactorThread loop(reactor);
  ASSERT_EQ(::write(in.fd[1], "hello\n", 6), 6);
  EXPECT_EQ(rtu::read_fd(out.fd[0], 6), "HELLO\n");
  ASSERT_EQ(::write(in.fd[1], "again", 5), 5);
  EXPECT_EQ(rtu::read_fd(out.fd[0], 5), "AGAIN");
  EXPECT_EQ(st->lost.load(), 0);
  in.close_write();  // end of input
  ASSERT_TRUE(rtu::wait_until([&] { return st->lost.load() == 1; }));
  {
    std::lock_guard<std::mutex> lock(st->mu);
    EXPECT_TRUE(st->clean);
    EXPECT_EQ(st->data, "hello\nagain");
  }
  EXPECT_EQ(loop.call([&] { return reactor.connection_count(); }), 0u);
  loop.stop();
}

// Twisted's StandardIO: a stdout whose reader went away ends the connection (connectionLost with
// the write's error), it does not end the process (issue 9, item 3). In a child with SIGPIPE at
// SIG_DFL, where a SIGPIPE would kill it.
TEST(ReactorStdio, StdoutWithoutReaderEndsTheConnectionNotTheProcess) {
  EXPECT_CHILD_OK(testutil::run_in_child([]() -> std::string {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    Pipe in;
    Pipe out;
    out.close_read();
    auto st = std::make_shared<Upper::State>();
    ss::Reactor reactor;
    st->stop = &reactor;
    ss::StandardIO stdio(std::make_unique<Upper>(st), reactor, in.fd[0], out.fd[1]);
    if (::write(in.fd[1], "hello\n", 6) != 6) return "write to stdin failed";
    run_bounded(reactor, 10s);  // Upper writes "HELLO\n": EPIPE, connection_lost, stop
    if (st->lost.load() != 1) return "connection_lost was not called";
    std::lock_guard<std::mutex> lock(st->mu);
    if (st->clean) return "the lost connection is reported as a clean close";
    return "";
  }));
}

TEST(ReactorStdio, RegularFileAsStdin) {
  testutil::TempDir dir;
  const std::string path = dir.file("input.txt");
  const std::string content = testutil::pattern(300000);
  {
    std::ofstream f(path, std::ios::binary);
    f << content;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto st = std::make_shared<Upper::State>();
  ss::Reactor reactor;
  st->stop = &reactor;
  {
    Pipe sink;  // a reader for stdout so writes succeed
    ss::StandardIO stdio(std::make_unique<Upper>(st), reactor, fd, sink.fd[1]);
    std::thread drainer([&] { (void)rtu::read_fd(sink.fd[0], content.size(), 30s); });
    run_bounded(reactor, 30s);
    sink.close_write();
    drainer.join();
  }
  ::close(fd);
  EXPECT_EQ(st->lost.load(), 1);
  std::lock_guard<std::mutex> lock(st->mu);
  EXPECT_TRUE(st->data == content) << st->data.size() << " of " << content.size() << " bytes";
  EXPECT_TRUE(st->clean);
}

// ---- ReactorGroup ----------------------------------------------------------------------------

struct Owned : ss::Protocol {
  struct State {
    std::mutex mu;
    int connections = 0;
    int mixed = 0;  // connections whose callbacks ran in more than one thread
    std::set<std::thread::id> threads;
    std::atomic<int> lost{0};
  };
  explicit Owned(std::shared_ptr<State> s) : s_(std::move(s)) {}
  void connection_made() override { seen_.insert(std::this_thread::get_id()); }
  void data_received(std::string_view d) override {
    seen_.insert(std::this_thread::get_id());
    transport().write(d);
  }
  void connection_lost(const ss::Reason&) override {
    seen_.insert(std::this_thread::get_id());
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      ++s_->connections;
      if (seen_.size() != 1) ++s_->mixed;
      s_->threads.insert(*seen_.begin());
    }
    s_->lost.fetch_add(1);
  }
  std::shared_ptr<State> s_;
  std::set<std::thread::id> seen_;
};

// Runs `clients` echo exchanges against a group of `threads` reactors on one port.
void group_serves(bool share_one_factory) {
  constexpr int kThreads = 2;
  constexpr int kClients = 200;
  auto st = std::make_shared<Owned::State>();
  auto shared = ss::Factory::for_protocol<Owned>(st);
  // Reserve a port (bound, not listening, SO_REUSEPORT) so that every setup can listen on it at
  // the same time, with nothing ordering one setup before another.
  ss::Socket reserve(AF_INET, SOCK_STREAM);
  reserve.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  reserve.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  reserve.bind({"127.0.0.1", 0});
  const int port = reserve.getsockname().port();
  ss::ReactorGroup group(kThreads);
  EXPECT_EQ(group.size(), 2u);
  std::atomic<int> arrived{0};
  group.start([&](ss::Reactor& r, std::size_t) {
    std::shared_ptr<ss::Factory> factory =
        share_one_factory ? shared : ss::Factory::for_protocol<Owned>(st);
    ss::ListenOptions o = rtu::local_opts();
    o.reuse_port = true;
    // All setups call listen_tcp together (the factory is moved in: no reference count
    // traffic that would order one thread's use of it before the other's).
    arrived.fetch_add(1);
    for (int i = 0; i < 1000000 && arrived.load() < kThreads; ++i) std::this_thread::yield();
    r.listen_tcp(port, std::move(factory), o);
  });
  reserve.close();
  const ss::Address addr("127.0.0.1", port);
  for (int batch = 0; batch < kClients / 20; ++batch) {
    std::vector<ss::Socket> clients;
    for (int k = 0; k < 20; ++k) clients.push_back(stu::stream_client(addr));
    for (auto& c : clients) c.sendall("hi\n");
    for (auto& c : clients) EXPECT_EQ(stu::read_line(c), "hi\n");
  }
  EXPECT_TRUE(rtu::wait_until([&] { return st->lost.load() == kClients; }));
  group.stop();
  group.stop();  // idempotent
  for (std::size_t i = 0; i < group.size(); ++i) EXPECT_FALSE(group.reactor(i).running());
  std::lock_guard<std::mutex> lock(st->mu);
  EXPECT_EQ(st->connections, kClients);
  EXPECT_EQ(st->mixed, 0);
  EXPECT_EQ(st->threads.size(), 2u) << "the kernel sent every connection to one reactor";
}

TEST(ReactorGroup, TwoThreadsOnePortEachConnectionOwnedByOneThread) { group_serves(false); }

TEST(ReactorGroup, OneThreadSafeFactorySharedByAllThreads) {
  // The header allows "a factory per thread, or one that is thread-safe"; Factory::for_protocol
  // builds protocols without shared state, so sharing it must be race-free (run under TSan).
  group_serves(true);
}

TEST(ReactorGroup, SetupErrorIsRethrownAndEverythingJoins) {
  ss::ReactorGroup group(2);
  EXPECT_THROW(group.start([](ss::Reactor&, std::size_t i) {
                 if (i == 1) throw std::runtime_error("setup failed");
               }),
               std::runtime_error);
  group.stop();
}

}  // namespace
