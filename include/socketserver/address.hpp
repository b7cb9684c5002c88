// address.hpp — socket addresses and name resolution.
//
//   Python                               C++
//   ("127.0.0.1", 21567)                 Address{"127.0.0.1", 21567}
//   ("::1", 21567, 0, scope_id)          Address{"fe80::1%eth0", 21567} or Address::inet6(...)
//   ("", 21567)  (every interface)       Address{"", 21567}
//   ("localhost", 21567)                 Address{"localhost", 21567}  (resolved when used)
//   "/tmp/sock"                          Address::unix_path("/tmp/sock")
//   b"\0name"  (Linux abstract)          Address::abstract("name")
//   socket.getaddrinfo(...)              getaddrinfo(...)
//
// An Address is a value: copyable, comparable, hashable, printable ("127.0.0.1:21567",
// "[::1]:21567", "/tmp/sock", "@name" for an abstract name). A numeric host is parsed at
// construction; a host name ("localhost") is kept as written and resolved by the socket that
// uses it, for that socket's family, exactly as Python resolves the host of a tuple.
// Thread-safety: an Address is an immutable value; the functions here are thread-safe.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace socketserver {

/// A socket address: IPv4, IPv6 (with flow info and scope id), Unix path, Linux abstract name,
/// or a host name still to be resolved. Mirrors the address tuples and strings of Python.
class Address {
 public:
  /// An empty address (family AF_UNSPEC, no host). What a default-constructed value holds.
  Address() noexcept;

  /// Python's (host, port). `host` is a numeric IPv4 or IPv6 address (an IPv6 one may carry
  /// "%scope", as "fe80::1%eth0", and may be written in brackets), "" for every interface
  /// (INADDR_ANY, or in6addr_any on an IPv6 socket), "<broadcast>", or a host name kept for
  /// resolution when a socket uses it. Throws std::invalid_argument when `port` is outside
  /// 0–65535, an IPv6 scope names no interface, or `host` holds a NUL byte (Python's
  /// ValueError "embedded null byte").
  Address(std::string_view host, int port);

  /// An IPv4 address from a numeric host. Throws std::invalid_argument when it is not one.
  static Address inet(std::string_view host, int port);
  /// An IPv6 address, Python's 4-tuple (host, port, flowinfo, scope_id). Throws
  /// std::invalid_argument when `host` is not a numeric IPv6 address or `flowinfo` is above
  /// 0xFFFFF (20 bits; Python raises OverflowError).
  static Address inet6(std::string_view host, int port, std::uint32_t flowinfo = 0,
                       std::uint32_t scope_id = 0);
  /// A Unix-domain path (a leading '\0' makes it a Linux abstract name). Throws
  /// std::invalid_argument, as Python does, when a path does not fit in sun_path with its
  /// terminator (107 bytes at most) or holds a NUL byte ("embedded null byte"), or when an
  /// abstract name is longer than sun_path (108 bytes with its leading NUL).
  static Address unix_path(std::string_view path);
  /// A Linux abstract Unix name (no file on disk), any bytes (NULs too), at most 107 of them
  /// (the leading NUL fills the rest of sun_path); printed as "@name". Throws
  /// std::invalid_argument when longer.
  static Address abstract(std::string_view name);
  /// Parses "host:port", "[v6]:port" or a Unix path (anything containing '/' or starting
  /// with '@' for an abstract name). Throws std::invalid_argument on a malformed string.
  static Address parse(std::string_view text);
  /// From a kernel sockaddr (what accept, recvfrom, getpeername and getsockname return). Never
  /// throws: every address a peer can have converts, as Python's makesockaddr — unnamed Unix
  /// (len is sizeof(sa_family_t)), abstract names filling sun_path, paths filling sun_path
  /// without a terminator (such a path is longer than unix_path accepts). A length shorter
  /// than sa_family_t gives an empty Address, a short IPv4/IPv6 one reads as zeros; a Unix
  /// path ends at its first NUL.
  static Address from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;

  /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC for a host name not yet resolved (and for "").
  [[nodiscard]] int family() const noexcept;
  /// True when this is a concrete sockaddr (not a name awaiting resolution, not empty).
  [[nodiscard]] bool is_resolved() const noexcept;
  /// The host as text: numeric address for IP ("127.0.0.1", "::1", without scope), the name
  /// for an unresolved address, the path for Unix ("" when unnamed).
  [[nodiscard]] std::string host() const;
  /// The port (0 for Unix addresses).
  [[nodiscard]] int port() const noexcept;
  /// IPv6 flow info and scope id (0 otherwise).
  [[nodiscard]] std::uint32_t flowinfo() const noexcept;
  [[nodiscard]] std::uint32_t scope_id() const noexcept;
  /// The Unix path (with its leading '\0' when abstract); "" for other families.
  [[nodiscard]] std::string path() const;
  /// True for a Linux abstract Unix name.
  [[nodiscard]] bool is_abstract() const noexcept;

  /// The sockaddr for system calls; only meaningful when is_resolved().
  [[nodiscard]] const sockaddr* sockaddr_ptr() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  [[nodiscard]] socklen_t sockaddr_len() const noexcept { return length_; }

  /// Resolves a host name for a socket of `family`/`type` (first getaddrinfo result; "" is the
  /// wildcard of that family). A resolved address is returned unchanged. Throws gai_error.
  [[nodiscard]] Address resolve(int family = AF_UNSPEC, int type = 0) const;

  /// "127.0.0.1:21567", "[::1]:21567", "[fe80::1%eth0]:80", "/tmp/sock", "@name",
  /// "localhost:21567" (unresolved), "*:21567" for the "" wildcard.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Address& a, const Address& b) noexcept;
  [[nodiscard]] std::size_t hash() const noexcept;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
  std::string name_;    // host name awaiting resolution ("" = wildcard when port_ is set)
  int name_port_ = -1;  // port of an unresolved name; -1 when the address is not a name
};

std::ostream& operator<<(std::ostream& os, const Address& address);

/// One result of getaddrinfo: Python's (family, type, proto, canonname, sockaddr).
struct AddrInfo {
  int family = 0;
  int type = 0;
  int proto = 0;
  std::string canonname;
  Address address;
};

/// Python's socket.getaddrinfo(host, port, family, type, proto, flags). An empty `host` is
/// Python's None (the loopback address, or the wildcard with AI_PASSIVE). Throws gai_error
/// naming the host; std::invalid_argument when the host or service holds a NUL byte (Python:
/// ValueError), here and in every function below that takes a name.
std::vector<AddrInfo> getaddrinfo(std::string_view host, int port, int family = 0, int type = 0,
                                  int proto = 0, int flags = 0);
/// As above with a service name or numeric string ("http", "21567"; "" for none).
std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service, int family = 0,
                                  int type = 0, int proto = 0, int flags = 0);
/// Python's socket.getnameinfo(sockaddr, flags): (host, service). Throws gai_error.
std::pair<std::string, std::string> getnameinfo(const Address& address, int flags = 0);
/// Python's socket.gethostname().
std::string gethostname();
/// Python's socket.getfqdn(name): the fully qualified name of `name` ("" = this host); the
/// name itself when nothing better is known.
std::string getfqdn(std::string_view name = "");
/// Python's socket.gethostbyname(name): the first IPv4 address, dotted. Throws gai_error.
std::string gethostbyname(std::string_view name);
/// Python's socket.getservbyname(name, proto): the port. Throws socket_error when unknown.
int getservbyname(std::string_view name, std::string_view proto = "");
/// Python's socket.getservbyport(port, proto): the service name. Throws socket_error when
/// unknown, std::invalid_argument when the port is outside 0–65535.
std::string getservbyport(int port, std::string_view proto = "");
/// Python's socket.inet_pton(family, text): the packed address bytes (4 or 16).
/// Throws socket_error (EINVAL: "illegal IP address string") on bad input.
std::string inet_pton(int family, std::string_view text);
/// Python's socket.inet_ntop(family, packed): text from 4 or 16 packed bytes.
/// Throws std::invalid_argument when the length does not fit the family.
std::string inet_ntop(int family, std::string_view packed);

}  // namespace socketserver

template <>
struct std::hash<socketserver::Address> {
  std::size_t operator()(const socketserver::Address& a) const noexcept { return a.hash(); }
};
