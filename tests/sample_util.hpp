// sample_util.hpp — what the sample tests (test_samples.cpp, test_samples_ss.cpp) share: the
// built programs run as child processes, and raw loopback sockets to talk to them.
//
//   Child          a program with stdin, stdout and stderr on pipes; killed and reaped at the end
//   Server         a sample server started on --port 0, and the port it printed
//   Fd, loopback, bound_socket, tcp_connect, send_all, recv_until, recv_reply, sees_eof,
//   reset_close, recv_datagram, send_datagram   raw POSIX sockets on 127.0.0.1 / ::1
//   tcp_rx_queue   what a connection's socket (in a server child, say) holds unread
//   kWait          the bound of every wait (generous: sanitizer builds are slow)
//
// Not part of the library. Nothing leaves the loopback interface; no fixed port is bound.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace sample_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Sanitizer builds start slowly: every wait allows this long (a passing test waits far less).
inline constexpr auto kWait = 10s;

// A test writing to the stdin of a child that has exited must get EPIPE, not die of SIGPIPE.
[[maybe_unused]] inline const bool kSigpipeIgnored = (::signal(SIGPIPE, SIG_IGN), true);

// The book's reply to "hello": "[" + time.ctime() + "] hello".
inline const std::regex kHelloReply(
    R"(^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] hello$)");
// The same, for any message (the part after "] " is checked separately).
inline const std::regex kReplyPrefix(
    R"(\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] )");

inline std::string sample(const std::string& name) {
  return std::string(SOCKETSERVER_SAMPLES_DIR) + "/" + name;
}

inline std::string python3() {
  std::string p = SOCKETSERVER_PYTHON3;
  if (p.ends_with("NOTFOUND")) p.clear();  // find_program's "SOCKETSERVER_PYTHON3-NOTFOUND"
  return p;
}

inline int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, 1000));
}

inline std::size_t count(std::string_view haystack, std::string_view needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// ---- descriptors and loopback sockets ------------------------------------------------------

// One owned descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// 127.0.0.1:port or [::1]:port.
inline std::pair<sockaddr_storage, socklen_t> loopback(int family, int port) {
  sockaddr_storage ss{};
  if (family == AF_INET6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(static_cast<std::uint16_t>(port));
    sa->sin6_addr = in6addr_loopback;
    return {ss, sizeof(sockaddr_in6)};
  }
  auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(static_cast<std::uint16_t>(port));
  sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return {ss, sizeof(sockaddr_in)};
}

inline int local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// The bytes a TCP socket of any process holds unread (rx_queue in /proc/net/tcp and tcp6):
// the socket on `local_port` connected from `remote_port`. -1 when there is none.
inline long tcp_rx_queue(int local_port, int remote_port) {
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    for (int i = 0; i < 1000000 && std::getline(in, line); ++i) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues;
      if (!(fields >> slot >> local >> remote >> state >> queues)) continue;
      const auto port_of = [](const std::string& addr) {
        const std::size_t colon = addr.rfind(':');
        return colon == std::string::npos ? -1 : std::stoi(addr.substr(colon + 1), nullptr, 16);
      };
      const std::size_t colon = queues.find(':');
      if (port_of(local) != local_port || port_of(remote) != remote_port ||
          colon == std::string::npos) {
        continue;
      }
      return std::stol(queues.substr(colon + 1), nullptr, 16);
    }
  }
  return -1;
}

// A socket bound to the loopback address on a free port (no SO_REUSEADDR), optionally
// listening. Holding one makes "that port is taken" (or "nobody answers there") certain.
inline Fd bound_socket(int family, int type, bool listening = false) {
  Fd s(::socket(family, type | SOCK_CLOEXEC, 0));
  if (!s) return s;
  auto [addr, len] = loopback(family, 0);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return Fd();
  if (listening && ::listen(s.get(), 16) != 0) return Fd();
  return s;
}

inline bool ipv6_available() { return static_cast<bool>(bound_socket(AF_INET6, SOCK_STREAM)); }

// A TCP connection to the loopback address (a blocking connect: on loopback it is immediate).
inline Fd tcp_connect(int family, int port) {
  Fd s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return s;
  auto [addr, len] = loopback(family, port);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return Fd();
  return s;
}

inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Receives until `done(received)` holds, the peer closes, or kWait runs out.
inline std::string recv_until(int fd, const std::function<bool(const std::string&)>& done,
                              bool* eof = nullptr) {
  std::string buf;
  if (eof) *eof = false;
  const auto deadline = Clock::now() + kWait;
  while (!done(buf) && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) continue;
    char chunk[4096];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (eof) *eof = true;
      break;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  return buf;
}

// One reply to `message`: receives until the bytes end with "] " + message.
inline std::string recv_reply(int fd, const std::string& message) {
  const std::string tail = "] " + message;
  return recv_until(fd, [&](const std::string& b) { return b.ends_with(tail); });
}

// True when the peer closes the connection within kWait (recv returns 0, or an error).
inline bool sees_eof(int fd) {
  bool eof = false;
  recv_until(
      fd, [](const std::string&) { return false; }, &eof);
  return eof;
}

// Closes with SO_LINGER {on, 0}: the kernel sends RST instead of FIN (a crashed client).
void reset_close(Fd& s) {
  linger lg{1, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  s.reset();
}

// One datagram within kWait: (data, sender's port), or nothing.
inline std::optional<std::pair<std::string, int>> recv_datagram(int fd) {
  const auto deadline = Clock::now() + kWait;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) continue;
    char buf[65536];
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    int port = from.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&from)->sin6_port)
                                          : ntohs(reinterpret_cast<sockaddr_in*>(&from)->sin_port);
    return std::pair{std::string(buf, static_cast<std::size_t>(n)), port};
  }
  return std::nullopt;
}

inline bool send_datagram(int fd, int family, int port, std::string_view data) {
  auto [addr, len] = loopback(family, port);
  return ::sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&addr), len) ==
         static_cast<ssize_t>(data.size());
}

// ---- child processes -----------------------------------------------------------------------

// ThreadSanitizer defers a signal that arrives while the thread runs its own code to a later
// intercepted call. Under a loaded CI run, the single-threaded tsTservSS built with TSan has
// been seen never to run its SIGINT/SIGTERM handler at all (waiting in epoll_wait, or in recv()
// from a quiet client; 1 run in 4 to 6 for the latter, also before the current changes; a
// second signal did not help). Its three signal tests skip under TSan; the normal and ASan
// builds run them. The same for the chat servers on the reactor: chatservAIO under TSan left
// SIGTERM unhandled in 3-4 runs of 15 (asleep in epoll_wait, the signal no longer pending in
// the kernel; capping the wait at 1 s, so that the loop woke every second, did not help);
// tsTservTW and chatserv too, less often (1 run in 10-20). Their signal tests skip under TSan.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kUnderTsan = true;
#else
inline constexpr bool kUnderTsan = false;
#endif
#else
inline constexpr bool kUnderTsan = false;
#endif

// A program running as a child, its stdin, stdout and stderr on pipes. The destructor kills
// it (SIGKILL) if it still runs, and reaps it; on a failed test it prints what the child wrote.
// `in_child`, when given, runs in the forked child just before exec (after the pipes are in
// place): what a launcher does there, e.g. hand over a socket as systemd does. Only for tests
// that start no thread (after fork, a multi-threaded parent's child may call only
// async-signal-safe functions).
class Child {
 public:
  explicit Child(std::vector<std::string> argv, const std::function<void()>& in_child = {})
      : argv_(std::move(argv)) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
        ::pipe2(err, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {  // the child: only async-signal-safe calls until exec
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::signal(SIGPIPE, SIG_DFL);  // ignored dispositions survive exec; restore the default
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (in_child) in_child();
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    in_ = Fd(in[1]);
    out_ = Fd(out[0]);
    err_ = Fd(err[0]);
    if (pid_ < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (::testing::Test::HasFailure()) {
      pump(0);
      std::cerr << "---- " << argv_[0] << " stdout:\n"
                << out_buf_ << "\n---- stderr:\n"
                << err_buf_ << "\n----" << std::endl;
    }
  }

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& out() const { return out_buf_; }
  [[nodiscard]] const std::string& err() const { return err_buf_; }

  bool write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(in_.get(), data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void close_stdin() { in_.reset(); }
  // Closes our ends of its stdout and stderr: its console has no reader any more (what a
  // `| head -1` that has ended leaves a program with). Nothing it writes after is kept.
  void close_output() {
    out_.reset();
    err_.reset();
  }
  void signal(int sig) { ::kill(pid_, sig); }

  // Reads stdout and stderr until `done()` holds or kWait runs out.
  bool wait_until(const std::function<bool()>& done) {
    const auto deadline = Clock::now() + kWait;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      if (!pump(remaining_ms(deadline)) && !done()) {
        // Both pipes at end: nothing more can come.
        return done();
      }
    }
    return true;
  }
  bool wait_stdout(std::string_view needle, std::size_t times = 1) {
    return wait_until([&] { return count(out_buf_, needle) >= times; });
  }
  bool wait_stderr(std::string_view needle) {
    return wait_until([&] { return err_buf_.find(needle) != std::string::npos; });
  }

  // The port of "listening on HOST:PORT" on stderr (-1 when it does not come).
  int listening_port() {
    const std::string key = "listening on ";
    bool ok = wait_until([&] {
      auto p = err_buf_.find(key);
      return p != std::string::npos && err_buf_.find('\n', p) != std::string::npos;
    });
    if (!ok) return -1;
    auto begin = err_buf_.find(key);
    auto end = err_buf_.find('\n', begin);
    std::string line = err_buf_.substr(begin, end - begin);
    listening_line_ = line;
    auto colon = line.rfind(':');
    try {
      return std::stoi(line.substr(colon + 1));
    } catch (const std::exception&) {
      return -1;
    }
  }
  [[nodiscard]] const std::string& listening_line() const { return listening_line_; }

  // Waits for the child to end; its waitpid status, or nothing after kWait. Reads the pipes
  // meanwhile (a child blocked on a full pipe would never end) and to their end afterwards.
  std::optional<int> wait_exit() {
    const auto deadline = Clock::now() + kWait;
    while (!reaped_) {
      pid_t r = ::waitpid(pid_, &status_, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        break;
      }
      if (Clock::now() >= deadline) return std::nullopt;
      if (!pump(10)) std::this_thread::sleep_for(5ms);  // pipes at end: just wait for exit
    }
    while (pump(100)) {  // what the child wrote before it ended
    }
    return status_;
  }
  // The exit code when the child exited normally within kWait, else -1000 - signal / -1.
  int exit_code() {
    auto st = wait_exit();
    if (!st) return -1;
    if (WIFEXITED(*st)) return WEXITSTATUS(*st);
    if (WIFSIGNALED(*st)) return -1000 - WTERMSIG(*st);
    return -1;
  }

 private:
  // One poll() over the open output pipes (at most `ms`); appends what is there. False when
  // both pipes are at their end.
  bool pump(int ms) {
    pollfd fds[2];
    Fd* owners[2];
    std::string* bufs[2];
    nfds_t n = 0;
    if (out_) {
      fds[n] = {out_.get(), POLLIN, 0};
      owners[n] = &out_;
      bufs[n++] = &out_buf_;
    }
    if (err_) {
      fds[n] = {err_.get(), POLLIN, 0};
      owners[n] = &err_;
      bufs[n++] = &err_buf_;
    }
    if (n == 0) return false;
    if (::poll(fds, n, ms) <= 0) return true;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      char chunk[4096];
      ssize_t r = ::read(fds[i].fd, chunk, sizeof chunk);
      if (r > 0) {
        bufs[i]->append(chunk, static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        owners[i]->reset();  // end of that pipe
      }
    }
    return true;
  }

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  Fd in_, out_, err_;
  std::string out_buf_, err_buf_, listening_line_;
  bool reaped_ = false;
  int status_ = 0;
};

// A sample server started on --port 0; port() is the port it got (-1 when it did not start).
struct Server {
  Server(const std::string& name, const std::string& host, std::vector<std::string> extra = {})
      : family(host.find(':') != std::string::npos ? AF_INET6 : AF_INET),
        child([&] {
          std::vector<std::string> argv{sample(name), "--host", host, "--port", "0"};
          argv.insert(argv.end(), extra.begin(), extra.end());
          return argv;
        }()),
        port(child.listening_port()) {}
  int family;
  Child child;
  int port;
};

inline std::string connected_line(int family, int port) {
  return family == AF_INET6 ? "...connected from: ('::1', " + std::to_string(port) + ", 0, 0)\n"
                            : "...connected from: ('127.0.0.1', " + std::to_string(port) + ")\n";
}

inline bool exited_zero_after(Child& child, int sig) {
  child.signal(sig);
  return child.exit_code() == 0;
}

// "> [time] hello\n> [time] hello\n> " -> the reply lines, prompts removed.
inline std::vector<std::string> reply_lines(const std::string& out) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  for (auto nl = out.find('\n'); nl != std::string::npos; nl = out.find('\n', pos)) {
    std::string line = out.substr(pos, nl - pos);
    if (line.starts_with("> ")) line.erase(0, 2);
    lines.push_back(line);
    pos = nl + 1;
  }
  return lines;
}

}  // namespace sample_test
