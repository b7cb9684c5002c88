// test_transport.cpp — TCP and Unix stream transports on the reactor: echo, factories,
// connectors, write buffering and water marks, closing (lose/abort/half-close), producers,
// addresses, exceptions in protocol callbacks.
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "reactor_test_util.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;
using rtu::Echo;
using rtu::Log;
using rtu::ReactorThread;
using rtu::run_bounded;

// ---- echo and factories --------------------------------------------------------------------

TEST(ReactorTcp, EchoManyClients) {
  ss::Reactor reactor;
  auto log = std::make_shared<Log>();
  auto factory = ss::Factory::for_protocol<Echo>(log);
  ss::ListeningPort& port = reactor.listen_tcp(0, factory, rtu::local_opts());
  EXPECT_NE(port.get_host().port(), 0);
  ReactorThread loop(reactor);
  std::vector<ss::Socket> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(stu::stream_client(port.get_host()));
  for (int i = 0; i < 20; ++i) {
    const std::string msg = "hello " + std::to_string(i) + "\n";
    clients[static_cast<std::size_t>(i)].sendall(msg);
    EXPECT_EQ(stu::read_line(clients[static_cast<std::size_t>(i)]), msg);
  }
  EXPECT_EQ(loop.call([&] { return reactor.connection_count(); }), 20u);
  clients.clear();
  EXPECT_TRUE(rtu::wait_until([&] { return log->lost.load() == 20; }));
  for (const ss::Reason& r : log->get_reasons()) EXPECT_TRUE(r.is_clean()) << r.what();
  EXPECT_EQ(log->made.load(), 20);
  EXPECT_TRUE(rtu::wait_until([&] { return reactor.connection_count() == 0; }));
}

TEST(ReactorTcp, EchoOverIpv6Loopback) {
  ss::Reactor reactor;
  ss::ListenOptions o;
  o.interface = "::1";
  ss::ListeningPort* port = nullptr;
  try {
    port = &reactor.listen_tcp(0, ss::Factory::for_protocol<Echo>(), o);
  } catch (const ss::socket_error& e) {
    GTEST_SKIP() << "no ::1: " << e.what();
  }
  EXPECT_EQ(port->get_host().family(), AF_INET6);
  ReactorThread loop(reactor);
  EXPECT_EQ(stu::stream_roundtrip(port->get_host(), "six\n"), "six\n");
}

struct Greeter : ss::Protocol {
  Greeter(std::string greeting, std::shared_ptr<std::atomic<ss::Factory*>> seen)
      : greeting_(std::move(greeting)), seen_(std::move(seen)) {}
  void connection_made() override {
    seen_->store(factory());
    transport().write(greeting_);
    transport().lose_connection();
  }
  std::string greeting_;
  std::shared_ptr<std::atomic<ss::Factory*>> seen_;
};

TEST(ReactorFactory, ForProtocolPassesArgumentsAndSetsFactory) {
  ss::Reactor reactor;
  auto seen = std::make_shared<std::atomic<ss::Factory*>>(nullptr);
  auto factory = ss::Factory::for_protocol<Greeter>(std::string("welcome\n"), seen);
  ss::ListeningPort& port = reactor.listen_tcp(0, factory, rtu::local_opts());
  ReactorThread loop(reactor);
  ss::Socket c = stu::stream_client(port.get_host());
  EXPECT_EQ(stu::read_all(c), "welcome\n");
  EXPECT_EQ(seen->load(), factory.get());
}

struct CountingFactory : ss::Factory {
  std::atomic<int> starts{0};
  std::atomic<int> stops{0};
  std::atomic<int> built{0};
  bool refuse = false;
  std::unique_ptr<ss::Protocol> build_protocol(const ss::Address& addr) override {
    built.fetch_add(1);
    if (refuse) return nullptr;
    return Factory::build_protocol(addr);
  }
  void start_factory() override { starts.fetch_add(1); }
  void stop_factory() override { stops.fetch_add(1); }
};

TEST(ReactorFactory, BuildProtocolReturningNullRefuses) {
  ss::Reactor reactor;
  auto factory = std::make_shared<CountingFactory>();
  factory->refuse = true;
  ss::ListeningPort& port = reactor.listen_tcp(0, factory, rtu::local_opts());
  ReactorThread loop(reactor);
  ss::Socket c = stu::stream_client(port.get_host());
  EXPECT_EQ(stu::read_all(c), "");  // closed without a word
  EXPECT_EQ(factory->built.load(), 1);
  EXPECT_EQ(loop.call([&] { return reactor.connection_count(); }), 0u);
}

TEST(ReactorFactory, StartAndStopFactoryCountPorts) {
  ss::Reactor reactor;
  auto factory = std::make_shared<CountingFactory>();
  factory->protocol = [] { return std::make_unique<Echo>(); };
  ss::ListeningPort& a = reactor.listen_tcp(0, factory, rtu::local_opts());
  EXPECT_EQ(factory->starts.load(), 1);
  ss::ListeningPort& b = reactor.listen_tcp(0, factory, rtu::local_opts());
  EXPECT_EQ(factory->starts.load(), 1);
  a.stop_listening();
  EXPECT_EQ(factory->stops.load(), 0);
  a.stop_listening();  // twice: no effect
  EXPECT_EQ(factory->stops.load(), 0);
  {
    ReactorThread loop(reactor);
    EXPECT_EQ(stu::stream_roundtrip(b.get_host(), "b\n"), "b\n");
    loop.call([&] { b.stop_listening(); });
  }
  EXPECT_EQ(factory->stops.load(), 1);
  ss::ListeningPort& c = reactor.listen_tcp(0, factory, rtu::local_opts());
  EXPECT_EQ(factory->starts.load(), 2);
  c.stop_listening();
  EXPECT_EQ(factory->stops.load(), 2);
  // A stopped port refuses connections.
  ss::Socket probe(AF_INET, SOCK_STREAM);
  EXPECT_NE(probe.connect_ex(b.get_host()), 0);
}

// ---- connectors ------------------------------------------------------------------------------

struct ClientLog : Log {
  std::atomic<int> started{0};
  std::atomic<int> failed{0};
  std::atomic<int> client_lost{0};
  std::atomic<int> factory_stops{0};
  ss::Reason fail_reason;
  ss::Reason client_lost_reason;
};

struct PingClient : ss::Protocol {
  explicit PingClient(std::shared_ptr<ClientLog> log) : log_(std::move(log)) {}
  void connection_made() override {
    log_->made.fetch_add(1);
    transport().write("ping");
  }
  void data_received(std::string_view d) override {
    log_->add_data(d);
    if (log_->get_data().size() >= 4) transport().lose_connection();
  }
  void connection_lost(const ss::Reason& r) override { log_->lost_with(r); }
  std::shared_ptr<ClientLog> log_;
};

struct TestClientFactory : ss::ClientFactory {
  explicit TestClientFactory(std::shared_ptr<ClientLog> log, ss::Reactor* stop = nullptr)
      : log_(std::move(log)), stop_(stop) {
    protocol = [l = log_] { return std::make_unique<PingClient>(l); };
  }
  void started_connecting(ss::Connector&) override { log_->started.fetch_add(1); }
  void client_connection_failed(ss::Connector&, const ss::Reason& r) override {
    log_->fail_reason = r;
    log_->failed.fetch_add(1);
    if (stop_) stop_->stop();
  }
  void client_connection_lost(ss::Connector&, const ss::Reason& r) override {
    log_->client_lost_reason = r;
    log_->client_lost.fetch_add(1);
    if (stop_) stop_->stop();
  }
  void stop_factory() override { log_->factory_stops.fetch_add(1); }
  std::shared_ptr<ClientLog> log_;
  ss::Reactor* stop_;
};

TEST(ReactorConnect, TcpSuccessCleanCloseAndClientConnectionLost) {
  ss::Reactor reactor;
  auto server_log = std::make_shared<Log>();
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<Echo>(server_log), rtu::local_opts());
  auto log = std::make_shared<ClientLog>();
  ss::Connector& conn = reactor.connect_tcp("127.0.0.1", port.get_host().port(),
                                            std::make_shared<TestClientFactory>(log, &reactor));
  EXPECT_STREQ(conn.state(), "connecting");
  EXPECT_EQ(conn.get_destination().port(), port.get_host().port());
  run_bounded(reactor);
  EXPECT_EQ(log->started.load(), 1);
  EXPECT_EQ(log->made.load(), 1);
  EXPECT_EQ(log->get_data(), "ping");
  ASSERT_EQ(log->lost.load(), 1);
  EXPECT_TRUE(log->get_reasons()[0].is_clean()) << log->get_reasons()[0].what();
  EXPECT_EQ(log->client_lost.load(), 1);
  EXPECT_TRUE(log->client_lost_reason.is_clean());
  EXPECT_EQ(log->failed.load(), 0);
  EXPECT_EQ(log->factory_stops.load(), 1);
  EXPECT_STREQ(conn.state(), "disconnected");
}

TEST(ReactorConnect, ClosedPortFailsWithConnectionRefused) {
  testutil::ClosedPort closed;
  ss::Reactor reactor;
  auto log = std::make_shared<ClientLog>();
  reactor.connect_tcp("127.0.0.1", closed.address().port(),
                      std::make_shared<TestClientFactory>(log, &reactor));
  EXPECT_EQ(log->failed.load(), 0);  // reported from the loop, not inside connect_tcp
  run_bounded(reactor);
  ASSERT_EQ(log->failed.load(), 1);
  EXPECT_FALSE(log->fail_reason.is_clean());
  EXPECT_EQ(log->fail_reason.error, ECONNREFUSED);
  std::string lower = log->fail_reason.what();
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_NE(lower.find("refused"), std::string::npos) << log->fail_reason.what();
  EXPECT_EQ(log->made.load(), 0);
  EXPECT_EQ(log->factory_stops.load(), 1);
}

TEST(ReactorConnect, StopConnectingGivesUp) {
  ss::Reactor reactor;
  auto server_log = std::make_shared<Log>();
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<Echo>(server_log), rtu::local_opts());
  auto log = std::make_shared<ClientLog>();
  ss::Connector& conn = reactor.connect_tcp("127.0.0.1", port.get_host().port(),
                                            std::make_shared<TestClientFactory>(log));
  conn.stop_connecting();
  EXPECT_STREQ(conn.state(), "disconnected");
  EXPECT_EQ(log->failed.load(), 1);
  EXPECT_EQ(log->fail_reason.error, ECANCELED);
  reactor.call_later(100ms, [&] { reactor.stop(); });
  run_bounded(reactor);
  EXPECT_EQ(log->made.load(), 0);
  EXPECT_EQ(log->failed.load(), 1);
  EXPECT_EQ(log->factory_stops.load(), 1);
}

TEST(ReactorConnect, TimeoutAgainstAFullBacklog) {
  // A listener with backlog 0 that never accepts: once its queue is full, SYNs are dropped and
  // a connect stays pending until the connector's timeout.
  ss::Socket listener(AF_INET, SOCK_STREAM);
  listener.bind({"127.0.0.1", 0});
  listener.listen(0);
  const int port = listener.getsockname().port();
  std::vector<int> fillers;
  for (int i = 0; i < 8; ++i) fillers.push_back(rtu::nb_connect(port));
  // Until the accept queue is full (TCP_INFO of a listener: tcpi_unacked is the queue's
  // length, tcpi_sacked its limit); the probe below says whether it stays so.
  testutil::wait_until([&] {
    tcp_info info{};
    socklen_t len = sizeof info;
    return ::getsockopt(listener.fileno(), IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
           info.tcpi_unacked > info.tcpi_sacked;
  });
  const int probe = rtu::nb_connect(port);
  pollfd p{probe, POLLOUT, 0};
  const bool probe_done = ::poll(&p, 1, 300) > 0;
  ::close(probe);
  if (probe_done) {
    for (int fd : fillers) ::close(fd);
    GTEST_SKIP() << "the backlog did not fill up on this kernel";
  }
  ss::Reactor reactor;
  auto log = std::make_shared<ClientLog>();
  reactor.connect_tcp("127.0.0.1", port, std::make_shared<TestClientFactory>(log, &reactor),
                      std::chrono::duration<double>(0.2));
  run_bounded(reactor);
  for (int fd : fillers) ::close(fd);
  ASSERT_EQ(log->failed.load(), 1);
  EXPECT_EQ(log->fail_reason.error, ETIMEDOUT);
  EXPECT_NE(log->fail_reason.what().find("timeout"), std::string::npos);
  EXPECT_EQ(log->made.load(), 0);
}

// ---- write buffering -------------------------------------------------------------------------

constexpr std::size_t kChunk = 26 * 2520;  // 65 520: chunks continue the a..z pattern

struct Producer : ss::Protocol {
  struct State {
    std::atomic<std::size_t> max_buffer{0};
    std::atomic<int> pauses{0};
    std::atomic<int> resumes{0};
    std::atomic<std::size_t> sent{0};
    std::size_t total = 0;
  };
  explicit Producer(std::shared_ptr<State> s) : s_(std::move(s)), chunk_(kChunk, 'a') {
    for (std::size_t i = 0; i < kChunk; ++i) chunk_[i] = static_cast<char>('a' + i % 26);
  }
  void connection_made() override { produce(); }
  void pause_writing() override {
    paused_ = true;
    s_->pauses.fetch_add(1);
  }
  void resume_writing() override {
    paused_ = false;
    s_->resumes.fetch_add(1);
    produce();
  }
  void produce() {
    while (!paused_ && s_->sent.load() < s_->total && connected()) {
      transport().write(chunk_);
      s_->sent.fetch_add(kChunk);
      const std::size_t now = transport().write_buffer_size();
      if (now > s_->max_buffer.load()) s_->max_buffer.store(now);
    }
    if (s_->sent.load() >= s_->total && connected()) transport().lose_connection();
  }
  std::shared_ptr<State> s_;
  std::string chunk_;
  bool paused_ = false;
};

TEST(ReactorWriteBuffer, PeerThatNeverReadsKeepsMemoryBoundedAndOthersServed) {
  ss::Reactor reactor;
  auto state = std::make_shared<Producer::State>();
  state->total = kChunk * 1600;  // ~100 MB
  ss::ListeningPort& bulk =
      reactor.listen_tcp(0, ss::Factory::for_protocol<Producer>(state), rtu::local_opts());
  ss::ListeningPort& echo =
      reactor.listen_tcp(0, ss::Factory::for_protocol<Echo>(), rtu::local_opts());
  ReactorThread loop(reactor);
  ss::Socket sink = stu::stream_client(bulk.get_host(), 60s);
  ASSERT_TRUE(rtu::wait_until([&] { return state->pauses.load() >= 1; }));
  // Stalled: the sink's receive queue has filled up and stopped growing.
  ASSERT_TRUE(testutil::wait_settled([&] { return testutil::bytes_unread(sink.fileno()); }))
      << "the sink's buffer never filled up";
  const std::size_t sent_while_stalled = state->sent.load();
  // Other clients on the same reactor are answered while the sink reads nothing.
  for (int i = 0; i < 20; ++i) {
    const std::string msg = "still there " + std::to_string(i) + "\n";
    EXPECT_EQ(stu::stream_roundtrip(echo.get_host(), msg), msg);
  }
  EXPECT_EQ(state->sent.load(), sent_while_stalled);  // paused: nothing more produced
  EXPECT_LT(sent_while_stalled, 32u << 20);
  // Now read all of it: every byte arrives, in order, and the buffer never grew past a few MiB.
  std::size_t got = 0;
  std::size_t bad = 0;
  for (int i = 0; i < 10000000 && got < state->total; ++i) {
    const std::string chunk = sink.recv(1 << 16);
    if (chunk.empty()) break;
    for (std::size_t k = 0; k < chunk.size(); k += 997) {
      if (chunk[k] != static_cast<char>('a' + (got + k) % 26)) ++bad;
    }
    got += chunk.size();
  }
  EXPECT_EQ(got, state->total);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(sink.recv(16), "");  // lose_connection after the last byte
  EXPECT_GE(state->resumes.load(), 1);
  EXPECT_LE(state->max_buffer.load(), (1u << 20) + 2 * kChunk);
  EXPECT_LE(state->max_buffer.load(), 4u << 20);
}

struct BigThenClose : ss::Protocol {
  enum class How { lose, abort };
  BigThenClose(std::shared_ptr<Log> log, How how, bool on_request)
      : log_(std::move(log)), how_(how), on_request_(on_request) {}
  void connection_made() override {
    log_->made.fetch_add(1);
    if (!on_request_) go();
  }
  void data_received(std::string_view d) override {
    log_->add_data(d);
    if (on_request_ && !done_) go();
  }
  void go() {
    done_ = true;
    transport().write(testutil::pattern(8u << 20));
    if (how_ == How::lose) {
      transport().lose_connection();
      transport().write("ignored after lose_connection");
    } else {
      transport().abort_connection();
    }
  }
  void connection_lost(const ss::Reason& r) override { log_->lost_with(r); }
  std::shared_ptr<Log> log_;
  How how_;
  bool on_request_;
  bool done_ = false;
};

TEST(ReactorClose, LoseConnectionDrainsTheBufferFirst) {
  ss::Reactor reactor;
  auto log = std::make_shared<Log>();
  ss::ListeningPort& port = reactor.listen_tcp(
      0, ss::Factory::for_protocol<BigThenClose>(log, BigThenClose::How::lose, false),
      rtu::local_opts());
  ReactorThread loop(reactor);
  ss::Socket c = stu::stream_client(port.get_host(), 30s);
  // Let the server's buffer fill up: the client's receive queue stops growing.
  ASSERT_TRUE(testutil::wait_settled([&] { return testutil::bytes_unread(c.fileno()); }))
      << "the buffers never filled up";
  const std::string got = stu::read_all(c);
  EXPECT_EQ(got.size(), 8u << 20);
  EXPECT_TRUE(got == testutil::pattern(8u << 20));
  ASSERT_TRUE(rtu::wait_until([&] { return log->lost.load() == 1; }));
  EXPECT_TRUE(log->get_reasons()[0].is_clean()) << log->get_reasons()[0].what();
}

TEST(ReactorClose, LoseConnectionLosesNothingWhenThePeerKeepsTalking) {
  // The server stops reading at lose_connection; bytes the peer sends afterwards sit unread. A
  // plain close() then sends RST, and the kernel drops what it still had to send.
  ss::Reactor reactor;
  auto log = std::make_shared<Log>();
  ss::ListeningPort& port = reactor.listen_tcp(
      0, ss::Factory::for_protocol<BigThenClose>(log, BigThenClose::How::lose, true),
      rtu::local_opts());
  ReactorThread loop(reactor);
  ss::Socket c = stu::stream_client(port.get_host(), 30s);
  c.sendall("go");
  // The server has read "go" (and so called lose_connection) before the rest is sent.
  ASSERT_TRUE(rtu::wait_until([&] { return log->get_data() == "go"; }));
  c.sendall("and some more the server never reads");
  // Those bytes have reached the server's socket (acknowledged) before the client reads.
  ASSERT_TRUE(rtu::wait_until([&] { return testutil::bytes_unacked(c.fileno()) == 0; }));
  std::string got;
  std::string error;
  try {
    got = stu::read_all(c);
  } catch (const std::exception& e) {
    error = e.what();
  }
  EXPECT_EQ(error, "");
  EXPECT_EQ(got.size(), 8u << 20) << "the peer lost the tail of the response";
}

TEST(ReactorClose, AbortConnectionDropsTheBuffer) {
  ss::Reactor reactor;
  auto log = std::make_shared<Log>();
  ss::ListeningPort& port = reactor.listen_tcp(
      0, ss::Factory::for_protocol<BigThenClose>(log, BigThenClose::How::abort, false),
      rtu::local_opts());
  ReactorThread loop(reactor);
  ss::Socket c = stu::stream_client(port.get_host(), 30s);
  ASSERT_TRUE(rtu::wait_until([&] { return log->lost.load() == 1; }));
  EXPECT_FALSE(log->get_reasons()[0].is_clean());
  std::size_t got = 0;
  try {
    got = stu::read_all(c).size();
  } catch (const ss::socket_error&) {  // a reset is fine too
  }
  EXPECT_LT(got, 8u << 20);
  EXPECT_EQ(log->lost.load(), 1);
}

struct HalfCloser : ss::Protocol {
  explicit HalfCloser(std::shared_ptr<Log> log) : log_(std::move(log)) {}
  void connection_made() override {
    transport().write("bye for now");
    transport().lose_write_connection();
    transport().write("dropped after the half-close");
  }
  void data_received(std::string_view d) override { log_->add_data(d); }
  void connection_lost(const ss::Reason& r) override { log_->lost_with(r); }
  std::shared_ptr<Log> log_;
};

TEST(ReactorClose, LoseWriteConnectionHalfCloses) {
  ss::Reactor reactor;
  auto log = std::make_shared<Log>();
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<HalfCloser>(log), rtu::local_opts());
  ReactorThread loop(reactor);
  ss::Socket c = stu::stream_client(port.get_host());
  EXPECT_EQ(stu::read_all(c), "bye for now");  // then end of stream
  c.sendall("still talking");
  EXPECT_TRUE(rtu::wait_until([&] { return log->get_data() == "still talking"; }));
  EXPECT_EQ(log->lost.load(), 0);
  c.close();
  ASSERT_TRUE(rtu::wait_until([&] { return log->lost.load() == 1; }));
  EXPECT_TRUE(log->get_reasons()[0].is_clean());
}

TEST(ReactorClose, PeerHalfCloseEverythingAnsweredBeforeTheClose) {
  ss::Reactor reactor;
  auto log = std::make_shared<Log>();
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<Echo>(log), rtu::local_opts());
  ReactorThread loop(reactor);
  ss::Socket c = stu::stream_client(port.get_host(), 30s);
  const std::string payload = testutil::pattern(4u << 20);
  testutil::Collector back(c, payload.size() + 1);
  c.sendall(payload);
  c.shutdown(SHUT_WR);
  EXPECT_EQ(back.error(), "");
  EXPECT_TRUE(back.join() == payload) << "got " << back.join().size() << " bytes";
  ASSERT_TRUE(rtu::wait_until([&] { return log->lost.load() == 1; }));
  EXPECT_TRUE(log->get_reasons()[0].is_clean());
}

// ---- producers, addresses, options -----------------------------------------------------------

struct Recorder : ss::Protocol {
  struct State {
    std::mutex mu;
    Recorder* self = nullptr;
    std::string data;
    ss::Address peer;
    ss::Address host;
  };
  explicit Recorder(std::shared_ptr<State> s) : s_(std::move(s)) {}
  void connection_made() override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->self = this;
    s_->peer = transport().get_peer();
    s_->host = transport().get_host();
    transport().set_tcp_nodelay(true);
    transport().set_tcp_keepalive(true);
    transport().pause_producing();
  }
  void data_received(std::string_view d) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->data.append(d);
  }
  std::string data() {
    std::lock_guard<std::mutex> lock(s_->mu);
    return s_->data;
  }
  std::shared_ptr<State> s_;
};

TEST(ReactorTransport, PauseResumeProducingAndAddresses) {
  ss::Reactor reactor;
  auto st = std::make_shared<Recorder::State>();
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<Recorder>(st), rtu::local_opts());
  ReactorThread loop(reactor);
  ss::Socket c = stu::stream_client(port.get_host());
  ASSERT_TRUE(rtu::wait_until([&] { return loop.call([&] { return st->self != nullptr; }); }));
  c.sendall("held back");
  // The bytes reach the server's socket (acknowledged); then nothing may be delivered within
  // 100 ms (the sleep is what is tested).
  ASSERT_TRUE(rtu::wait_until([&] { return testutil::bytes_unacked(c.fileno()) == 0; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(loop.call([&] { return st->self->data(); }), "");  // paused: nothing delivered
  loop.call([&] { st->self->transport().resume_producing(); });
  EXPECT_TRUE(rtu::wait_until([&] { return loop.call([&] { return st->self->data(); }) ==
                                           "held back"; }));
  loop.call([&] { st->self->transport().pause_producing(); });
  c.sendall(" more");
  ASSERT_TRUE(rtu::wait_until([&] { return testutil::bytes_unacked(c.fileno()) == 0; }));
  std::this_thread::sleep_for(100ms);  // as above: nothing delivered meanwhile
  EXPECT_EQ(loop.call([&] { return st->self->data(); }), "held back");
  loop.call([&] { st->self->transport().resume_producing(); });
  EXPECT_TRUE(rtu::wait_until([&] { return loop.call([&] { return st->self->data(); }) ==
                                           "held back more"; }));
  loop.call([&] {
    EXPECT_EQ(st->peer, c.getsockname());
    EXPECT_EQ(st->host, port.get_host());
    EXPECT_EQ(st->host, c.getpeername());
    EXPECT_EQ(&st->self->transport().reactor(), &reactor);
    EXPECT_FALSE(st->self->transport().disconnecting());
  });
}

// ---- Unix sockets ----------------------------------------------------------------------------

TEST(ReactorUnix, ListenOnAPathRemovedAfterStopListening) {
  testutil::TempDir dir;
  const std::string path = dir.file("echo.sock");
  ss::Reactor reactor;
  auto factory = std::make_shared<CountingFactory>();
  factory->protocol = [] { return std::make_unique<Echo>(); };
  ss::ListeningPort& port = reactor.listen_unix(ss::Address::unix_path(path), factory);
  EXPECT_TRUE(stu::path_exists(path));
  {
    ReactorThread loop(reactor);
    EXPECT_EQ(stu::stream_roundtrip(ss::Address::unix_path(path), "unix\n"), "unix\n");
    loop.call([&] { port.stop_listening(); });
  }
  EXPECT_FALSE(stu::path_exists(path));
  EXPECT_EQ(factory->stops.load(), 1);
}

// Twisted's UNIX port removes its file on stopListening; a socket another process has bound at
// the path since is not ours and stays, accepting (issue 9, item 4).
TEST(ReactorUnix, StopListeningLeavesAStrangersSocketAtThePath) {
  testutil::TempDir dir;
  const std::string path = dir.file("echo.sock");
  ss::Reactor reactor;
  ss::ListeningPort& port =
      reactor.listen_unix(ss::Address::unix_path(path), ss::Factory::for_protocol<Echo>());
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ss::Socket stranger(AF_UNIX, SOCK_STREAM);
  stranger.bind(ss::Address::unix_path(path));
  stranger.listen(4);
  port.stop_listening();
  ASSERT_TRUE(stu::path_exists(path)) << "stop_listening removed the stranger's socket";
  ss::Socket client(AF_UNIX, SOCK_STREAM);
  client.settimeout(10s);
  client.connect(ss::Address::unix_path(path));
  auto [conn, from] = stranger.accept();
  (void)from;
  EXPECT_EQ(client.send("x"), 1u);
  EXPECT_EQ(conn.recv(1), "x");
}


TEST(ReactorUnix, AbstractNameAndConnectUnix) {
  const ss::Address where = ss::Address::abstract(testutil::unique_abstract("reactor"));
  ss::Reactor reactor;
  auto server_log = std::make_shared<Log>();
  ss::ListeningPort& port =
      reactor.listen_unix(where, ss::Factory::for_protocol<Echo>(server_log));
  EXPECT_EQ(port.get_host(), where);
  auto log = std::make_shared<ClientLog>();
  reactor.connect_unix(where, std::make_shared<TestClientFactory>(log, &reactor));
  run_bounded(reactor);
  EXPECT_EQ(log->get_data(), "ping");
  EXPECT_EQ(log->client_lost.load(), 1);
  EXPECT_TRUE(log->client_lost_reason.is_clean());
  // connect_unix to a name nobody listens on fails with the reason.
  auto log2 = std::make_shared<ClientLog>();
  reactor.connect_unix(ss::Address::abstract(testutil::unique_abstract("nobody")),
                       std::make_shared<TestClientFactory>(log2, &reactor));
  run_bounded(reactor);
  EXPECT_EQ(log2->failed.load(), 1);
  EXPECT_EQ(log2->fail_reason.error, ECONNREFUSED);
}

}  // namespace
