// test_reactor_proxy.cpp — the reactor behind a balancer (ListenOptions::proxy_protocol): a
// PROXY header (version 1 or 2, IPv4, IPv6, Unix addresses, LOCAL) is read in the loop before
// the factory builds the protocol, get_peer() is the real client and get_balancer() the
// balancer, the bytes after the header reach data_received, a header that trickles in a byte at
// a time is waited for; an untrusted peer, a malformed, oversized, truncated or missing header,
// or a client that is not a balancer each close that connection with one stderr line, no
// protocol built, while other clients are served. Over listen_tcp, listen_unix, listen_ssl
// (the header before TLS) and adopt_stream_port.
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "reactor_test_util.hpp"
#include "server_test_util.hpp"
#include "socketserver/proxy_protocol.hpp"
#include "socketserver/reactor.hpp"
#include "socketserver/ssl.hpp"
#include "ssl_test_util.hpp"
#include "test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using rtu::ReactorThread;

namespace {

// ---- PROXY headers, byte by byte --------------------------------------------------------------

const std::string kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

std::string be16(std::size_t n) {
  return {static_cast<char>((n >> 8) & 0xFF), static_cast<char>(n & 0xFF)};
}

// A version 2 header: command (0x20 LOCAL, 0x21 PROXY), family/transport byte, address block.
std::string v2(char command, char family, const std::string& block) {
  return kV2Signature + command + family + be16(block.size()) + block;
}

// PROXY TCP over IPv4: 192.0.2.1:56324 -> 198.51.100.7:443, then `tlvs`.
std::string v2_ipv4(const std::string& tlvs = "") {
  const std::string block{'\xC0', '\x00', '\x02', '\x01', '\xC6', '\x33',
                          '\x64', '\x07', '\xDC', '\x04', '\x01', '\xBB'};
  return v2('\x21', '\x11', block + tlvs);
}

// PROXY TCP over IPv6: [2001:db8::1]:4000 -> [::1]:443.
std::string v2_ipv6() {
  std::string src(16, '\0');
  src[0] = '\x20';
  src[1] = '\x01';
  src[2] = '\x0d';
  src[3] = '\xb8';
  src[15] = '\x01';
  std::string dst(16, '\0');
  dst[15] = '\x01';
  return v2('\x21', '\x21', src + dst + be16(4000) + be16(443));
}

// PROXY STREAM over Unix sockets: the paths in two 108-byte fields.
std::string v2_unix(const std::string& src, const std::string& dst) {
  std::string a = src;
  a.resize(108, '\0');
  std::string b = dst;
  b.resize(108, '\0');
  return v2('\x21', '\x31', a + b);
}

const std::string kV1Tcp4 = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n";

// ---- the server side ----------------------------------------------------------------------------

struct Seen {
  std::atomic<int> built{0};  // protocols the factory made
  std::atomic<int> lost{0};
};

// Answers each line with "<peer> via <balancer> v<version> <line>" ("via -" and "v0" without a
// PROXY header), so the address, the balancer and the bytes after the header are all checked.
struct Who : ss::LineReceiver {
  explicit Who(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {
    delimiter = "\n";
    seen_->built.fetch_add(1);
  }
  void line_received(std::string_view line) override {
    const auto balancer = transport().get_balancer();
    const ss::ProxyHeader* h = transport().proxy_header();
    send_line(transport().get_peer().to_string() + " via " +
              (balancer ? balancer->host() : std::string("-")) + " v" +
              std::to_string(h != nullptr ? h->version : 0) + " " + std::string(line));
  }
  void connection_lost(const ss::Reason&) override { seen_->lost.fetch_add(1); }
  std::shared_ptr<Seen> seen_;
};

ss::ListenOptions behind_balancer(ss::Timeout header_timeout = std::chrono::duration<double>(5)) {
  ss::ListenOptions o = rtu::local_opts();
  o.proxy_protocol = true;
  o.proxy_header_timeout = header_timeout;
  return o;
}

// A reactor on its thread with a Who port on 127.0.0.1 behind a balancer.
struct Server {
  explicit Server(ss::ListenOptions o = behind_balancer()) {
    port = thread.call([&] {
      return reactor.listen_tcp(0, ss::Factory::for_protocol<Who>(seen), o).get_host().port();
    });
  }
  [[nodiscard]] ss::Address address() const { return {"127.0.0.1", port}; }
  std::shared_ptr<Seen> seen = std::make_shared<Seen>();
  ss::Reactor reactor;
  ReactorThread thread{reactor};
  int port = 0;
};

// ---- the client side ----------------------------------------------------------------------------

// Reads until end of stream; "" when the server reset the connection (it closed with our
// bytes unread, as it does a refused client's).
std::string read_to_end(ss::Socket& c) {
  try {
    return stu::read_all(c, 1u << 20);
  } catch (const ss::socket_error&) {
    return "";
  }
}

// Sends `bytes` in one write, half-closes, and returns everything the server answers.
std::string talk(const ss::Address& server, const std::string& bytes) {
  ss::Socket c = stu::stream_client(server);
  try {
    c.sendall(bytes);
    c.shutdown(SHUT_WR);
  } catch (const ss::socket_error&) {  // refused (an untrusted peer) before it had sent
    return "";
  }
  return read_to_end(c);
}

// ---- headers that name the client ---------------------------------------------------------------

TEST(ReactorProxy, V1Tcp4NamesTheClientAndTheBytesInTheSameSegmentFollow) {
  Server s;
  EXPECT_EQ(talk(s.address(), kV1Tcp4 + "first\nsecond\n"),
            "192.0.2.1:56324 via 127.0.0.1 v1 first\n192.0.2.1:56324 via 127.0.0.1 v1 second\n");
  EXPECT_EQ(s.seen->built.load(), 1);
}

TEST(ReactorProxy, V1Tcp6NamesAnIpv6ClientOverAnIpv4Listener) {
  Server s;
  EXPECT_EQ(talk(s.address(), "PROXY TCP6 2001:db8::1 ::1 4000 443\r\nsix\n"),
            "[2001:db8::1]:4000 via 127.0.0.1 v1 six\n");
}

// The header's fields as a protocol sees them: the destination and the TLVs.
struct HeaderFields : ss::Protocol {
  void data_received(std::string_view) override {
    const ss::ProxyHeader* h = transport().proxy_header();
    std::string text = h == nullptr ? "none" : h->destination->to_string();
    if (h != nullptr) {
      for (const auto& tlv : h->tlvs) text += " " + std::to_string(tlv.first) + "=" + tlv.second;
    }
    transport().write(text + "\n");
    transport().lose_connection();
  }
};

TEST(ReactorProxy, V2Ipv4WithAnExtension) {
  Server s;
  const int port = s.thread.call([&] {
    return s.reactor.listen_tcp(0, ss::Factory::for_protocol<HeaderFields>(), behind_balancer())
        .get_host()
        .port();
  });
  const std::string id_tlv("\x04\x00\x02id", 5);
  EXPECT_EQ(talk(s.address(), v2_ipv4(id_tlv) + "v2\n"), "192.0.2.1:56324 via 127.0.0.1 v2 v2\n");
  EXPECT_EQ(talk({"127.0.0.1", port}, v2_ipv4(id_tlv) + "x"), "198.51.100.7:443 4=id\n");
}

TEST(ReactorProxy, V2Ipv6) {
  Server s;
  EXPECT_EQ(talk(s.address(), v2_ipv6() + "six\n"), "[2001:db8::1]:4000 via 127.0.0.1 v2 six\n");
}

TEST(ReactorProxy, V2UnixAddresses) {
  Server s;
  const std::string client = ss::Address::unix_path("/run/client.sock").to_string();
  EXPECT_EQ(talk(s.address(), v2_unix("/run/client.sock", "/run/haproxy.sock") + "unix\n"),
            client + " via 127.0.0.1 v2 unix\n");
}

TEST(ReactorProxy, V2LocalKeepsTheBalancerAsThePeer) {
  Server s;
  ss::Socket c = stu::stream_client(s.address());
  const std::string me = c.getsockname().to_string();
  c.sendall(v2('\x20', '\x00', "") + "ping\n");
  c.shutdown(SHUT_WR);
  EXPECT_EQ(read_to_end(c), me + " via 127.0.0.1 v2 ping\n");
}

TEST(ReactorProxy, AHeaderArrivingAByteAtATimeIsWaitedFor) {
  Server s;
  for (const std::string& whole : {kV1Tcp4 + "pieces\n", v2_ipv4() + "pieces\n"}) {
    ss::Socket c = stu::stream_client(s.address());
    c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    for (const char byte : whole) {  // each byte its own segment
      c.sendall(std::string(1, byte));
      std::this_thread::sleep_for(1ms);  // the trickle is the behaviour under test
    }
    c.shutdown(SHUT_WR);
    EXPECT_EQ(read_to_end(c), "192.0.2.1:56324 via 127.0.0.1 v" +
                                  std::string(whole[0] == 'P' ? "1" : "2") + " pieces\n");
  }
  EXPECT_EQ(s.seen->built.load(), 2);
}

// A header whose end comes in the same segment as the first request: the reader has kept the
// first part, and what follows the header in the second read goes to the protocol.
TEST(ReactorProxy, AHeaderCompletedInTheReadThatBringsTheRequest) {
  Server s;
  for (const std::string& header : {kV1Tcp4, v2_ipv4()}) {
    ss::Socket c = stu::stream_client(s.address());
    c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    c.sendall(header.substr(0, 10));
    std::this_thread::sleep_for(50ms);  // two reads on the server: the split is under test
    c.sendall(header.substr(10) + "first\nsecond\n");
    c.shutdown(SHUT_WR);
    const std::string v = header[0] == 'P' ? "1" : "2";
    EXPECT_EQ(read_to_end(c), "192.0.2.1:56324 via 127.0.0.1 v" + v + " first\n" +
                                  "192.0.2.1:56324 via 127.0.0.1 v" + v + " second\n");
  }
  EXPECT_EQ(s.seen->built.load(), 2);
}

TEST(ReactorProxy, APortWithoutItHasNoBalancer) {
  Server s(rtu::local_opts());
  ss::Socket c = stu::stream_client(s.address());
  const std::string me = c.getsockname().to_string();
  c.sendall("plain\n");
  c.shutdown(SHUT_WR);
  EXPECT_EQ(read_to_end(c), me + " via - v0 plain\n");
}

// ---- refused first contacts ---------------------------------------------------------------------

// A client sends `bytes` (and half-closes when `close_early`) on a port behind a balancer;
// while it waits, a balancer's client is served. The first is closed with nothing from a
// protocol (none is built), one line on stderr says `why`, and the port goes on.
void expect_refused(ss::ListenOptions options, const std::string& bytes, const std::string& why,
                    bool close_early = false) {
  stu::StderrCapture err;
  {
    Server s(options);
    ss::Socket bad = stu::stream_client(s.address());
    bad.sendall(bytes);
    if (close_early) bad.shutdown(SHUT_WR);
    EXPECT_EQ(talk(s.address(), "PROXY TCP4 192.0.2.9 198.51.100.7 1 2\r\nnext\n"),
              "192.0.2.9:1 via 127.0.0.1 v1 next\n")
        << "another client is served meanwhile";
    EXPECT_EQ(read_to_end(bad), "") << "the refused client is closed, unanswered";
    EXPECT_TRUE(rtu::wait_until([&] { return s.reactor.connection_count() == 0; }, 10s));
    EXPECT_EQ(s.seen->built.load(), 1) << "no protocol for the refused client";
    EXPECT_EQ(talk(s.address(), kV1Tcp4 + "after\n"), "192.0.2.1:56324 via 127.0.0.1 v1 after\n")
        << "the port goes on";
  }
  const std::string text = err.stop();
  EXPECT_NE(text.find("PROXY header from 127.0.0.1:"), std::string::npos) << text;
  EXPECT_NE(text.find(why), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "one line:\n" << text;
}

TEST(ReactorProxy, AMalformedV1HeaderIsRefused) {
  expect_refused(behind_balancer(), "PROXY TCP4 192.0.2.1 198.51.100.7 01 2\r\nx\n",
                 "malformed port");
}

TEST(ReactorProxy, AV1LineOver107BytesIsRefused) {
  expect_refused(behind_balancer(), "PROXY TCP4 " + std::string(120, '1'),
                 "without \\r\\n in its first 107 bytes");
}

TEST(ReactorProxy, AnOversizedV2HeaderIsRefusedFromItsFirstBytes) {
  expect_refused(behind_balancer(), kV2Signature + "\x21\x11" + be16(0xFFFF), "more than 4096");
}

TEST(ReactorProxy, AV2LengthRunningPastTheDataThenTheEndIsRefused) {
  const std::string whole = v2_ipv4();
  expect_refused(behind_balancer(), whole.substr(0, whole.size() - 5),
                 "ended before the header did", true);
}

TEST(ReactorProxy, ASilentClientIsClosedAfterProxyHeaderTimeout) {
  // 1 s: the clients served meanwhile must send their header within it, on a busy machine too.
  expect_refused(behind_balancer(1s), "", "timed out after 1 s (proxy_header_timeout)");
}

TEST(ReactorProxy, AClientThatIsNotABalancerIsRefused) {
  expect_refused(behind_balancer(), "hello\r\n", "not a PROXY protocol header");
}

TEST(ReactorProxy, AnUntrustedPeerIsRefusedBeforeItsFirstByte) {
  ss::ListenOptions o = behind_balancer();
  o.trusted_proxies = {"192.0.2.250"};  // not loopback: every client here is untrusted
  stu::StderrCapture err;
  {
    Server s(o);
    EXPECT_EQ(talk(s.address(), kV1Tcp4 + "x\n"), "");
    EXPECT_TRUE(rtu::wait_until([&] { return s.reactor.connection_count() == 0; }, 10s));
    EXPECT_EQ(s.seen->built.load(), 0);
  }
  const std::string text = err.stop();
  EXPECT_NE(text.find("PROXY header from 127.0.0.1:"), std::string::npos) << text;
  EXPECT_NE(text.find("not a trusted proxy (ListenOptions::trusted_proxies)"), std::string::npos)
      << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

TEST(ReactorProxy, ARefusingFactoryClosesAfterTheHeader) {
  struct Refuse : ss::Factory {
    std::unique_ptr<ss::Protocol> build_protocol(const ss::Address&) override { return nullptr; }
  };
  ss::Reactor r;
  ReactorThread t(r);
  const int port = t.call([&] {
    return r.listen_tcp(0, std::make_shared<Refuse>(), behind_balancer()).get_host().port();
  });
  EXPECT_EQ(talk({"127.0.0.1", port}, kV1Tcp4 + "x\n"), "");
  EXPECT_TRUE(rtu::wait_until([&] { return r.connection_count() == 0; }, 10s));
}

// A protocol that pauses reading in connection_made is given nothing until it resumes; the
// bytes that came with the header then come first, before what the client sent later.
enum class AfterPause { resume, resume_pause_resume, close };

struct PausedState {
  std::atomic<bool> paused{false};
  std::atomic<bool> data_while_paused{false};
  std::atomic<bool> resumed{false};
  std::atomic<int> data_calls{0};
};

struct PausesFirst : ss::Protocol {
  PausesFirst(std::shared_ptr<PausedState> s, AfterPause m) : st(std::move(s)), mode(m) {}
  void connection_made() override {
    transport().pause_producing();
    st->paused = true;
    later = transport().reactor().call_later(std::chrono::milliseconds(150), [this] {
      if (mode == AfterPause::close) {  // the held bytes go with the connection
        transport().lose_connection();
        return;
      }
      st->paused = false;
      st->resumed = true;
      transport().resume_producing();
      if (mode == AfterPause::resume_pause_resume) {  // paused again before the delivery ran
        transport().pause_producing();
        st->paused = true;
        later = transport().reactor().call_later(std::chrono::milliseconds(50), [this] {
          st->paused = false;
          transport().resume_producing();
        });
      }
    });
  }
  void data_received(std::string_view data) override {
    st->data_calls.fetch_add(1);
    if (st->paused) st->data_while_paused = true;
    got.append(data);
    if (got.size() >= 8) {  // "one\ntwo\n"
      transport().write(got);
      transport().lose_connection();
    }
  }
  void connection_lost(const ss::Reason&) override { later.cancel(); }
  std::shared_ptr<PausedState> st;
  AfterPause mode;
  ss::DelayedCall later;
  std::string got;
};

// The client's view: the header and "one\n" in one segment, "two\n" while paused; what came
// back.
std::string paused_protocol_session(AfterPause mode, const std::shared_ptr<PausedState>& st) {
  struct Make : ss::Factory {
    Make(std::shared_ptr<PausedState> s, AfterPause m) : st(std::move(s)), mode(m) {}
    std::unique_ptr<ss::Protocol> build_protocol(const ss::Address&) override {
      return std::make_unique<PausesFirst>(st, mode);
    }
    std::shared_ptr<PausedState> st;
    AfterPause mode;
  };
  ss::Reactor r;
  ReactorThread t(r);
  const int port = t.call([&] {
    return r.listen_tcp(0, std::make_shared<Make>(st, mode), behind_balancer()).get_host().port();
  });
  ss::Socket c = stu::stream_client({"127.0.0.1", port});
  c.sendall(kV1Tcp4 + "one\n");
  if (!rtu::wait_until([&] { return st->paused.load(); }, 10s)) return "(never paused)";
  c.sendall("two\n");
  std::string answer = read_to_end(c);
  EXPECT_TRUE(rtu::wait_until([&] { return r.connection_count() == 0; }, 10s));
  return answer;
}

TEST(ReactorProxy, AProtocolPausedInConnectionMadeGetsTheBytesAfterTheHeaderOnlyOnResuming) {
  auto st = std::make_shared<PausedState>();
  EXPECT_EQ(paused_protocol_session(AfterPause::resume, st), "one\ntwo\n");
  EXPECT_TRUE(st->resumed);
  EXPECT_FALSE(st->data_while_paused) << "data_received was called while reading was paused";
}

TEST(ReactorProxy, PausedAgainBeforeTheHeldBytesComeTheyWaitForTheNextResume) {
  auto st = std::make_shared<PausedState>();
  EXPECT_EQ(paused_protocol_session(AfterPause::resume_pause_resume, st), "one\ntwo\n");
  EXPECT_TRUE(st->resumed);
  EXPECT_FALSE(st->data_while_paused) << "data_received was called while reading was paused";
}

TEST(ReactorProxy, ClosedWhileBytesAreHeldTheyAreDroppedWithTheConnection) {
  auto st = std::make_shared<PausedState>();
  EXPECT_EQ(paused_protocol_session(AfterPause::close, st), "");
  EXPECT_EQ(st->data_calls, 0);
}

TEST(ReactorProxy, ABadHeaderTimeoutIsRefusedBeforeListening) {
  ss::Reactor r;
  auto f = ss::Factory::for_protocol<Who>(std::make_shared<Seen>());
  EXPECT_THROW(r.listen_tcp(0, f, behind_balancer(std::chrono::duration<double>(0))),
               std::invalid_argument);
  EXPECT_THROW(r.listen_tcp(0, f, behind_balancer(std::chrono::duration<double>(-1))),
               std::invalid_argument);
  testutil::TempDir dir;
  EXPECT_THROW(r.listen_unix(ss::Address::unix_path(dir.file("p.sock")), f,
                             behind_balancer(std::chrono::duration<double>(0))),
               std::invalid_argument);
  EXPECT_FALSE(stu::path_exists(dir.file("p.sock")));
  // Without proxy_protocol the timeout is not looked at.
  ss::ListenOptions off = rtu::local_opts();
  off.proxy_header_timeout = std::chrono::duration<double>(0);
  EXPECT_NO_THROW(r.listen_tcp(0, f, off));
}

// ---- other ports --------------------------------------------------------------------------------

TEST(ReactorProxy, ListenUnixTrustsUnixPeersWhenToldTo) {
  testutil::TempDir dir;
  const ss::Address path = ss::Address::unix_path(dir.file("proxy.sock"));
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  ss::ListenOptions o = behind_balancer();
  o.trusted_proxies = {"unix"};
  r.listen_unix(path, ss::Factory::for_protocol<Who>(seen), o);
  ReactorThread t(r);
  const std::string answer = talk(path, kV1Tcp4 + "over unix\n");
  EXPECT_EQ(answer.rfind("192.0.2.1:56324 via ", 0), 0u) << answer;
  EXPECT_NE(answer.find(" v1 over unix\n"), std::string::npos) << answer;
  EXPECT_EQ(talk(path, v2_ipv6() + "six\n").rfind("[2001:db8::1]:4000 via ", 0), 0u);
  EXPECT_EQ(seen->built.load(), 2);
}

TEST(ReactorProxy, ListenUnixRefusesUnixPeersByDefault) {
  testutil::TempDir dir;
  const ss::Address path = ss::Address::unix_path(dir.file("proxy.sock"));
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  r.listen_unix(path, ss::Factory::for_protocol<Who>(seen), behind_balancer());
  stu::StderrCapture err;
  {
    ReactorThread t(r);
    EXPECT_EQ(talk(path, kV1Tcp4 + "x\n"), "");
    EXPECT_TRUE(rtu::wait_until([&] { return r.connection_count() == 0; }, 10s));
  }
  EXPECT_EQ(seen->built.load(), 0);
  const std::string text = err.stop();
  EXPECT_NE(text.find("not a trusted proxy"), std::string::npos) << text;
}

TEST(ReactorProxy, AdoptStreamPortReadsTheHeaderToo) {
  ss::Socket listening(AF_INET, SOCK_STREAM);
  listening.bind(stu::local0());
  listening.listen(16);
  const ss::Address where = listening.getsockname();
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  r.adopt_stream_port(listening.detach(), ss::Factory::for_protocol<Who>(seen), behind_balancer());
  ReactorThread t(r);
  EXPECT_EQ(talk(where, v2_ipv4() + "adopted\n"), "192.0.2.1:56324 via 127.0.0.1 v2 adopted\n");
}

// A Who port behind a balancer over listen_ssl (the test PKI's server certificate).
int listen_ssl_behind_balancer(ReactorThread& t, ss::Reactor& r,
                               const std::shared_ptr<Seen>& seen) {
  ss::SSLContext server_ctx(ss::PROTOCOL_TLS_SERVER);
  server_ctx.load_cert_chain(ssltest::pki().server_cert, ssltest::pki().server_key);
  return t.call([&] {
    return r.listen_ssl(0, ss::Factory::for_protocol<Who>(seen), server_ctx, behind_balancer())
        .get_host()
        .port();
  });
}

ss::SSLContext tls_client_ctx() {
  return ss::create_default_context(ss::Purpose::SERVER_AUTH, ssltest::pki().ca_cert);
}

TEST(ReactorProxy, ListenSslReadsTheHeaderBeforeTheHandshake) {
  SSLTEST_NEED_PKI();
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  ReactorThread t(r);
  const int port = listen_ssl_behind_balancer(t, r, seen);
  for (const std::string& header : {kV1Tcp4, v2_ipv4()}) {
    ss::Socket c = stu::stream_client({"127.0.0.1", port});
    c.sendall(header);  // in clear, as HAProxy sends it
    ss::SSLSocket tls = tls_client_ctx().wrap_socket(std::move(c), false, "localhost");
    tls.sendall("secret\n");
    std::string got;
    for (int i = 0; i < 1000 && got.find('\n') == std::string::npos; ++i) {
      const std::string part = tls.recv(1024);
      if (part.empty()) break;
      got += part;
    }
    EXPECT_EQ(got, "192.0.2.1:56324 via 127.0.0.1 v" + std::string(header[0] == 'P' ? "1" : "2") +
                       " secret\n");
    tls.close();
  }
  EXPECT_EQ(seen->built.load(), 2);
}

TEST(ReactorProxy, ListenSslRefusesATlsClientWithoutAHeader) {
  SSLTEST_NEED_PKI();
  auto seen = std::make_shared<Seen>();
  ss::Reactor r;
  stu::StderrCapture err;
  {
    ReactorThread t(r);
    const int port = listen_ssl_behind_balancer(t, r, seen);
    ss::Socket c = stu::stream_client({"127.0.0.1", port});
    EXPECT_THROW(tls_client_ctx().wrap_socket(std::move(c), false, "localhost"), ss::socket_error)
        << "a ClientHello is not a PROXY header";
    EXPECT_TRUE(rtu::wait_until([&] { return r.connection_count() == 0; }, 10s));
  }
  EXPECT_EQ(seen->built.load(), 0);
  const std::string text = err.stop();
  EXPECT_NE(text.find("not a PROXY protocol header"), std::string::npos) << text;
}

}  // namespace
