// prefork.cpp — PreforkServer: the supervisor's loop, and what a worker does at start.
#include "socketserver/prefork.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "posix_util.hpp"
#include "reactor_impl.hpp"
#include "report.hpp"
#include "socketserver/detail/fd.hpp"
#include "socketserver/errors.hpp"
#include "socketserver/selector.hpp"
#include "socketserver/server.hpp"

namespace socketserver {

namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr int kMaxWorkers = 1024;
constexpr Seconds kStableAfter{1};  // a worker that lived this long resets the back-off

// The supervisor being served, for the SIGHUP and SIGCHLD handlers (SIGINT/SIGTERM go through
// the StopSignalTarget). One at a time, as StopSignalTarget allows.
std::atomic<PreforkServer*> g_supervisor{nullptr};
std::atomic<Waker*> g_supervisor_waker{nullptr};

extern "C" void on_supervisor_signal(int signo) {
  const int saved = errno;
  if (PreforkServer* s = g_supervisor.load()) {
    if (signo == SIGHUP) s->restart();
    if (Waker* w = g_supervisor_waker.load()) w->wake();
  }
  errno = saved;
}

void report_line(const std::string& line) { detail::write_console(2, "prefork: " + line + "\n"); }

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = ::strsignal(WTERMSIG(status));
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           (name != nullptr ? name : "?") + ")";
  }
  return "ended (status " + std::to_string(status) + ")";
}

Clock::time_point after(Clock::time_point t, Seconds d) {
  return t + std::chrono::duration_cast<Clock::duration>(d);
}

void check_duration(Seconds d, const char* name) {
  if (!(d.count() > 0) || d.count() > 1e9) {
    throw std::invalid_argument(std::string("PreforkServer: ") + name +
                                " must be a positive number of seconds");
  }
}

}  // namespace

// ---- PreforkWorker ------------------------------------------------------------------------

void PreforkWorker::notify_ready() noexcept {
  if (ready_fd_ < 0) return;
  const char byte = 'R';
  (void)detail::retry_on_eintr([&] { return ::write(ready_fd_, &byte, 1); });
  detail::close_fd(std::exchange(ready_fd_, -1));
}

int PreforkWorker::serve(TCPServer& server) {
  if (listener.fileno() < 0) throw std::logic_error("PreforkWorker::serve: no listener to serve");
  server.socket = std::move(listener);
  server.server_address = server.socket.getsockname();
  StopOnSignals stop(server);
  notify_ready();
  server.serve_forever();
  server.server_close();  // finishes the requests in flight (block_on_close)
  return 0;
}

int PreforkWorker::serve(Reactor& reactor, std::shared_ptr<Factory> factory,
                         const ListenOptions& options) {
  if (listener.fileno() < 0) throw std::logic_error("PreforkWorker::serve: no listener to serve");
  ListeningPort& port = reactor.adopt_stream_port(listener.fileno(), std::move(factory), options);
  (void)listener.detach();  // the port's now
  server_address = port.get_host();
  // run()'s SIGINT/SIGTERM handlers drain instead of stopping (reactor_impl.hpp).
  ReactorImpl& impl = ReactorImpl::of(reactor);
  impl.drain_on_signal.store(true);
  struct Reset {
    ReactorImpl& impl;
    ~Reset() { impl.drain_on_signal.store(false); }
  } reset{impl};
  reactor.call_when_running([this] { notify_ready(); });  // the handlers are installed then
  reactor.run();
  return 0;
}

// ---- PreforkServer ------------------------------------------------------------------------

struct PreforkServer::Impl {
  struct Slot {
    pid_t pid = 0;                 // the worker serving this slot (0: none)
    std::uint64_t generation = 0;  // the generation of `pid`
    detail::Fd ready;              // read end of its readiness pipe until it said so
    bool is_ready = false;
    Clock::time_point started{};
    pid_t previous = 0;  // rolling restart: the worker `pid` replaces, stopped once it is ready
    Seconds delay{0};    // the current back-off
    Clock::time_point next_start{};  // when pid == 0: when to fork again
  };
  struct Draining {
    pid_t pid;
    Clock::time_point kill_at;
  };

  PreforkServer& self;
  WorkerMain main;
  PreforkOptions options;
  Socket socket = Socket::none();  // shared_socket: the listener; reuse_port: the port's holder
  std::vector<Slot> slots;
  std::vector<Draining> draining;
  std::uint64_t generation = 1;
  // Rolling restart: the next slot to replace (nullopt: none in progress).
  std::optional<std::size_t> rolling;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> restart_requested{false};
  PreforkCounters counters;
  Waker waker;
  Selector selector;
  detail::StopSignalTarget stop_target;
  struct sigaction old_hup {};
  struct sigaction old_chld {};

  Impl(PreforkServer& s, WorkerMain m, const PreforkOptions& o)
      : self(s), main(std::move(m)), options(o) {}

  // ---- the worker side (in the child, after fork) ----------------------------------------

  [[noreturn]] void run_worker(std::size_t index, std::uint64_t gen, int ready_fd, pid_t supervisor,
                               const sigset_t& old_mask) noexcept {
    // The supervisor's signal handling stays in the supervisor.
    stop_target.release();
    g_supervisor.store(nullptr);
    g_supervisor_waker.store(nullptr);
    ::sigaction(SIGHUP, &old_hup, nullptr);
    ::sigaction(SIGCHLD, &old_chld, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    // No worker outlives its supervisor: it gets SIGTERM (and drains) when the supervisor ends.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != supervisor) ::_exit(1);
    // The descriptors of the supervisor's machinery are not the worker's.
    for (Slot& s : slots) s.ready.reset();
    selector.close();
    int status = 1;
    try {
      PreforkWorker worker;
      worker.index = index;
      worker.generation = gen;
      worker.server_address = self.server_address;
      worker.ready_fd_ = ready_fd;
      if (options.listen == PreforkListen::shared_socket) {
        // Non-blocking (timeout 0), as the supervisor made it: see prefork.hpp.
        worker.listener = fromfd(socket.fileno(), socket.family(), socket.type() | SOCK_NONBLOCK);
      } else {
        Socket own(self.server_address.family(), SOCK_STREAM);
        own.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
        own.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
        own.bind(self.server_address);
        own.listen(options.backlog);
        worker.listener = std::move(own);
      }
      socket.close();
      status = main(worker);
      worker.notify_ready();  // (closes the pipe if main never did)
    } catch (...) {
      report_line("worker " + std::to_string(index) + " (pid " + std::to_string(::getpid()) +
                  "): " + detail::current_exception_text());
      status = 1;
    }
    std::fflush(nullptr);
    ::_exit(status);
  }

  // ---- the supervisor side ---------------------------------------------------------------

  // Forks a worker for `slot`; false (reported, retried after the back-off) when fork fails.
  bool start_worker(std::size_t index) {
    Slot& slot = slots[index];
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      report_line(std::string("pipe2: ") + std::strerror(errno));
      schedule_start(slot);
      return false;
    }
    detail::Fd read_end(fds[0]);
    detail::Fd write_end(fds[1]);
    std::fflush(nullptr);  // what is buffered is written once, not once per process
    sigset_t all;
    sigset_t old_mask;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old_mask);  // no handler runs in the child before reset
    const pid_t supervisor = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
      read_end.reset();
      run_worker(index, generation, write_end.release(), supervisor, old_mask);
    }
    const int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    if (pid < 0) {
      report_line(std::string("fork: ") + std::strerror(fork_errno));
      schedule_start(slot);
      return false;
    }
    ++counters.started;
    slot.pid = pid;
    slot.generation = generation;
    slot.is_ready = false;
    slot.started = Clock::now();
    selector.register_(read_end.get(), EVENT_READ, &slot);
    slot.ready = std::move(read_end);
    return true;
  }

  // The back-off: the slot is refilled after slot.delay (doubled each time, bounded).
  void schedule_start(Slot& slot) {
    slot.pid = 0;
    slot.delay = slot.delay.count() <= 0
                     ? options.restart_delay
                     : std::min(slot.delay * 2, Seconds(options.max_restart_delay));
    slot.next_start = after(Clock::now(), slot.delay);
  }

  void forget_ready_pipe(Slot& slot) {
    if (slot.ready) {
      selector.unregister(slot.ready.get());
      slot.ready.reset();
    }
  }

  void mark_ready(Slot& slot) {
    forget_ready_pipe(slot);
    slot.is_ready = true;
  }

  // SIGTERM to `pid`, SIGKILL after the grace period.
  void stop_worker(pid_t pid) {
    ::kill(pid, SIGTERM);
    draining.push_back({pid, after(Clock::now(), options.grace_period)});
  }

  // Reaps every worker that has ended (only our own pids, never waitpid(-1)).
  void reap() {
    for (std::size_t i = 0; i < slots.size(); ++i) {
      Slot& slot = slots[i];
      int status = 0;
      if (slot.previous != 0 && detail::retry_on_eintr([&] {
                                  return ::waitpid(slot.previous, &status, WNOHANG);
                                }) == slot.previous) {
        report_line("worker " + std::to_string(i) + " (pid " + std::to_string(slot.previous) +
                    ") " + describe_status(status) + " while being replaced");
        slot.previous = 0;
      }
      if (slot.pid == 0) continue;
      if (detail::retry_on_eintr([&] { return ::waitpid(slot.pid, &status, WNOHANG); }) !=
          slot.pid) {
        continue;
      }
      const bool young = Clock::now() - slot.started < kStableAfter;
      ++counters.died;
      forget_ready_pipe(slot);
      const pid_t dead = slot.pid;
      if (!young) slot.delay = Seconds(0);
      schedule_start(slot);
      if (!young) slot.next_start = Clock::now();
      report_line("worker " + std::to_string(i) + " (pid " + std::to_string(dead) + ") " +
                  describe_status(status) + "; replaced " +
                  (young ? "in " + std::to_string(slot.delay.count()).substr(0, 5) + " s"
                         : std::string("now")));
      if (slot.previous != 0) {  // a restart's new worker died young: keep the old one
        report_line("restart of worker " + std::to_string(i) +
                    " abandoned: the old worker goes on serving");
        slot.pid = std::exchange(slot.previous, 0);
        slot.is_ready = true;
        slot.generation = generation - 1;
        slot.delay = Seconds(0);
        rolling.reset();
      }
    }
    for (auto it = draining.begin(); it != draining.end();) {
      int status = 0;
      const pid_t rc = detail::retry_on_eintr([&] { return ::waitpid(it->pid, &status, WNOHANG); });
      if (rc == it->pid || (rc < 0 && errno == ECHILD)) {
        it = draining.erase(it);
      } else {
        ++it;
      }
    }
  }

  // The rolling restart, one slot at a time: the new worker is started; once it is ready, the
  // old one of its slot is stopped (it drains) and the next slot follows.
  void advance_restart() {
    if (!rolling && restart_requested.exchange(false)) {
      ++generation;
      rolling = 0;
      report_line("restarting the workers (generation " + std::to_string(generation) + ")");
    }
    while (rolling) {
      if (*rolling == slots.size()) {
        rolling.reset();
        ++counters.restarts;
        report_line("restart done (generation " + std::to_string(generation) + ")");
        return;
      }
      Slot& slot = slots[*rolling];
      if (slot.previous == 0) {
        if (slot.pid == 0 || slot.generation == generation) {  // empty or already new: next
          ++*rolling;
          continue;
        }
        slot.previous = slot.pid;
        slot.pid = 0;
        if (!start_worker(*rolling)) {  // no new worker to be had now: keep the old one
          slot.pid = std::exchange(slot.previous, 0);
          rolling.reset();
          return;
        }
      }
      if (!slot.is_ready && Clock::now() >= after(slot.started, options.ready_timeout)) {
        report_line("worker " + std::to_string(*rolling) + " (pid " + std::to_string(slot.pid) +
                    ") not ready after " + std::to_string(options.ready_timeout.count()) +
                    " s; taken as ready");
        mark_ready(slot);
      }
      if (!slot.is_ready) return;  // wait for it
      stop_worker(std::exchange(slot.previous, 0));
      ++*rolling;
    }
  }

  void refill_and_kill() {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < slots.size(); ++i) {
      Slot& slot = slots[i];
      if (slot.pid == 0 && slot.previous == 0 && now >= slot.next_start) start_worker(i);
      if (slot.pid != 0 && !slot.is_ready && !slot.previous &&
          now >= after(slot.started, options.ready_timeout)) {
        mark_ready(slot);  // not waited for outside a restart: nothing to report
      }
    }
    kill_overdue();
  }

  // How long the loop may sleep: until the next deadline (at most 1 s; SIGCHLD wakes it).
  Seconds next_wait() const {
    auto next = Clock::now() + std::chrono::seconds(1);
    for (const Slot& s : slots) {
      if (s.pid == 0) next = std::min(next, s.next_start);
      if (s.pid != 0 && !s.is_ready) next = std::min(next, after(s.started, options.ready_timeout));
    }
    for (const Draining& d : draining) next = std::min(next, d.kill_at);
    return std::max(Seconds(0), Seconds(next - Clock::now()));
  }

  void wait_for_events() {
    for (const auto& [key, events] : selector.select(next_wait())) {
      if (key.fd == waker.fileno()) {
        waker.drain();
        continue;
      }
      auto* slot = static_cast<Slot*>(key.data);
      char byte = 0;
      const int fd = key.fd;  // clang 14 does not let a lambda capture a structured binding
      const ssize_t n = detail::retry_on_eintr([&] { return ::read(fd, &byte, 1); });
      if (n == 1) {
        mark_ready(*slot);
      } else {
        forget_ready_pipe(*slot);  // the worker exited (reaped next) or closed it
      }
    }
  }

  // Stop: SIGTERM to every worker, SIGKILL to those still running after the grace period.
  void stop_all() {
    rolling.reset();
    for (Slot& slot : slots) {
      forget_ready_pipe(slot);
      if (slot.previous != 0) stop_worker(std::exchange(slot.previous, 0));
      if (slot.pid != 0) stop_worker(std::exchange(slot.pid, 0));
    }
    while (!draining.empty()) {
      reap();
      kill_overdue();
      if (draining.empty()) break;
      selector.select(std::min(next_wait(), Seconds(0.05)));
      waker.drain();
    }
  }

  // SIGKILL to the stopping workers past their grace period.
  void kill_overdue() {
    const auto now = Clock::now();
    for (Draining& d : draining) {
      if (now >= d.kill_at) {
        report_line("worker pid " + std::to_string(d.pid) +
                    " still running after the grace period: SIGKILL");
        ::kill(d.pid, SIGKILL);
        d.kill_at = Clock::time_point::max();
      }
    }
  }

  void install_signals() {
    const auto on_stop = [](void* impl, int) noexcept {
      static_cast<Impl*>(impl)->self.shutdown();
    };
    if (!stop_target.claim(on_stop, this)) {
      throw std::logic_error(
          "PreforkServer::serve_forever: SIGINT/SIGTERM already stop another loop in this process");
    }
    g_supervisor_waker.store(&waker);
    g_supervisor.store(&self);
    struct sigaction sa {};
    sa.sa_handler = on_supervisor_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    ::sigaction(SIGHUP, &sa, &old_hup);
    ::sigaction(SIGCHLD, &sa, &old_chld);
  }

  void restore_signals() noexcept {
    ::sigaction(SIGHUP, &old_hup, nullptr);
    ::sigaction(SIGCHLD, &old_chld, nullptr);
    g_supervisor.store(nullptr);
    g_supervisor_waker.store(nullptr);
    stop_target.release();
  }
};

PreforkServer::PreforkServer(const Address& address, WorkerMain main, const PreforkOptions& options)
    : server_address(address) {
  if (options.workers < 1 || options.workers > kMaxWorkers) {
    throw std::invalid_argument("PreforkServer: workers must be between 1 and " +
                                std::to_string(kMaxWorkers) + ", not " +
                                std::to_string(options.workers));
  }
  if (!main) throw std::invalid_argument("PreforkServer: no worker main given");
  check_duration(options.grace_period, "grace_period");
  check_duration(options.ready_timeout, "ready_timeout");
  check_duration(options.restart_delay, "restart_delay");
  check_duration(options.max_restart_delay, "max_restart_delay");
  if (options.backlog < 0) throw std::invalid_argument("PreforkServer: negative backlog");
  const int family = address.family();
  if (options.listen == PreforkListen::reuse_port && family != AF_INET && family != AF_INET6) {
    throw std::invalid_argument("PreforkServer: reuse_port needs an IPv4 or IPv6 address");
  }
  impl_ = std::make_unique<Impl>(*this, std::move(main), options);
  impl_->slots.resize(static_cast<std::size_t>(options.workers));
  Socket sock(family, SOCK_STREAM);
  if (family != AF_UNIX) sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  if (options.listen == PreforkListen::reuse_port) sock.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  sock.bind(address);
  if (options.listen == PreforkListen::shared_socket) {
    sock.listen(options.backlog);
    // O_NONBLOCK belongs to the open file, which every worker shares: non-blocking for good, so
    // that no worker's setting (a pool's, restored as it stops) leaves another blocked in
    // accept() when a third process took the connection.
    sock.settimeout(std::chrono::duration<double>(0));
  }
  server_address = sock.getsockname();
  impl_->socket = std::move(sock);
  impl_->selector.register_(impl_->waker.fileno(), EVENT_READ);
}

PreforkServer::~PreforkServer() {
  if (!impl_) return;
  try {
    impl_->stop_all();
  } catch (...) {  // a destructor must not throw; what is left is killed
    for (auto& s : impl_->slots) {
      if (s.pid != 0) ::kill(s.pid, SIGKILL);
    }
  }
}

void PreforkServer::serve_forever() {
  Impl& m = *impl_;
  m.install_signals();
  try {
    for (std::size_t i = 0; i < m.slots.size(); ++i) {
      if (m.slots[i].pid == 0) m.start_worker(i);
    }
    while (!m.stop_requested.load()) {
      m.reap();
      m.advance_restart();
      m.refill_and_kill();
      if (m.stop_requested.load()) break;
      m.wait_for_events();
    }
    m.stop_all();
  } catch (...) {
    m.restore_signals();
    throw;
  }
  m.restore_signals();
  m.stop_requested.store(false);
}

void PreforkServer::restart() noexcept {
  impl_->restart_requested.store(true);
  impl_->waker.wake();
}

void PreforkServer::shutdown() noexcept {
  impl_->stop_requested.store(true);
  impl_->waker.wake();
}

std::vector<pid_t> PreforkServer::worker_pids() const {
  std::vector<pid_t> pids;
  for (const auto& s : impl_->slots) pids.push_back(s.pid);
  return pids;
}

PreforkCounters PreforkServer::counters() const { return impl_->counters; }

}  // namespace socketserver
