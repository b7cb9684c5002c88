// detail/epoll.hpp (internal; public only because Selector and the pool hold one) — the one
// epoll set of the library, under Selector, the reactor's loop and ThreadPoolMixIn's workers.
// <sys/epoll.h> stays out: the events are the library's bits, the data a 64-bit word.
#pragma once

#include <cstdint>

#include "socketserver/detail/fd.hpp"

struct epoll_event;  // <sys/epoll.h>

namespace socketserver::detail {

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

}  // namespace socketserver::detail
