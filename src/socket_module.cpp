// socket_module.cpp — the socket module's connection helpers, made of the Socket API alone:
// create_connection (every address getaddrinfo gives, in order), create_server and
// has_dualstack_ipv6. The Socket class itself is in socket.cpp.
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <exception>
#include <stdexcept>
#include <vector>

#include "socketserver/detail/fd.hpp"
#include "socketserver/socket.hpp"
#include "timeout.hpp"

namespace socketserver {

Socket create_connection(const Address& address) {
  return create_connection(address, getdefaulttimeout());
}

Socket create_connection(const Address& address, Timeout timeout,
                         const std::optional<Address>& source_address) {
  if (timeout) detail::check_seconds(timeout->count(), "timeout");
  std::vector<AddrInfo> candidates;
  if (address.is_resolved()) {
    AddrInfo only;
    only.family = address.family();
    only.type = SOCK_STREAM;
    only.address = address;
    candidates.push_back(std::move(only));
  } else {
    candidates = getaddrinfo(address.host(), address.port(), AF_UNSPEC, SOCK_STREAM);
  }
  std::exception_ptr last;
  for (const AddrInfo& candidate : candidates) {
    try {
      Socket sock(candidate.family, SOCK_STREAM, candidate.proto);
      sock.settimeout(timeout);
      if (source_address) sock.bind(*source_address);
      sock.connect(candidate.address);
      return sock;
    } catch (const socket_error&) {
      last = std::current_exception();
    }
  }
  if (last) std::rethrow_exception(last);
  throw gai_error(EAI_NONAME, "getaddrinfo " + address.to_string());
}

Socket create_server(const Address& address, const CreateServerOptions& options) {
  if (options.dualstack_ipv6) {
    if (options.family != AF_INET6) {
      throw std::invalid_argument("create_server: dualstack_ipv6 requires the AF_INET6 family");
    }
    if (!has_dualstack_ipv6()) {
      throw std::invalid_argument("create_server: dualstack_ipv6 not supported on this host");
    }
  }
  Socket sock(options.family, SOCK_STREAM);
  if (options.family != AF_UNIX) sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  if (options.reuse_port) sock.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  if (options.family == AF_INET6) {
    sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, options.dualstack_ipv6 ? 0 : 1);
  }
  sock.bind(address);
  sock.listen(options.backlog);
  return sock;
}

bool has_dualstack_ipv6() {
  const detail::Fd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int off = 0;
  return fd && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0;
}

}  // namespace socketserver
