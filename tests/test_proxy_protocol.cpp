// test_proxy_protocol.cpp — parse_proxy_header: HAProxy's PROXY protocol headers, versions 1
// and 2, whole and arriving a byte at a time, and what a peer that is not a balancer (or a
// broken one) sends: each malformed form is invalid with a reason, never a crash or a wait.
#include "socketserver/proxy_protocol.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ss = socketserver;
using Status = ss::ProxyParse::Status;
using Command = ss::ProxyHeader::Command;

namespace {

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);

std::string be16(std::size_t v) {
  return std::string{static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
}

// A version 2 header: command (0 LOCAL, 1 PROXY), family and transport byte, block.
std::string v2(int command, int fam_proto, const std::string& block) {
  return kSig + static_cast<char>(0x20 | command) + static_cast<char>(fam_proto) +
         be16(block.size()) + block;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out += static_cast<char>(v);
  return out;
}

// Every proper prefix is incomplete; the whole is what `check` expects.
void expect_incomplete_until_whole(const std::string& header) {
  for (std::size_t n = 0; n < header.size(); ++n) {
    const ss::ProxyParse p = ss::parse_proxy_header(std::string_view(header).substr(0, n));
    ASSERT_EQ(p.status, Status::incomplete) << "after " << n << " bytes: " << p.error;
  }
  EXPECT_EQ(ss::parse_proxy_header(header).status, Status::done);
}

// ---- version 1 ---------------------------------------------------------------------------

TEST(ProxyV1, Tcp4NamesTheClientAndLeavesTheRestUnread) {
  const std::string header = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n";
  const ss::ProxyParse p = ss::parse_proxy_header(header + "GET / HTTP/1.0\r\n");
  ASSERT_EQ(p.status, Status::done) << p.error;
  EXPECT_EQ(p.header.version, 1);
  EXPECT_EQ(p.header.command, Command::proxy);
  EXPECT_EQ(p.header.length, header.size());
  ASSERT_TRUE(p.header.source && p.header.destination);
  EXPECT_EQ(p.header.source->family(), AF_INET);
  EXPECT_EQ(p.header.source->host(), "192.0.2.1");
  EXPECT_EQ(p.header.source->port(), 56324);
  EXPECT_EQ(p.header.destination->host(), "198.51.100.7");
  EXPECT_EQ(p.header.destination->port(), 443);
  EXPECT_EQ(p.header.socket_type, SOCK_STREAM);
}

TEST(ProxyV1, Tcp6AndPortsAtTheirLimits) {
  const ss::ProxyParse p =
      ss::parse_proxy_header("PROXY TCP6 2001:db8::1 ::1 0 65535\r\n");
  ASSERT_EQ(p.status, Status::done) << p.error;
  EXPECT_EQ(p.header.source->family(), AF_INET6);
  EXPECT_EQ(p.header.source->host(), "2001:db8::1");
  EXPECT_EQ(p.header.source->port(), 0);
  EXPECT_EQ(p.header.destination->host(), "::1");
  EXPECT_EQ(p.header.destination->port(), 65535);
}

TEST(ProxyV1, UnknownNamesNoClientAndIgnoresTheRestOfItsLine) {
  for (const std::string header :
       {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
    const ss::ProxyParse p = ss::parse_proxy_header(header);
    ASSERT_EQ(p.status, Status::done) << header << p.error;
    EXPECT_EQ(p.header.command, Command::local);
    EXPECT_FALSE(p.header.source);
    EXPECT_EQ(p.header.length, header.size());
  }
}

TEST(ProxyV1, IsIncompleteUntilItsLastByte) {
  expect_incomplete_until_whole("PROXY TCP4 10.0.0.1 10.0.0.2 1000 2000\r\n");
  // The longest header the specification allows: 107 bytes.
  const std::string longest = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  ASSERT_EQ(longest.size(), ss::proxy_v1_max_length);
  expect_incomplete_until_whole(longest);
}

TEST(ProxyV1, MalformedHeadersAreInvalidWithAReason) {
  const std::vector<std::string> bad = {
      "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",        // unknown protocol
      "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",       // two spaces
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",       // a trailing space
      "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",          // a field missing
      "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",       // a leading zero
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",    // a port too large
      "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",       // a sign
      "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",          // not an IPv4 address
      "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",            // IPv6 under TCP4
      "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",            // IPv4 under TCP6
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",          // \n without \r
      "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n",       // a \r inside
      "PROXY \r\n",                                // nothing
  };
  for (const std::string& header : bad) {
    const ss::ProxyParse p = ss::parse_proxy_header(header);
    EXPECT_EQ(p.status, Status::invalid) << header;
    EXPECT_FALSE(p.error.empty()) << header;
    EXPECT_EQ(p.error.find('\n'), std::string::npos) << "one line: " << p.error;
  }
}

TEST(ProxyV1, ALineWithoutEndIsInvalidAt107Bytes) {
  std::string endless = "PROXY TCP4 " + std::string(200, '1');
  EXPECT_EQ(ss::parse_proxy_header(endless.substr(0, 106)).status, Status::incomplete);
  const ss::ProxyParse p = ss::parse_proxy_header(endless.substr(0, 107));
  EXPECT_EQ(p.status, Status::invalid);
  EXPECT_NE(p.error.find("107"), std::string::npos) << p.error;
}

TEST(ProxyHeader, APeerThatIsNotABalancerIsToldApartByItsFirstBytes) {
  for (const std::string& first :
       {std::string("G"), std::string("GET / HTTP/1.1\r\n"), std::string("PROXZ"),
        std::string("\r\n\r\nX"), std::string("\x16\x03\x01")}) {
    EXPECT_EQ(ss::parse_proxy_header(first).status, Status::invalid) << first;
  }
  EXPECT_EQ(ss::parse_proxy_header("").status, Status::incomplete);
  EXPECT_EQ(ss::parse_proxy_header("PRO").status, Status::incomplete);
  EXPECT_EQ(ss::parse_proxy_header("\r\n\r\n").status, Status::incomplete);
}

// ---- version 2 ---------------------------------------------------------------------------

TEST(ProxyV2, Ipv4WithExtensionsNamesTheClient) {
  const std::string block = bytes({192, 0, 2, 1, 198, 51, 100, 7, 0xDC, 0x04, 0x01, 0xBB}) +
                            bytes({0x04, 0, 3}) + "abc" +  // PP2_TYPE_NOOP-like TLV
                            bytes({0x05, 0, 0});           // an empty one
  const std::string header = v2(1, 0x11, block);
  const ss::ProxyParse p = ss::parse_proxy_header(header + "payload");
  ASSERT_EQ(p.status, Status::done) << p.error;
  EXPECT_EQ(p.header.version, 2);
  EXPECT_EQ(p.header.command, Command::proxy);
  EXPECT_EQ(p.header.length, header.size());
  EXPECT_EQ(p.header.socket_type, SOCK_STREAM);
  EXPECT_EQ(p.header.source->host(), "192.0.2.1");
  EXPECT_EQ(p.header.source->port(), 0xDC04);
  EXPECT_EQ(p.header.destination->host(), "198.51.100.7");
  EXPECT_EQ(p.header.destination->port(), 443);
  ASSERT_EQ(p.header.tlvs.size(), 2u);
  EXPECT_EQ(p.header.tlvs[0].first, 0x04);
  EXPECT_EQ(p.header.tlvs[0].second, "abc");
  EXPECT_EQ(p.header.tlvs[1].second, "");
  expect_incomplete_until_whole(header);
}

TEST(ProxyV2, Ipv6AndDatagrams) {
  std::string block(36, '\0');
  block[15] = 1;                      // ::1
  block[16] = 0x20;                   // 2001:db8::2
  block[17] = 0x01;
  block[18] = 0x0d;
  block[19] = static_cast<char>(0xb8);
  block[31] = 2;
  block[32] = 0x30;                   // port 12345
  block[33] = 0x39;
  block[35] = 53;
  const ss::ProxyParse p = ss::parse_proxy_header(v2(1, 0x22, block));
  ASSERT_EQ(p.status, Status::done) << p.error;
  EXPECT_EQ(p.header.source->host(), "::1");
  EXPECT_EQ(p.header.source->port(), 12345);
  EXPECT_EQ(p.header.destination->host(), "2001:db8::2");
  EXPECT_EQ(p.header.destination->port(), 53);
  EXPECT_EQ(p.header.socket_type, SOCK_DGRAM);
}

TEST(ProxyV2, UnixPathsAndAbstractNamesAtTheKernelsLimit) {
  std::string src(108, '\0');
  const std::string path = "/run/client.sock";
  src.replace(0, path.size(), path);
  std::string dst(108, 'A');  // an abstract name of the full 107 bytes after its NUL
  dst[0] = '\0';
  const ss::ProxyParse p = ss::parse_proxy_header(v2(1, 0x31, src + dst));
  ASSERT_EQ(p.status, Status::done) << p.error;
  EXPECT_EQ(p.header.source->family(), AF_UNIX);
  EXPECT_EQ(p.header.source->path(), path);
  EXPECT_TRUE(p.header.destination->is_abstract());
  EXPECT_EQ(p.header.destination->path(), dst);
  // A path that fills all 108 bytes without a NUL converts too.
  const ss::ProxyParse full = ss::parse_proxy_header(v2(1, 0x31, std::string(216, 'p')));
  ASSERT_EQ(full.status, Status::done) << full.error;
  EXPECT_EQ(full.header.source->path(), std::string(108, 'p'));
}

TEST(ProxyV2, LocalAndUnspecNameNoClient) {
  const ss::ProxyParse local = ss::parse_proxy_header(v2(0, 0x00, ""));
  ASSERT_EQ(local.status, Status::done) << local.error;
  EXPECT_EQ(local.header.command, Command::local);
  EXPECT_FALSE(local.header.source);
  // LOCAL ignores its block, whatever family it names (a health check).
  const ss::ProxyParse odd = ss::parse_proxy_header(v2(0, 0xF7, "xyz"));
  ASSERT_EQ(odd.status, Status::done) << odd.error;
  EXPECT_EQ(odd.header.length, 19u);
  const ss::ProxyParse unspec = ss::parse_proxy_header(v2(1, 0x00, ""));
  ASSERT_EQ(unspec.status, Status::done) << unspec.error;
  EXPECT_EQ(unspec.header.command, Command::proxy);
  EXPECT_FALSE(unspec.header.source) << "UNSPEC: the connection's own addresses are used";
}

TEST(ProxyV2, MalformedHeadersAreInvalidWithAReason) {
  const std::string ipv4(12, '\1');
  std::string wrong_version = v2(1, 0x11, ipv4);
  wrong_version[12] = 0x11;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {wrong_version, "version"},
      {v2(2, 0x11, ipv4), "command"},
      {v2(1, 0x41, ipv4), "family"},
      {v2(1, 0x13, ipv4), "transport"},
      {v2(1, 0x11, std::string(11, '\1')), "too short"},
      {v2(1, 0x21, ipv4), "too short"},
      {v2(1, 0x31, std::string(215, 'x')), "too short"},
      {v2(1, 0x11, ipv4 + bytes({1, 0})), "truncated TLV"},
      {v2(1, 0x11, ipv4 + bytes({1, 0, 5}) + "abcd"), "longer than the header"},
  };
  for (const auto& [header, why] : bad) {
    const ss::ProxyParse p = ss::parse_proxy_header(header);
    EXPECT_EQ(p.status, Status::invalid) << why;
    EXPECT_NE(p.error.find(why), std::string::npos) << p.error;
  }
}

TEST(ProxyV2, ALengthAboveTheLimitIsInvalidBeforeTheBytesArrive) {
  // 16 bytes announce 65,535 more: refused at once, not buffered.
  const std::string announce = kSig + bytes({0x21, 0x11, 0xFF, 0xFF});
  const ss::ProxyParse p = ss::parse_proxy_header(announce);
  EXPECT_EQ(p.status, Status::invalid);
  EXPECT_NE(p.error.find("65551"), std::string::npos) << p.error;
  EXPECT_EQ(ss::parse_proxy_header(announce, 16 + 65535).status, Status::incomplete)
      << "a caller may allow the specification's whole range";
}

}  // namespace
