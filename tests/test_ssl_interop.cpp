// test_ssl_interop.cpp — our TLS against programs we did not write: Python's ssl module (a
// client of our SocketServer, a server for our SSLSocket, TLS 1.3 and 1.2, ALPN, client
// certificates) and the openssl tool (s_client against our server, s_server for our client).
// Each test skips with a message when its peer program is missing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "sample_util.hpp"
#include "server_test_util.hpp"
#include "socketserver/mixins.hpp"
#include "socketserver/ssl.hpp"
#include "ssl_test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using sample_test::Child;
using sample_test::python3;
using ssltest::pki;

namespace {

std::string peer_py() { return std::string(SOCKETSERVER_TESTS_DIR) + "/clients/tls_peer.py"; }

// The openssl tool's full path ("" when it is missing): Child execs without a PATH search.
std::string openssl_tool() {
  for (const char* path : {"/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

std::shared_ptr<ss::SSLContext> server_tls() {
  auto ctx = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_SERVER);
  ctx->load_cert_chain(pki().server_cert, pki().server_key);
  return ctx;
}

ss::SSLContext our_client() {
  return ss::create_default_context(ss::Purpose::SERVER_AUTH, pki().ca_cert);
}

// Our ThreadingTCPServer over TLS with EchoStream, and Python's client against it.
std::string python_client_against_us(const std::string& maxversion, const std::string& alpn,
                                     std::shared_ptr<ss::SSLContext> ctx) {
  ss::ServerOptions o;
  o.ssl_context = std::move(ctx);
  ss::ThreadingTCPServer server(stu::local0(), ss::handler<stu::EchoStream>(), o);
  stu::ServerThread t(server);
  Child py({python3(), peer_py(), "client", "127.0.0.1",
            std::to_string(server.server_address.port()), pki().ca_cert, "localhost", maxversion,
            alpn});
  const int code = py.exit_code();
  t.stop();
  server.server_close();
  return (code == 0 ? "" : "exit " + std::to_string(code) + " ") + py.out() + py.err();
}

TEST(TlsInterop, PythonsSslClientTalksToOurServerOverTls13AndTls12) {
  SSLTEST_NEED_PKI();
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  const std::string v13 = python_client_against_us("", "", server_tls());
  EXPECT_NE(v13.find("reply: hello python\n"), std::string::npos) << v13;
  EXPECT_NE(v13.find("version: TLSv1.3\n"), std::string::npos) << v13;
  const std::string v12 = python_client_against_us("1.2", "", server_tls());
  EXPECT_NE(v12.find("reply: hello python\n"), std::string::npos) << v12;
  EXPECT_NE(v12.find("version: TLSv1.2\n"), std::string::npos) << v12;
}

TEST(TlsInterop, AlpnWithPythonsClient) {
  SSLTEST_NEED_PKI();
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  auto ctx = server_tls();
  ctx->set_alpn_protocols({"http/1.1", "x-chat"});
  const std::string out = python_client_against_us("", "h2,x-chat", ctx);
  EXPECT_NE(out.find("alpn: x-chat\n"), std::string::npos) << out;
}

TEST(TlsInterop, OurClientTalksToPythonsSslServer) {
  SSLTEST_NEED_PKI();
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Child py({python3(), peer_py(), "server", "127.0.0.1", pki().server_cert, pki().server_key, "",
            "x-chat"});
  const int port = py.listening_port();
  ASSERT_GT(port, 0) << py.err();
  ss::SSLContext ctx = our_client();
  ctx.set_alpn_protocols({"x-chat"});
  ss::Socket raw(AF_INET, SOCK_STREAM);
  raw.settimeout(10.0);
  raw.connect({"127.0.0.1", port});
  ss::SSLSocket c = ctx.wrap_socket(std::move(raw), false, "localhost");
  EXPECT_EQ(c.selected_alpn_protocol(), "x-chat");
  c.sendall("hi\n");
  EXPECT_EQ(c.recv(1024), "py:hi\n");
  EXPECT_EQ(c.recv(1024), "") << "Python's unwrap sends close_notify";
  c.close();
  EXPECT_EQ(py.exit_code(), 0) << py.err();
  EXPECT_NE(py.out().find("version: TLSv1.3\n"), std::string::npos) << py.out();
  EXPECT_NE(py.out().find("peer: none\n"), std::string::npos) << py.out();
}

TEST(TlsInterop, MutualTlsWithPythonsServer) {
  SSLTEST_NEED_PKI();
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  {  // with our client certificate
    Child py({python3(), peer_py(), "server", "127.0.0.1", pki().server_cert, pki().server_key,
              pki().ca_cert});
    const int port = py.listening_port();
    ASSERT_GT(port, 0) << py.err();
    ss::SSLContext ctx = our_client();
    ctx.load_cert_chain(pki().client_cert, pki().client_key);
    ss::Socket raw(AF_INET, SOCK_STREAM);
    raw.settimeout(10.0);
    raw.connect({"127.0.0.1", port});
    ss::SSLSocket c = ctx.wrap_socket(std::move(raw), false, "localhost");
    c.sendall("me\n");
    EXPECT_EQ(c.recv(1024), "py:me\n");
    c.close();
    EXPECT_EQ(py.exit_code(), 0) << py.err();
    EXPECT_NE(py.out().find("peer: test client\n"), std::string::npos) << py.out();
  }
  {  // without: a clear failure on both sides
    Child py({python3(), peer_py(), "server", "127.0.0.1", pki().server_cert, pki().server_key,
              pki().ca_cert});
    const int port = py.listening_port();
    ASSERT_GT(port, 0) << py.err();
    ss::Socket raw(AF_INET, SOCK_STREAM);
    raw.settimeout(10.0);
    raw.connect({"127.0.0.1", port});
    EXPECT_THROW(
        {
          ss::SSLSocket c = our_client().wrap_socket(std::move(raw), false, "localhost");
          c.sendall("anon\n");
          (void)c.recv(1024);
        },
        ss::socket_error);
    EXPECT_NE(py.exit_code(), 0);
    EXPECT_NE(py.err().find("error: SSLError"), std::string::npos) << py.err();
  }
}

TEST(TlsInterop, OpensslSClientTalksToOurServer) {
  SSLTEST_NEED_PKI();
  if (openssl_tool().empty()) GTEST_SKIP() << "the openssl tool is missing";
  ss::ServerOptions o;
  o.ssl_context = server_tls();
  ss::ThreadingTCPServer server(stu::local0(), ss::handler<stu::EchoStream>(), o);
  stu::ServerThread t(server);
  Child s({openssl_tool(), "s_client", "-connect",
           "127.0.0.1:" + std::to_string(server.server_address.port()), "-CAfile", pki().ca_cert,
           "-servername", "localhost", "-verify_return_error", "-quiet"});
  ASSERT_TRUE(s.write("from s_client\n"));
  EXPECT_TRUE(s.wait_stdout("from s_client\n")) << s.err();
  s.close_output();
  (void)s.wait_exit();
  t.stop();
  server.server_close();
}

TEST(TlsInterop, OurClientTalksToOpensslSServer) {
  SSLTEST_NEED_PKI();
  if (openssl_tool().empty()) GTEST_SKIP() << "the openssl tool is missing";
  Child s({openssl_tool(), "s_server", "-accept", "127.0.0.1:0", "-cert", pki().server_cert, "-key",
           pki().server_key, "-naccept", "1", "-rev"});
  ASSERT_TRUE(s.wait_stdout("ACCEPT 127.0.0.1:")) << s.err();
  const std::string& out = s.out();
  const std::size_t at = out.find("ACCEPT 127.0.0.1:") + 17;
  const int port = std::atoi(out.c_str() + at);
  ASSERT_GT(port, 0) << out;
  ss::Socket raw(AF_INET, SOCK_STREAM);
  raw.settimeout(10.0);
  raw.connect({"127.0.0.1", port});
  ss::SSLSocket c = our_client().wrap_socket(std::move(raw), false, "localhost");
  c.sendall("abc\n");
  std::string got;
  for (int i = 0; i < 20 && got.find("cba") == std::string::npos; ++i) got += c.recv(1024);
  EXPECT_NE(got.find("cba"), std::string::npos) << got;  // -rev: each line reversed
  c.close();
}

}  // namespace
