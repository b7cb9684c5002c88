// loadgen — the benchmark's load generator: one thread, epoll, non-blocking sockets.
//
// Workloads (every reply is checked against the timestamp protocol: "[" + 24-char ctime +
// "] " + the line sent):
//   pingpong  C persistent connections; each sends a line, waits for the whole reply, repeats
//   churn     C slots; each connects, sends one line, reads the reply, closes, starts again
//             (the book's tsTclntSS), source addresses spread over 127.0.0.2-127.0.0.17
//   udp       C UDP sockets; a datagram, its reply, repeat (a lost one is resent after 1 s)
//   idle      opens N connections and holds them; the server's RSS is read; then each sends
//             one request and must be answered
// --tls runs pingpong and churn over TLS (OpenSSL, no certificate check: the figure is the
// server's cost): churn then makes a full handshake per request, or, with --tls-resume, resumes
// the slot's previous session (the JSON's "tls_resumed" counts the handshakes that did).
// --proxy v1|v2 (pingpong, churn): each connection starts with a PROXY protocol header, as
// HAProxy's send-proxy / send-proxy-v2 sends it (client 192.0.2.1, a port per slot), in the same
// send as its first request: for servers behind a balancer (ServerOptions::proxy_protocol).
// Prints one JSON object on stdout. The server's CPU time per request is read from
// /proc/PID/stat (utime+stime+cutime+cstime) over the measured window.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string workload = "pingpong";
  int connections = 16;
  double duration = 3.0;
  double warmup = 1.0;
  int idle = 10000;
  int server_pid = 0;
  int sources = 16;
  std::string line = "hello world";
  bool tls = false;
  bool tls_resume = false;
  std::string proxy;  // "", "v1" or "v2": a PROXY header at the start of each connection
};

[[noreturn]] void usage(const std::string& error) {
  std::fprintf(stderr,
               "loadgen: %s\n"
               "usage: loadgen --port P [--host 127.0.0.1] [--workload pingpong|churn|udp|idle]\n"
               "               [--connections C] [--duration S] [--warmup S] [--idle N]\n"
               "               [--server-pid PID] [--sources K] [--tls [--tls-resume]]\n"
               "               [--proxy v1|v2]\n",
               error.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      std::printf(
          "loadgen: drives a timestamp-protocol server over 127.0.0.1 and prints one JSON "
          "object.\n  --port P --host H --workload pingpong|churn|udp|idle --connections C\n"
          "  --duration SECONDS --warmup SECONDS --idle N --server-pid PID --sources K\n"
          "  --tls (pingpong/churn over TLS) --tls-resume (churn resumes each slot's session)\n"
          "  --proxy v1|v2 (pingpong, churn: a PROXY header starts each connection)\n");
      std::exit(0);
    }
    if (arg == "--tls" || arg == "--tls-resume") {
      o.tls = true;
      o.tls_resume = o.tls_resume || arg == "--tls-resume";
      continue;
    }
    if (i + 1 >= argc) usage("missing value after " + arg);
    const std::string v = argv[++i];
    try {
      if (arg == "--host") o.host = v;
      else if (arg == "--port") o.port = std::stoi(v);
      else if (arg == "--workload") o.workload = v;
      else if (arg == "--connections") o.connections = std::stoi(v);
      else if (arg == "--duration") o.duration = std::stod(v);
      else if (arg == "--warmup") o.warmup = std::stod(v);
      else if (arg == "--idle") o.idle = std::stoi(v);
      else if (arg == "--server-pid") o.server_pid = std::stoi(v);
      else if (arg == "--sources") o.sources = std::stoi(v);
      else if (arg == "--proxy") o.proxy = v;
      else usage("unknown argument " + arg);
    } catch (const std::exception&) {
      usage("bad value '" + v + "' for " + arg);
    }
  }
  if (o.port <= 0 || o.port > 65535) usage("--port is required (1-65535)");
  if (o.connections <= 0 || o.duration <= 0 || o.warmup < 0) usage("bad numbers");
  if (o.workload != "pingpong" && o.workload != "churn" && o.workload != "udp" &&
      o.workload != "idle") {
    usage("unknown workload " + o.workload);
  }
  if (o.tls && o.workload != "pingpong" && o.workload != "churn") {
    usage("--tls goes with pingpong or churn");
  }
  if (!o.proxy.empty() && o.proxy != "v1" && o.proxy != "v2") usage("--proxy must be v1 or v2");
  if (!o.proxy.empty() && o.workload != "pingpong" && o.workload != "churn") {
    usage("--proxy: for the pingpong and churn workloads");
  }
  if (o.tls && !o.proxy.empty()) usage("--tls and --proxy: one or the other");
  return o;
}

// ---- server accounting -------------------------------------------------------------------

double process_cpu_seconds(int pid);

// The server's CPU time: its own, its reaped children's (cutime/cstime) and that of its live
// children (a forking server's handlers), so that a child's time counts whether or not it has
// been reaped when the window ends.
double server_cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  double total = process_cpu_seconds(pid);
  if (DIR* dir = ::opendir("/proc")) {
    while (const dirent* e = ::readdir(dir)) {
      const int child = std::atoi(e->d_name);
      if (child <= 0 || child == pid) continue;
      std::ifstream f("/proc/" + std::to_string(child) + "/stat");
      std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      const auto paren = text.rfind(')');
      if (paren == std::string::npos) continue;
      std::istringstream rest(text.substr(paren + 2));
      std::string state;
      int ppid = 0;
      rest >> state >> ppid;
      if (ppid == pid) total += process_cpu_seconds(child);
    }
    ::closedir(dir);
  }
  return total;
}

double process_cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream rest(text.substr(paren + 2));
  std::string field;
  std::vector<std::string> fields;
  while (rest >> field) fields.push_back(field);
  // After "pid (comm) ": state is fields[0]; utime is field 14 overall = fields[11].
  if (fields.size() < 15) return 0;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double total = 0;
  for (int i = 11; i <= 14; ++i) total += std::stod(fields[static_cast<std::size_t>(i)]);
  return total / ticks;
}

long server_rss_kb(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// ---- the protocol ------------------------------------------------------------------------

// "[Fri Nov 27 12:05:44 2026] hello world\n": the shape of ctime and the line echoed.
bool valid_reply(std::string_view reply, std::string_view line, bool with_newline) {
  const std::size_t want = 1 + 24 + 2 + line.size() + (with_newline ? 1 : 0);
  if (reply.size() != want || reply[0] != '[' || reply[25] != ']' || reply[26] != ' ') {
    return false;
  }
  const std::string_view stamp = reply.substr(1, 24);
  if (stamp[3] != ' ' || stamp[7] != ' ' || stamp[13] != ':' || stamp[16] != ':' ||
      stamp[19] != ' ') {
    return false;
  }
  if (reply.substr(27, line.size()) != line) return false;
  return !with_newline || reply.back() == '\n';
}

// ---- the run -----------------------------------------------------------------------------

struct Conn {
  int fd = -1;
  std::string in;
  steady::time_point sent{};
  bool connecting = false;
  bool waiting = false;  // a request is out (or, over TLS, the handshake is under way)
  bool header_due = false;  // --proxy: the connection's first request carries the header
  std::string first;        // --proxy: the header and the request, sent as one
  int index = 0;
  SSL* ssl = nullptr;              // --tls: the connection's TLS state
  SSL_SESSION* session = nullptr;  // --tls-resume: the slot's last session
  bool handshaking = false;
};

// The PROXY header HAProxy would send for client 192.0.2.1:client_port connecting to
// server_port (TCP over IPv4; the destination is the server itself, 127.0.0.1).
std::string proxy_header(const std::string& version, int client_port, int server_port) {
  if (version == "v1") {
    return "PROXY TCP4 192.0.2.1 127.0.0.1 " + std::to_string(client_port) + " " +
           std::to_string(server_port) + "\r\n";
  }
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  const unsigned char fixed[] = {0x21, 0x11, 0x00, 0x0c,   // v2 PROXY, TCP4, 12 bytes
                                 192,  0,    2,    1,      // source 192.0.2.1
                                 127,  0,    0,    1};     // destination 127.0.0.1
  h.append(reinterpret_cast<const char*>(fixed), sizeof fixed);
  for (int port : {client_port, server_port}) {
    h.push_back(static_cast<char>((port >> 8) & 0xff));
    h.push_back(static_cast<char>(port & 0xff));
  }
  return h;
}

class Run {
 public:
  explicit Run(const Options& o) : o_(o), ep_(::epoll_create1(EPOLL_CLOEXEC)) {
    request_ = o.line + "\n";
    std::memset(&server_, 0, sizeof server_);
    server_.sin_family = AF_INET;
    server_.sin_port = htons(static_cast<std::uint16_t>(o.port));
    if (::inet_pton(AF_INET, o.host.c_str(), &server_.sin_addr) != 1) usage("--host must be IPv4");
    if (o.tls) {
      tls_ = ::SSL_CTX_new(::TLS_client_method());
      if (tls_ == nullptr) usage("OpenSSL: SSL_CTX_new failed");
      ::SSL_CTX_set_verify(tls_, SSL_VERIFY_NONE, nullptr);  // the server's cost is measured
      ::SSL_CTX_set_min_proto_version(tls_, TLS1_2_VERSION);
    }
  }

  int run() {
    raise_fd_limit();
    if (o_.workload == "idle") return run_idle();
    const bool udp = o_.workload == "udp";
    conns_.resize(static_cast<std::size_t>(o_.connections));
    for (int i = 0; i < o_.connections; ++i) {
      conns_[static_cast<std::size_t>(i)].index = i;
      if (!o_.proxy.empty()) {
        conns_[static_cast<std::size_t>(i)].first =
            proxy_header(o_.proxy, 1024 + i, o_.port) + request_;
      }
      if (!(udp ? open_udp(conns_[static_cast<std::size_t>(i)])
                : open_tcp(conns_[static_cast<std::size_t>(i)]))) {
        if (!udp && o_.workload == "pingpong") return fail("could not connect");
      }
    }
    const auto start = steady::now();
    const auto measure_from = start + to_duration(o_.warmup);
    const auto end = measure_from + to_duration(o_.duration);
    double cpu0 = -1;
    std::vector<epoll_event> events(1024);
    while (steady::now() < end) {
      if (!measuring_ && steady::now() >= measure_from) {
        measuring_ = true;
        cpu0 = server_cpu_seconds(o_.server_pid);
      }
      const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 50);
      for (int i = 0; i < n; ++i) {
        Conn& c = conns_[events[static_cast<std::size_t>(i)].data.u32];
        if (udp) {
          on_udp(c);
        } else {
          on_tcp(c, events[static_cast<std::size_t>(i)].events);
        }
      }
      check_stalls(udp);
    }
    const double cpu1 = server_cpu_seconds(o_.server_pid);
    if (!measuring_) cpu0 = cpu1;
    print(cpu1 - cpu0, server_rss_kb(o_.server_pid));
    return 0;
  }

 private:
  static steady::duration to_duration(double s) {
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
  }

  void raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
  }

  int fail(const char* what) {
    std::fprintf(stderr, "loadgen: %s to %s:%d: %s\n", what, o_.host.c_str(), o_.port,
                 std::strerror(errno));
    return 1;
  }

  // A TCP connection: non-blocking connect; churn spreads its source addresses.
  bool open_tcp(Conn& c) {
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return false;
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (o_.workload == "churn" && o_.sources > 0 && o_.host == "127.0.0.1") {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl(0x7f000002u + static_cast<std::uint32_t>(next_source_++ % o_.sources));
      ::bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
    }
    c.in.clear();
    c.waiting = false;
    c.header_due = !o_.proxy.empty();
    const int rc = ::connect(c.fd, reinterpret_cast<sockaddr*>(&server_), sizeof server_);
    c.connecting = rc != 0;
    if (rc != 0 && errno != EINPROGRESS) {
      ::close(c.fd);
      c.fd = -1;
      ++errors_;
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | (c.connecting ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<std::uint32_t>(c.index);
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    c.sent = steady::now();
    if (!c.connecting) start_session(c);
    return true;
  }

  bool open_udp(Conn& c) {
    c.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return false;
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&server_), sizeof server_) != 0) return false;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(c.index);
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    send_datagram(c);
    return true;
  }

  void close_conn(Conn& c) {
    if (c.ssl != nullptr) {
      ::SSL_shutdown(c.ssl);  // close_notify, best effort: never waits for the server's
      ::SSL_free(c.ssl);
      c.ssl = nullptr;
      c.handshaking = false;
    }
    if (c.fd >= 0) {
      ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = -1;
  }

  // The connection is up: over TLS the handshake comes first, then the request.
  void start_session(Conn& c) {
    if (tls_ == nullptr) {
      send_request(c);
      return;
    }
    c.ssl = ::SSL_new(tls_);
    if (c.ssl == nullptr || ::SSL_set_fd(c.ssl, c.fd) != 1) {
      restart(c, true);
      return;
    }
    ::SSL_set_connect_state(c.ssl);
    if (o_.tls_resume && c.session != nullptr) ::SSL_set_session(c.ssl, c.session);
    c.handshaking = true;
    c.waiting = true;  // a handshake that stalls is restarted (and counted) like a request
    c.sent = steady::now();
    handshake_step(c);
  }

  void handshake_step(Conn& c) {
    ::ERR_clear_error();
    const int rc = ::SSL_do_handshake(c.ssl);
    if (rc == 1) {
      c.handshaking = false;
      if (measuring_) {
        ++handshakes_;
        if (::SSL_session_reused(c.ssl) == 1) ++resumed_;
      }
      watch(c, EPOLLIN);
      send_request(c);
      return;
    }
    const int err = ::SSL_get_error(c.ssl, rc);
    if (err == SSL_ERROR_WANT_READ) {
      watch(c, EPOLLIN);
    } else if (err == SSL_ERROR_WANT_WRITE) {
      watch(c, EPOLLIN | EPOLLOUT);
    } else {
      restart(c, true);
    }
  }

  void watch(Conn& c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = static_cast<std::uint32_t>(c.index);
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void send_request(Conn& c) {
    c.sent = steady::now();
    c.waiting = true;
    if (c.ssl != nullptr) {
      ::ERR_clear_error();
      const int n = ::SSL_write(c.ssl, request_.data(), static_cast<int>(request_.size()));
      if (n != static_cast<int>(request_.size())) restart(c, true);
      return;
    }
    const std::string& out = c.header_due ? c.first : request_;
    c.header_due = false;
    const ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(out.size())) restart(c, true);
  }

  void send_datagram(Conn& c) {
    c.sent = steady::now();
    c.waiting = true;
    if (::send(c.fd, o_.line.data(), o_.line.size(), 0) < 0 && errno != EAGAIN) ++errors_;
  }

  void restart(Conn& c, bool error) {
    if (error) ++errors_;
    close_conn(c);
    open_tcp(c);
  }

  void record(const Conn& c) {
    if (!measuring_) return;
    ++requests_;
    latencies_.push_back(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - c.sent).count()));
  }

  void on_tcp(Conn& c, std::uint32_t events) {
    if (c.fd < 0) return;
    if (c.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
        restart(c, true);
        return;
      }
      c.connecting = false;
      watch(c, EPOLLIN);
      start_session(c);
      return;
    }
    if (c.ssl != nullptr) {
      if (c.handshaking) {
        handshake_step(c);
      } else if (read_tls(c)) {
        on_input(c);
      }
      return;
    }
    char buf[4096];
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      restart(c, c.waiting);
      return;
    }
    c.in.append(buf, static_cast<std::size_t>(n));
    on_input(c);
  }

  // Everything TLS has for us now (records may hold more than one read's worth); false when
  // the connection ended (and was restarted).
  bool read_tls(Conn& c) {
    char buf[4096];
    for (;;) {
      ::ERR_clear_error();
      const int n = ::SSL_read(c.ssl, buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (::SSL_get_error(c.ssl, n) == SSL_ERROR_WANT_READ) return true;
      restart(c, c.waiting);
      return false;
    }
  }

  // A reply (or part of one) has arrived on c.
  void on_input(Conn& c) {
    const auto nl = c.in.find('\n');
    if (nl == std::string::npos) {
      if (c.in.size() > 4096) restart(c, true);
      return;
    }
    const bool ok = nl + 1 == c.in.size() && valid_reply(c.in, o_.line, true);
    if (!ok) {
      ++bad_replies_;
      restart(c, false);
      return;
    }
    record(c);
    c.in.clear();
    c.waiting = false;
    if (o_.tls_resume && c.ssl != nullptr) {  // TLS 1.3 tickets came before the reply
      if (c.session != nullptr) ::SSL_SESSION_free(c.session);
      c.session = ::SSL_get1_session(c.ssl);
    }
    if (o_.workload == "churn") {
      restart(c, false);
    } else {
      send_request(c);
    }
  }

  void on_udp(Conn& c) {
    char buf[2048];
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno != EAGAIN) ++errors_;
      return;
    }
    if (!valid_reply(std::string_view(buf, static_cast<std::size_t>(n)), o_.line, false)) {
      ++bad_replies_;
    } else {
      record(c);
    }
    send_datagram(c);
  }

  // A request unanswered for a second (UDP: lost; TCP: stuck) is an error and starts again.
  void check_stalls(bool udp) {
    const auto now = steady::now();
    if (now - last_stall_check_ < std::chrono::milliseconds(200)) return;
    last_stall_check_ = now;
    for (Conn& c : conns_) {
      if (!c.waiting && !c.connecting) continue;
      if (now - c.sent < std::chrono::seconds(udp ? 1 : 5)) continue;
      if (udp) {
        ++errors_;
        send_datagram(c);
      } else {
        restart(c, true);
      }
    }
  }

  // Opens o_.idle connections, reads the server's RSS, then each sends one request.
  int run_idle() {
    conns_.resize(static_cast<std::size_t>(o_.idle));
    const long rss_before = server_rss_kb(o_.server_pid);
    const double cpu0 = server_cpu_seconds(o_.server_pid);
    for (int i = 0; i < o_.idle; ++i) {
      Conn& c = conns_[static_cast<std::size_t>(i)];
      c.index = i;
      c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // blocking connect: simple
      if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<sockaddr*>(&server_), sizeof server_) != 0) {
        ++errors_;
        if (c.fd >= 0) ::close(c.fd);
        c.fd = -1;
      }
    }
    // Let the server accept them all before its RSS is read.
    const auto settle_end = steady::now() + std::chrono::seconds(5);
    long rss_held = 0;
    for (long last = -1; steady::now() < settle_end;) {
      ::usleep(200000);
      rss_held = server_rss_kb(o_.server_pid);
      if (rss_held == last) break;
      last = rss_held;
    }
    measuring_ = true;
    const auto deadline = steady::now() + to_duration(o_.duration + 10);
    std::vector<epoll_event> events(1024);
    std::size_t outstanding = 0;
    for (Conn& c : conns_) {
      if (c.fd < 0) continue;
      ::fcntl(c.fd, F_SETFL, O_NONBLOCK);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<std::uint32_t>(c.index);
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
      c.sent = steady::now();
      c.waiting = true;
      if (::send(c.fd, request_.data(), request_.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request_.size())) {
        ++outstanding;
      } else {
        ++errors_;
        c.waiting = false;
      }
    }
    while (outstanding > 0 && steady::now() < deadline) {
      const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n; ++i) {
        Conn& c = conns_[events[static_cast<std::size_t>(i)].data.u32];
        char buf[256];
        const ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) {
          ++errors_;
          --outstanding;
          close_conn(c);
          continue;
        }
        c.in.append(buf, static_cast<std::size_t>(r));
        if (c.in.find('\n') == std::string::npos) continue;
        if (valid_reply(c.in, o_.line, true)) {
          record(c);
        } else {
          ++bad_replies_;
        }
        --outstanding;
        close_conn(c);
      }
    }
    errors_ += outstanding;
    const double cpu1 = server_cpu_seconds(o_.server_pid);
    idle_rss_before_ = rss_before;
    print(cpu1 - cpu0, rss_held);
    for (Conn& c : conns_) close_conn(c);
    return 0;
  }

  void print(double cpu, long rss_kb) {
    std::sort(latencies_.begin(), latencies_.end());
    const auto pct = [this](double p) -> std::uint32_t {
      if (latencies_.empty()) return 0;
      const auto i = static_cast<std::size_t>(p * static_cast<double>(latencies_.size() - 1));
      return latencies_[i];
    };
    const double seconds = o_.workload == "idle" ? 0 : o_.duration;
    std::printf(
        "{\"workload\": \"%s\", \"connections\": %d, \"duration\": %.3f, \"requests\": %llu, "
        "\"errors\": %llu, \"bad_replies\": %llu, \"rps\": %.1f, \"p50_us\": %u, \"p99_us\": %u, "
        "\"server_cpu_s\": %.4f, \"server_us_per_req\": %.3f, \"server_rss_kb\": %ld, "
        "\"server_rss_before_kb\": %ld, \"tls_handshakes\": %llu, \"tls_resumed\": %llu}\n",
        o_.workload.c_str(), o_.workload == "idle" ? o_.idle : o_.connections, seconds,
        static_cast<unsigned long long>(requests_), static_cast<unsigned long long>(errors_),
        static_cast<unsigned long long>(bad_replies_),
        seconds > 0 ? static_cast<double>(requests_) / seconds : 0.0, pct(0.50), pct(0.99), cpu,
        requests_ > 0 ? cpu * 1e6 / static_cast<double>(requests_) : 0.0, rss_kb,
        idle_rss_before_, static_cast<unsigned long long>(handshakes_),
        static_cast<unsigned long long>(resumed_));
    std::fflush(stdout);
  }

  const Options& o_;
  int ep_;
  sockaddr_in server_{};
  std::string request_;
  std::vector<Conn> conns_;
  std::vector<std::uint32_t> latencies_;
  std::uint64_t requests_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t bad_replies_ = 0;
  bool measuring_ = false;
  int next_source_ = 0;
  long idle_rss_before_ = 0;
  steady::time_point last_stall_check_{};
  SSL_CTX* tls_ = nullptr;  // --tls: the client context (lives as long as the process)
  std::uint64_t handshakes_ = 0;
  std::uint64_t resumed_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Run run(o);
  return run.run();
}
