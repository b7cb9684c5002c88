// activation.cpp — reading the descriptors systemd passes (LISTEN_PID, LISTEN_FDS,
// LISTEN_FDNAMES), and checking that one is the listening socket a server expects.
#include "socketserver/activation.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

namespace socketserver {

namespace {

constexpr const char* kPid = "LISTEN_PID";
constexpr const char* kFds = "LISTEN_FDS";
constexpr const char* kNames = "LISTEN_FDNAMES";

// The variable's value as a whole non-negative decimal number, nothing when it is unset; a
// value that is not one (empty, signed, trailing characters, out of range) throws.
std::optional<long long> number_variable(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return std::nullopt;
  const std::string_view value(text);
  long long n = -1;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || n < 0) {
    throw activation_error(std::string(name) + "='" + std::string(value) +
                           "': not a non-negative decimal number");
  }
  return n;
}

// Removes the three variables when it goes out of scope (sd_listen_fds does it on every return,
// the failing ones included).
struct UnsetOnExit {
  bool unset;
  ~UnsetOnExit() {
    if (!unset) return;
    ::unsetenv(kPid);
    ::unsetenv(kFds);
    ::unsetenv(kNames);
  }
};

std::vector<int> passed_descriptors() {
  const std::optional<long long> pid = number_variable(kPid);
  if (!pid || *pid != static_cast<long long>(::getpid())) return {};  // not for this process
  const std::optional<long long> count = number_variable(kFds);
  if (!count) return {};
  if (*count > INT_MAX - SD_LISTEN_FDS_START) {
    throw activation_error(std::string(kFds) + "=" + std::to_string(*count) +
                           ": more descriptors than a process can have");
  }
  std::vector<int> fds;
  for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + *count; ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
      throw activation_error(std::string(kFds) + "=" + std::to_string(*count) + ": descriptor " +
                             std::to_string(fd) + " is not open (" + std::strerror(errno) + ")");
    }
    fds.push_back(fd);
  }
  return fds;
}

const char* family_name(int family) {
  switch (family) {
    case AF_INET:
      return "AF_INET";
    case AF_INET6:
      return "AF_INET6";
    case AF_UNIX:
      return "AF_UNIX";
    default:
      return nullptr;
  }
}

std::string describe_family(int family) {
  const char* name = family_name(family);
  return name != nullptr ? name : "address family " + std::to_string(family);
}

const char* type_name(int type) {
  switch (type) {
    case SOCK_STREAM:
      return "a stream socket";
    case SOCK_DGRAM:
      return "a datagram socket";
    case SOCK_SEQPACKET:
      return "a seqpacket socket";
    default:
      return "a socket of another type";
  }
}

}  // namespace

std::vector<int> listen_fds(bool unset_environment) {
  const UnsetOnExit unset{unset_environment};
  return passed_descriptors();
}

std::vector<ListenFd> listen_fds_with_names(bool unset_environment) {
  const UnsetOnExit unset{unset_environment};
  const std::vector<int> fds = passed_descriptors();
  std::vector<ListenFd> named;
  named.reserve(fds.size());
  const char* names = std::getenv(kNames);
  if (names == nullptr || fds.empty()) {
    for (int fd : fds) named.push_back({fd, "unknown"});
    return named;
  }
  std::vector<std::string> given;  // "a:b:c" -> a, b, c ("" is one empty name)
  std::string_view rest(names);
  for (;;) {
    const auto colon = rest.find(':');
    given.emplace_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  if (given.size() != fds.size()) {
    throw activation_error(
        std::string(kNames) + "='" + names + "': " + std::to_string(given.size()) +
        (given.size() == 1 ? " name" : " names") + " for " + std::to_string(fds.size()) +
        (fds.size() == 1 ? " descriptor" : " descriptors"));
  }
  for (std::size_t i = 0; i < fds.size(); ++i) named.push_back({fds[i], std::move(given[i])});
  return named;
}

Socket adopt_listening_socket(int fd, int type, int family) {
  const std::string what = "descriptor " + std::to_string(fd);
  if (family != AF_UNSPEC && family_name(family) == nullptr) {
    throw std::invalid_argument(
        "adopt_listening_socket: family must be AF_INET, AF_INET6, "
        "AF_UNIX or AF_UNSPEC");
  }
  if (type != SOCK_STREAM && type != SOCK_DGRAM) {
    throw std::invalid_argument("adopt_listening_socket: type must be SOCK_STREAM or SOCK_DGRAM");
  }
  const auto option = [&](int name) {
    int value = 0;
    socklen_t len = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, name, &value, &len) < 0) {
      const int err = errno;
      if (err == ENOTSOCK) throw std::invalid_argument(what + " is not a socket");
      if (err == EBADF) throw std::invalid_argument(what + " is not open");
      throw std::invalid_argument(what + ": getsockopt: " + std::strerror(err));
    }
    return value;
  };
  const int actual_type = option(SO_TYPE);
  const int actual_family = option(SO_DOMAIN);
  if (actual_type != type) {
    throw std::invalid_argument(what + " is " + type_name(actual_type) + ", not " +
                                type_name(type));
  }
  if (family_name(actual_family) == nullptr || (family != AF_UNSPEC && actual_family != family)) {
    throw std::invalid_argument(what + " is " + describe_family(actual_family) + ", not " +
                                (family == AF_UNSPEC ? std::string("AF_INET, AF_INET6 or AF_UNIX")
                                                     : describe_family(family)));
  }
  if (type == SOCK_STREAM && option(SO_ACCEPTCONN) == 0) {
    throw std::invalid_argument(what +
                                " is not listening (a stream socket must be bound and "
                                "listening when it is passed)");
  }
  Socket sock = Socket::adopt(fd);
  if (type == SOCK_DGRAM) {
    const Address name = sock.getsockname();
    const bool bound = actual_family == AF_UNIX ? !name.path().empty() : name.port() != 0;
    if (!bound) {
      sock.detach();  // the caller's again
      throw std::invalid_argument(what +
                                  " is not bound (a datagram socket must be bound when it "
                                  "is passed)");
    }
  }
  return sock;
}

}  // namespace socketserver
