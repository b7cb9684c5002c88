// reactor_impl.hpp (internal) — the reactor's machinery, shared by reactor.cpp (loop, timers,
// ports) and reactor_io.cpp (stream connections, connectors, UDP, stdio).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "report.hpp"
#include "socketserver/reactor.hpp"

namespace socketserver {

using steady = std::chrono::steady_clock;

/// Anything the loop dispatches to: a connection, a listening port, a connect attempt.
struct Handler {
  virtual ~Handler() = default;
  virtual void on_ready(int events) = 0;
  bool dead = false;  // retired: the loop skips it until the graveyard is emptied
};

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

/// The timers: a binary heap on a vector (earliest first), which can drop its stale entries
/// in place — no allocation, so resetting one call a million times costs no memory.
class TimerHeap {
 public:
  void push(TimerEntry entry) {
    heap_.push_back(std::move(entry));
    std::push_heap(heap_.begin(), heap_.end(), TimerLater{});
  }
  [[nodiscard]] const TimerEntry& top() const { return heap_.front(); }
  void pop() {
    std::pop_heap(heap_.begin(), heap_.end(), TimerLater{});
    heap_.pop_back();
  }
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
  /// Removes the entries of cancelled calls and of calls moved by reset/delay.
  void prune() {
    std::erase_if(heap_, [](const TimerEntry& e) {
      return !e.state->active || e.state->generation != e.generation;
    });
    std::make_heap(heap_.begin(), heap_.end(), TimerLater{});
  }

 private:
  std::vector<TimerEntry> heap_;
};

class StreamConnection;

struct ReactorImpl {
  explicit ReactorImpl(Reactor& owner) : owner(owner), scratch(64 * 1024) {}

  Reactor& owner;
  Selector selector;
  Waker waker;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> running{false};
  std::atomic<int> stop_signal{0};
  std::thread::id loop_thread{};

  std::vector<char> scratch;  // every read lands here first: no buffer per connection

  TimerHeap timers;
  std::uint64_t timer_seq = 0;

  std::mutex calls_mu;
  std::vector<std::function<void()>> thread_calls;  // call_from_thread, under calls_mu
  std::vector<std::function<void()>> startup_calls;
  std::vector<std::function<void()>> before_shutdown;
  std::vector<std::function<void()>> after_shutdown;

  std::unordered_map<Handler*, std::unique_ptr<Handler>> owned;
  std::vector<std::unique_ptr<Handler>> graveyard;
  std::vector<StreamConnection*> pending_closes;
  std::vector<Handler*> always_ready;  // descriptors epoll cannot watch (a regular-file stdin)
  std::vector<std::unique_ptr<ListeningPort>> ports;
  std::vector<std::unique_ptr<Connector>> connectors;
  std::atomic<std::size_t> connections{0};  // read from any thread (connection_count)
  detail::Reporter reporter;

  // ---- ownership -----------------------------------------------------------------------
  Handler* adopt(std::unique_ptr<Handler> handler);
  void retire(Handler* handler);
  void process_pending_closes();

  // ---- selector helpers: `current` is the registered mask, updated ------------------------
  void set_interest(int fd, Handler* handler, int wanted, int& current);

  // ---- timers and calls ----------------------------------------------------------------
  DelayedCall schedule(std::chrono::duration<double> delay, std::function<void()> fn);
  void push_timer(const std::shared_ptr<DelayedCall::State>& state);
  void run_due_timers();
  void run_thread_calls();
  Timeout next_wait();

  // ---- connections ---------------------------------------------------------------------
  /// A connected socket becomes a connection with a protocol from `factory` (nullptr: refused).
  StreamConnection* open_connection(Socket sock, const Address& peer, Factory& factory,
                                    const std::shared_ptr<Factory>& keep, Connector* connector);
  void start_factory(Factory& factory);
  void stop_factory(Factory& factory);
  void start_connecting(Connector& connector);
  void connector_finished(Connector& connector);

  /// Reports the exception being handled: "Unhandled exception in <where> (<peer>): ...".
  void report_exception(const char* where, const std::string& peer);

  // ---- the internals of public classes (ReactorImpl is their friend) ---------------------
  static void*& attempt_of(Connector& c) { return c.attempt_; }
  static void*& connection_of(Connector& c) { return c.connection_; }
  static bool& started_of(Connector& c) { return c.started_; }
  static const Timeout& timeout_of(const Connector& c) { return c.timeout_; }
  static ClientFactory& factory_of(const Connector& c) { return *c.factory_; }
  static void set_transport(DatagramProtocol& p, DatagramProtocol::Transport* t) {
    p.transport_ = t;
  }
  static void*& port_of(ListeningPort& p) { return p.port_; }

  /// A timer entry went stale (reset, delay, cancel): rebuild the heap when stale entries are
  /// the majority, so resetting one call a million times does not grow memory.
  void note_stale_timer();
  std::size_t stale_timers = 0;
};

/// A stream (TCP, Unix, standard input/output): Twisted's transport for one connection.
class StreamConnection final : public Handler, public Transport {
 public:
  StreamConnection(ReactorImpl& impl, Socket sock, Address peer, Protocol* protocol,
                   std::unique_ptr<Protocol> owned_protocol);
  /// Standard input/output: reads `in_fd`, writes `out_fd` (blocking writes).
  StreamConnection(ReactorImpl& impl, int in_fd, int out_fd, Protocol* protocol);

  void on_ready(int events) override;

  void write(std::string_view data) override;
  void lose_connection() override;
  void abort_connection() override;
  void lose_write_connection() override;
  [[nodiscard]] Address get_peer() const override { return peer_; }
  [[nodiscard]] Address get_host() const override;
  void set_tcp_nodelay(bool enabled) override;
  void set_tcp_keepalive(bool enabled) override;
  void pause_producing() override;
  void resume_producing() override;
  [[nodiscard]] std::size_t write_buffer_size() const override { return out_.size() - out_pos_; }
  void set_write_buffer_limits(std::size_t high, std::size_t low) override;
  [[nodiscard]] bool disconnecting() const override { return disconnecting_ || closing_; }
  [[nodiscard]] Reactor& reactor() const override { return impl_.owner; }

  /// Starts the protocol (connection_made) once registered.
  void start();
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
  void do_read();
  void flush();
  void update_interest();
  void after_output_change();
  [[nodiscard]] bool pending_output() const { return out_pos_ < out_.size(); }

  ReactorImpl& impl_;
  Socket sock_;
  int in_fd_;
  int out_fd_;
  bool is_socket_;
  Address peer_;
  Protocol* protocol_;
  std::unique_ptr<Protocol> owned_protocol_;
  std::string out_;
  std::size_t out_pos_ = 0;
  std::size_t high_water_ = 1u << 20;
  std::size_t low_water_ = 256u << 10;
  int registered_ = 0;
  bool reading_ = true;         // not paused by pause_producing
  bool read_closed_ = false;    // end of input seen
  bool disconnecting_ = false;  // lose_connection: close once the output drained
  bool shut_write_pending_ = false;
  bool write_shut_ = false;
  bool writing_paused_ = false;  // the protocol was told pause_writing
  bool closing_ = false;         // begin_close called
  bool finalized_ = false;       // finalize or discard ran
  Reason reason_;
};

}  // namespace socketserver
