// posix_util.cpp — see posix_util.hpp.
#include "posix_util.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

namespace socketserver::detail {

StopSignalHandlers::StopSignalHandlers(void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, &old_int_);
  ::sigaction(SIGTERM, &sa, &old_term_);
}

StopSignalHandlers::~StopSignalHandlers() {
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGTERM, &old_term_, nullptr);
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
