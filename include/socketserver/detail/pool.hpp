// detail/pool.hpp (internal; public only because ThreadPoolMixIn is a template) — the machinery
// of ThreadPoolMixIn's workers, in src/pool.cpp: the gate idle workers wait at, the set parked
// connections wait in, and the peek that tells a request has come.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "socketserver/selector.hpp"

namespace socketserver::detail {

class Epoll;  // src/epoll.hpp

/// The waiting half of ThreadPoolMixIn's self-accepting workers (src/pool.cpp). While the pool
/// accepts, the listening socket is non-blocking and every idle worker waits in an epoll set of
/// its own holding the listener and a "queued" eventfd, both EPOLLEXCLUSIVE (one worker woken
/// per connection or queued request, no herd), and a "stop" eventfd that wakes them all.
class AcceptGate {
 public:
  enum class Wake { listener, queued, stop, timeout };
  AcceptGate() = default;
  AcceptGate(const AcceptGate&) = delete;
  AcceptGate& operator=(const AcceptGate&) = delete;

  void open(int listen_fd);            ///< listener non-blocking, stop cleared
  void close(int listen_fd) noexcept;  ///< the listener's own mode back (no worker waits now)
  void signal_stop() noexcept;         ///< wakes every waiting worker, until the next open()
  void signal_queued() noexcept;       ///< wakes one waiting worker
  /// Sleeps `pause` (an accept back-off), or less when signal_stop() comes.
  void wait_for_stop(std::chrono::milliseconds pause) const noexcept;
  [[nodiscard]] unsigned session() const noexcept { return session_; }

  /// One per worker thread: its epoll set, made anew for each session (open() to close()).
  class Waiter {
   public:
    explicit Waiter(AcceptGate& gate);
    ~Waiter();
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    /// Waits (at most a second: a safety net, not a poll interval) for the listener, a queued
    /// request or the stop.
    Wake wait(int listen_fd, unsigned session);

   private:
    AcceptGate& gate_;
    std::unique_ptr<Epoll> epoll_;  // none until the first wait, or after a failed one
    unsigned session_ = 0;
  };

 private:
  Waker stop_;
  Waker queued_{Waker::counting};  // one count per queued request
  int saved_flags_ = -1;           // the listener's file status flags before open()
  unsigned session_ = 0;
};

/// ThreadPoolMixIn's waiting room (src/pool.cpp): an epoll set of connections accepted before
/// their client sent a request, each watched (edge-triggered: a wake-up per arrival of bytes,
/// end of input or error), and an eventfd that wakes the one thread waiting on the set.
class ParkSet {
 public:
  ParkSet();
  ~ParkSet();
  ParkSet(const ParkSet&) = delete;
  ParkSet& operator=(const ParkSet&) = delete;

  void add(int fd);              ///< watches `fd`; throws socket_error
  void remove(int fd) noexcept;  ///< stops watching `fd` (before it is closed or served)
  void wake() noexcept;          ///< ends the current (or next) wait() early
  /// Waits at most `timeout_ms` (-1: no limit) and appends the descriptors that became ready.
  void wait(std::vector<int>& ready, int timeout_ms);

 private:
  std::unique_ptr<Epoll> epoll_;
  Waker wake_;
};

/// True when the client on `fd` has sent a request: with an empty `delimiter`, any byte; else
/// bytes that hold `delimiter` or number `limit`. End of input (after part of a line, too) and a
/// pending error count as well (the handler meets them). recv with MSG_PEEK | MSG_DONTWAIT: nothing
/// is consumed, nothing waits.
[[nodiscard]] bool request_ready(int fd, std::string_view delimiter, std::size_t limit) noexcept;

/// ThreadPoolMixIn's default max_parked: half the soft RLIMIT_NOFILE at the time of the call
/// (65,536 when unlimited), at least 1.
[[nodiscard]] std::size_t default_max_parked() noexcept;

/// The default max_threads of ThreadingMixIn and ThreadPoolMixIn (src/mixins.cpp), from this
/// process's limits at the time of the call: the smallest of
///   - half the soft RLIMIT_NOFILE (each handler thread holds its connection's descriptor; the
///     other half is left for the listener and whatever the handlers open),
///   - half the soft RLIMIT_NPROC (threads count against it, with the user's other processes),
///   - physical memory (sysconf _SC_PHYS_PAGES x _SC_PAGE_SIZE) divided by the stack a new
///     thread reserves (the soft RLIMIT_STACK, which glibc uses; 8 MiB when unlimited),
/// skipping a limit that is RLIM_INFINITY; at least 1.
[[nodiscard]] std::size_t default_max_threads() noexcept;

}  // namespace socketserver::detail
