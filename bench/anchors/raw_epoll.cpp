// The limit: a minimal hand-written single-threaded epoll timestamp server.
// Non-blocking sockets, level-triggered epoll, one input buffer per connection; replies are
// written directly and queued (with EPOLLOUT) only when the kernel says EAGAIN.
#include <fcntl.h>
#include <sys/epoll.h>

#include <memory>
#include <vector>

#include "anchor_common.hpp"

namespace {

struct Conn {
  std::string in;   // a partial line waiting for its '\n'
  std::string out;  // reply bytes the kernel would not take yet
};

int g_epoll = -1;
std::vector<std::unique_ptr<Conn>> g_conns;  // indexed by fd

void close_conn(int fd) {
  g_conns[fd].reset();
  ::close(fd);  // also removes it from the epoll set
}

// Sends what it can of data; queues the rest and asks for EPOLLOUT. False: the connection died.
bool send_or_queue(int fd, Conn& c, const char* data, std::size_t size) {
  std::size_t sent = 0;
  while (sent < size) {
    ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c.out.append(data + sent, size - sent);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ev.data.fd = fd;
      epoll_ctl(g_epoll, EPOLL_CTL_MOD, fd, &ev);
      return true;
    } else {
      return false;
    }
  }
  return true;
}

void on_readable(int fd, Conn& c) {
  static char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    close_conn(fd);
    return;
  }
  if (n < 0) return;
  static std::string reply;
  reply.clear();
  if (c.in.empty()) {
    std::string_view data(buf, static_cast<std::size_t>(n));
    std::size_t used = anchor::stamp_lines(data, reply);
    c.in.assign(data.substr(used));
  } else {
    c.in.append(buf, static_cast<std::size_t>(n));
    std::size_t used = anchor::stamp_lines(c.in, reply);
    c.in.erase(0, used);
  }
  if (reply.empty()) return;
  if (!c.out.empty()) {  // earlier replies still queued: keep the order
    c.out += reply;
    return;
  }
  if (!send_or_queue(fd, c, reply.data(), reply.size())) close_conn(fd);
}

void on_writable(int fd, Conn& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      close_conn(fd);
      return;
    }
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(g_epoll, EPOLL_CTL_MOD, fd, &ev);
}

}  // namespace

int main(int argc, char** argv) {
  anchor::Options opts = anchor::parse_args(argc, argv);
  anchor::init_process();
  int lfd = anchor::make_socket(opts, SOCK_STREAM, SOCK_NONBLOCK);
  g_epoll = epoll_create1(EPOLL_CLOEXEC);
  if (g_epoll < 0) anchor::die("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, lfd, &ev);
  anchor::announce_port(anchor::local_port(lfd));

  std::vector<epoll_event> events(1024);
  for (;;) {
    int n = epoll_wait(g_epoll, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      anchor::die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int cfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break;  // EAGAIN (drained) or a transient error: next round
          if (static_cast<std::size_t>(cfd) >= g_conns.size()) g_conns.resize(cfd * 2 + 1);
          g_conns[cfd] = std::make_unique<Conn>();
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = cfd;
          epoll_ctl(g_epoll, EPOLL_CTL_ADD, cfd, &cev);
        }
        continue;
      }
      Conn* c = static_cast<std::size_t>(fd) < g_conns.size() ? g_conns[fd].get() : nullptr;
      if (c == nullptr) continue;  // closed earlier in this batch
      uint32_t e = events[i].events;
      if (e & EPOLLOUT) {
        on_writable(fd, *c);
        c = g_conns[fd].get();
        if (c == nullptr) continue;
      }
      if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(fd, *c);
    }
  }
}
