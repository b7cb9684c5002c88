// test_address.cpp — address.hpp: Address values, parsing, printing, name resolution.
//
// Name resolution stays local: "localhost" (in /etc/hosts), numeric literals, AI_NUMERICHOST.
// Unknown host names are only resolved in a child process inside a fresh network namespace.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "socketserver/address.hpp"
#include "socketserver/errors.hpp"
#include "test_util.hpp"

namespace ss = socketserver;
using ss::Address;

namespace {
bool have_services_file() { return ::access("/etc/services", R_OK) == 0; }
const char* const kUnknownHost = "no-such-host.socketserver-test.invalid";
}  // namespace

// ---- IPv4 -------------------------------------------------------------------------------------

TEST(AddressIPv4, NumericHostIsResolvedAtConstruction) {
  const Address a{"127.0.0.1", 21567};
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_TRUE(a.is_resolved());
  EXPECT_EQ(a.host(), "127.0.0.1");
  EXPECT_EQ(a.port(), 21567);
  EXPECT_EQ(a.to_string(), "127.0.0.1:21567");
  ASSERT_EQ(a.sockaddr_len(), sizeof(sockaddr_in));
  const auto* sin = reinterpret_cast<const sockaddr_in*>(a.sockaddr_ptr());
  EXPECT_EQ(sin->sin_family, AF_INET);
  EXPECT_EQ(ntohs(sin->sin_port), 21567);
  EXPECT_EQ(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
}

TEST(AddressIPv4, InetFactory) {
  const Address a = Address::inet("10.1.2.3", 80);
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.to_string(), "10.1.2.3:80");
  EXPECT_EQ(a, (Address{"10.1.2.3", 80}));
}

TEST(AddressIPv4, InetRejectsNonIPv4Hosts) {
  EXPECT_THROW((void)Address::inet("localhost", 80), std::invalid_argument);
  EXPECT_THROW((void)Address::inet("::1", 80), std::invalid_argument);
  EXPECT_THROW((void)Address::inet("256.1.1.1", 80), std::invalid_argument);
}

TEST(AddressIPv4, PortZeroAndMaxAreAccepted) {
  EXPECT_EQ((Address{"127.0.0.1", 0}).port(), 0);
  EXPECT_EQ((Address{"127.0.0.1", 65535}).port(), 65535);
}

TEST(AddressPort, NegativePortThrowsInvalidArgument) {
  EXPECT_THROW((Address{"127.0.0.1", -1}), std::invalid_argument);
  EXPECT_THROW((Address{"localhost", -1}), std::invalid_argument);
  EXPECT_THROW((Address{"", -1}), std::invalid_argument);
  EXPECT_THROW((void)Address::inet("127.0.0.1", -1), std::invalid_argument);
  EXPECT_THROW((void)Address::inet6("::1", -1), std::invalid_argument);
}

TEST(AddressPort, PortAbove65535ThrowsInvalidArgument) {
  EXPECT_THROW((Address{"127.0.0.1", 70000}), std::invalid_argument);
  EXPECT_THROW((Address{"::1", 65536}), std::invalid_argument);
  EXPECT_THROW((Address{"localhost", 70000}), std::invalid_argument);
  EXPECT_THROW((void)Address::inet("127.0.0.1", 70000), std::invalid_argument);
  EXPECT_THROW((void)Address::inet6("::1", 70000), std::invalid_argument);
}

// ---- IPv6 -------------------------------------------------------------------------------------

TEST(AddressIPv6, LoopbackPrintsInBrackets) {
  const Address a{"::1", 21567};
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_TRUE(a.is_resolved());
  EXPECT_EQ(a.host(), "::1");
  EXPECT_EQ(a.port(), 21567);
  EXPECT_EQ(a.to_string(), "[::1]:21567");
  EXPECT_EQ(a.sockaddr_len(), sizeof(sockaddr_in6));
}

TEST(AddressIPv6, BracketedHostIsAccepted) {
  EXPECT_EQ((Address{"[::1]", 80}), (Address{"::1", 80}));
}

TEST(AddressIPv6, ScopeByInterfaceName) {
  const unsigned lo = ::if_nametoindex("lo");
  if (lo == 0) GTEST_SKIP() << "no interface named lo";
  const Address a{"fe80::1%lo", 80};
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.scope_id(), lo);
  EXPECT_EQ(a.host(), "fe80::1");  // host() is without the scope
  EXPECT_EQ(a.to_string(), "[fe80::1%lo]:80");
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a.sockaddr_ptr());
  EXPECT_EQ(sin6->sin6_scope_id, lo);
}

TEST(AddressIPv6, NumericScope) {
  const Address a{"fe80::1%1", 80};
  EXPECT_EQ(a.scope_id(), 1U);
  EXPECT_EQ(a.host(), "fe80::1");
  EXPECT_EQ(a.port(), 80);
}

TEST(AddressIPv6, UnknownScopeNameThrowsInvalidArgument) {
  EXPECT_THROW((Address{"fe80::1%nosuchif0", 80}), std::invalid_argument);
}

TEST(AddressIPv6, Inet6FlowinfoAndScope) {
  const Address a = Address::inet6("fe80::2", 443, 0x12345, 1);
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.flowinfo(), 0x12345U);
  EXPECT_EQ(a.scope_id(), 1U);
  EXPECT_EQ(a.port(), 443);
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a.sockaddr_ptr());
  EXPECT_EQ(ntohl(sin6->sin6_flowinfo), 0x12345U);
  EXPECT_EQ(sin6->sin6_scope_id, 1U);
  EXPECT_NE(a, Address::inet6("fe80::2", 443, 0, 1));
}

// Python: socket.bind(("::1", 0, 0x100000, 0)) raises OverflowError "flowinfo must be
// 0-1048575"; ours throws std::invalid_argument (issue 10 item 8).
TEST(AddressIPv6, FlowinfoAbove20BitsThrowsInvalidArgument) {
  EXPECT_EQ(Address::inet6("::1", 80, 0xFFFFF).flowinfo(), 0xFFFFFU);
  try {
    (void)Address::inet6("::1", 80, 0x100000);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("flowinfo"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)Address::inet6("::1", 80, 0xFFFFFFFFU), std::invalid_argument);
}

// Python: socket.getaddrinfo("127.0.0.1\0.evil.example", 80) raises ValueError (embedded null)
// where a C string would quietly stop at the NUL and give 127.0.0.1 (issue 9 item 6).
TEST(AddressNul, HostWithEmbeddedNulThrowsInvalidArgument) {
  const std::string evil("127.0.0.1\0.evil.example", 23);
  try {
    (void)Address(evil, 80);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("embedded null byte"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1\\0.evil.example"), std::string::npos);
  }
  EXPECT_THROW((void)Address::inet(evil, 80), std::invalid_argument);
  EXPECT_THROW((void)Address::inet6(std::string("::1\0x", 5), 80), std::invalid_argument);
  EXPECT_THROW((void)Address(std::string("localhost\0x", 11), 80), std::invalid_argument);
  EXPECT_THROW((void)Address::parse(evil + ":80"), std::invalid_argument);
  EXPECT_THROW((void)ss::getaddrinfo(evil, 80), std::invalid_argument);
  EXPECT_THROW((void)ss::gethostbyname(evil), std::invalid_argument);
  EXPECT_THROW((void)ss::getfqdn(evil), std::invalid_argument);
  EXPECT_THROW((void)ss::inet_pton(AF_INET, evil), std::invalid_argument);
}

// Python: socket.getaddrinfo(None, "http\0x") and socket.getservbyname("http\0x") raise
// ValueError; "http" alone would otherwise be looked up.
TEST(AddressNul, ServiceWithEmbeddedNulThrowsInvalidArgument) {
  const std::string evil("80\0junk", 7);
  try {
    (void)ss::getaddrinfo("127.0.0.1", evil);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("embedded null byte"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("service"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)ss::getservbyname(std::string("http\0x", 6), "tcp"), std::invalid_argument);
  EXPECT_THROW((void)ss::getservbyname("http", std::string("tcp\0x", 5)), std::invalid_argument);
  EXPECT_THROW((void)ss::getservbyport(80, std::string("tcp\0x", 5)), std::invalid_argument);
}

TEST(AddressIPv6, Inet6RejectsIPv4) {
  EXPECT_THROW((void)Address::inet6("127.0.0.1", 80), std::invalid_argument);
}

TEST(AddressIPv6, FlowinfoAndScopeAreZeroForIPv4) {
  const Address a{"127.0.0.1", 1};
  EXPECT_EQ(a.flowinfo(), 0U);
  EXPECT_EQ(a.scope_id(), 0U);
}

// ---- wildcard, names, default -----------------------------------------------------------------

TEST(AddressWildcard, EmptyHostMeansEveryInterface) {
  const Address a{"", 21567};
  EXPECT_EQ(a.to_string(), "*:21567");
  EXPECT_EQ(a.port(), 21567);
  EXPECT_EQ(a.family(), AF_UNSPEC);
  EXPECT_FALSE(a.is_resolved());
}

TEST(AddressWildcard, ResolvesToInaddrAnyForIPv4) {
  const Address r = Address{"", 21567}.resolve(AF_INET);
  EXPECT_EQ(r.family(), AF_INET);
  EXPECT_EQ(r.host(), "0.0.0.0");
  EXPECT_EQ(r.port(), 21567);
  EXPECT_TRUE(r.is_resolved());
}

TEST(AddressWildcard, ResolvesToIn6addrAnyForIPv6) {
  const Address r = Address{"", 21567}.resolve(AF_INET6);
  EXPECT_EQ(r.family(), AF_INET6);
  EXPECT_EQ(r.host(), "::");
  EXPECT_EQ(r.port(), 21567);
  EXPECT_EQ(r.to_string(), "[::]:21567");
}

TEST(AddressName, HostNameIsKeptUnresolved) {
  const Address a{"localhost", 8080};
  EXPECT_FALSE(a.is_resolved());
  EXPECT_EQ(a.family(), AF_UNSPEC);
  EXPECT_EQ(a.host(), "localhost");
  EXPECT_EQ(a.port(), 8080);
  EXPECT_EQ(a.to_string(), "localhost:8080");
}

TEST(AddressName, ResolveLocalhostForIPv4) {
  const Address r = Address{"localhost", 8080}.resolve(AF_INET, SOCK_STREAM);
  EXPECT_TRUE(r.is_resolved());
  EXPECT_EQ(r.to_string(), "127.0.0.1:8080");
}

TEST(AddressName, ResolveOfAResolvedAddressIsTheSame) {
  const Address a{"127.0.0.1", 9};
  EXPECT_EQ(a.resolve(), a);
  EXPECT_EQ(a.resolve(AF_INET, SOCK_DGRAM), a);
}

TEST(AddressName, ResolveUnknownHostThrowsGaiErrorInIsolatedNetns) {
  EXPECT_CHILD_OK(testutil::run_in_child(
      []() -> std::string {
        try {
          (void)Address{kUnknownHost, 80}.resolve(AF_INET);
          return "resolve did not throw";
        } catch (const ss::gai_error& e) {
          if (std::string(e.what()).find(kUnknownHost) == std::string::npos)
            return std::string("message does not name the host: ") + e.what();
          if (e.code().category() != ss::gai_category()) return "wrong category";
        }
        return "";
      },
      true));
}

TEST(AddressDefault, IsEmpty) {
  const Address a;
  EXPECT_EQ(a.family(), AF_UNSPEC);
  EXPECT_FALSE(a.is_resolved());
  EXPECT_EQ(a.sockaddr_len(), 0U);
  EXPECT_EQ(a, Address());
}

// ---- Unix -------------------------------------------------------------------------------------

TEST(AddressUnix, PathRoundTrip) {
  const Address a = Address::unix_path("/tmp/sock");
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_TRUE(a.is_resolved());
  EXPECT_FALSE(a.is_abstract());
  EXPECT_EQ(a.path(), "/tmp/sock");
  EXPECT_EQ(a.host(), "/tmp/sock");
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.to_string(), "/tmp/sock");
  const auto* sun = reinterpret_cast<const sockaddr_un*>(a.sockaddr_ptr());
  EXPECT_EQ(sun->sun_family, AF_UNIX);
  EXPECT_STREQ(sun->sun_path, "/tmp/sock");
}

TEST(AddressUnix, LongestPathFitsAndOneMoreThrows) {
  const std::string p107 = "/" + std::string(106, 'p');
  EXPECT_EQ(Address::unix_path(p107).path(), p107);
  EXPECT_THROW((void)Address::unix_path(p107 + "q"), std::invalid_argument);
}

TEST(AddressUnix, TwoHundredBytePathThrowsInvalidArgument) {
  EXPECT_THROW((void)Address::unix_path("/" + std::string(199, 'x')), std::invalid_argument);
}

TEST(AddressUnix, AbstractNamePrintsWithAt) {
  const Address a = Address::abstract("name");
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_TRUE(a.is_abstract());
  EXPECT_EQ(a.path(), std::string("\0name", 5));
  EXPECT_EQ(a.to_string(), "@name");
  const auto* sun = reinterpret_cast<const sockaddr_un*>(a.sockaddr_ptr());
  EXPECT_EQ(sun->sun_path[0], '\0');
  EXPECT_EQ(std::memcmp(sun->sun_path + 1, "name", 4), 0);
  // The kernel counts an abstract name by the length, not a terminator.
  EXPECT_EQ(a.sockaddr_len(), offsetof(sockaddr_un, sun_path) + 5);
}

TEST(AddressUnix, LeadingNulPathIsAbstract) {
  const Address a = Address::unix_path(std::string("\0name", 5));
  EXPECT_TRUE(a.is_abstract());
  EXPECT_EQ(a, Address::abstract("name"));
}

TEST(AddressUnix, TooLongAbstractNameThrows) {
  EXPECT_THROW((void)Address::abstract(std::string(200, 'a')), std::invalid_argument);
}

// Python (issue 10 item 8): an abstract name may fill sun_path, a NUL plus 107 bytes
// (socket.bind(b"\0" + b"A" * 107) works); one byte more is "AF_UNIX path too long".
TEST(AddressUnix, AbstractNameFillsSunPathAndOneMoreThrows) {
  const std::string name(107, 'A');
  const Address a = Address::abstract(name);
  EXPECT_TRUE(a.is_abstract());
  EXPECT_EQ(a.path(), std::string(1, '\0') + name);
  EXPECT_EQ(a.to_string(), "@" + name);
  EXPECT_EQ(a.sockaddr_len(), sizeof(sockaddr_un));
  EXPECT_EQ(Address::unix_path(std::string(1, '\0') + name), a);
  EXPECT_THROW((void)Address::abstract(name + "B"), std::invalid_argument);
}

TEST(AddressUnix, AbstractNameMayHoldNulBytes) {
  const std::string name("a\0b", 3);
  const Address a = Address::abstract(name);
  EXPECT_EQ(a.path(), std::string(1, '\0') + name);
  EXPECT_NE(a, Address::abstract("a"));
}

// Python: socket.bind("/x.sock\0rest") raises ValueError "embedded null byte" instead of
// binding "/x.sock" (issue 9 item 6).
TEST(AddressUnix, PathWithEmbeddedNulThrowsInvalidArgument) {
  try {
    (void)Address::unix_path(std::string("/x.sock\0.evil", 13));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("embedded null byte"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/x.sock\\0.evil"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)Address::parse(std::string("/x.sock\0y", 9)), std::invalid_argument);
  EXPECT_EQ(Address::parse(std::string("@x\0y", 4)), Address::abstract(std::string("x\0y", 3)));
}

// ---- parsing ----------------------------------------------------------------------------------

TEST(AddressParse, HostColonPort) {
  EXPECT_EQ(Address::parse("127.0.0.1:21567"), (Address{"127.0.0.1", 21567}));
  EXPECT_EQ(Address::parse("127.0.0.1:21567").to_string(), "127.0.0.1:21567");
}

TEST(AddressParse, BracketedIPv6) {
  const Address a = Address::parse("[::1]:21567");
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a, (Address{"::1", 21567}));
  EXPECT_EQ(a.to_string(), "[::1]:21567");
}

TEST(AddressParse, NameColonPortStaysUnresolved) {
  const Address a = Address::parse("localhost:80");
  EXPECT_FALSE(a.is_resolved());
  EXPECT_EQ(a.host(), "localhost");
  EXPECT_EQ(a.port(), 80);
}

TEST(AddressParse, UnixPathAndAbstractName) {
  EXPECT_EQ(Address::parse("/tmp/sock"), Address::unix_path("/tmp/sock"));
  EXPECT_EQ(Address::parse("@name"), Address::abstract("name"));
}

TEST(AddressParse, PrintedFormsParseBack) {
  for (const Address& a : {Address{"127.0.0.1", 1}, Address{"::1", 65535},
                           Address::unix_path("/tmp/x.sock"), Address::abstract("abs")}) {
    SCOPED_TRACE(a.to_string());
    EXPECT_EQ(Address::parse(a.to_string()), a);
  }
}

TEST(AddressParse, MalformedStringsThrowInvalidArgument) {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:abc", "127.0.0.1:80x", "127.0.0.1:-1",
        "127.0.0.1:70000", "[::1]", "[::1:80", "[::1]80", "[::1]:"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW((void)Address::parse(bad), std::invalid_argument);
  }
}

TEST(AddressParse, BracketsHoldOnlyAnIPv6Literal) {
  // "[...]" is the IPv6 literal syntax; a name or IPv4 address in brackets is malformed.
  EXPECT_THROW((void)Address::parse("[nothex]:80"), std::invalid_argument);
  EXPECT_THROW((void)Address::parse("[127.0.0.1]:80"), std::invalid_argument);
}

// ---- equality, hashing, printing --------------------------------------------------------------

TEST(AddressEquality, ComparesFamilyHostAndPort) {
  EXPECT_EQ((Address{"127.0.0.1", 80}), (Address{"127.0.0.1", 80}));
  EXPECT_NE((Address{"127.0.0.1", 80}), (Address{"127.0.0.1", 81}));
  EXPECT_NE((Address{"127.0.0.1", 80}), (Address{"127.0.0.2", 80}));
  EXPECT_NE((Address{"127.0.0.1", 80}), (Address{"::1", 80}));
  EXPECT_NE((Address{"localhost", 80}), (Address{"127.0.0.1", 80}));
  EXPECT_EQ((Address{"localhost", 80}), (Address{"localhost", 80}));
  EXPECT_NE(Address::unix_path("/a"), Address::unix_path("/b"));
  EXPECT_NE(Address::unix_path("/a"), Address::abstract("/a"));
  EXPECT_NE((Address{"", 80}), (Address{"", 81}));
}

TEST(AddressHash, EqualAddressesHashEqualAndWorkInUnorderedSet) {
  EXPECT_EQ(std::hash<Address>{}(Address{"127.0.0.1", 80}),
            std::hash<Address>{}(Address::parse("127.0.0.1:80")));
  std::unordered_set<Address> set;
  set.insert(Address{"127.0.0.1", 80});
  set.insert(Address::inet("127.0.0.1", 80));
  set.insert(Address{"127.0.0.1", 81});
  set.insert(Address{"::1", 80});
  set.insert(Address::parse("[::1]:80"));
  set.insert(Address::unix_path("/tmp/s"));
  set.insert(Address::abstract("s"));
  set.insert(Address{"localhost", 80});
  EXPECT_EQ(set.size(), 6U);
  EXPECT_EQ(set.count(Address{"127.0.0.1", 81}), 1U);
  EXPECT_EQ(set.count(Address{"127.0.0.1", 82}), 0U);
}

TEST(AddressPrint, StreamOperatorMatchesToString) {
  std::ostringstream os;
  os << Address{"127.0.0.1", 21567} << ' ' << Address{"::1", 21567} << ' '
     << Address::abstract("n");
  EXPECT_EQ(os.str(), "127.0.0.1:21567 [::1]:21567 @n");
}

// ---- from_sockaddr ----------------------------------------------------------------------------

TEST(AddressFromSockaddr, IPv4RoundTrip) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(21567);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const Address a = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  EXPECT_EQ(a, (Address{"127.0.0.1", 21567}));
  ASSERT_EQ(a.sockaddr_len(), sizeof sin);
  const auto* back = reinterpret_cast<const sockaddr_in*>(a.sockaddr_ptr());
  EXPECT_EQ(back->sin_port, sin.sin_port);
  EXPECT_EQ(back->sin_addr.s_addr, sin.sin_addr.s_addr);
}

TEST(AddressFromSockaddr, IPv6RoundTripKeepsFlowinfoAndScope) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(443);
  sin6.sin6_flowinfo = htonl(7);
  sin6.sin6_scope_id = 1;
  ASSERT_EQ(::inet_pton(AF_INET6, "fe80::5", &sin6.sin6_addr), 1);
  const Address a = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof sin6);
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.host(), "fe80::5");
  EXPECT_EQ(a.port(), 443);
  EXPECT_EQ(a.flowinfo(), 7U);
  EXPECT_EQ(a.scope_id(), 1U);
  const Address again = Address::from_sockaddr(a.sockaddr_ptr(), a.sockaddr_len());
  EXPECT_EQ(again, a);
}

TEST(AddressFromSockaddr, UnixPathAndAbstract) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::strcpy(sun.sun_path, "/tmp/x");
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 7);
  EXPECT_EQ(Address::from_sockaddr(reinterpret_cast<sockaddr*>(&sun), len),
            Address::unix_path("/tmp/x"));
  const Address abs = Address::abstract("zz");
  const Address back = Address::from_sockaddr(abs.sockaddr_ptr(), abs.sockaddr_len());
  EXPECT_TRUE(back.is_abstract());
  EXPECT_EQ(back.to_string(), "@zz");
}

TEST(AddressFromSockaddr, UnnamedUnixSocketHasEmptyPath) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  const Address a = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&sun),
                                           static_cast<socklen_t>(sizeof(sa_family_t)));
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_EQ(a.path(), "");
  EXPECT_FALSE(a.is_abstract());
}

namespace {
// A sockaddr_un of `len` bytes whose sun_path starts with `bytes` (the rest zero).
sockaddr_storage unix_bytes(std::string_view bytes) {
  sockaddr_storage ss{};
  auto* sun = reinterpret_cast<sockaddr_un*>(&ss);
  sun->sun_family = AF_UNIX;
  std::memcpy(sun->sun_path, bytes.data(), std::min(bytes.size(), sizeof sun->sun_path));
  return ss;
}
Address from_unix(const sockaddr_storage& ss, std::size_t len) {
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss),
                                static_cast<socklen_t>(len));
}
constexpr std::size_t kSunHeader = offsetof(sockaddr_un, sun_path);
}  // namespace

// What accept/recvfrom return for the peer of issue 9 item 1 (bound to b"\0" + b"A" * 107):
// it converts (Python's makesockaddr returns the bytes) instead of throwing.
TEST(AddressFromSockaddr, AbstractNameFillingSunPathConverts) {
  const std::string path = std::string(1, '\0') + std::string(107, 'A');
  const auto ss = unix_bytes(path);
  Address a;
  EXPECT_NO_THROW(a = from_unix(ss, sizeof(sockaddr_un)));
  EXPECT_TRUE(a.is_abstract());
  EXPECT_EQ(a.path(), path);
  EXPECT_EQ(a.to_string(), "@" + std::string(107, 'A'));
  EXPECT_EQ(a, Address::abstract(std::string(107, 'A')));
  EXPECT_EQ(a.sockaddr_len(), sizeof(sockaddr_un));
}

// A path that fills sun_path has no terminator; the kernel then reports one byte more than
// sockaddr_un (offsetof + 108 + 1). Python reads it with strnlen: the 108 bytes.
TEST(AddressFromSockaddr, PathFillingSunPathWithoutNulConverts) {
  const std::string path = "/" + std::string(107, 'p');
  const auto ss = unix_bytes(path);
  for (const std::size_t len : {sizeof(sockaddr_un), sizeof(sockaddr_un) + 1, sizeof ss}) {
    Address a;
    EXPECT_NO_THROW(a = from_unix(ss, len)) << len;
    EXPECT_FALSE(a.is_abstract());
    EXPECT_EQ(a.path(), path) << len;
    EXPECT_EQ(a.to_string(), path);
    EXPECT_EQ(a.sockaddr_len(), sizeof(sockaddr_un)) << len;  // exactly sun_path, no NUL
  }
  // Built by hand, such a path is refused (Python: "AF_UNIX path too long").
  EXPECT_THROW((void)Address::unix_path(path), std::invalid_argument);
}

// Unnamed (a socketpair, a client that never bound): only the family, length
// sizeof(sa_family_t). Python returns '' (or b'' on Linux).
TEST(AddressFromSockaddr, UnnamedHasOnlyTheFamily) {
  const auto ss = unix_bytes("");
  const Address a = from_unix(ss, sizeof(sa_family_t));
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_TRUE(a.is_resolved());
  EXPECT_EQ(a.sockaddr_len(), sizeof(sa_family_t));
  EXPECT_EQ(a.to_string(), "(unnamed)");
  EXPECT_EQ(a, Address::unix_path(""));
}

// Odd lengths: a path without its NUL counted, with garbage after the NUL, a lone NUL (an empty
// abstract name), one byte of path; every one converts to the canonical form.
TEST(AddressFromSockaddr, OddUnixLengthsConvertCanonically) {
  const auto tmp = unix_bytes("/tmp/x");
  EXPECT_EQ(from_unix(tmp, kSunHeader + 6), Address::unix_path("/tmp/x"));  // no NUL counted
  EXPECT_EQ(from_unix(tmp, kSunHeader + 6).sockaddr_len(), kSunHeader + 7);
  EXPECT_EQ(from_unix(tmp, kSunHeader + 3).path(), "/tm");  // cut short
  const auto garbage = unix_bytes(std::string("/tmp/x\0garbage", 14));
  const Address g = from_unix(garbage, kSunHeader + 14);
  EXPECT_EQ(g, Address::unix_path("/tmp/x"));
  EXPECT_EQ(g.sockaddr_len(), kSunHeader + 7);
  EXPECT_EQ(
      std::memcmp(g.sockaddr_ptr(), Address::unix_path("/tmp/x").sockaddr_ptr(), g.sockaddr_len()),
      0);
  const Address lone_nul = from_unix(unix_bytes(std::string(1, '\0')), kSunHeader + 1);
  EXPECT_TRUE(lone_nul.is_abstract());
  EXPECT_EQ(lone_nul.to_string(), "@");
  EXPECT_EQ(from_unix(unix_bytes("/"), kSunHeader + 1).path(), "/");
  // Shorter than the family: nothing to read, an empty address.
  EXPECT_FALSE(from_unix(tmp, 1).is_resolved());
  EXPECT_FALSE(from_unix(tmp, 0).is_resolved());
  EXPECT_FALSE(Address::from_sockaddr(nullptr, 16).is_resolved());
}

// Every length from 0 to beyond sockaddr_storage converts without a throw, for each family.
TEST(AddressFromSockaddr, EveryLengthOfEveryFamilyConverts) {
  for (const int family : {AF_UNIX, AF_INET, AF_INET6, AF_UNSPEC, AF_PACKET}) {
    for (const char fill : {'\0', 'A', '\xff'}) {
      std::string raw(sizeof(sockaddr_storage) + 8, fill);
      const auto fam = static_cast<sa_family_t>(family);
      std::memcpy(raw.data(), &fam, sizeof fam);
      for (std::size_t len = 0; len <= raw.size(); ++len) {
        Address a;
        EXPECT_NO_THROW(a = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(raw.data()),
                                                   static_cast<socklen_t>(len)))
            << family << " " << len;
        EXPECT_LE(a.sockaddr_len(), sizeof(sockaddr_storage));
        EXPECT_NO_THROW((void)a.to_string());
        if (len >= sizeof(sa_family_t)) {
          EXPECT_EQ(a.family(), family);
        }
      }
    }
  }
}

// A short IPv4/IPv6 sockaddr (never from the kernel) reads as zeros, at the family's length.
TEST(AddressFromSockaddr, ShortInetReadsAsZeros) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(80);
  const Address a = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&sin), 4);
  EXPECT_EQ(a, Address::inet("0.0.0.0", 80));
  EXPECT_EQ(a.sockaddr_len(), sizeof(sockaddr_in));
}

// ---- getaddrinfo ------------------------------------------------------------------------------

TEST(Getaddrinfo, LocalhostWithIntegerPort) {
  const auto infos = ss::getaddrinfo("localhost", 8080, AF_INET, SOCK_STREAM);
  ASSERT_FALSE(infos.empty());
  for (const auto& ai : infos) {
    EXPECT_EQ(ai.family, AF_INET);
    EXPECT_EQ(ai.type, SOCK_STREAM);
    EXPECT_EQ(ai.address.to_string(), "127.0.0.1:8080");
  }
}

TEST(Getaddrinfo, LocalhostWithServiceString) {
  const auto infos = ss::getaddrinfo("localhost", "21567", AF_INET, SOCK_STREAM);
  ASSERT_FALSE(infos.empty());
  EXPECT_EQ(infos.front().address.port(), 21567);
  if (!have_services_file()) GTEST_SKIP() << "no /etc/services";
  const auto http = ss::getaddrinfo("localhost", "http", AF_INET, SOCK_STREAM);
  ASSERT_FALSE(http.empty());
  EXPECT_EQ(http.front().address.port(), 80);
}

TEST(Getaddrinfo, FamilyFilter) {
  const auto v6 = ss::getaddrinfo("::1", 80, AF_INET6, SOCK_DGRAM, 0, AI_NUMERICHOST);
  ASSERT_FALSE(v6.empty());
  for (const auto& ai : v6) {
    EXPECT_EQ(ai.family, AF_INET6);
    EXPECT_EQ(ai.type, SOCK_DGRAM);
    EXPECT_EQ(ai.address.to_string(), "[::1]:80");
  }
  const auto any = ss::getaddrinfo("127.0.0.1", 80, AF_UNSPEC, 0, 0, AI_NUMERICHOST);
  ASSERT_FALSE(any.empty());
  for (const auto& ai : any) EXPECT_EQ(ai.family, AF_INET);
}

TEST(Getaddrinfo, PassiveEmptyHostIsTheWildcard) {
  const auto infos = ss::getaddrinfo("", 80, AF_INET, SOCK_STREAM, 0, AI_PASSIVE);
  ASSERT_FALSE(infos.empty());
  EXPECT_EQ(infos.front().address.host(), "0.0.0.0");
}

TEST(Getaddrinfo, NumericHostFlagWithANameThrowsGaiError) {
  try {
    (void)ss::getaddrinfo("localhost", 80, AF_INET, SOCK_STREAM, 0, AI_NUMERICHOST);
    FAIL() << "no exception";
  } catch (const ss::gai_error& e) {
    EXPECT_EQ(e.eai_code(), EAI_NONAME);
    EXPECT_EQ(e.code().category(), ss::gai_category());
    EXPECT_NE(std::string(e.what()).find("localhost"), std::string::npos) << e.what();
  }
}

TEST(Getaddrinfo, UnknownServiceThrowsGaiError) {
  EXPECT_THROW((void)ss::getaddrinfo("127.0.0.1", "no-such-service-xyz", AF_INET, SOCK_STREAM),
               ss::gai_error);
}

TEST(Getaddrinfo, UnknownHostThrowsGaiErrorNamingTheHostInIsolatedNetns) {
  EXPECT_CHILD_OK(testutil::run_in_child(
      []() -> std::string {
        try {
          (void)ss::getaddrinfo(kUnknownHost, 80, AF_INET, SOCK_STREAM);
          return "getaddrinfo did not throw";
        } catch (const ss::gai_error& e) {
          if (std::string(e.what()).find(kUnknownHost) == std::string::npos)
            return std::string("message does not name the host: ") + e.what();
          if (e.eai_code() == 0) return "EAI code is 0";
        }
        return "";
      },
      true));
}

TEST(Gethostbyname, UnknownHostThrowsGaiErrorInIsolatedNetns) {
  EXPECT_CHILD_OK(testutil::run_in_child(
      []() -> std::string {
        try {
          (void)ss::gethostbyname(kUnknownHost);
          return "gethostbyname did not throw";
        } catch (const ss::gai_error& e) {
          if (std::string(e.what()).find(kUnknownHost) == std::string::npos)
            return std::string("message does not name the host: ") + e.what();
        }
        return "";
      },
      true));
}

// ---- getnameinfo and host names ---------------------------------------------------------------

TEST(Getnameinfo, NumericHostAndService) {
  const auto [host, serv] =
      ss::getnameinfo(Address{"127.0.0.1", 21567}, NI_NUMERICHOST | NI_NUMERICSERV);
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(serv, "21567");
  const auto [host6, serv6] = ss::getnameinfo(Address{"::1", 80}, NI_NUMERICHOST | NI_NUMERICSERV);
  EXPECT_EQ(host6, "::1");
  EXPECT_EQ(serv6, "80");
}

TEST(Gethostname, IsNonEmptyAndMatchesTheSystem) {
  char buf[256] = {};
  ASSERT_EQ(::gethostname(buf, sizeof buf - 1), 0);
  const std::string name = ss::gethostname();
  EXPECT_FALSE(name.empty());
  EXPECT_EQ(name, buf);
}

TEST(Getfqdn, LocalhostNamesLocalhost) {
  const std::string fqdn = ss::getfqdn("localhost");
  EXPECT_NE(fqdn.find("localhost"), std::string::npos) << fqdn;
}

TEST(Getfqdn, ThisHostIsNonEmptyInIsolatedNetns) {
  EXPECT_CHILD_OK(testutil::run_in_child(
      []() -> std::string { return ss::getfqdn().empty() ? "getfqdn() is empty" : ""; }, true));
}

TEST(Gethostbyname, Localhost) { EXPECT_EQ(ss::gethostbyname("localhost"), "127.0.0.1"); }

TEST(Gethostbyname, NumericLiteralIsReturnedAsIs) {
  EXPECT_EQ(ss::gethostbyname("10.20.30.40"), "10.20.30.40");
  EXPECT_EQ(ss::gethostbyname("127.0.0.1"), "127.0.0.1");
}

// ---- services ---------------------------------------------------------------------------------

TEST(Getservbyname, HttpOverTcpIs80) {
  if (!have_services_file()) GTEST_SKIP() << "no /etc/services";
  EXPECT_EQ(ss::getservbyname("http", "tcp"), 80);
  EXPECT_EQ(ss::getservbyname("http"), 80);
}

TEST(Getservbyname, UnknownServiceThrowsSocketError) {
  EXPECT_THROW((void)ss::getservbyname("no-such-service-xyz", "tcp"), ss::socket_error);
}

TEST(Getservbyport, Port80OverTcpIsHttp) {
  if (!have_services_file()) GTEST_SKIP() << "no /etc/services";
  EXPECT_EQ(ss::getservbyport(80, "tcp"), "http");
}

TEST(Getservbyport, OutOfRangePortThrowsInvalidArgument) {
  EXPECT_THROW((void)ss::getservbyport(70000), std::invalid_argument);
  EXPECT_THROW((void)ss::getservbyport(-1, "tcp"), std::invalid_argument);
}

TEST(Getservbyport, UnknownPortThrowsSocketError) {
  const int port = 65431;
  if (::getservbyport(htons(port), "tcp") != nullptr) GTEST_SKIP() << "port is listed";
  EXPECT_THROW((void)ss::getservbyport(port, "tcp"), ss::socket_error);
}

// ---- inet_pton / inet_ntop --------------------------------------------------------------------

TEST(InetPton, IPv4RoundTrip) {
  const std::string packed = ss::inet_pton(AF_INET, "127.0.0.1");
  EXPECT_EQ(packed, std::string("\x7f\x00\x00\x01", 4));
  EXPECT_EQ(ss::inet_ntop(AF_INET, packed), "127.0.0.1");
}

TEST(InetPton, IPv6RoundTrip) {
  const std::string packed = ss::inet_pton(AF_INET6, "::1");
  ASSERT_EQ(packed.size(), 16U);
  EXPECT_EQ(packed, std::string(15, '\0') + '\x01');
  EXPECT_EQ(ss::inet_ntop(AF_INET6, packed), "::1");
  EXPECT_EQ(ss::inet_ntop(AF_INET6, ss::inet_pton(AF_INET6, "2001:db8::8:800:200c:417a")),
            "2001:db8::8:800:200c:417a");
}

TEST(InetPton, BadTextThrowsSocketErrorEinval) {
  for (const auto& [family, text] :
       {std::pair{AF_INET, "256.0.0.1"}, std::pair{AF_INET, "::1"}, std::pair{AF_INET, ""},
        std::pair{AF_INET6, "1.2.3.4"}, std::pair{AF_INET6, "::g"}}) {
    SCOPED_TRACE(text);
    try {
      (void)ss::inet_pton(family, text);
      ADD_FAILURE() << "no exception";
    } catch (const ss::socket_error& e) {
      EXPECT_EQ(e.errno_value(), EINVAL);
    }
  }
}

TEST(InetNtop, WrongLengthThrowsInvalidArgument) {
  EXPECT_THROW((void)ss::inet_ntop(AF_INET, std::string(3, '\0')), std::invalid_argument);
  EXPECT_THROW((void)ss::inet_ntop(AF_INET, std::string(16, '\0')), std::invalid_argument);
  EXPECT_THROW((void)ss::inet_ntop(AF_INET6, std::string(4, '\0')), std::invalid_argument);
}

TEST(AddressConstruct, BracketsHoldOnlyAnIPv6Literal) {
  EXPECT_THROW((Address{"[nothex]", 80}), std::invalid_argument);
  EXPECT_THROW((Address{"[127.0.0.1]", 80}), std::invalid_argument);
  EXPECT_EQ((Address{"[::1]", 80}).family(), AF_INET6);
}
