// posix_util.hpp (internal) — two pieces of process plumbing that the servers and the reactor
// share: SIGINT/SIGTERM handlers installed for a while, and removing the Unix socket file a
// bind created (only while it is still that file).
#pragma once

#include <csignal>
#include <string>

#include "socketserver/server.hpp"  // BoundSocketFile

namespace socketserver::detail {

/// Installs `handler` for SIGINT and SIGTERM (SA_RESTART: the loop is woken through a waker,
/// other calls go on) and puts the previous handlers back when destroyed.
class StopSignalHandlers {
 public:
  explicit StopSignalHandlers(void (*handler)(int));
  ~StopSignalHandlers();
  StopSignalHandlers(const StopSignalHandlers&) = delete;
  StopSignalHandlers& operator=(const StopSignalHandlers&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

/// Right after bind: `path` and the device and inode that name it now (the socket file the bind
/// created). "" (an abstract or unnamed address) records nothing.
BoundSocketFile bound_socket_file(std::string path);

/// Removes `file` only while its path still names the socket recorded by bound_socket_file
/// (same device and inode, and a socket): another process's socket that has since replaced it
/// stays. Clears `file`; an empty one does nothing. Never throws.
void remove_socket_file(BoundSocketFile& file) noexcept;

}  // namespace socketserver::detail
