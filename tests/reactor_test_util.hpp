// reactor_test_util.hpp — helpers for the reactor suites (not part of the library).
//
//   ReactorThread   runs Reactor::run on a thread; stop() (also the destructor) stops and joins;
//                   call(fn) runs fn in the reactor thread and waits (bounded) for its result
//   Echo            a Protocol that writes back what it receives
//   Log             a thread-safe record of what a protocol saw
//   vm_rss_kib      VmRSS of this process from /proc/self/status
//   nb_connect      a non-blocking TCP connect (raw fd), for many-connection tests
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server_test_util.hpp"
#include "socketserver/reactor.hpp"

namespace rtu {

namespace ss = socketserver;
using namespace std::chrono_literals;
using stu::wait_asleep;
using stu::wait_until;

/// ListenOptions on 127.0.0.1 (never every interface).
inline ss::ListenOptions local_opts() {
  ss::ListenOptions o;
  o.interface = "127.0.0.1";
  return o;
}

/// Reactor::run on its own thread; waits until the loop runs. stop() stops and joins.
class ReactorThread {
 public:
  explicit ReactorThread(ss::Reactor& reactor, bool install_signal_handlers = false)
      : reactor_(reactor) {
    reactor_.call_when_running([this] {
      loop_id_ = std::this_thread::get_id();
      loop_tid_ = testutil::this_tid();
      started_.store(true);
    });
    thread_ = std::thread([this, install_signal_handlers] {
      try {
        reactor_.run(install_signal_handlers);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = e.what();
      }
      returned_.store(true);
    });
    if (!wait_until([this] { return started_.load() || returned_.load(); }, 20s)) {
      ADD_FAILURE() << "reactor did not start";
    }
  }
  ~ReactorThread() { stop(); }
  ReactorThread(const ReactorThread&) = delete;
  ReactorThread& operator=(const ReactorThread&) = delete;

  void stop() {
    if (!thread_.joinable()) return;
    for (int i = 0; i < 6000 && !returned_.load(); ++i) {  // bounded: 60 s
      reactor_.stop();
      std::this_thread::sleep_for(10ms);
    }
    thread_.join();
  }
  /// Waits (bounded) for run() to return by itself.
  bool wait_returned(std::chrono::milliseconds limit = 10s) {
    return wait_until([this] { return returned_.load(); }, limit);
  }
  [[nodiscard]] bool returned() const { return returned_.load(); }
  [[nodiscard]] std::thread::id loop_id() const { return loop_id_; }
  /// The loop thread's kernel id (for stu::wait_asleep).
  [[nodiscard]] pid_t loop_tid() const { return loop_tid_; }
  [[nodiscard]] std::string error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

  /// Runs `fn` in the reactor thread and returns its result (throws after 20 s).
  template <class Fn>
  auto call(Fn fn) -> decltype(fn()) {
    using R = decltype(fn());
    auto promise = std::make_shared<std::promise<R>>();
    std::future<R> future = promise->get_future();
    reactor_.call_from_thread([promise, fn]() mutable {
      try {
        if constexpr (std::is_void_v<R>) {
          fn();
          promise->set_value();
        } else {
          promise->set_value(fn());
        }
      } catch (...) {
        promise->set_exception(std::current_exception());
      }
    });
    if (future.wait_for(20s) != std::future_status::ready) {
      throw std::runtime_error("ReactorThread::call: no answer from the reactor in 20 s");
    }
    return future.get();
  }

 private:
  ss::Reactor& reactor_;
  std::atomic<bool> started_{false};
  std::atomic<bool> returned_{false};
  std::thread::id loop_id_{};
  pid_t loop_tid_ = 0;
  std::mutex mu_;
  std::string error_;
  std::thread thread_;
};

/// Runs reactor.run() in this thread, stopped by a safety timer after `limit` at the latest.
inline void run_bounded(ss::Reactor& reactor, std::chrono::duration<double> limit = 20s) {
  ss::DelayedCall guard = reactor.call_later(limit, [&reactor] {
    ADD_FAILURE() << "safety timer stopped the reactor";
    reactor.stop();
  });
  reactor.run(false);
  guard.cancel();
}

/// What a protocol saw, readable from any thread.
struct Log {
  mutable std::mutex mu;
  std::string data;
  std::vector<std::string> events;
  std::vector<ss::Reason> reasons;
  std::atomic<int> made{0};
  std::atomic<int> lost{0};

  void add_data(std::string_view d) {
    std::lock_guard<std::mutex> lock(mu);
    data.append(d);
  }
  void event(std::string e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(std::move(e));
  }
  void lost_with(const ss::Reason& r) {
    {
      std::lock_guard<std::mutex> lock(mu);
      reasons.push_back(r);
    }
    lost.fetch_add(1);
  }
  std::string get_data() const {
    std::lock_guard<std::mutex> lock(mu);
    return data;
  }
  std::vector<std::string> get_events() const {
    std::lock_guard<std::mutex> lock(mu);
    return events;
  }
  std::vector<ss::Reason> get_reasons() const {
    std::lock_guard<std::mutex> lock(mu);
    return reasons;
  }
};

/// Writes back what it receives; records into a Log when given one.
struct Echo : ss::Protocol {
  explicit Echo(std::shared_ptr<Log> log = nullptr) : log_(std::move(log)) {}
  void connection_made() override {
    if (log_) log_->made.fetch_add(1);
  }
  void data_received(std::string_view data) override {
    if (log_) log_->add_data(data);
    transport().write(data);
  }
  void connection_lost(const ss::Reason& reason) override {
    if (log_) log_->lost_with(reason);
  }
  std::shared_ptr<Log> log_;
};

/// VmRSS of this process in KiB (0 when unknown).
inline long vm_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit.
inline rlim_t raise_nofile() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  ::getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

/// A non-blocking TCP socket connecting to 127.0.0.1:port (-1 on failure).
inline int nb_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Reads what `fd` has within `limit` (poll-bounded) until `want` bytes or end of stream.
inline std::string read_fd(int fd, std::size_t want, std::chrono::milliseconds limit = 10s) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[65536];
  for (int i = 0; i < 1000000 && out.size() < want; ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, want - out.size()));
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace rtu
