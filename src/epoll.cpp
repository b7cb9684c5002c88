// epoll.cpp — detail::Fd's close and detail::Epoll, the one epoll set of the library.
#include "epoll.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

#include "socketserver/errors.hpp"

namespace socketserver::detail {

void close_fd(int fd) noexcept { ::close(fd); }

namespace {
std::uint32_t to_epoll(int events) noexcept {
  std::uint32_t mask = 0;
  if ((events & EVENT_READ) != 0) mask |= EPOLLIN;
  if ((events & EVENT_WRITE) != 0) mask |= EPOLLOUT;
  if ((events & Epoll::kPeerClosed) != 0) mask |= EPOLLRDHUP;
  if ((events & Epoll::kEdge) != 0) mask |= EPOLLET;
  if ((events & Epoll::kExclusive) != 0) mask |= EPOLLEXCLUSIVE;
  return mask;
}

void control(int epfd, int op, int fd, int events, std::uint64_t data, const char* what) {
  epoll_event ev{};
  ev.events = to_epoll(events);
  ev.data.u64 = data;
  if (::epoll_ctl(epfd, op, fd, &ev) < 0) {
    throw_os_error(errno, std::string(what) + " fd " + std::to_string(fd));
  }
}
}  // namespace

Epoll::Epoll() : fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!fd_) throw_os_error(errno, "epoll_create1");
}

void Epoll::add(int fd, int events, std::uint64_t data) {
  control(fd_.get(), EPOLL_CTL_ADD, fd, events, data, "register");
}

void Epoll::modify(int fd, int events, std::uint64_t data) {
  control(fd_.get(), EPOLL_CTL_MOD, fd, events, data, "modify");
}

void Epoll::remove(int fd) {
  // A descriptor closed before it is removed is already gone from the set (and its number may
  // name another descriptor now, not in the set): not an error.
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr) < 0 && errno != EBADF && errno != ENOENT) {
    throw_os_error(errno, "unregister fd " + std::to_string(fd));
  }
}

int Epoll::wait(epoll_event* out, int max, int timeout_ms) {
  const int n = ::epoll_wait(fd_.get(), out, max, timeout_ms);
  if (n >= 0) return n;
  if (errno == EINTR) return 0;
  throw_os_error(errno, "epoll_wait");
}

}  // namespace socketserver::detail
