// Tests of start_server / open_connection over TLS (asyncio_streams.hpp): an echo checked
// against the test CA, the peer certificate on both sides, a client that does not trust the
// CA, and hostile peers of a TLS server (plain text, silence past the handshake timeout) while
// a TLS client is served.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "socketserver/asyncio_server.hpp"
#include "socketserver/asyncio_streams.hpp"
#include "socketserver/ssl.hpp"
#include "ssl_test_util.hpp"
#include "test_util.hpp"

namespace {

namespace ss = socketserver;
namespace aio = socketserver::asyncio;
using namespace std::chrono_literals;
using ssltest::pki;

template <class T>
T run_bounded(ss::Reactor& reactor, aio::Task<T> main) {
  return aio::run(reactor, aio::wait_for(std::move(main), 20s), false);
}

ss::SSLContext server_ctx() {
  ss::SSLContext ctx(ss::PROTOCOL_TLS_SERVER);
  ctx.load_cert_chain(pki().server_cert, pki().server_key);
  return ctx;
}

ss::SSLContext client_ctx() {
  return ss::create_default_context(ss::Purpose::SERVER_AUTH, pki().ca_cert);
}

std::string common_name(const ss::PeerCertificate& cert) {
  for (const auto& [name, value] : cert.subject) {
    if (name == "commonName") return value;
  }
  return "";
}

// Echoes lines; the first reply names the client's certificate ("-" without one).
aio::Task<> echo_lines(aio::StreamReader& reader, aio::StreamWriter& writer) {
  const std::optional<ss::PeerCertificate> peer = writer.get_peer_certificate();
  writer.write("client cert: " + (peer ? common_name(*peer) : std::string("-")) + "\n");
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;
    writer.write(line);
    co_await writer.drain();
  }
}

// A TLS client of `port` that checks the certificate against the test CA: one line echoed.
aio::Task<> tls_echo(ss::Reactor& reactor, int port, const std::string& text, ss::SSLContext ctx) {
  auto [reader, writer] =
      co_await aio::open_connection(reactor, "127.0.0.1", port, std::move(ctx), "localhost");
  const std::optional<ss::PeerCertificate> server_cert = writer.get_peer_certificate();
  EXPECT_TRUE(server_cert.has_value());
  EXPECT_EQ(server_cert ? common_name(*server_cert) : "", "localhost");
  const std::string greeting = co_await reader.readline();
  EXPECT_EQ(greeting.rfind("client cert: ", 0), 0u) << greeting;
  writer.write(text + "\n");
  EXPECT_EQ(co_await reader.readline(), text + "\n");
  writer.close();
  co_await writer.wait_closed();
}

TEST(AsyncioTls, EchoVerifiedAgainstTheTestCaAndThePeerCertificates) {
  SSLTEST_NEED_PKI();
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, echo_lines, "127.0.0.1", 0, server_ctx());
  const int port = server.address().port();
  ASSERT_NE(port, 0);
  auto main = [&]() -> aio::Task<> {
    co_await tls_echo(reactor, port, "over tls", client_ctx());
    // The server's handler sees no client certificate: "-".
    auto [reader, writer] =
        co_await aio::open_connection(reactor, "127.0.0.1", port, client_ctx(), "localhost");
    EXPECT_EQ(co_await reader.readline(), "client cert: -\n");
  };
  run_bounded(reactor, main());
}

TEST(AsyncioTls, TheServerSeesTheClientCertificate) {
  SSLTEST_NEED_PKI();
  ss::SSLContext sctx = server_ctx();
  sctx.load_verify_locations(pki().ca_cert);
  sctx.verify_mode = ss::CERT_REQUIRED;
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, echo_lines, "127.0.0.1", 0, sctx);
  auto main = [&]() -> aio::Task<> {
    ss::SSLContext cctx = client_ctx();
    cctx.load_cert_chain(pki().client_cert, pki().client_key);
    auto [reader, writer] = co_await aio::open_connection(
        reactor, "127.0.0.1", server.address().port(), cctx, "localhost");
    EXPECT_EQ(co_await reader.readline(), "client cert: test client\n");
  };
  run_bounded(reactor, main());
}

TEST(AsyncioTls, PlainConnectionHasNoPeerCertificate) {
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, echo_lines, "127.0.0.1", 0);
  auto main = [&]() -> aio::Task<> {
    auto [reader, writer] =
        co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
    EXPECT_EQ(co_await reader.readline(), "client cert: -\n");
    EXPECT_FALSE(writer.get_peer_certificate().has_value());
  };
  run_bounded(reactor, main());
}

TEST(AsyncioTls, AClientThatDoesNotTrustTheCaGetsCertVerificationError) {
  SSLTEST_NEED_PKI();
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, echo_lines, "127.0.0.1", 0, server_ctx());
  auto main = [&]() -> aio::Task<> {
    ss::SSLContext untrusting(ss::PROTOCOL_TLS_CLIENT);  // no CA loaded
    try {
      co_await aio::open_connection(reactor, "127.0.0.1", server.address().port(), untrusting,
                                    "localhost");
      ADD_FAILURE() << "no cert_verification_error";
    } catch (const ss::cert_verification_error& e) {
      EXPECT_NE(e.verify_message().find("unable to get local issuer certificate"),
                std::string::npos)
          << e.what();
    }
    // The server goes on.
    co_await tls_echo(reactor, server.address().port(), "after", client_ctx());
  };
  testing::internal::CaptureStderr();  // the server's one-line report of the failed handshake
  run_bounded(reactor, main());
  (void)testing::internal::GetCapturedStderr();
}

// As over plain TCP: a TLS open_connection's Connector (and its TLS layer) is freed once the
// connection has ended, or once the handshake has failed.
TEST(AsyncioTls, OpenConnectionLeavesNoConnectorBehind) {
  SSLTEST_NEED_PKI();
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, echo_lines, "127.0.0.1", 0, server_ctx());
  const int port = server.address().port();
  auto main = [&]() -> aio::Task<std::size_t> {
    for (int i = 0; i < 20; ++i)
      co_await tls_echo(reactor, port, "n" + std::to_string(i), client_ctx());
    for (int i = 0; i < 5; ++i) {
      try {
        co_await aio::open_connection(reactor, "127.0.0.1", port,
                                      ss::SSLContext(ss::PROTOCOL_TLS_CLIENT), "localhost");
      } catch (const ss::cert_verification_error&) {
      }
    }
    for (int i = 0; i < 400 && reactor.connector_count() > 0; ++i) {
      co_await aio::sleep(reactor, 5ms);
    }
    co_return reactor.connector_count();
  };
  testing::internal::CaptureStderr();  // the server's reports of the failed handshakes
  EXPECT_EQ(run_bounded(reactor, main()), 0u);
  (void)testing::internal::GetCapturedStderr();
}

TEST(AsyncioTls, AWrongHostNameIsACertVerificationError) {
  SSLTEST_NEED_PKI();
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, echo_lines, "127.0.0.1", 0, server_ctx());
  auto main = [&]() -> aio::Task<> {
    EXPECT_THROW(co_await aio::open_connection(reactor, "127.0.0.1", server.address().port(),
                                               client_ctx(), "other.example"),
                 ss::cert_verification_error);
  };
  testing::internal::CaptureStderr();
  run_bounded(reactor, main());
  (void)testing::internal::GetCapturedStderr();
}

TEST(AsyncioTls, OpenConnectionToAClosedPortRaisesConnectionRefused) {
  SSLTEST_NEED_PKI();
  ss::Reactor reactor;
  const testutil::ClosedPort closed;  // reserved: no other process can take it meanwhile
  const int port = closed.address().port();
  auto main = [&]() -> aio::Task<> {
    EXPECT_THROW(co_await aio::open_connection(reactor, "127.0.0.1", port, client_ctx()),
                 ss::connection_refused_error);
  };
  run_bounded(reactor, main());
}

// Reads until the end of the stream or an error: the connection was closed.
aio::Task<bool> closed_by_peer(aio::StreamReader& reader) {
  try {
    for (int i = 0; i < 100; ++i) {
      if ((co_await reader.read(4096)).empty()) co_return true;
    }
  } catch (const ss::socket_error&) {
    co_return true;
  }
  co_return false;
}

TEST(AsyncioTls, APlainTextClientIsClosedAndTheServerGoesOn) {
  SSLTEST_NEED_PKI();
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, echo_lines, "127.0.0.1", 0, server_ctx());
  const int port = server.address().port();
  auto main = [&]() -> aio::Task<> {
    auto plain = co_await aio::open_connection(reactor, "127.0.0.1", port);
    plain.writer.write("GET / HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(co_await closed_by_peer(plain.reader));
    co_await tls_echo(reactor, port, "still serving", client_ctx());
  };
  testing::internal::CaptureStderr();
  run_bounded(reactor, main());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("TLS handshake failed"), std::string::npos) << err;
  EXPECT_EQ(server.active_handlers(), 0u);
}

TEST(AsyncioTls, ASilentClientIsClosedAtTheHandshakeTimeoutWhileOthersAreServed) {
  SSLTEST_NEED_PKI();
  ss::Reactor reactor;
  ss::ListenOptions options;
  options.handshake_timeout = std::chrono::duration<double>(2);
  aio::Server server =
      aio::start_server(reactor, echo_lines, "127.0.0.1", 0, server_ctx(), options);
  const int port = server.address().port();
  auto main = [&]() -> aio::Task<> {
    auto silent = co_await aio::open_connection(reactor, "127.0.0.1", port);
    // Served while the silent one waits (well within its 2 s, on a busy machine too).
    co_await tls_echo(reactor, port, "served", client_ctx());
    EXPECT_FALSE(silent.writer.is_closing()) << "the silent client was closed first";
    EXPECT_TRUE(co_await closed_by_peer(silent.reader));
    // And after.
    co_await tls_echo(reactor, port, "served again", client_ctx());
  };
  testing::internal::CaptureStderr();
  run_bounded(reactor, main());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("timed out after 2 s (handshake_timeout)"), std::string::npos) << err;
}

TEST(AsyncioTls, StartServerWithAClientContextThrows) {
  ss::Reactor reactor;
  EXPECT_THROW(aio::start_server(reactor, echo_lines, "127.0.0.1", 0,
                                 ss::SSLContext(ss::PROTOCOL_TLS_CLIENT)),
               std::invalid_argument);
}

// AsyncTCPServer with options.ssl: handle() sees plaintext and the client's certificate.
struct CertEchoHandler : aio::AsyncStreamRequestHandler {
  using AsyncStreamRequestHandler::AsyncStreamRequestHandler;
  aio::Task<> handle() override { co_await echo_lines(rfile, wfile); }
};

TEST(AsyncioTls, AsyncTcpServerWithAnSslContextServesTls) {
  SSLTEST_NEED_PKI();
  aio::AsyncServerOptions options;
  options.ssl = std::make_shared<const ss::SSLContext>(server_ctx());
  aio::AsyncTCPServer server(ss::Address::inet("127.0.0.1", 0),
                             aio::async_handler<CertEchoHandler>(), options);
  std::thread serving([&server] { server.serve_forever(); });
  struct Join {
    aio::AsyncTCPServer& server;
    std::thread& thread;
    ~Join() {
      server.shutdown();
      thread.join();
    }
  } join{server, serving};
  ss::Reactor reactor;
  auto main = [&]() -> aio::Task<> {
    co_await tls_echo(reactor, server.server_address().port(), "async tcp server", client_ctx());
  };
  run_bounded(reactor, main());
}

TEST(AsyncioTls, AsyncUnixStreamServerRefusesAnSslContext) {
  SSLTEST_NEED_PKI();
  aio::AsyncServerOptions options;
  options.ssl = std::make_shared<const ss::SSLContext>(server_ctx());
  EXPECT_THROW(aio::AsyncUnixStreamServer(ss::Address::unix_path("/tmp/aiotls-never.sock"),
                                          aio::async_handler<CertEchoHandler>(), options),
               std::invalid_argument);
}

}  // namespace
