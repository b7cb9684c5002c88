// proxy_protocol.cpp — the PROXY protocol header parser (versions 1 and 2), as HAProxy's
// specification (doc/proxy-protocol.txt) describes it.
#include "socketserver/proxy_protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "timeout.hpp"

namespace socketserver {

namespace {

using Status = ProxyParse::Status;

constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t v2_fixed = 16;  // signature, version and command, family, length

ProxyParse invalid(std::string why) {
  ProxyParse p;
  p.status = Status::invalid;
  p.error = std::move(why);
  return p;
}

ProxyParse incomplete() { return ProxyParse{}; }

// True when `bytes` (however short) is still the start of `whole`.
bool starts_as(std::string_view bytes, std::string_view whole) {
  const std::size_t n = std::min(bytes.size(), whole.size());
  return bytes.substr(0, n) == whole.substr(0, n);
}

// ---- version 1 -------------------------------------------------------------------------------

// A port as the specification writes it: decimal, no sign, no leading zero (but "0"), <= 65535.
std::optional<std::uint16_t> v1_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// An address of `family` from its text form and a port (nullopt: not such an address).
std::optional<Address> v1_address(int family, std::string_view host, std::uint16_t port) {
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  std::memcpy(text, host.data(), host.size());
  if (family == AF_INET) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    if (::inet_pton(AF_INET, text, &sin.sin_addr) != 1) return std::nullopt;
    return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  if (::inet_pton(AF_INET6, text, &sin6.sin6_addr) != 1) return std::nullopt;
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
}

// Splits `line` on single spaces into exactly `n` fields (false: another number of fields, or
// an empty one, i.e. two spaces in a row or one at an end).
bool split_fields(std::string_view line, std::string_view* fields, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t space = line.find(' ');
    if (i + 1 < n) {
      if (space == std::string_view::npos || space == 0) return false;
      fields[i] = line.substr(0, space);
      line.remove_prefix(space + 1);
    } else {
      if (space != std::string_view::npos || line.empty()) return false;
      fields[i] = line;
    }
  }
  return true;
}

ProxyParse parse_v1(std::string_view bytes) {
  const std::string_view window = bytes.substr(0, proxy_v1_max_length);
  const std::size_t lf = window.find('\n');
  if (lf == std::string_view::npos) {
    if (bytes.size() >= proxy_v1_max_length) {
      return invalid("PROXY v1 header without \\r\\n in its first 107 bytes");
    }
    return incomplete();  // the line is judged whole: UNKNOWN's may hold anything
  }
  if (lf == 0 || window[lf - 1] != '\r') return invalid("PROXY v1 header ends in \\n without \\r");
  const std::string_view line = window.substr(v1_prefix.size(), lf - 1 - v1_prefix.size());
  ProxyParse p;
  p.status = Status::done;
  p.header.version = 1;
  p.header.length = lf + 1;
  // UNKNOWN: the sender could not say; whatever follows it on the line is ignored (the spec).
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) {
    p.header.command = ProxyHeader::Command::local;
    return p;
  }
  std::string_view f[5];
  if (!split_fields(line, f, 5)) {
    return invalid("PROXY v1 header is not \"PROXY TCP4|TCP6 src dst sport dport\"");
  }
  int family = 0;
  if (f[0] == "TCP4") {
    family = AF_INET;
  } else if (f[0] == "TCP6") {
    family = AF_INET6;
  } else {
    return invalid("PROXY v1 header names an unknown protocol (not TCP4, TCP6 or UNKNOWN)");
  }
  const auto sport = v1_port(f[3]);
  const auto dport = v1_port(f[4]);
  if (!sport || !dport) return invalid("PROXY v1 header has a malformed port");
  auto source = v1_address(family, f[1], *sport);
  auto destination = v1_address(family, f[2], *dport);
  if (!source || !destination) {
    return invalid(std::string("PROXY v1 header has a malformed ") +
                   (family == AF_INET ? "IPv4" : "IPv6") + " address");
  }
  p.header.command = ProxyHeader::Command::proxy;
  p.header.socket_type = SOCK_STREAM;
  p.header.source = std::move(source);
  p.header.destination = std::move(destination);
  return p;
}

// ---- version 2 -------------------------------------------------------------------------------

std::uint16_t be16(const unsigned char* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

Address v2_inet(const unsigned char* addr, const unsigned char* port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  std::memcpy(&sin.sin_addr, addr, 4);
  std::memcpy(&sin.sin_port, port, 2);  // both big-endian already
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
}

Address v2_inet6(const unsigned char* addr, const unsigned char* port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  std::memcpy(&sin6.sin6_addr, addr, 16);
  std::memcpy(&sin6.sin6_port, port, 2);
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
}

// A 108-byte sun_path as the header carries it: a path ends at its first NUL; an abstract name
// (a NUL first) runs to the last non-NUL byte.
Address v2_unix(const unsigned char* path) {
  constexpr std::size_t size = 108;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  static_assert(sizeof sun.sun_path >= size);
  std::memcpy(sun.sun_path, path, size);
  std::size_t n = 0;
  if (path[0] != 0) {
    n = ::strnlen(sun.sun_path, size);
  } else {
    n = size;
    while (n > 1 && path[n - 1] == 0) --n;
  }
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n);
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sun), len);
}

ProxyParse parse_v2(std::string_view bytes, std::size_t max_length) {
  if (bytes.size() < v2_fixed) return incomplete();
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if ((b[12] >> 4) != 2)
    return invalid("PROXY v2 header with version " + std::to_string(b[12] >> 4));
  const int command = b[12] & 0x0F;
  if (command > 1)
    return invalid("PROXY v2 header with unknown command " + std::to_string(command));
  const std::size_t total = v2_fixed + be16(b + 14);
  if (total > max_length) {
    return invalid("PROXY v2 header of " + std::to_string(total) + " bytes (more than " +
                   std::to_string(max_length) + ")");
  }
  if (bytes.size() < total) return incomplete();
  ProxyParse p;
  p.status = Status::done;
  p.header.version = 2;
  p.header.length = total;
  if (command == 0) {  // LOCAL: the block, family included, is ignored (the spec)
    p.header.command = ProxyHeader::Command::local;
    return p;
  }
  p.header.command = ProxyHeader::Command::proxy;
  const int family = b[13] >> 4;
  const int transport = b[13] & 0x0F;
  if (family > 3) return invalid("PROXY v2 header with unknown family " + std::to_string(family));
  if (transport > 2) {
    return invalid("PROXY v2 header with unknown transport " + std::to_string(transport));
  }
  p.header.socket_type = transport == 1 ? SOCK_STREAM : transport == 2 ? SOCK_DGRAM : 0;
  static constexpr std::size_t block[] = {0, 12, 36, 216};  // UNSPEC, INET, INET6, UNIX
  const std::size_t need = block[family];
  if (total - v2_fixed < need) {
    return invalid("PROXY v2 header too short for its addresses (" +
                   std::to_string(total - v2_fixed) + " of " + std::to_string(need) + " bytes)");
  }
  const unsigned char* a = b + v2_fixed;
  if (family == 1) {
    p.header.source = v2_inet(a, a + 8);
    p.header.destination = v2_inet(a + 4, a + 10);
  } else if (family == 2) {
    p.header.source = v2_inet6(a, a + 32);
    p.header.destination = v2_inet6(a + 16, a + 34);
  } else if (family == 3) {
    p.header.source = v2_unix(a);
    p.header.destination = v2_unix(a + 108);
  }  // UNSPEC: no addresses; the connection's own are used
  // The extensions: type (1), length (2, big-endian), value; they must fill the rest exactly.
  std::size_t at = v2_fixed + need;
  while (at < total) {
    if (total - at < 3) return invalid("PROXY v2 header with a truncated TLV");
    const std::size_t len = be16(b + at + 1);
    if (total - at - 3 < len) return invalid("PROXY v2 header with a TLV longer than the header");
    p.header.tlvs.emplace_back(b[at], std::string(bytes.substr(at + 3, len)));
    at += 3 + len;
  }
  return p;
}

}  // namespace

bool is_trusted_proxy(const Address& peer, const std::vector<std::string>& trusted) {
  if (peer.family() == AF_UNSPEC) return false;
  const bool unix_peer = peer.family() == AF_UNIX;
  const std::string host = unix_peer ? std::string() : peer.host();
  return std::any_of(trusted.begin(), trusted.end(), [&](const std::string& allowed) {
    return unix_peer ? allowed == "unix" : allowed == host;
  });
}

// ---- receiving -----------------------------------------------------------------------------

proxy_header_error::proxy_header_error(std::string context, std::string_view reason)
    : socket_error(std::error_code(EPROTO, std::system_category()), std::move(context), reason) {}

namespace {

// How many more bytes may be taken from the stream without passing the end of the header whose
// first bytes are `got` (incomplete so far); 0: look first (version 1, whose end is a "\n").
std::size_t header_bytes_left(std::string_view got) {
  constexpr std::size_t shortest = 15;  // "PROXY UNKNOWN\r\n"; a version 2 header is 16 or more
  if (got.size() < shortest) return shortest - got.size();
  if (starts_as(got, v2_signature)) {
    if (got.size() < v2_fixed) return v2_fixed - got.size();
    const auto* b = reinterpret_cast<const unsigned char*>(got.data());
    return v2_fixed + be16(b + 14) - got.size();
  }
  return 0;
}

}  // namespace

ProxyHeader recv_proxy_header(Socket& sock, std::chrono::duration<double> timeout,
                              std::size_t max_length) {
  const int fd = sock.fileno();
  // What the errors say; made only when one is thrown (a getpeername less per connection).
  const auto context = [&sock, fd] {
    try {
      return "PROXY header from " + sock.getpeername().to_string();
    } catch (const socket_error&) {
      return "PROXY header on fd " + std::to_string(fd);
    }
  };
  const auto ended = [&] {
    return proxy_header_error(context(), "the connection ended before the header did");
  };
  const auto failed = [&](int err) {
    if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) throw_os_error(err, context());
  };
  detail::check_seconds(timeout.count(), "recv_proxy_header: timeout", false);
  const detail::Deadline deadline = detail::deadline_for(timeout);
  std::string got;

  // The usual case first: a balancer sends the whole header at once, most often with the
  // client's first bytes. One look at what has arrived, then one read of exactly the header:
  // two system calls. A header still arriving, or longer than this look, takes the loop below,
  // which reads no byte past the header without looking first.
  char early[512];
  const ssize_t seen = ::recv(fd, early, sizeof early, MSG_PEEK | MSG_DONTWAIT);
  if (seen == 0) throw ended();
  if (seen < 0) failed(errno);
  if (seen > 0) {
    ProxyParse p =
        parse_proxy_header(std::string_view(early, static_cast<std::size_t>(seen)), max_length);
    if (p.status == Status::invalid) throw proxy_header_error(context(), p.error);
    if (p.status == Status::done) {
      const ssize_t n = ::recv(fd, early, p.header.length, MSG_DONTWAIT);  // it is there
      if (n == static_cast<ssize_t>(p.header.length)) return std::move(p.header);
      if (n < 0) failed(errno);
      got.assign(early, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));  // the loop ends it
    }
  }

  char buf[proxy_v1_max_length];
  for (;;) {
    const ProxyParse p = parse_proxy_header(got, max_length);
    if (p.status == Status::done) return p.header;
    if (p.status == Status::invalid) throw proxy_header_error(context(), p.error);
    std::size_t take = header_bytes_left(got);
    if (take == 0) {
      // Version 1: every byte up to the first "\n" is the header's; look how far it is.
      const ssize_t look =
          ::recv(fd, buf, proxy_v1_max_length - got.size(), MSG_PEEK | MSG_DONTWAIT);
      if (look == 0) throw ended();
      if (look > 0) {
        const void* nl = std::memchr(buf, '\n', static_cast<std::size_t>(look));
        take = nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf) + 1
                             : static_cast<std::size_t>(look);
      } else {
        failed(errno);
      }
    }
    if (take > 0) {
      const std::size_t had = got.size();
      got.resize(had + take);
      const ssize_t n = ::recv(fd, got.data() + had, take, MSG_DONTWAIT);
      const int err = errno;
      got.resize(had + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
      if (n == 0) throw ended();
      if (n > 0) continue;
      failed(err);
    }
    if (!detail::wait_ready(fd, POLLIN, deadline)) throw timeout_error(context());
  }
}

ProxyParse parse_proxy_header(std::string_view bytes, std::size_t max_length) {
  if (bytes.empty()) return incomplete();
  if (starts_as(bytes, v2_signature)) {
    return bytes.size() < v2_signature.size() ? incomplete() : parse_v2(bytes, max_length);
  }
  if (starts_as(bytes, v1_prefix)) {
    return bytes.size() < v1_prefix.size() ? incomplete() : parse_v1(bytes);
  }
  return invalid("not a PROXY protocol header");
}

}  // namespace socketserver
