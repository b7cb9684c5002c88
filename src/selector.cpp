// selector.cpp — the epoll Selector and the eventfd Waker.
#include "socketserver/selector.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "epoll.hpp"

namespace socketserver {

namespace {

int checked(int events) {
  if (events <= 0 || (events & ~(EVENT_READ | EVENT_WRITE)) != 0) {
    throw std::invalid_argument("selector: invalid events " + std::to_string(events));
  }
  return events;
}

int timeout_ms(const Timeout& timeout) {
  if (!timeout) return -1;
  const double ms = std::ceil(timeout->count() * 1000.0);  // never round a wait down to a spin
  if (ms <= 0) return 0;
  if (ms >= static_cast<double>(INT_MAX)) return INT_MAX;
  return static_cast<int>(ms);
}

}  // namespace

Selector::Selector() : epoll_(std::make_unique<detail::Epoll>()) {}

Selector::Selector(Selector&& other) noexcept
    : epoll_(std::move(other.epoll_)),
      keys_(std::move(other.keys_)),
      count_(std::exchange(other.count_, 0)),
      ready_(std::move(other.ready_)),
      events_(std::move(other.events_)) {}

Selector& Selector::operator=(Selector&& other) noexcept {
  if (this != &other) {
    close();
    epoll_ = std::move(other.epoll_);
    keys_ = std::move(other.keys_);
    count_ = std::exchange(other.count_, 0);
    ready_ = std::move(other.ready_);
    events_ = std::move(other.events_);
  }
  return *this;
}

Selector::~Selector() = default;

int Selector::fileno() const noexcept { return epoll_ ? epoll_->fileno() : -1; }

void Selector::close() noexcept {
  epoll_.reset();
  keys_.clear();
  count_ = 0;
}

void Selector::require_open(const char* op) const {
  // Python raises RuntimeError("Selector is closed") (get_key) or ValueError (register,
  // select): a use after close() is a programming error, not an I/O one.
  if (!epoll_) throw std::logic_error(std::string("selector: ") + op + " on a closed selector");
}

bool Selector::contains(int fd) const noexcept {
  return fd >= 0 && static_cast<std::size_t>(fd) < keys_.size() && keys_[fd].has_value();
}

const SelectorKey& Selector::get_key(int fd) const {
  require_open("get_key");
  if (!contains(fd))
    throw std::out_of_range("selector: fd " + std::to_string(fd) + " is not registered");
  return *keys_[fd];
}

int Selector::lookup(const Socket& sock, const char* op) const {
  require_open(op);
  if (sock.fileno() >= 0) return sock.fileno();
  // Closed (or detached): as Python's _fileobj_lookup, find the key registered with this
  // object; it holds the descriptor the socket had.
  for (const auto& key : keys_) {
    if (key && key->fileobj == &sock) return key->fd;
  }
  throw std::out_of_range("selector: closed socket is not registered");
}

const SelectorKey& Selector::get_key(const Socket& sock) const {
  return get_key(lookup(sock, "get_key"));
}

const SelectorKey& Selector::register_(int fd, int events, void* data) {
  require_open("register");
  if (fd < 0) throw std::invalid_argument("selector: invalid fd " + std::to_string(fd));
  if (contains(fd))
    throw std::invalid_argument("selector: fd " + std::to_string(fd) + " is already registered");
  epoll_->add(fd, checked(events), static_cast<std::uint64_t>(fd));
  if (static_cast<std::size_t>(fd) >= keys_.size()) keys_.resize(static_cast<std::size_t>(fd) + 1);
  keys_[fd] = SelectorKey{fd, events, data};
  ++count_;
  return *keys_[fd];
}

const SelectorKey& Selector::register_(const Socket& sock, int events, void* data) {
  const SelectorKey& key = register_(sock.fileno(), events, data);
  keys_[key.fd]->fileobj = &sock;
  return key;
}

SelectorKey Selector::unregister(int fd) {
  require_open("unregister");
  const SelectorKey key = get_key(fd);
  keys_[fd].reset();
  --count_;
  epoll_->remove(fd);  // one closed before unregister is already gone: not an error
  return key;
}

SelectorKey Selector::unregister(const Socket& sock) {
  return unregister(lookup(sock, "unregister"));
}

const SelectorKey& Selector::modify(int fd, int events, void* data) {
  require_open("modify");
  SelectorKey& key = const_cast<SelectorKey&>(get_key(fd));
  if (events != key.events) epoll_->modify(fd, checked(events), static_cast<std::uint64_t>(fd));
  key.events = events;
  key.data = data;
  return key;
}

const SelectorKey& Selector::modify(const Socket& sock, int events, void* data) {
  return modify(lookup(sock, "modify"), events, data);
}

const std::vector<Selector::Ready>& Selector::select(Timeout timeout) {
  require_open("select");
  if (timeout && (std::isnan(timeout->count()) || timeout->count() < 0)) timeout = Timeout(0);
  ready_.clear();
  // Room for every registered descriptor: epoll reports each at most once, so one call
  // returns all that are ready (as Python's EpollSelector sizes max_ev).
  const std::size_t max_events = count_ < 1 ? 1 : count_;
  if (events_.size() < max_events) events_.resize(max_events);
  const auto start = std::chrono::steady_clock::now();
  Timeout left = timeout;
  int n = 0;
  for (;;) {
    n = epoll_->wait(events_.data(), static_cast<int>(std::min<std::size_t>(max_events, INT_MAX)),
                     timeout_ms(left));
    if (n > 0) break;
    // Nothing ready: the time ran out, or (PEP 475) a signal handler ran and returned, and the
    // wait goes on for what remains of the timeout.
    if (!timeout) continue;
    const std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start;
    left = *timeout - spent;
    if (left->count() <= 0) break;
  }
  for (int i = 0; i < n; ++i) {
    const int fd = static_cast<int>(events_[static_cast<std::size_t>(i)].data.u64);
    if (!contains(fd)) continue;
    const SelectorKey& key = *keys_[fd];
    const int ready = detail::ready_events(events_[static_cast<std::size_t>(i)].events, key.events);
    if (ready != 0) ready_.emplace_back(key, ready);
  }
  return ready_;
}

// ---- Waker --------------------------------------------------------------------------------

Waker::Waker() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!fd_) throw_os_error(errno, "eventfd");
}

Waker::Waker(Counting) : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) {
  if (!fd_) throw_os_error(errno, "eventfd");
}

// Non-blocking eventfd calls neither wait nor meet EINTR.
void Waker::wake() noexcept {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: already awake. Nothing else can fail here.
  [[maybe_unused]] const ssize_t n = ::write(fd_.get(), &one, sizeof one);
}

bool Waker::drain() noexcept {
  std::uint64_t value = 0;
  return ::read(fd_.get(), &value, sizeof value) == static_cast<ssize_t>(sizeof value);
}

}  // namespace socketserver
