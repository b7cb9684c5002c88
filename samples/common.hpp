// common.hpp — what every sample needs and the book's Python gets for free.
//
// Only the samples use this file; it is not part of the library. It holds:
//   parse_args()   --host, --port, --timeout (tsUclnt's reply timeout, the servers' idle
//                  timeout), --help; the TLS options (--tls, --cert, --key, --cafile,
//                  --insecure: tls.hpp makes the contexts); a bad value ends the program.
//                  Servers behind HAProxy also take --proxy-protocol and --trusted-proxy ADDR;
//                  servers started by systemd --systemd (systemd_socket(): the socket it passed).
//   peer_repr()    who a connection is from; behind a balancer, the real client "via" it
//                  It also calls survive_closed_console(), first thing in every sample.
//   survive_closed_console()  ignores SIGPIPE: a console whose reader went away is not the end
//   ctime_now()    Python's time.ctime(): "Fri Nov 27 12:05:44 2026" (24 characters)
//   input()        Python's input(prompt), "" at the end of input
//   py_repr()      an address printed as Python prints the tuple: ('127.0.0.1', 40000)
//   StopSignals    Ctrl-C (SIGINT) and SIGTERM as something poll() can wait for, so that a
//                  server waiting in accept() or recv() ends cleanly with exit status 0
//                  (the raw-socket servers; the SocketServer ones use the library's
//                  socketserver::StopOnSignals instead)
//   strip()        Python's bytes.strip(): surrounding whitespace removed
//   print_line()   one console line from any thread (the threaded servers' handlers)
//   clients()      "1 client", "3 clients"
//   stop_signal_name()  "SIGINT" or "SIGTERM": what StopOnSignals caught
//   signal_name()  "SIGINT" or "SIGTERM" for a signal number (Reactor::stopped_by_signal())
//   Keyboard       the keyboard as a reactor protocol, for stdio.StandardIO (the Twisted
//                  clients): each line typed is handed to a callback, the loop never blocks
//
// Console lines are written with std::endl, which flushes: each line appears as it happens,
// also when stdout is a pipe or a file rather than a terminal. When that pipe's reader goes away
// (`tsTservTW | head -1`), writing to it raises SIGPIPE, whose default ends the process: the
// samples ignore it (survive_closed_console), so the write fails instead and the server goes on.
// A program may decide that for itself; the library never does (it writes its own stderr lines
// without SIGPIPE, and its sockets send with MSG_NOSIGNAL).
#pragma once

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <socketserver/socketserver.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace samples {

/// What a sample tells parse_args() about itself (for --help and the defaults).
struct Program {
  const char* name;          ///< "tsTserv"
  const char* summary;       ///< what the program is, which example of the book (for --help)
  const char* default_host;  ///< "localhost" or "::1"
  bool server = false;       ///< servers listen on --host; clients connect to it
  bool has_timeout = false;  ///< accepts --timeout SECONDS (tsUclnt)
  /// Servers of connections: accepts --timeout SECONDS, the idle timeout (a client quiet that
  /// long is disconnected). Without it they wait for the typist, as the book's do.
  bool has_idle_timeout = false;
  /// Stream servers that can stand behind HAProxy: accepts --proxy-protocol and --trusted-proxy.
  bool has_proxy = false;
  /// TLS: servers accept --cert FILE, --key FILE; clients --cafile FILE, --insecure (tls.hpp).
  /// With tls_flag, TLS is off unless --tls is given (tsTservSS); else always on (tsTservTLS).
  bool has_tls = false;
  bool tls_flag = false;
  /// Servers socket-activated by systemd: accepts --systemd (serve the socket systemd passed).
  bool has_systemd = false;
};

/// The command line, after parse_args().
struct Options {
  std::string host;      ///< HOST
  int port = 21567;      ///< PORT
  double timeout = 5.0;  ///< seconds to wait for a reply (tsUclnt)
  /// --timeout of a server: how long a connected client may stay quiet; none: for ever.
  socketserver::Timeout idle_timeout;
  /// --proxy-protocol: every connection starts with a PROXY header (v1 or v2) from a balancer.
  bool proxy_protocol = false;
  /// --trusted-proxy ADDR (repeatable): the balancers that may send it; default: the library's
  /// (loopback, 127.0.0.1 and ::1).
  std::vector<std::string> trusted_proxies = socketserver::ServerOptions{}.trusted_proxies;
  bool tls = false;       ///< TLS on: --tls, or a TLS sample
  std::string cert, key;  ///< --cert, --key (servers): PEM files; none: self-signed in memory
  std::string cafile;     ///< --cafile (clients): the CA certificates to trust (PEM)
  bool insecure = false;  ///< --insecure (clients): verify nothing
  /// --systemd: the listening socket systemd passed (descriptor 3), to serve instead of binding
  /// --host/--port (ServerOptions::listen_fd, Reactor::adopt_stream_port); -1: bind as usual.
  int listen_fd = -1;
};

inline void print_help(const Program& p) {
  std::cout << "usage: " << p.name << " [--host HOST] [--port PORT]"
            << (p.has_timeout || p.has_idle_timeout ? " [--timeout SECONDS]" : "")
            << (p.has_tls && p.tls_flag ? " [--tls]" : "")
            << (p.has_tls
                    ? (p.server ? " [--cert FILE [--key FILE]]" : " [--cafile FILE | --insecure]")
                    : "")
            << (p.has_systemd ? " [--systemd]" : "") << "\n\n"
            << p.summary << "\n\n";
  if (p.server) {
    std::cout << "  --host HOST   address to listen on (default: " << p.default_host << ";\n"
              << "                --host '' listens on every interface, as the book does)\n"
              << "  --port PORT   port to listen on, 0-65535 (default: 21567; 0 picks a free\n"
              << "                port). The address listened on is printed on stderr.\n";
  } else {
    std::cout << "  --host HOST   server to talk to (default: " << p.default_host << ")\n"
              << "  --port PORT   server's port, 1-65535 (default: 21567)\n";
  }
  if (p.has_timeout) {
    std::cout << "  --timeout SECONDS\n"
              << "                give up when no reply comes within SECONDS (default: 5)\n";
  }
  if (p.has_idle_timeout) {
    std::cout << "  --timeout SECONDS\n"
              << "                disconnect a client that sends nothing for SECONDS (default:\n"
              << "                wait for it for ever, as the book's server does)\n";
  }
  if (p.has_proxy) {
    std::cout << "  --proxy-protocol\n"
              << "                stand behind HAProxy (send-proxy / send-proxy-v2): every\n"
              << "                connection starts with a PROXY header naming the real client\n"
              << "  --trusted-proxy ADDR\n"
              << "                with --proxy-protocol: an IP address of a balancer allowed to\n"
              << "                send that header; repeat for more (default: 127.0.0.1 and\n"
              << "                ::1). Anyone else is disconnected, with a line on stderr.\n";
  }
  if (p.has_systemd) {
    std::cout << "  --systemd     serve the listening socket systemd passes (socket activation:\n"
              << "                a .socket unit, or systemd-socket-activate -l PORT) instead of\n"
              << "                binding --host/--port; exactly one socket is expected\n";
  }
  if (p.has_tls) {
    const char* with = p.tls_flag ? " (with --tls)" : "";
    if (p.tls_flag) std::cout << "  --tls         talk TLS (as tsTservTLS/tsTclntTLS do)\n";
    if (p.server) {
      std::cout << "  --cert FILE   the server's certificate chain, PEM" << with << "; without it\n"
                << "                a self-signed certificate for localhost is made in memory at\n"
                << "                start and its SHA-256 fingerprint printed on stderr\n"
                << "  --key FILE    its private key, PEM (default: in the --cert file)\n";
    } else {
      std::cout << "  --cafile FILE the CA certificates to trust, PEM" << with << " (default: the\n"
                << "                system's); a self-signed server's own certificate will do\n"
                << "  --insecure    verify nothing: neither who signed the server's certificate\n"
                << "                nor its name (to try a server with a self-signed certificate;\n"
                << "                compare the fingerprint printed with the server's)\n";
    }
  }
  std::cout << "  --help        show this help and exit\n";
}

/// Ends the program: a one-line error naming the bad argument, exit status 2 (a usage error).
[[noreturn]] inline void usage_error(const Program& p, const std::string& message) {
  std::cerr << p.name << ": " << message << " (try --help)" << std::endl;
  std::exit(2);
}

/// A server's console is a log, not its reason to live: SIGPIPE is ignored (a process-wide
/// choice, which this program makes for itself), so a write to a stdout or stderr whose reader
/// has gone fails with EPIPE (std::cout then stops printing) and the server goes on serving.
/// The library's sockets never raise SIGPIPE either way (MSG_NOSIGNAL).
inline void survive_closed_console() { ::signal(SIGPIPE, SIG_IGN); }

/// The TLS options together: TLS on for a TLS sample; the files and --insecure only with TLS;
/// --key only with --cert; --insecure or --cafile, not both.
inline void check_tls_args(const Program& p, Options& opts) {
  if (!p.tls_flag) opts.tls = true;
  const char* given = !opts.cert.empty()     ? "--cert"
                      : !opts.key.empty()    ? "--key"
                      : !opts.cafile.empty() ? "--cafile"
                      : opts.insecure        ? "--insecure"
                                             : nullptr;
  if (!opts.tls && given != nullptr) usage_error(p, std::string(given) + " needs --tls");
  if (!opts.key.empty() && opts.cert.empty()) usage_error(p, "--key needs --cert");
  if (opts.insecure && !opts.cafile.empty()) {
    usage_error(p, "--insecure verifies nothing: it makes no sense with --cafile");
  }
}

/// --systemd: the one listening socket systemd passed this process (listen_fds(): descriptor 3,
/// LISTEN_FDS=1, LISTEN_PID its pid), taken out of the environment. When there is none (the
/// program was not started by systemd, or the variables were meant for another process) or more
/// than one, the program ends with a line saying why and exit status 2.
inline int systemd_socket(const Program& p) {
  const auto variable = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
  };
  const auto pid = variable("LISTEN_PID");  // read first: listen_fds() unsets them
  const auto count = variable("LISTEN_FDS");
  std::vector<int> fds;
  std::string why;
  try {
    fds = socketserver::listen_fds();
  } catch (const socketserver::activation_error& e) {
    why = e.what();  // e.g. "LISTEN_FDS='x': not a non-negative decimal number"
  }
  if (why.empty() && fds.empty()) {
    const std::string me = std::to_string(::getpid());
    why = !count       ? "LISTEN_FDS is not set"
          : !pid       ? "LISTEN_PID is not set"
          : *pid != me ? "LISTEN_PID=" + *pid + " is another process (this is " + me + ")"
                       : "LISTEN_FDS=" + *count + ": no socket";
  } else if (why.empty() && fds.size() > 1) {
    why = "LISTEN_FDS=" + std::to_string(fds.size()) + ": this server serves exactly one socket";
  }
  if (!why.empty()) {
    std::cerr << p.name << ": --systemd: no socket from systemd: " << why
              << " (start it from a .socket unit, or with systemd-socket-activate -l PORT)"
              << std::endl;
    std::exit(2);
  }
  return fds.front();
}

/// Reads --host, --port, --timeout (a client's reply timeout, or a server's idle timeout) and
/// --help ("--port 80" or "--port=80"). Calls
/// survive_closed_console() first.
inline Options parse_args(int argc, char* argv[], const Program& p) {
  survive_closed_console();
  Options opts;
  opts.host = p.default_host;
  bool trusted_given = false;  // --trusted-proxy seen
  bool systemd = false;        // --systemd seen
  bool address_given = false;  // --host or --port seen
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_help(p);
      std::exit(0);
    }
    if (p.has_proxy && arg == "--proxy-protocol") {  // a switch: no value
      opts.proxy_protocol = true;
      continue;
    }
    if (p.has_systemd && arg == "--systemd") {  // a switch: no value
      systemd = true;
      continue;
    }
    std::string_view name = arg;
    std::string_view value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);  // "--port=80"
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (p.has_tls && ((p.tls_flag && name == "--tls") || (!p.server && name == "--insecure"))) {
      if (has_value) usage_error(p, std::string(name) + " takes no value");
      (name == "--tls" ? opts.tls : opts.insecure) = true;  // flags: no value follows
      continue;
    }
    const bool tls_file =
        p.has_tls && (p.server ? name == "--cert" || name == "--key" : name == "--cafile");
    const bool known = name == "--host" || name == "--port" || tls_file ||
                       ((p.has_timeout || p.has_idle_timeout) && name == "--timeout") ||
                       (p.has_proxy && name == "--trusted-proxy");
    if (!known) usage_error(p, "unknown argument '" + std::string(arg) + "'");
    address_given = address_given || name == "--host" || name == "--port";
    if (!has_value) {  // "--port 80"
      if (i + 1 >= argc) usage_error(p, std::string(name) + " needs a value");
      value = argv[++i];
    }

    if (name == "--trusted-proxy") {
      // An IP address, as the library compares it with the balancer's ("unix": any Unix peer).
      in6_addr any{};
      const std::string addr(value);
      if (addr != "unix" && ::inet_pton(AF_INET, addr.c_str(), &any) != 1 &&
          ::inet_pton(AF_INET6, addr.c_str(), &any) != 1) {
        usage_error(p, "invalid --trusted-proxy '" + addr + "': not an IP address");
      }
      if (!trusted_given) opts.trusted_proxies.clear();  // the first one replaces the default
      trusted_given = true;
      opts.trusted_proxies.push_back(addr);
    } else if (name == "--host") {
      opts.host = value;  // may be "": every interface (servers)
    } else if (tls_file) {
      if (value.empty()) usage_error(p, std::string(name) + " needs a file name");
      (name == "--cert" ? opts.cert : name == "--key" ? opts.key : opts.cafile) = value;
    } else if (name == "--port") {
      // from_chars accepts digits only: "abc", "80x", "-1" and "" all fail here.
      int port = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
      const int lowest = p.server ? 0 : 1;  // a server may ask for "any free port" (0)
      if (ec != std::errc{} || end != value.data() + value.size() || port < lowest ||
          port > 65535) {
        usage_error(p, "invalid --port '" + std::string(value) + "': not a port number " +
                           std::to_string(lowest) + "-65535");
      }
      opts.port = port;
    } else {  // --timeout
      double seconds = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      // At most 1e9 s (31 years), the library's bound: a larger one would overflow its clock.
      if (ec != std::errc{} || end != value.data() + value.size() || !std::isfinite(seconds) ||
          seconds <= 0 || seconds > 1e9) {
        usage_error(p, "invalid --timeout '" + std::string(value) +
                           "': not a positive number of seconds up to 1e9");
      }
      if (p.has_idle_timeout) {
        opts.idle_timeout = std::chrono::duration<double>(seconds);
      } else {
        opts.timeout = seconds;
      }
    }
  }
  if (trusted_given && !opts.proxy_protocol) {
    usage_error(p, "--trusted-proxy needs --proxy-protocol");
  }
  if (p.has_tls) check_tls_args(p, opts);
  if (systemd) {
    if (address_given)
      usage_error(p, "--systemd serves the socket systemd bound: no --host/--port");
    opts.listen_fd = systemd_socket(p);
  }
  return opts;
}

/// Python's time.ctime(): the local time as "Fri Nov 27 12:05:44 2026" — always 24 characters
/// (the day of the month is padded with a space: "Sun Jun  7"), no newline. The library's
/// socketserver::ctime() (builtins.hpp), under the name the samples know.
inline std::string ctime_now() { return socketserver::ctime(); }

/// An address as Python prints the tuple accept() and recvfrom() return:
/// ('127.0.0.1', 40000) for IPv4, ('::1', 40000, 0, 0) for IPv6 (flowinfo, scope id).
inline std::string py_repr(const socketserver::Address& a) {
  std::string s = "('" + a.host() + "', " + std::to_string(a.port());
  if (a.family() == AF_INET6) {
    s += ", " + std::to_string(a.flowinfo()) + ", " + std::to_string(a.scope_id());
  }
  return s + ")";
}

/// Who a stream request is from, for the console: py_repr(client_address), and behind a
/// balancer (--proxy-protocol) the balancer it came through:
///   ('127.0.0.1', 40000) via ('127.0.0.2', 51000)
/// A balancer's own connection (PROXY LOCAL: HAProxy's health checks) names the balancer:
///   ('127.0.0.2', 51002) (the balancer itself: PROXY LOCAL)
inline std::string peer_repr(const socketserver::Request& request,
                             const socketserver::Address& client_address) {
  if (!request.balancer) return py_repr(client_address);
  if (!request.proxy || !request.proxy->source) {
    return py_repr(*request.balancer) + " (the balancer itself: PROXY LOCAL)";
  }
  return py_repr(client_address) + " via " + py_repr(*request.balancer);
}

/// Python's input(prompt): writes the prompt (no newline, flushed so it shows at once) and
/// reads one line from stdin, without its '\n'. At the end of input (Ctrl-D, or the end of a
/// file or pipe) it returns "" — where Python raises EOFError — so that a client's
/// `if (data.empty()) break;` stops there too.
inline std::string input(std::string_view prompt) {
  std::cout << prompt << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) {
    std::cout << std::endl;  // end the prompt's line, so the shell's prompt starts on its own
    return "";
  }
  return line;
}

/// Ctrl-C and SIGTERM, made into a descriptor a server can poll() together with its socket.
///
/// Why not simply a signal handler? The library retries a blocking call that a signal
/// interrupts (EINTR), as Python does, so a handler alone would never get the server out of
/// accept() or recv(). Instead the two signals are blocked — the kernel holds them instead of
/// killing the process — and a signalfd turns them into bytes to read. A server waits with
/// wait_readable(), which returns false when a signal has come.
///
/// Make it first thing in main(), before the program's socket exists: from then on, SIGINT and
/// SIGTERM always reach it. Single-threaded programs only (the mask is the calling thread's).
class StopSignals {
 public:
  StopSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) fail("sigprocmask");
    fd_ = signalfd(-1, &set, SFD_CLOEXEC);
    if (fd_ < 0) fail("signalfd");
  }
  ~StopSignals() { ::close(fd_); }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// Waits until `sock` has something to read (a connection to accept, data, or the end of
  /// the stream): true. Returns false as soon as SIGINT or SIGTERM arrives.
  bool wait_readable(const socketserver::Socket& sock) {
    return wait(sock, std::nullopt) == Woken::readable;
  }

  enum class Woken { readable, signal, timeout };
  /// Waits until `sock` has something to read, a signal comes, or `limit` passes (none: no
  /// limit; --timeout, the idle timeout).
  Woken wait(const socketserver::Socket& sock, socketserver::Timeout limit) {
    using Clock = std::chrono::steady_clock;
    const auto deadline =
        limit ? Clock::now() + std::chrono::duration_cast<Clock::duration>(*limit) : Clock::now();
    pollfd fds[2] = {{sock.fileno(), POLLIN, 0}, {fd_, POLLIN, 0}};
    for (;;) {
      int ms = -1;  // no limit: no timeout, no busy loop
      if (limit) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return Woken::timeout;
        ms = static_cast<int>(std::min<long long>(left.count(), 3'600'000));
      }
      int n = ::poll(fds, 2, ms);
      if (n < 0 && errno == EINTR) continue;  // e.g. SIGSTOP/SIGCONT (Ctrl-Z, fg)
      if (n < 0) fail("poll");
      if (fds[1].revents != 0) {
        signalfd_siginfo info{};
        if (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          signo_ = static_cast<int>(info.ssi_signo);
        }
        return Woken::signal;
      }
      if (fds[0].revents != 0) return Woken::readable;
    }
  }

  /// The signal that stopped the wait: "SIGINT" or "SIGTERM".
  [[nodiscard]] const char* name() const noexcept {
    return signo_ == SIGTERM ? "SIGTERM" : "SIGINT";
  }

 private:
  [[noreturn]] static void fail(const char* what) {
    throw std::system_error(errno, std::system_category(), what);
  }
  int fd_ = -1;
  int signo_ = 0;
};

/// Python's bytes.strip(): `s` without the whitespace (" \t\n\r\v\f") at either end.
inline std::string strip(std::string_view s) {
  constexpr std::string_view space = " \t\n\r\v\f";
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return "";
  return std::string(s.substr(first, s.find_last_not_of(space) - first + 1));
}

/// Prints one line on stdout (adding the '\n', flushed), whole, from any thread: the handlers
/// of a threaded server print at the same time, and two lines must never mix.
inline void print_line(const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::cout << line << std::endl;
}

/// "1 client", "3 clients".
inline std::string clients(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " client" : " clients");
}

/// The name of the signal StopOnSignals caught: "SIGINT" or "SIGTERM".
inline const char* stop_signal_name() {
  return socketserver::StopOnSignals::received() == SIGTERM ? "SIGTERM" : "SIGINT";
}

/// "SIGINT" or "SIGTERM": the name of a stop signal's number (Reactor::stopped_by_signal()).
inline const char* signal_name(int signo) { return signo == SIGTERM ? "SIGTERM" : "SIGINT"; }

/// The keyboard, read by the reactor: a LineReceiver for Twisted's stdio.StandardIO
///
///   stdio.StandardIO(Keyboard(), reactor)     socketserver::StandardIO stdio(
///                                                 std::make_unique<samples::Keyboard>(on_line,
///                                                                                    on_end),
///                                                 reactor);
///
/// Python's input() would block the loop: no reply could arrive while it waits. Here the
/// reactor watches standard input like any connection, and each line typed goes to `on_line`
/// (without its "\n", and without a "\r" before it). The end of input (Ctrl-D, the end of a
/// pipe or file) calls `on_end`, once, after a last line that had no "\n". A line longer than
/// max_length (16 KiB) comes in pieces instead of closing the keyboard.
class Keyboard : public socketserver::LineReceiver {
 public:
  Keyboard(std::function<void(std::string)> on_line, std::function<void()> on_end)
      : on_line_(std::move(on_line)), on_end_(std::move(on_end)) {
    delimiter = "\n";  // what the terminal sends at Enter
  }

  void line_received(std::string_view line) override {
    if (line.ends_with('\r')) line.remove_suffix(1);
    on_line_(std::string(line));
  }
  void line_length_exceeded(std::string_view piece) override { on_line_(std::string(piece)); }
  // End of input: a last line without "\n" still counts; then the default closes stdin.
  void read_connection_lost() override {
    if (std::string rest = clear_line_buffer(); !rest.empty()) line_received(rest);
    LineReceiver::read_connection_lost();
  }
  void connection_lost(const socketserver::Reason& /*reason*/) override {
    if (!ended_) {
      ended_ = true;
      on_end_();
    }
  }

 private:
  std::function<void(std::string)> on_line_;
  std::function<void()> on_end_;
  bool ended_ = false;
};

}  // namespace samples
