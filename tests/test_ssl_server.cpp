// test_ssl_server.cpp — SocketServer over TLS (ServerOptions::ssl_context): every stream server
// kind serves the same handler code over TLS (rfile/wfile in plaintext); the handshake runs
// where the request runs, bounded by handshake_timeout; a failed handshake is one line through
// handle_error and the server goes on; silent clients hold nobody.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server_test_util.hpp"
#include "socketserver/mixins.hpp"
#include "socketserver/ssl.hpp"
#include "ssl_test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using ssltest::pki;
using stu::EchoStream;
using stu::ServerThread;

namespace {

std::shared_ptr<const ss::SSLContext> server_tls() {
  auto ctx = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_SERVER);
  ctx->load_cert_chain(pki().server_cert, pki().server_key);
  return ctx;
}

ss::ServerOptions tls_options(ss::Timeout handshake = std::chrono::duration<double>(10)) {
  ss::ServerOptions o;
  o.ssl_context = server_tls();
  o.handshake_timeout = handshake;
  return o;
}

// A TLS client to `addr` (TCP or Unix), verifying the server as "localhost".
ss::SSLSocket tls_client(const ss::Address& addr) {
  const ss::SSLContext ctx = ss::create_default_context(ss::Purpose::SERVER_AUTH, pki().ca_cert);
  ss::Socket s(addr.family(), SOCK_STREAM);
  s.settimeout(10.0);
  s.connect(addr);
  return ctx.wrap_socket(std::move(s), false, "localhost");
}

std::string tls_roundtrip(const ss::Address& addr, const std::string& line = "hello tls\n") {
  ss::SSLSocket c = tls_client(addr);
  c.sendall(line);
  std::string got;
  while (got.find('\n') == std::string::npos) {  // bounded by the socket's timeout
    const std::string part = c.recv(1024);
    if (part.empty()) break;
    got += part;
  }
  return got;
}

// One server kind: serves two TLS clients one after the other with EchoStream, then stops.
template <class Server>
void check_tls_echo(const ss::Address& where) {
  Server server(where, ss::handler<EchoStream>(), tls_options());
  ServerThread t(server);
  EXPECT_EQ(tls_roundtrip(server.server_address, "one\n"), "one\n");
  EXPECT_EQ(tls_roundtrip(server.server_address, "two\n"), "two\n");
  t.stop();
  EXPECT_EQ(t.error(), "");
  server.server_close();
}

// ForkingTCPServer: forks for each request, so its process must have no other thread. In this
// test process the client is another thread, and a fork while it is inside malloc (its TLS
// handshake) leaves the child with the allocator locked: under ASan the child hung. So the
// server runs in a process of its own (single-threaded, as a forking server is deployed), serves
// the two requests with handle_request and exits; the wait for it is bounded.
void check_tls_echo_forking() {
  int ports[2];
  ASSERT_EQ(::pipe(ports), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ports[0]);
    int rc = 1;
    try {
      ss::ForkingTCPServer server(stu::local0(), ss::handler<EchoStream>(), tls_options());
      const int port = server.server_address.port();
      if (::write(ports[1], &port, sizeof port) == sizeof port) {
        server.handle_request();
        server.handle_request();
        server.server_close();
        rc = 0;
      }
    } catch (...) {
    }
    ::_exit(rc);
  }
  ::close(ports[1]);
  int port = 0;
  const bool got_port = ::read(ports[0], &port, sizeof port) == sizeof port;
  ::close(ports[0]);
  if (got_port) {
    const ss::Address where("127.0.0.1", port);
    EXPECT_EQ(tls_roundtrip(where, "one\n"), "one\n");
    EXPECT_EQ(tls_roundtrip(where, "two\n"), "two\n");
  }
  EXPECT_TRUE(got_port) << "the server process did not start";
  int status = -1;
  for (int i = 0; i < 200 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) {  // at most 10 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ADD_FAILURE() << "the forking server's process did not end within 10 s";
    return;
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST(TlsServer, EveryStreamServerKindServesTheSameHandlerOverTls) {
  SSLTEST_NEED_PKI();
  check_tls_echo<ss::TCPServer>(stu::local0());
  check_tls_echo<ss::ThreadingTCPServer>(stu::local0());
  check_tls_echo_forking();
  check_tls_echo<ss::ThreadPoolTCPServer>(stu::local0());
  testutil::TempDir dir;
  check_tls_echo<ss::UnixStreamServer>(ss::Address::unix_path(dir.file("tls.sock")));
  check_tls_echo<ss::ThreadingUnixStreamServer>(ss::Address::unix_path(dir.file("tls2.sock")));
}

TEST(TlsServer, TheHandlerSeesTlsAndThePlainSocketBeneath) {
  SSLTEST_NEED_PKI();
  std::string version;
  bool had_tls = false;
  int connection_fd = -2;
  ss::TCPServer server(stu::local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                         had_tls = self.request.tls != nullptr;
                         if (had_tls) version = self.request.tls->version().value_or("");
                         connection_fd = self.connection.fileno();
                         self.wfile.write(self.rfile.readline());
                       }),
                       tls_options());
  ServerThread t(server);
  EXPECT_EQ(tls_roundtrip(server.server_address), "hello tls\n");
  t.stop();
  EXPECT_TRUE(had_tls);
  EXPECT_EQ(version, "TLSv1.3");
  EXPECT_GE(connection_fd, 0) << "self.connection is the plain socket under TLS";
}

TEST(TlsServer, AFailedHandshakeIsOneLineThroughHandleErrorAndTheServerGoesOn) {
  SSLTEST_NEED_PKI();
  ss::ThreadingTCPServer server(stu::local0(), ss::handler<EchoStream>(), tls_options());
  stu::StderrCapture err;
  {
    ServerThread t(server);
    {
      ss::Socket plain = stu::stream_client(server.server_address);
      plain.sendall("GET / HTTP/1.0\r\n\r\n");  // not a ClientHello
      std::string reply;
      try {
        reply = plain.recv(1024);  // the server's alert, or the end
      } catch (const ss::socket_error&) {
      }
    }
    EXPECT_TRUE(testutil::wait_until(
        [&] { return server.counters().current == 0 && server.counters().total == 1; }, 10s));
    EXPECT_EQ(tls_roundtrip(server.server_address), "hello tls\n") << "the server goes on";
    t.stop();
    EXPECT_EQ(t.error(), "");
  }
  server.server_close();
  const std::string text = err.stop();
  EXPECT_NE(text.find("request from 127.0.0.1:"), std::string::npos) << text;
  EXPECT_NE(text.find("do_handshake"), std::string::npos) << text;
  EXPECT_EQ(text.find("Exception occurred"), std::string::npos)
      << "one line, not Python's dashed report:\n"
      << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

TEST(TlsServer, ASilentClientIsDroppedAfterTheHandshakeTimeoutAndHoldsNobody) {
  SSLTEST_NEED_PKI();
  // A plain TCPServer serves in its loop: a client that connects and never says hello holds
  // it for handshake_timeout at most.
  ss::TCPServer server(stu::local0(), ss::handler<EchoStream>(), tls_options(0.3s));
  stu::StderrCapture err;
  ServerThread t(server);
  ss::Socket silent = stu::stream_client(server.server_address);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(tls_roundtrip(server.server_address), "hello tls\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
  EXPECT_EQ(silent.recv(10), "") << "the silent one was closed";
  t.stop();
  const std::string text = err.stop();
  EXPECT_NE(text.find("timed out"), std::string::npos) << text;
}

TEST(TlsServer, SilentClientsAreParkedByThePoolAndNeverHoldAWorker) {
  SSLTEST_NEED_PKI();
  ss::ThreadPoolTCPServer server(stu::local0(), ss::handler<EchoStream>(), tls_options());
  server.max_workers = 2;
  ServerThread t(server);
  std::vector<ss::Socket> silent;
  for (int i = 0; i < 50; ++i) silent.push_back(stu::stream_client(server.server_address));
  EXPECT_TRUE(testutil::wait_until([&] { return server.park_counters().parked == 50; }, 10s))
      << server.park_counters().parked;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(tls_roundtrip(server.server_address), "hello tls\n");
  t.stop();
  server.server_close();
}

TEST(TlsServer, OnlyAServerContextOnAStreamServer) {
  SSLTEST_NEED_PKI();
  ss::ServerOptions client_ctx;
  client_ctx.ssl_context = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_CLIENT);
  EXPECT_THROW(ss::TCPServer(stu::local0(), ss::handler<EchoStream>(), client_ctx),
               std::invalid_argument);
  EXPECT_THROW(ss::UDPServer(stu::local0(), ss::handler<stu::EchoDatagram>(), tls_options()),
               std::invalid_argument);
  ss::ServerOptions zero = tls_options();
  zero.handshake_timeout = std::chrono::duration<double>(0);
  EXPECT_THROW(ss::TCPServer(stu::local0(), ss::handler<EchoStream>(), zero),
               std::invalid_argument);
}

}  // namespace
