// mixins.cpp — the parts of the mixins that are not templates: ThreadingMixIn's default limit,
// and ThreadPoolMixIn's gate its workers wait at and the set its parked connections wait in.
#include "socketserver/mixins.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "socketserver/errors.hpp"

namespace socketserver::detail {

std::size_t default_max_threads() noexcept {
  std::size_t limit = SIZE_MAX;
  const auto consider = [&limit](std::size_t n) { limit = std::min(limit, n); };
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    consider(static_cast<std::size_t>(rl.rlim_cur / 2));
  }
  if (::getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    consider(static_cast<std::size_t>(rl.rlim_cur / 2));
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) {
    std::uint64_t stack = std::uint64_t{8} << 20;
    if (::getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 0) {
      stack = rl.rlim_cur;
    }
    consider(static_cast<std::size_t>(static_cast<std::uint64_t>(pages) *
                                      static_cast<std::uint64_t>(page_size) / stack));
  }
  return std::max<std::size_t>(limit, 1);
}

namespace {

int make_eventfd(unsigned flags) {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | flags);
  if (fd < 0) throw_os_error(errno, "eventfd for the thread pool");
  return fd;
}

void add_to(int epfd, int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    throw_os_error(errno, "epoll_ctl for the thread pool (fd " + std::to_string(fd) + ")");
  }
}

void signal(int fd) noexcept {
  const std::uint64_t one = 1;
  ssize_t n = 0;
  do {
    n = ::write(fd, &one, sizeof one);
  } while (n < 0 && errno == EINTR);
}

void drain(int fd) noexcept {
  std::uint64_t count = 0;
  ssize_t n = 0;
  do {
    n = ::read(fd, &count, sizeof count);
  } while (n < 0 && errno == EINTR);
}

}  // namespace

std::size_t default_max_parked() noexcept {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 65536;
  return std::max<std::size_t>(static_cast<std::size_t>(rl.rlim_cur / 2), 1);
}

namespace {
// True when the peer has shut down its sending side (or the connection failed): a partial line
// followed by the end of input is all the request there will ever be.
bool peer_finished(int fd) noexcept {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  int n = 0;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}
}  // namespace

bool request_ready(int fd, std::string_view delimiter, std::size_t limit) noexcept {
  // Most requests fit the first peek; a longer partial line is peeked again whole, up to limit.
  char small[2048];
  std::vector<char> large;
  char* buf = small;
  std::size_t size =
      delimiter.empty() ? 1 : std::min(sizeof small, std::max<std::size_t>(limit, 1));
  for (;;) {
    const ssize_t n = ::recv(fd, buf, size, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;  // an error: the handler meets it
    if (n == 0 || delimiter.empty()) return true;               // end of input, or any byte
    const std::string_view got(buf, static_cast<std::size_t>(n));
    if (got.find(delimiter) != std::string_view::npos || got.size() >= limit) return true;
    // All there is, and no delimiter: a request only if no more can come.
    if (static_cast<std::size_t>(n) < size) return peer_finished(fd);
    if (buf != small) return true;  // as far as it may look: the handler reads the rest
    try {
      large.resize(std::min<std::size_t>(limit, std::size_t{1} << 20));
    } catch (...) {
      return true;  // no memory to look further: let the handler read it
    }
    buf = large.data();
    size = large.size();
  }
}

// ---- ParkSet --------------------------------------------------------------------------------

namespace {
// Edge-triggered: a parked connection wakes its watcher once per arrival, not while bytes wait.
constexpr std::uint32_t kParkEvents = EPOLLIN | EPOLLRDHUP | EPOLLET;
}  // namespace

ParkSet::ParkSet() : wake_fd_(make_eventfd(0)) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) {
    const int err = errno;
    ::close(wake_fd_);
    throw_os_error(err, "epoll_create1 for the thread pool's parked connections");
  }
  try {
    add_to(epfd_, wake_fd_, EPOLLIN);
  } catch (...) {
    ::close(epfd_);
    ::close(wake_fd_);
    throw;
  }
}

ParkSet::~ParkSet() {
  ::close(epfd_);
  ::close(wake_fd_);
}

void ParkSet::add(int fd) { add_to(epfd_, fd, kParkEvents); }

void ParkSet::remove(int fd) noexcept { ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

void ParkSet::wake() noexcept { signal(wake_fd_); }

void ParkSet::wait(std::vector<int>& ready, int timeout_ms) {
  epoll_event events[64];
  const int n = ::epoll_wait(epfd_, events, 64, timeout_ms);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == wake_fd_) {
      drain(wake_fd_);
    } else {
      ready.push_back(events[i].data.fd);
    }
  }
}

// ---- AcceptGate -----------------------------------------------------------------------------

AcceptGate::AcceptGate() : stop_fd_(make_eventfd(0)) {
  try {
    queued_fd_ = make_eventfd(EFD_SEMAPHORE);
  } catch (...) {
    ::close(stop_fd_);
    throw;
  }
}

AcceptGate::~AcceptGate() {
  ::close(stop_fd_);
  ::close(queued_fd_);
}

void AcceptGate::open(int listen_fd) {
  const int flags = ::fcntl(listen_fd, F_GETFL);
  if (flags < 0) throw_os_error(errno, "fcntl(F_GETFL) on the listening socket");
  if ((flags & O_NONBLOCK) == 0 && ::fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw_os_error(errno, "fcntl(F_SETFL) on the listening socket");
  }
  saved_flags_ = flags;
  drain(stop_fd_);
  while (true) {  // stale "queued" signals from an earlier session (semaphore: one per read)
    std::uint64_t count = 0;
    if (::read(queued_fd_, &count, sizeof count) < 0) break;
  }
  ++session_;
}

void AcceptGate::close(int listen_fd) noexcept {
  if (saved_flags_ >= 0 && listen_fd >= 0 && (saved_flags_ & O_NONBLOCK) == 0) {
    const int flags = ::fcntl(listen_fd, F_GETFL);
    if (flags >= 0) ::fcntl(listen_fd, F_SETFL, flags & ~O_NONBLOCK);
  }
  saved_flags_ = -1;
}

void AcceptGate::signal_stop() noexcept { signal(stop_fd_); }

void AcceptGate::signal_queued() noexcept { signal(queued_fd_); }

AcceptGate::Waiter::~Waiter() {
  if (epfd_ >= 0) ::close(epfd_);
}

AcceptGate::Wake AcceptGate::Waiter::wait(int listen_fd, unsigned session) {
  if (epfd_ < 0 || session_ != session) {
    if (epfd_ >= 0) ::close(epfd_);
    epfd_ = -1;
    const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) return Wake::timeout;  // the caller goes round again; nothing is lost
    try {
      add_to(epfd, gate_.stop_fd_, EPOLLIN);
      add_to(epfd, gate_.queued_fd_, EPOLLIN | EPOLLEXCLUSIVE);
      add_to(epfd, listen_fd, EPOLLIN | EPOLLEXCLUSIVE);
    } catch (const socket_error&) {
      ::close(epfd);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no busy loop on a failure
      return Wake::timeout;
    }
    epfd_ = epfd;
    session_ = session;
  }
  epoll_event events[3];
  const int n = ::epoll_wait(epfd_, events, 3, 1000);
  bool listener = false;
  bool queued = false;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == gate_.stop_fd_) return Wake::stop;  // never drained here
    if (events[i].data.fd == gate_.queued_fd_) queued = true;
    if (events[i].data.fd == listen_fd) listener = true;
  }
  if (listener) {
    // This worker's wake-up went to a connection; a queued request seen at the same time is
    // passed on to another worker rather than left waiting behind this one.
    if (queued) gate_.signal_queued();
    return Wake::listener;
  }
  if (queued) {
    drain(gate_.queued_fd_);  // one count (semaphore): other queued requests wake others
    return Wake::queued;
  }
  return Wake::timeout;
}

}  // namespace socketserver::detail
