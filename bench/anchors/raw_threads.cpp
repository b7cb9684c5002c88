// A minimal hand-written thread-per-connection blocking timestamp server: the main thread
// accepts, each connection gets a detached thread that reads, answers every complete line and
// exits when the client closes.
#include <thread>

#include "anchor_common.hpp"

namespace {

void serve(int fd) {
  char buf[16384];
  std::string in;
  std::string reply;
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.clear();
    if (in.empty()) {
      std::string_view data(buf, static_cast<std::size_t>(n));
      in.assign(data.substr(anchor::stamp_lines(data, reply)));
    } else {
      in.append(buf, static_cast<std::size_t>(n));
      in.erase(0, anchor::stamp_lines(in, reply));
    }
    std::size_t sent = 0;
    while (sent < reply.size()) {
      ssize_t w = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ::close(fd);
        return;
      }
      sent += static_cast<std::size_t>(w);
    }
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  anchor::Options opts = anchor::parse_args(argc, argv);
  anchor::init_process();
  int lfd = anchor::make_socket(opts, SOCK_STREAM);
  anchor::announce_port(anchor::local_port(lfd));
  for (;;) {
    int cfd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
      anchor::die("accept");
    }
    try {
      std::thread(serve, cfd).detach();
    } catch (const std::system_error&) {
      ::close(cfd);  // no thread to be had: refuse this one
    }
  }
}
