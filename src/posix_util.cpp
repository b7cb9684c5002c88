// posix_util.cpp — see posix_util.hpp.
#include "posix_util.hpp"

#include <sys/stat.h>
#include <unistd.h>

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

void remove_socket_file(std::string& path) {
  if (path.empty()) return;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  path.clear();
}

}  // namespace socketserver::detail
