// What every hand-written and library anchor server shares, so that the comparison is fair:
// the command line (--host, --port, --threads), the "PORT <n>" announcement, the exit on
// SIGTERM/SIGINT, the file-descriptor limit, and — above all — the timestamp itself.
//
// The timestamp: every C++ server of the benchmark (these anchors and the project's own
// bench/servers, see bench/servers/bench_common.hpp) calls time() per request and formats the
// 24-character ctime text at most once a second per thread (a thread_local cache keyed on the
// second) — what a fast server would do. localtime_r() runs after one tzset(), so glibc never
// re-reads /etc/localtime (its localtime()/ctime() stat it on every call). The Python anchors
// call time.ctime() per request, as Python code does.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace anchor {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 1;
  std::string tls_cert;  // TLS anchors: --tls-cert PEM --tls-key PEM
  std::string tls_key;
};

[[noreturn]] inline void usage(const char* prog, bool with_threads, const char* what,
                               bool with_tls = false) {
  std::fprintf(stderr, "%s: %s\nusage: %s [--host 127.0.0.1] [--port N]%s%s\n", prog, what, prog,
               with_threads ? " [--threads N]" : "", with_tls ? " --tls-cert PEM --tls-key PEM" : "");
  std::exit(2);
}

inline Options parse_args(int argc, char** argv, bool with_threads = false, bool with_tls = false) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(argv[0], with_threads, "missing value", with_tls);
      return argv[++i];
    };
    if (a == "--host") {
      o.host = value();
    } else if (a == "--port") {
      o.port = std::atoi(value());
    } else if (a == "--threads" && with_threads) {
      o.threads = std::atoi(value());
      if (o.threads < 1) usage(argv[0], with_threads, "--threads must be >= 1", with_tls);
    } else if (a == "--tls-cert" && with_tls) {
      o.tls_cert = value();
    } else if (a == "--tls-key" && with_tls) {
      o.tls_key = value();
    } else if (a == "--help" || a == "-h") {
      usage(argv[0], with_threads, "a timestamp server for the benchmark", with_tls);
    } else {
      usage(argv[0], with_threads, "unknown argument", with_tls);
    }
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    usage(argv[0], with_threads, "--tls-cert and --tls-key go together", with_tls);
  }
  return o;
}

extern "C" inline void exit_on_signal(int) { _exit(0); }

/// SIGTERM/SIGINT end the process at once with status 0 (the runner stops servers this way);
/// SIGPIPE is ignored (a peer that went away is an error on that connection only); the soft
/// file-descriptor limit is raised to the hard one (the idle workload holds 10 000 connections);
/// tzset() runs once (see above).
inline void init_process() {
  struct sigaction sa {};
  sa.sa_handler = exit_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  tzset();
}

/// The one line on stdout the runner waits for.
inline void announce_port(int port) {
  std::printf("PORT %d\n", port);
  std::fflush(stdout);
}

/// Appends "[" + ctime + "] " (27 bytes) to out — the reply's prefix; the caller appends the line.
/// The text is formatted once a second per thread (tzset() ran in init_process()).
inline void append_stamp(std::string& out) {
  struct Cache {
    std::time_t second = -1;
    char text[64] = {};
    std::size_t size = 0;
  };
  thread_local Cache cache;
  const std::time_t now = std::time(nullptr);
  if (now != cache.second) {
    std::tm local{};
    localtime_r(&now, &local);
    cache.text[0] = '[';
    std::size_t n = std::strftime(cache.text + 1, sizeof cache.text - 3, "%a %b %e %H:%M:%S %Y", &local);
    cache.text[1 + n] = ']';
    cache.text[2 + n] = ' ';
    cache.size = n + 3;
    cache.second = now;
  }
  out.append(cache.text, cache.size);
}

/// For each complete line ("...\n") at the front of data, appends its reply to out; returns the
/// number of bytes consumed (everything up to and including the last '\n').
inline std::size_t stamp_lines(std::string_view data, std::string& out) {
  std::size_t start = 0;
  while (start < data.size()) {
    const void* nl = std::memchr(data.data() + start, '\n', data.size() - start);
    if (nl == nullptr) break;
    std::size_t end = static_cast<const char*>(nl) - data.data() + 1;
    append_stamp(out);
    out.append(data.data() + start, end - start);
    start = end;
  }
  return start;
}

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

/// A bound (and, for TCP, listening with a SOMAXCONN backlog) IPv4 socket; SO_REUSEADDR on.
inline int make_socket(const Options& o, int type, int extra_flags = 0) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC | extra_flags, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr) != 1) {
    std::fprintf(stderr, "bad --host '%s' (an IPv4 address is expected)\n", o.host.c_str());
    std::exit(2);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) die("bind");
  if (type == SOCK_STREAM && ::listen(fd, SOMAXCONN) < 0) die("listen");
  return fd;
}

inline int local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) die("getsockname");
  return ntohs(sa.sin_port);
}

}  // namespace anchor
