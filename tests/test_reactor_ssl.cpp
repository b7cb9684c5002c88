// test_reactor_ssl.cpp — TLS in the reactor (issue 12 part 5): listen_ssl with our SSLSocket and
// Python's ssl module as clients, connect_ssl (and its verification failures), start_tls,
// client certificates, hostile peers (plain text, garbage, a cut handshake, silence, a reader
// that stops), 1 MB each way, and ReactorGroup.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "reactor_test_util.hpp"
#include "sample_util.hpp"
#include "server_test_util.hpp"
#include "socketserver/reactor.hpp"
#include "socketserver/ssl.hpp"
#include "socketserver/testing.hpp"
#include "ssl_test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using rtu::ReactorThread;
using ssltest::pki;

namespace {

ss::SSLContext server_ctx(const std::string& cert = "", const std::string& key = "") {
  ss::SSLContext ctx(ss::PROTOCOL_TLS_SERVER);
  ctx.load_cert_chain(cert.empty() ? pki().server_cert : cert,
                      key.empty() ? pki().server_key : key);
  return ctx;
}

ss::SSLContext client_ctx() {
  return ss::create_default_context(ss::Purpose::SERVER_AUTH, pki().ca_cert);
}

// Our blocking TLS client on 127.0.0.1:port, handshake done.
ss::SSLSocket tls_client(int port, const ss::SSLContext& ctx = client_ctx()) {
  ss::Socket raw = stu::stream_client({"127.0.0.1", port});
  return ctx.wrap_socket(std::move(raw), false, "localhost");
}

std::string read_tls_line(ss::SSLSocket& s) {
  std::string line;
  for (int i = 0; i < 100000 && (line.empty() || line.back() != '\n'); ++i) {
    const std::string got = s.recv(1);
    if (got.empty()) break;
    line += got;
  }
  return line;
}

// What the server side saw, from any thread.
struct Seen {
  std::mutex mu;
  std::string version;
  std::string peer_cn;
  std::vector<std::string> lines;
  std::atomic<int> made{0};
  std::atomic<int> handshakes{0};
  std::atomic<int> lost{0};
  void add(std::string line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(std::move(line));
  }
};

// LineReceiver echo ("\n" lines), unchanged over TLS; notes the TLS version and the peer's
// certificate common name.
struct LineEcho : ss::LineReceiver {
  explicit LineEcho(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) { delimiter = "\n"; }
  void connection_made() override {
    seen_->made.fetch_add(1);
    std::lock_guard<std::mutex> lock(seen_->mu);
    if (const ss::SSLObject* tls = transport().ssl_object()) {
      seen_->version = tls->version().value_or("");
    }
    if (auto cert = transport().get_peer_certificate()) {
      for (const auto& [k, v] : cert->subject) {
        if (k == "commonName") seen_->peer_cn = v;
      }
    }
  }
  void handshake_completed() override { seen_->handshakes.fetch_add(1); }
  void line_received(std::string_view line) override {
    seen_->add(std::string(line));
    send_line(line);
  }
  void connection_lost(const ss::Reason&) override { seen_->lost.fetch_add(1); }
  std::shared_ptr<Seen> seen_;
};

std::shared_ptr<ss::Factory> echo_factory(const std::shared_ptr<Seen>& seen) {
  return ss::Factory::for_protocol<LineEcho>(seen);
}

int listen_ssl_port(ReactorThread& t, ss::Reactor& r, std::shared_ptr<ss::Factory> f,
                    ss::ListenOptions o = rtu::local_opts(), ss::SSLContext ctx = server_ctx()) {
  return t.call([&] { return r.listen_ssl(0, f, ctx, o).get_host().port(); });
}

// ---- listen_ssl ---------------------------------------------------------------------------

TEST(ReactorSsl, LineReceiverEchoesOverListenSslForOurSslSocketClient) {
  SSLTEST_NEED_PKI();
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  ReactorThread t(r);
  const int port = listen_ssl_port(t, r, echo_factory(seen));
  for (int k = 0; k < 3; ++k) {
    ss::SSLSocket c = tls_client(port);
    c.sendall("hello\nworld\n");
    EXPECT_EQ(read_tls_line(c), "hello\n");
    EXPECT_EQ(read_tls_line(c), "world\n");
    c.close();  // close_notify: the server's protocol hears a clean end
  }
  EXPECT_TRUE(rtu::wait_until([&] { return seen->lost.load() == 3; }));
  EXPECT_EQ(seen->made.load(), 3);
  EXPECT_EQ(seen->handshakes.load(), 3);
  std::lock_guard<std::mutex> lock(seen->mu);
  EXPECT_EQ(seen->version, "TLSv1.3");
  EXPECT_EQ(seen->lines.size(), 6u);
}

TEST(ReactorSsl, PythonsSslClientTalksToListenSsl) {
  SSLTEST_NEED_PKI();
  if (sample_test::python3().empty()) GTEST_SKIP() << "python3 not found";
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  ReactorThread t(r);
  const int port = listen_ssl_port(t, r, echo_factory(seen));
  for (const std::string maxversion : {"", "1.2"}) {
    sample_test::Child py(
        {sample_test::python3(), std::string(SOCKETSERVER_TESTS_DIR) + "/clients/tls_peer.py",
         "client", "127.0.0.1", std::to_string(port), pki().ca_cert, "localhost", maxversion, ""});
    EXPECT_EQ(py.exit_code(), 0) << py.err();
    const std::string out = py.out();
    EXPECT_NE(out.find("reply: hello python\n"), std::string::npos) << out << py.err();
    EXPECT_NE(out.find(maxversion == "1.2" ? "version: TLSv1.2" : "version: TLSv1.3"),
              std::string::npos)
        << out;
  }
}

TEST(ReactorSsl, ListenSslRejectsAClientContextOneWithoutCertificateAndBadTimeout) {
  SSLTEST_NEED_PKI();
  ss::Reactor r;
  auto f = echo_factory(std::make_shared<Seen>());
  EXPECT_THROW(r.listen_ssl(0, f, client_ctx(), rtu::local_opts()), std::invalid_argument);
  EXPECT_THROW(r.listen_ssl(0, f, ss::SSLContext(ss::PROTOCOL_TLS_SERVER), rtu::local_opts()),
               std::invalid_argument);
  ss::ListenOptions o = rtu::local_opts();
  o.handshake_timeout = std::chrono::duration<double>(-1);
  EXPECT_THROW(r.listen_ssl(0, f, server_ctx(), o), std::invalid_argument);
  EXPECT_THROW(r.listen_ssl(0, nullptr, server_ctx(), rtu::local_opts()), std::invalid_argument);
}

// ---- connect_ssl --------------------------------------------------------------------------

// A client that sends `payload`, waits for as many bytes back, and closes.
struct Sender : ss::Protocol {
  struct State {
    std::string payload;
    std::string got;
    std::string version;
    std::string cipher;
    std::string failed;
    ss::Reason lost;
    bool made = false;
    bool ended = false;
  };
  explicit Sender(std::shared_ptr<State> s) : s_(std::move(s)) {}
  // It writes once: a full write buffer must not stop it reading the echo (the default would,
  // and the echo server, not read, would stop reading too).
  void pause_writing() override {}
  void resume_writing() override {}
  void connection_made() override {
    s_->made = true;
    s_->version = transport().ssl_object()->version().value_or("");
    s_->cipher = transport().ssl_object()->cipher()->name;
    transport().write(s_->payload);
  }
  void data_received(std::string_view d) override {
    s_->got.append(d);
    if (s_->got.size() >= s_->payload.size()) transport().lose_connection();
  }
  std::shared_ptr<State> s_;
};

struct SenderFactory : ss::ClientFactory {
  explicit SenderFactory(std::shared_ptr<Sender::State> s) : s_(std::move(s)) {
    protocol = [this] { return std::make_unique<Sender>(s_); };
  }
  void client_connection_failed(ss::Connector& c, const ss::Reason& reason) override {
    s_->failed = reason.what();
    s_->ended = true;
    (void)c;
    reactor_->stop();
  }
  void client_connection_lost(ss::Connector&, const ss::Reason& reason) override {
    s_->lost = reason;
    s_->ended = true;
    reactor_->stop();
  }
  std::shared_ptr<Sender::State> s_;
  ss::Reactor* reactor_ = nullptr;
};

// Runs one connect_ssl client against a listen_ssl echo server in one reactor.
std::shared_ptr<Sender::State> connect_once(const std::string& payload,
                                            ss::SSLContext server = server_ctx(),
                                            std::string name = "localhost",
                                            ss::SSLContext client = client_ctx()) {
  auto st = std::make_shared<Sender::State>();
  st->payload = payload;
  ss::Reactor r;
  auto seen = std::make_shared<Seen>();
  auto echo = ss::Factory::for_protocol<rtu::Echo>();
  const int port = r.listen_ssl(0, echo, server, rtu::local_opts()).get_host().port();
  auto f = std::make_shared<SenderFactory>(st);
  f->reactor_ = &r;
  r.connect_ssl("127.0.0.1", port, f, client, std::chrono::duration<double>(10), name);
  rtu::run_bounded(r);
  return st;
}

TEST(ReactorSsl, ConnectSslTalksToListenSsl) {
  SSLTEST_NEED_PKI();
  auto st = connect_once("ping over tls\n");
  EXPECT_TRUE(st->made);
  EXPECT_EQ(st->got, "ping over tls\n");
  EXPECT_EQ(st->version, "TLSv1.3");
  EXPECT_FALSE(st->cipher.empty());
  EXPECT_TRUE(st->failed.empty()) << st->failed;
  EXPECT_TRUE(st->lost.is_clean()) << st->lost.what();
}

TEST(ReactorSsl, ConnectSslMovesOneMegabyteEachWay) {
  SSLTEST_NEED_PKI();
  std::string mb(1u << 20, '\0');
  for (std::size_t i = 0; i < mb.size(); ++i) mb[i] = static_cast<char>('a' + i % 26);
  auto st = connect_once(mb);
  EXPECT_EQ(st->got.size(), mb.size());
  EXPECT_TRUE(st->got == mb);
}

TEST(ReactorSsl, ConnectSslWithTheWrongCaFailsWithTheLibrarysMessage) {
  SSLTEST_NEED_PKI();
  auto st = connect_once("x", server_ctx(pki().other_cert, pki().other_key));
  EXPECT_FALSE(st->made);
  EXPECT_NE(st->failed.find("certificate verify failed: unable to get local issuer certificate"),
            std::string::npos)
      << st->failed;
}

TEST(ReactorSsl, ConnectSslWithTheWrongNameFails) {
  SSLTEST_NEED_PKI();
  auto st = connect_once("x", server_ctx(), "wrong.example");
  EXPECT_FALSE(st->made);
  EXPECT_NE(st->failed.find("Hostname mismatch, certificate is not valid for 'wrong.example'"),
            std::string::npos)
      << st->failed;
}

TEST(ReactorSsl, ConnectSslToAnExpiredCertificateFails) {
  SSLTEST_NEED_PKI();
  auto st = connect_once("x", server_ctx(pki().expired_cert, pki().expired_key));
  EXPECT_FALSE(st->made);
  EXPECT_NE(st->failed.find("certificate has expired"), std::string::npos) << st->failed;
}

TEST(ReactorSsl, ConnectSslRefusedReachesClientConnectionFailed) {
  SSLTEST_NEED_PKI();
  ss::Socket reserve(AF_INET, SOCK_STREAM);
  reserve.bind({"127.0.0.1", 0});  // bound, not listening: refused
  auto st = std::make_shared<Sender::State>();
  ss::Reactor r;
  auto f = std::make_shared<SenderFactory>(st);
  f->reactor_ = &r;
  r.connect_ssl("127.0.0.1", reserve.getsockname().port(), f, client_ctx());
  rtu::run_bounded(r);
  EXPECT_NE(st->failed.find("refused"), std::string::npos) << st->failed;
}

TEST(ReactorSsl, ConnectSslRejectsAServerContext) {
  SSLTEST_NEED_PKI();
  ss::Reactor r;
  auto f = std::make_shared<SenderFactory>(std::make_shared<Sender::State>());
  EXPECT_THROW(r.connect_ssl("127.0.0.1", 1, f, server_ctx()), std::invalid_argument);
}

// ---- start_tls ------------------------------------------------------------------------------

// The server: "STARTTLS" -> "GO", then TLS; later lines come back as "secure:<line> <version>".
struct StartTlsServer : ss::LineReceiver {
  StartTlsServer() { delimiter = "\n"; }
  void line_received(std::string_view line) override {
    if (line == "STARTTLS") {
      send_line("GO");
      transport().start_tls(server_ctx(), true);
      EXPECT_THROW(transport().start_tls(server_ctx(), true), std::logic_error);
      return;
    }
    const ss::SSLObject* tls = transport().ssl_object();
    send_line("secure:" + std::string(line) + " " +
              (tls != nullptr ? tls->version().value_or("?") : "plain"));
  }
};

struct StartTlsClient : ss::LineReceiver {
  struct State {
    std::vector<std::string> lines;
    bool handshake = false;
    ss::Reactor* reactor = nullptr;
  };
  explicit StartTlsClient(std::shared_ptr<State> s) : s_(std::move(s)) { delimiter = "\n"; }
  void connection_made() override {
    EXPECT_EQ(transport().ssl_object(), nullptr);
    send_line("STARTTLS");
  }
  void line_received(std::string_view line) override {
    s_->lines.emplace_back(line);
    if (line == "GO") {
      transport().start_tls(client_ctx(), false, "localhost");
      send_line("hi");  // kept until the handshake has completed, then sent encrypted
    } else {
      transport().lose_connection();
    }
  }
  void handshake_completed() override { s_->handshake = true; }
  void connection_lost(const ss::Reason&) override { s_->reactor->stop(); }
  std::shared_ptr<State> s_;
};

TEST(ReactorSsl, StartTlsSwitchesAPlainConnectionToTls) {
  SSLTEST_NEED_PKI();
  ss::Reactor r;
  const int port = r.listen_tcp(0, ss::Factory::for_protocol<StartTlsServer>(), rtu::local_opts())
                       .get_host()
                       .port();
  auto st = std::make_shared<StartTlsClient::State>();
  st->reactor = &r;
  r.connect_protocol<StartTlsClient>("127.0.0.1", port, std::make_unique<StartTlsClient>(st),
                                     nullptr, [&](const ss::Reason& reason) {
                                       ADD_FAILURE() << reason.what();
                                       r.stop();
                                     });
  rtu::run_bounded(r);
  ASSERT_EQ(st->lines.size(), 2u);
  EXPECT_EQ(st->lines[0], "GO");
  EXPECT_EQ(st->lines[1], "secure:hi TLSv1.3");
  EXPECT_TRUE(st->handshake);
}

TEST(ReactorSsl, StartTlsWhereTlsCannotGoThrows) {
  SSLTEST_NEED_PKI();
  ss::StringTransport tr;
  EXPECT_THROW(tr.start_tls(server_ctx(), true), std::logic_error);
  EXPECT_EQ(tr.ssl_object(), nullptr);
  EXPECT_FALSE(tr.get_peer_certificate().has_value());
}

// ---- client certificates ------------------------------------------------------------------

TEST(ReactorSsl, MutualTlsGivesThePeerCertificateAndRefusesAClientWithout) {
  SSLTEST_NEED_PKI();
  ss::SSLContext server = server_ctx();
  server.load_verify_locations(pki().ca_cert);
  server.verify_mode = ss::CERT_REQUIRED;
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  ReactorThread t(r);
  const int port = listen_ssl_port(t, r, echo_factory(seen), rtu::local_opts(), server);
  {
    ss::SSLContext with_cert = client_ctx();
    with_cert.load_cert_chain(pki().client_cert, pki().client_key);
    ss::SSLSocket c = tls_client(port, with_cert);
    c.sendall("mutual\n");
    EXPECT_EQ(read_tls_line(c), "mutual\n");
    std::lock_guard<std::mutex> lock(seen->mu);
    EXPECT_EQ(seen->peer_cn, "test client");
  }
  {
    stu::StderrCapture err;
    // Without a certificate: TLS 1.3 finishes the client's side first; its first read fails.
    bool failed = false;
    try {
      ss::SSLSocket c = tls_client(port);
      c.settimeout(10.0);
      c.sendall("anyone\n");
      failed = read_tls_line(c).empty();
    } catch (const ss::ssl_error&) {
      failed = true;
    } catch (const ss::socket_error&) {
      failed = true;
    }
    EXPECT_TRUE(failed);
    EXPECT_TRUE(rtu::wait_until([&] { return r.connection_count() == 0; }));
    const std::string text = err.stop();
    EXPECT_EQ(stu::count_of(text, "TLS handshake failed"), 1) << text;
    EXPECT_NE(text.find("certificate"), std::string::npos) << text;
  }
  EXPECT_EQ(seen->made.load(), 1);
}

// ---- hostile peers ----------------------------------------------------------------------------

// After each hostile peer, the next TLS client is served.
void expect_served(int port) {
  ss::SSLSocket c = tls_client(port);
  c.sendall("next\n");
  EXPECT_EQ(read_tls_line(c), "next\n");
}

// `send` on a raw socket; the server closes it (end of stream within 10 s) and reports one line.
void hostile(const std::string& send, const char* expect_in_report, bool then_eof = false) {
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  ReactorThread t(r);
  const int port = listen_ssl_port(t, r, echo_factory(seen));
  stu::StderrCapture err;
  {
    ss::Socket raw = stu::stream_client({"127.0.0.1", port});
    if (!send.empty()) raw.sendall(send);
    if (then_eof) raw.shutdown(SHUT_WR);
    raw.settimeout(10.0);
    std::string got;
    for (int i = 0; i < 100; ++i) {  // an alert, perhaps, then the end
      const std::string chunk = raw.recv(4096);
      if (chunk.empty()) break;
      got += chunk;
    }
    EXPECT_LT(got.size(), 100u);
  }
  EXPECT_TRUE(rtu::wait_until([&] { return r.connection_count() == 0; }));
  const std::string text = err.stop();
  EXPECT_EQ(stu::count_of(text, "\n"), 1) << text;
  EXPECT_NE(text.find(expect_in_report), std::string::npos) << text;
  EXPECT_NE(text.find("127.0.0.1:"), std::string::npos) << text;
  EXPECT_EQ(seen->made.load(), 0);
  expect_served(port);
}

TEST(ReactorSsl, PlainTextClientOnATlsPortIsOneLineAndTheServerGoesOn) {
  SSLTEST_NEED_PKI();
  hostile("GET / HTTP/1.0\r\n\r\n", "TLS handshake failed");
}

TEST(ReactorSsl, GarbageInsteadOfAClientHelloIsClosed) {
  SSLTEST_NEED_PKI();
  // A handshake record whose message has no valid type or length.
  const std::string garbage = "\x16\x03\x01\x00\x40" + std::string(64, '\xff');
  hostile(garbage, "TLS handshake failed");
}

TEST(ReactorSsl, HandshakeCutInTheMiddleIsClosed) {
  SSLTEST_NEED_PKI();
  // A real ClientHello (from a memory-BIO client), half of it sent, then the end of stream.
  ss::SSLObject hello = client_ctx().wrap_bio(false, "localhost");
  SSL_do_handshake(hello.native_handle());
  BIO* out = SSL_get_wbio(hello.native_handle());
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  ASSERT_GT(n, 50);
  hostile(std::string(data, static_cast<std::size_t>(n / 2)),
          "EOF occurred in violation of protocol", true);
}

TEST(ReactorSsl, SilentClientIsClosedAtTheHandshakeTimeout) {
  SSLTEST_NEED_PKI();
  ss::ListenOptions o = rtu::local_opts();
  o.handshake_timeout = std::chrono::duration<double>(0.2);
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  ReactorThread t(r);
  const int port = listen_ssl_port(t, r, echo_factory(seen), o);
  stu::StderrCapture err;
  ss::Socket raw = stu::stream_client({"127.0.0.1", port});
  raw.settimeout(10.0);
  EXPECT_EQ(raw.recv(100), "");  // closed by the server, well before 10 s
  const std::string text = err.stop();
  EXPECT_NE(text.find("timed out after 0.2 s (handshake_timeout)"), std::string::npos) << text;
  EXPECT_TRUE(rtu::wait_until([&] { return r.connection_count() == 0; }));
  expect_served(port);
}

// Writes 64 KiB chunks while not paused (a producer that obeys the write-buffer marks).
struct Producer : ss::Protocol {
  struct State {
    std::atomic<std::size_t> written{0};
    std::atomic<std::size_t> max_buffered{0};
    std::atomic<int> pauses{0};
    std::atomic<int> resumes{0};
  };
  explicit Producer(std::shared_ptr<State> s) : s_(std::move(s)) {}
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
    const std::string chunk(64u << 10, 'p');
    for (int i = 0; i < 2048 && !paused_ && s_->written.load() < (128u << 20); ++i) {
      // Counted before the write: the write that crosses the high mark calls pause_writing
      // inside it, and the test reads `written` as soon as it sees the pause.
      s_->written.fetch_add(chunk.size());
      transport().write(chunk);
      const std::size_t b = transport().write_buffer_size();
      if (b > s_->max_buffered.load()) s_->max_buffered.store(b);
    }
  }
  bool paused_ = false;
  std::shared_ptr<State> s_;
};

TEST(ReactorSsl, AClientThatStopsReadingPausesTheProducerAndMemoryStaysBounded) {
  SSLTEST_NEED_PKI();
  auto st = std::make_shared<Producer::State>();
  ss::Reactor r;
  ReactorThread t(r);
  const int port = listen_ssl_port(t, r, ss::Factory::for_protocol<Producer>(st));
  ss::SSLSocket c = tls_client(port);
  c.socket().setsockopt(SOL_SOCKET, SO_RCVBUF, 64 * 1024);
  EXPECT_TRUE(rtu::wait_until([&] { return st->pauses.load() >= 1; }));
  // The client reads nothing: the producer stays paused, with at most the high-water mark
  // (1 MiB) and one chunk's ciphertext buffered.
  const std::size_t written = st->written.load();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(st->written.load(), written);
  EXPECT_LT(st->max_buffered.load(), (1u << 20) + (128u << 10));
  EXPECT_LT(written, 48u << 20);  // what the kernel's buffers took, and no more
  // Reading drains it: the producer resumes.
  c.settimeout(10.0);
  std::size_t got = 0;
  for (int i = 0; i < 100000 && st->resumes.load() == 0; ++i) got += c.recv(1u << 16).size();
  EXPECT_GE(st->resumes.load(), 1);
  EXPECT_GT(got, 0u);
}

// ---- ReactorGroup ------------------------------------------------------------------------------

TEST(ReactorSsl, ReactorGroupListensSslOnEveryThread) {
  SSLTEST_NEED_PKI();
  auto seen = std::make_shared<Seen>();
  ss::Socket reserve(AF_INET, SOCK_STREAM);
  reserve.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  reserve.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  reserve.bind({"127.0.0.1", 0});
  const int port = reserve.getsockname().port();
  const ss::SSLContext ctx = server_ctx();
  ss::ReactorGroup group(2);
  group.start([&](ss::Reactor& r, std::size_t) {
    ss::ListenOptions o = rtu::local_opts();
    o.reuse_port = true;
    r.listen_ssl(port, echo_factory(seen), ctx, o);
  });
  reserve.close();
  for (int k = 0; k < 8; ++k) {
    ss::SSLSocket c = tls_client(port);
    c.sendall("group " + std::to_string(k) + "\n");
    EXPECT_EQ(read_tls_line(c), "group " + std::to_string(k) + "\n");
  }
  EXPECT_TRUE(rtu::wait_until([&] { return seen->lost.load() == 8; }));
  group.stop();
  EXPECT_EQ(seen->made.load(), 8);
}

}  // namespace
