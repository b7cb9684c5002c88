// server_test_util.hpp — helpers for the SocketServer suites (selector, server, handler, mixins).
// Not part of the library.
//
//   ServerThread        runs serve_forever on a thread; stop() = shutdown() + join
//   EchoStream/EchoDatagram   Python's test handlers: one line back
//   stream_roundtrip / dgram_roundtrip   a client exchange, every call bounded by a timeout
//   StderrCapture       redirects fd 2 to a file for a while and returns what was written
//   child_processes     this process's children (pid, state) from /proc
//   open_fd_count       entries of /proc/self/fd
//   UnrelatedChild      a child of the test that no server may reap (Python's simple_subprocess)
//   wait_until          a bounded poll for a condition
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "socketserver/handler.hpp"
#include "socketserver/mixins.hpp"
#include "socketserver/selector.hpp"
#include "socketserver/server.hpp"
#include "socketserver/stream.hpp"
#include "test_util.hpp"

namespace stu {

namespace ss = socketserver;
using namespace std::chrono_literals;

inline const std::string kTestStr = "hello world\n";  // Python's TEST_STR

// ---- handlers ---------------------------------------------------------------------------------

/// Python's MyHandler for streams: echoes one line.
struct EchoStream : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;
  void handle() override { wfile.write(rfile.readline()); }
};

/// Python's MyHandler for datagrams: echoes the first line of the packet.
struct EchoDatagram : ss::DatagramRequestHandler {
  using DatagramRequestHandler::DatagramRequestHandler;
  void handle() override { wfile.write(rfile.readline()); }
};

// ---- running a server ---------------------------------------------------------------------------

/// serve_forever on its own thread. stop() (also by the destructor) calls shutdown() and joins.
class ServerThread {
 public:
  explicit ServerThread(ss::BaseServer& server,
                        std::chrono::duration<double> poll_interval = 10ms)
      : server_(server), thread_([this, poll_interval] {
          try {
            server_.serve_forever(poll_interval);
          } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(mu_);
            error_ = e.what();
          }
          returned_.store(true);
        }) {}
  ~ServerThread() { stop(); }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  void stop() {
    if (thread_.joinable()) {
      server_.shutdown();
      thread_.join();
    }
  }
  /// Joins without calling shutdown() (for a loop stopped by other means).
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] bool returned() const { return returned_.load(); }
  [[nodiscard]] std::string error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  ss::BaseServer& server_;
  std::mutex mu_;
  std::string error_;
  std::atomic<bool> returned_{false};
  std::thread thread_;
};

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

// ---- clients ----------------------------------------------------------------------------------

/// A connected stream client with a 10 s timeout on every call.
inline ss::Socket stream_client(const ss::Address& addr, std::chrono::duration<double> t = 10s) {
  ss::Socket s(addr.family(), SOCK_STREAM);
  s.settimeout(t);
  s.connect(addr);
  return s;
}

/// Reads until a '\n' or end of stream (bounded by the socket's timeout and 1 MiB).
inline std::string read_line(ss::Socket& s) {
  std::string buf;
  for (int i = 0; i < 100000 && buf.find('\n') == std::string::npos && buf.size() < (1u << 20);
       ++i) {
    std::string data = s.recv(4096);
    if (data.empty()) break;
    buf += data;
  }
  return buf;
}

/// Reads until end of stream (bounded by the socket's timeout and `max` bytes).
inline std::string read_all(ss::Socket& s, std::size_t max = 64u << 20) {
  std::string buf;
  for (int i = 0; i < 10000000 && buf.size() < max; ++i) {
    std::string data = s.recv(65536);
    if (data.empty()) break;
    buf += data;
  }
  return buf;
}

/// Python's stream_examine: connect, send, read the line back.
inline std::string stream_roundtrip(const ss::Address& addr, std::string_view msg = kTestStr) {
  ss::Socket s = stream_client(addr);
  s.sendall(msg);
  return read_line(s);
}

/// Python's dgram_examine: send one datagram, return the reply. A Unix client binds an
/// abstract name so that the server can answer it.
inline std::string dgram_roundtrip(const ss::Address& addr, std::string_view msg = kTestStr) {
  ss::Socket s(addr.family(), SOCK_DGRAM);
  s.settimeout(10s);
  if (addr.family() == AF_UNIX) s.bind(ss::Address::abstract(testutil::unique_abstract("cli")));
  s.sendto(msg, addr);
  return s.recvfrom(65536).first;
}

/// A TCP address for servers: 127.0.0.1, port 0.
inline ss::Address local0() { return ss::Address{"127.0.0.1", 0}; }

// ---- stderr -----------------------------------------------------------------------------------

/// Redirects fd 2 to a temporary file until stop() (or destruction); stop() returns the text.
/// Forked children that inherit fd 2 meanwhile write to the same file.
class StderrCapture {
 public:
  StderrCapture() {
    char tmpl[] = "/tmp/socketserver-stderr-XXXXXX";
    file_fd_ = ::mkstemp(tmpl);
    if (file_fd_ >= 0) {
      path_ = tmpl;
      std::fflush(stderr);
      saved_fd_ = ::dup(2);
      ::dup2(file_fd_, 2);
    }
  }
  ~StderrCapture() { stop(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string stop() {
    if (saved_fd_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_fd_, 2);
      ::close(saved_fd_);
      saved_fd_ = -1;
      std::ifstream in(path_);
      std::stringstream ss;
      ss << in.rdbuf();
      text_ = ss.str();
      ::close(file_fd_);
      ::unlink(path_.c_str());
      file_fd_ = -1;
    }
    return text_;
  }

 private:
  int file_fd_ = -1;
  int saved_fd_ = -1;
  std::string path_;
  std::string text_;
};

/// Occurrences of `needle` in `hay`.
inline int count_of(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (std::size_t pos = hay.find(needle); pos != std::string::npos;
       pos = hay.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// ---- processes and descriptors -----------------------------------------------------------------

/// /proc/<pid>/stat: the state letter, the parent and utime+stime (clock ticks).
struct ProcStat {
  bool ok = false;
  char state = '?';
  pid_t ppid = 0;
  long long cpu_ticks = 0;
};

inline ProcStat proc_stat(pid_t pid) {
  ProcStat st;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return st;
  std::istringstream rest(text.substr(close_paren + 2));
  std::vector<std::string> f;
  std::string tok;
  for (int i = 0; i < 20 && rest >> tok; ++i) f.push_back(tok);
  if (f.size() < 13) return st;
  // fields after the name: state(3) ppid(4) ... utime(14) stime(15) -> indices 0,1,11,12
  st.state = f[0][0];
  st.ppid = static_cast<pid_t>(std::stol(f[1]));
  st.cpu_ticks = std::stoll(f[11]) + std::stoll(f[12]);
  st.ok = true;
  return st;
}

/// This process's children: (pid, state letter), zombies ('Z') included.
inline std::vector<std::pair<pid_t, char>> child_processes() {
  std::vector<std::pair<pid_t, char>> out;
  const pid_t me = ::getpid();
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    const ProcStat st = proc_stat(static_cast<pid_t>(pid));
    if (st.ok && st.ppid == me) out.emplace_back(static_cast<pid_t>(pid), st.state);
  }
  ::closedir(d);
  return out;
}

/// Children other than `except` (zombies included).
inline std::size_t children_except(pid_t except, bool zombies_only = false) {
  std::size_t n = 0;
  for (const auto& [pid, state] : child_processes()) {
    if (pid == except) continue;
    if (zombies_only && state != 'Z') continue;
    ++n;
  }
  return n;
}

/// Number of open descriptors of this process.
inline int open_fd_count() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

/// Python's simple_subprocess: a child of the test that exits 72 when released (or at once).
/// No server may reap it: reap() (waitpid on its pid) must find its status.
class UnrelatedChild {
 public:
  explicit UnrelatedChild(bool exit_at_once = false) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[1]);
      if (!exit_at_once) {
        char c;
        // Bounded: the parent closes its end at the latest in the destructor.
        while (::read(fds[0], &c, 1) < 0 && errno == EINTR) {
        }
      }
      ::_exit(72);
    }
    ::close(fds[0]);
    release_fd_ = fds[1];
  }
  ~UnrelatedChild() {
    release();
    if (pid_ > 0 && !reaped_) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  UnrelatedChild(const UnrelatedChild&) = delete;
  UnrelatedChild& operator=(const UnrelatedChild&) = delete;

  void release() {
    if (release_fd_ >= 0) ::close(release_fd_);
    release_fd_ = -1;
  }
  [[nodiscard]] pid_t pid() const { return pid_; }
  /// Releases and waits for it: true when waitpid found it and it exited 72.
  bool reap_and_check() {
    release();
    int status = 0;
    pid_t r = -1;
    do {
      r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    reaped_ = r == pid_;
    return r == pid_ && WIFEXITED(status) && WEXITSTATUS(status) == 72;
  }

 private:
  pid_t pid_ = -1;
  int release_fd_ = -1;
  bool reaped_ = false;
};

/// The file exists (any type)?
inline bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace stu

namespace stu {

/// Python's run_server + stream_examine: three round trips through serve_forever on a thread,
/// then shutdown, server_close, fileno() == -1.
template <class Server>
void check_stream_echo(Server& server) {
  EXPECT_EQ(server.server_address, server.socket.getsockname());
  ServerThread t(server);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(stream_roundtrip(server.server_address), kTestStr);
  t.stop();
  EXPECT_EQ(t.error(), "");
  EXPECT_FALSE(server.serving());
  server.server_close();
  EXPECT_EQ(server.fileno(), -1);
}

/// Python's run_server + dgram_examine.
template <class Server>
void check_dgram_echo(Server& server) {
  EXPECT_EQ(server.server_address, server.socket.getsockname());
  ServerThread t(server);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(dgram_roundtrip(server.server_address), kTestStr);
  t.stop();
  EXPECT_EQ(t.error(), "");
  EXPECT_FALSE(server.serving());
  server.server_close();
  EXPECT_EQ(server.fileno(), -1);
}

}  // namespace stu
