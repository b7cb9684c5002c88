// activation.hpp — socket activation: listening sockets handed over by systemd (or any parent)
// instead of bound by the program itself.
//
// systemd (a .socket unit, or systemd-socket-activate) binds and listens, then starts the
// program with the sockets as descriptors 3, 4, ... and says so in the environment:
//
//   LISTEN_PID=<the program's pid>  LISTEN_FDS=<how many>  LISTEN_FDNAMES=<name:name:...>
//
//   C (libsystemd)                                C++
//   n = sd_listen_fds(1)                          auto fds = listen_fds();
//   sd_listen_fds_with_names(1, &names)           auto named = listen_fds_with_names();
//   sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1)   Socket s = adopt_listening_socket(fd);
//
// What to do with one: a server (ServerOptions::listen_fd, server.hpp) or a reactor port
// (Reactor::adopt_stream_port, reactor.hpp) serves it in place of binding its own:
//
//   auto fds = socketserver::listen_fds();
//   socketserver::TCPServer server({}, handler<H>(), {.listen_fd = fds.at(0)});
//
// Thread-safety: listen_fds and listen_fds_with_names read (and by default unset) environment
// variables, which is not thread-safe in POSIX: call them first thing in main, before any thread
// starts. adopt_listening_socket is thread-safe.
#pragma once

#include <sys/socket.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "socketserver/socket.hpp"

namespace socketserver {

/// systemd's SD_LISTEN_FDS_START: the first descriptor passed (3; 0-2 are stdin, out, err).
inline constexpr int SD_LISTEN_FDS_START = 3;

/// The environment describing passed descriptors is malformed (LISTEN_PID or LISTEN_FDS not a
/// number, more descriptors than a process can hold, LISTEN_FDNAMES with the wrong count of
/// names), or a descriptor it names is not open. The message names the variable and its value.
class activation_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// One passed descriptor and the name its unit gave it (FileDescriptorName=, or the .socket
/// unit's name; "unknown" when LISTEN_FDNAMES is unset, as sd_listen_fds_with_names says).
struct ListenFd {
  int fd = -1;
  std::string name;
};

/// sd_listen_fds(unset_environment) (python-systemd's systemd.daemon.listen_fds): the
/// descriptors passed to this process, SD_LISTEN_FDS_START onwards, in the order of the unit's
/// sockets. Empty when LISTEN_PID is unset or names another process (the variables were meant
/// for a parent that did not clear them). Each descriptor is made close-on-exec (so it does not
/// leak into programs this one runs), and stays open and owned by the caller. With
/// `unset_environment` (the default), LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are removed
/// from the environment before returning, also when it throws, so children do not see them.
/// Throws activation_error for a malformed variable or a descriptor that is not open.
[[nodiscard]] std::vector<int> listen_fds(bool unset_environment = true);

/// sd_listen_fds_with_names(unset_environment): listen_fds with each descriptor's name from
/// LISTEN_FDNAMES (colon-separated, one per descriptor; "unknown" for each when unset). Throws
/// activation_error as listen_fds does, and when the number of names is not the number of
/// descriptors.
[[nodiscard]] std::vector<ListenFd> listen_fds_with_names(bool unset_environment = true);

/// Checks that `fd` is a socket of `type` (SOCK_STREAM, SOCK_DGRAM) and of `family` (AF_INET,
/// AF_INET6, AF_UNIX; AF_UNSPEC: any of the three), listening when a stream socket and bound
/// when a datagram socket (sd_is_socket, strict), then takes ownership of it: the returned
/// Socket closes it. Throws std::invalid_argument naming the descriptor and what it is instead
/// ("descriptor 3 is not a socket", "... is a datagram socket, not a stream socket", "... is not
/// listening", "... is AF_UNIX, not AF_INET"); the descriptor is then left open, the caller's.
[[nodiscard]] Socket adopt_listening_socket(int fd, int type = SOCK_STREAM, int family = AF_UNSPEC);

}  // namespace socketserver
