// thread_pool.hpp — ThreadPoolMixIn: a pool of worker threads as a policy template over a
// server (Python has no twin; Poco's TCPServer is one). ThreadPoolTCPServer and its siblings.
//
// Its workers accept connections themselves while any is idle, park silent clients until they
// send something (so they hold no worker), hand their place to a new thread while their handler
// sleeps for a slow client (max_threads), bound the queue and apply an overload policy. The
// machinery (epoll sets, eventfds, the peek) is in src/pool.cpp, behind detail/pool.hpp.
//
// Thread-safety: as BaseServer; the counters may be read from any thread.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "socketserver/detail/accept.hpp"
#include "socketserver/detail/peer_wait.hpp"
#include "socketserver/detail/pool.hpp"
#include "socketserver/server.hpp"
#include "socketserver/stream.hpp"

namespace socketserver {

/// What ThreadPoolMixIn does with a request when every worker is busy and the queue is full.
enum class Overload {
  wait,    ///< stop accepting until a worker frees up: the kernel's listen backlog holds the rest
  refuse,  ///< close the request at once (counted in counters().refused)
  hook,    ///< call handle_overload(request, client_address)
};

/// Parked connections of a ThreadPoolMixIn (a snapshot).
struct ParkCounters {
  std::size_t parked = 0;   ///< connections parked now (accepted, their client silent so far)
  std::size_t total = 0;    ///< connections parked since construction
  std::size_t dropped = 0;  ///< closed while parked: park_timeout ran out, or max_parked reached
};

/// A pool of worker threads (Python has none; Poco's TCPServer has one that drops silently).
///
/// When every worker is busy and requests wait, one line on stderr says so (at most one a second:
/// BaseServer::report), so that a stalled pool is never silent (Poco's is).
///
/// Stream servers: while serve_forever runs, idle workers accept connections themselves (no
/// hand-off, no context switch per connection); only when every worker is busy does the loop
/// accept, and then requests wait in a bounded, visible queue (counters().queued), beyond which
/// the overload policy applies. A connection goes to a worker only once its client has sent
/// something (serve_when_readable): one whose request is there at accept is served at once by
/// the thread that accepted it; a silent one is parked in the pool's epoll set, watched by one
/// thread of the pool, and queued for a worker when its first bytes (or its end) arrive, so
/// silent clients never hold a worker. Parked connections are bounded (max_parked, oldest
/// closed first) and closed after park_timeout (60 s), and by server_close. A handler that
/// sleeps for its client later (the rest of a trickled request, a keep-alive client's next
/// one, a full send window) keeps its thread, but no longer counts as a worker: when none is
/// free, the pool starts another thread (max_threads), and ends the extra ones once idle.
/// Datagram servers, handle_request(), and `workers_accept = false` use the queue alone: the loop
/// receives or accepts, a worker serves (stream connections still park until readable). Workers
/// start with serve_forever (or the first request) and stop in server_close.
///
/// While serve_forever runs, the listening socket is non-blocking at the descriptor level (its
/// Python timeout is unchanged); do not change its timeout then.
///
/// Thread-safety: set the members below before serve_forever (the pool's threads read them);
/// worker_count(), park_counters() and counters() may be called from any thread.
template <class Server>
class ThreadPoolMixIn : public Server, private detail::PeerWaitObserver {
  static constexpr bool kStream = !std::is_base_of_v<UDPServer, Server>;
  // Idle workers waiting on the listener at once; the others wait their turn. Few, so that
  // under load connections queue up for workers coming back rather than waking a sleeping
  // thread each (a context switch per connection); more than one, so that a worker leaving
  // for a request does not have to wake a replacement every time.
  static constexpr std::size_t kPollers = 2;

 public:
  using Server::Server;
  ~ThreadPoolMixIn() override {
    stop_self_accept();
    stop_parking();
    stop_workers();
  }

  std::size_t max_workers = 16;        ///< worker threads kept (more while some wait: max_threads)
  /// Threads at most, counting workers whose handler waits on its client. A handler about to
  /// sleep until its client acts (a read with nothing to read, a send into a full window, a
  /// wait under a timeout: detail/peer_wait.hpp) hands its place on: when no other worker is
  /// idle, the pool starts one more thread, so that slow, trickling or keep-alive clients
  /// cannot hold every worker while others wait. The threads beyond max_workers end after
  /// spare_thread_linger idle. Default: detail::default_max_threads(), from the process's
  /// limits, as ThreadingMixIn's. max_workers or less: the pool never grows, and a waiting
  /// handler holds its worker (the pool before this bound existed).
  std::size_t max_threads = detail::default_max_threads();
  /// How long a thread beyond max_workers may stay idle before it ends.
  std::chrono::duration<double> spare_thread_linger{5};
  std::size_t max_queued = 64;         ///< requests waiting for a busy pool, at most
  Overload overload = Overload::wait;  ///< what to do beyond max_queued
  bool block_on_close = true;          ///< server_close finishes queued and running requests
  bool workers_accept = true;          ///< stream servers: idle workers accept for themselves
  /// With block_on_close: how long server_close waits before shutting down the connections of
  /// requests still running (their handlers then see end of input); nullopt: no limit.
  Timeout close_deadline;
  /// Stream servers: a connection goes to a worker only once its client has sent a byte or
  /// closed (a non-blocking MSG_PEEK after accept; until then it is parked, holding no worker).
  /// TCP listeners also get TCP_DEFER_ACCEPT (1 s) while the pool serves, so that the kernel
  /// hands most connections over with their request already there. false: every connection
  /// goes to a worker at once — needed when the server speaks first (a greeting).
  bool serve_when_readable = true;
  /// Line protocols: with a delimiter ("\n"), a connection stays parked until its bytes hold
  /// one, or max_line bytes (handlers then meet their line bound), or its end — so a client
  /// that trickles a partial line holds no worker either; such a connection may stay parked at
  /// most park_timeout in all. Empty (the default): any byte makes a request. Not used over
  /// TLS (ssl_context), whose first bytes are a handshake.
  std::string request_delimiter;
  /// With request_delimiter: how many bytes without one still count as a request.
  std::size_t max_line = default_max_line;
  /// How long a connection may stay parked (silent, or without a whole first line): then it is
  /// closed (park_counters().dropped). The server's idle_timeout, when shorter, wins. Handlers
  /// themselves get no timeout by default (as Python): a client that sends a little and then
  /// trickles costs a thread (max_threads) until idle_timeout or request_timeout, if set, ends it.
  Timeout park_timeout = std::chrono::duration<double>(60);
  /// Parked connections at most; parking one more closes the one parked longest (counted in
  /// park_counters().dropped). Default: detail::default_max_parked().
  std::size_t max_parked = detail::default_max_parked();
  /// server_close with block_on_close: a connection parked less than this long ago may be a
  /// request on its way (accepted just before its bytes arrived; under load, or on a socket
  /// without TCP_DEFER_ACCEPT such as a prefork worker's): server_close waits until it is
  /// ready (then served) or this long after its parking, then closes what is still parked.
  /// Connections parked longer are silent clients, closed at once. nullopt: close all at once.
  Timeout parked_close_grace = std::chrono::duration<double>(1);

  /// Called for Overload::hook when the queue is full; the default refuses (closes) the request.
  /// It runs in the thread that found the queue full (the loop, or the pool's watcher for a
  /// parked request that became ready): keep it short.
  virtual void handle_overload(Request& request, const Address& client_address) {
    (void)client_address;
    this->note_request_refused();
    this->shutdown_request(request);
  }

  /// Queues the request for a worker (or applies the overload policy); a stream request whose
  /// client has sent nothing yet is parked instead (serve_when_readable).
  void process_request(Request& request, const Address& client_address) override {
    if (parks(request) && park(request, client_address)) return;
    std::unique_lock<std::mutex> lock(mu_);
    if (workers_.empty()) start_workers();
    if (queue_full() && overload != Overload::wait) {
      lock.unlock();
      meet_overload(request, client_address);
      return;
    }
    const Backlog backlog = enqueue(Item{std::move(request), client_address});
    lock.unlock();
    report_backlog(backlog);
  }

  /// Python-style server_close(): closes the server, then (block_on_close) lets the workers
  /// finish what is queued and running, and joins them. A datagram server waits first.
  /// Parked connections are closed (their clients never sent anything), those parked within
  /// parked_close_grace once that has passed unless their request arrives first.
  void server_close() override {
    stop_self_accept();  // before the listener closes: no worker waits on it any more
    if constexpr (!kStream) {
      stop_workers();
      Server::server_close();
    } else {
      Server::server_close();
      stop_parking();
      stop_workers();
    }
  }

  /// Worker threads running now: max_workers once started, more while handlers wait on their
  /// clients (max_threads).
  [[nodiscard]] std::size_t worker_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return live_;
  }

  /// Parked connections now, in all, and dropped while parked. Thread-safe.
  [[nodiscard]] ParkCounters park_counters() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ParkCounters{parked_.size(), parked_total_, parked_dropped_};
  }

 protected:
  [[nodiscard]] bool accepting() const override {
    std::lock_guard<std::mutex> lock(mu_);
    // Workers accepting for themselves: the loop steps in only when none is idle.
    if (self_accept_ && idle() > 0) return false;
    return overload != Overload::wait || !queue_full();
  }
  // The last idle worker to get busy, and each worker taking a queued request, wake the loop.
  [[nodiscard]] bool wakes_loop_to_accept() const override { return true; }

  void loop_started() override {
    Server::loop_started();
    if constexpr (kStream) {
      defer_accept(serve_when_readable ? 1 : 0);
      if (!workers_accept) return;
      std::lock_guard<std::mutex> lock(mu_);
      gate_.open(this->fileno());
      self_accept_ = true;
      if (workers_.empty()) start_workers();
      work_.notify_all();
    }
  }

  void loop_stopping() noexcept override {
    stop_self_accept();
    Server::loop_stopping();
  }

 private:
  struct Item {
    Request request;
    Address client_address;
  };
  struct Parked {
    Item item;
    std::chrono::steady_clock::time_point since;
  };
  using ParkedList = std::list<Parked>;  // oldest first

  // The workers kept (max_workers, at least one).
  [[nodiscard]] std::size_t base_workers() const { return max_workers == 0 ? 1 : max_workers; }

  // With mu_ held: workers neither running a request nor about to (before the start: the
  // workers to come).
  [[nodiscard]] std::size_t idle() const {
    const std::size_t threads = live_ == 0 ? base_workers() : live_;
    return threads > busy_ ? threads - busy_ : 0;
  }

  // With mu_ held: every idle worker has a request waiting for it and the queue is at its limit.
  [[nodiscard]] bool queue_full() const { return queue_.size() >= max_queued + idle(); }

  void start_workers() {  // with mu_ held
    const std::size_t n = base_workers();
    busy_fds_.assign(n, -1);
    slot_live_.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {  // counted as each starts: a failure leaves no ghost
      workers_.emplace_back(&ThreadPoolMixIn::worker, this, i);
      slot_live_[i] = 1;
      ++live_;
    }
  }

  // True when this pool's workers hand their place on while their handler waits (max_threads).
  [[nodiscard]] bool grows() const { return kStream && max_threads > base_workers(); }

  // A worker's handler is about to sleep for its client (PeerWaitObserver, installed while a
  // worker admits or serves a request): with no other worker idle, one more thread is started
  // (up to max_threads) so that the queue and the listener are not left without one.
  void peer_wait_begins() noexcept override {
    std::thread ended;  // a thread that ended in the slot now taken, joined after the unlock
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || workers_.empty() || idle() > 0 || live_ >= max_threads) return;
      std::size_t index = 0;
      while (index < slot_live_.size() && slot_live_[index] != 0) ++index;
      if (index == slot_live_.size()) {
        slot_live_.push_back(0);
        busy_fds_.push_back(-1);
        workers_.emplace_back();
      } else {
        ended = std::move(workers_[index]);
      }
      try {
        workers_[index] = std::thread(&ThreadPoolMixIn::worker, this, index);
        slot_live_[index] = 1;
        ++live_;
      } catch (const std::system_error&) {
        // No thread to be had now (the system's limit): the pool stays as it is, as at
        // max_threads; the next wait tries again.
      }
    }
    if (ended.joinable()) ended.join();
  }

  // With mu_ held: a thread beyond max_workers idle for spare_thread_linger ends — unless it is
  // the last idle one: the busy ones may all be asleep for their clients, having announced it
  // once (when this one was free), and the listener and the queue would be left to nobody.
  [[nodiscard]] bool retires(std::chrono::steady_clock::time_point idle_since) const {
    if (live_ <= base_workers() || idle() < 2 || stopping_) return false;
    const double seconds = spare_thread_linger.count();  // NaN or negative: at once
    const std::chrono::duration<double> linger(seconds > 0 ? std::min(seconds, 1e9) : 0.0);
    return std::chrono::steady_clock::now() - idle_since >=
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(linger);
  }

  void worker(std::size_t index) {
    detail::AcceptGate::Waiter waiter(gate_);
    detail::AcceptPolicy accept_policy;
    auto idle_since = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!queue_.empty() && (!stopping_ || block_on_close)) {
        Item item = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
        busy_fds_[index] = item.request.connection.fileno();
        lock.unlock();
        this->note_request_queued(-1);
        this->wake_loop();  // a queue slot is free: the loop may accept again
        {
          const detail::PeerWaitScope announcing(grows() ? this : nullptr);
          serve(item.request, item.client_address, index);
        }
        lock.lock();
        --busy_;
        idle_since = std::chrono::steady_clock::now();
        continue;
      }
      if (stopping_) return;  // nothing left (or not block_on_close: stop_workers closes it)
      if (retires(idle_since)) {
        slot_live_[index] = 0;  // joined by the next thread started in this slot, or at stop
        --live_;
        work_.notify_one();  // an idle one takes this one's place at the listener, if it was there
        return;
      }
      if (self_accept_ && polling_ < kPollers) {
        std::optional<std::pair<Request, Address>> got;
        ++polling_;
        const unsigned session = gate_.session();
        lock.unlock();
        // A quiet second (the wait's safety net) also tries: a wake-up lost to a worker that
        // stopped costs a connection at most that second, not its wait for the next one.
        const detail::AcceptGate::Wake wake = waiter.wait(this->fileno(), session);
        if (wake == detail::AcceptGate::Wake::listener ||
            wake == detail::AcceptGate::Wake::timeout) {
          got = try_accept(accept_policy);
        }
        lock.lock();
        --polling_;
        if (!self_accept_ && polling_ == 0) idle_.notify_all();  // stop_self_accept waits
        if (got) {
          ++busy_;
          busy_fds_[index] = got->first.connection.fileno();
          if (idle() == 0) {
            this->wake_loop();  // the last idle worker: the loop takes over
          } else if (polling_ == 0) {
            work_.notify_one();  // an idle worker takes this one's place at the listener
          }
          lock.unlock();
          this->note_request_accepted();
          {
            const detail::PeerWaitScope announcing(grows() ? this : nullptr);
            admit(got->first, got->second, index);
          }
          lock.lock();
          --busy_;
          idle_since = std::chrono::steady_clock::now();
        }
        continue;
      }
      if (live_ > base_workers()) {
        work_.wait_for(lock, std::chrono::seconds(1));  // then retires() is asked again
      } else {
        work_.wait(lock);
      }
    }
  }

  // A non-blocking accept by a worker; nothing when another thread was faster or it failed.
  // Its back-off is the worker's own (`policy`): one out of descriptors pauses, the others go on.
  std::optional<std::pair<Request, Address>> try_accept(detail::AcceptPolicy& policy) {
    using Action = detail::AcceptPolicy::Action;
    try {
      auto got = this->get_request();
      policy.succeeded();
      return got;
    } catch (const socket_error& error) {
      const Action action = policy.failed(error.errno_value());
      if (action != Action::retry) this->report("accept", policy.describe(error.what(), action));
      if (action == Action::back_off) gate_.wait_for_stop(policy.pause());  // or the stop
    } catch (const std::exception& error) {  // concerns that one connection: never the worker
      this->report("accept", std::string("get_request: ") + error.what());
    } catch (...) {
      this->report("accept", "get_request: unknown exception");
    }
    return std::nullopt;
  }

  // What the loop does with an accepted connection, in the worker that accepted it.
  void admit(Request& request, const Address& client_address, std::size_t index) {
    const auto forget = [&] {
      std::lock_guard<std::mutex> lock(mu_);
      busy_fds_[index] = -1;  // before the close: no reused descriptor is touched
    };
    if (!this->admit_request(request, client_address, forget)) return;
    if (parks(request) && park(request, client_address)) {
      forget();  // parked: this worker is free again
      return;
    }
    serve(request, client_address, index);
  }

  // Runs one request (its descriptor already in busy_fds_[index]): BaseServer::run_request.
  void serve(Request& request, const Address& client_address, std::size_t index) {
    this->note_request_started();
    this->run_request(request, client_address, [&] {
      std::lock_guard<std::mutex> lock(mu_);
      busy_fds_[index] = -1;  // forgotten before the close (no reused descriptor is touched)
    });
    this->note_request_finished();
    idle_.notify_all();
  }

  // ---- parking (serve_when_readable) ----------------------------------------------------

  // True for a stream request whose client has sent nothing yet (and parking is wanted).
  [[nodiscard]] bool parks(const Request& request) const {
    if constexpr (!kStream) {
      return false;
    } else {
      const int fd = request.connection.fileno();
      return serve_when_readable && fd >= 0 && !request_ready(fd);
    }
  }

  [[nodiscard]] bool request_ready(int fd) const {
    // Over TLS the bytes are a handshake, not lines: any byte makes a request.
    const std::string_view delimiter = this->ssl_context ? std::string_view() : request_delimiter;
    return detail::request_ready(fd, delimiter, max_line);
  }

  // Parks the request until its client sends; false when it cannot be watched (then it is
  // served as if ready). Parking one more than max_parked closes the oldest.
  bool park(Request& request, const Address& client_address) {
    std::vector<Item> evicted;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (parking_closed_) {  // after server_close: no watcher any more, so nothing waits
        // A worker that accepted it as the server stopped serves it (block_on_close: the
        // workers finish what they have); otherwise it is closed.
        if (block_on_close && !workers_.empty()) return false;
        lock.unlock();
        this->shutdown_quietly(request);
        return true;
      }
      try {
        if (!park_set_) park_set_.emplace();
        if (workers_.empty()) start_workers();
        if (!parker_.joinable()) parker_ = std::thread(&ThreadPoolMixIn::watch_parked, this);
      } catch (const std::exception&) {
        return false;  // no epoll set or thread to be had: the request is served at once
      }
      const int fd = request.connection.fileno();
      try {
        park_set_->add(fd);
      } catch (const socket_error&) {
        return false;
      }
      while (parked_.size() >= (max_parked == 0 ? 1 : max_parked)) {
        evicted.push_back(unpark(parked_.begin()));
        ++parked_dropped_;
      }
      const auto it = parked_.insert(parked_.end(), Parked{Item{std::move(request), client_address},
                                                           std::chrono::steady_clock::now()});
      parked_by_fd_[fd] = it;
      ++parked_total_;
      if (parked_.size() == 1) park_set_->wake();  // the watcher may be waiting without a limit
    }
    close_items(evicted);
    return true;
  }

  // With mu_ held: takes a parked request out of the set.
  Item unpark(typename ParkedList::iterator it) {
    const int fd = it->item.request.connection.fileno();
    park_set_->remove(fd);
    parked_by_fd_.erase(fd);
    Item item = std::move(it->item);
    parked_.erase(it);
    if (parked_.empty()) idle_.notify_all();  // server_close may wait for the last one
    return item;
  }

  void close_items(std::vector<Item>& items) {
    for (Item& item : items) {
      this->shutdown_quietly(item.request);
    }
    items.clear();
  }

  // The watcher thread: queues each parked request whose client has sent something (or
  // closed), and closes those parked for park_timeout (or the shorter idle_timeout).
  void watch_parked() {
    std::vector<int> ready;
    std::vector<Item> expired;
    std::vector<Item> overloaded;  // ready, but the queue is full and the policy is not wait
    Backlog backlog;
    std::unique_lock<std::mutex> lock(mu_);
    while (!parking_stopped_) {
      int wait_ms = -1;
      Timeout idle = park_timeout;
      if (this->idle_timeout && (!idle || *this->idle_timeout < *idle)) idle = this->idle_timeout;
      if (!parked_.empty() && idle) {
        const auto left = parked_.front().since +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(*idle) -
                          std::chrono::steady_clock::now();
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        wait_ms = static_cast<int>(std::clamp<long long>(ms, 0, 3'600'000));
      }
      lock.unlock();
      ready.clear();
      park_set_->wait(ready, wait_ms);
      lock.lock();
      for (const int fd : ready) {
        const auto found = parked_by_fd_.find(fd);
        if (found == parked_by_fd_.end()) continue;
        // Not yet: part of a line, or a wake-up for a descriptor since closed and reused. The
        // next arrival wakes the watcher again (edge-triggered).
        if (!request_ready(fd)) continue;
        // A parked request that becomes ready meets the overload policy like a new one:
        // only Overload::wait lets the queue grow past max_queued (bounded by max_parked).
        if (overload != Overload::wait && queue_full()) {
          overloaded.push_back(unpark(found->second));
          continue;
        }
        const Backlog now_waiting = enqueue(unpark(found->second));
        if (now_waiting.queued > backlog.queued) backlog = now_waiting;
      }
      if (idle) {
        const auto now = std::chrono::steady_clock::now();
        const auto limit = std::chrono::duration_cast<std::chrono::steady_clock::duration>(*idle);
        while (!parked_.empty() && parked_.front().since + limit <= now) {
          expired.push_back(unpark(parked_.begin()));
          ++parked_dropped_;
        }
      }
      if (!expired.empty() || !overloaded.empty() || backlog.queued > 0) {
        lock.unlock();
        close_items(expired);
        refuse_items(overloaded);
        report_backlog(backlog);
        backlog = Backlog{};
        lock.lock();
      }
    }
  }

  // Without mu_: the overload policy (refuse or hook) for a request that found the queue full.
  void meet_overload(Request& request, const Address& client_address) {
    if (overload == Overload::refuse) {
      this->note_request_refused();
      this->shutdown_request(request);
    } else {
      handle_overload(request, client_address);
    }
  }

  // Without mu_, in the watcher: meet_overload for each, an exception reported, not thrown.
  void refuse_items(std::vector<Item>& items) {
    for (Item& item : items) {
      try {
        meet_overload(item.request, item.client_address);
      } catch (...) {
        this->handle_error(item.request, item.client_address);
      }
    }
    items.clear();
  }

  // Requests waiting with every worker busy, as enqueue saw them (queued 0: none waits).
  struct Backlog {
    std::size_t queued = 0;
    std::size_t workers = 0;
  };

  // With mu_ held: a request (ready now) goes to the queue, and a worker is woken for it.
  // Returns the backlog to report (after mu_ is released) when every worker is busy.
  Backlog enqueue(Item&& item) {
    queue_.push_back(std::move(item));
    this->note_request_queued(1);
    work_.notify_one();
    if (polling_ > 0) gate_.signal_queued();
    if (queue_.size() > idle()) return Backlog{queue_.size(), live_};
    return Backlog{};
  }

  // Without mu_: says on stderr that requests wait for a busy pool (BaseServer::report_lazily:
  // at most a line a second, with a count of those suppressed; the line is built only when
  // it is written).
  void report_backlog(const Backlog& backlog) {
    if (backlog.queued == 0) return;
    this->report_lazily("pool", [&] {
      return "all " + std::to_string(backlog.workers) + " workers of the pool on " +
             this->server_address.to_string() + " are busy; " + std::to_string(backlog.queued) +
             (backlog.queued == 1 ? " connection waits" : " connections wait") +
             " for one (max_workers " + std::to_string(max_workers) + ", max_queued " +
             std::to_string(max_queued) + ")";
    });
  }

  // Stops the watcher and closes what is still parked.
  void stop_parking() noexcept {
    if constexpr (kStream) {
      std::vector<Item> left;
      {
        std::unique_lock<std::mutex> lock(mu_);
        parking_closed_ = true;  // for good: a later park() closes its request
        if (!parker_.joinable()) return;
        // Requests on their way: the watcher (still running) queues those that become ready,
        // for the workers (still running too); unpark() wakes this wait.
        if (block_on_close && parked_close_grace && !parked_.empty()) {
          const auto grace =
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(*parked_close_grace);
          idle_.wait_until(lock, parked_.back().since + grace, [this] { return parked_.empty(); });
        }
        parking_stopped_ = true;
        park_set_->wake();
        lock.unlock();
        parker_.join();
        lock.lock();
        parking_stopped_ = false;
        while (!parked_.empty()) left.push_back(unpark(parked_.begin()));
      }
      close_items(left);
    }
  }

  // TCP_DEFER_ACCEPT on a TCP listener (0: off); other families have none.
  void defer_accept(int seconds) noexcept {
    const int family = this->server_address.family();
    if (family != AF_INET && family != AF_INET6) return;
    ::setsockopt(this->fileno(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds);
  }

  // Workers stop accepting for themselves (they go back to the queue); returns once none
  // waits on the listener, which gets its own blocking mode back.
  void stop_self_accept() noexcept {
    if constexpr (kStream) {
      std::unique_lock<std::mutex> lock(mu_);
      if (!self_accept_) return;
      self_accept_ = false;
      gate_.signal_stop();
      idle_.wait(lock, [this] { return polling_ == 0; });
      gate_.close(this->fileno());
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
    for (std::thread& t : workers) {
      if (t.joinable()) t.join();  // a slot whose thread ended and was joined is empty
    }
    std::lock_guard<std::mutex> lock(mu_);
    live_ = 0;
    slot_live_.clear();
    for (Item& item : queue_) {  // not block_on_close: what never ran is closed
      this->note_request_queued(-1);
      this->shutdown_quietly(item.request);
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
  std::vector<char> slot_live_;  // per slot of workers_: its thread runs (0: ended, or none yet)
  std::size_t live_ = 0;         // threads running the worker loop
  std::size_t busy_ = 0;         // workers running a request
  std::size_t polling_ = 0;  // workers waiting on the listener (self_accept_)
  bool self_accept_ = false;
  bool stopping_ = false;
  detail::AcceptGate gate_;
  // Parking (stream servers): the set and its watcher are made on first use.
  std::optional<detail::ParkSet> park_set_;
  std::thread parker_;
  ParkedList parked_;
  std::unordered_map<int, typename ParkedList::iterator> parked_by_fd_;
  std::size_t parked_total_ = 0;
  std::size_t parked_dropped_ = 0;
  bool parking_stopped_ = false;
  bool parking_closed_ = false;  // server_close ran: nothing parks any more
};

// With the four servers, the twelve server names of Python's module (the Unix threading and
// forking ones exist there since Python 3.12).

using ThreadPoolTCPServer = ThreadPoolMixIn<TCPServer>;
using ThreadPoolUDPServer = ThreadPoolMixIn<UDPServer>;
using ThreadPoolUnixStreamServer = ThreadPoolMixIn<UnixStreamServer>;
using ThreadPoolUnixDatagramServer = ThreadPoolMixIn<UnixDatagramServer>;

}  // namespace socketserver
