// selector.hpp — Python's selectors.DefaultSelector (epoll) and a Waker to interrupt it.
//
//   Python                                     C++
//   sel = selectors.DefaultSelector()          Selector sel;
//   sel.register(sock, EVENT_READ, data)       sel.register_(sock, EVENT_READ, data);
//   sel.modify(sock, EVENT_WRITE)              sel.modify(sock, EVENT_WRITE);
//   sel.unregister(sock)                       sel.unregister(sock);
//   for key, mask in sel.select(timeout):      for (auto& [key, mask] : sel.select(timeout))
//       key.fileobj / key.fd / key.data            key.fileobj / key.fd / key.data
//
// As in Python, a key remembers the descriptor it was registered with, so a socket object can
// be unregistered (or looked up, or given new data) after it was closed: lookup by a Socket
// whose fileno() is -1 finds the key registered with that object (by its address, as Python's
// identity: a Socket moved after register_ is found by its descriptor only while it is open).
//
// `register` is a C++ keyword, hence `register_`. A key's `data` is an untyped pointer (what
// Python's `data` holds is up to the caller: a client object, a callback, ...).
//
// Thread-safety: a Selector belongs to one thread (register, modify, select from that thread).
// A Waker's wake() is safe from any thread and from a signal handler.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "socketserver/detail/fd.hpp"
#include "socketserver/socket.hpp"

struct epoll_event;  // <sys/epoll.h>, kept out of the public header

namespace socketserver::detail {
class Epoll;  // src/epoll.hpp
}  // namespace socketserver::detail

namespace socketserver {

/// Python's selectors.EVENT_READ / EVENT_WRITE, combinable with |.
inline constexpr int EVENT_READ = 1;
inline constexpr int EVENT_WRITE = 2;

/// Python's SelectorKey: the descriptor, the events asked for, the caller's data and the
/// Socket registered (nullptr when registered by descriptor; Python's key.fileobj).
struct SelectorKey {
  int fd = -1;
  int events = 0;
  void* data = nullptr;
  const Socket* fileobj = nullptr;
};

/// Python's selectors.DefaultSelector, on epoll. Move-only; owns its epoll descriptor (never
/// the registered ones). Throws socket_error on system errors; std::invalid_argument for bad
/// events; std::out_of_range (KeyError) for a descriptor not registered, std::invalid_argument
/// for one registered twice; std::logic_error (Python's RuntimeError "Selector is closed") for
/// any call but close(), contains(), size() and fileno() after close() or a move.
class Selector {
 public:
  /// One ready descriptor: its key and the events that are ready (EVENT_READ | EVENT_WRITE;
  /// errors and hang-ups report as both, so the next recv/send sees them).
  using Ready = std::pair<SelectorKey, int>;

  Selector();
  Selector(Selector&&) noexcept;
  Selector& operator=(Selector&&) noexcept;
  Selector(const Selector&) = delete;
  Selector& operator=(const Selector&) = delete;
  ~Selector();

  /// Python's register(fileobj, events, data).
  const SelectorKey& register_(int fd, int events, void* data = nullptr);
  /// The key remembers `sock` (key.fileobj) and its descriptor, for lookups after it closes.
  const SelectorKey& register_(const Socket& sock, int events, void* data = nullptr);
  /// Python's unregister(fileobj): returns the key it had. By Socket, also after it was closed.
  SelectorKey unregister(int fd);
  SelectorKey unregister(const Socket& sock);
  /// Python's modify(fileobj, events, data). By Socket, also after it was closed (changing only
  /// the data needs no system call; changing the events of a closed one throws EBADF).
  const SelectorKey& modify(int fd, int events, void* data = nullptr);
  const SelectorKey& modify(const Socket& sock, int events, void* data = nullptr);
  /// Python's select(timeout): waits up to `timeout` (nullopt: forever; 0: poll) and returns
  /// every ready key, however many are registered. The result stays valid until the next
  /// select(). A signal whose handler returns does not end the wait: it goes on with the time
  /// that is left, as Python's does since PEP 475 (to be woken by a signal, have the handler
  /// call a Waker's wake()).
  const std::vector<Ready>& select(Timeout timeout = std::nullopt);
  /// Python's get_key(fileobj); throws std::out_of_range when not registered. By Socket, also
  /// after it was closed.
  [[nodiscard]] const SelectorKey& get_key(int fd) const;
  [[nodiscard]] const SelectorKey& get_key(const Socket& sock) const;
  /// True when `fd` is registered.
  [[nodiscard]] bool contains(int fd) const noexcept;
  /// Number of registered descriptors (Python's len(get_map())).
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// Python's close(): releases the epoll descriptor and forgets every key; further calls
  /// throw std::logic_error. A second close() does nothing.
  void close() noexcept;
  /// The epoll descriptor (-1 once closed).
  [[nodiscard]] int fileno() const noexcept;

 private:
  void require_open(const char* op) const;
  // The fd of sock's key (out_of_range when none); `op` names the call in a closed error.
  [[nodiscard]] int lookup(const Socket& sock, const char* op) const;

  std::unique_ptr<detail::Epoll> epoll_;          // none once closed
  std::vector<std::optional<SelectorKey>> keys_;  // indexed by fd
  std::size_t count_ = 0;
  std::vector<Ready> ready_;
  std::vector<epoll_event> events_;  // epoll_wait's buffer, reused across select() calls
};

/// Wakes a Selector from another thread (or a signal handler): register fileno() for
/// EVENT_READ, call wake() anywhere, drain() in the selecting thread. An eventfd; several
/// wake() calls before one drain() are one wake-up. A counting Waker (Waker(Waker::counting))
/// keeps count instead: each drain() takes one wake(), and the descriptor stays readable while
/// any is left (an eventfd semaphore; ThreadPoolMixIn hands out queued requests with one).
class Waker {
 public:
  struct Counting {};
  static constexpr Counting counting{};

  Waker();
  explicit Waker(Counting);
  Waker(Waker&&) noexcept = default;
  Waker& operator=(Waker&&) = delete;
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  ~Waker() = default;

  /// Makes the descriptor readable. Thread-safe and async-signal-safe; never throws.
  void wake() noexcept;
  /// Clears the wake-up (call from the selecting thread after it reports ready); a counting
  /// Waker takes one. Returns true when there was one.
  bool drain() noexcept;
  [[nodiscard]] int fileno() const noexcept { return fd_.get(); }

 private:
  detail::Fd fd_;
};

}  // namespace socketserver
