// selector.hpp — Python's selectors.DefaultSelector (epoll) and a Waker to interrupt it.
//
//   Python                                     C++
//   sel = selectors.DefaultSelector()          Selector sel;
//   sel.register(sock, EVENT_READ, data)       sel.register_(sock, EVENT_READ, data);
//   sel.modify(sock, EVENT_WRITE)              sel.modify(sock, EVENT_WRITE);
//   sel.unregister(sock)                       sel.unregister(sock);
//   for key, mask in sel.select(timeout):      for (auto& [key, mask] : sel.select(timeout))
//       key.fileobj / key.fd / key.data            key.fd / key.data
//
// `register` is a C++ keyword, hence `register_`. A key's `data` is an untyped pointer (what
// Python's `data` holds is up to the caller: a client object, a callback, ...).
//
// Thread-safety: a Selector belongs to one thread (register, modify, select from that thread).
// A Waker's wake() is safe from any thread and from a signal handler.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "socketserver/socket.hpp"

struct epoll_event;  // <sys/epoll.h>, kept out of the public header

namespace socketserver {

/// Python's selectors.EVENT_READ / EVENT_WRITE, combinable with |.
inline constexpr int EVENT_READ = 1;
inline constexpr int EVENT_WRITE = 2;

/// Python's SelectorKey: the descriptor, the events asked for and the caller's data.
struct SelectorKey {
  int fd = -1;
  int events = 0;
  void* data = nullptr;
};

/// Python's selectors.DefaultSelector, on epoll. Move-only; owns its epoll descriptor (never
/// the registered ones). Throws socket_error on system errors; std::invalid_argument for bad
/// events; std::out_of_range (KeyError) for a descriptor not registered, std::invalid_argument
/// for one registered twice.
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
  const SelectorKey& register_(const Socket& sock, int events, void* data = nullptr) {
    return register_(sock.fileno(), events, data);
  }
  /// Python's unregister(fileobj): returns the key it had.
  SelectorKey unregister(int fd);
  SelectorKey unregister(const Socket& sock) { return unregister(sock.fileno()); }
  /// Python's modify(fileobj, events, data).
  const SelectorKey& modify(int fd, int events, void* data = nullptr);
  const SelectorKey& modify(const Socket& sock, int events, void* data = nullptr) {
    return modify(sock.fileno(), events, data);
  }
  /// Python's select(timeout): waits up to `timeout` (nullopt: forever; 0: poll) and returns
  /// the ready keys. The result stays valid until the next select(). EINTR returns an empty
  /// result, as Python's select does after running signal handlers.
  const std::vector<Ready>& select(Timeout timeout = std::nullopt);
  /// Python's get_key(fileobj); throws std::out_of_range when not registered.
  [[nodiscard]] const SelectorKey& get_key(int fd) const;
  /// True when `fd` is registered.
  [[nodiscard]] bool contains(int fd) const noexcept;
  /// Number of registered descriptors (Python's len(get_map())).
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// Python's close(): releases the epoll descriptor; further calls throw EBADF.
  void close() noexcept;
  /// The epoll descriptor (-1 once closed).
  [[nodiscard]] int fileno() const noexcept { return epfd_; }

 private:
  int epfd_ = -1;
  std::vector<std::optional<SelectorKey>> keys_;  // indexed by fd
  std::size_t count_ = 0;
  std::vector<Ready> ready_;
  std::vector<epoll_event> events_;  // epoll_wait's buffer, reused across select() calls
};

/// Wakes a Selector from another thread (or a signal handler): register fileno() for
/// EVENT_READ, call wake() anywhere, drain() in the selecting thread. An eventfd; several
/// wake() calls before one drain() are one wake-up.
class Waker {
 public:
  Waker();
  Waker(Waker&&) noexcept;
  Waker& operator=(Waker&&) = delete;
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  ~Waker();

  /// Makes the descriptor readable. Thread-safe and async-signal-safe; never throws.
  void wake() noexcept;
  /// Clears the wake-up (call from the selecting thread after it reports ready). Returns true
  /// when there was one.
  bool drain() noexcept;
  [[nodiscard]] int fileno() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace socketserver
