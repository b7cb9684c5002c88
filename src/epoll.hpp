// epoll.hpp (internal) — the one epoll set of the library, under Selector, the reactor's loop and
// ThreadPoolMixIn's workers, and the one translation of a ready mask into the library's
// EVENT_READ / EVENT_WRITE. Public headers only name the class (Selector and the pool hold one
// through a pointer): no public header shows epoll.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

#include "socketserver/detail/fd.hpp"
#include "socketserver/selector.hpp"

namespace socketserver::detail {

/// An epoll set. The events a registration asks for are the library's bits (EVENT_READ,
/// EVENT_WRITE and the modes below); the data is a 64-bit word given back by wait().
class Epoll {
 public:
  // The events a registration asks for: EVENT_READ (1) and EVENT_WRITE (2) of selector.hpp, and
  // these modes.
  static constexpr int kPeerClosed = 4;  ///< also report the peer's shutdown (EPOLLRDHUP)
  static constexpr int kEdge = 8;        ///< once per change, not while ready (EPOLLET)
  static constexpr int kExclusive = 16;  ///< wake one of the sets that hold it (EPOLLEXCLUSIVE)

  /// A new epoll set; throws socket_error.
  Epoll();

  /// Registers `fd` with `data` (given back by wait); throws socket_error naming the fd.
  void add(int fd, int events, std::uint64_t data);
  void modify(int fd, int events, std::uint64_t data);
  /// Unregisters `fd`. One already closed (the kernel dropped it) or never added is not an
  /// error; anything else throws socket_error.
  void remove(int fd);
  /// Waits up to `timeout_ms` (-1: no limit) and fills `out` (room for `max`); returns how many
  /// are ready, 0 when a signal handler interrupted the wait. Other errors throw socket_error.
  int wait(epoll_event* out, int max, int timeout_ms);

  [[nodiscard]] int fileno() const noexcept { return fd_.get(); }
  void close() noexcept { fd_.reset(); }

 private:
  Fd fd_;
};

/// EVENT_READ / EVENT_WRITE for a ready epoll mask, limited to `wanted`. The peer's shutdown
/// reports as readable; errors and hang-ups as both, so the next recv or send meets them.
inline int ready_events(std::uint32_t mask, int wanted) noexcept {
  static_assert(EPOLLIN == 1 && EPOLLOUT == 4 && EVENT_READ == 1 && EVENT_WRITE == 2);
  int events = static_cast<int>((mask & EPOLLIN) | ((mask & EPOLLOUT) >> 1));
  if ((mask & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0) [[unlikely]] {
    events |= EVENT_READ;
    if ((mask & (EPOLLERR | EPOLLHUP)) != 0) events |= EVENT_WRITE;
  }
  return events & wanted;
}

}  // namespace socketserver::detail
