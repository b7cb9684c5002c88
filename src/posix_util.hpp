// posix_util.hpp (internal) — two pieces of process plumbing that the servers and the reactor
// share: SIGINT/SIGTERM handlers installed for a while, and removing a Unix socket file.
#pragma once

#include <csignal>
#include <string>

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

/// Removes `path` if it is a socket (never another kind of file) and clears it; "" does nothing.
void remove_socket_file(std::string& path);

}  // namespace socketserver::detail
