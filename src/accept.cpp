// accept.cpp — detail::AcceptPolicy, the one accept policy of every loop.
#include "socketserver/detail/accept.hpp"

#include <algorithm>
#include <cerrno>

namespace socketserver::detail {

AcceptPolicy::Action AcceptPolicy::classify(int err) noexcept {
  if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) return Action::back_off;
  // A connection that was reset or failed while it waited in the queue (ECONNABORTED, EPROTO;
  // Linux may also pass on the pending network errors accept(2) lists) is that client's loss.
  if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED || err == EPROTO ||
      err == EMSGSIZE || err == 0) {
    return Action::retry;
  }
  return Action::report;
}

AcceptPolicy::Action AcceptPolicy::failed(int err) noexcept {
  const Action action = classify(err);
  if (action == Action::back_off) {
    pause_ = pause_.count() == 0 ? kFirstPause : std::min(pause_ * 2, kLongestPause);
  }
  return action;
}

std::string AcceptPolicy::describe(const std::string& what, Action action) const {
  if (action != Action::back_off) return what;
  return what + " (pausing accepts for " + std::to_string(pause_.count()) + " ms)";
}

}  // namespace socketserver::detail
