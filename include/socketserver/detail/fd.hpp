// detail/fd.hpp (internal; public only because Selector, Waker and the pool hold one) — the one
// owner of a descriptor the library opens (move-only, closes once), and the one EINTR retry.
#pragma once

#include <cerrno>
#include <utility>

namespace socketserver::detail {

/// ::close(fd), once. Linux frees the descriptor even when close reports EINTR, so it is never
/// retried (a retry could close a descriptor another thread has just been given).
void close_fd(int fd) noexcept;

/// Owns one descriptor (or none: -1) and closes it when destroyed or reset.
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives the descriptor up without closing it.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the descriptor held (if any) and holds `fd` instead.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) close_fd(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// Runs `call` (a system call's wrapper: negative with errno on failure) again while it fails
/// with EINTR, as Python retries since PEP 475; returns its last result (errno intact).
template <class Call>
auto retry_on_eintr(Call call) {
  for (;;) {
    auto result = call();
    if (result >= 0 || errno != EINTR) return result;
  }
}

}  // namespace socketserver::detail
