// server.hpp — Python's socketserver servers: BaseServer, TCPServer, UDPServer, UnixStreamServer,
// UnixDatagramServer, with the same hooks called in the same order.
//
//         +------------+
//         | BaseServer |     serve_forever / shutdown / handle_request and the hooks
//         +------------+
//               |
//         +-----------+        +------------------+
//         | TCPServer |------->| UnixStreamServer |
//         +-----------+        +------------------+
//               |
//         +-----------+        +--------------------+
//         | UDPServer |------->| UnixDatagramServer |
//         +-----------+        +--------------------+
//
// The serving policies (mixins.hpp, thread_pool.hpp) are templates over any of the four, and
// override process_request to say where a request runs:
//
//   ThreadingMixIn<S>   a thread per request (bounded: max_threads)      ThreadingTCPServer, ...
//   ForkingMixIn<S>     a child process per request (max_children)       ForkingTCPServer, ...
//   ThreadPoolMixIn<S>  a fixed pool of workers; idle ones accept for    ThreadPoolTCPServer, ...
//                       themselves, silent clients are parked until readable
//
// The request path, as in Python: the loop waits until the listening socket is readable, then
//   get_request -> verify_request -> process_request -> finish_request (runs the handler)
//                                                    -> shutdown_request -> close_request
// with handle_error (then shutdown_request) when process_request throws, and shutdown_request
// alone when verify_request refuses (or throws: then handle_error first; Python would end the
// loop). A policy runs the same path (admit_request, run_request) in its thread, child or worker.
//
// C++ cannot call an override from a base constructor (Python's TCPServer.__init__ calls
// self.server_bind()), so settings travel in ServerOptions; whoever overrides server_bind or
// server_activate passes `.bind_and_activate = false` and calls them after construction, as in
// Python. A server may also serve a listening socket it inherited (socket activation: systemd's
// LISTEN_FDS, activation.hpp) instead of binding one: ServerOptions::listen_fd.
//
// Better than Python: shutdown() wakes the loop at once (no poll_interval latency), and from
// inside a handler or before the loop starts it requests the stop and returns; accept errors
// back off instead of spinning; an over-long datagram is dropped and reported, not cut;
// Unix servers remove the socket file they created; allow_reuse_address defaults to true for
// stream servers and request_queue_size to SOMAXCONN.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "socketserver/detail/accept.hpp"
#include "socketserver/detail/serve_gate.hpp"
#include "socketserver/proxy_protocol.hpp"
#include "socketserver/selector.hpp"
#include "socketserver/socket.hpp"

namespace socketserver {

namespace detail {
class Reporter;
}
class BaseServer;
class SSLContext;  // ssl.hpp
class SSLSocket;

/// Python's `request`. Stream servers: `connection`, the accepted socket. Datagram servers:
/// `packet`, the datagram, and `socket`, the server's socket to reply on (Python's
/// `(data, socket)` pair).
struct Request {
  Socket connection = Socket::none();
  std::string packet;
  Socket* socket = nullptr;
  /// TLS servers (ServerOptions::ssl_context): the connection once finish_request has started
  /// TLS on it (the handshake). `connection` is then empty: its descriptor is tls's. What
  /// Python's TLS servers hand their handlers as self.request.
  std::shared_ptr<SSLSocket> tls;
  /// Servers behind a balancer (ServerOptions::proxy_protocol): the PROXY header the connection
  /// began with. The handler's client_address is its source (the real client); the balancer's
  /// own address is `balancer`.
  std::optional<ProxyHeader> proxy;
  std::optional<Address> balancer;  ///< the peer that sent `proxy` (the balancer)
  /// The plain socket of a stream request: `connection`, or the one under `tls` (for options
  /// and timeouts; reading or writing it directly would bypass TLS).
  [[nodiscard]] Socket& plain_socket() noexcept;
};

/// Python's RequestHandlerClass: called once per request with (request, client_address,
/// server). Make one from a handler class with `handler<MyHandler>()` or from a lambda with
/// `handler([](StreamRequestHandler& self) { ... })` (handler.hpp).
using RequestHandlerClass = std::function<void(Request&, const Address&, BaseServer&)>;

/// The class attributes of Python's servers, set at construction (designated initialisers:
/// `TCPServer server(addr, handler<H>(), {.allow_reuse_port = true})`). Unset optionals take
/// the class's default.
struct ServerOptions {
  bool bind_and_activate = true;  ///< bind and listen in the constructor
  std::optional<bool>
      allow_reuse_address{};           ///< SO_REUSEADDR; default: true for TCP, false for UDP/Unix
  bool allow_reuse_port = false;       ///< SO_REUSEPORT (IPv4/IPv6 only)
  int request_queue_size = SOMAXCONN;  ///< listen backlog (Python: 5)
  std::size_t max_packet_size = 8192;  ///< largest datagram UDPServer accepts (see there)
  std::optional<int>
      address_family{};    ///< default: from the address (AF_INET6 for an IPv6 one), else AF_INET
  Timeout timeout{};       ///< handle_request's timeout (Python's `timeout`)
  Timeout idle_timeout{};  ///< BaseServer::idle_timeout (default: none, as Python)
  Timeout request_timeout{};  ///< BaseServer::request_timeout (default: none, as Python)
  /// Stream servers: serve TLS with this context (PROTOCOL_TLS_SERVER, its certificate loaded).
  /// Each connection's handshake runs in finish_request, where the request runs (its thread,
  /// child or worker; never the accept loop of a mixin), before the handler is made; the
  /// handler's rfile and wfile then read and write plaintext. nullptr: plain TCP (Python).
  std::shared_ptr<const SSLContext> ssl_context{};
  /// With ssl_context: how long a client may take to complete its handshake (default 10 s),
  /// so that one that connects and never says hello holds nobody for longer.
  Timeout handshake_timeout = std::chrono::duration<double>(10);
  /// Stream servers behind HAProxy (or a load balancer speaking its PROXY protocol, v1 or v2):
  /// every connection must begin with a PROXY header from a trusted peer, read (where the
  /// request runs, before TLS) before the handler sees a byte; the handler's client_address is
  /// then the real client. A connection from an untrusted peer, with a malformed or truncated
  /// header, or none within proxy_header_timeout, is closed with a one-line report.
  bool proxy_protocol = false;
  /// The balancers allowed to send a header: IP addresses as text ("127.0.0.1", "::1"), or
  /// "unix" for any peer of a Unix socket. Default: loopback (a balancer on this machine).
  std::vector<std::string> trusted_proxies = default_trusted_proxies();
  /// With proxy_protocol: how long the header may take to arrive (default 5 s).
  Timeout proxy_header_timeout = std::chrono::duration<double>(default_proxy_header_timeout);
  /// Socket activation (activation.hpp): serve this descriptor, a socket already bound (and,
  /// for a stream server, listening) that systemd (listen_fds()) or a parent passed, instead of
  /// making one. The server's address argument is then not used (pass {}): server_address is
  /// the socket's own (getsockname), address_family its family; server_bind and server_activate
  /// are skipped (so bind_and_activate does not matter), and server_close closes it (a Unix
  /// server leaves its socket file alone: whoever bound it owns that). Checked first
  /// (adopt_listening_socket): a stream server wants a listening stream socket, a datagram
  /// server a bound datagram socket; TCPServer and UDPServer take any of AF_INET, AF_INET6 and
  /// AF_UNIX (or address_family when set), the Unix servers AF_UNIX. A descriptor refused so
  /// (std::invalid_argument) stays open and the caller's; once taken, the server owns it. Its
  /// timeout becomes the module default, as a socket the server makes. -1: bind as usual.
  ///   TCPServer server({}, handler<H>(), {.listen_fd = listen_fds().at(0)});
  int listen_fd = -1;
};

/// Counters every server keeps (Poco's TCPServer has the like; Python has none). A snapshot;
/// readable from any thread.
struct ServerCounters {
  std::size_t current = 0;  ///< requests being served now
  std::size_t total = 0;    ///< requests accepted since construction
  std::size_t queued = 0;   ///< requests waiting for a worker (ThreadPoolMixIn)
  std::size_t refused = 0;  ///< refused by verify_request or an overload policy
};

/// Python's socketserver.BaseServer: the loop and the hooks. Abstract (fileno, get_request).
/// Thread-safety: serve_forever/handle_request run in one thread; shutdown() may be called
/// from any thread, a handler and a signal handler (through StopOnSignals) included.
class BaseServer {
 public:
  BaseServer(Address server_address, RequestHandlerClass handler_class,
             const ServerOptions& options = {});
  BaseServer(const BaseServer&) = delete;
  BaseServer& operator=(const BaseServer&) = delete;
  virtual ~BaseServer();

  /// Python's serve_forever(poll_interval): handles requests until shutdown(). service_actions()
  /// runs after each wake-up and at least every poll_interval; shutdown() does not wait for it.
  void serve_forever(std::chrono::duration<double> poll_interval = std::chrono::milliseconds(500));
  /// Python's shutdown(): stops serve_forever. From another thread it waits until the loop has
  /// stopped; from inside the loop (a handler) or when no loop runs, it requests the stop and
  /// returns (the next serve_forever then returns at once).
  void shutdown();
  /// Python's handle_request(): waits for one request (up to min(socket timeout, timeout),
  /// calling handle_timeout on expiry) and handles it.
  void handle_request();
  /// Python's server_close(): releases the server's resources. Idempotent.
  virtual void server_close() {}
  /// Python's fileno(): the descriptor the loop waits on.
  [[nodiscard]] virtual int fileno() const = 0;

  // ---- hooks, in the order the loop calls them ----------------------------------------
  /// Python's server_activate(): called by the constructor after server_bind (listen for TCP).
  virtual void server_activate() {}
  /// Python's get_request(): accepts one request; throws socket_error when there is none. Any
  /// other exception from it is reported and the loop goes on (in Python it would end the loop).
  virtual std::pair<Request, Address> get_request() = 0;
  /// Python's verify_request(): false refuses the request (it is shut down, once).
  virtual bool verify_request(Request& request, const Address& client_address);
  /// Python's process_request(): finish_request then shutdown_request (mixins override it).
  virtual void process_request(Request& request, const Address& client_address);
  /// Python's finish_request(): runs the handler for the request.
  virtual void finish_request(Request& request, const Address& client_address);
  /// Python's shutdown_request(): ends a request (streams: SHUT_WR, then close_request).
  virtual void shutdown_request(Request& request);
  /// Python's close_request(): closes a request's socket (streams).
  virtual void close_request(Request& request);
  /// Python's handle_error(): called inside a catch block when a request threw; prints 40
  /// dashes, "Exception occurred during processing of request from <address>", the exception's
  /// type and message, and 40 dashes to stderr. The server goes on serving. What a peer causes
  /// in the ordinary course (connection_reset_error, connection_aborted_error, broken_pipe_error,
  /// timeout_error, line_too_long_error) is one line instead, at most once a second per kind,
  /// the next saying how many were suppressed (Python prints the full report for each).
  /// Never raises SIGPIPE, also when stderr's reader is gone. Thread-safe.
  virtual void handle_error(Request& request, const Address& client_address);
  /// Python's handle_timeout(): handle_request's timeout ran out.
  virtual void handle_timeout() {}
  /// Python's service_actions(): called once per loop iteration of serve_forever.
  virtual void service_actions() {}

  // ---- attributes (Python's names) ----------------------------------------------------
  Address server_address;                     ///< after bind: the real address (port 0 resolved)
  RequestHandlerClass request_handler_class;  ///< Python's RequestHandlerClass
  Timeout timeout;                            ///< handle_request's timeout
  /// Stream requests (no Python twin; Python's way is StreamRequestHandler.timeout): each read
  /// or write on the connection waits at most this long, so a client that sends nothing for
  /// that long makes the handler's read throw timeout_error and the request ends (handle_error
  /// reports it; the server goes on). It lowers the connection's socket timeout, never raises
  /// it. std::nullopt: no limit (Python; a plain TCPServer is then held by one silent client,
  /// and this is the way out). Each handler takes a copy (BaseRequestHandler::idle_timeout).
  Timeout idle_timeout;
  /// Stream requests: how long a whole request may take. At the deadline its connection is shut
  /// down (the handler's reads see end of input, its writes fail) and the request ends with
  /// timeout_error to handle_error. Bounds a client that trickles a byte now and then, which
  /// idle_timeout does not. std::nullopt: no limit (Python). Handlers take a copy.
  Timeout request_timeout;
  /// ServerOptions::ssl_context and handshake_timeout (no Python twin: Python's TLS servers wrap
  /// the socket themselves). Set them before serving.
  std::shared_ptr<const SSLContext> ssl_context;
  Timeout handshake_timeout;
  /// ServerOptions::proxy_protocol, trusted_proxies and proxy_header_timeout.
  bool proxy_protocol;
  std::vector<std::string> trusted_proxies;
  Timeout proxy_header_timeout;

  /// Requests a stop without waiting: async-signal-safe (an atomic store and an eventfd write).
  void request_shutdown() noexcept;
  /// Ends the request the loop thread is serving itself, if any (no mixin): its connection's
  /// reading side is shut down, so a handler blocked in a read sees the end of input and
  /// returns (its reply can still be written). Async-signal-safe; StopOnSignals calls it.
  void interrupt_inline_request() noexcept;
  /// True while serve_forever runs.
  [[nodiscard]] bool serving() const noexcept { return gate_.serving(); }
  /// The request counters (current, total, queued, refused). Thread-safe.
  [[nodiscard]] ServerCounters counters() const;

 protected:
  /// Python's _handle_request_noblock(): get, verify, process one request; false when there
  /// was no request to get. (Accept errors are reported at a bounded rate and back the loop off.)
  bool handle_request_noblock();

  // ---- the extension interface of serving policies ------------------------------------
  // Python's hooks above say what happens to a request; a serving policy (ThreadingMixIn,
  // ForkingMixIn, ThreadPoolMixIn, or one of yours: a template over a server, as they are)
  // says where and when. It overrides process_request, and of the hooks below only those it
  // needs; the request path itself is written once, here, and a policy runs it with
  // admit_request and run_request wherever it serves (the pool's workers accept for
  // themselves, and so call both).
  // clang-format off
  //   hook                      who overrides it     what for
  //   accepting()               the three mixins     pause accepting at a limit
  //   wakes_loop_to_accept()    threads, the pool    say they call wake_loop() on resuming
  //   loop_started()/stopping() the pool             its workers accept while the loop runs
  //   next_request_queued()     UDPServer            a burst of queued datagrams per wake-up
  //   socket_timeout()          TCPServer            handle_request folds in the socket's own
  // clang-format on

  /// verify_request, with the one treatment of a refusal: when it returns false, or throws
  /// (the exception goes to handle_error: a verifier's failure never ends a loop or a worker),
  /// the request is counted refused, `before_close()` runs, and it is shut down
  /// (shutdown_request; its errors are dropped). True: go on and serve it.
  template <class BeforeClose = void (*)()>
  bool admit_request(
      Request& request, const Address& client_address, BeforeClose&& before_close = [] {}) {
    bool verified = false;
    try {
      verified = verify_request(request, client_address);
    } catch (...) {
      handle_error(request, client_address);
    }
    if (verified) return true;
    note_request_refused();
    before_close();
    shutdown_quietly(request);
    return false;
  }
  /// Python's process_request_thread body, for a policy serving a request elsewhere (a thread,
  /// a child, a worker): finish_request, handle_error when it throws, then `before_close()` and
  /// shutdown_request (its errors dropped). True when the handler returned normally.
  template <class BeforeClose = void (*)()>
  bool run_request(
      Request& request, const Address& client_address, BeforeClose&& before_close = [] {}) {
    bool ok = false;
    try {
      finish_request(request, client_address);
      ok = true;
    } catch (...) {
      handle_error(request, client_address);
    }
    before_close();
    shutdown_quietly(request);
    return ok;
  }
  /// shutdown_request, its exceptions dropped (closing cannot usefully fail).
  void shutdown_quietly(Request& request) noexcept;

  /// Mixins return false to pause accepting (a limit reached); the loop then waits on the waker
  /// and polls service_actions until they return true. Called from the loop thread.
  [[nodiscard]] virtual bool accepting() const { return true; }
  /// True when whoever makes accepting() true again also calls wake_loop(); otherwise a paused
  /// loop asks again every 20 ms.
  [[nodiscard]] virtual bool wakes_loop_to_accept() const { return false; }
  /// serve_forever calls loop_started() once it runs and loop_stopping() as it ends, before
  /// shutdown() returns: a mixin whose own threads accept connections starts and stops them here.
  virtual void loop_started() {}
  virtual void loop_stopping() noexcept {}
  /// Asked by the loop after each request of a wake-up: true when another is already queued,
  /// so that it is handled in the same wake-up (at most 32). The default, false, handles one
  /// request per wake-up (stream servers, as Python). UDPServer receives the next datagram ahead
  /// here for its get_request.
  virtual bool next_request_queued() { return false; }
  /// The listening socket's own timeout, which handle_request folds in (TCPServer: socket's).
  [[nodiscard]] virtual Timeout socket_timeout() const { return std::nullopt; }
  /// Wakes the loop (from any thread), e.g. when a worker finished and accepting() changed.
  void wake_loop() noexcept { waker_.wake(); }

  /// Counter upkeep for policies that serve requests elsewhere (thread-safe). A request served
  /// by BaseServer::process_request (in the loop's thread) is counted by it.
  void note_request_started() noexcept {
    current_requests_.fetch_add(1, std::memory_order_relaxed);
  }
  void note_request_finished() noexcept {
    current_requests_.fetch_sub(1, std::memory_order_relaxed);
  }
  void note_request_queued(std::ptrdiff_t delta) noexcept {
    queued_requests_.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed);
  }
  void note_request_refused() noexcept {
    refused_requests_.fetch_add(1, std::memory_order_relaxed);
  }
  void note_request_accepted() noexcept { total_requests_.fetch_add(1, std::memory_order_relaxed); }
  /// Writes one line to stderr, at most once a second per `kind` (floods stay bounded); the
  /// next line says how many were suppressed. Thread-safe.
  void report(const char* kind, const std::string& line);
  /// report() with a line made by `make_line()` only when it is written: for a line reported
  /// often (under load) that costs something to build. `make_line` runs in the calling thread
  /// with the reporter's lock held, so it must not report itself.
  template <class MakeLine>
  void report_lazily(const char* kind, const MakeLine& make_line) {
    report_made(
        kind, [](const void* f) { return std::string((*static_cast<const MakeLine*>(f))()); },
        &make_line);
  }

 private:
  bool wait_readable(Timeout timeout);  // listener or waker readable within timeout
  void start_tls(Request& request);     // wraps the connection and runs the handshake
  void receive_proxy_header(Request& request, const Address& peer);  // or throws
  void note_accept_error(const socket_error& error);

  Waker waker_;
  detail::ServeGate gate_;                  // serving, the stop request, shutdown()'s wait
  std::atomic<int> inline_request_fd_{-1};  // the connection served in the loop thread now
  std::atomic<std::size_t> current_requests_{0};
  std::atomic<std::size_t> total_requests_{0};
  std::atomic<std::size_t> queued_requests_{0};
  std::atomic<std::size_t> refused_requests_{0};
  // Accept back-off after a transient error (EMFILE, ...): the loop ignores the listener until
  // then, so an error it cannot clear does not become a busy loop.
  std::chrono::steady_clock::time_point accept_resume_{};
  detail::AcceptPolicy accept_policy_;  // the loop's own back-off
  std::unique_ptr<detail::Reporter> reporter_;
  void report_made(const char* kind, std::string (*make)(const void*), const void* context);
};

/// Python's socketserver.TCPServer. Owns `socket`; closes it in server_close and the destructor.
class TCPServer : public BaseServer {
 public:
  TCPServer(const Address& server_address, RequestHandlerClass handler_class,
            const ServerOptions& options = {});
  ~TCPServer() override;

  /// Python's server_bind(): sets the reuse options, binds, and rewrites server_address from
  /// getsockname (so port 0 shows the real port).
  virtual void server_bind();
  void server_activate() override;
  void server_close() override;
  [[nodiscard]] int fileno() const override { return socket.fileno(); }
  std::pair<Request, Address> get_request() override;
  [[nodiscard]] Timeout socket_timeout() const override { return socket.gettimeout(); }
  void shutdown_request(Request& request) override;
  void close_request(Request& request) override;

  int address_family;        ///< Python's address_family
  int socket_type;           ///< Python's socket_type
  bool allow_reuse_address;  ///< Python's allow_reuse_address (default true here)
  bool allow_reuse_port;     ///< Python's allow_reuse_port
  int request_queue_size;    ///< Python's request_queue_size (default SOMAXCONN here)
  Socket socket;             ///< Python's socket: the listening socket

 protected:
  /// For subclasses that fix the family and type (UDPServer, the Unix servers).
  TCPServer(const Address& server_address, RequestHandlerClass handler_class,
            const ServerOptions& options, int family, int type, bool reuse_address_default);
  /// Binds and activates when options.bind_and_activate, closing the socket on failure.
  void bind_and_activate(const ServerOptions& options);
};

/// Python's socketserver.UDPServer: requests are datagrams (Request::packet, Request::socket).
class UDPServer : public TCPServer {
 public:
  UDPServer(const Address& server_address, RequestHandlerClass handler_class,
            const ServerOptions& options = {});

  /// Python's server_activate(): nothing (no listen for datagrams).
  void server_activate() override {}
  /// Python's get_request(): one datagram of at most max_packet_size bytes. A larger one is
  /// dropped and reported (never silently cut); the call then throws, as for no request.
  std::pair<Request, Address> get_request() override;
  /// Python's shutdown_request()/close_request(): nothing for datagrams.
  void shutdown_request(Request& request) override { close_request(request); }
  void close_request(Request&) override {}

  /// Python's max_packet_size (8192): the largest datagram accepted; its buffer is allocated
  /// once, up front. A value above the largest datagram the kernel delivers (65,507 bytes over
  /// IPv4, 65,527 over IPv6: no jumbograms; INT_MAX - 32 for Unix datagrams, which must fit the
  /// sender's SO_SNDBUF) is taken as that limit: Python's habit of 65536 works, and SIZE_MAX
  /// neither wraps nor allocates more than the limit.
  std::size_t max_packet_size;

 protected:
  UDPServer(const Address& server_address, RequestHandlerClass handler_class,
            const ServerOptions& options, int family);
  /// Receives the next queued datagram ahead (never waits, never throws); false when none is
  /// queued. Only while get_request reaches UDPServer::get_request (which hands it out): an
  /// override receiving by other means is asked directly.
  bool next_request_queued() override;

 private:
  std::span<char> receive_buffer();  // buffer_, resized to max_packet_size + 1 bytes
  std::string buffer_;               // reused receive buffer
  // The datagram next_request_queued() received ahead (in buffer_), or the error it met, for
  // the next get_request.
  bool ahead_held_ = false;
  std::size_t ahead_size_ = 0;
  Address ahead_from_;
  std::exception_ptr ahead_error_;
  bool got_here_ = false;  // UDPServer::get_request ran since the last next_request_queued()
};

namespace detail {
/// The socket file a Unix server's bind created (src/posix_util.cpp): its path and the device
/// and inode it had then. Closing removes the file only while the path still names that inode.
struct BoundSocketFile {
  std::string path;  ///< "" when the bind created no file (abstract or unnamed address)
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
};
}  // namespace detail

/// Python's socketserver.UnixStreamServer. server_close() removes the socket file it created,
/// unless another socket has replaced it at that path since (it is then left alone).
class UnixStreamServer : public TCPServer {
 public:
  UnixStreamServer(const Address& server_address, RequestHandlerClass handler_class,
                   const ServerOptions& options = {});
  ~UnixStreamServer() override;
  void server_bind() override;
  void server_close() override;

 private:
  detail::BoundSocketFile created_file_;
};

/// Python's socketserver.UnixDatagramServer. server_close() removes the socket file it created,
/// unless another socket has replaced it at that path since (it is then left alone).
class UnixDatagramServer : public UDPServer {
 public:
  UnixDatagramServer(const Address& server_address, RequestHandlerClass handler_class,
                     const ServerOptions& options = {});
  ~UnixDatagramServer() override;
  void server_bind() override;
  void server_close() override;

 private:
  detail::BoundSocketFile created_file_;
};

/// Opt-in: while alive, SIGINT and SIGTERM stop `server`'s serve_forever cleanly (the loop
/// returns; the program goes on to server_close and exits 0). The previous handlers are
/// restored by the destructor. One at a time per process; not thread-affine.
class StopOnSignals {
 public:
  explicit StopOnSignals(BaseServer& server);
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;
  /// The signal that stopped the loop, or 0.
  [[nodiscard]] static int received() noexcept;
  /// In a child just forked (ForkingMixIn calls it): puts back the SIGINT/SIGTERM dispositions
  /// the active StopOnSignals replaced, so the signals end the child as they would without it
  /// (Python's children die of Ctrl-C too). Nothing when none is active. Async-signal-safe.
  static void release_in_child() noexcept;
};

}  // namespace socketserver
