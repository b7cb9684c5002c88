// serve_gate.hpp (detail) — serve_forever's bookkeeping, written once for BaseServer and the
// asyncio server (AsyncStreamServer): whether a loop runs and in which thread, whether a stop
// was asked for, and shutdown()'s wait for the loop to have left (Python's __is_shut_down
// event and __shutdown_request flag).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace socketserver::detail {

class ServeGate {
 public:
  /// serve_forever's start, in the loop's thread.
  void enter() {
    std::lock_guard<std::mutex> lock(mu_);
    serving_.store(true);
    loop_thread_ = std::this_thread::get_id();
  }
  /// serve_forever's end, whichever way it leaves: not serving, the stop request cleared (the
  /// next serve_forever runs), shutdown() woken.
  void leave() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(false);
    serving_.store(false);
    loop_thread_ = {};
    stopped_.notify_all();
  }
  /// Asks the loop to stop: one atomic store (async-signal-safe).
  void request_stop() noexcept { stop_.store(true); }
  [[nodiscard]] bool stop_requested() const noexcept { return stop_.load(); }
  [[nodiscard]] bool serving() const noexcept { return serving_.load(); }
  /// shutdown()'s wait: until the loop has left; at once when none runs, or when called from
  /// the loop's own thread (a handler of a loop that serves inline: waiting would deadlock).
  void wait_stopped() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!serving_.load() || loop_thread_ == std::this_thread::get_id()) return;
    stopped_.wait(lock, [this] { return !serving_.load(); });
  }

  /// Calls leave() when it goes out of scope: serve_forever's way out, exceptions included.
  struct Leaving {
    ServeGate& gate;
    explicit Leaving(ServeGate& g) : gate(g) {}
    Leaving(const Leaving&) = delete;
    Leaving& operator=(const Leaving&) = delete;
    ~Leaving() { gate.leave(); }
  };

 private:
  std::mutex mu_;
  std::condition_variable stopped_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> serving_{false};
  std::thread::id loop_thread_;
};

}  // namespace socketserver::detail
