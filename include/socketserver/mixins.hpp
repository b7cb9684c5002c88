// mixins.hpp — Python's ThreadingMixIn and ForkingMixIn as policy templates over a server.
//
//   Python                                                 C++
//   class ThreadingTCPServer(ThreadingMixIn, TCPServer)    using ThreadingTCPServer =
//   ThreadingMixIn<TCPServer>; class MyServer(ForkingMixIn, UDPServer): pass          using
//   MyServer = ForkingMixIn<UDPServer>;
//
// Each mixin overrides what Python's does (process_request, server_close, service_actions /
// handle_timeout) plus the loop's `accepting()` question, and nothing else.
//
// Better than Python:
//   ThreadingMixIn reaps finished threads as it goes (memory stays flat over a million
//   connections), `max_threads` bounds concurrency by pausing accepts (the listen backlog holds
//   the rest), and `close_deadline` bounds server_close: connections still open after it are
//   shut down so their handlers return.
//   ForkingMixIn reaps only its own children, never blocks the loop in waitpid(-1), and
//   honours max_children by pausing accepts instead of waiting.
//
// Thread-safety: as BaseServer. ThreadingMixIn's counters may be read from any thread.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <list>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "socketserver/server.hpp"

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
  std::size_t max_threads = 0;  ///< at most this many handler threads (0: no limit)
  /// With block_on_close: how long server_close waits before shutting down the connections of
  /// handlers still running (std::nullopt: wait as long as they take, as Python).
  Timeout close_deadline;

  /// Python's process_request(): starts a thread that runs finish_request, handle_error on an
  /// exception, then shutdown_request.
  void process_request(Request& request, const Address& client_address) override {
    reap();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = workers_.emplace(workers_.end());
    it->fd = request.connection.fileno();
    ++live_;
    ++total_;
    this->note_request_started();
    try {
      it->thread = std::thread(&ThreadingMixIn::process_request_thread, this, std::move(request),
                               client_address, it);
    } catch (...) {  // no thread to be had (EAGAIN): undo, and let the loop report it
      workers_.erase(it);
      --live_;
      --total_;
      this->note_request_finished();
      throw;
    }
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
  /// Threads kept (running or finished, not yet joined): stays near active_threads().
  [[nodiscard]] std::size_t tracked_threads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return workers_.size();
  }

  void service_actions() override {
    Server::service_actions();
    reap();
  }

 protected:
  [[nodiscard]] bool requests_run_inline() const override { return false; }
  [[nodiscard]] bool accepting() const override {
    if (max_threads == 0) return true;
    std::lock_guard<std::mutex> lock(mu_);
    return live_ < max_threads;
  }

 private:
  struct Worker {
    std::thread thread;
    int fd = -1;        // the connection, for the close deadline (-1 once the handler is done)
    bool done = false;  // the thread has finished its work and may be joined
  };
  using WorkerList = std::list<Worker>;

  void process_request_thread(Request request, Address client_address,
                              typename WorkerList::iterator self) {
    try {
      this->finish_request(request, client_address);
    } catch (...) {
      this->handle_error(request, client_address);
    }
    {
      // Forget the descriptor before it is closed, so the close deadline never shuts down a
      // descriptor number that was reused; the slot is free from here on.
      std::lock_guard<std::mutex> lock(mu_);
      self->fd = -1;
      --live_;
    }
    this->note_request_finished();
    done_.notify_all();
    try {
      this->shutdown_request(request);
    } catch (...) {  // closing cannot usefully fail; never let it end the process
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      self->done = true;
    }
    this->wake_loop();  // a slot is free: the loop may accept again
  }

  // Joins the threads that are done (the loop calls this as it goes).
  void reap() {
    WorkerList finished;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = workers_.begin(); it != workers_.end();) {
        auto next = std::next(it);
        if (it->done) finished.splice(finished.end(), workers_, it);
        it = next;
      }
    }
    for (Worker& w : finished) w.thread.join();
  }

  // Waits for every thread. After `deadline`, the connections still open are shut down for
  // reading (a handler blocked in a read sees the end of input and can still reply); after
  // another `deadline`, for writing too (a handler blocked writing to a client that never
  // reads gets an error).
  void join_threads(Timeout deadline) {
    WorkerList all;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const auto all_done = [this] { return live_ == 0; };
      if (deadline && !done_.wait_for(lock, *deadline, all_done)) {
        shutdown_open_connections(SHUT_RD);
        if (!done_.wait_for(lock, *deadline, all_done)) shutdown_open_connections(SHUT_RDWR);
      }
      done_.wait(lock, all_done);
      all.splice(all.end(), workers_);
    }
    for (Worker& w : all) w.thread.join();  // each is past its handler; join waits for its tail
  }

  void shutdown_open_connections(int how) {  // with mu_ held
    for (Worker& w : workers_) {
      if (w.fd >= 0) ::shutdown(w.fd, how);
    }
  }

  mutable std::mutex mu_;
  std::condition_variable done_;
  WorkerList workers_;
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
      pid_t rc = 0;
      do {
        rc = ::waitpid(*it, nullptr, blocking ? 0 : WNOHANG);
      } while (rc < 0 && errno == EINTR);
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
  void process_request(Request& request, const Address& client_address) override {
    const pid_t pid = ::fork();
    if (pid < 0) throw_os_error(errno, "fork for request from " + client_address.to_string());
    if (pid > 0) {
      active_children.insert(pid);
      this->note_request_started();
      this->close_request(request);
      return;
    }
    int status = 1;
    try {
      this->finish_request(request, client_address);
      status = 0;
    } catch (...) {
      this->handle_error(request, client_address);
    }
    try {
      this->shutdown_request(request);
    } catch (...) {
    }
    ::_exit(status);
  }

  /// Python's server_close(): closes the server, then reaps (waiting when block_on_close).
  void server_close() override {
    Server::server_close();
    collect_children(block_on_close);
  }

 protected:
  [[nodiscard]] bool requests_run_inline() const override { return false; }
  [[nodiscard]] bool accepting() const override { return active_children.size() < max_children; }
};

/// What ThreadPoolMixIn does with a request when every worker is busy and the queue is full.
enum class Overload {
  wait,    ///< stop accepting until a worker frees up: the kernel's listen backlog holds the rest
  refuse,  ///< close the request at once (counted in counters().refused)
  hook,    ///< call handle_overload(request, client_address)
};

/// A fixed pool of worker threads (Python has none; Poco's TCPServer has one that drops silently).
/// Requests wait in a bounded, visible queue (counters().queued); beyond it the overload policy
/// applies. Workers start with the first request and stop in server_close.
template <class Server>
class ThreadPoolMixIn : public Server {
 public:
  using Server::Server;
  ~ThreadPoolMixIn() override { stop_workers(); }

  std::size_t max_workers = 16;        ///< worker threads
  std::size_t max_queued = 64;         ///< requests waiting for a busy pool, at most
  Overload overload = Overload::wait;  ///< what to do beyond max_queued
  bool block_on_close = true;          ///< server_close finishes queued and running requests
  /// With block_on_close: how long server_close waits before shutting down the connections of
  /// requests still running (their handlers then see end of input); nullopt: no limit.
  Timeout close_deadline;

  /// Called for Overload::hook when the queue is full; the default refuses (closes) the request.
  virtual void handle_overload(Request& request, const Address& client_address) {
    (void)client_address;
    this->note_request_refused();
    this->shutdown_request(request);
  }

  /// Queues the request for a worker (or applies the overload policy).
  void process_request(Request& request, const Address& client_address) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (workers_.empty()) start_workers();
    if (queue_full() && overload != Overload::wait) {
      lock.unlock();
      if (overload == Overload::refuse) {
        this->note_request_refused();
        this->shutdown_request(request);
      } else {
        handle_overload(request, client_address);
      }
      return;
    }
    queue_.push_back(Item{std::move(request), client_address});
    this->note_request_queued(1);
    lock.unlock();
    work_.notify_one();
  }

  /// Python-style server_close(): closes the server, then (block_on_close) lets the workers
  /// finish what is queued and running, and joins them. A datagram server waits first.
  void server_close() override {
    if constexpr (std::is_base_of_v<UDPServer, Server>) {
      stop_workers();
      Server::server_close();
    } else {
      Server::server_close();
      stop_workers();
    }
  }

  /// Worker threads started.
  [[nodiscard]] std::size_t worker_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return workers_.size();
  }

 protected:
  [[nodiscard]] bool requests_run_inline() const override { return false; }
  [[nodiscard]] bool accepting() const override {
    if (overload != Overload::wait) return true;
    std::lock_guard<std::mutex> lock(mu_);
    return !queue_full();
  }

 private:
  struct Item {
    Request request;
    Address client_address;
  };

  // With mu_ held: every idle worker has a request waiting for it and the queue is at its limit.
  [[nodiscard]] bool queue_full() const {
    const std::size_t idle =
        workers_.empty() ? (max_workers == 0 ? 1 : max_workers) - busy_ : workers_.size() - busy_;
    return queue_.size() >= max_queued + idle;
  }

  void start_workers() {  // with mu_ held
    const std::size_t n = max_workers == 0 ? 1 : max_workers;
    busy_fds_.assign(n, -1);
    for (std::size_t i = 0; i < n; ++i) workers_.emplace_back(&ThreadPoolMixIn::worker, this, i);
  }

  void worker(std::size_t index) {
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      if (stopping_ && !block_on_close) return;
      Item item = std::move(queue_.front());
      queue_.pop_front();
      busy_fds_[index] = item.request.connection.fileno();
      ++busy_;
      lock.unlock();
      this->note_request_queued(-1);
      this->note_request_started();
      this->wake_loop();  // a queue slot is free: the loop may accept again
      try {
        this->finish_request(item.request, item.client_address);
      } catch (...) {
        this->handle_error(item.request, item.client_address);
      }
      lock.lock();
      busy_fds_[index] = -1;  // forgotten before the close (no reused descriptor is touched)
      --busy_;
      lock.unlock();
      try {
        this->shutdown_request(item.request);
      } catch (...) {
      }
      this->note_request_finished();
      idle_.notify_all();
      this->wake_loop();  // a worker is free: the loop may accept again
    }
  }

  void stop_workers() {
    std::vector<std::thread> workers;
    {
      std::unique_lock<std::mutex> lock(mu_);
      stopping_ = true;
      work_.notify_all();
      if (block_on_close && close_deadline) {
        const auto drained = [this] {
          if (!queue_.empty()) return false;
          for (const int fd : busy_fds_) {
            if (fd >= 0) return false;
          }
          return true;
        };
        if (!idle_.wait_for(lock, *close_deadline, drained)) {
          for (const int fd : busy_fds_) {
            if (fd >= 0) ::shutdown(fd, SHUT_RD);
          }
        }
      }
      workers.swap(workers_);
    }
    for (std::thread& t : workers) t.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (Item& item : queue_) {  // not block_on_close: what never ran is closed
      this->note_request_queued(-1);
      try {
        this->shutdown_request(item.request);
      } catch (...) {
      }
    }
    queue_.clear();
    stopping_ = false;
  }

  mutable std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable idle_;
  std::deque<Item> queue_;
  std::vector<std::thread> workers_;
  std::vector<int> busy_fds_;
  std::size_t busy_ = 0;  // workers running a request
  bool stopping_ = false;
};

// With the four servers, the twelve server names of Python's module (the Unix threading and
// forking ones exist there since Python 3.12).
using ThreadingTCPServer = ThreadingMixIn<TCPServer>;
using ThreadingUDPServer = ThreadingMixIn<UDPServer>;
using ThreadingUnixStreamServer = ThreadingMixIn<UnixStreamServer>;
using ThreadingUnixDatagramServer = ThreadingMixIn<UnixDatagramServer>;
using ForkingTCPServer = ForkingMixIn<TCPServer>;
using ForkingUDPServer = ForkingMixIn<UDPServer>;
using ForkingUnixStreamServer = ForkingMixIn<UnixStreamServer>;
using ForkingUnixDatagramServer = ForkingMixIn<UnixDatagramServer>;
// Thread pools (no Python twin).
using ThreadPoolTCPServer = ThreadPoolMixIn<TCPServer>;
using ThreadPoolUDPServer = ThreadPoolMixIn<UDPServer>;
using ThreadPoolUnixStreamServer = ThreadPoolMixIn<UnixStreamServer>;
using ThreadPoolUnixDatagramServer = ThreadPoolMixIn<UnixDatagramServer>;

}  // namespace socketserver
