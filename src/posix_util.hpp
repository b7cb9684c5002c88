// posix_util.hpp (internal) — two pieces of process plumbing that the servers and the reactor
// share: SIGINT/SIGTERM handlers installed for a while, and removing the Unix socket file a
// bind created (only while it is still that file).
#pragma once

#include <csignal>
#include <string>

#include "socketserver/server.hpp"  // BoundSocketFile

namespace socketserver::detail {

/// The one way SIGINT and SIGTERM reach a loop (StopOnSignals, Reactor::run, ReactorGroup::
/// run_until_signal). While a target is claimed, both signals call `callback(context, signo)`,
/// which must be async-signal-safe (atomic stores, a Waker's wake()); release() (or the
/// destructor) puts the dispositions from before back. SA_RESTART: the loop is woken through its
/// waker, other calls go on. One target at a time in a process.
class StopSignalTarget {
 public:
  using Callback = void (*)(void* context, int signo) noexcept;
  StopSignalTarget() = default;
  ~StopSignalTarget() { release(); }
  StopSignalTarget(const StopSignalTarget&) = delete;
  StopSignalTarget& operator=(const StopSignalTarget&) = delete;

  /// Becomes the target and installs the handlers; false (nothing changed) while another target
  /// is claimed.
  bool claim(Callback callback, void* context) noexcept;
  /// Puts the previous dispositions back and lets go; nothing when not claimed. Async-signal-safe.
  void release() noexcept;
  [[nodiscard]] bool claimed() const noexcept { return claimed_; }
  /// Calls the callback (from the signal handler).
  void deliver(int signo) const noexcept { callback_(context_, signo); }

 private:
  Callback callback_ = nullptr;
  void* context_ = nullptr;
  bool claimed_ = false;
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
