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
//   wait_until          a bounded poll for a condition (test_util.hpp's)
//   wait_asleep / wait_other_threads_asleep   a thread blocked in a wait, seen through /proc
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
#include <iterator>
#include <mutex>
#include <sstream>
#include <stdexcept>
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
          tid_.store(testutil::this_tid());
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
  /// The serving thread's kernel id (0 until it has started).
  [[nodiscard]] pid_t tid() const { return tid_.load(); }
  [[nodiscard]] std::string error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  ss::BaseServer& server_;
  std::mutex mu_;
  std::string error_;
  std::atomic<bool> returned_{false};
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

using testutil::wait_until;  // a bounded poll for a condition (test_util.hpp)

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
  std::string text;
  try {
    // A process that ends while its file is read makes libstdc++'s filebuf throw (ESRCH).
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    return st;  // gone: not ok
  }
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

/// Context switches (voluntary + involuntary) of thread `tid` of this process, from
/// /proc/self/task/<tid>/status (-1 when it cannot be read: the thread is gone).
inline long long context_switches(pid_t tid) {
  long long total = -1;
  try {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/status");
    std::string line;
    for (int i = 0; i < 200 && std::getline(in, line); ++i) {
      for (const char* key : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
        if (line.rfind(key, 0) == 0) {
          total = (total < 0 ? 0 : total) + std::stoll(line.substr(std::strlen(key)));
        }
      }
    }
  } catch (const std::exception&) {
    return -1;
  }
  return total;
}

/// Waits (bounded) until thread `tid` of this process is blocked in a wait: asleep ('S') in
/// three reads of /proc 5 ms apart without a context switch between them (not merely passing
/// through a short wait). False at the deadline, or when the thread is gone.
inline bool wait_asleep(pid_t tid, std::chrono::milliseconds limit = 10s) {
  if (tid <= 0) return false;
  int streak = 0;  // consecutive reads asleep with the same switch count
  long long switches = -1;
  return wait_until(
      [&] {
        const long long now = context_switches(tid);
        if (now < 0 || proc_stat(tid).state != 'S') {
          streak = 0;
        } else if (streak > 0 && now == switches) {
          ++streak;
        } else {
          streak = 1;
        }
        switches = now;
        return streak >= 3;
      },
      limit);
}

/// Waits (bounded) until every other thread of this process is blocked in a wait (wait_asleep;
/// a thread that ends meanwhile counts as done). For threads the test cannot name, such as a
/// library's internal watchdog.
inline bool wait_other_threads_asleep(std::chrono::milliseconds limit = 10s) {
  const pid_t me = testutil::this_tid();
  std::vector<pid_t> tids;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      const long tid = std::strtol(e->d_name, nullptr, 10);
      if (tid > 0 && tid != me) tids.push_back(static_cast<pid_t>(tid));
    }
    ::closedir(d);
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (const pid_t tid : tids) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!wait_asleep(tid, std::max(left, std::chrono::milliseconds(0))) &&
        proc_stat(tid).ok) {
      return false;
    }
  }
  return true;
}

/// The share of one CPU that `pid` used over `span` of wall time (-1 when /proc could not be
/// read); `state_after` gets its state letter at the end ('Z': it died).
inline double cpu_share(pid_t pid, std::chrono::duration<double> span, char* state_after = nullptr) {
  const ProcStat before = proc_stat(pid);
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(span);
  const ProcStat after = proc_stat(pid);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (state_after != nullptr) *state_after = after.state;
  if (!before.ok || !after.ok) return -1;
  return static_cast<double>(after.cpu_ticks - before.cpu_ticks) /
         static_cast<double>(::sysconf(_SC_CLK_TCK)) / wall;
}

/// In a child about to serve: lowers RLIMIT_NOFILE to 64 (ulimit -n 64) and takes every
/// descriptor left (returned, for the child to close when told). UBSan's vptr check needs a
/// pipe the first time it meets a type; without a free descriptor it reports a false "invalid
/// vptr", so socket_error is met once first.
inline std::vector<int> exhaust_descriptors() {
  try {
    ss::throw_os_error(EMFILE, "warm-up");
  } catch (const ss::socket_error& e) {
    if (e.errno_value() != EMFILE || e.what() == nullptr) ::_exit(4);
  }
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = 64;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  std::vector<int> hog;
  for (int i = 0; i < 200; ++i) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    hog.push_back(fd);
  }
  return hog;
}

/// A server in a forked child, commanded one byte at a time over a socketpair (a command to a
/// child that died is EPIPE, never SIGPIPE). `body(commands, info, stderr_path)` runs in the
/// child and must _exit; it writes its port (an int) to `info` when it serves. finish() (or the
/// destructor) ends it, always bounded: end of input on the commands, SIGKILL after 10 s.
class CommandedChild {
 public:
  using Body = void (*)(int commands, int info, const std::string& stderr_path);
  CommandedChild(Body body, std::string stderr_path) : err_path_(std::move(stderr_path)) {
    int ctl[2] = {-1, -1};
    int info[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0 ||
        ::pipe2(info, O_CLOEXEC) != 0) {
      throw std::runtime_error("CommandedChild: socketpair/pipe failed");
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ctl[1]);
      ::close(info[0]);
      body(ctl[0], info[1], err_path_);
      ::_exit(5);
    }
    ::close(ctl[0]);
    ::close(info[1]);
    ctl_ = ctl[1];
    info_ = info[0];
    if (pid_ < 0) throw std::runtime_error("CommandedChild: fork failed");
  }
  CommandedChild(const CommandedChild&) = delete;
  CommandedChild& operator=(const CommandedChild&) = delete;
  ~CommandedChild() { finish(); }

  [[nodiscard]] pid_t pid() const { return pid_; }
  bool command(char c) const { return ::send(ctl_, &c, 1, MSG_NOSIGNAL) == 1; }
  /// The port the child serves on (0 when it did not say within 20 s).
  int read_port() const {
    int port = 0;
    pollfd p{info_, POLLIN, 0};
    if (::poll(&p, 1, 20000) != 1) return 0;
    return ::read(info_, &port, sizeof port) == static_cast<ssize_t>(sizeof port) ? port : 0;
  }
  [[nodiscard]] std::string stderr_text() const {
    std::ifstream in(err_path_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  /// Ends the child and waits for it; its wait status.
  int finish() {
    if (waited_ || pid_ <= 0) return status_;
    if (ctl_ >= 0) ::close(ctl_);  // end of input: the child stops
    ctl_ = -1;
    for (int i = 0; i < 1000 && !waited_; ++i) {
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) waited_ = true;
      if (!waited_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!waited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      waited_ = true;
    }
    if (info_ >= 0) ::close(info_);
    info_ = -1;
    return status_;
  }
  /// finish(), then: did it exit with 0? Under TSan a forked child inherits the parent's warning
  /// count and exits 66 when it is not zero (a race reported by an earlier test): that counts too.
  bool exited_cleanly() {
    const int st = finish();
    if (!WIFEXITED(st)) return false;
#if defined(__SANITIZE_THREAD__)
    if (WEXITSTATUS(st) == 66) return true;
#endif
    return WEXITSTATUS(st) == 0;
  }

 private:
  std::string err_path_;
  pid_t pid_ = -1;
  int ctl_ = -1;
  int info_ = -1;
  int status_ = -1;
  bool waited_ = false;
};

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

/// An echo server in `child` that has no descriptor left (exhaust_descriptors; 'r' gives them
/// back): 20 clients connect and send a line while it cannot accept them; it must not spin
/// (under half a CPU over 1 s) nor die; after 'r' every early client is answered or closed,
/// never left hanging, and new clients are served. Returns how many early ones were answered.
inline int check_descriptor_exhaustion(CommandedChild& child, const ss::Address& addr) {
  std::vector<ss::Socket> early;
  for (int i = 0; i < 20; ++i) {
    early.push_back(stream_client(addr, 20s));
    early.back().sendall("early " + std::to_string(i) + "\n");
  }
  std::this_thread::sleep_for(300ms);
  char state = '?';
  const double cpu = cpu_share(child.pid(), 1s, &state);
  EXPECT_GE(cpu, 0.0) << "no /proc for the child";
  EXPECT_LT(cpu, 0.5) << "the accept loop spins on EMFILE: " << cpu << " of a CPU";
  EXPECT_NE(state, 'Z') << "the server child died: " << child.stderr_text();
  EXPECT_TRUE(child.command('r')) << "the child is gone: " << child.stderr_text();
  int served = 0;
  for (std::size_t i = 0; i < early.size(); ++i) {
    std::string reply;
    try {
      reply = read_line(early[i]);
    } catch (const ss::connection_reset_error&) {
    }
    if (reply == "early " + std::to_string(i) + "\n") {
      ++served;
    } else {
      EXPECT_EQ(reply, "") << "client " << i;
    }
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(stream_roundtrip(addr), kTestStr) << "after release";
  return served;
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
