// pool.cpp — ThreadPoolMixIn's machinery: the gate its idle workers wait at (one epoll set each,
// the listener and the "queued" count shared EPOLLEXCLUSIVE), the set its parked connections wait
// in, and the peek that tells a parked connection's request has come.
#include "socketserver/detail/pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
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

#include "epoll.hpp"
#include "socketserver/detail/fd.hpp"
#include "socketserver/errors.hpp"

namespace socketserver::detail {

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
  const int n = retry_on_eintr([&] { return ::poll(&p, 1, 0); });
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
    const ssize_t n =
        retry_on_eintr([&] { return ::recv(fd, buf, size, MSG_PEEK | MSG_DONTWAIT); });
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
constexpr int kParkEvents = EVENT_READ | Epoll::kPeerClosed | Epoll::kEdge;
constexpr std::uint64_t kWakeData = ~std::uint64_t{0};  // no descriptor's number
}  // namespace

ParkSet::ParkSet() : epoll_(std::make_unique<Epoll>()) {
  epoll_->add(wake_.fileno(), EVENT_READ, kWakeData);
}

ParkSet::~ParkSet() = default;

void ParkSet::add(int fd) { epoll_->add(fd, kParkEvents, static_cast<std::uint64_t>(fd)); }

void ParkSet::remove(int fd) noexcept {
  try {
    epoll_->remove(fd);
  } catch (const socket_error&) {  // cannot happen for a descriptor the set holds
  }
}

void ParkSet::wake() noexcept { wake_.wake(); }

void ParkSet::wait(std::vector<int>& ready, int timeout_ms) {
  epoll_event events[64];
  const int n = epoll_->wait(events, 64, timeout_ms);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == kWakeData) {
      wake_.drain();
    } else {
      ready.push_back(static_cast<int>(events[i].data.u64));
    }
  }
}

// ---- AcceptGate -----------------------------------------------------------------------------

void AcceptGate::open(int listen_fd) {
  const int flags = ::fcntl(listen_fd, F_GETFL);
  if (flags < 0) throw_os_error(errno, "fcntl(F_GETFL) on the listening socket");
  if ((flags & O_NONBLOCK) == 0 && ::fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw_os_error(errno, "fcntl(F_SETFL) on the listening socket");
  }
  saved_flags_ = flags;
  stop_.drain();
  while (queued_.drain()) {  // stale "queued" counts from an earlier session, one per drain
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

void AcceptGate::signal_stop() noexcept { stop_.wake(); }

void AcceptGate::signal_queued() noexcept { queued_.wake(); }

void AcceptGate::wait_for_stop(std::chrono::milliseconds pause) const noexcept {
  pollfd p{stop_.fileno(), POLLIN, 0};  // never drained by a waiter: readable until open()
  const auto until = std::chrono::steady_clock::now() + pause;
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) > 0) return;
  }
}

AcceptGate::Waiter::Waiter(AcceptGate& gate) : gate_(gate) {}

AcceptGate::Waiter::~Waiter() = default;

AcceptGate::Wake AcceptGate::Waiter::wait(int listen_fd, unsigned session) {
  if (!epoll_ || session_ != session) {
    epoll_.reset();
    try {
      auto set = std::make_unique<Epoll>();
      set->add(gate_.stop_.fileno(), EVENT_READ, 0);
      set->add(gate_.queued_.fileno(), EVENT_READ | Epoll::kExclusive, 1);
      set->add(listen_fd, EVENT_READ | Epoll::kExclusive, 2);
      epoll_ = std::move(set);
    } catch (const socket_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no busy loop on a failure
      return Wake::timeout;  // the caller goes round again; nothing is lost
    }
    session_ = session;
  }
  epoll_event events[3];
  int n = 0;
  try {
    n = epoll_->wait(events, 3, 1000);
  } catch (const socket_error&) {
    epoll_.reset();  // made anew on the next call
    return Wake::timeout;
  }
  bool listener = false;
  bool queued = false;
  bool stop = false;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == 0) stop = true;  // never drained here
    if (events[i].data.u64 == 1) queued = true;
    if (events[i].data.u64 == 2) listener = true;
  }
  // The listener first, even at the stop: with EPOLLEXCLUSIVE this wake-up was the
  // connection's only one (no other worker, in this process or another sharing the socket, was
  // woken for it). Left unaccepted, it would wait for the next connection to come (a prefork
  // worker's restart lost requests so, about 1 in 12 under load).
  if (listener) {
    // This worker's wake-up went to a connection; a queued request seen at the same time is
    // passed on to another worker rather than left waiting behind this one.
    if (queued) gate_.signal_queued();
    return Wake::listener;
  }
  if (stop) return Wake::stop;
  if (queued) {
    gate_.queued_.drain();  // one count (semaphore): other queued requests wake others
    return Wake::queued;
  }
  return Wake::timeout;
}

}  // namespace socketserver::detail
