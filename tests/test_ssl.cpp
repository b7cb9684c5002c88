// test_ssl.cpp — SSLContext and SSLSocket (ssl.hpp) against themselves over loopback, with a
// PKI made for the run (ssl_test_util.hpp): the handshake and what it reports, the secure
// defaults (verification, host names, TLS 1.2 minimum, close_notify, ragged EOFs), timeouts
// and non-blocking use, ALPN and SNI, client certificates, unwrap, and what a peer that is not
// a TLS client, a wrong certificate or a wrong key does (each a clear error, nothing ends).
#include "socketserver/ssl.hpp"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <typeinfo>

#include "ssl_test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using ssltest::pki;

namespace {

// A loopback listener on a port of its own, and one server-side connection at a time in a
// thread: accept, wrap (the handshake), then `body`. What the server side throws is kept.
class OneShotServer {
 public:
  explicit OneShotServer(ss::SSLContext ctx) : ctx_(std::move(ctx)) {
    listener_.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    listener_.bind({"127.0.0.1", 0});
    listener_.listen(8);
    listener_.settimeout(10.0);
    port_ = listener_.getsockname().port();
  }
  ~OneShotServer() { join(); }
  OneShotServer(const OneShotServer&) = delete;
  OneShotServer& operator=(const OneShotServer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  ss::Socket& listener() { return listener_; }

  // Serves one connection with `body` (after the handshake, unless `plain`).
  void serve(std::function<void(ss::SSLSocket&)> body) {
    join();
    error_.clear();
    thread_ = std::thread([this, body = std::move(body)] {
      try {
        auto [conn, addr] = listener_.accept();
        conn.settimeout(10.0);
        ss::SSLSocket tls = ctx_.wrap_socket(std::move(conn), true);
        body(tls);
      } catch (const std::exception& e) {
        error_ = e.what();
        error_kind_ = typeid(e).name();
      }
    });
  }
  // Waits for the served connection to end; returns what its side threw ("" if nothing).
  std::string join() {
    if (thread_.joinable()) thread_.join();
    return error_;
  }
  [[nodiscard]] const std::string& error_kind() const { return error_kind_; }

 private:
  ss::SSLContext ctx_;
  ss::Socket listener_{AF_INET, SOCK_STREAM};
  int port_ = 0;
  std::thread thread_;
  std::string error_;
  std::string error_kind_;
};

ss::SSLContext server_context() {
  ss::SSLContext ctx(ss::PROTOCOL_TLS_SERVER);
  ctx.load_cert_chain(pki().server_cert, pki().server_key);
  return ctx;
}

ss::SSLContext client_context() {
  ss::SSLContext ctx = ss::create_default_context(ss::Purpose::SERVER_AUTH, pki().ca_cert);
  return ctx;
}

ss::Socket connected(int port) {
  ss::Socket s(AF_INET, SOCK_STREAM);
  s.settimeout(10.0);
  s.connect({"127.0.0.1", port});
  return s;
}

ss::SSLSocket client(const ss::SSLContext& ctx, int port, const std::string& name = "localhost") {
  return ctx.wrap_socket(connected(port), false, name);
}

void echo_once(ss::SSLSocket& tls) {
  const std::string got = tls.recv(1024);
  tls.sendall("echo:" + got);
}

// ---- the handshake and what it tells ----------------------------------------------------------

TEST(SSLSocket, HandshakeThenDataBothWaysWithTheSecureDefaults) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve(echo_once);
  ss::SSLSocket c = client(client_context(), server.port());
  EXPECT_TRUE(c.handshake_done());
  c.sendall("hello");
  EXPECT_EQ(c.recv(1024), "echo:hello");
  EXPECT_EQ(server.join(), "");
  EXPECT_EQ(c.version(), "TLSv1.3");
  ASSERT_TRUE(c.cipher());
  EXPECT_FALSE(c.cipher()->name.empty());
  EXPECT_GE(c.cipher()->bits, 128);
  EXPECT_FALSE(c.session_reused());
  EXPECT_FALSE(c.server_side());
  EXPECT_EQ(c.server_hostname(), "localhost");
  const auto cert = c.getpeercert();
  ASSERT_TRUE(cert);
  EXPECT_FALSE(cert->der.empty());
  ASSERT_FALSE(cert->subject.empty());
  EXPECT_EQ(cert->subject.back(), (std::pair<std::string, std::string>{"commonName", "localhost"}));
  EXPECT_EQ(cert->issuer.back().second, "socketserver test CA");
  const std::vector<std::pair<std::string, std::string>> san = {
      {"DNS", "localhost"}, {"IP Address", "127.0.0.1"}, {"IP Address", "::1"}};
  EXPECT_EQ(cert->subject_alt_name, san);
  EXPECT_NE(cert->not_after.find("GMT"), std::string::npos) << cert->not_after;
  EXPECT_FALSE(cert->serial_number.empty());
}

TEST(SSLSocket, AnIpAddressIsCheckedAgainstTheCertificatesIpEntries) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve(echo_once);
  ss::SSLSocket c = client(client_context(), server.port(), "127.0.0.1");
  c.sendall("ip");
  EXPECT_EQ(c.recv(1024), "echo:ip");
  EXPECT_EQ(server.join(), "");
}

TEST(SSLSocket, AnUnknownIssuerFailsVerificationWithPythonsMessage) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve([](ss::SSLSocket&) {});
  // The system's CA store does not know our test CA.
  const ss::SSLContext system = ss::create_default_context();
  try {
    client(system, server.port(), "127.0.0.1");
    FAIL() << "verified a certificate of an unknown CA";
  } catch (const ss::cert_verification_error& e) {
    EXPECT_EQ(e.verify_code(), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    EXPECT_EQ(e.verify_message(), "unable to get local issuer certificate");
    const std::string what = e.what();
    EXPECT_NE(what.find("certificate verify failed: unable to get local issuer certificate"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos)
        << what;
  }
  EXPECT_NE(server.join(), "") << "the server saw the client's alert";
}

TEST(SSLSocket, AHostNameMismatchFailsVerification) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve([](ss::SSLSocket&) {});
  try {
    client(client_context(), server.port(), "example.com");
    FAIL() << "accepted a certificate for another name";
  } catch (const ss::cert_verification_error& e) {
    EXPECT_EQ(e.verify_code(), X509_V_ERR_HOSTNAME_MISMATCH);
    EXPECT_EQ(e.verify_message(),
              "Hostname mismatch, certificate is not valid for 'example.com'.");
  }
  server.join();
}

TEST(SSLSocket, AnExpiredCertificateFailsVerificationWithItsOwnMessage) {
  SSLTEST_NEED_PKI();
  ss::SSLContext sctx(ss::PROTOCOL_TLS_SERVER);
  sctx.load_cert_chain(pki().expired_cert, pki().expired_key);
  OneShotServer server(std::move(sctx));
  server.serve([](ss::SSLSocket&) {});
  try {
    client(client_context(), server.port());
    FAIL() << "accepted an expired certificate";
  } catch (const ss::cert_verification_error& e) {
    EXPECT_EQ(e.verify_code(), X509_V_ERR_CERT_HAS_EXPIRED);
    EXPECT_EQ(e.verify_message(), "certificate has expired");
  }
  server.join();
}

TEST(SSLSocket, TurningVerificationOffIsExplicitAndTheCertificateIsThenNotParsed) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve(echo_once);
  ss::SSLContext lax(ss::PROTOCOL_TLS_CLIENT);
  lax.verify_mode = ss::CERT_NONE;
  EXPECT_THROW(lax.wrap_socket(ss::socketpair().first, false, "localhost", false),
               std::invalid_argument)
      << "check_hostname without a verify mode is refused (as Python's ValueError)";
  lax.check_hostname = false;
  ss::SSLSocket c = lax.wrap_socket(connected(server.port()), false, "localhost");
  c.sendall("x");
  EXPECT_EQ(c.recv(1024), "echo:x");
  const auto cert = c.getpeercert();
  ASSERT_TRUE(cert);
  EXPECT_FALSE(cert->der.empty());
  EXPECT_TRUE(cert->subject.empty()) << "as Python: {} for a certificate not verified";
  server.join();
}

TEST(SSLSocket, ClientContextsNeedAServerHostname) {
  SSLTEST_NEED_PKI();
  EXPECT_THROW(client_context().wrap_socket(ss::socketpair().first, false, ""),
               std::invalid_argument);
  EXPECT_THROW(client_context().wrap_socket(ss::socketpair().first, true), std::invalid_argument)
      << "server_side with a client context";
  EXPECT_THROW(server_context().wrap_socket(ss::socketpair().first, false, "localhost"),
               std::invalid_argument)
      << "a client with a server context";
}

TEST(SSLSocket, Tls12IsTheMinimumAndCanBeTheMaximum) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve(echo_once);
  ss::SSLContext ctx = client_context();
  ctx.maximum_version = ss::TLSVersion::TLSv1_2;
  ss::SSLSocket c = client(ctx, server.port());
  EXPECT_EQ(c.version(), "TLSv1.2");
  c.sendall("v12");
  EXPECT_EQ(c.recv(1024), "echo:v12");
  server.join();
  // A server that wants 1.3 and a client that stops at 1.2 do not agree.
  ss::SSLContext strict = server_context();
  strict.minimum_version = ss::TLSVersion::TLSv1_3;
  OneShotServer strict_server(std::move(strict));
  strict_server.serve([](ss::SSLSocket&) {});
  EXPECT_THROW(client(ctx, strict_server.port()), ss::ssl_error);
  EXPECT_NE(strict_server.join(), "");
}

// ---- the end of a connection --------------------------------------------------------------

TEST(SSLSocket, CloseSendsCloseNotifyAndThePeerReadsTheEnd) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve([](ss::SSLSocket& tls) {
    tls.sendall("bye");
    tls.close();
  });
  ss::SSLSocket c = client(client_context(), server.port());
  EXPECT_EQ(c.recv(1024), "bye");
  EXPECT_EQ(c.recv(1024), "") << "close_notify: the clean end";
  EXPECT_EQ(server.join(), "");
}

TEST(SSLSocket, AnEndWithoutCloseNotifyIsReportedUnlessSuppressed) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  const auto cut = [](ss::SSLSocket& tls) {
    tls.sendall("partial");
    tls.socket().shutdown(SHUT_RDWR);  // the TCP end, no close_notify: a truncation
  };
  server.serve(cut);
  ss::SSLSocket c = client(client_context(), server.port());
  EXPECT_EQ(c.recv(1024), "partial");
  EXPECT_THROW(c.recv(1024), ss::ssl_eof_error);
  server.join();
  server.serve(cut);
  ss::SSLSocket lax = client_context().wrap_socket(connected(server.port()), false, "localhost",
                                                   true, /*suppress_ragged_eofs=*/true);
  EXPECT_EQ(lax.recv(1024), "partial");
  EXPECT_EQ(lax.recv(1024), "") << "suppress_ragged_eofs: read as the end (Python's default)";
  server.join();
}

TEST(SSLSocket, UnwrapEndsTlsAndTheSocketGoesOnInCleartext) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve([](ss::SSLSocket& tls) {
    echo_once(tls);
    ss::Socket plain = tls.unwrap();
    plain.sendall("plain:" + plain.recv(1024));
  });
  ss::SSLSocket c = client(client_context(), server.port());
  c.sendall("secret");
  EXPECT_EQ(c.recv(1024), "echo:secret");
  ss::Socket plain = c.unwrap();
  EXPECT_FALSE(c.handshake_done());
  EXPECT_EQ(c.fileno(), -1) << "the descriptor went with the plain socket";
  plain.sendall("open");
  EXPECT_EQ(plain.recv(1024), "plain:open");
  EXPECT_EQ(server.join(), "");
}

TEST(SSLSocket, AClientResumesItsSessionAndSessionReusedSaysSo) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve(echo_once);
  const ss::SSLContext ctx = client_context();
  std::optional<ss::SSLSession> saved;
  {
    ss::SSLSocket first = client(ctx, server.port());
    first.sendall("one");
    EXPECT_EQ(first.recv(1024), "echo:one");  // TLS 1.3's tickets come with the data
    EXPECT_FALSE(first.session_reused());
    saved = first.session();
  }
  server.join();
  ASSERT_TRUE(saved);
  EXPECT_TRUE(saved->has_ticket());
  server.serve(echo_once);
  ss::SSLSocket second = ctx.wrap_socket(connected(server.port()), false, "localhost", true,
                                         false, saved);
  EXPECT_TRUE(second.session_reused());
  second.sendall("two");
  EXPECT_EQ(second.recv(1024), "echo:two");
  EXPECT_EQ(server.join(), "");
  EXPECT_THROW(server_context().wrap_socket(ss::socketpair().first, true, "", false, false, saved),
               std::invalid_argument);
}

// ---- timeouts and non-blocking use ---------------------------------------------------------

TEST(SSLSocket, ARecvTimesOutAfterTheSocketsTimeout) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve([](ss::SSLSocket& tls) { (void)tls.recv(1024); });  // waits for the client
  ss::SSLSocket c = client(client_context(), server.port());
  c.settimeout(0.2);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(c.recv(1024), ss::timeout_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  c.close();
  server.join();
}

TEST(SSLSocket, AHandshakeWithASilentPeerTimesOut) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  ss::Socket s = connected(server.port());  // accepted by the kernel, never answered
  s.settimeout(0.3);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(client_context().wrap_socket(std::move(s), false, "localhost"), ss::timeout_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(SSLSocket, NonBlockingCallsThatWouldWaitThrowWantRead) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve([](ss::SSLSocket& tls) { (void)tls.recv(1024); });
  ss::SSLSocket c = client(client_context(), server.port());
  c.setblocking(false);
  EXPECT_THROW(c.recv(1024), ss::ssl_want_read_error);
  c.setblocking(true);
  c.sendall("done");
  EXPECT_EQ(server.join(), "");
}

TEST(SSLSocket, ALargeSendallArrivesWhole) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  const std::string big(3 << 20, 'z');
  std::string received;
  server.serve([&](ss::SSLSocket& tls) {
    while (received.size() < big.size()) {
      const std::string part = tls.recv(65536);
      if (part.empty()) break;
      received += part;
    }
  });
  ss::SSLSocket c = client(client_context(), server.port());
  c.sendall(big);
  EXPECT_EQ(server.join(), "");
  EXPECT_EQ(received.size(), big.size());
  EXPECT_EQ(received, big);
}

TEST(SSLSocket, WritingToAPeerThatLeftIsAnErrorNotSigpipe) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve([](ss::SSLSocket& tls) { tls.socket().shutdown(SHUT_RDWR); });
  ss::SSLSocket c = client(client_context(), server.port());
  server.join();
  bool failed = false;
  for (int i = 0; i < 200 && !failed; ++i) {  // bounded: the reset arrives within a few sends
    try {
      c.sendall(std::string(16384, 'w'));
    } catch (const ss::socket_error&) {
      failed = true;
    }
  }
  EXPECT_TRUE(failed) << "the process is still alive: no SIGPIPE, and the error is reported";
}

// ---- ALPN, SNI, client certificates ---------------------------------------------------------

TEST(SSLSocket, AlpnAgreesOnTheClientsFirstChoiceTheServerKnows) {
  SSLTEST_NEED_PKI();
  ss::SSLContext sctx = server_context();
  sctx.set_alpn_protocols({"http/1.1", "x-test"});
  OneShotServer server(std::move(sctx));
  std::optional<std::string> server_saw;
  server.serve([&](ss::SSLSocket& tls) { server_saw = tls.selected_alpn_protocol(); });
  ss::SSLContext cctx = client_context();
  cctx.set_alpn_protocols({"h2", "x-test", "http/1.1"});
  ss::SSLSocket c = client(cctx, server.port());
  EXPECT_EQ(c.selected_alpn_protocol(), "x-test");
  EXPECT_EQ(server.join(), "");
  EXPECT_EQ(server_saw, "x-test");
  EXPECT_THROW(cctx.set_alpn_protocols({""}), std::invalid_argument);
}

TEST(SSLSocket, TheSniCallbackSeesTheNameAndMayChooseTheCertificate) {
  SSLTEST_NEED_PKI();
  ss::SSLContext sctx(ss::PROTOCOL_TLS_SERVER);
  sctx.load_cert_chain(pki().other_cert, pki().other_key);  // the default: a wrong one
  const ss::SSLContext right = server_context();
  std::string asked;
  sctx.set_sni_callback([&](std::string_view name) -> std::optional<ss::SSLContext> {
    asked = name;
    if (name == "localhost") return right;
    return std::nullopt;
  });
  OneShotServer server(std::move(sctx));
  server.serve(echo_once);
  ss::SSLSocket c = client(client_context(), server.port());
  c.sendall("sni");
  EXPECT_EQ(c.recv(1024), "echo:sni");
  EXPECT_EQ(server.join(), "");
  EXPECT_EQ(asked, "localhost");
}

TEST(SSLSocket, AServerRequiringClientCertificatesRefusesClientsWithout) {
  SSLTEST_NEED_PKI();
  ss::SSLContext sctx = server_context();
  sctx.verify_mode = ss::CERT_REQUIRED;
  sctx.load_verify_locations(pki().ca_cert);
  OneShotServer server(std::move(sctx));
  std::string client_cn;
  server.serve([&](ss::SSLSocket& tls) {
    const auto cert = tls.getpeercert();
    if (cert && !cert->subject.empty()) client_cn = cert->subject.back().second;
    echo_once(tls);
  });
  ss::SSLContext with = client_context();
  with.load_cert_chain(pki().client_cert, pki().client_key);
  ss::SSLSocket c = client(with, server.port());
  c.sendall("me");
  EXPECT_EQ(c.recv(1024), "echo:me");
  EXPECT_EQ(server.join(), "");
  EXPECT_EQ(client_cn, "test client");
  // Without a certificate: the server's handshake fails (TLS 1.3 tells the client on its
  // first read).
  server.serve([](ss::SSLSocket&) {});
  EXPECT_THROW(
      {
        ss::SSLSocket anon = client(client_context(), server.port());
        (void)anon.recv(1024);
      },
      ss::socket_error);  // the server's alert (ssl_error), or its reset
  EXPECT_NE(server.join(), "");
}

// ---- bad input and bad files ------------------------------------------------------------------

TEST(SSLSocket, APlainTextClientIsAClearHandshakeErrorAndTheServerGoesOn) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve([](ss::SSLSocket&) {});
  {
    ss::Socket plain = connected(server.port());
    plain.sendall("GET / HTTP/1.0\r\n\r\n");
    server.join();
  }
  EXPECT_NE(server.join(), "");
  EXPECT_NE(server.error_kind().find("ssl_error"), std::string::npos) << server.error_kind();
  // The next client is served as ever.
  server.serve(echo_once);
  ss::SSLSocket c = client(client_context(), server.port());
  c.sendall("next");
  EXPECT_EQ(c.recv(1024), "echo:next");
  EXPECT_EQ(server.join(), "");
}

TEST(SSLSocket, AClientThatLeavesMidHandshakeIsAnEofError) {
  SSLTEST_NEED_PKI();
  OneShotServer server(server_context());
  server.serve([](ss::SSLSocket&) {});
  { ss::Socket gone = connected(server.port()); }  // connects and closes
  EXPECT_NE(server.join(), "");
  EXPECT_NE(server.error_kind().find("ssl_eof_error"), std::string::npos) << server.error_kind();
}

TEST(SSLContext, LoadCertChainErrors) {
  SSLTEST_NEED_PKI();
  ss::SSLContext ctx(ss::PROTOCOL_TLS_SERVER);
  try {
    ctx.load_cert_chain(pki().dir + "/missing.pem");
    FAIL() << "loaded a missing file";
  } catch (const ss::socket_error& e) {
    EXPECT_EQ(e.errno_value(), ENOENT) << e.what();
  }
  EXPECT_THROW(ctx.load_cert_chain(pki().server_cert, pki().client_key), ss::ssl_error)
      << "a key that does not match the certificate";
  EXPECT_THROW(ctx.load_cert_chain(pki().server_cert, pki().server_key_encrypted, "wrong"),
               ss::ssl_error);
  EXPECT_THROW(ctx.load_cert_chain(pki().server_cert, pki().server_key_encrypted), ss::ssl_error)
      << "an encrypted key without a password fails instead of prompting";
  EXPECT_NO_THROW(ctx.load_cert_chain(pki().server_cert, pki().server_key_encrypted, "secret"));
}

TEST(SSLContext, VerifyLocationsFromDataAndErrors) {
  SSLTEST_NEED_PKI();
  ss::SSLContext ctx(ss::PROTOCOL_TLS_CLIENT);
  EXPECT_THROW(ctx.load_verify_locations(), std::invalid_argument);
  EXPECT_THROW(ctx.load_verify_locations("", "", "not a certificate"), ss::ssl_error);
  try {
    ctx.load_verify_locations(pki().dir + "/missing.pem");
    FAIL();
  } catch (const ss::socket_error& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
  }
  ctx.load_verify_locations("", "", pki().read(pki().ca_cert));
  OneShotServer server(server_context());
  server.serve(echo_once);
  ss::SSLSocket c = client(ctx, server.port());
  c.sendall("cadata");
  EXPECT_EQ(c.recv(1024), "echo:cadata");
  server.join();
}

TEST(SSLContext, SettingsErrors) {
  EXPECT_THROW(ss::SSLContext(3), std::invalid_argument);
  ss::SSLContext ctx(ss::PROTOCOL_TLS_CLIENT);
  try {
    ctx.set_ciphers("NO-SUCH-CIPHER");
    FAIL();
  } catch (const ss::ssl_error& e) {
    EXPECT_NE(std::string(e.what()).find("No cipher can be selected."), std::string::npos);
  }
  EXPECT_EQ(ctx.verify_mode, ss::CERT_REQUIRED);
  EXPECT_TRUE(ctx.check_hostname);
  const ss::SSLContext server(ss::PROTOCOL_TLS_SERVER);
  EXPECT_EQ(server.verify_mode, ss::CERT_NONE);
  EXPECT_FALSE(server.check_hostname);
  EXPECT_EQ(server.minimum_version, ss::TLSVersion::TLSv1_2);
}

}  // namespace
