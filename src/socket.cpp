// socket.cpp — Socket and the module functions.
//
// The timeout model is CPython's: a socket with a timeout (zero or positive) keeps its
// descriptor in O_NONBLOCK mode; a positive timeout is implemented by trying the call and,
// when it would block, waiting in poll() for what remains of the deadline. A socket without
// a timeout is a plain blocking descriptor. EINTR is retried everywhere.
#include "socketserver/socket.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <exception>
#include <optional>
#include <stdexcept>

#include "socketserver/detail/fd.hpp"
#include "socketserver/detail/peer_wait.hpp"
#include "timeout.hpp"

namespace socketserver {

namespace {
thread_local detail::PeerWaitObserver* t_peer_wait_observer = nullptr;
}  // namespace

detail::PeerWaitObserver* detail::peer_wait_observer() noexcept { return t_peer_wait_observer; }

detail::PeerWaitScope::PeerWaitScope(PeerWaitObserver* observer) noexcept
    : saved_(t_peer_wait_observer) {
  t_peer_wait_observer = observer;
}

detail::PeerWaitScope::~PeerWaitScope() { t_peer_wait_observer = saved_; }

// Waits with the time that remains; rounded up so that a short remainder does not turn into a
// busy 0 ms poll.
bool detail::wait_ready(int fd, short events, const Deadline& deadline) {
  using clock = std::chrono::steady_clock;
  announce_peer_wait();
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      const auto left = *deadline - clock::now();
      if (left <= clock::duration::zero()) return false;
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      wait_ms = ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
    }
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, wait_ms);
    if (rc > 0) return true;  // ready, or an error/hang-up the next call will report
    if (rc == 0) {
      if (deadline && clock::now() >= *deadline) return false;
      continue;
    }
    if (errno != EINTR) throw_os_error(errno, "poll");
  }
}

namespace {

using clock = std::chrono::steady_clock;
using deadline_t = detail::Deadline;
using detail::deadline_for;
using detail::wait_ready;

// The module-wide default timeout in seconds; negative means none (blocking).
std::atomic<double> g_default_timeout{-1.0};

void validate(const Timeout& timeout) {
  if (timeout) detail::check_seconds(timeout->count(), "timeout");
}

bool is_positive(const Timeout& timeout) { return timeout && timeout->count() > 0; }

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// The socket's kind without the creation flags Linux lets callers or into the type: Python's
// `type` attribute drops them (3.7+), and getaddrinfo refuses them as ai_socktype.
int socket_kind(int type) { return type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC); }

// The timeout a socket created with `type` starts with: SOCK_NONBLOCK means 0 (non-blocking),
// as Python's socket(); otherwise the module's default.
Timeout initial_timeout(int type) {
  if ((type & SOCK_NONBLOCK) != 0) return std::chrono::duration<double>(0);
  return getdefaulttimeout();
}

void set_nonblocking(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) throw_os_error(errno, "fcntl(F_GETFL) on fd " + std::to_string(fd));
  const int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) < 0) {
    throw_os_error(errno, "fcntl(F_SETFL) on fd " + std::to_string(fd));
  }
}

// The descriptor's own blocking mode decides the timeout of an adopted descriptor, as in
// Python: O_NONBLOCK means 0, otherwise the module default.
Timeout timeout_for_adopted(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) != 0) return std::chrono::duration<double>(0);
  return getdefaulttimeout();
}

// How a blocking call on a thread with a PeerWaitObserver (detail/peer_wait.hpp) finds out,
// before it sleeps, that it would: by a first try with MSG_DONTWAIT (free when the data is
// there), or by a poll() without waiting where a first try would change the call's result
// (MSG_WAITALL would return what is there). A call that cannot block (the caller's own
// MSG_DONTWAIT, a timeout) or has no observer to tell announces nothing.
enum class Announce { no, by_try, by_poll };

Announce announce_mode(const Timeout& timeout, int flags) {
  if (timeout || (flags & MSG_DONTWAIT) != 0 || detail::peer_wait_observer() == nullptr) {
    return Announce::no;
  }
  return (flags & MSG_WAITALL) != 0 ? Announce::by_poll : Announce::by_try;
}

// One system call, `call(extra_flags)`, with a sleep announced before it begins: with `by_try`
// (Announce::by_try), first without waiting, and when that would block, announced, then again
// as the caller asked.
template <class Call>
ssize_t call_announcing(bool by_try, Call& call) {
  if (!by_try) return call(0);
  ssize_t n = call(MSG_DONTWAIT);
  if (n < 0 && would_block(errno)) {
    detail::announce_peer_wait();
    n = call(0);
  }
  return n;
}

// Runs `call` (a system call returning -1 and errno on failure) under `timeout`, as every
// data-transfer method of a Python socket does. `context` builds the error text lazily.
// `call(extra_flags)` ors extra_flags into its flags; `mode` (announce_mode) says how a sleep
// is announced before it begins.
template <class Call, class Context>
ssize_t run_io(int fd, const Timeout& timeout, short events, Announce mode, Call call,
               Context context) {
  const deadline_t deadline = deadline_for(timeout);
  if (mode == Announce::by_poll) {
    pollfd p{fd, events, 0};
    if (::poll(&p, 1, 0) == 0) detail::announce_peer_wait();
  }
  const bool by_try = mode == Announce::by_try;
  for (;;) {
    const ssize_t n = call_announcing(by_try, call);
    if (n >= 0) return n;
    const int err = errno;
    if (err == EINTR) continue;
    if (would_block(err) && is_positive(timeout)) {
      if (!wait_ready(fd, events, deadline)) throw timeout_error(context());
      continue;
    }
    throw_os_error(err, context());
  }
}

}  // namespace

// The descriptor once makefile() shares it: owned here, by every Socket that holds this block
// (the Socket it came from and one per file), and closed when the last of them lets go
// (Python's _io_refs count). The timeout lives here too, so a change through one applies to all.
struct Socket::Shared {
  detail::Fd fd;
  Timeout timeout;
  Shared(int descriptor, Timeout initial) : fd(descriptor), timeout(initial) {}
};

// ---- construction ------------------------------------------------------------------------

Socket::Socket(int family, int type, int proto)
    : family_(family), type_(socket_kind(type)), proto_(proto), timeout_(initial_timeout(type)) {
  const int flags = SOCK_CLOEXEC | (timeout_ ? SOCK_NONBLOCK : 0);
  fd_ = ::socket(family, type_ | flags, proto);
  if (fd_ < 0) {
    throw_os_error(
        errno, "socket(family=" + std::to_string(family) + ", type=" + std::to_string(type) + ")");
  }
}

Socket::Socket(adopt_tag, int fd, int family, int type, int proto) noexcept
    : fd_(fd), family_(family), type_(type), proto_(proto) {}

Socket Socket::adopt(int fd) {
  int values[3] = {};
  const int names[3] = {SO_DOMAIN, SO_TYPE, SO_PROTOCOL};
  for (int i = 0; i < 3; ++i) {
    socklen_t len = sizeof values[i];
    if (::getsockopt(fd, SOL_SOCKET, names[i], &values[i], &len) < 0) {
      throw_os_error(errno, "adopt fd " + std::to_string(fd));
    }
  }
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) throw_os_error(errno, "adopt fd " + std::to_string(fd));
  Socket s(adopt_tag{}, fd, values[0], values[1], values[2]);
  s.timeout_ = timeout_for_adopted(fd);
  s.apply_timeout_mode();
  return s;
}

Socket::Socket(Socket&& other) noexcept
    : fd_(other.fd_),
      family_(other.family_),
      type_(other.type_),
      proto_(other.proto_),
      timeout_(other.timeout_),
      shared_(std::move(other.shared_)) {
  other.fd_ = -1;
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    family_ = other.family_;
    type_ = other.type_;
    proto_ = other.proto_;
    timeout_ = other.timeout_;
    shared_ = std::move(other.shared_);
    other.fd_ = -1;
  }
  return *this;
}

Socket::~Socket() { close(); }

int Socket::require_open(std::string_view op) const {
  if (fd_ < 0 || (shared_ && !shared_->fd)) {  // closed, or detached through another sharer
    throw socket_error(std::error_code(EBADF, std::system_category()),
                       std::string(op) + " on closed socket");
  }
  return fd_;
}

namespace {
using NameCall = int (*)(int, sockaddr*, socklen_t*);

// ::getsockname or ::getpeername as an Address; nullopt (errno set) when the call fails, and
// when `named_only` and the kernel gave no name (an unnamed Unix socket).
std::optional<Address> query_name(NameCall call, int fd, bool named_only) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (fd < 0 || call(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return std::nullopt;
  if (named_only && len <= sizeof(sa_family_t)) return std::nullopt;
  return Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

// "recv from 127.0.0.1:5000" when connected, else "recv on fd 5".
std::string peer_context(int fd, std::string_view op, std::string_view preposition) {
  if (const auto peer = query_name(::getpeername, fd, true)) {
    return std::string(op) + " " + std::string(preposition) + " " + peer->to_string();
  }
  return std::string(op) + " on fd " + std::to_string(fd);
}

std::string local_context(int fd, std::string_view op) {
  if (const auto local = query_name(::getsockname, fd, true)) {
    return std::string(op) + " on " + local->to_string();
  }
  return std::string(op) + " on fd " + std::to_string(fd);
}

// accept or recvfrom under the socket's timeout model: `call(sockaddr*, socklen_t*)` and the
// address the kernel filled in.
template <class Call>
std::pair<ssize_t, Address> receive_with_address(int fd, const Timeout& timeout, const char* op,
                                                 Announce mode, Call call) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const ssize_t n = run_io(
      fd, timeout, POLLIN, mode,
      [&](int extra_flags) {
        len = sizeof ss;
        return call(reinterpret_cast<sockaddr*>(&ss), &len, extra_flags);
      },
      [&] { return local_context(fd, op); });
  return {n, Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len)};
}
}  // namespace

std::string Socket::describe() const {
  if (fd_ < 0) return "closed socket";
  std::string text = "fd " + std::to_string(fd_);
  if (const auto local = query_name(::getsockname, fd_, true)) text += ", " + local->to_string();
  if (const auto peer = query_name(::getpeername, fd_, true)) text += " -> " + peer->to_string();
  return text;
}

// ---- connection set-up ---------------------------------------------------------------------

void Socket::bind(const Address& address) {
  const int fd = require_open("bind");
  const Address resolved = address.resolve(family_, type_);
  if (::bind(fd, resolved.sockaddr_ptr(), resolved.sockaddr_len()) < 0) {
    throw_os_error(errno, "bind to " + resolved.to_string());
  }
}

void Socket::listen(int backlog) {
  const int fd = require_open("listen");
  if (backlog < 0) backlog = 0;  // as Python
  if (::listen(fd, backlog) < 0) throw_os_error(errno, local_context(fd, "listen"));
}

std::pair<Socket, Address> Socket::accept() {
  const int fd = require_open("accept");
  const Timeout child_timeout = getdefaulttimeout();
  const int flags = SOCK_CLOEXEC | (child_timeout ? SOCK_NONBLOCK : 0);
  auto [n, peer] =
      // accept4 takes no MSG_DONTWAIT, and a listener has no peer of its own: not announced.
      receive_with_address(fd, io_timeout(), "accept", Announce::no,
                           [&](sockaddr* sa, socklen_t* len, int) {
                             return static_cast<ssize_t>(::accept4(fd, sa, len, flags));
                           });
  Socket conn(adopt_tag{}, static_cast<int>(n), family_, type_, proto_);
  conn.timeout_ = child_timeout;
  return {std::move(conn), std::move(peer)};
}

std::optional<std::pair<Socket, Address>> Socket::try_accept(Timeout child_timeout) {
  const int fd = require_open("accept");
  const int flags = SOCK_CLOEXEC | (child_timeout ? SOCK_NONBLOCK : 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (!io_timeout()) {  // a blocking descriptor: accept only what is already there
    pollfd p{fd, POLLIN, 0};
    const int ready = detail::retry_on_eintr([&] { return ::poll(&p, 1, 0); });
    if (ready < 0) throw_os_error(errno, local_context(fd, "accept"));
    if (ready == 0) return std::nullopt;
  }
  const int conn_fd = detail::retry_on_eintr([&] {
    len = sizeof ss;
    return ::accept4(fd, reinterpret_cast<sockaddr*>(&ss), &len, flags);
  });
  if (conn_fd < 0) {
    if (would_block(errno)) return std::nullopt;
    throw_os_error(errno, local_context(fd, "accept"));
  }
  Socket conn(adopt_tag{}, conn_fd, family_, type_, proto_);
  conn.timeout_ = child_timeout;
  return std::pair<Socket, Address>{std::move(conn),
                                    Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len)};
}

namespace {
// connect(2) with Python's timeout rules; returns 0 or the errno. A timeout is ETIMEDOUT.
int connect_errno(int fd, const Address& to, const Timeout& timeout) {
  if (::connect(fd, to.sockaddr_ptr(), to.sockaddr_len()) == 0) return 0;
  int err = errno;
  const bool timed = is_positive(timeout);
  // An interrupted blocking connect goes on in the kernel; a timed one is in progress.
  if (err == EINTR || (err == EINPROGRESS && timed)) {
    if (err == EINTR && timeout && !timed) return EINPROGRESS;  // non-blocking socket
    if (!wait_ready(fd, POLLOUT, deadline_for(timeout))) return ETIMEDOUT;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
  }
  return err;
}
}  // namespace

void Socket::connect(const Address& address) {
  const int fd = require_open("connect");
  const Address resolved = address.resolve(family_, type_);
  const int err = connect_errno(fd, resolved, io_timeout());
  if (err == ETIMEDOUT && is_positive(io_timeout()))
    throw timeout_error("connect to " + resolved.to_string());
  if (err != 0) throw_os_error(err, "connect to " + resolved.to_string());
}

int Socket::connect_ex(const Address& address) {
  const int fd = require_open("connect_ex");
  return connect_errno(fd, address.resolve(family_, type_), io_timeout());
}

// ---- data ------------------------------------------------------------------------------

std::string Socket::recv(std::size_t bufsize, int flags) {
  std::string data(bufsize, '\0');
  const std::size_t n = recv_into(std::span<char>(data), flags);
  data.resize(n);
  return data;
}

std::size_t Socket::recv_into(std::span<char> buffer, int flags) {
  const int fd = require_open("recv");
  if (buffer.empty()) return 0;
  return static_cast<std::size_t>(run_io(
      fd, io_timeout(), POLLIN, announce_mode(io_timeout(), flags),
      [&](int extra_flags) { return ::recv(fd, buffer.data(), buffer.size(), flags | extra_flags); },
      [&] { return peer_context(fd, "recv", "from"); }));
}

std::size_t Socket::send(std::string_view data, int flags) {
  const int fd = require_open("send");
  const Announce mode = announce_mode(io_timeout(), flags);
  const auto context = [&] { return peer_context(fd, "send", "to"); };
  std::size_t sent = static_cast<std::size_t>(run_io(
      fd, io_timeout(), POLLOUT, mode,
      [&](int extra_flags) {
        return ::send(fd, data.data(), data.size(), flags | extra_flags | MSG_NOSIGNAL);
      },
      context));
  // A blocking send on a stream socket hands the kernel all of `data` before it returns; the
  // first try without waiting may have handed it part (a full window): the rest goes as the
  // blocking call would have sent it, after the announcement.
  while (mode == Announce::by_try && type_ == SOCK_STREAM && sent > 0 && sent < data.size()) {
    detail::announce_peer_wait();
    sent += static_cast<std::size_t>(run_io(
        fd, io_timeout(), POLLOUT, Announce::no,
        [&](int) { return ::send(fd, data.data() + sent, data.size() - sent, flags | MSG_NOSIGNAL); },
        context));
  }
  return sent;
}

void Socket::sendall(std::string_view data, int flags) {
  const int fd = require_open("sendall");
  const deadline_t deadline = deadline_for(io_timeout());
  const bool timed = is_positive(io_timeout());
  // A blocking sendall on a thread with a PeerWaitObserver: as run_io.
  const bool announce = announce_mode(io_timeout(), flags) != Announce::no;
  auto send_rest = [&](int extra_flags) {
    return ::send(fd, data.data(), data.size(), flags | extra_flags | MSG_NOSIGNAL);
  };
  while (!data.empty()) {
    const ssize_t n = call_announcing(announce, send_rest);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (would_block(err) && timed) {
      // One deadline for the whole call, as Python's sendall.
      if (!wait_ready(fd, POLLOUT, deadline))
        throw timeout_error(peer_context(fd, "sendall", "to"));
      continue;
    }
    throw_os_error(err, peer_context(fd, "sendall", "to"));
  }
}

std::pair<std::string, Address> Socket::recvfrom(std::size_t bufsize, int flags) {
  std::string data(bufsize, '\0');
  auto [n, from] = recvfrom_into(std::span<char>(data), flags);
  data.resize(n);
  return {std::move(data), std::move(from)};
}

std::pair<std::size_t, Address> Socket::recvfrom_into(std::span<char> buffer, int flags) {
  const int fd = require_open("recvfrom");
  auto [n, from] =
      receive_with_address(fd, io_timeout(), "recvfrom", announce_mode(io_timeout(), flags),
                           [&](sockaddr* sa, socklen_t* len, int extra_flags) {
                             return ::recvfrom(fd, buffer.data(), buffer.size(),
                                               flags | extra_flags, sa, len);
                           });
  return {static_cast<std::size_t>(n), std::move(from)};
}

std::optional<std::size_t> Socket::try_recvfrom_into(std::span<char> buffer, Address& from,
                                                     int flags) {
  const int fd = require_open("recvfrom");
  sockaddr_storage ss;  // the kernel fills `len` bytes; only those are read
  socklen_t len = 0;
  const ssize_t n = detail::retry_on_eintr([&] {
    len = sizeof ss;
    return ::recvfrom(fd, buffer.data(), buffer.size(), flags | MSG_DONTWAIT,
                      reinterpret_cast<sockaddr*>(&ss), &len);
  });
  if (n < 0) {
    const int err = errno;
    if (would_block(err)) return std::nullopt;
    throw_os_error(err, local_context(fd, "recvfrom"));
  }
  from = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return static_cast<std::size_t>(n);
}

namespace {
std::size_t sendto_resolved(int fd, const Timeout& timeout, std::string_view data,
                            const Address& to, int flags) {
  // Datagrams (sendto's use) go whole or not at all: a first try that would block sent none.
  return static_cast<std::size_t>(run_io(
      fd, timeout, POLLOUT, announce_mode(timeout, flags),
      [&](int extra_flags) {
        return ::sendto(fd, data.data(), data.size(), flags | extra_flags | MSG_NOSIGNAL,
                        to.sockaddr_ptr(), to.sockaddr_len());
      },
      [&] { return "sendto " + to.to_string(); }));
}
}  // namespace

std::size_t Socket::sendto(std::string_view data, const Address& address, int flags) {
  const int fd = require_open("sendto");
  // A resolved address (a reply to a sender) is used as it is: no copy per datagram.
  if (address.is_resolved()) return sendto_resolved(fd, io_timeout(), data, address, flags);
  return sendto_resolved(fd, io_timeout(), data, address.resolve(family_, type_), flags);
}

// ---- names and options -------------------------------------------------------------------

Address Socket::getpeername() const {
  const int fd = require_open("getpeername");
  auto peer = query_name(::getpeername, fd, false);
  if (!peer) throw_os_error(errno, "getpeername on fd " + std::to_string(fd));
  return std::move(*peer);
}

Address Socket::getsockname() const {
  const int fd = require_open("getsockname");
  auto local = query_name(::getsockname, fd, false);
  if (!local) throw_os_error(errno, "getsockname on fd " + std::to_string(fd));
  return std::move(*local);
}

namespace {
std::string option_context(std::string_view op, int fd, int level, int optname) {
  return std::string(op) + "(" + std::to_string(level) + ", " + std::to_string(optname) +
         ") on fd " + std::to_string(fd);
}
}  // namespace

int Socket::getsockopt(int level, int optname) const {
  const int fd = require_open("getsockopt");
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, optname, &value, &len) < 0) {
    throw_os_error(errno, option_context("getsockopt", fd, level, optname));
  }
  return value;
}

std::string Socket::getsockopt(int level, int optname, std::size_t buflen) const {
  const int fd = require_open("getsockopt");
  std::string value(buflen, '\0');
  auto len = static_cast<socklen_t>(buflen);
  if (::getsockopt(fd, level, optname, value.data(), &len) < 0) {
    throw_os_error(errno, option_context("getsockopt", fd, level, optname));
  }
  value.resize(len);
  return value;
}

void Socket::setsockopt(int level, int optname, int value) {
  const int fd = require_open("setsockopt");
  if (::setsockopt(fd, level, optname, &value, sizeof value) < 0) {
    throw_os_error(errno, option_context("setsockopt", fd, level, optname));
  }
}

void Socket::setsockopt(int level, int optname, std::string_view value) {
  const int fd = require_open("setsockopt");
  if (::setsockopt(fd, level, optname, value.data(), static_cast<socklen_t>(value.size())) < 0) {
    throw_os_error(errno, option_context("setsockopt", fd, level, optname));
  }
}

// ---- ending ----------------------------------------------------------------------------

void Socket::shutdown(int how) {
  const int fd = require_open("shutdown");
  if (::shutdown(fd, how) < 0) throw_os_error(errno, peer_context(fd, "shutdown", "of"));
}

void Socket::close() noexcept {
  if (shared_) {
    shared_.reset();  // the last sharer's ~Shared closes the descriptor
  } else if (fd_ >= 0) {
    detail::close_fd(fd_);
  }
  fd_ = -1;
}

int Socket::detach() noexcept {
  int fd = fd_;
  if (shared_) {
    // As Python: the files made by makefile() fail from now on (EBADF); nobody closes it.
    fd = shared_->fd.release();
    shared_.reset();
  }
  fd_ = -1;
  return fd;
}

Socket Socket::share() {
  if (!shared_) shared_ = std::make_shared<Shared>(fd_, timeout_);
  Socket file(adopt_tag{}, fd_, family_, type_, proto_);
  file.timeout_ = io_timeout();
  file.shared_ = shared_;
  return file;
}

const Timeout& Socket::io_timeout() const noexcept { return shared_ ? shared_->timeout : timeout_; }

// ---- blocking and timeouts ---------------------------------------------------------------

void Socket::setblocking(bool flag) {
  settimeout(flag ? Timeout() : Timeout(std::chrono::duration<double>(0)));
}

bool Socket::getblocking() const noexcept { return !(io_timeout() && io_timeout()->count() == 0); }

void Socket::settimeout(Timeout timeout) {
  validate(timeout);
  (void)require_open("settimeout");
  timeout_ = timeout;
  if (shared_) shared_->timeout = timeout;
  apply_timeout_mode();
}

void Socket::settimeout(double seconds) {
  settimeout(Timeout(std::chrono::duration<double>(seconds)));
}

void Socket::apply_timeout_mode() {
  if (fd_ >= 0) set_nonblocking(fd_, io_timeout().has_value());
}

// ---- module functions ----------------------------------------------------------------------

Timeout getdefaulttimeout() noexcept {
  const double seconds = g_default_timeout.load(std::memory_order_relaxed);
  if (seconds < 0) return std::nullopt;
  return std::chrono::duration<double>(seconds);
}

void setdefaulttimeout(Timeout timeout) {
  validate(timeout);
  g_default_timeout.store(timeout ? timeout->count() : -1.0, std::memory_order_relaxed);
}

std::pair<Socket, Socket> socketpair(int family, int type, int proto) {
  int fds[2] = {-1, -1};
  const Timeout timeout = initial_timeout(type);
  const int kind = socket_kind(type);
  const int flags = SOCK_CLOEXEC | (timeout ? SOCK_NONBLOCK : 0);
  if (::socketpair(family, kind | flags, proto, fds) < 0) throw_os_error(errno, "socketpair");
  std::pair<Socket, Socket> pair{Socket(Socket::adopt_tag{}, fds[0], family, kind, proto),
                                 Socket(Socket::adopt_tag{}, fds[1], family, kind, proto)};
  pair.first.timeout_ = timeout;
  pair.second.timeout_ = timeout;
  return pair;
}

Socket fromfd(int fd, int family, int type, int proto) {
  detail::Fd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy) throw_os_error(errno, "fromfd " + std::to_string(fd));
  Socket s = Socket::adopt(copy.get());  // throws for a non-socket: the copy closes with `copy`
  (void)copy.release();
  s.family_ = family;
  s.type_ = socket_kind(type);
  s.proto_ = proto;
  if ((type & SOCK_NONBLOCK) != 0) s.settimeout(Timeout(std::chrono::duration<double>(0)));
  return s;
}

}  // namespace socketserver
