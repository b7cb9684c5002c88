// reactor_impl.hpp (internal) — the reactor's machinery, shared by reactor.cpp (loop, timers,
// ports) and reactor_io.cpp (stream connections, connectors, UDP, stdio).
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "epoll.hpp"
#include "posix_util.hpp"
#include "report.hpp"
#include "socketserver/proxy_protocol.hpp"
#include "socketserver/reactor.hpp"

namespace socketserver {

using steady = std::chrono::steady_clock;

/// Anything the loop dispatches to: a connection, a listening port, a connect attempt.
struct Handler {
  virtual ~Handler() = default;
  virtual void on_ready(int events) = 0;
  int interest = 0;        // the events registered in the reactor's epoll set (0: none)
  bool dead = false;       // retired: the loop skips it until the graveyard is emptied
  bool is_stream = false;  // a StreamConnection: the loop calls it without a virtual call
};

class StreamConnection;

/// Something between a StreamConnection and the user's protocol (TLS: reactor_tls.hpp): a
/// Protocol to the transport under it, a Transport to the protocol above it, which it may build
/// itself later (after a handshake) or be given (start_tls).
class Layer : public Protocol, public Transport {
 public:
  StreamConnection* stream = nullptr;  // the connection at the bottom (set when installed)
};

/// How a port or connector opens each of its connections (listen_ssl, connect_ssl): the
/// connection's outermost Layer, told the peer, the factory whose protocol it will carry and
/// the connector (nullptr for an incoming connection). Empty: the factory's protocol is the
/// connection's own, as listen_tcp.
using LayerMaker = std::function<std::unique_ptr<Layer>(const Address& peer, Factory& factory,
                                                        const std::shared_ptr<Factory>& keep,
                                                        Connector* connector)>;

/// A listening port (reactor_ports.cpp): a Handler with a public handle, told when it stops.
struct Port : Handler {
  ListeningPort* owner = nullptr;
  LayerMaker layer;  // listen_ssl's TLS (stream ports; empty: plain)
  /// Stops listening: unregisters, closes, tells the protocol or factory, and retires itself.
  virtual void stop() = 0;
};

/// A Handler as the data of its epoll registration, and back.
inline std::uint64_t as_data(Handler* handler) noexcept {
  return reinterpret_cast<std::uintptr_t>(handler);
}
inline Handler* as_handler(std::uint64_t data) noexcept {
  return reinterpret_cast<Handler*>(static_cast<std::uintptr_t>(data));
}

struct DelayedCall::State {
  ReactorImpl* impl = nullptr;
  std::function<void()> fn;
  steady::time_point when{};
  std::uint64_t generation = 0;
  bool active = true;
};

struct TimerEntry {
  steady::time_point when;
  std::uint64_t seq;
  std::uint64_t generation;
  std::shared_ptr<DelayedCall::State> state;
};
struct TimerLater {
  bool operator()(const TimerEntry& a, const TimerEntry& b) const {
    return a.when > b.when || (a.when == b.when && a.seq > b.seq);
  }
};

/// The reactor's timers: a binary heap on a vector (earliest first) of entries for DelayedCall
/// states. reset/delay push a new entry and leave the old one stale; cancelled and moved
/// entries are skipped when they come up and pruned in place once they are the majority — no
/// allocation, so resetting one call a million times costs no memory. Reactor thread only.
class Timers {
 public:
  /// A new call due at `when`, run by the loop of `impl`.
  std::shared_ptr<DelayedCall::State> add(ReactorImpl* impl, steady::time_point when,
                                          std::function<void()> fn);
  /// (Re)files `state` at its `when` and generation (after reset or delay).
  void push(const std::shared_ptr<DelayedCall::State>& state) {
    heap_.push_back(TimerEntry{state->when, seq_++, state->generation, state});
    std::push_heap(heap_.begin(), heap_.end(), TimerLater{});
  }
  /// An entry went stale (reset, delay, cancel).
  void note_stale();
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  /// The time the earliest live call is due (stale heads are dropped first); nullopt: none.
  std::optional<steady::time_point> next_due();
  /// The function of the next live call due at `now`, taken out (the call is no longer
  /// active); nullopt when none is due.
  std::optional<std::function<void()>> pop_due(steady::time_point now);
  /// The reactor is going: every pending DelayedCall forgets it (cancel stays harmless).
  void detach_all() noexcept;

 private:
  [[nodiscard]] static bool live(const TimerEntry& e) noexcept {
    return e.state->active && e.state->generation == e.generation;
  }
  void pop() {
    std::pop_heap(heap_.begin(), heap_.end(), TimerLater{});
    heap_.pop_back();
  }
  void pop_stale() {
    pop();
    if (stale_ > 0) --stale_;
  }

  std::vector<TimerEntry> heap_;
  std::uint64_t seq_ = 0;  // ties broken in the order of scheduling
  std::size_t stale_ = 0;  // entries of cancelled or moved calls still in heap_
};

/// call_from_thread's queue: any thread adds, the loop takes everything at once.
class CallQueue {
 public:
  void push(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(fn));
    pending_.store(true, std::memory_order_release);
  }
  /// True when calls wait (a cheap read, once per loop iteration).
  [[nodiscard]] bool pending() const noexcept { return pending_.load(std::memory_order_acquire); }
  std::vector<std::function<void()>> take() {
    std::vector<std::function<void()>> calls;
    std::lock_guard<std::mutex> lock(mu_);
    calls.swap(calls_);
    pending_.store(false, std::memory_order_relaxed);
    return calls;
  }

 private:
  std::mutex mu_;
  std::vector<std::function<void()>> calls_;
  std::atomic<bool> pending_{false};  // calls_ is not empty (set under mu_)
};

class StreamConnection;

struct ReactorImpl {
  explicit ReactorImpl(Reactor& owner) : owner(owner), scratch(64 * 1024) {}

  Reactor& owner;
  // The epoll set: each registration carries its Handler as the data, so the loop dispatches
  // straight from epoll_wait's buffer (no lookup by descriptor, no copy of the ready list).
  detail::Epoll poller;
  std::vector<epoll_event> ready = std::vector<epoll_event>(1024);  // epoll_wait's, reused
  Waker waker;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> running{false};
  std::atomic<int> stop_signal{0};
  // PreforkWorker::serve(Reactor&) (prefork.cpp): with drain_on_signal, run()'s SIGINT/SIGTERM
  // drain instead of stopping: drain_requested is set, the loop closes every listening port and
  // ends once the last connection has closed (drain_step). A second signal stops at once.
  std::atomic<bool> drain_on_signal{false};
  std::atomic<bool> drain_requested{false};
  void drain_step();
  // The loop's thread while run() runs. In a debug build (NDEBUG undefined) the calls that belong
  // to it check it, as muduo's assertInLoopThread: from another thread they throw.
  std::atomic<std::thread::id> loop_thread{};
  void check_loop_thread(const char* what) const {
#ifndef NDEBUG
    const std::thread::id owner = loop_thread.load(std::memory_order_relaxed);
    if (owner != std::thread::id{} && owner != std::this_thread::get_id()) {
      throw std::logic_error(std::string(what) +
                             ": called from another thread while the reactor runs (use "
                             "call_from_thread)");
    }
#else
    (void)what;
#endif
  }

  std::vector<char> scratch;  // every read lands here first: no buffer per connection

  Timers timers;
  // Connections with an idle timeout, and the time the loop last woke up (read after each
  // epoll_wait while there are any): their input is stamped with it, without a clock read.
  std::size_t idle_watchers = 0;
  steady::time_point loop_now{};

  CallQueue thread_calls;  // call_from_thread
  std::vector<std::function<void()>> startup_calls;
  struct Trigger {
    TriggerId id;
    std::function<void()> fn;
  };
  std::vector<Trigger> before_shutdown;
  std::vector<Trigger> after_shutdown;  // "during" and "after"
  std::uint64_t last_trigger_id = 0;

  std::unordered_map<Handler*, std::unique_ptr<Handler>> owned;
  std::vector<std::unique_ptr<Handler>> graveyard;
  std::vector<StreamConnection*> pending_closes;
  std::vector<Handler*> always_ready;  // descriptors epoll cannot watch (a regular-file stdin)
  std::vector<std::unique_ptr<ListeningPort>> ports;
  std::vector<std::unique_ptr<Connector>> connectors;
  std::unordered_map<const Connector*, LayerMaker> connector_layers;  // connect_ssl's TLS
  std::atomic<std::size_t> connections{0};  // read from any thread (connection_count)
  detail::Reporter reporter;

  // ---- ownership -----------------------------------------------------------------------
  Handler* adopt(std::unique_ptr<Handler> handler);
  void retire(Handler* handler);
  /// Finalizes the connections that began closing (cheap when none did: once per event).
  void process_pending_closes() {
    if (!pending_closes.empty()) finalize_pending_closes();
  }
  void finalize_pending_closes();
  /// At shutdown: closes every open connection, each protocol told (connection_lost).
  void disconnect_all();

  // ---- the epoll set: `handler->interest` is the registered mask, updated ------------------
  void set_interest(int fd, Handler* handler, int wanted) {
    if (wanted != handler->interest && fd >= 0) change_interest(fd, handler, wanted);
  }
  void change_interest(int fd, Handler* handler, int wanted);

  // ---- timers and calls ----------------------------------------------------------------
  DelayedCall schedule(std::chrono::duration<double> delay, std::function<void()> fn);
  void run_due_timers() {
    if (!timers.empty()) run_timers();  // no clock read while there are no timers
  }
  void run_timers();
  void run_thread_calls() {
    if (thread_calls.pending()) run_calls();
  }
  void run_calls();
  /// epoll_wait's timeout in milliseconds (-1: no timer, wait for an event).
  int next_wait_ms();
  /// Serves the `n` ready events of one epoll_wait (reactor_io.cpp).
  void dispatch(const epoll_event* ready, int n);

  // ---- connections ---------------------------------------------------------------------
  /// A connected socket becomes a connection with a protocol from `factory` (nullptr: refused).
  StreamConnection* open_connection(Socket sock, const Address& peer, Factory& factory,
                                    const std::shared_ptr<Factory>& keep, Connector* connector,
                                    steady::duration idle = {}, const LayerMaker* layer = nullptr);
  void start_factory(Factory& factory);
  void stop_factory(Factory& factory);
  void start_connecting(Connector& connector);
  void connector_finished(Connector& connector);

  /// Reports the exception being handled: "Unhandled exception in <where> (<peer>): ...".
  void report_exception(const char* where, const std::string& peer);

  // ---- the internals of public classes ------------------------------------------------
  // ReactorImpl is the one friend of each public class of reactor.hpp (an attorney): the
  // reactor's pieces reach those classes' private state only through these.
  static ReactorImpl& of(Reactor& r) { return *r.impl_; }
  static Transport*& transport_of(Protocol& p) { return p.transport_; }
  static Factory*& factory_of(Protocol& p) { return p.factory_; }
  static StreamConnection*& io_of(StandardIO& s) { return s.io_; }
  /// A new Connector to `to`, owned by the reactor (connect_tcp, connect_unix).
  Connector& add_connector(Address to, std::shared_ptr<ClientFactory> factory, Timeout timeout) {
    return *connectors.emplace_back(
        new Connector(*this, std::move(to), std::move(factory), timeout));
  }
  static ConnectAttempt*& attempt_of(Connector& c) { return c.attempt_; }
  static StreamConnection*& connection_of(Connector& c) { return c.connection_; }
  static ProtocolCreator*& creator_of(Connector& c) { return c.creator_; }
  static bool& started_of(Connector& c) { return c.started_; }
  /// A connector nobody holds a handle to (asyncio open_connection's): freed by the loop once
  /// it has finished (connector_finished), instead of with the reactor.
  static void release_when_finished(Connector& c) { c.released_ = true; }
  static const Timeout& timeout_of(const Connector& c) { return c.timeout_; }
  static ClientFactory& factory_of(const Connector& c) { return *c.factory_; }
  static void set_transport(DatagramProtocol& p, DatagramProtocol::Transport* t) {
    p.transport_ = t;
  }
  static Port*& port_of(ListeningPort& p) { return p.port_; }
  /// Gives `port` its public handle, named by `host`.
  ListeningPort& publish(Port& port, Address host);
};

/// ListenOptions::proxy_protocol (reactor_proxy.cpp). check_proxy_options throws
/// std::invalid_argument, naming `where`, for a proxy_header_timeout that is not a positive
/// number (called before the port is opened); add_proxy_layer then makes each connection of
/// `port` read its PROXY header first, then go on as the port's layer so far (listen_ssl's TLS)
/// or, without one, with the factory's protocol. Both do nothing without proxy_protocol.
void check_proxy_options(const ListenOptions& options, const char* where);
void add_proxy_layer(ReactorImpl& impl, ListeningPort& port, const ListenOptions& options);

/// New ports, adopted by `impl` and listening (reactor_ports.cpp). A stream port on `sock`
/// (bound and listening) starts `factory`, is published as `host` and serves its connections as
/// `options` say (`idle`: its idle_timeout, checked; the PROXY settings).
ListeningPort& open_stream_port(ReactorImpl& impl, Socket&& sock, Address host,
                                std::shared_ptr<Factory> factory, detail::BoundSocketFile file,
                                steady::duration idle, const ListenOptions& options);
Port& open_udp_port(ReactorImpl& impl, Socket sock, std::shared_ptr<DatagramProtocol> protocol,
                    std::size_t max_packet_size);

/// connect_protocol's factory (Twisted's ClientCreator): hands out its one protocol and tells
/// the caller how the connection fared.
class ProtocolCreator final : public ClientFactory {
 public:
  ProtocolCreator(ReactorImpl& impl, std::unique_ptr<Protocol> protocol,
                  std::function<void(Protocol&)> connected,
                  std::function<void(const Reason&)> failed)
      : impl_(impl),
        protocol_(std::move(protocol)),
        connected_(std::move(connected)),
        failed_(std::move(failed)) {}
  /// The protocol, once (a second connect of the same connector gets none: refused).
  std::unique_ptr<Protocol> build_protocol(const Address& addr) override;
  void client_connection_failed(Connector& connector, const Reason& reason) override;
  /// The connection is up and connection_made() ran: `made` is false when it threw.
  void made(Protocol& protocol, bool made, const Reason& reason);

 private:
  void fail(const Address& to, const Reason& reason);
  ReactorImpl& impl_;
  std::unique_ptr<Protocol> protocol_;
  std::function<void(Protocol&)> connected_;
  std::function<void(const Reason&)> failed_;
};

/// A stream (TCP, Unix, standard input/output): Twisted's transport for one connection.
class StreamConnection final : public Handler, public Transport {
 public:
  StreamConnection(ReactorImpl& impl, Socket sock, Address peer, Protocol* protocol,
                   std::unique_ptr<Protocol> owned_protocol);
  /// Standard input/output: reads `in_fd`, writes `out_fd` (blocking writes).
  StreamConnection(ReactorImpl& impl, int in_fd, int out_fd, Protocol* protocol);

  void on_ready(int events) override;
  /// on_ready's body, which the loop's dispatch (reactor_io.cpp) calls without a virtual call.
  void handle_events(int events);

  void write(std::string_view data) override;
  void lose_connection() override;
  void abort_connection() override;
  void lose_write_connection() override;
  [[nodiscard]] Address get_peer() const override { return peer_; }
  [[nodiscard]] Address get_host() const override;
  [[nodiscard]] std::optional<Address> get_balancer() const override {
    if (!proxied_) return std::nullopt;
    return proxied_->balancer;
  }
  [[nodiscard]] const ProxyHeader* proxy_header() const override {
    return proxied_ ? &proxied_->header : nullptr;
  }
  void set_tcp_nodelay(bool enabled) override;
  void set_tcp_keepalive(bool enabled) override;
  void pause_producing() override;
  void resume_producing() override;
  [[nodiscard]] std::size_t write_buffer_size() const override { return out_.size(); }
  void set_write_buffer_limits(std::size_t high, std::size_t low) override;
  [[nodiscard]] bool disconnecting() const override { return phase_ != Phase::open; }
  [[nodiscard]] Reactor& reactor() const override { return impl_.owner; }
  void start_tls(const SSLContext& context, bool server_side,
                 const std::string& server_hostname) override;

  /// Puts `layer` between this connection and its protocol (start_tls), and starts it (its
  /// connection_made).
  void install_layer(std::unique_ptr<Layer> layer);

  /// PROXY (reactor_proxy.cpp): `header` came first from the peer, a trusted balancer; the
  /// client it names (if any) is the peer from now on, the balancer get_balancer().
  void set_proxied(ProxyHeader header);
  /// Hands the connection to `next` (built by `factory`) in place of its protocol so far, the
  /// PROXY header's reader, which is kept until the connection goes (it is the caller); starts
  /// `next` (connection_made) and gives it `rest`, the bytes of the current read after the
  /// header, unless it closed the connection meanwhile. A `next` that paused reading in its
  /// connection_made gets `rest` when it resumes, before anything read after it.
  void replace_protocol(std::unique_ptr<Protocol> next, Factory& factory, std::string_view rest);

  /// Starts the protocol (connection_made) once registered; false when connection_made threw
  /// (the connection is closing with reason()).
  bool start();
  /// ListenOptions::idle_timeout: closes the connection after `limit` without input.
  void set_idle_timeout(steady::duration limit);
  /// Why the connection ends (once begin_close ran).
  [[nodiscard]] const Reason& reason() const noexcept { return reason_; }
  /// Ends the connection after the current callback: connection_lost(reason) comes from the
  /// loop, never from inside the caller's stack.
  void begin_close(Reason reason);
  /// Unregisters, closes, tells the protocol (and connector). Called by the loop.
  void finalize();
  /// Forgets the protocol without callbacks (StandardIO's destructor, reactor teardown).
  void discard();

  Connector* connector = nullptr;
  std::shared_ptr<Factory> factory_keep;  // keeps the factory alive while connected
  StandardIO* stdio_owner = nullptr;      // told when the connection is gone
  bool always_ready = false;              // stdin that epoll cannot watch

 private:
  template <class Fn>
  bool call_protocol(const char* what, Fn&& fn);
  void protocol_failed(const char* what);  // reports the exception, closes (cold)
  void read_failed(ssize_t n, int err);    // end of input, or an error (cold)
  void write_slow(std::string_view data);  // write() when it cannot just send (cold)
  void write_stdio(std::string_view data);
  void write_rest(std::string_view data, ssize_t sent);  // after a short send (cold)
  void flush();
  void update_interest();
  void after_output_change();
  void check_idle();  // the idle timer fired: close, or wait for the rest of the period
  void stop_idle();
  [[nodiscard]] bool pending_output() const { return !out_.empty(); }
  [[nodiscard]] bool closing() const noexcept { return phase_ >= Phase::closing; }

  ReactorImpl& impl_;
  Socket sock_;
  int in_fd_;
  int out_fd_;
  bool is_socket_;
  Address peer_;
  Protocol* protocol_;
  std::unique_ptr<Protocol> owned_protocol_;
  std::unique_ptr<Layer> layer_;     // installed by start_tls: protocol_ is then this layer
  std::unique_ptr<Protocol> spent_;  // the PROXY header's reader, once replace_protocol ran
  struct Proxied {
    ProxyHeader header;
    Address balancer;
  };
  std::unique_ptr<Proxied> proxied_;  // set_proxied: the header and who sent it
  detail::ByteBuffer out_;            // output not yet sent
  std::size_t high_water_ = 1u << 20;
  std::size_t low_water_ = 256u << 10;
  // Where the connection is in its life; it only ever moves forward.
  enum class Phase : std::uint8_t {
    open,           // reading and writing
    disconnecting,  // lose_connection: closes once the output has drained; reads no more
    closing,        // begin_close ran: connection_lost comes from the loop
    finalized,      // finalize or discard ran: the loop retires it
  };
  // The writing half (lose_write_connection); forward only too.
  enum class WriteSide : std::uint8_t {
    open,
    shutting,  // shut down once the output has drained
    shut,      // shutdown(SHUT_WR) done
  };
  Phase phase_ = Phase::open;
  WriteSide write_side_ = WriteSide::open;
  bool reading_ = true;          // not paused by pause_producing
  bool read_closed_ = false;     // end of input seen
  bool writing_paused_ = false;  // the protocol was told pause_writing
  // The hot paths' two questions, each kept in one flag: write() cannot just send
  // (!is_socket_ || phase_ != open || write_side_ != open; it only ever turns on), and
  // on_ready may read (reading_ && !read_closed_ && phase_ < disconnecting).
  bool direct_write_off_ = false;
  bool may_read_ = true;
  bool idle_ = false;                // an idle timeout is armed
  steady::duration idle_limit_{};    // ListenOptions::idle_timeout
  steady::time_point last_input_{};  // the loop's time at the last read that brought bytes
  DelayedCall idle_timer_;
  // Bytes read for a protocol that had paused before they could be given to it
  // (replace_protocol's rest): delivered from the loop once it resumes, before any new read.
  struct HeldInput {
    std::string bytes;
    DelayedCall delivery;
  };
  std::unique_ptr<HeldInput> held_;
  void deliver_held();
  void drop_held();  // the connection ends: nothing held outlives it
  Reason reason_;
};

}  // namespace socketserver
