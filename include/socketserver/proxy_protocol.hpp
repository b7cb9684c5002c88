// proxy_protocol.hpp — HAProxy's PROXY protocol, versions 1 (a text line) and 2 (binary): the
// header a load balancer sends first on each connection to say who the real client is.
//
//   PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n          (version 1)
//   \r\n\r\n\0\r\nQUIT\n  0x21 0x11 0x000C  <12 address bytes>  (version 2: PROXY, IPv4, TCP)
//
// parse_proxy_header() reads such a header from the first bytes of a connection, however many
// have arrived: it answers `incomplete` (wait for more), `done` (the header and its length; the
// rest of the bytes are the client's own) or `invalid` (with a one-line reason). It never reads
// past the header, never allocates more than the header's size, and decides `invalid` as soon
// as the bytes cannot be the start of a header, so a peer that is not a balancer is told apart
// after its first bytes. A header is at most 107 bytes (version 1) or 16 + 65,535 bytes
// (version 2, its own length field); `max_length` bounds it further (default 4 KiB).
//
// Thread-safety: a pure function.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "socketserver/address.hpp"
#include "socketserver/errors.hpp"
#include "socketserver/socket.hpp"

namespace socketserver {

/// A parsed PROXY header.
struct ProxyHeader {
  int version = 0;  ///< 1 or 2
  /// PROXY: the connection was relayed for `source`. LOCAL (version 2, e.g. a balancer's
  /// health check) or UNKNOWN (version 1): no client is named; use the connection's own
  /// addresses.
  enum class Command { proxy, local };
  Command command = Command::local;
  /// The real client and the address it connected to (the balancer's front), when named:
  /// IPv4, IPv6 or a Unix path. nullopt for LOCAL, UNKNOWN and version 2's UNSPEC family.
  std::optional<Address> source;
  std::optional<Address> destination;
  /// SOCK_STREAM or SOCK_DGRAM as the header says (0: unspecified).
  int socket_type = 0;
  /// Version 2's type-length-value extensions, in order (type, value).
  std::vector<std::pair<std::uint8_t, std::string>> tlvs;
  /// Bytes the header took at the start of the stream.
  std::size_t length = 0;
};

/// What parse_proxy_header found.
struct ProxyParse {
  enum class Status { incomplete, done, invalid };
  Status status = Status::incomplete;
  ProxyHeader header;  ///< when done
  std::string error;   ///< when invalid: why, in one line
};

/// Version 1 headers are at most this long, "\r\n" included (the specification's bound).
inline constexpr std::size_t proxy_v1_max_length = 107;
/// The default bound of a version 2 header with its extensions (TLVs).
inline constexpr std::size_t proxy_v2_max_length = 4096;
/// The defaults of ServerOptions and ListenOptions behind a balancer: how long a header may
/// take to arrive (seconds), and who may send one (a balancer on this machine).
inline constexpr double default_proxy_header_timeout = 5.0;
inline std::vector<std::string> default_trusted_proxies() { return {"127.0.0.1", "::1"}; }

/// Parses a PROXY header (version 1 or 2) at the start of `bytes`. `max_length` bounds a
/// version 2 header with its extensions (a longer one is invalid before it has all arrived).
ProxyParse parse_proxy_header(std::string_view bytes, std::size_t max_length = proxy_v2_max_length);

/// True when `peer` may send a PROXY header under `trusted` (ServerOptions::trusted_proxies,
/// ListenOptions::trusted_proxies): its IP address, as text, is listed ("127.0.0.1", "::1"), or
/// it is the peer of a Unix socket and "unix" is listed.
bool is_trusted_proxy(const Address& peer, const std::vector<std::string>& trusted);

/// A connection's first bytes were not a valid PROXY header, or came from a peer that may not
/// send one (errno EPROTO; what() says which, in one line).
class proxy_header_error : public socket_error {
 public:
  explicit proxy_header_error(std::string context, std::string_view reason);
};

/// Receives the PROXY header at the start of `sock`'s stream, within `timeout` in all (whatever
/// the socket's own timeout), and consumes exactly its bytes: what follows is the client's and
/// is left for the next read. Throws proxy_header_error (invalid, or the connection ended
/// first), timeout_error, or the socket's errors. Never blocks past the timeout, never holds
/// more than the header (at most 107 bytes, or max_length for version 2).
ProxyHeader recv_proxy_header(Socket& sock, std::chrono::duration<double> timeout,
                              std::size_t max_length = proxy_v2_max_length);

}  // namespace socketserver
