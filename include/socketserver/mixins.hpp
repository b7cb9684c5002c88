// clang-format off
// mixins.hpp — Python's ThreadingMixIn and ForkingMixIn as policy templates over a server.
//
//   Python                                                C++
//   class ThreadingTCPServer(ThreadingMixIn, TCPServer)   using ThreadingTCPServer = ThreadingMixIn<TCPServer>;
//   class MyServer(ForkingMixIn, UDPServer): pass         using MyServer = ForkingMixIn<UDPServer>;
//   (no Python twin)                                      using PoolServer = ThreadPoolMixIn<TCPServer>;
// clang-format on
//
// Each mixin overrides what Python's does (process_request, server_close, service_actions /
// handle_timeout) plus the loop's `accepting()` question, and nothing else.
//
// Better than Python:
//   ThreadingMixIn's threads remove themselves as they end (memory stays flat over a million
//   connections), `max_threads` (finite by default, from the process's limits) bounds
//   concurrency by pausing accepts (the listen backlog holds the rest), and `close_deadline` bounds
//   server_close: connections still open after it are shut down so their handlers return.
//   ForkingMixIn reaps only its own children, never blocks the loop in waitpid(-1), and
//   honours max_children by pausing accepts instead of waiting.
//
// Thread-safety: as BaseServer. ThreadingMixIn's counters may be read from any thread.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <deque>
#include <exception>
#include <iterator>
#include <list>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "socketserver/detail/fd.hpp"
#include "socketserver/detail/pool.hpp"
#include "socketserver/server.hpp"
#include "socketserver/stream.hpp"

namespace socketserver {

/// Python's ThreadingMixIn: each request in a new thread.
template <class Server>
class ThreadingMixIn : public Server {
 public:
  using Server::Server;
  /// Waits for every handler thread (never leaves one running over a destroyed server); after
  /// close_deadline, connections still open are shut down so their handlers return.
  ~ThreadingMixIn() override { join_threads(close_deadline); }

  bool daemon_threads = false;  ///< Python's daemon_threads: server_close does not wait for them
  bool block_on_close = true;   ///< Python's block_on_close: server_close waits for the threads
  /// At most this many handler threads; past it accepts pause (the listen backlog holds the
  /// rest). Default: detail::default_max_threads(), from the process's limits (Python: no limit;
  /// 9,000 idle clients there are 9,000 threads). 0: no limit.
  std::size_t max_threads = detail::default_max_threads();
  /// With block_on_close: how long server_close waits before shutting down the connections of
  /// handlers still running (std::nullopt: wait as long as they take, as Python).
  Timeout close_deadline;

  /// Python's process_request(): starts a thread that runs finish_request, handle_error on an
  /// exception, then shutdown_request.
  void process_request(Request& request, const Address& client_address) override {
    typename WorkerList::iterator it;
    bool reap = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      it = workers_.emplace(workers_.end());
      it->fd = request.connection.fileno();
      ++live_;
      ++total_;
      reap = ended_.size() >= reap_batch;
    }
    this->note_request_started();
    if (reap) reap_ended_threads();
    std::thread thread;
    try {  // outside the lock: ending threads must not wait for a clone()
      thread = std::thread(&ThreadingMixIn::process_request_thread, this, std::move(request),
                           client_address, it);
    } catch (...) {  // no thread to be had (EAGAIN): undo, and let the loop report it
      {
        std::lock_guard<std::mutex> lock(mu_);
        workers_.erase(it);
        --live_;
        --total_;
        done_.notify_all();
      }
      this->note_request_finished();
      throw;
    }
    std::lock_guard<std::mutex> lock(mu_);
    it->thread = std::move(thread);  // `it` may be in ended_ already: splice keeps it valid
  }

  /// Python's server_close(): closes the server, then (block_on_close) waits for the threads.
  /// A datagram server waits first: its handlers reply on the server's socket.
  void server_close() override {
    const bool wait = block_on_close && !daemon_threads;
    if constexpr (std::is_base_of_v<UDPServer, Server>) {
      if (wait) join_threads(close_deadline);
      Server::server_close();
    } else {
      Server::server_close();
      if (wait) join_threads(close_deadline);
    }
  }

  /// Handler threads running now / started since construction.
  [[nodiscard]] std::size_t active_threads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return live_;
  }
  [[nodiscard]] std::size_t total_threads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }
  /// Threads the server still tracks: those whose handler has not returned yet. (Each thread
  /// moves itself to the ended ones as it ends, which are joined in batches (reap_batch) and
  /// by server_close, so neither grows with the number of requests served.)
  [[nodiscard]] std::size_t tracked_threads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return workers_.size();
  }

 protected:
  [[nodiscard]] bool accepting() const override {
    if (max_threads == 0) return true;
    std::lock_guard<std::mutex> lock(mu_);
    return live_ < max_threads;
  }
  [[nodiscard]] bool wakes_loop_to_accept() const override { return true; }

 private:
  struct Worker {
    int fd = -1;  // the connection, for the close deadline (-1 once the handler is done)
    std::thread thread;
  };
  using WorkerList = std::list<Worker>;
  // Ended threads are joined in batches of this many by the loop (and all by join_threads).
  static constexpr std::size_t reap_batch = 32;

  // Runs one request in its own thread. Its last touch of the server is the locked section at
  // the end, which moves its entry to ended_ and tells server_close and the destructor (waiting
  // for live_ == 0) that it is done; they then join it, so no thread (nor what its exit runs:
  // thread_local and library per-thread destructors, e.g. OpenSSL's) outlives server_close.
  // No system call on the way unless the loop is paused at max_threads and needs waking.
  void process_request_thread(Request request, Address client_address,
                              typename WorkerList::iterator self) {
    this->run_request(request, client_address, [&] {
      {
        // Forget the descriptor before it is closed, so the close deadline never shuts down a
        // descriptor number that was reused.
        std::lock_guard<std::mutex> lock(mu_);
        self->fd = -1;
      }
      this->note_request_finished();
    });
    std::lock_guard<std::mutex> lock(mu_);
    ended_.splice(ended_.end(), workers_, self);
    const bool loop_paused = max_threads != 0 && live_ == max_threads;
    --live_;
    if (loop_paused) this->wake_loop();  // a slot is free: the loop may accept again
    done_.notify_all();  // under the lock: the server may be destroyed once it is released
  }

  // Waits for every thread. After `deadline`, the connections still open are shut down for
  // reading (a handler blocked in a read sees the end of input and can still reply); after
  // another `deadline`, for writing too (a handler blocked writing to a client that never
  // reads gets an error).
  void join_threads(Timeout deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    const auto all_done = [this] { return live_ == 0; };
    if (deadline && !done_.wait_for(lock, *deadline, all_done)) {
      shutdown_open_connections(SHUT_RD);
      if (!done_.wait_for(lock, *deadline, all_done)) shutdown_open_connections(SHUT_RDWR);
    }
    done_.wait(lock, all_done);
    lock.unlock();
    reap_ended_threads();
  }

  // Joins the threads that have ended (each has left its last locked section, so a join waits
  // for no more than its exit). One whose std::thread process_request has not handed over yet
  // (it ended first) stays for the next reap: only the loop's thread hands over and reaps
  // while serving, and server_close and the destructor come after the loop.
  void reap_ended_threads() {
    WorkerList ended;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto w = ended_.begin(); w != ended_.end();) {
        auto next = std::next(w);
        if (w->thread.joinable()) ended.splice(ended.end(), ended_, w);
        w = next;
      }
    }
    for (Worker& w : ended) w.thread.join();
  }

  void shutdown_open_connections(int how) {  // with mu_ held
    for (Worker& w : workers_) {
      if (w.fd >= 0) ::shutdown(w.fd, how);
    }
  }

  mutable std::mutex mu_;
  std::condition_variable done_;
  WorkerList workers_;  // one entry per running handler thread
  WorkerList ended_;    // threads whose handler has returned, to be joined
  std::size_t live_ = 0;
  std::size_t total_ = 0;
};

/// Python's ForkingMixIn: each request in a child process.
template <class Server>
class ForkingMixIn : public Server {
 public:
  using Server::Server;
  /// Reaps the children that have ended (and waits for the others when block_on_close).
  ~ForkingMixIn() override { collect_children(block_on_close); }

  std::size_t max_children = 40;    ///< Python's max_children: accepts pause at this many
  bool block_on_close = true;       ///< Python's block_on_close: server_close waits for children
  std::set<pid_t> active_children;  ///< Python's active_children: this server's live children

 private:
  // Python's ForkingMixIn.timeout = 300 unless ServerOptions::timeout says otherwise:
  // handle_request wakes at least that often to reap.
  // (A default member initialiser, so that it applies with the inherited constructors.)
  [[maybe_unused]] bool timeout_default_ =
      (this->timeout = this->timeout.value_or(std::chrono::duration<double>(300)), true);

 public:
  /// Python's collect_children(): reaps this server's ended children (only its own pids,
  /// never waitpid(-1)); `blocking` waits for all of them.
  void collect_children(bool blocking = false) {
    for (auto it = active_children.begin(); it != active_children.end();) {
      const pid_t rc =
          detail::retry_on_eintr([&] { return ::waitpid(*it, nullptr, blocking ? 0 : WNOHANG); });
      if (rc == *it || (rc < 0 && errno == ECHILD)) {
        it = active_children.erase(it);
        this->note_request_finished();
      } else {
        ++it;
      }
    }
  }

  void handle_timeout() override { collect_children(); }
  void service_actions() override {
    Server::service_actions();
    collect_children();
  }

  /// Python's process_request(): forks; the child runs finish_request (handle_error on an
  /// exception), shutdown_request, and exits 0 (1 after an error); the parent closes its copy
  /// of the request.
  /// A child does not keep StopOnSignals' handlers: SIGINT/SIGTERM end it as they end a Python
  /// child (Ctrl-C stops the parent and its children). The signals are held back across the
  /// fork, so one that arrives in between is not lost.
  void process_request(Request& request, const Address& client_address) override {
    sigset_t stop_signals;
    sigset_t old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
    const pid_t pid = ::fork();
    if (pid == 0) StopOnSignals::release_in_child();
    const int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    if (pid < 0) throw_os_error(fork_errno, "fork for request from " + client_address.to_string());
    if (pid > 0) {
      active_children.insert(pid);
      this->note_request_started();
      this->close_request(request);
      return;
    }
    ::_exit(this->run_request(request, client_address) ? 0 : 1);
  }

  /// Python's server_close(): closes the server, then reaps (waiting when block_on_close).
  void server_close() override {
    Server::server_close();
    collect_children(block_on_close);
  }

 protected:
  [[nodiscard]] bool accepting() const override { return active_children.size() < max_children; }
};

using ThreadingTCPServer = ThreadingMixIn<TCPServer>;
using ThreadingUDPServer = ThreadingMixIn<UDPServer>;
using ThreadingUnixStreamServer = ThreadingMixIn<UnixStreamServer>;
using ThreadingUnixDatagramServer = ThreadingMixIn<UnixDatagramServer>;
using ForkingTCPServer = ForkingMixIn<TCPServer>;
using ForkingUDPServer = ForkingMixIn<UDPServer>;
using ForkingUnixStreamServer = ForkingMixIn<UnixStreamServer>;
using ForkingUnixDatagramServer = ForkingMixIn<UnixDatagramServer>;

}  // namespace socketserver

// The third policy, a fixed pool of workers (no Python twin), has its own header.
#include "socketserver/thread_pool.hpp"  // IWYU pragma: export
