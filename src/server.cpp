// server.cpp — BaseServer's loop and the concrete servers.
#include "socketserver/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <typeinfo>

#include "posix_util.hpp"
#include "report.hpp"
#include "socketserver/activation.hpp"
#include "socketserver/ssl.hpp"
#include "timeout.hpp"
#include "tls_hooks.hpp"

namespace socketserver {

using steady = std::chrono::steady_clock;

// ---- BaseServer ---------------------------------------------------------------------------

BaseServer::BaseServer(Address server_address_, RequestHandlerClass handler_class,
                       const ServerOptions& options)
    : server_address(std::move(server_address_)),
      request_handler_class(std::move(handler_class)),
      timeout(options.timeout),
      idle_timeout(options.idle_timeout),
      request_timeout(options.request_timeout),
      ssl_context(options.ssl_context),
      handshake_timeout(options.handshake_timeout),
      proxy_protocol(options.proxy_protocol),
      trusted_proxies(options.trusted_proxies),
      proxy_header_timeout(options.proxy_header_timeout),
      reporter_(std::make_unique<detail::Reporter>()) {
  // Checked here, as the reactor checks ListenOptions before binding: a bad value is the
  // caller's mistake, found at once rather than at the first request.
  if (timeout) detail::check_seconds(timeout->count(), "ServerOptions::timeout");
  if (idle_timeout)
    detail::check_seconds(idle_timeout->count(), "ServerOptions::idle_timeout", false);
  if (request_timeout) {
    detail::check_seconds(request_timeout->count(), "ServerOptions::request_timeout", false);
  }
  if (handshake_timeout) {
    detail::check_seconds(handshake_timeout->count(), "ServerOptions::handshake_timeout", false);
  }
  if (proxy_header_timeout) {
    detail::check_seconds(proxy_header_timeout->count(), "ServerOptions::proxy_header_timeout",
                          false);
  }
  if (ssl_context && ssl_context->protocol() != PROTOCOL_TLS_SERVER) {
    throw std::invalid_argument("ServerOptions::ssl_context must be a PROTOCOL_TLS_SERVER context");
  }
}

Socket& Request::plain_socket() noexcept { return tls ? tls->socket() : connection; }

BaseServer::~BaseServer() = default;

void BaseServer::request_shutdown() noexcept {
  gate_.request_stop();
  waker_.wake();
}

void BaseServer::interrupt_inline_request() noexcept {
  // The loop clears the descriptor before the request is closed, so the number cannot have
  // been reused while it is stored here.
  const int fd = inline_request_fd_.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RD);
}

void BaseServer::shutdown() {
  request_shutdown();
  gate_.wait_stopped();
}

void BaseServer::serve_forever(std::chrono::duration<double> poll_interval) {
  gate_.enter();
  struct Finally {
    BaseServer* self;
    ~Finally() {
      self->loop_stopping();  // before shutdown() returns: nothing is accepted after it
      self->gate_.leave();
    }
  } finally{this};
  loop_started();

  Selector selector;
  selector.register_(waker_.fileno(), EVENT_READ);
  bool listening = false;
  while (!gate_.stop_requested()) {
    // Wait on the listener only while accepting: a paused server (limits, back-off) waits on
    // the waker and wakes every poll_interval (or sooner, to end a back-off) instead.
    const bool want_listener = accepting() && steady::now() >= accept_resume_;
    if (want_listener != listening) {
      if (want_listener) {
        selector.register_(fileno(), EVENT_READ);
      } else {
        selector.unregister(fileno());
      }
      listening = want_listener;
    }
    Timeout wait = poll_interval;
    if (!listening) {
      const auto resume = accept_resume_ - steady::now();
      if (resume > steady::duration::zero() && resume < *wait) wait = resume;
      // A mixin that does not wake the loop when it may accept again is asked every 20 ms.
      if (!accepting() && !wakes_loop_to_accept() && *wait > std::chrono::milliseconds(20))
        wait = std::chrono::milliseconds(20);
    }
    bool listener_ready = false;
    for (const auto& [key, events] : selector.select(wait)) {
      if (key.fd == waker_.fileno()) {
        waker_.drain();
      } else {
        listener_ready = true;
      }
    }
    if (gate_.stop_requested()) break;
    if (listener_ready) {
      // Datagram servers take what is already queued in one go (one wake-up for a burst);
      // next_request_queued() ends the burst when the queue is empty, without the exception
      // get_request would throw. Stream servers say false: one per wake-up, as Python.
      for (int i = 0; i < 32 && !gate_.stop_requested(); ++i) {
        if (i > 0 && !next_request_queued()) break;
        if (!handle_request_noblock() || !accepting()) break;
      }
    }
    service_actions();
  }
}

bool BaseServer::wait_readable(Timeout wait) {
  Selector selector;
  selector.register_(fileno(), EVENT_READ);
  return !selector.select(wait).empty();
}

void BaseServer::handle_request() {
  // Python: the smaller of the socket's timeout and the server's, with a deadline.
  if (timeout) detail::check_seconds(timeout->count(), "timeout");
  Timeout wait = socket_timeout();
  if (!wait || (timeout && *timeout < *wait)) wait = timeout;
  std::optional<steady::time_point> deadline;
  if (wait) deadline = steady::now() + detail::to_steady(*wait);
  for (;;) {
    if (wait_readable(wait)) {
      handle_request_noblock();
      return;
    }
    if (deadline) {
      const auto left = *deadline - steady::now();
      if (left <= steady::duration::zero()) {
        handle_timeout();
        return;
      }
      wait = std::chrono::duration<double>(left);
    }
  }
}

void BaseServer::note_accept_error(const socket_error& error) {
  using Action = detail::AcceptPolicy::Action;
  const Action action = accept_policy_.failed(error.errno_value());
  if (action == Action::back_off) accept_resume_ = steady::now() + accept_policy_.pause();
  if (action != Action::retry) report("accept", accept_policy_.describe(error.what(), action));
}

bool BaseServer::handle_request_noblock() {
  // get_request's pair is built in place (no Request and Address moved per request). Only
  // get_request's own socket_error means "no request"; one thrown later goes on to the caller.
  bool got_request = false;
  try {
    auto [request, client_address] = get_request();
    got_request = true;
    accept_policy_.succeeded();
    note_request_accepted();
    if (admit_request(request, client_address)) {
      try {
        process_request(request, client_address);
      } catch (...) {
        handle_error(request, client_address);
        shutdown_request(request);
      }
    }
  } catch (const socket_error& error) {
    if (got_request) throw;
    note_accept_error(error);
    return false;
  } catch (...) {
    if (got_request) throw;
    // Anything else from get_request concerns that one request: nothing a peer sends or is
    // may end the loop. Reported (rate-limited), and the loop goes on.
    report("accept", "get_request: " + detail::current_exception_text());
    return false;
  }
  return true;
}

void BaseServer::shutdown_quietly(Request& request) noexcept {
  try {
    shutdown_request(request);
  } catch (...) {  // NOLINT(bugprone-empty-catch): closing cannot usefully fail; never let it
  }                // end a worker, a child or the loop
}

ServerCounters BaseServer::counters() const {
  return ServerCounters{current_requests_.load(std::memory_order_relaxed),
                        total_requests_.load(std::memory_order_relaxed),
                        queued_requests_.load(std::memory_order_relaxed),
                        refused_requests_.load(std::memory_order_relaxed)};
}

bool BaseServer::verify_request(Request&, const Address&) { return true; }

void BaseServer::process_request(Request& request, const Address& client_address) {
  // Served in the loop's own thread: counted in counters().current, and its connection known
  // to interrupt_inline_request (a datagram has none: nothing to shut down, the fd stays -1).
  struct Inline {
    BaseServer& server;
    int fd;
    Inline(BaseServer& s, int f) : server(s), fd(f) {
      if (fd >= 0) server.inline_request_fd_.store(fd);
      server.note_request_started();
    }
    ~Inline() {
      if (fd >= 0) server.inline_request_fd_.store(-1);
      server.note_request_finished();
    }
    Inline(const Inline&) = delete;
    Inline& operator=(const Inline&) = delete;
  };
  {
    const Inline served(*this, request.connection.fileno());
    finish_request(request, client_address);
  }
  shutdown_request(request);
}

void BaseServer::finish_request(Request& request, const Address& client_address) {
  if (proxy_protocol && !request.proxy && request.connection.fileno() >= 0) {
    receive_proxy_header(request, client_address);
  }
  if (ssl_context && !request.tls && request.connection.fileno() >= 0) start_tls(request);
  const bool named = request.proxy && request.proxy->source;
  request_handler_class(request, named ? *request.proxy->source : client_address, *this);
}

void BaseServer::receive_proxy_header(Request& request, const Address& peer) {
  if (!is_trusted_proxy(peer, trusted_proxies)) {
    throw proxy_header_error("PROXY header from " + peer.to_string(),
                             "not a trusted proxy (ServerOptions::trusted_proxies)");
  }
  const auto limit = proxy_header_timeout.value_or(std::chrono::duration<double>(1e9));
  request.proxy = recv_proxy_header(request.connection, limit);
  request.balancer = peer;
}

void BaseServer::start_tls(Request& request) {
  // The SSLSocket owns the descriptor from here on, also when the handshake fails, so that
  // shutdown_request closes it in order (close_notify is sent only after a handshake).
  const Timeout before = request.connection.gettimeout();
  if (handshake_timeout) request.connection.settimeout(handshake_timeout);
  // SSLSocket through the hooks (tls_hooks.hpp): this file is in every server program, TLS
  // or not, and must not link OpenSSL.
  const detail::TlsHooks& tls = detail::tls_hooks();
  request.tls = tls.wrap_server_socket(*ssl_context, std::move(request.connection));
  tls.do_handshake(*request.tls);  // throws: handle_error reports it, shutdown_request closes
  request.tls->settimeout(before);
}

void BaseServer::shutdown_request(Request& request) { close_request(request); }

void BaseServer::close_request(Request&) {}

void BaseServer::handle_error(Request& request, const Address& client_address) {
  // Behind a balancer: the real client, and the balancer it came through.
  std::string who = client_address.to_string();
  if (request.proxy && request.proxy->source && request.balancer) {
    who = request.proxy->source->to_string() + " (via " + request.balancer->to_string() + ")";
  }
  // What a peer does every day (resets, leaves mid-reply, goes quiet, sends too long a line) is
  // one line, rate-limited per kind with a count: 900 resets are not 3,600 lines of stderr.
  if (const char* kind = detail::expected_failure_kind()) {
    report(kind, "request from " + who + " failed: " + detail::current_exception_text());
    return;
  }
  const std::string dashes(40, '-');
  const std::string text = dashes + "\nException occurred during processing of request from " +
                           who + "\n" + detail::current_exception_text() + "\n" + dashes + "\n";
  std::fflush(stderr);
  detail::write_console(STDERR_FILENO, text);
}

void BaseServer::report(const char* kind, const std::string& line) {
  reporter_->report(kind, line);
}

void BaseServer::report_made(const char* kind, std::string (*make)(const void*),
                             const void* context) {
  reporter_->report(kind, make, context);
}

// ---- TCPServer ------------------------------------------------------------------------------

namespace {
int family_for(const Address& address, const ServerOptions& options, int fallback) {
  if (options.address_family) return *options.address_family;
  if (address.family() == AF_INET6 || address.family() == AF_UNIX) return address.family();
  return fallback;
}

// ServerOptions::listen_fd, checked: of `type`, and AF_UNIX for a Unix server (`family`), the
// family asked for in options, or else any.
Socket adopted_socket(const ServerOptions& options, int family, int type) {
  const int expected = options.address_family.value_or(family == AF_UNIX ? AF_UNIX : AF_UNSPEC);
  return adopt_listening_socket(options.listen_fd, type, expected);
}
}  // namespace

TCPServer::TCPServer(const Address& server_address_, RequestHandlerClass handler_class,
                     const ServerOptions& options)
    : TCPServer(server_address_, std::move(handler_class), options,
                family_for(server_address_, options, AF_INET), SOCK_STREAM, true) {
  bind_and_activate(options);
}

TCPServer::TCPServer(const Address& server_address_, RequestHandlerClass handler_class,
                     const ServerOptions& options, int family, int type, bool reuse_address_default)
    : BaseServer(server_address_, std::move(handler_class), options),
      address_family(family),
      socket_type(type),
      allow_reuse_address(options.allow_reuse_address.value_or(reuse_address_default)),
      allow_reuse_port(options.allow_reuse_port),
      request_queue_size(options.request_queue_size),
      socket(options.listen_fd >= 0 ? adopted_socket(options, family, type)
                                    : Socket(family, type)) {
  if (options.listen_fd >= 0) {
    socket.settimeout(getdefaulttimeout());  // as a socket the server makes itself
    address_family = socket.family();
    server_address = socket.getsockname();
  }
}

TCPServer::~TCPServer() = default;

void TCPServer::bind_and_activate(const ServerOptions& options) {
  if (!options.bind_and_activate || options.listen_fd >= 0) return;
  try {
    server_bind();
    server_activate();
  } catch (...) {
    server_close();
    throw;
  }
}

void TCPServer::server_bind() {
  if (allow_reuse_address) socket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  if (allow_reuse_port && (address_family == AF_INET || address_family == AF_INET6)) {
    socket.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  }
  socket.bind(server_address);
  server_address = socket.getsockname();
}

void TCPServer::server_activate() { socket.listen(request_queue_size); }

void TCPServer::server_close() { socket.close(); }

std::pair<Request, Address> TCPServer::get_request() {
  auto [conn, addr] = socket.accept();
  std::pair<Request, Address> got;
  got.first.connection = std::move(conn);
  got.second = std::move(addr);
  return got;
}

void TCPServer::shutdown_request(Request& request) {
  // Python: an explicit SHUT_WR so the client sees the end of the reply at once; errors (the
  // client already gone) are ignored. Over TLS, close_notify goes first.
  if (request.tls) {
    try {
      detail::tls_hooks().shutdown(*request.tls, SHUT_WR);
    } catch (const socket_error&) {  // NOLINT(bugprone-empty-catch): the client is gone
    }
  } else if (request.connection.fileno() >= 0) {
    ::shutdown(request.connection.fileno(), SHUT_WR);
  }
  close_request(request);
}

void TCPServer::close_request(Request& request) {
  if (request.tls) detail::tls_hooks().close(*request.tls);
  request.connection.close();
}

// ---- UDPServer ------------------------------------------------------------------------------

UDPServer::UDPServer(const Address& server_address_, RequestHandlerClass handler_class,
                     const ServerOptions& options)
    : UDPServer(server_address_, std::move(handler_class), options,
                family_for(server_address_, options, AF_INET)) {
  bind_and_activate(options);
}

namespace {
// The largest datagram the kernel delivers on a socket of `family` (see max_packet_size in
// server.hpp): IPv4 65,535 - 20 (IP header) - 8 (UDP header); IPv6 65,535 - 8 (the payload
// length counts the UDP header; Linux sends no UDP jumbograms); a Unix datagram must fit the
// sender's SO_SNDBUF, an int, less 32 bytes (unix_dgram_sendmsg).
std::size_t largest_datagram(int family) {
  switch (family) {
    case AF_INET:
      return 65507;
    case AF_INET6:
      return 65527;
    default:
      return static_cast<std::size_t>(INT_MAX) - 32;
  }
}

// The receive buffer's size for `size` = max_packet_size: never more than a datagram of
// `family` can be (the kernel delivers nothing larger), so Python's habit of writing 65536, or
// SIZE_MAX (which used to wrap the buffer to 0 bytes), changes nothing a peer can see.
std::size_t effective_packet_size(std::size_t size, int family) {
  return std::min(size, largest_datagram(family));
}
}  // namespace

UDPServer::UDPServer(const Address& server_address_, RequestHandlerClass handler_class,
                     const ServerOptions& options, int family)
    : TCPServer(server_address_, std::move(handler_class), options, family, SOCK_DGRAM, false),
      max_packet_size(options.max_packet_size) {
  if (ssl_context) {
    throw std::invalid_argument("ServerOptions::ssl_context: TLS needs a stream server (no DTLS)");
  }
  if (proxy_protocol) {
    throw std::invalid_argument("ServerOptions::proxy_protocol: needs a stream server");
  }
}

std::span<char> UDPServer::receive_buffer() {
  // max_packet_size is a public attribute (Python's): read again, as it may have changed. One
  // byte more than allowed, with MSG_TRUNC: a datagram longer than max_packet_size is seen as
  // such (the kernel reports its real length) and dropped whole instead of cut.
  buffer_.resize(effective_packet_size(max_packet_size, socket.family()) + 1);
  return std::span<char>(buffer_);
}

std::pair<Request, Address> UDPServer::get_request() {
  got_here_ = true;
  std::pair<Request, Address> got;
  std::size_t n = 0;
  if (ahead_held_) {  // received by next_request_queued(), in buffer_
    ahead_held_ = false;
    if (ahead_error_) std::rethrow_exception(std::exchange(ahead_error_, nullptr));
    n = ahead_size_;
    got.second = std::move(ahead_from_);
  } else {
    // One try, never a wait: the loop asks again after each datagram of a burst, and a timeout
    // the user set on the socket must not make it wait here. None queued: blocking_io_error,
    // which the loop takes as "no request".
    const std::optional<std::size_t> received =
        socket.try_recvfrom_into(receive_buffer(), got.second, MSG_TRUNC);
    if (!received) throw_os_error(EAGAIN, "recvfrom on " + server_address.to_string());
    n = *received;
  }
  if (n > max_packet_size) {
    report("datagram", "dropped a datagram of " + std::to_string(n) + " bytes from " +
                           got.second.to_string() + " (max_packet_size is " +
                           std::to_string(max_packet_size) + ")");
    throw socket_error(std::error_code(EMSGSIZE, std::system_category()),
                       "recvfrom " + got.second.to_string());
  }
  got.first.packet.assign(buffer_.data(), n);
  got.first.socket = &socket;
  return got;
}

bool UDPServer::next_request_queued() {
  // The datagram received ahead is handed out by UDPServer::get_request only: when the last
  // request did not come through it (an override that receives by other means), or did not
  // take the one held, get_request is asked directly, as Python's loop would.
  if (!std::exchange(got_here_, false) || ahead_held_) return true;
  try {
    const std::optional<std::size_t> received =
        socket.try_recvfrom_into(receive_buffer(), ahead_from_, MSG_TRUNC);
    if (!received) return false;
    ahead_size_ = *received;
  } catch (const socket_error&) {  // get_request throws it, as if it had met it itself
    ahead_error_ = std::current_exception();
  }
  ahead_held_ = true;
  return true;
}

// ---- Unix servers ---------------------------------------------------------------------------

namespace {
// The filesystem path a bound Unix address created ("" for abstract or unnamed ones).
std::string created_socket_file(const Address& bound) {
  if (bound.family() != AF_UNIX || bound.is_abstract()) return {};
  return bound.path();
}

}  // namespace

UnixStreamServer::UnixStreamServer(const Address& server_address_,
                                   RequestHandlerClass handler_class, const ServerOptions& options)
    : TCPServer(server_address_, std::move(handler_class), options,
                options.address_family.value_or(AF_UNIX), SOCK_STREAM, false) {
  bind_and_activate(options);
}

UnixStreamServer::~UnixStreamServer() { detail::remove_socket_file(created_file_); }

void UnixStreamServer::server_bind() {
  TCPServer::server_bind();
  created_file_ = detail::bound_socket_file(created_socket_file(server_address));
}

void UnixStreamServer::server_close() {
  TCPServer::server_close();
  detail::remove_socket_file(created_file_);
}

UnixDatagramServer::UnixDatagramServer(const Address& server_address_,
                                       RequestHandlerClass handler_class,
                                       const ServerOptions& options)
    : UDPServer(server_address_, std::move(handler_class), options,
                options.address_family.value_or(AF_UNIX)) {
  bind_and_activate(options);
}

UnixDatagramServer::~UnixDatagramServer() { detail::remove_socket_file(created_file_); }

void UnixDatagramServer::server_bind() {
  UDPServer::server_bind();
  created_file_ = detail::bound_socket_file(created_socket_file(server_address));
}

void UnixDatagramServer::server_close() {
  UDPServer::server_close();
  detail::remove_socket_file(created_file_);
}

// ---- StopOnSignals --------------------------------------------------------------------------

namespace {
std::atomic<int> g_signal_received{0};
detail::StopSignalTarget g_stop_target;  // claimed while a guard lives

void stop_on_signal(void* context, int signo) noexcept {
  g_signal_received.store(signo);
  auto* server = static_cast<BaseServer*>(context);
  server->request_shutdown();
  server->interrupt_inline_request();  // a handler waiting for its client returns now
}
}  // namespace

StopOnSignals::StopOnSignals(BaseServer& server) {
  if (g_stop_target.claimed()) {
    throw std::logic_error("StopOnSignals: another one is active in this process");
  }
  g_signal_received.store(0);
  if (!g_stop_target.claim(stop_on_signal, &server)) {
    throw std::logic_error(
        "StopOnSignals: SIGINT/SIGTERM already stop another loop in this process (a running "
        "Reactor or ReactorGroup::run_until_signal)");
  }
}

StopOnSignals::~StopOnSignals() { g_stop_target.release(); }

int StopOnSignals::received() noexcept { return g_signal_received.load(); }

// sigaction back to what was there before the guard; nothing when no guard is active.
void StopOnSignals::release_in_child() noexcept { g_stop_target.release(); }

}  // namespace socketserver
