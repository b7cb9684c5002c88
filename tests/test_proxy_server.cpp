// test_proxy_server.cpp — SocketServer behind a balancer (ServerOptions::proxy_protocol) and
// recv_proxy_header: the handler's client_address is the real client of a v1 or v2 header,
// the client's own bytes after the header are all there, LOCAL keeps the connection's address,
// and an untrusted peer, a malformed, truncated or missing header each close that connection
// with one line while the server goes on.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "server_test_util.hpp"
#include "socketserver/mixins.hpp"
#include "socketserver/proxy_protocol.hpp"
#include "socketserver/ssl.hpp"
#include "ssl_test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using stu::ServerThread;

namespace {

// Answers "<client_address> <line>" for each line until the end (so the bytes after the header
// are checked too), and says how the request came.
struct WhoHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;
  void handle() override {
    for (const std::string& line : rfile) {
      std::string via = request.balancer ? " via " + request.balancer->host() : "";
      wfile.write(client_address.to_string() + via + " " + line);
    }
  }
};

ss::ServerOptions behind_balancer(ss::Timeout header_timeout = std::chrono::duration<double>(5)) {
  ss::ServerOptions o;
  o.proxy_protocol = true;
  o.proxy_header_timeout = header_timeout;
  return o;
}

std::string v2_ipv4(const std::string& tlvs = "") {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  const std::string block = std::string{'\xC0', '\x00', '\x02', '\x01',  // 192.0.2.1
                                        '\xC6', '\x33', '\x64', '\x07',  // 198.51.100.7
                                        '\xDC', '\x04', '\x01', '\xBB'} +
                            tlvs;
  h += '\x21';
  h += '\x11';
  h += static_cast<char>(block.size() >> 8);
  h += static_cast<char>(block.size() & 0xFF);
  return h + block;
}

// Sends `bytes`, half-closes, and returns everything the server answers (bounded by timeouts).
std::string talk(const ss::Address& server, const std::string& bytes) {
  ss::Socket c = stu::stream_client(server);
  try {
    c.sendall(bytes);
    c.shutdown(SHUT_WR);
  } catch (const ss::socket_error&) {
    // The server may have closed (an untrusted peer) and reset the connection first: a send
    // then fails with a reset or broken pipe, a shutdown with ENOTCONN. What was answered is
    // still read below.
  }
  std::string got;
  try {
    for (int i = 0; i < 1000; ++i) {
      const std::string part = c.recv(4096);
      if (part.empty()) break;
      got += part;
    }
  } catch (const ss::connection_reset_error&) {
  }
  return got;
}

TEST(ProxyServer, AV1HeaderNamesTheClientAndTheBytesAfterItAreAllThere) {
  ss::ThreadingTCPServer server(stu::local0(), ss::handler<WhoHandler>(), behind_balancer());
  ServerThread t(server);
  EXPECT_EQ(talk(server.server_address,
                     "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nfirst\nsecond\n"),
            "192.0.2.1:56324 via 127.0.0.1 first\n192.0.2.1:56324 via 127.0.0.1 second\n");
  EXPECT_EQ(talk(server.server_address, "PROXY TCP6 2001:db8::1 ::1 4000 443\r\nsix\n"),
            "[2001:db8::1]:4000 via 127.0.0.1 six\n");
  t.stop();
  server.server_close();
}

TEST(ProxyServer, AV2HeaderWithExtensionsAndLocalHealthChecks) {
  ss::TCPServer server(stu::local0(), ss::handler<WhoHandler>(), behind_balancer());
  ServerThread t(server);
  EXPECT_EQ(talk(server.server_address, v2_ipv4(std::string("\x04\x00\x02id", 5)) + "v2\n"),
            "192.0.2.1:56324 via 127.0.0.1 v2\n");
  // LOCAL: a health check of the balancer's own; the connection's address is the client.
  std::string local("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16);
  const std::string answer = talk(server.server_address, local + "ping\n");
  EXPECT_EQ(answer.rfind("127.0.0.1:", 0), 0u) << answer;
  EXPECT_NE(answer.find(" via 127.0.0.1 ping\n"), std::string::npos) << answer;
  t.stop();
}

TEST(ProxyServer, AHeaderArrivingInPiecesIsWaitedFor) {
  ss::ThreadPoolTCPServer server(stu::local0(), ss::handler<WhoHandler>(), behind_balancer());
  ServerThread t(server);
  for (const std::string& whole :
       {std::string("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\npieces\n"),
        v2_ipv4() + "pieces\n"}) {
    ss::Socket c = stu::stream_client(server.server_address);
    for (std::size_t i = 0; i < whole.size(); i += 7) {  // 7-byte pieces, each its own segment
      c.sendall(whole.substr(i, 7));
      std::this_thread::sleep_for(2ms);  // the trickle is the behaviour under test
    }
    c.shutdown(SHUT_WR);
    EXPECT_EQ(stu::read_line(c), "192.0.2.1:56324 via 127.0.0.1 pieces\n");
  }
  t.stop();
  server.server_close();
}

// Each bad first contact closes its connection with one stderr line; the next client is served.
void expect_refused(ss::ServerOptions options, const std::string& bytes, const std::string& why,
                    bool close_early = false) {
  ss::ThreadingTCPServer server(stu::local0(), ss::handler<WhoHandler>(), options);
  stu::StderrCapture err;
  {
    ServerThread t(server);
    {
      ss::Socket c = stu::stream_client(server.server_address);
      c.sendall(bytes);
      if (close_early) c.shutdown(SHUT_WR);
      std::string reply;
      try {
        reply = c.recv(100);
      } catch (const ss::socket_error&) {
      }
      EXPECT_EQ(reply, "") << "nothing reaches the handler";
    }
    EXPECT_TRUE(testutil::wait_until(
        [&] { return server.counters().total == 1 && server.counters().current == 0; }, 10s));
    EXPECT_EQ(talk(server.server_address,
                       "PROXY TCP4 192.0.2.9 198.51.100.7 1 2\r\nnext\n"),
              "192.0.2.9:1 via 127.0.0.1 next\n")
        << "the server goes on";
    t.stop();
  }
  server.server_close();
  const std::string text = err.stop();
  EXPECT_NE(text.find(why), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "one line:\n" << text;
}

TEST(ProxyServer, AnUntrustedPeerIsClosed) {
  ss::ServerOptions o = behind_balancer();
  o.trusted_proxies = {"192.0.2.250"};  // not loopback: every client here is untrusted
  ss::ThreadingTCPServer server(stu::local0(), ss::handler<WhoHandler>(), o);
  stu::StderrCapture err;
  {
    ServerThread t(server);
    EXPECT_EQ(talk(server.server_address, "PROXY TCP4 192.0.2.1 198.51.100.7 1 2\r\nx\n"), "");
    EXPECT_TRUE(testutil::wait_until([&] { return server.counters().current == 0; }, 10s));
    t.stop();
  }
  server.server_close();
  const std::string text = err.stop();
  EXPECT_NE(text.find("not a trusted proxy"), std::string::npos) << text;
  EXPECT_NE(text.find("request from 127.0.0.1:"), std::string::npos) << text;
}

TEST(ProxyServer, AMalformedHeaderIsClosed) {
  expect_refused(behind_balancer(), "PROXY TCP4 192.0.2.1 198.51.100.7 01 2\r\nx\n",
                 "malformed port");
}

TEST(ProxyServer, APlainClientIsClosed) {
  expect_refused(behind_balancer(), "GET / HTTP/1.0\r\n\r\n", "not a PROXY protocol header");
}

TEST(ProxyServer, ATruncatedHeaderIsClosed) {
  expect_refused(behind_balancer(), "PROXY TCP4 192.0.2.1 198.5", "ended before the header did",
                 true);
}

TEST(ProxyServer, NoHeaderWithinTheTimeoutIsClosed) {
  expect_refused(behind_balancer(0.3s), "", "timed out");
}

TEST(ProxyServer, AnOversizedV2HeaderIsRefusedFromItsFirstBytes) {
  std::string announce("\r\n\r\n\0\r\nQUIT\n\x21\x11\xFF\xFF", 16);
  expect_refused(behind_balancer(), announce, "more than 4096");
}

TEST(ProxyServer, TheHeaderComesBeforeTls) {
  SSLTEST_NEED_PKI();
  ss::ServerOptions o = behind_balancer();
  auto ctx = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_SERVER);
  ctx->load_cert_chain(ssltest::pki().server_cert, ssltest::pki().server_key);
  o.ssl_context = ctx;
  ss::ThreadingTCPServer server(stu::local0(), ss::handler<WhoHandler>(), o);
  ServerThread t(server);
  ss::Socket c = stu::stream_client(server.server_address);
  c.sendall("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n");  // in clear, as HAProxy sends it
  const ss::SSLContext client =
      ss::create_default_context(ss::Purpose::SERVER_AUTH, ssltest::pki().ca_cert);
  ss::SSLSocket tls = client.wrap_socket(std::move(c), false, "localhost");
  tls.sendall("secret\n");
  std::string got;
  while (got.find('\n') == std::string::npos) {
    const std::string part = tls.recv(1024);
    if (part.empty()) break;
    got += part;
  }
  EXPECT_EQ(got, "192.0.2.1:56324 via 127.0.0.1 secret\n");
  tls.close();
  t.stop();
  server.server_close();
}

TEST(ProxyServer, OnlyStreamServersAndSaneTimeouts) {
  EXPECT_THROW(ss::UDPServer(stu::local0(), ss::handler<stu::EchoDatagram>(), behind_balancer()),
               std::invalid_argument);
  EXPECT_THROW(ss::TCPServer(stu::local0(), ss::handler<WhoHandler>(),
                             behind_balancer(std::chrono::duration<double>(0))),
               std::invalid_argument);
}

TEST(RecvProxyHeader, ReadsExactlyTheHeaderFromASocketpair) {
  auto [a, b] = ss::socketpair();
  a.sendall("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nrest");
  const ss::ProxyHeader h = ss::recv_proxy_header(b, 2s);
  EXPECT_EQ(h.source->to_string(), "192.0.2.1:56324");
  EXPECT_EQ(b.recv(100), "rest") << "nothing after the header was taken";
  a.sendall(std::string("\r\n\r\n\0\r\nQUIT\n", 12));
  a.close();
  EXPECT_THROW(ss::recv_proxy_header(b, 2s), ss::proxy_header_error) << "ended mid-header";
}

}  // namespace
