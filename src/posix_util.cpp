// posix_util.cpp — see posix_util.hpp.
#include "posix_util.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <utility>

namespace socketserver::detail {

namespace {
std::atomic<const StopSignalTarget*> g_stop_target{nullptr};

extern "C" void on_stop_signal(int signo) {
  if (const StopSignalTarget* target = g_stop_target.load()) target->deliver(signo);
}
}  // namespace

bool StopSignalTarget::claim(Callback callback, void* context) noexcept {
  if (claimed_) return false;
  callback_ = callback;  // set before the target is published to the handler
  context_ = context;
  const StopSignalTarget* expected = nullptr;
  if (!g_stop_target.compare_exchange_strong(expected, this)) return false;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, &old_int_);
  ::sigaction(SIGTERM, &sa, &old_term_);
  claimed_ = true;
  return true;
}

void StopSignalTarget::release() noexcept {
  if (!claimed_) return;
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGTERM, &old_term_, nullptr);
  g_stop_target.store(nullptr);
  claimed_ = false;
}

BoundSocketFile bound_socket_file(std::string path) {
  BoundSocketFile file;
  struct stat st {};
  if (path.empty() || ::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return file;
  file.path = std::move(path);
  file.device = static_cast<std::uint64_t>(st.st_dev);
  file.inode = static_cast<std::uint64_t>(st.st_ino);
  return file;
}

void remove_socket_file(BoundSocketFile& file) noexcept {
  if (file.path.empty()) return;
  // A window remains between lstat and unlink (POSIX has no "unlink if still this inode"); it
  // is only as wide as these two calls, where before it was the server's whole life.
  struct stat st {};
  if (::lstat(file.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
      static_cast<std::uint64_t>(st.st_dev) == file.device &&
      static_cast<std::uint64_t>(st.st_ino) == file.inode) {
    ::unlink(file.path.c_str());
  }
  file = BoundSocketFile{};
}

}  // namespace socketserver::detail
