// socket.hpp — Python's socket.socket and the module's functions, in C++.
//
//   Python                                   C++
//   s = socket(AF_INET, SOCK_STREAM)         Socket s(AF_INET, SOCK_STREAM);
//   s.bind(("", 21567))                      s.bind({"", 21567});
//   s.listen(5)                              s.listen(5);
//   conn, addr = s.accept()                  auto [conn, addr] = s.accept();
//   data = conn.recv(1024)                   std::string data = conn.recv(1024);
//   if not data: break                       if (data.empty()) break;
//   conn.send(data)                          conn.send(data);
//   s.settimeout(None) / (0) / (2.5)         s.settimeout(std::nullopt) / (0s) / (2.5s)
//   socket.create_connection(("h", 80))      create_connection({"h", 80})
//
// Semantics are Python's: recv returns "" at end of stream; a positive timeout makes every
// blocking call throw timeout_error when it runs out (sendall's covers the whole call); a zero
// timeout makes calls that would block throw blocking_io_error; EINTR is retried with the time
// that remains; send never raises SIGPIPE (MSG_NOSIGNAL) and the library never touches the
// process's signal handling; every descriptor is created close-on-exec.
//
// Thread-safety: a Socket is one object with one owner. Distinct Sockets may be used from
// distinct threads freely; one Socket may be used from two threads at once only for a recv in
// one and a send in the other (the kernel allows it; the object holds no per-call state), and
// never while it is being closed, moved or having its timeout changed.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "socketserver/address.hpp"
#include "socketserver/errors.hpp"

namespace socketserver {

class SocketFile;  // stream.hpp: what makefile() returns

/// A socket timeout: std::nullopt blocks forever, 0s is non-blocking, a positive duration
/// bounds each call. Any std::chrono duration converts: 0s, 50ms, 2.5s.
using Timeout = std::optional<std::chrono::duration<double>>;

/// Python's socket.socket: the RAII owner of one descriptor. Move-only; the descriptor is
/// closed by close() or the destructor. Every method throws socket_error (or the subclass
/// matching the errno) naming the operation and the address, and EBADF once closed.
class Socket {
 public:
  /// Python's socket(family, type, proto): a new close-on-exec socket, with the module's
  /// default timeout (setdefaulttimeout). `type` may carry Linux's SOCK_NONBLOCK and
  /// SOCK_CLOEXEC: as in Python, type() reports the kind without them, and SOCK_NONBLOCK makes
  /// the timeout 0 (non-blocking; calls that would block throw blocking_io_error).
  explicit Socket(int family = AF_INET, int type = SOCK_STREAM, int proto = 0);
  /// Takes ownership of an open descriptor (Python's socket(fileno=fd)); family, type and
  /// protocol are read from the kernel. Throws socket_error when `fd` is not a socket.
  static Socket adopt(int fd);
  /// A Socket that owns no descriptor (fileno() -1, every operation throws EBADF), like a
  /// closed one: a placeholder for a socket to come (e.g. Request::connection of a datagram).
  static Socket none() noexcept { return Socket(adopt_tag{}, -1, 0, 0, 0); }

  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  /// Closes the descriptor if still open; never throws.
  ~Socket();

  // ---- connection set-up ---------------------------------------------------------------
  /// Python's bind(address). A host name is resolved for this socket's family.
  void bind(const Address& address);
  /// Python's listen(backlog); the default is SOMAXCONN (Python's: min(SOMAXCONN, 128)).
  void listen(int backlog = SOMAXCONN);
  /// Python's accept() -> (conn, address). The new socket is close-on-exec and takes the
  /// module's default timeout, as Python's does.
  std::pair<Socket, Address> accept();
  /// One accept attempt that does not wait, whatever this socket's timeout: nothing when no
  /// connection is pending (no exception: an event loop asks until the queue is empty). On a
  /// blocking socket it polls first, so it may wait only if another thread takes the pending
  /// connection in between. The new socket is close-on-exec and takes `child_timeout` (0:
  /// non-blocking straight from accept4, no further system call). Other errors throw as
  /// accept() does.
  std::optional<std::pair<Socket, Address>> try_accept(Timeout child_timeout);
  /// Python's connect(address); honours the timeout (timeout_error when it runs out).
  void connect(const Address& address);
  /// Python's connect_ex(address): 0 on success, else the errno (no exception for the
  /// connection's own failure; name resolution still throws gai_error).
  int connect_ex(const Address& address);

  // ---- data ----------------------------------------------------------------------------
  /// Python's recv(bufsize, flags): at most `bufsize` bytes; "" at end of stream.
  std::string recv(std::size_t bufsize, int flags = 0);
  /// Python's recv_into(buffer, nbytes, flags): bytes received into `buffer` (0 at end).
  std::size_t recv_into(std::span<char> buffer, int flags = 0);
  /// Python's send(data, flags): the number of bytes sent (may be fewer than asked).
  std::size_t send(std::string_view data, int flags = 0);
  /// Python's sendall(data, flags): sends everything or throws; a positive timeout bounds the
  /// whole call, not each send.
  void sendall(std::string_view data, int flags = 0);
  /// Python's recvfrom(bufsize, flags) -> (data, address).
  std::pair<std::string, Address> recvfrom(std::size_t bufsize, int flags = 0);
  /// Python's recvfrom_into(buffer, nbytes, flags) -> (nbytes, address).
  std::pair<std::size_t, Address> recvfrom_into(std::span<char> buffer, int flags = 0);
  /// Non-blocking "try once" recvfrom_into (no Python twin; for loops that drain a queue after
  /// a readiness wake-up): one attempt that never waits, whatever the timeout. Returns
  /// std::nullopt when nothing is queued (where recvfrom_into would wait, or throw
  /// blocking_io_error), else the byte count (with MSG_TRUNC, a datagram's real length) and
  /// sets `from` to the sender. Other errors throw as recvfrom_into's do; EINTR is retried.
  std::optional<std::size_t> try_recvfrom_into(std::span<char> buffer, Address& from,
                                               int flags = 0);
  /// Python's sendto(data, address) / sendto(data, flags, address): bytes sent.
  std::size_t sendto(std::string_view data, const Address& address, int flags = 0);

  // ---- names and options ---------------------------------------------------------------
  /// Python's getpeername() / getsockname().
  [[nodiscard]] Address getpeername() const;
  [[nodiscard]] Address getsockname() const;
  /// Python's getsockopt(level, optname): the option as an int.
  [[nodiscard]] int getsockopt(int level, int optname) const;
  /// Python's getsockopt(level, optname, buflen): the raw option bytes.
  [[nodiscard]] std::string getsockopt(int level, int optname, std::size_t buflen) const;
  /// Python's setsockopt(level, optname, value) with an int or raw bytes.
  void setsockopt(int level, int optname, int value);
  void setsockopt(int level, int optname, std::string_view value);

  // ---- ending --------------------------------------------------------------------------
  /// Python's shutdown(how): SHUT_RD, SHUT_WR or SHUT_RDWR.
  void shutdown(int how);
  /// Python's close(): closes the descriptor; a second close does nothing; fileno() is -1
  /// afterwards. Never throws: Linux releases the descriptor whatever close(2) reports. While
  /// files from makefile() are open the descriptor stays open for them and closes with the
  /// last (Python's _io_refs); this Socket reads as closed at once all the same (Python's
  /// socket object would still answer fileno()).
  void close() noexcept;
  /// Python's detach(): gives up ownership and returns the descriptor (-1 if closed). Files
  /// from makefile() fail with EBADF afterwards, as Python's do.
  int detach() noexcept;

  // ---- blocking and timeouts -----------------------------------------------------------
  /// Python's setblocking(flag): true = settimeout(nullopt), false = settimeout(0s).
  void setblocking(bool flag);
  /// Python's getblocking(): false when the timeout is 0.
  [[nodiscard]] bool getblocking() const noexcept;
  /// Python's settimeout(value). Throws std::invalid_argument for a negative or NaN value and
  /// std::overflow_error above 1e9 seconds (Python's OverflowError; the clock cannot hold more).
  void settimeout(Timeout timeout);
  /// Python's settimeout(seconds) with a plain number of seconds.
  void settimeout(double seconds);
  /// Python's gettimeout().
  [[nodiscard]] Timeout gettimeout() const noexcept { return io_timeout(); }

  // ---- descriptors and attributes ------------------------------------------------------
  /// Python's fileno(): the descriptor, -1 after close() or detach().
  [[nodiscard]] int fileno() const noexcept { return fd_; }
  /// Python's family, type and proto attributes (type without SOCK_NONBLOCK / SOCK_CLOEXEC).
  [[nodiscard]] int family() const noexcept { return family_; }
  [[nodiscard]] int type() const noexcept { return type_; }
  [[nodiscard]] int proto() const noexcept { return proto_; }
  /// Python's makefile(mode, buffering): a buffered file over this socket ("r", "w", "rw";
  /// 'b' is accepted and ignored: bytes are std::string; without 'w' it reads, as Python).
  /// `buffering` 0 makes writes unbuffered. The file shares the descriptor with this Socket
  /// (Python's reference from the file to the socket): the Socket may be closed, moved or
  /// destroyed while the file is open, and the descriptor closes when this Socket and every
  /// file made from it have closed. The timeout is shared too (settimeout on the Socket
  /// applies to its files). For the thread-safety rule above, a Socket and its files count as
  /// one object, except that closing or destroying one while another is in use is safe.
  /// Defined in stream.cpp; include socketserver/stream.hpp to use it.
  [[nodiscard]] SocketFile makefile(std::string_view mode = "r",
                                    std::optional<std::size_t> buffering = std::nullopt);

  /// "fd 5, 127.0.0.1:21567 -> 127.0.0.1:40000" style description for messages.
  [[nodiscard]] std::string describe() const;

 private:
  friend Socket fromfd(int fd, int family, int type, int proto);
  friend class SocketFile;  // share()
  struct Shared;            // the descriptor and timeout once makefile() shares them
  friend std::pair<Socket, Socket> socketpair(int family, int type, int proto);
  struct adopt_tag {};
  Socket(adopt_tag, int fd, int family, int type, int proto) noexcept;
  void apply_timeout_mode();
  [[nodiscard]] int require_open(std::string_view op) const;
  // A Socket for a file from makefile(): same descriptor, shared ownership (see Shared).
  [[nodiscard]] Socket share();
  [[nodiscard]] const Timeout& io_timeout() const noexcept;  // timeout_, or the shared one

  int fd_ = -1;
  int family_ = 0;
  int type_ = 0;
  int proto_ = 0;
  Timeout timeout_;
  std::shared_ptr<Shared> shared_;  // set once makefile() shares the descriptor
};

/// Python's socket.getdefaulttimeout() / setdefaulttimeout(): the timeout new sockets start
/// with (std::nullopt: blocking). Thread-safe.
Timeout getdefaulttimeout() noexcept;
void setdefaulttimeout(Timeout timeout);

/// Python's socket.create_connection(address, timeout, source_address): resolves the host,
/// tries every address in turn, returns the first socket that connects, else throws the
/// last error (naming the address tried). Without `timeout`, the default timeout applies.
Socket create_connection(const Address& address);
Socket create_connection(const Address& address, Timeout timeout,
                         const std::optional<Address>& source_address = std::nullopt);

/// Options of create_server, with Python's defaults.
struct CreateServerOptions {
  int family = AF_INET;         ///< AF_INET, AF_INET6 or AF_UNIX
  int backlog = SOMAXCONN;      ///< listen backlog
  bool reuse_port = false;      ///< SO_REUSEPORT
  bool dualstack_ipv6 = false;  ///< AF_INET6 socket that also accepts IPv4 (IPV6_V6ONLY off)
};
/// Python's socket.create_server(address, family, backlog, reuse_port, dualstack_ipv6): a
/// bound, listening TCP socket with SO_REUSEADDR set. Throws std::invalid_argument for
/// dualstack without IPv6 support or family.
Socket create_server(const Address& address, const CreateServerOptions& options = {});
/// Python's socket.has_dualstack_ipv6().
bool has_dualstack_ipv6();
/// Python's socket.socketpair(family, type, proto): two connected sockets (SOCK_NONBLOCK in
/// `type`: both with timeout 0, as the constructor).
std::pair<Socket, Socket> socketpair(int family = AF_UNIX, int type = SOCK_STREAM, int proto = 0);
/// Python's socket.fromfd(fd, family, type, proto): a Socket owning a duplicate of `fd`
/// (the caller keeps `fd`); SOCK_NONBLOCK in `type` makes its timeout 0, as the constructor.
Socket fromfd(int fd, int family, int type, int proto = 0);

}  // namespace socketserver
