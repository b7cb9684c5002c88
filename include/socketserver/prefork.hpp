// prefork.hpp — N worker processes on one port, supervised (no Python twin: gunicorn's arbiter,
// Apache's prefork MPM, nginx's master process).
//
//   PreforkServer server({"127.0.0.1", 21567}, [](PreforkWorker& worker) {
//     ThreadPoolTCPServer pool(worker.server_address, handler<H>(), {.bind_and_activate = false});
//     return worker.serve(pool);   // adopts the listening socket; SIGTERM drains and returns 0
//   }, {.workers = 4});
//   server.serve_forever();        // until SIGTERM/SIGINT; SIGHUP restarts the workers one by one
//
// A worker may be a reactor instead: `return worker.serve(reactor, factory);` (the reactor
// adopts the listening socket; SIGTERM closes it and lets the connections drain).
//
// The supervisor forks `workers` processes and calls `main(worker)` in each; it never serves a
// connection itself. It replaces a worker that dies (after a back-off when workers keep dying
// young, so a worker that crashes at start cannot turn into a fork bomb), stops them all
// gracefully on SIGTERM/SIGINT (SIGTERM to each, SIGKILL to those still running after
// grace_period), and on SIGHUP restarts them one at a time: a new worker is started and has said
// it is ready (PreforkWorker::notify_ready, which serve() calls) before the old one of its slot
// gets SIGTERM and drains.
//
// Who owns the listening socket (PreforkOptions::listen):
//   shared_socket (default): the supervisor binds and listens once; every worker inherits that
//     socket. There is one accept queue, which lives as long as the supervisor: a worker that
//     stops accepting (draining, killed, crashed) leaves the connections queued to the others,
//     and while no worker runs at all the kernel still completes handshakes into the queue. A
//     restart refuses nothing and loses nothing, on any kernel, with no sysctl.
//     The socket is non-blocking (its O_NONBLOCK flag is shared by every process that holds it;
//     the worker's listener has timeout 0): a worker must not make it blocking, or another
//     that loses a race for a connection would wait in accept() (the servers' loops take
//     blocking_io_error from accept as "no connection after all").
//   reuse_port: each worker binds its own SO_REUSEPORT socket (the kernel spreads connections
//     over the workers by hash, as ReactorGroup does for threads). The supervisor holds the port
//     with a bound, non-listening socket (so port 0 gets one port for all). When a worker's
//     socket closes, the connections in ITS queue are reset, unless net.ipv4.tcp_migrate_req
//     is 1 (Linux >= 5.14; off by default, per network namespace), which moves them to another
//     socket of the group. Measured here (Linux 6.18, tsTservPrefork --workers 2, loadgen churn
//     with 16 clients for 6 s through 12 rolling restarts (SIGHUP every 0.5 s)):
//       shared_socket                       49,626 requests, 0 errors
//       reuse_port, tcp_migrate_req = 0     68,162 requests, 83 errors (connections reset)
//       reuse_port, tcp_migrate_req = 1     84,142 requests, 0 errors
//     Hence shared_socket is the default: zero errors with no sysctl; reuse_port is there for
//     the spreading of load it gives (each worker its own queue, no herd on one socket) on a
//     host where tcp_migrate_req=1 is set.
//
// A worker is a child of the supervisor: SIGINT/SIGTERM/SIGHUP/SIGCHLD have their default
// dispositions there (serve() installs its own stop), and it gets SIGTERM when the supervisor
// dies (PR_SET_PDEATHSIG), so no worker outlives it.
//
// Thread-safety: serve_forever runs in one thread (the supervisor is meant to be a process of
// its own: it forks, so other threads of the process are not copied into the workers);
// restart() and shutdown() may be called from any thread and from a signal handler.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "socketserver/address.hpp"
#include "socketserver/reactor.hpp"
#include "socketserver/socket.hpp"

namespace socketserver {

class TCPServer;

/// Where the listening socket lives (see the top of this header).
enum class PreforkListen {
  shared_socket,  ///< one socket, bound by the supervisor, inherited by every worker (default)
  reuse_port,     ///< one SO_REUSEPORT socket per worker (needs tcp_migrate_req for restarts)
};

/// The supervisor's settings. Durations are seconds.
struct PreforkOptions {
  int workers = 2;  ///< worker processes, 1..1024 (std::invalid_argument otherwise)
  PreforkListen listen = PreforkListen::shared_socket;
  int backlog = SOMAXCONN;  ///< listen backlog of the socket(s)
  /// How long a stopping worker (SIGTERM: shutdown, or replaced by a restart) may take to finish
  /// its requests and exit before it gets SIGKILL.
  std::chrono::duration<double> grace_period{10};
  /// How long a new worker may take to call notify_ready(); after it, it is taken as ready (and
  /// a line says so), so a worker that never says so cannot stall a restart.
  std::chrono::duration<double> ready_timeout{10};
  /// Back-off before replacing a worker that died younger than 1 s: restart_delay, doubled for
  /// each such death in a row, at most max_restart_delay. A worker that lived 1 s or more is
  /// replaced at once.
  std::chrono::duration<double> restart_delay{0.1};
  std::chrono::duration<double> max_restart_delay{5};
};

/// What a worker process gets: its listening socket and its place. Lives in the worker.
class PreforkWorker {
 public:
  std::size_t index = 0;             ///< the worker's slot, 0..workers-1 (kept across restarts)
  std::uint64_t generation = 0;      ///< 1 for the first workers, +1 for each rolling restart
  Address server_address;            ///< where the server listens (the real port when 0 was asked)
  Socket listener = Socket::none();  ///< the listening socket, this process's to use

  /// Tells the supervisor that this worker accepts connections now (once; later calls do
  /// nothing). A restart waits for it before stopping the old worker of this slot.
  void notify_ready() noexcept;
  /// Serves `server` (a TCPServer or a mixin over one, built with .bind_and_activate = false)
  /// on the worker's listener until SIGTERM or SIGINT; then it stops accepting, server_close
  /// finishes the requests in flight (a pool's or a threading server's block_on_close), and it
  /// returns 0, the worker's exit status. Throws std::logic_error when the listener was taken.
  int serve(TCPServer& server);
  /// Serves the worker's listener with `reactor` (Reactor::adopt_stream_port: the port takes
  /// it; of `options`, idle_timeout applies) and `factory`'s protocols: runs the reactor, which
  /// calls notify_ready() once running, until SIGTERM or SIGINT. Then the port closes (the
  /// connections queued go to the other workers) and run() returns once the last connection
  /// has closed — every connection of the reactor, the ones it opened too (connect_tcp: a
  /// worker that keeps a connection to a backend open drains until the grace period ends) —
  /// and a connection that never ends is ended by the
  /// supervisor's SIGKILL after grace_period; a second SIGTERM or SIGINT stops at once, closing
  /// those still open. This drain is the worker's: Reactor::run() alone stops at once. Returns
  /// 0, the worker's exit status. Call it in the worker's thread, with a reactor that is not
  /// running. Throws std::logic_error when the listener was taken, as Reactor::adopt_stream_port
  /// for a bad factory or idle_timeout.
  int serve(Reactor& reactor, std::shared_ptr<Factory> factory, const ListenOptions& options = {});

 private:
  friend class PreforkServer;
  int ready_fd_ = -1;  // write end of the readiness pipe (the supervisor reads the other)
};

/// Counters of a PreforkServer (for reports and tests); read in the supervisor's thread.
struct PreforkCounters {
  std::size_t started = 0;   ///< workers forked
  std::size_t died = 0;      ///< workers that exited without being asked to (replaced)
  std::size_t restarts = 0;  ///< rolling restarts completed
};

/// The supervisor (see the top of this header).
class PreforkServer {
 public:
  /// What each worker runs; its return value is the worker's exit status (an exception is
  /// reported on stderr and exits 1).
  using WorkerMain = std::function<int(PreforkWorker&)>;

  /// Binds `address` (shared_socket: and listens; reuse_port: holds the port). Throws
  /// std::invalid_argument for a bad option (workers outside 1..1024, a negative or zero
  /// duration, an empty main, a Unix address with reuse_port), socket_error when the bind fails.
  PreforkServer(const Address& address, WorkerMain main, const PreforkOptions& options = {});
  /// Stops the workers still running (as after SIGTERM) and closes the socket.
  ~PreforkServer();
  PreforkServer(const PreforkServer&) = delete;
  PreforkServer& operator=(const PreforkServer&) = delete;

  /// Starts the workers and supervises them until SIGTERM, SIGINT or shutdown(); then stops
  /// them all (SIGTERM, SIGKILL after grace_period) and returns once every one has exited.
  /// SIGHUP (or restart()) restarts them one by one. The signals' previous dispositions come
  /// back when it returns. Throws std::logic_error when SIGINT/SIGTERM already stop another loop.
  void serve_forever();
  /// A rolling restart (what SIGHUP does). Async-signal-safe.
  void restart() noexcept;
  /// Ends serve_forever (what SIGTERM does). Async-signal-safe.
  void shutdown() noexcept;

  /// The pids of the workers serving now, by slot (0 for a slot waiting to be refilled).
  [[nodiscard]] std::vector<pid_t> worker_pids() const;
  [[nodiscard]] PreforkCounters counters() const;
  /// The bound address (the real port when 0 was asked).
  Address server_address;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace socketserver
