// address.cpp — Address values and the name-resolution functions.
#include "socketserver/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <ostream>
#include <stdexcept>

#include "socketserver/errors.hpp"

namespace socketserver {

namespace {

constexpr std::size_t sun_path_size = sizeof(sockaddr_un::sun_path);  // 108 on Linux
constexpr std::size_t max_unix_path = sun_path_size - 1;  // a path keeps room for its NUL
constexpr std::size_t max_flowinfo = 0xFFFFF;             // 20 bits, as Python checks

// Text for an error message: a NUL shows as "\0" (the name itself may not be printable).
std::string quoted(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Python's ValueError "embedded null byte": a C string would silently end at the NUL, so a
// name holding one would quietly mean a different name. `what` names the operation.
void reject_nul(std::string_view text, std::string_view what) {
  if (text.find('\0') != std::string_view::npos) {
    throw std::invalid_argument(std::string(what) + " " + quoted(text) + ": embedded null byte");
  }
}

// Fills a sockaddr_un from its sun_path bytes (`bytes` fits in sun_path, already checked). A
// path counts its terminating NUL when there is room for one (as Python and the kernel do); an
// abstract name, an unnamed address and a path filling sun_path are exactly their bytes.
socklen_t fill_unix(sockaddr_storage& storage, std::string_view bytes) {
  auto* sun = reinterpret_cast<sockaddr_un*>(&storage);
  sun->sun_family = AF_UNIX;
  std::memcpy(sun->sun_path, bytes.data(), bytes.size());
  const bool terminated = !bytes.empty() && bytes.front() != '\0' && bytes.size() < sun_path_size;
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + bytes.size() +
                                (terminated ? 1 : 0));
}

void check_port(int port) {
  if (port < 0 || port > 65535) {
    throw std::invalid_argument("port " + std::to_string(port) + " out of range 0-65535");
  }
}

// Strips one pair of brackets: "[::1]" -> "::1".
std::string_view unbracket(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// Parses a numeric IPv6 host with an optional "%scope" (interface name or number).
bool parse_inet6(std::string_view host, in6_addr& out, std::uint32_t& scope) {
  std::string text(unbracket(host));
  scope = 0;
  if (const auto pct = text.find('%'); pct != std::string::npos) {
    const std::string zone = text.substr(pct + 1);
    text.resize(pct);
    if (zone.empty())
      throw std::invalid_argument("empty IPv6 scope in '" + std::string(host) + "'");
    std::uint32_t number = 0;
    const auto [end, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), number);
    if (ec == std::errc() && end == zone.data() + zone.size()) {
      scope = number;
    } else {
      scope = ::if_nametoindex(zone.c_str());
      if (scope == 0) {
        throw std::invalid_argument("unknown IPv6 scope '" + zone + "' in '" + std::string(host) +
                                    "'");
      }
    }
  }
  return ::inet_pton(AF_INET6, text.c_str(), &out) == 1;
}

bool parse_inet4(std::string_view host, in_addr& out) {
  const std::string text(host);
  return ::inet_pton(AF_INET, text.c_str(), &out) == 1;
}

std::string ntop(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, addr, buf, sizeof buf);
  return buf;
}

std::string scope_text(std::uint32_t scope) {
  char name[IF_NAMESIZE] = {};
  if (::if_indextoname(scope, name) != nullptr) return name;
  return std::to_string(scope);
}

std::size_t mix(std::size_t seed, std::size_t value) noexcept {
  return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

}  // namespace

Address::Address() noexcept { storage_.ss_family = AF_UNSPEC; }

Address::Address(std::string_view host, int port) {
  check_port(port);
  reject_nul(host, "host");
  storage_.ss_family = AF_UNSPEC;
  in_addr v4{};
  in6_addr v6{};
  std::uint32_t scope = 0;
  if (host == "<broadcast>") {
    v4.s_addr = htonl(INADDR_BROADCAST);
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage_);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<std::uint16_t>(port));
    sin->sin_addr = v4;
    length_ = sizeof(sockaddr_in);
  } else if (!host.empty() && parse_inet4(host, v4)) {
    *this = inet(host, port);
  } else if (!host.empty() && parse_inet6(host, v6, scope)) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage_);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<std::uint16_t>(port));
    sin6->sin6_addr = v6;
    sin6->sin6_scope_id = scope;
    length_ = sizeof(sockaddr_in6);
  } else {
    if (!host.empty() && host.front() == '[') {
      throw std::invalid_argument("'" + std::string(host) +
                                  "': brackets hold an IPv6 address, as [::1]");
    }
    // A host name (or "" = every interface), resolved later for the socket that uses it.
    name_ = std::string(unbracket(host));
    name_port_ = port;
  }
}

Address Address::inet(std::string_view host, int port) {
  check_port(port);
  reject_nul(host, "host");
  Address a;
  auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (host.empty()) {
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (!parse_inet4(host, sin->sin_addr)) {
    throw std::invalid_argument("'" + std::string(host) + "' is not an IPv4 address");
  }
  sin->sin_family = AF_INET;
  sin->sin_port = htons(static_cast<std::uint16_t>(port));
  a.length_ = sizeof(sockaddr_in);
  return a;
}

Address Address::inet6(std::string_view host, int port, std::uint32_t flowinfo,
                       std::uint32_t scope_id) {
  check_port(port);
  reject_nul(host, "host");
  if (flowinfo > max_flowinfo) {  // Python: OverflowError "flowinfo must be 0-1048575"
    throw std::invalid_argument("inet6 " + std::string(host) + ": flowinfo " +
                                std::to_string(flowinfo) + " out of range 0-" +
                                std::to_string(max_flowinfo));
  }
  Address a;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  std::uint32_t scope = 0;
  if (host.empty()) {
    sin6->sin6_addr = in6addr_any;
  } else if (!parse_inet6(host, sin6->sin6_addr, scope)) {
    throw std::invalid_argument("'" + std::string(host) + "' is not an IPv6 address");
  }
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(static_cast<std::uint16_t>(port));
  sin6->sin6_flowinfo = htonl(flowinfo);
  sin6->sin6_scope_id = scope_id != 0 ? scope_id : scope;
  a.length_ = sizeof(sockaddr_in6);
  return a;
}

Address Address::unix_path(std::string_view path) {
  // Python's limits: an abstract name (leading NUL) may fill sun_path, a path leaves room for
  // its terminator; only an abstract name may hold NULs.
  const bool abstract = !path.empty() && path.front() == '\0';
  const std::size_t limit = abstract ? sun_path_size : max_unix_path;
  if (path.size() > limit) {
    throw std::invalid_argument(std::string(abstract ? "abstract Unix name" : "Unix socket path") +
                                " too long (" + std::to_string(path.size()) + " bytes, at most " +
                                std::to_string(limit) + ")");
  }
  if (!abstract) reject_nul(path, "Unix socket path");
  Address a;
  a.length_ = fill_unix(a.storage_, path);
  return a;
}

Address Address::abstract(std::string_view name) {
  std::string path(1, '\0');
  path += name;
  return unix_path(path);
}

Address Address::parse(std::string_view text) {
  if (!text.empty() && (text.front() == '/' || text.front() == '.')) return unix_path(text);
  if (!text.empty() && text.front() == '@') return abstract(text.substr(1));
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    throw std::invalid_argument("'" + std::string(text) + "' is not host:port");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.find(':') != std::string_view::npos &&
      !(host.size() >= 2 && host.front() == '[' && host.back() == ']')) {
    throw std::invalid_argument("'" + std::string(text) +
                                "': an IPv6 address needs brackets, as [::1]:21567");
  }
  if (host.size() >= 2 && host.front() == '[') {
    in6_addr v6{};
    std::uint32_t scope = 0;
    if (!parse_inet6(host, v6, scope)) {
      throw std::invalid_argument("'" + std::string(text) +
                                  "': brackets hold an IPv6 address, as [::1]:21567");
    }
  }
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size()) {
    throw std::invalid_argument("'" + std::string(text) + "': bad port '" + std::string(port_text) +
                                "'");
  }
  return Address(host == "*" ? std::string_view() : host, port);
}

Address Address::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  // Whatever the kernel hands back converts, without a throw: a peer chooses its own address.
  Address a;
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return a;
  const std::size_t n = std::min(static_cast<std::size_t>(len), sizeof(a.storage_));
  switch (sa->sa_family) {
    case AF_INET:  // a short one (never from the kernel) reads as zeros
      std::memcpy(&a.storage_, sa, std::min(n, sizeof(sockaddr_in)));
      a.length_ = sizeof(sockaddr_in);
      break;
    case AF_INET6:
      std::memcpy(&a.storage_, sa, std::min(n, sizeof(sockaddr_in6)));
      a.length_ = sizeof(sockaddr_in6);
      break;
    case AF_UNIX: {
      // Unnamed (no bytes), abstract (a NUL, then up to 107 bytes of any value), or a path:
      // up to its NUL, or all of sun_path when it fills it (the kernel then reports one byte
      // more than sockaddr_un holds). Canonical, so that equal names compare equal.
      const std::size_t header = offsetof(sockaddr_un, sun_path);
      const char* bytes = reinterpret_cast<const sockaddr_un*>(sa)->sun_path;
      std::size_t size = n > header ? std::min(n - header, sun_path_size) : 0;
      if (size > 0 && bytes[0] != '\0') size = ::strnlen(bytes, size);
      a.length_ = fill_unix(a.storage_, std::string_view(bytes, size));
      break;
    }
    default:  // another family: its bytes as they are
      std::memcpy(&a.storage_, sa, n);
      a.length_ = static_cast<socklen_t>(n);
  }
  return a;  // one named result: built in place (a datagram's sender costs no copy)
}

int Address::family() const noexcept { return storage_.ss_family; }

bool Address::is_resolved() const noexcept { return length_ > 0; }

std::string Address::host() const {
  switch (family()) {
    case AF_INET:
      return ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr);
    case AF_INET6:
      return ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
    case AF_UNIX:
      return path();
    default:
      return name_;
  }
}

int Address::port() const noexcept {
  switch (family()) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    case AF_UNIX:
      return 0;
    default:
      return name_port_ < 0 ? 0 : name_port_;
  }
}

std::uint32_t Address::flowinfo() const noexcept {
  if (family() != AF_INET6) return 0;
  return ntohl(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_flowinfo);
}

std::uint32_t Address::scope_id() const noexcept {
  if (family() != AF_INET6) return 0;
  return reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_scope_id;
}

std::string Address::path() const {
  if (family() != AF_UNIX) return {};
  const auto* sun = reinterpret_cast<const sockaddr_un*>(&storage_);
  const std::size_t header = offsetof(sockaddr_un, sun_path);
  if (static_cast<std::size_t>(length_) <= header) return {};
  std::size_t n = static_cast<std::size_t>(length_) - header;
  if (sun->sun_path[0] != '\0') n = ::strnlen(sun->sun_path, n);  // filesystem path
  return std::string(sun->sun_path, n);
}

bool Address::is_abstract() const noexcept {
  if (family() != AF_UNIX) return false;
  const auto* sun = reinterpret_cast<const sockaddr_un*>(&storage_);
  return static_cast<std::size_t>(length_) > offsetof(sockaddr_un, sun_path) &&
         sun->sun_path[0] == '\0';
}

Address Address::resolve(int family, int type) const {
  if (is_resolved() || name_port_ < 0) return *this;
  if (name_.empty()) {  // "" is every interface of the socket's family
    return family == AF_INET6 ? inet6("", name_port_) : inet("", name_port_);
  }
  const auto results = getaddrinfo(name_, name_port_, family, type);
  if (results.empty()) throw gai_error(EAI_NONAME, "getaddrinfo " + name_);
  return results.front().address;
}

std::string Address::to_string() const {
  switch (family()) {
    case AF_INET:
      return host() + ":" + std::to_string(port());
    case AF_INET6: {
      std::string text = "[" + host();
      if (scope_id() != 0) text += "%" + scope_text(scope_id());
      return text + "]:" + std::to_string(port());
    }
    case AF_UNIX: {
      if (is_abstract()) return "@" + path().substr(1);
      const std::string p = path();
      return p.empty() ? std::string("(unnamed)") : p;
    }
    default:
      if (name_port_ < 0) return "(no address)";
      if (name_.empty()) return "*:" + std::to_string(name_port_);
      if (name_.find(':') != std::string::npos) {
        return "[" + name_ + "]:" + std::to_string(name_port_);
      }
      return name_ + ":" + std::to_string(name_port_);
  }
}

bool operator==(const Address& a, const Address& b) noexcept {
  if (a.family() != b.family() || a.length_ != b.length_) return false;
  switch (a.family()) {
    case AF_INET: {
      const auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage_);
      const auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage_);
      return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    case AF_INET6: {
      const auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage_);
      const auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage_);
      return x->sin6_port == y->sin6_port && x->sin6_flowinfo == y->sin6_flowinfo &&
             x->sin6_scope_id == y->sin6_scope_id &&
             std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    case AF_UNIX:
      return a.path() == b.path();
    default:
      return a.name_ == b.name_ && a.name_port_ == b.name_port_;
  }
}

std::size_t Address::hash() const noexcept {
  std::size_t h = std::hash<int>()(family());
  switch (family()) {
    case AF_INET: {
      const auto* x = reinterpret_cast<const sockaddr_in*>(&storage_);
      h = mix(h, x->sin_addr.s_addr);
      return mix(h, x->sin_port);
    }
    case AF_INET6: {
      const auto* x = reinterpret_cast<const sockaddr_in6*>(&storage_);
      h = mix(h, std::hash<std::string_view>()(std::string_view(
                     reinterpret_cast<const char*>(&x->sin6_addr), sizeof x->sin6_addr)));
      h = mix(h, x->sin6_scope_id);
      return mix(h, x->sin6_port);
    }
    case AF_UNIX:
      return mix(h, std::hash<std::string>()(path()));
    default:
      return mix(mix(h, std::hash<std::string>()(name_)), static_cast<std::size_t>(name_port_));
  }
}

std::ostream& operator<<(std::ostream& os, const Address& address) {
  return os << address.to_string();
}

// ---- resolution ------------------------------------------------------------------------

std::vector<AddrInfo> getaddrinfo(std::string_view host, int port, int family, int type, int proto,
                                  int flags) {
  check_port(port);
  return getaddrinfo(host, std::to_string(port), family, type, proto, flags | AI_NUMERICSERV);
}

std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service, int family,
                                  int type, int proto, int flags) {
  reject_nul(host, "getaddrinfo host");
  reject_nul(service, "getaddrinfo service");
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = type;
  hints.ai_protocol = proto;
  hints.ai_flags = flags;
  const std::string host_text(unbracket(host));
  const std::string service_text(service);
  addrinfo* list = nullptr;
  const int rc =
      ::getaddrinfo(host_text.empty() ? nullptr : host_text.c_str(),
                    service_text.empty() ? nullptr : service_text.c_str(), &hints, &list);
  if (rc != 0) {
    const std::string what = "getaddrinfo " + (host_text.empty() ? "(none)" : host_text) +
                             (service_text.empty() ? "" : " port " + service_text);
    if (rc == EAI_SYSTEM) throw_os_error(errno, what);
    throw gai_error(rc, what);
  }
  std::vector<AddrInfo> out;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    AddrInfo info;
    info.family = ai->ai_family;
    info.type = ai->ai_socktype;
    info.proto = ai->ai_protocol;
    if (ai->ai_canonname != nullptr) info.canonname = ai->ai_canonname;
    info.address = Address::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
    out.push_back(std::move(info));
  }
  ::freeaddrinfo(list);
  return out;
}

std::pair<std::string, std::string> getnameinfo(const Address& address, int flags) {
  const Address resolved = address.resolve();
  char host[NI_MAXHOST] = {};
  char serv[NI_MAXSERV] = {};
  const int rc = ::getnameinfo(resolved.sockaddr_ptr(), resolved.sockaddr_len(), host, sizeof host,
                               serv, sizeof serv, flags);
  if (rc != 0) {
    if (rc == EAI_SYSTEM) throw_os_error(errno, "getnameinfo " + address.to_string());
    throw gai_error(rc, "getnameinfo " + address.to_string());
  }
  return {host, serv};
}

std::string gethostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name) != 0) throw_os_error(errno, "gethostname");
  return name;
}

std::string getfqdn(std::string_view name) {
  reject_nul(name, "getfqdn");
  std::string target(name);
  if (target.empty() || target == "0.0.0.0" || target == "::") target = gethostname();
  // As Python: the canonical name, or the first alias that contains a dot.
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  addrinfo* list = nullptr;
  if (::getaddrinfo(target.c_str(), nullptr, &hints, &list) != 0) return target;
  std::string best = target;
  if (list->ai_canonname != nullptr && std::strchr(list->ai_canonname, '.') != nullptr) {
    best = list->ai_canonname;
  } else if (list->ai_canonname != nullptr && best.find('.') == std::string::npos) {
    // Try the reverse name of the first address for something fully qualified.
    char host[NI_MAXHOST] = {};
    if (::getnameinfo(list->ai_addr, list->ai_addrlen, host, sizeof host, nullptr, 0,
                      NI_NAMEREQD) == 0 &&
        std::strchr(host, '.') != nullptr) {
      best = host;
    }
  }
  ::freeaddrinfo(list);
  return best;
}

std::string gethostbyname(std::string_view name) {
  const auto results = getaddrinfo(name, "", AF_INET, SOCK_STREAM);
  if (results.empty()) throw gai_error(EAI_NONAME, "gethostbyname " + std::string(name));
  return results.front().address.host();
}

int getservbyname(std::string_view name, std::string_view proto) {
  reject_nul(name, "getservbyname");
  reject_nul(proto, "getservbyname protocol");
  const std::string n(name);
  const std::string p(proto);
  servent entry{};
  servent* result = nullptr;
  char buf[4096];
  ::getservbyname_r(n.c_str(), p.empty() ? nullptr : p.c_str(), &entry, buf, sizeof buf, &result);
  if (result == nullptr) {
    throw socket_error(std::error_code(ENOENT, std::system_category()),
                       "getservbyname " + n + (p.empty() ? "" : "/" + p),
                       "service/proto not found");
  }
  return ntohs(static_cast<std::uint16_t>(result->s_port));
}

std::string getservbyport(int port, std::string_view proto) {
  if (port < 0 || port > 65535) {
    throw std::invalid_argument("getservbyport: port " + std::to_string(port) +
                                " out of range 0-65535");
  }
  reject_nul(proto, "getservbyport protocol");
  const std::string p(proto);
  servent entry{};
  servent* result = nullptr;
  char buf[4096];
  ::getservbyport_r(htons(static_cast<std::uint16_t>(port)), p.empty() ? nullptr : p.c_str(),
                    &entry, buf, sizeof buf, &result);
  if (result == nullptr) {
    throw socket_error(std::error_code(ENOENT, std::system_category()),
                       "getservbyport " + std::to_string(port) + (p.empty() ? "" : "/" + p),
                       "port/proto not found");
  }
  return result->s_name;
}

std::string inet_pton(int family, std::string_view text) {
  reject_nul(text, "inet_pton");
  const std::string t(text);
  unsigned char buf[sizeof(in6_addr)] = {};
  if (family != AF_INET && family != AF_INET6) {
    throw_os_error(EAFNOSUPPORT, "inet_pton " + t);
  }
  if (::inet_pton(family, t.c_str(), buf) != 1) {
    throw socket_error(std::error_code(EINVAL, std::system_category()), "inet_pton '" + t + "'",
                       "illegal IP address string");
  }
  return std::string(reinterpret_cast<const char*>(buf), family == AF_INET ? 4 : 16);
}

std::string inet_ntop(int family, std::string_view packed) {
  const std::size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (want == 0) throw_os_error(EAFNOSUPPORT, "inet_ntop");
  if (packed.size() != want) {
    throw std::invalid_argument("inet_ntop: packed address of " + std::to_string(packed.size()) +
                                " bytes, expected " + std::to_string(want));
  }
  unsigned char buf[sizeof(in6_addr)] = {};
  std::memcpy(buf, packed.data(), want);
  return ntop(family, buf);
}

}  // namespace socketserver
