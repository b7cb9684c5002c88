// test_util.hpp — helpers shared by the GoogleTest suites (not part of the library).
//
//   run_in_child      runs a function in a forked child (optionally inside a fresh network
//                     namespace, where name resolution fails locally) and reports its result
//   TempDir           a mkdtemp directory removed with everything in it
//   unique_abstract   a Linux abstract Unix name no other test uses
//   SignalCounter     installs a counting handler WITHOUT SA_RESTART; restores the old one
//   Interrupter       a thread that pthread_kill()s a target thread in a bounded loop
//   tcp_listener / TcpConn   a listener on 127.0.0.1:0 and a connected client/server pair
//   wait_until        a bounded poll for a condition (every 5 ms, false at the deadline)
//   wait_settled      a bounded poll until a value is positive and stops changing
//   this_tid          the calling thread's kernel id (for /proc/self/task/<tid>)
//   bytes_unread / bytes_unacked   SIOCINQ / SIOCOUTQ of a socket
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "socketserver/socket.hpp"

namespace testutil {

using namespace std::chrono_literals;

// ---- waiting ----------------------------------------------------------------------------------

/// Polls `pred` every 5 ms for at most `limit`; returns its last value.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (int i = 0; i < 1000000; ++i) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

/// Waits (bounded by `limit`) until `value()` is positive and has kept the same value for
/// `settle` (read every 5 ms): "the buffers have filled up", "the producer has stalled".
inline bool wait_settled(const std::function<long long()>& value,
                         std::chrono::milliseconds settle = 30ms,
                         std::chrono::milliseconds limit = 10s) {
  long long last = -1;
  auto since = std::chrono::steady_clock::now();
  return wait_until(
      [&] {
        const long long now = value();
        const auto t = std::chrono::steady_clock::now();
        if (now != last) {
          last = now;
          since = t;
          return false;
        }
        return now > 0 && t - since >= settle;
      },
      limit);
}

/// The calling thread's kernel thread id.
inline pid_t this_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// ---- child processes ------------------------------------------------------------------------

struct ChildResult {
  bool skipped = false;    // the network namespace could not be created (no privilege)
  bool exited = false;     // the child exited normally
  int exit_code = -1;
  int term_signal = 0;     // the signal that killed the child, if any
  std::string report;      // what the function returned ("" = success) or why it failed
};

// Runs `fn` in a forked child; `fn` returns "" on success, else a description of the failure
// (exceptions are caught and described). With `new_netns`, the child first calls
// unshare(CLONE_NEWNET): it then has only a down loopback interface, so no packet can leave.
// The parent waits at most `limit` and kills the child after that.
inline ChildResult run_in_child(const std::function<std::string()>& fn, bool new_netns = false,
                                std::chrono::milliseconds limit = 30s) {
  ChildResult result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.report = std::string("pipe2: ") + std::strerror(errno);
    return result;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.report = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return result;
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    int code = 0;
    if (new_netns && ::unshare(CLONE_NEWNET) != 0) {
      const int err = errno;
      out = std::string("unshare(CLONE_NEWNET): ") + std::strerror(err);
      code = (err == EPERM || err == EINVAL || err == ENOSYS || err == ENOSPC) ? 77 : 1;
    } else {
      try {
        out = fn();
        code = out.empty() ? 0 : 1;
      } catch (const std::exception& e) {
        out = std::string("uncaught exception: ") + e.what();
        code = 1;
      } catch (...) {
        out = "uncaught non-standard exception";
        code = 1;
      }
    }
    std::size_t off = 0;
    while (off < out.size()) {
      const ssize_t n = ::write(fds[1], out.data() + off, out.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
    ::_exit(code);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  for (int i = 0; i < 100000; ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) break;
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.report.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  pid_t w = ::waitpid(pid, &status, WNOHANG);
  if (w == 0) {  // still running after the deadline (or after closing its pipe): give it 1 s
    for (int i = 0; i < 100 && w == 0; ++i) {
      std::this_thread::sleep_for(10ms);
      w = ::waitpid(pid, &status, WNOHANG);
    }
    if (w == 0) {
      ::kill(pid, SIGKILL);
      w = ::waitpid(pid, &status, 0);
      result.report += " [child killed after the time limit]";
    }
  }
  if (w == pid && WIFEXITED(status)) {
    result.exited = true;
    result.exit_code = WEXITSTATUS(status);
    result.skipped = result.exit_code == 77;
  } else if (w == pid && WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

// Asserts (in the calling test) that the child succeeded; skips when it could not be created.
#define EXPECT_CHILD_OK(result_expr)                                                       \
  do {                                                                                     \
    const ::testutil::ChildResult child_result_ = (result_expr);                           \
    if (child_result_.skipped) GTEST_SKIP() << child_result_.report;                       \
    EXPECT_TRUE(child_result_.exited)                                                      \
        << "child killed by signal " << child_result_.term_signal << " ("                  \
        << ::strsignal(child_result_.term_signal) << ") " << child_result_.report;         \
    EXPECT_EQ(child_result_.exit_code, 0) << child_result_.report;                         \
    EXPECT_EQ(child_result_.report, "");                                                   \
  } while (0)

// ---- file system and names --------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/socketserver-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string unique_abstract(const std::string& tag) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return "socketserver-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1)) + "-" + std::to_string(rd());
}

// ---- descriptors ------------------------------------------------------------------------------

inline bool fd_is_open(int fd) { return fd >= 0 && ::fcntl(fd, F_GETFD) != -1; }
inline bool fd_cloexec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  return flags != -1 && (flags & FD_CLOEXEC) != 0;
}
inline bool fd_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags != -1 && (flags & O_NONBLOCK) != 0;
}

// ---- signals ----------------------------------------------------------------------------------

inline std::atomic<int> g_signals_caught{0};
static_assert(std::atomic<int>::is_always_lock_free);
inline void count_signal(int) { g_signals_caught.fetch_add(1, std::memory_order_relaxed); }

// Installs count_signal for `sig` without SA_RESTART (so blocking calls fail with EINTR) and
// restores the previous action on destruction.
class SignalCounter {
 public:
  explicit SignalCounter(int sig) : sig_(sig) {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART
    ok_ = ::sigaction(sig_, &sa, &old_) == 0;
  }
  ~SignalCounter() {
    if (ok_) ::sigaction(sig_, &old_, nullptr);
  }
  SignalCounter(const SignalCounter&) = delete;
  SignalCounter& operator=(const SignalCounter&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  int sig_;
  bool ok_ = false;
  struct sigaction old_ {};
};

// Sends `sig` to `target` every `period`, at most `max_signals` times, until stop() (called by
// the destructor). The target thread must outlive the Interrupter (use the creating thread).
class Interrupter {
 public:
  Interrupter(pthread_t target, int sig, std::chrono::microseconds period = 500us,
              int max_signals = 20000)
      : thread_([this, target, sig, period, max_signals] {
          for (int i = 0; i < max_signals && !stop_.load(); ++i) {
            if (::pthread_kill(target, sig) != 0) break;
            sent_.fetch_add(1);
            std::this_thread::sleep_for(period);
          }
        }) {}
  ~Interrupter() { stop(); }
  Interrupter(const Interrupter&) = delete;
  Interrupter& operator=(const Interrupter&) = delete;
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] int sent() const { return sent_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0};
  std::thread thread_;
};

// Runs `fn` while SIGUSR1 — handled WITHOUT SA_RESTART — hits the calling thread every 500 us
// (bounded count); restores the old handler. Returns how many signals were handled meanwhile.
// An exception from `fn` propagates after the interrupter has stopped.
template <class Fn>
int under_signals(Fn&& fn) {
  SignalCounter handler(SIGUSR1);
  if (!handler.ok()) throw std::runtime_error("sigaction(SIGUSR1) failed");
  const int before = g_signals_caught.load();
  {
    Interrupter irq(::pthread_self(), SIGUSR1);
    std::forward<Fn>(fn)();  // ~Interrupter stops and joins, also when fn throws
  }
  return g_signals_caught.load() - before;
}

// ---- sockets ----------------------------------------------------------------------------------

inline socketserver::Socket tcp_listener(int family = AF_INET) {
  socketserver::Socket l(family, SOCK_STREAM);
  l.bind({family == AF_INET6 ? "::1" : "127.0.0.1", 0});
  l.listen();
  return l;
}

// A TCP connection over 127.0.0.1: listener, client and the accepted server end.
struct TcpConn {
  socketserver::Socket listener = tcp_listener();
  socketserver::Socket client{AF_INET, SOCK_STREAM};
  socketserver::Socket server = connect_and_accept();

 private:
  socketserver::Socket connect_and_accept() {
    client.connect(listener.getsockname());
    return std::move(listener.accept().first);
  }
};
inline TcpConn tcp_conn() { return TcpConn{}; }

// Restores the module's default timeout when the test ends.
struct DefaultTimeoutGuard {
  socketserver::Timeout saved = socketserver::getdefaulttimeout();
  ~DefaultTimeoutGuard() { socketserver::setdefaulttimeout(saved); }
};

// A port on 127.0.0.1 where nobody listens: a bound, non-listening socket keeps it reserved.
struct ClosedPort {
  socketserver::Socket holder{AF_INET, SOCK_STREAM};
  ClosedPort() { holder.bind({"127.0.0.1", 0}); }
  [[nodiscard]] socketserver::Address address() const { return holder.getsockname(); }
};

// Receives exactly n bytes, fewer at end of stream (bounded by the socket's timeout and a count).
inline std::string recv_exactly(socketserver::Socket& s, std::size_t n) {
  std::string out;
  for (int i = 0; i < 1000000 && out.size() < n; ++i) {
    std::string chunk = s.recv(std::min<std::size_t>(n - out.size(), 1 << 16));
    if (chunk.empty()) break;
    out += chunk;
  }
  return out;
}

// Receives until end of stream (bounded likewise).
inline std::string drain(socketserver::Socket& s) {
  return recv_exactly(s, std::string().max_size());
}

// Runs `fn` and returns the exception of type E it threw (std::nullopt when none). Another
// exception type propagates and fails the test.
template <class E, class Fn>
std::optional<E> catch_as(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const E& e) {
    return e;
  }
  return std::nullopt;
}

// Receives `expected` bytes on a background thread (a slow reader sleeps 1 ms every 8 recvs);
// bounded by the socket's timeout. join() returns the data; error() says what went wrong.
class Collector {
 public:
  Collector(socketserver::Socket& s, std::size_t expected, bool slow = false)
      : thread_([this, &s, expected, slow] {
          try {
            for (int i = 0; i < 1000000 && data_.size() < expected; ++i) {
              std::string chunk = s.recv(1 << 16);
              if (chunk.empty()) break;
              data_ += chunk;
              if (slow && i % 8 == 0) std::this_thread::sleep_for(1ms);
            }
          } catch (const std::exception& e) {
            error_ = e.what();
          }
        }) {}
  ~Collector() { join(); }
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  const std::string& join() {
    if (thread_.joinable()) thread_.join();
    return data_;
  }
  const std::string& error() {
    join();
    return error_;
  }

 private:
  std::string data_;
  std::string error_;
  std::thread thread_;
};

// Bytes queued in a socket's receive queue, not yet read (SIOCINQ; -1 on error).
inline long long bytes_unread(int fd) {
  int n = 0;
  return ::ioctl(fd, SIOCINQ, &n) == 0 ? n : -1;
}

// Bytes of a stream socket's send queue the peer has not acknowledged yet (SIOCOUTQ; -1 on
// error). On loopback TCP, 0 after a send means the bytes are in the peer's receive queue.
inline long long bytes_unacked(int fd) {
  int n = 0;
  return ::ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

// A byte pattern that makes misordered or lost data visible.
inline std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

}  // namespace testutil
