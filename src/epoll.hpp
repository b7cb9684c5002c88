// epoll.hpp (internal) — detail::Epoll with <sys/epoll.h>, and the one translation of a ready
// mask into the library's EVENT_READ / EVENT_WRITE (Selector, the reactor).
#pragma once

#include <sys/epoll.h>

#include <cstdint>

#include "socketserver/detail/epoll.hpp"
#include "socketserver/selector.hpp"

namespace socketserver::detail {

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
