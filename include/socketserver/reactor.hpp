// clang-format off
// reactor.hpp — the core of Twisted in C++: one event loop serving many connections.
//
//   Twisted                                          C++ (namespace socketserver)
//   from twisted.internet import reactor             Reactor reactor;
//   class Echo(protocol.Protocol):                   struct Echo : Protocol {
//       def dataReceived(self, data):                  void data_received(std::string_view data) override {
//           self.transport.write(data)                   transport().write(data);
//                                                      }
//                                                    };
//   factory = protocol.Factory()                     auto factory = Factory::for_protocol<Echo>();
//   factory.protocol = Echo
//   reactor.listenTCP(21567, factory)                reactor.listen_tcp(21567, factory);
//   reactor.callLater(2.5, f)                        reactor.call_later(2.5s, f);
//   reactor.run()                                    reactor.run();
// clang-format on
//
// The loop: an epoll set waits on the listening sockets, the connections, a Waker and the
// earliest timer; ready descriptors are served in turn; timers run in deadline order.
// Design for speed: no thread per connection; received bytes are read into one buffer shared by
// the whole reactor and handed to data_received as a view (a protocol copies only what it
// keeps); writes are tried at once and queued only when the socket is full; write interest is
// registered only while output is pending; timers live in a heap.
//
// Exceptions thrown by a protocol's callbacks are caught at the callback, reported once on
// stderr with the peer's address; that connection is closed and every other one is served as
// before.
//
// Thread-safety (muduo's rule): a Reactor and everything it owns belong to the thread that
// calls run(); every method must be called from that thread (or before run()), except
// call_from_thread() and stop(), which are safe from any thread (stop() also from a signal
// handler through run()'s own handlers). For more than one core, run one Reactor per thread
// (ReactorGroup below): each connection belongs to exactly one reactor thread. A debug build
// (NDEBUG undefined) checks the rule where it is cheap: listen_*, connect_*, call_later,
// call_when_running and add_/remove_shutdown_trigger from another thread while run() runs throw
// std::logic_error (muduo's assertInLoopThread); a release build trusts the caller.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "socketserver/address.hpp"
#include "socketserver/proxy_protocol.hpp"
#include "socketserver/selector.hpp"
#include "socketserver/socket.hpp"

namespace socketserver {

class Reactor;
class Factory;
class ClientFactory;
class Connector;
struct ReactorImpl;
// The reactor's internal pieces (src/reactor_impl.hpp) that public handles point to.
struct Port;
class ConnectAttempt;
class ProtocolCreator;
class StreamConnection;
// TLS (ssl.hpp): include it to call start_tls, ssl_object or get_peer_certificate.
class SSLContext;
class SSLObject;
struct PeerCertificate;
// PROXY protocol (proxy_protocol.hpp): include it to read proxy_header()'s fields.
struct ProxyHeader;

/// Names a shutdown trigger (Twisted's triggerID): add_shutdown_trigger gives it,
/// remove_shutdown_trigger takes it.
enum class TriggerId : std::uint64_t {};

/// Why a connection ended (Twisted's Failure of ConnectionDone or ConnectionLost).
struct Reason {
  bool clean = true;    ///< ConnectionDone: closed in order; false: ConnectionLost (reset, error)
  int error = 0;        ///< errno when there was one
  std::string message;  ///< "Connection was closed cleanly.", "Connection reset by peer", ...
  /// Twisted's reason.check(ConnectionDone).
  [[nodiscard]] bool is_clean() const noexcept { return clean; }
  /// The message.
  [[nodiscard]] const std::string& what() const noexcept { return message; }
};

/// Twisted's ITransport for a stream (TCP, Unix, standard input/output). Owned by the reactor;
/// valid from connection_made() until connection_lost() returns.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Queues `data` for the peer: sent at once when the socket takes it, else buffered. Never
  /// blocks. Ignored after lose_connection/abort_connection.
  virtual void write(std::string_view data) = 0;
  /// Twisted's writeSequence: the pieces in order.
  virtual void write_sequence(const std::vector<std::string>& parts) {
    for (const std::string& part : parts) write(part);
  }
  /// Closes after everything buffered has been sent (connection_lost then reports clean).
  virtual void lose_connection() = 0;
  /// Closes now, dropping what is buffered.
  virtual void abort_connection() = 0;
  /// Half-close: sends what is buffered, then shuts down the writing side; reading goes on.
  virtual void lose_write_connection() = 0;
  /// The peer's and our address (Twisted's getPeer/getHost). Behind a balancer
  /// (ListenOptions::proxy_protocol), get_peer() is the client its PROXY header named (IPv4,
  /// IPv6 or a Unix path); the balancer's own address when the header names none (LOCAL,
  /// UNKNOWN).
  [[nodiscard]] virtual Address get_peer() const = 0;
  [[nodiscard]] virtual Address get_host() const = 0;
  /// ListenOptions::proxy_protocol: the balancer that sent the PROXY header (the socket's own
  /// peer); nullopt on a connection without one.
  [[nodiscard]] virtual std::optional<Address> get_balancer() const { return std::nullopt; }
  /// ListenOptions::proxy_protocol: the PROXY header the connection began with (its version,
  /// command, addresses, version 2 extensions); nullptr on a connection without one. Valid as
  /// long as the transport.
  [[nodiscard]] virtual const ProxyHeader* proxy_header() const { return nullptr; }
  /// TCP_NODELAY / SO_KEEPALIVE (no-ops where they do not apply).
  virtual void set_tcp_nodelay(bool enabled) = 0;
  virtual void set_tcp_keepalive(bool enabled) = 0;
  /// Twisted's pauseProducing/resumeProducing: stop and restart reading from the peer.
  virtual void pause_producing() = 0;
  virtual void resume_producing() = 0;
  /// Bytes written but not yet taken by the kernel.
  [[nodiscard]] virtual std::size_t write_buffer_size() const = 0;
  /// The write-buffer marks: above `high` the protocol's pause_writing() is called, below
  /// `low` its resume_writing(). Defaults: 1 MiB and 256 KiB.
  virtual void set_write_buffer_limits(std::size_t high, std::size_t low) = 0;
  /// Twisted's transport.disconnecting: lose_connection (or a close) is under way.
  [[nodiscard]] virtual bool disconnecting() const = 0;
  /// The reactor this transport belongs to.
  [[nodiscard]] virtual Reactor& reactor() const = 0;

  /// Twisted's startTLS(context, normal): what is written from now on, and what is read after
  /// the bytes already received, is TLS (STARTTLS). A server passes server_side = true; a client
  /// names the server in `server_hostname` (as SSLContext::wrap_socket). Writes before the
  /// handshake completes are kept and sent encrypted after it; the protocol's
  /// handshake_completed() tells when it has. A handshake failure closes the connection
  /// (connection_lost with the reason). Throws std::logic_error where TLS cannot go (standard
  /// input/output, a transport already under TLS), std::invalid_argument as wrap_socket.
  virtual void start_tls(const SSLContext& context, bool server_side,
                         const std::string& server_hostname = "");
  /// Python asyncio's get_extra_info("ssl_object"): the TLS session (cipher(), version(),
  /// selected_alpn_protocol(), getpeercert()), or nullptr on a plain connection.
  [[nodiscard]] virtual const SSLObject* ssl_object() const { return nullptr; }
  /// Twisted's getPeerCertificate(): the peer's certificate (ssl_object()->getpeercert());
  /// nullopt on a plain connection, before the handshake, or when the peer sent none.
  [[nodiscard]] std::optional<PeerCertificate> get_peer_certificate() const;
};

/// Twisted's Protocol: one per connection, built by a Factory. Override the callbacks.
class Protocol {
 public:
  virtual ~Protocol() = default;
  /// The connection is up; transport() is valid.
  virtual void connection_made() {}
  /// Bytes arrived. `data` is valid only during the call (copy what you keep).
  virtual void data_received(std::string_view data) { (void)data; }
  /// The peer closed its writing side (end of stream). The default closes after sending what
  /// is buffered, so everything the peer sent is answered first (Twisted without
  /// IHalfCloseableProtocol, but losing nothing).
  virtual void read_connection_lost();
  /// The connection is gone; transport() is still valid during the call, not after.
  virtual void connection_lost(const Reason& reason) { (void)reason; }
  /// The write buffer passed its high-water mark: stop producing (Twisted's producer
  /// pauseProducing). The default stops reading from the peer, which stops a request/response
  /// protocol from producing more.
  virtual void pause_writing();
  /// The write buffer drained below the low-water mark: produce again. Default: read again.
  virtual void resume_writing();
  /// Twisted's IHandshakeListener.handshakeCompleted: the TLS handshake has completed (after
  /// connection_made on listen_ssl/connect_ssl connections; after start_tls, when it has).
  virtual void handshake_completed() {}

  /// The transport (valid between connection_made and the end of connection_lost); throws
  /// std::logic_error when not connected.
  [[nodiscard]] Transport& transport() const {
    if (transport_ == nullptr) [[unlikely]]
      not_connected();
    return *transport_;
  }
  /// Twisted's makeConnection(transport): attaches `transport` and calls connection_made().
  /// The reactor does this for its connections; a test does it with a StringTransport
  /// (testing.hpp). The transport must outlive the connection.
  void make_connection(Transport& transport) {
    transport_ = &transport;
    connection_made();
  }
  /// The factory that built this protocol (nullptr for one attached by hand, e.g. StandardIO).
  [[nodiscard]] Factory* factory() const noexcept { return factory_; }
  /// True while connected.
  [[nodiscard]] bool connected() const noexcept { return transport_ != nullptr; }

 private:
  friend struct ReactorImpl;  // the reactor's one attorney (src/reactor_impl.hpp)
  [[noreturn]] static void not_connected();
  Transport* transport_ = nullptr;
  Factory* factory_ = nullptr;
};

/// Twisted's Factory: builds a Protocol for each connection of a listening port.
/// Shared with the reactor (std::shared_ptr): it lives as long as a port or connection uses it.
class Factory {
 public:
  virtual ~Factory() = default;
  /// Twisted's buildProtocol(addr): a new protocol for a connection from `addr`; nullptr
  /// refuses the connection. The default calls `protocol`.
  virtual std::unique_ptr<Protocol> build_protocol(const Address& addr);
  /// Twisted's startFactory/stopFactory: before the first port starts and after the last
  /// one stops.
  virtual void start_factory() {}
  virtual void stop_factory() {}
  /// Twisted's Factory.protocol: what the default build_protocol calls.
  std::function<std::unique_ptr<Protocol>()> protocol;

  /// Twisted's Factory.forProtocol(P, args...): a factory whose protocols are P(args...).
  template <class P, class F = Factory, class... Args>
  static std::shared_ptr<F> for_protocol(Args... args) {
    auto factory = std::make_shared<F>();
    factory->protocol = [args...]() -> std::unique_ptr<Protocol> {
      return std::make_unique<P>(args...);
    };
    return factory;
  }

 private:
  friend struct ReactorImpl;
  std::atomic<int> ports_{0};  // Twisted's numPorts: start/stop_factory bookkeeping
};

/// Twisted's ClientFactory: a Factory told how outgoing connections fare.
class ClientFactory : public Factory {
 public:
  /// Twisted's startedConnecting(connector).
  virtual void started_connecting(Connector& connector) { (void)connector; }
  /// Twisted's clientConnectionFailed(connector, reason): refused, unreachable, timed out.
  virtual void client_connection_failed(Connector& connector, const Reason& reason) {
    (void)connector;
    (void)reason;
  }
  /// Twisted's clientConnectionLost(connector, reason): an established connection ended.
  virtual void client_connection_lost(Connector& connector, const Reason& reason) {
    (void)connector;
    (void)reason;
  }
};

/// Twisted's IConnector: one outgoing connection attempt (and its connection). Owned by the
/// reactor; the reference connect_tcp returns stays valid as long as the reactor.
class Connector {
 public:
  /// Twisted's connect(): tries again (e.g. from client_connection_failed).
  void connect();
  /// Twisted's stopConnecting(): gives up an attempt in progress.
  void stop_connecting();
  /// Twisted's disconnect(): stops connecting or closes the connection.
  void disconnect();
  /// Twisted's getDestination().
  [[nodiscard]] const Address& get_destination() const noexcept { return destination_; }
  /// "connecting", "connected" or "disconnected" (Twisted's state).
  [[nodiscard]] const char* state() const noexcept;

 private:
  friend struct ReactorImpl;
  Connector(ReactorImpl& impl, Address destination, std::shared_ptr<ClientFactory> factory,
            Timeout timeout);
  ReactorImpl* impl_;
  Address destination_;
  std::shared_ptr<ClientFactory> factory_;
  Timeout timeout_;
  ConnectAttempt* attempt_ = nullptr;       // the pending connect, or nullptr
  StreamConnection* connection_ = nullptr;  // the established connection, or nullptr
  ProtocolCreator* creator_ = nullptr;      // connect_protocol's factory, told when made
  bool released_ = false;  // one-shot (asyncio open_connection): freed once it has finished
  bool started_ = false;   // counted in the factory's start/stop bookkeeping
};

/// Twisted's DatagramProtocol: datagram_received(data, addr); transport().write(data, addr).
class DatagramProtocol {
 public:
  /// Twisted's DatagramProtocol.transport.
  class Transport {
   public:
    virtual ~Transport() = default;
    /// Sends one datagram to `addr` (dropped with a report when the socket is full, as UDP).
    virtual void write(std::string_view data, const Address& addr) = 0;
    [[nodiscard]] virtual Address get_host() const = 0;
    /// Closes the port (Twisted's loseConnection / stopListening).
    virtual void lose_connection() = 0;
  };

  virtual ~DatagramProtocol() = default;
  /// Twisted's startProtocol / stopProtocol.
  virtual void start_protocol() {}
  virtual void stop_protocol() {}
  /// One datagram arrived; `data` is valid only during the call.
  virtual void datagram_received(std::string_view data, const Address& addr) {
    (void)data;
    (void)addr;
  }
  [[nodiscard]] Transport& transport() const;

 private:
  friend struct ReactorImpl;
  Transport* transport_ = nullptr;
};

/// Twisted's DelayedCall: a handle on a call_later. Copyable (all copies refer to one call).
class DelayedCall {
 public:
  DelayedCall() = default;
  /// Cancels the call (no effect when it already ran or was cancelled).
  void cancel();
  /// Twisted's reset(seconds): runs `delay` from now instead. Throws std::logic_error once the
  /// call has run or was cancelled (Twisted's AlreadyCalled / AlreadyCancelled); so does delay.
  void reset(std::chrono::duration<double> delay);
  /// Twisted's delay(seconds): postpones by `delay` more.
  void delay(std::chrono::duration<double> delay);
  /// True until it has run or been cancelled.
  [[nodiscard]] bool active() const noexcept;
  /// Seconds from now until it runs (negative when overdue; 0 when inactive).
  [[nodiscard]] double get_time() const;

  struct State;  ///< internal (reactor.cpp)

 private:
  friend struct ReactorImpl;
  explicit DelayedCall(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

/// Twisted's task.LoopingCall: calls `fn` on the reactor every `interval`, until stop() or
/// until `fn` throws (which stops it and is reported: to `done` when start() was given one,
/// else on stderr, as Twisted logs an unhandled Deferred error). Calls stay on the grid of
/// start time + k * interval; intervals missed while the loop was busy are skipped, as
/// Twisted's. Reactor thread only; not movable (the reactor calls back into this object);
/// destroying it stops it without calling `done`.
class LoopingCall {
 public:
  LoopingCall(Reactor& reactor, std::function<void()> fn);
  ~LoopingCall();
  LoopingCall(const LoopingCall&) = delete;
  LoopingCall& operator=(const LoopingCall&) = delete;

  /// Twisted's start(interval, now=True): the first call at once (inside start) when `now`,
  /// else after `interval`. `done(nullptr)` is called after stop(), `done(error)` when `fn`
  /// threw (Twisted's Deferred). Throws std::logic_error when already running,
  /// std::invalid_argument for a negative or NaN interval (0: once per loop iteration).
  void start(std::chrono::duration<double> interval, bool now = true,
             std::function<void(std::exception_ptr)> done = {});
  /// Twisted's stop(): no more calls; then done(nullptr). Throws std::logic_error when not
  /// running (Twisted: "Tried to stop a LoopingCall that was not running.").
  void stop();
  /// Twisted's running.
  [[nodiscard]] bool running() const noexcept { return running_; }
  /// Twisted's interval (seconds).
  [[nodiscard]] double interval() const noexcept { return interval_; }

 private:
  void call();                     // one call of fn_, then the next is scheduled
  void schedule_from(double now);  // Twisted's _scheduleFrom
  void finish(std::exception_ptr error);
  Reactor& reactor_;
  std::function<void()> fn_;
  std::function<void(std::exception_ptr)> done_;
  DelayedCall next_;
  double interval_ = 0;
  double start_time_ = 0;
  bool running_ = false;
};

/// A listening TCP/Unix port or a UDP port (Twisted's IListeningPort). Owned by the reactor.
class ListeningPort {
 public:
  /// The bound address (the real port when 0 was asked).
  [[nodiscard]] const Address& get_host() const noexcept { return host_; }
  /// Twisted's stopListening(): closes the port (connections already made go on).
  void stop_listening();

 private:
  friend struct ReactorImpl;
  ListeningPort(ReactorImpl& impl, Address host) : impl_(&impl), host_(std::move(host)) {}
  ReactorImpl* impl_;
  Address host_;
  Port* port_ = nullptr;  // the listening socket's handler, until it stops
};

/// Options of listen_tcp beyond Twisted's (port, factory, backlog, interface).
struct ListenOptions {
  int backlog = SOMAXCONN;   ///< Twisted's backlog (50 there)
  std::string interface {};  ///< "" = every interface, as Twisted; "127.0.0.1", "::1", ...
  bool reuse_port = false;   ///< SO_REUSEPORT: several reactors (threads) on one port
  /// A connection that receives nothing for this long is closed (connection_lost with
  /// ETIMEDOUT; what is queued for it is dropped): a silent or stalled peer does not hold a
  /// descriptor and buffers for ever. Time spent paused (pause_producing, a full write buffer)
  /// counts too. What the server sends does not count: a peer that only listens must send
  /// something now and then, or use TimeoutMixin instead. nullopt (default, as Twisted): never.
  Timeout idle_timeout{};
  /// listen_ssl: a client must complete its TLS handshake within this (default 10 s, as
  /// ServerOptions::handshake_timeout), or it is closed with a one-line report; nullopt: never.
  Timeout handshake_timeout = std::chrono::duration<double>(10);
  /// Behind HAProxy (or a balancer speaking its PROXY protocol, version 1 or 2), as
  /// ServerOptions::proxy_protocol: every connection must begin with a PROXY header from a
  /// trusted peer. The header is read in the loop, without blocking, before the factory builds
  /// the protocol (for listen_ssl, before the TLS handshake, as HAProxy sends it); connection_made
  /// comes once it has been read, and the bytes after it go to data_received. get_peer() is then
  /// the real client, get_balancer() the balancer. A connection from an untrusted peer, with a
  /// malformed header, one that ends or grows past its bound (107 bytes for version 1, 4 KiB
  /// for version 2, as recv_proxy_header) before it is whole, or none within
  /// proxy_header_timeout, is closed with a one-line report on stderr; no protocol is built,
  /// and the port goes on.
  bool proxy_protocol = false;
  /// The balancers allowed to send a header, as ServerOptions::trusted_proxies: IP addresses as
  /// text ("127.0.0.1", "::1"), or "unix" for any peer of a Unix socket. Default: loopback.
  std::vector<std::string> trusted_proxies = default_trusted_proxies();
  /// With proxy_protocol: how long the header may take to arrive (default 5 s, as
  /// ServerOptions::proxy_header_timeout); nullopt: never.
  Timeout proxy_header_timeout = std::chrono::duration<double>(default_proxy_header_timeout);
};

/// Twisted's reactor. Move-less; one per thread.
class Reactor {
 public:
  Reactor();
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  /// Twisted's listenTCP(port, factory, backlog, interface). Throws socket_error
  /// (address_in_use_error, ...) naming the address; std::invalid_argument for an
  /// idle_timeout or proxy_header_timeout that is not a positive number of seconds.
  ListeningPort& listen_tcp(int port, std::shared_ptr<Factory> factory,
                            const ListenOptions& options = {});
  /// Twisted's connectTCP(host, port, factory, timeout): connects in the background; the
  /// factory hears client_connection_failed (with the reason) or gets a protocol. Default
  /// timeout 30 s, as Twisted. The host is resolved now (numeric hosts and /etc/hosts names
  /// resolve without blocking on the network).
  Connector& connect_tcp(std::string_view host, int port, std::shared_ptr<ClientFactory> factory,
                         Timeout timeout = std::chrono::duration<double>(30));
  /// Twisted's listenSSL(port, factory, contextFactory, backlog, interface): listen_tcp whose
  /// connections speak TLS with `context` (a PROTOCOL_TLS_SERVER context with a certificate;
  /// copied, sharing its certificates). The handshake runs in the loop, without blocking and
  /// bounded by options.handshake_timeout; only when it completes does the factory build the
  /// protocol (connection_made, then handshake_completed), which reads and writes plaintext.
  /// A failed handshake is reported on stderr in one line (peer and reason) and closes that
  /// connection. Throws as listen_tcp; std::invalid_argument for a client context, one without
  /// a certificate, or a handshake_timeout that is not a positive number of seconds.
  ListeningPort& listen_ssl(int port, std::shared_ptr<Factory> factory, const SSLContext& context,
                            const ListenOptions& options = {});
  /// Twisted's connectSSL(host, port, factory, contextFactory, timeout): connect_tcp, then a TLS
  /// handshake with `context` (a PROTOCOL_TLS_CLIENT context) that checks the server's
  /// certificate for `server_hostname` (default: `host`). The protocol is built once the
  /// handshake has completed; a refused connection or a failed handshake (a verification
  /// error: "certificate verify failed: ...") reaches client_connection_failed with the
  /// library's message. `timeout` bounds the connect and, again, the handshake.
  Connector& connect_ssl(std::string_view host, int port, std::shared_ptr<ClientFactory> factory,
                         const SSLContext& context,
                         Timeout timeout = std::chrono::duration<double>(30),
                         std::string server_hostname = "");
  /// Twisted's listenUNIX / connectUNIX (a path; a leading '\0' or Address::abstract for an
  /// abstract name). listen_unix removes the socket file when the port stops.
  ListeningPort& listen_unix(const Address& path, std::shared_ptr<Factory> factory,
                             int backlog = SOMAXCONN);
  /// listen_unix with options (backlog, idle_timeout, proxy_protocol; interface and reuse_port
  /// do not apply). Throws std::invalid_argument for an idle_timeout or proxy_header_timeout
  /// that is not a positive number. Behind a balancer, trusted_proxies must name "unix".
  ListeningPort& listen_unix(const Address& path, std::shared_ptr<Factory> factory,
                             const ListenOptions& options);
  /// Twisted's adoptStreamPort(fd, addressFamily, factory): serves `fd`, a listening stream
  /// socket (AF_INET, AF_INET6 or AF_UNIX) bound elsewhere — passed by systemd (listen_fds(),
  /// activation.hpp) or a parent — as listen_tcp serves its own. Unlike Twisted, which
  /// duplicates the descriptor and leaves the caller theirs, the port takes `fd` over and closes
  /// it when it stops (pass dup(fd) to keep one). Of `options`, only idle_timeout and the
  /// proxy_protocol settings apply (the socket already listens). Throws std::invalid_argument
  /// when it is not a listening stream socket of those families (adopt_listening_socket says
  /// why); on that and any other throw (the factory's start_factory) `fd` stays the caller's,
  /// open.
  ListeningPort& adopt_stream_port(int fd, std::shared_ptr<Factory> factory,
                                   const ListenOptions& options = {});
  Connector& connect_unix(const Address& path, std::shared_ptr<ClientFactory> factory,
                          Timeout timeout = std::chrono::duration<double>(30));
  /// Twisted's connectProtocol(endpoint, protocol) / ClientCreator(reactor, P).connectTCP:
  /// connects to host:port (as connect_tcp) and runs `protocol` on the connection;
  /// `connected(protocol)` is called once its connection_made() has returned, `failed(reason)`
  /// when no connection is made (refused, unreachable, timed out) or connection_made threw.
  /// Without `failed`, a failure is reported on stderr. The protocol is owned by the
  /// connection, valid until its connection_lost() returns. Throws as connect_tcp.
  template <class P>
  Connector& connect_protocol(std::string_view host, int port, std::unique_ptr<P> protocol,
                              std::function<void(P&)> connected,
                              std::function<void(const Reason&)> failed = {},
                              Timeout timeout = std::chrono::duration<double>(30)) {
    return connect_created(host, port, nullptr, std::move(protocol),
                           as_protocol(std::move(connected)), std::move(failed), timeout);
  }
  /// The same over a Unix socket (as connect_unix; Twisted's ClientCreator.connectUNIX).
  template <class P>
  Connector& connect_protocol(const Address& path, std::unique_ptr<P> protocol,
                              std::function<void(P&)> connected,
                              std::function<void(const Reason&)> failed = {},
                              Timeout timeout = std::chrono::duration<double>(30)) {
    return connect_created({}, 0, &path, std::move(protocol), as_protocol(std::move(connected)),
                           std::move(failed), timeout);
  }
  /// Twisted's listenUDP(port, protocol, interface, maxPacketSize). A datagram longer than
  /// max_packet_size is dropped and reported, never cut.
  ListeningPort& listen_udp(int port, std::shared_ptr<DatagramProtocol> protocol,
                            std::string_view interface = "", std::size_t max_packet_size = 8192);

  /// Twisted's callLater(delay, f): runs `fn` once after `delay` (in the reactor thread).
  DelayedCall call_later(std::chrono::duration<double> delay, std::function<void()> fn);
  /// Twisted's callFromThread(f): the one thread-safe entry; wakes a blocked loop.
  void call_from_thread(std::function<void()> fn);
  /// Twisted's callWhenRunning(f): now if running, else as soon as run() starts.
  void call_when_running(std::function<void()> fn);
  /// Twisted's addSystemEventTrigger(phase, "shutdown", f) for phase "before", "during" or
  /// "after": "before" runs when stop() ends run(), while connections are still open; then
  /// every open connection is closed and its protocol hears connection_lost (a client
  /// factory client_connection_lost), as Twisted's disconnectAll; "during" and "after" run
  /// next, in the order added. Returns the trigger's id (Twisted's triggerID) for
  /// remove_shutdown_trigger; a trigger stays until removed (it runs at every stop of a
  /// reactor that runs again). Throws std::invalid_argument for another phase.
  TriggerId add_shutdown_trigger(std::string_view phase, std::function<void()> fn);
  /// Twisted's removeSystemEventTrigger(triggerID): the trigger will not run. Returns false
  /// when `id` names no trigger (already removed), where Twisted raises ValueError. Loop
  /// thread (or when run() does not run).
  bool remove_shutdown_trigger(TriggerId id);

  /// Twisted's run(): serves until stop(); connections still open then are closed (see
  /// add_shutdown_trigger), listening ports stay open. With install_signal_handlers, SIGINT and
  /// SIGTERM stop it cleanly (the previous handlers come back when run() returns); before run()
  /// they keep their default action (end the process), as in Twisted — a program that prints
  /// "listening" for a supervisor should print it from call_when_running. A stopped reactor
  /// may run again (Twisted cannot). Throws std::logic_error when already running.
  void run(bool install_signal_handlers = true);
  /// Twisted's stop(): ends run() after the current callback. Idempotent (Twisted raises on a
  /// second call); a no-op when not running. Thread-safe and async-signal-safe.
  void stop() noexcept;
  /// True while run() runs.
  [[nodiscard]] bool running() const noexcept;
  /// Seconds since an arbitrary epoch, on the clock timers use (Twisted's seconds()).
  [[nodiscard]] double seconds() const;

  /// Connectors the reactor holds: those of connect_tcp, connect_unix, connect_ssl and
  /// connect_protocol stay until the reactor is destroyed (their handles may be used again);
  /// asyncio::open_connection's are freed once their connection has ended or failed. Loop
  /// thread.
  [[nodiscard]] std::size_t connector_count() const noexcept;
  /// Shutdown triggers added and not removed, every phase together (asyncio's start_server
  /// adds one per Server, removed once that Server is closed and its handlers have ended).
  /// Loop thread.
  [[nodiscard]] std::size_t shutdown_trigger_count() const noexcept;
  /// Open connections (incoming and outgoing) and the signal, if any, that stopped run().
  /// Both may be read from any thread.
  [[nodiscard]] std::size_t connection_count() const noexcept;
  [[nodiscard]] int stopped_by_signal() const noexcept;

 private:
  friend struct ReactorImpl;
  template <class P>
  static std::function<void(Protocol&)> as_protocol(std::function<void(P&)> connected) {
    static_assert(std::is_base_of_v<Protocol, P>, "connect_protocol: P must be a Protocol");
    if (!connected) return {};
    return [fn = std::move(connected)](Protocol& p) { fn(static_cast<P&>(p)); };
  }
  // connect_protocol's body: to host:port, or to *unix_path when given.
  Connector& connect_created(std::string_view host, int port, const Address* unix_path,
                             std::unique_ptr<Protocol> protocol,
                             std::function<void(Protocol&)> connected,
                             std::function<void(const Reason&)> failed, Timeout timeout);
  std::unique_ptr<ReactorImpl> impl_;
};

/// Twisted's stdio.StandardIO: standard input and output as a transport, so an interactive
/// client reads the keyboard without blocking the loop. data_received gets what stdin gives;
/// transport().write goes to stdout; end of input calls read_connection_lost (default: close,
/// then connection_lost). Only one per process.
class StandardIO {
 public:
  StandardIO(std::unique_ptr<Protocol> protocol, Reactor& reactor, int stdin_fd = 0,
             int stdout_fd = 1);
  ~StandardIO();
  StandardIO(const StandardIO&) = delete;
  StandardIO& operator=(const StandardIO&) = delete;
  [[nodiscard]] Protocol& protocol() const noexcept;

 private:
  friend struct ReactorImpl;
  Reactor* reactor_;
  std::unique_ptr<Protocol> protocol_;
  StreamConnection* io_ = nullptr;  // the connection (owned by the reactor) until it ends
};

/// More than one core: N reactors, one per thread, each with its own listening socket on the
/// same port (SO_REUSEPORT; the kernel spreads connections), each connection owned by exactly
/// one reactor thread. `setup(reactor, index)` runs in each thread before its loop and calls
/// listen_tcp(port, factory, {.reuse_port = true}), or listen_ssl with one SSLContext for all
/// (a factory per thread, or one that is thread-safe). Twisted cannot do this.
class ReactorGroup {
 public:
  explicit ReactorGroup(std::size_t threads);
  ~ReactorGroup();  ///< stops and joins
  ReactorGroup(const ReactorGroup&) = delete;
  ReactorGroup& operator=(const ReactorGroup&) = delete;
  /// Starts the threads; returns when every setup() has returned (rethrows the first error).
  void start(std::function<void(Reactor&, std::size_t)> setup);
  /// Stops every reactor and joins the threads. Idempotent; safe from any thread.
  void stop();
  /// Blocks until SIGINT or SIGTERM (or stop()), then stops everything.
  void run_until_signal();
  /// Runs fn(reactor, index) for every reactor in that reactor's own thread and returns when
  /// every call has returned; rethrows the first exception (the others' calls have run). While
  /// the group runs, each call is queued with call_from_thread; before start() and after
  /// stop(), when no loop runs, the calls run in the calling thread. Not from one of the
  /// group's threads (std::logic_error: it would wait for itself), nor while one of the loops
  /// has been stopped on its own (Reactor::stop) and the group has not: that call would wait
  /// for it. A stop() from another thread waits until the calls have returned.
  void call_in_each(const std::function<void(Reactor&, std::size_t)>& fn);
  [[nodiscard]] std::size_t size() const noexcept { return reactors_.size(); }
  [[nodiscard]] Reactor& reactor(std::size_t i) { return *reactors_.at(i); }

 private:
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::thread> threads_;
  std::mutex control_;  // call_in_each against stop(): a queued call always runs
};

}  // namespace socketserver

#include "socketserver/protocols.hpp"  // IWYU pragma: export
