// test_samples_proxy.cpp — the timestamp servers behind a balancer: tsTservThreaded and tsTservSS
// with --proxy-protocol and --trusted-proxy (what examples/haproxy/ runs three of behind HAProxy).
//
// The test plays the balancer itself: it sends HAProxy's PROXY header (version 1, the text line,
// and version 2, the binary one) at the start of each connection, then the book's line, and reads
// the reply and the server's console line, which must name the real client from the header and
// the balancer (this test's own connection). A peer that is not a trusted balancer, or a client
// that sends no header, is disconnected with a line on stderr, and the server goes on. Sample
// helpers: sample_util.hpp. Loopback only, port 0, every wait bounded.
#include <netinet/tcp.h>

#include "sample_util.hpp"

namespace {

using namespace sample_test;

// "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n": a client 192.0.2.1:56324.
const std::string kV1Header = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n";

// A version 2 header: the 12-byte signature, version 2 with `command` (0x1 PROXY, 0x0 LOCAL),
// then the family and its addresses (`addresses` as the specification lays them out).
std::string v2_header(int command, unsigned char family, const std::string& addresses) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += static_cast<char>(0x20 | command);
  h += static_cast<char>(family);
  h += static_cast<char>((addresses.size() >> 8) & 0xff);
  h += static_cast<char>(addresses.size() & 0xff);
  return h + addresses;
}

// PROXY, TCP over IPv6: client [2001:db8::7]:40001, to [2001:db8::1]:443.
std::string v2_ipv6_header() {
  std::string a;
  in6_addr src{}, dst{};
  ::inet_pton(AF_INET6, "2001:db8::7", &src);
  ::inet_pton(AF_INET6, "2001:db8::1", &dst);
  a.append(reinterpret_cast<const char*>(&src), 16);
  a.append(reinterpret_cast<const char*>(&dst), 16);
  a += {static_cast<char>(40001 >> 8), static_cast<char>(40001 & 0xff)};
  a += {static_cast<char>(443 >> 8), static_cast<char>(443 & 0xff)};
  return v2_header(0x1, 0x21, a);
}

// A TCP connection to 127.0.0.1:port from the loopback address `source` (127.0.0.2: a balancer
// that is not 127.0.0.1).
Fd tcp_connect_from(const char* source, int port) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return s;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  if (::inet_pton(AF_INET, source, &src.sin_addr) != 1 ||
      ::bind(s.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    return Fd();
  }
  auto [addr, len] = loopback(AF_INET, port);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return Fd();
  return s;
}

// Sends `data` and reads until the server closes: (reply, closed within kWait).
std::pair<std::string, bool> talk(int fd, std::string_view data) {
  if (!send_all(fd, data)) return {"", false};
  bool eof = false;
  std::string reply = recv_until(
      fd, [](const std::string&) { return false; }, &eof);
  return {reply, eof};
}

const std::regex kHelloLineReply(
    R"(^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] hello\n$)");

// Sends `header` + "hello\n": true when the book's reply comes and the server then closes.
bool answers_hello(int fd, const std::string& header) {
  auto [reply, closed] = talk(fd, header + "hello\n");
  EXPECT_TRUE(std::regex_match(reply, kHelloLineReply)) << "reply: '" << reply << "'";
  return std::regex_match(reply, kHelloLineReply) && closed;
}

// Sends `data`: true when the server closes without a word.
bool refused(int fd, const std::string& data) {
  auto [reply, closed] = talk(fd, data);
  EXPECT_EQ(reply, "") << "a refused connection gets no reply";
  return reply.empty() && closed;
}

// ---- --help and bad arguments --------------------------------------------------------------

TEST(SampleProxy, HelpListsTheBalancerOptions) {
  for (const char* name : {"tsTservThreaded", "tsTservSS", "tsTservTW"}) {
    Child c({sample(name), "--help"});
    EXPECT_EQ(c.exit_code(), 0) << name;
    EXPECT_NE(c.out().find("--proxy-protocol"), std::string::npos) << name << ": " << c.out();
    EXPECT_NE(c.out().find("--trusted-proxy ADDR"), std::string::npos) << name;
  }
}

TEST(SampleProxy, TrustedProxyWithoutProxyProtocolIsAUsageError) {
  Child c({sample("tsTservThreaded"), "--port", "0", "--trusted-proxy", "127.0.0.1"});
  EXPECT_EQ(c.exit_code(), 2);
  EXPECT_NE(c.err().find("--trusted-proxy needs --proxy-protocol"), std::string::npos) << c.err();
  EXPECT_EQ(c.err().find("listening on"), std::string::npos) << "it must not start serving";
}

TEST(SampleProxy, TrustedProxyMustBeAnIpAddress) {
  for (const char* bad : {"balancer.example", "", "127.0.0.256", "::g"}) {
    Child c({sample("tsTservThreaded"), "--port", "0", "--proxy-protocol", "--trusted-proxy", bad});
    EXPECT_EQ(c.exit_code(), 2) << "'" << bad << "'";
    EXPECT_NE(c.err().find("invalid --trusted-proxy '" + std::string(bad) + "'"), std::string::npos)
        << c.err();
  }
}

TEST(SampleProxy, ProxyProtocolIsASwitchWithoutValue) {
  Child c({sample("tsTservThreaded"), "--proxy-protocol=yes"});
  EXPECT_EQ(c.exit_code(), 2);
  EXPECT_NE(c.err().find("unknown argument '--proxy-protocol=yes'"), std::string::npos) << c.err();
}

// ---- behind a balancer ---------------------------------------------------------------------

TEST(SampleProxy, ThreadedServerShowsTheRealClientOfAVersion1Header) {
  Server srv("tsTservThreaded", "127.0.0.1", {"--proxy-protocol"});
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  const int balancer_port = local_port(c.get());
  EXPECT_TRUE(answers_hello(c.get(), kV1Header));
  const std::string line = "...connected from: ('192.0.2.1', 56324) via ('127.0.0.1', " +
                           std::to_string(balancer_port) + ") [1 client being served]\n";
  EXPECT_TRUE(srv.child.wait_stdout(line)) << srv.child.out();
}

TEST(SampleProxy, ThreadedServerReadsAVersion2HeaderSentByteByByte) {
  // The balancer is 127.0.0.2, trusted by name; the header (IPv6 client) arrives in 1-byte
  // writes, the line after it.
  Server srv("tsTservThreaded", "127.0.0.1",
             {"--proxy-protocol", "--trusted-proxy", "::1", "--trusted-proxy", "127.0.0.2"});
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect_from("127.0.0.2", srv.port);
  ASSERT_TRUE(c);
  const int one = 1;
  ::setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::string header = v2_ipv6_header();
  for (char byte : header) {
    ASSERT_TRUE(send_all(c.get(), std::string_view(&byte, 1)));
  }
  EXPECT_TRUE(answers_hello(c.get(), ""));
  EXPECT_TRUE(
      srv.child.wait_stdout("...connected from: ('2001:db8::7', 40001, 0, 0) via "
                            "('127.0.0.2', " +
                            std::to_string(local_port(c.get())) + ")"))
      << srv.child.out();
}

TEST(SampleProxy, HealthCheckWithLocalCommandIsTheBalancerItself) {
  // HAProxy's health checks with send-proxy-v2: a LOCAL header, no client named, then close.
  Server srv("tsTservThreaded", "127.0.0.1", {"--proxy-protocol"});
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  const int balancer_port = local_port(c.get());
  EXPECT_TRUE(answers_hello(c.get(), v2_header(0x0, 0x00, "")));
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ('127.0.0.1', " +
                                    std::to_string(balancer_port) +
                                    ") (the balancer itself: PROXY LOCAL)"))
      << srv.child.out();
}

TEST(SampleProxy, UntrustedPeerIsRefusedWithALineAndTheServerGoesOn) {
  Server srv("tsTservThreaded", "127.0.0.1", {"--proxy-protocol", "--trusted-proxy", "127.0.0.2"});
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);  // from 127.0.0.1: not in the list
  ASSERT_TRUE(c);
  EXPECT_TRUE(refused(c.get(), kV1Header + "hello\n"));
  EXPECT_TRUE(srv.child.wait_stderr("not a trusted proxy")) << srv.child.err();
  EXPECT_EQ(srv.child.out().find("connected from"), std::string::npos)
      << "the handler never saw it";

  Fd ok = tcp_connect_from("127.0.0.2", srv.port);  // the trusted balancer is still served
  ASSERT_TRUE(ok);
  EXPECT_TRUE(answers_hello(ok.get(), kV1Header));
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ('192.0.2.1', 56324) via ('127.0.0.2', "))
      << srv.child.out();
}

TEST(SampleProxy, ClientWithoutAHeaderIsRefusedWithALine) {
  Server srv("tsTservThreaded", "127.0.0.1", {"--proxy-protocol"});
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  EXPECT_TRUE(refused(c.get(), "hello\r\n"));  // the book's client, not a balancer
  EXPECT_TRUE(srv.child.wait_stderr("not a PROXY protocol header")) << srv.child.err();

  Fd next = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(next);
  EXPECT_TRUE(answers_hello(next.get(), kV1Header));
}

TEST(SampleProxy, WithoutTheOptionAHeaderIsJustTheClientsLine) {
  // No --proxy-protocol: the book's server, which echoes whatever line comes first.
  Server srv("tsTservThreaded", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  const std::string reply = talk(c.get(), kV1Header).first;
  EXPECT_TRUE(reply.ends_with("] " + kV1Header)) << reply;
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ('127.0.0.1', " +
                                    std::to_string(local_port(c.get())) + ") [1 client"))
      << srv.child.out();
}

TEST(SampleProxy, SingleThreadedServerTakesTheOptionsToo) {
  Server srv("tsTservSS", "127.0.0.1", {"--proxy-protocol", "--trusted-proxy", "127.0.0.1"});
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  const int balancer_port = local_port(c.get());
  EXPECT_TRUE(answers_hello(c.get(), kV1Header));
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ('192.0.2.1', 56324) via ('127.0.0.1', " +
                                    std::to_string(balancer_port) + ")\n"))
      << srv.child.out();
}

TEST(SampleProxy, ReactorServerReadsTheHeaderInItsLoop) {
  // tsTservTW answers each chunk and keeps the connection: the test half-closes to end it.
  Server srv("tsTservTW", "127.0.0.1", {"--proxy-protocol"});
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), kV1Header + "hello\n"));  // the line in the header's segment
  ::shutdown(c.get(), SHUT_WR);
  auto [reply, closed] = talk(c.get(), "");
  EXPECT_TRUE(std::regex_match(reply, kHelloLineReply)) << "reply: '" << reply << "'";
  EXPECT_TRUE(closed);
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: 192.0.2.1 via 127.0.0.1\n"))
      << srv.child.out();

  Fd plain = tcp_connect(AF_INET, srv.port);  // the book's client, not a balancer
  ASSERT_TRUE(plain);
  EXPECT_TRUE(refused(plain.get(), "hello\r\n"));
  EXPECT_TRUE(srv.child.wait_stderr("not a PROXY protocol header")) << srv.child.err();
  const std::string out = srv.child.out();
  EXPECT_EQ(out.find("connected from"), out.rfind("connected from")) << "one client made:\n" << out;
}

}  // namespace
