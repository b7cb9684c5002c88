// bench_common.hpp — what every bench server of this project shares: the command line
// (--host, --port, --threads, --workers, --tls-cert/--tls-key, --proxy-protocol), the "PORT n"
// line the runner reads, and the timestamp.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace bench {

struct Args {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 1;
  int workers = 32;
  int max_threads = 0;  ///< --max-threads N: the pool's max_threads (0: its default)
  std::string tls_cert;  // with --tls-cert: serve TLS with this PEM chain and --tls-key's key
  std::string tls_key;
  bool proxy_protocol = false;  ///< --proxy-protocol: behind a balancer (PROXY v1/v2 headers)
};

/// `accepts_proxy`: the server takes --proxy-protocol (the SocketServer ones); elsewhere it is an
/// unknown argument.
inline Args parse(int argc, char** argv, const char* name, bool accepts_proxy = false) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      std::printf("%s: timestamp-protocol bench server\n"
                  "  --host H (127.0.0.1) --port P (0: any) --threads N --workers N\n"
                  "  --max-threads N (the pool's; 0: its default)\n"
                  "  --tls-cert PEM --tls-key PEM (serve TLS)\n%s", name,
                  accepts_proxy ? "  --proxy-protocol (each connection starts with a PROXY header)\n"
                                : "");
      std::exit(0);
    }
    if (accepts_proxy && arg == "--proxy-protocol") {  // a switch
      a.proxy_protocol = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: missing value after %s\n", name, arg.c_str());
      std::exit(2);
    }
    const char* v = argv[++i];
    if (arg == "--host") a.host = v;
    else if (arg == "--port") a.port = std::atoi(v);
    else if (arg == "--threads") a.threads = std::atoi(v);
    else if (arg == "--workers") a.workers = std::atoi(v);
    else if (arg == "--max-threads") a.max_threads = std::atoi(v);
    else if (arg == "--tls-cert") a.tls_cert = v;
    else if (arg == "--tls-key") a.tls_key = v;
    else {
      std::fprintf(stderr, "%s: unknown argument %s\n", name, arg.c_str());
      std::exit(2);
    }
  }
  if (a.tls_cert.empty() != a.tls_key.empty()) {
    std::fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", name);
    std::exit(2);
  }
  return a;
}

/// Tells the runner where we listen.
inline void announce(int port) {
  std::printf("PORT %d\n", port);
  std::fflush(stdout);
}

/// "[Fri Nov 27 12:05:44 2026] ": Python's '[%s] ' % ctime(). The text changes once a second,
/// so each thread formats it once a second (localtime_r after one tzset(): no system call per
/// request, unlike glibc's ctime(), which stats /etc/localtime every time).
inline std::string_view stamp() {
  struct Cache {
    std::time_t second = -1;
    char text[32] = {};
  };
  thread_local Cache cache;
  static const bool tz_ready = (tzset(), true);
  (void)tz_ready;
  const std::time_t now = std::time(nullptr);
  if (now != cache.second) {
    std::tm tm{};
    localtime_r(&now, &tm);
    cache.text[0] = '[';
    std::strftime(cache.text + 1, sizeof cache.text - 1, "%a %b %e %H:%M:%S %Y", &tm);
    std::memcpy(cache.text + 25, "] ", 2);
    cache.second = now;
  }
  return std::string_view(cache.text, 27);
}

}  // namespace bench
