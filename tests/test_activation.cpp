// test_activation.cpp — socket activation: descriptors passed the way systemd passes them
// (a child whose descriptors 3, 4, ... are the sockets, with LISTEN_PID, LISTEN_FDS and
// LISTEN_FDNAMES set), the checks on what a descriptor is, and every server kind and the
// reactor serving a client on an adopted socket.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "reactor_test_util.hpp"
#include "server_test_util.hpp"
#include "socketserver/activation.hpp"
#include "socketserver/mixins.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;
using testutil::fd_cloexec;
using testutil::fd_is_open;

// The environment a child gets: name -> value; "$PID" in a value is the child's own pid.
using Env = std::vector<std::pair<std::string, std::string>>;

// Runs `body` in a forked child as systemd would start a service: `passed` become descriptors
// 3, 4, ... (not close-on-exec, as inherited ones are), descriptors `close_after` are closed,
// `env` is set (LISTEN_* cleared first). Returns what `body` returned, or "throw <type>: <what>"
// when it threw; "child failed: ..." when the child did not report within 10 s.
std::string in_activated_child(const std::vector<int>& passed, const Env& env,
                               const std::function<std::string()>& body,
                               const std::vector<int>& close_after = {}) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return "child failed: pipe2";
  const pid_t pid = ::fork();
  if (pid < 0) return "child failed: fork";
  if (pid == 0) {
    // Out of the way first: the report pipe and the sockets move above 100, then the sockets
    // come down to 3, 4, ...
    const int out = ::fcntl(report[1], F_DUPFD_CLOEXEC, 100);
    std::vector<int> high;
    for (int fd : passed) high.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 200));
    for (std::size_t i = 0; i < high.size(); ++i) {
      ::dup2(high[i], ss::SD_LISTEN_FDS_START + static_cast<int>(i));  // dup2: no FD_CLOEXEC
      ::close(high[i]);
    }
    for (int fd : close_after) ::close(fd);
    for (const char* name : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}) ::unsetenv(name);
    for (const auto& [name, value] : env) {
      ::setenv(name.c_str(), value == "$PID" ? std::to_string(::getpid()).c_str() : value.c_str(),
               1);
    }
    std::string text;
    try {
      text = body();
    } catch (const ss::activation_error& e) {
      text = std::string("throw activation_error: ") + e.what();
    } catch (const std::invalid_argument& e) {
      text = std::string("throw invalid_argument: ") + e.what();
    } catch (const std::exception& e) {
      text = std::string("throw other: ") + e.what();
    }
    (void)!::write(out, text.data(), text.size());
    ::_exit(0);
  }
  ::close(report[1]);
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (int i = 0; i < 10000 && std::chrono::steady_clock::now() < deadline; ++i) {
    pollfd p{report[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(report[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(report[0]);
  // The child exits right after its report (bounded wait; killed after 10 s).
  if (!testutil::wait_until([pid] { return ::waitpid(pid, nullptr, WNOHANG) == pid; }, 10s)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    text = "child failed: did not exit in 10 s; " + text;
  }
  return text;
}

// "3,4" for {3, 4}; "" for none.
std::string joined(const std::vector<int>& fds) {
  std::string s;
  for (int fd : fds) s += (s.empty() ? "" : ",") + std::to_string(fd);
  return s;
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// A bound, listening TCP socket on 127.0.0.1 (port 0); the test owns the descriptor.
ss::Socket listener() { return testutil::tcp_listener(); }

// ---- listen_fds -----------------------------------------------------------------------------

TEST(ListenFds, NoneWithoutTheEnvironment) {
  EXPECT_EQ(in_activated_child({}, {}, [] { return "[" + joined(ss::listen_fds()) + "]"; }), "[]");
}

TEST(ListenFds, ReturnsThePassedDescriptorsCloseOnExecAndUnsetsTheEnvironment) {
  ss::Socket a = listener();
  ss::Socket b = listener();
  const std::string got = in_activated_child(
      {a.fileno(), b.fileno()}, {{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "2"}}, [] {
        const bool inherited = !fd_cloexec(3) && !fd_cloexec(4);
        const std::vector<int> fds = ss::listen_fds();
        const std::string after = joined(fds) + " inherited=" + std::to_string(inherited) +
                                  " cloexec=" + std::to_string(fd_cloexec(3) && fd_cloexec(4)) +
                                  " open=" + std::to_string(fd_is_open(3) && fd_is_open(4)) +
                                  " env=" + env_or("LISTEN_PID", "-") + env_or("LISTEN_FDS", "-");
        return after + " again=" + joined(ss::listen_fds());
      });
  EXPECT_EQ(got, "3,4 inherited=1 cloexec=1 open=1 env=-- again=");
}

TEST(ListenFds, KeepsTheEnvironmentWhenAsked) {
  ss::Socket a = listener();
  const std::string got =
      in_activated_child({a.fileno()}, {{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "1"}}, [] {
        const std::string first = joined(ss::listen_fds(false)) + " " + env_or("LISTEN_FDS", "-");
        return first + " " + joined(ss::listen_fds());
      });
  EXPECT_EQ(got, "3 1 3");
}

TEST(ListenFds, AnotherProcessesPidMeansNoneAndLeavesTheDescriptorsAlone) {
  ss::Socket a = listener();
  const std::string got = in_activated_child(
      {a.fileno()}, {{"LISTEN_PID", std::to_string(::getpid())}, {"LISTEN_FDS", "1"}}, [] {
        const std::string fds = joined(ss::listen_fds());
        return "[" + fds + "] cloexec=" + std::to_string(fd_cloexec(3)) +
               " env=" + env_or("LISTEN_PID", "-");
      });
  EXPECT_EQ(got, "[] cloexec=0 env=-");  // unset all the same, as sd_listen_fds does
}

TEST(ListenFds, ZeroDescriptors) {
  EXPECT_EQ(in_activated_child({}, {{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "0"}},
                               [] { return "[" + joined(ss::listen_fds()) + "]"; }),
            "[]");
}

TEST(ListenFds, NamesFromListenFdNames) {
  ss::Socket a = listener();
  ss::Socket b = listener();
  const std::string got = in_activated_child(
      {a.fileno(), b.fileno()},
      {{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "2"}, {"LISTEN_FDNAMES", "web:admin"}}, [] {
        std::string s;
        for (const ss::ListenFd& f : ss::listen_fds_with_names()) {
          s += std::to_string(f.fd) + "=" + f.name + " ";
        }
        return s + env_or("LISTEN_FDNAMES", "-");
      });
  EXPECT_EQ(got, "3=web 4=admin -");
}

TEST(ListenFds, NamesAreUnknownWithoutListenFdNames) {
  ss::Socket a = listener();
  const std::string got =
      in_activated_child({a.fileno()}, {{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "1"}}, [] {
        const auto named = ss::listen_fds_with_names();
        return std::to_string(named.size()) + " " + named.at(0).name;
      });
  EXPECT_EQ(got, "1 unknown");
}

// ---- malformed environments: a clear error, and the variables unset all the same -----------

std::string malformed(const Env& env, bool with_names = false, std::vector<int> close = {}) {
  ss::Socket a = listener();
  return in_activated_child(
      {a.fileno()}, env,
      [with_names] {
        std::string text;
        try {
          if (with_names) {
            (void)ss::listen_fds_with_names();
          } else {
            (void)ss::listen_fds();
          }
          text = "no error";
        } catch (const ss::activation_error& e) {
          text = e.what();
        }
        return text + " | env=" + env_or("LISTEN_PID", "-") + env_or("LISTEN_FDS", "-") +
               env_or("LISTEN_FDNAMES", "-");
      },
      close);
}

TEST(ListenFdsMalformed, PidNotANumber) {
  EXPECT_EQ(malformed({{"LISTEN_PID", "12ab"}, {"LISTEN_FDS", "1"}}),
            "LISTEN_PID='12ab': not a non-negative decimal number | env=---");
}

TEST(ListenFdsMalformed, FdsNotANumber) {
  EXPECT_EQ(malformed({{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "one"}}),
            "LISTEN_FDS='one': not a non-negative decimal number | env=---");
  EXPECT_EQ(malformed({{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "-1"}}),
            "LISTEN_FDS='-1': not a non-negative decimal number | env=---");
  EXPECT_EQ(malformed({{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", ""}}),
            "LISTEN_FDS='': not a non-negative decimal number | env=---");
  EXPECT_EQ(malformed({{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "99999999999999999999999"}}),
            "LISTEN_FDS='99999999999999999999999': not a non-negative decimal number | env=---");
}

TEST(ListenFdsMalformed, TooManyDescriptors) {
  EXPECT_EQ(malformed({{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "4294967296"}}),
            "LISTEN_FDS=4294967296: more descriptors than a process can have | env=---");
}

TEST(ListenFdsMalformed, MoreDescriptorsSaidThanPassed) {
  // One is passed (3); 4 and 5 are closed in the child.
  EXPECT_EQ(malformed({{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "3"}}, false, {4, 5}),
            "LISTEN_FDS=3: descriptor 4 is not open (Bad file descriptor) | env=---");
}

TEST(ListenFdsMalformed, NamesForAnotherCount) {
  EXPECT_EQ(
      malformed({{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "1"}, {"LISTEN_FDNAMES", "a:b"}}, true),
      "LISTEN_FDNAMES='a:b': 2 names for 1 descriptor | env=---");
}

// ---- adopt_listening_socket: what is refused, and the descriptor stays the caller's ----------

// The message of the std::invalid_argument adopt_listening_socket throws for `fd`; the
// descriptor must still be open afterwards when it was before.
std::string refusal(int fd, int type = SOCK_STREAM, int family = AF_UNSPEC) {
  const bool was_open = fd_is_open(fd);
  try {
    ss::Socket s = ss::adopt_listening_socket(fd, type, family);
    s.detach();
    return "accepted";
  } catch (const std::invalid_argument& e) {
    if (was_open && !fd_is_open(fd)) return std::string("closed: ") + e.what();
    return e.what();
  }
}

TEST(AdoptListeningSocket, RefusesWhatIsNotASocket) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  EXPECT_EQ(refusal(p[0]), "descriptor " + std::to_string(p[0]) + " is not a socket");
  ::close(p[0]);
  ::close(p[1]);
}

TEST(AdoptListeningSocket, RefusesADescriptorThatIsNotOpen) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::close(p[0]);
  ::close(p[1]);
  EXPECT_EQ(refusal(p[0]), "descriptor " + std::to_string(p[0]) + " is not open");
}

TEST(AdoptListeningSocket, RefusesAStreamSocketThatIsNotListening) {
  ss::Socket s(AF_INET, SOCK_STREAM);
  s.bind({"127.0.0.1", 0});
  EXPECT_EQ(refusal(s.fileno()),
            "descriptor " + std::to_string(s.fileno()) +
                " is not listening (a stream socket must be bound and listening when it is "
                "passed)");
}

TEST(AdoptListeningSocket, RefusesADatagramSocketForAStreamServer) {
  ss::Socket s(AF_INET, SOCK_DGRAM);
  s.bind({"127.0.0.1", 0});
  EXPECT_EQ(refusal(s.fileno()), "descriptor " + std::to_string(s.fileno()) +
                                     " is a datagram socket, not a stream socket");
  ss::Socket l = listener();
  EXPECT_EQ(refusal(l.fileno(), SOCK_DGRAM), "descriptor " + std::to_string(l.fileno()) +
                                                 " is a stream socket, not a datagram socket");
}

TEST(AdoptListeningSocket, RefusesAnotherFamily) {
  testutil::TempDir dir;
  ss::Socket u(AF_UNIX, SOCK_STREAM);
  u.bind(ss::Address::unix_path(dir.file("s")));
  u.listen();
  EXPECT_EQ(refusal(u.fileno(), SOCK_STREAM, AF_INET),
            "descriptor " + std::to_string(u.fileno()) + " is AF_UNIX, not AF_INET");
  ss::Socket l = listener();
  EXPECT_EQ(refusal(l.fileno(), SOCK_STREAM, AF_UNIX),
            "descriptor " + std::to_string(l.fileno()) + " is AF_INET, not AF_UNIX");
}

TEST(AdoptListeningSocket, RefusesAnUnboundDatagramSocket) {
  ss::Socket s(AF_INET, SOCK_DGRAM);
  EXPECT_EQ(refusal(s.fileno(), SOCK_DGRAM),
            "descriptor " + std::to_string(s.fileno()) +
                " is not bound (a datagram socket must be bound when it is passed)");
}

TEST(AdoptListeningSocket, RefusesBadArguments) {
  ss::Socket l = listener();
  EXPECT_THROW((void)ss::adopt_listening_socket(l.fileno(), SOCK_RAW), std::invalid_argument);
  EXPECT_THROW((void)ss::adopt_listening_socket(l.fileno(), SOCK_STREAM, AF_PACKET),
               std::invalid_argument);
  EXPECT_TRUE(fd_is_open(l.fileno()));
}

TEST(AdoptListeningSocket, TakesAListeningSocketOver) {
  ss::Socket l = listener();
  const ss::Address where = l.getsockname();
  const int fd = l.detach();
  ss::Socket s = ss::adopt_listening_socket(fd, SOCK_STREAM, AF_INET);
  EXPECT_EQ(s.fileno(), fd);
  EXPECT_EQ(s.getsockname(), where);
  EXPECT_TRUE(fd_cloexec(fd));
  s.close();
  EXPECT_FALSE(fd_is_open(fd));
}

// ---- servers on an adopted socket (ServerOptions::listen_fd) ---------------------------------

// A Unix stream listener at a fresh path in `dir`.
ss::Socket unix_listener(const testutil::TempDir& dir) {
  ss::Socket u(AF_UNIX, SOCK_STREAM);
  u.bind(ss::Address::unix_path(dir.file("adopted.sock")));
  u.listen();
  return u;
}

// `Server` built on `listening` (a stream socket, already listening) serves two clients; its
// server_address is the socket's; server_close closes the descriptor.
template <class Server>
void serves_adopted_stream(ss::Socket listening) {
  const ss::Address where = listening.getsockname();
  const int fd = listening.detach();
  Server server({}, ss::handler<stu::EchoStream>(), {.listen_fd = fd});
  EXPECT_EQ(server.server_address, where);
  EXPECT_EQ(server.fileno(), fd);
  EXPECT_EQ(server.address_family, where.family());
  {
    stu::ServerThread thread(server);
    EXPECT_EQ(stu::stream_roundtrip(where), stu::kTestStr);
    EXPECT_EQ(stu::stream_roundtrip(where, "again\n"), "again\n");
  }
  server.server_close();
  EXPECT_FALSE(fd_is_open(fd));
}

// The same for datagram servers on a bound datagram socket.
template <class Server>
void serves_adopted_datagrams(ss::Socket bound) {
  const ss::Address where = bound.getsockname();
  const int fd = bound.detach();
  Server server({}, ss::handler<stu::EchoDatagram>(), {.listen_fd = fd});
  EXPECT_EQ(server.server_address, where);
  {
    stu::ServerThread thread(server);
    EXPECT_EQ(stu::dgram_roundtrip(where), stu::kTestStr);
  }
  server.server_close();
  EXPECT_FALSE(fd_is_open(fd));
}

TEST(AdoptedServer, TCPServer) { serves_adopted_stream<ss::TCPServer>(listener()); }
TEST(AdoptedServer, ThreadingTCPServer) {
  serves_adopted_stream<ss::ThreadingTCPServer>(listener());
}
TEST(AdoptedServer, ForkingTCPServer) { serves_adopted_stream<ss::ForkingTCPServer>(listener()); }
TEST(AdoptedServer, ThreadPoolTCPServer) {
  serves_adopted_stream<ss::ThreadPoolMixIn<ss::TCPServer>>(listener());
}
TEST(AdoptedServer, TCPServerOnIPv6) {
  ss::Socket l(AF_INET6, SOCK_STREAM);
  try {
    l.bind({"::1", 0});
  } catch (const ss::socket_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  l.listen();
  serves_adopted_stream<ss::TCPServer>(std::move(l));
}

TEST(AdoptedServer, UnixStreamServersLeaveTheSocketFileToItsOwner) {
  testutil::TempDir dir;
  serves_adopted_stream<ss::UnixStreamServer>(unix_listener(dir));
  EXPECT_TRUE(std::filesystem::exists(dir.file("adopted.sock")));
  std::filesystem::remove(dir.file("adopted.sock"));
  serves_adopted_stream<ss::ThreadingUnixStreamServer>(unix_listener(dir));
  EXPECT_TRUE(std::filesystem::exists(dir.file("adopted.sock")));
}

TEST(AdoptedServer, TCPServerServesAUnixSocketItIsGiven) {
  // What a .socket unit with ListenStream=/run/x.sock hands a program written for TCP.
  testutil::TempDir dir;
  serves_adopted_stream<ss::TCPServer>(unix_listener(dir));
}

TEST(AdoptedServer, UDPServers) {
  const auto bound_udp = [] {
    ss::Socket s(AF_INET, SOCK_DGRAM);
    s.bind({"127.0.0.1", 0});
    return s;
  };
  serves_adopted_datagrams<ss::UDPServer>(bound_udp());
  serves_adopted_datagrams<ss::ThreadingUDPServer>(bound_udp());
  ss::Socket u(AF_UNIX, SOCK_DGRAM);
  u.bind(ss::Address::abstract(testutil::unique_abstract("adopted-dgram")));
  serves_adopted_datagrams<ss::UnixDatagramServer>(std::move(u));
}

TEST(AdoptedServer, BindAndActivateFalseChangesNothing) {
  ss::Socket l = listener();
  const ss::Address where = l.getsockname();
  ss::TCPServer server({}, ss::handler<stu::EchoStream>(),
                       {.bind_and_activate = false, .listen_fd = l.detach()});
  stu::ServerThread thread(server);
  EXPECT_EQ(stu::stream_roundtrip(where), stu::kTestStr);
}

TEST(AdoptedServer, ARefusedDescriptorStaysTheCallers) {
  ss::Socket dgram(AF_INET, SOCK_DGRAM);
  dgram.bind({"127.0.0.1", 0});
  try {
    ss::TCPServer server({}, ss::handler<stu::EchoStream>(), {.listen_fd = dgram.fileno()});
    ADD_FAILURE() << "a datagram socket was taken for a TCPServer";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), ("descriptor " + std::to_string(dgram.fileno()) +
                            " is a datagram socket, not a stream socket")
                               .c_str());
  }
  EXPECT_TRUE(fd_is_open(dgram.fileno()));
  ss::Socket tcp = listener();
  EXPECT_THROW(
      ss::UnixStreamServer({}, ss::handler<stu::EchoStream>(), {.listen_fd = tcp.fileno()}),
      std::invalid_argument);
  EXPECT_THROW(ss::UDPServer({}, ss::handler<stu::EchoDatagram>(), {.listen_fd = tcp.fileno()}),
               std::invalid_argument);
  EXPECT_THROW(ss::TCPServer({}, ss::handler<stu::EchoStream>(),
                             {.address_family = AF_INET6, .listen_fd = tcp.fileno()}),
               std::invalid_argument);
  EXPECT_TRUE(fd_is_open(tcp.fileno()));
}

TEST(AdoptedServer, TheSystemdWayEndToEnd) {
  // As a .socket unit starts its service: the socket is descriptor 3 of a new process, which
  // finds it with listen_fds() and serves it. The client connects before the service runs
  // (the kernel queues it on the listening socket, as with systemd's lazy start).
  ss::Socket l = listener();
  const ss::Address where = l.getsockname();
  ss::Socket client = stu::stream_client(where);
  client.sendall("queued\n");
  const std::string got = in_activated_child(
      {l.fileno()}, {{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "1"}, {"LISTEN_FDNAMES", "ts"}}, [] {
        const std::vector<ss::ListenFd> fds = ss::listen_fds_with_names();
        ss::ThreadingTCPServer server({}, ss::handler<stu::EchoStream>(),
                                      {.listen_fd = fds.at(0).fd});
        server.handle_request();
        server.server_close();
        return fds.at(0).name + " " + server.server_address.to_string();
      });
  EXPECT_EQ(got, "ts " + where.to_string());
  EXPECT_EQ(stu::read_line(client), "queued\n");
}

// ---- Reactor::adopt_stream_port (Twisted's adoptStreamPort) ---------------------------------

// A reactor port on `listening` echoes two clients; get_host is the socket's address;
// stop_listening closes the descriptor.
void reactor_serves_adopted(ss::Socket listening) {
  const ss::Address where = listening.getsockname();
  const int fd = listening.detach();
  ss::Reactor reactor;
  auto log = std::make_shared<rtu::Log>();
  ss::ListeningPort& port = reactor.adopt_stream_port(fd, ss::Factory::for_protocol<rtu::Echo>(log),
                                                      {.idle_timeout = 30s});
  EXPECT_EQ(port.get_host(), where);
  {
    rtu::ReactorThread loop(reactor);
    EXPECT_EQ(stu::stream_roundtrip(where), stu::kTestStr);
    EXPECT_EQ(stu::stream_roundtrip(where, "twice\n"), "twice\n");
    loop.call([&port] { port.stop_listening(); });
  }
  EXPECT_EQ(log->made.load(), 2);
  EXPECT_FALSE(fd_is_open(fd));
}

TEST(AdoptStreamPort, ServesATcpSocket) { reactor_serves_adopted(listener()); }

TEST(AdoptStreamPort, ServesAUnixSocketAndLeavesItsFile) {
  testutil::TempDir dir;
  reactor_serves_adopted(unix_listener(dir));
  EXPECT_TRUE(std::filesystem::exists(dir.file("adopted.sock")));
}

TEST(AdoptStreamPort, RefusesWhatIsNotAListeningStreamSocket) {
  ss::Reactor reactor;
  auto factory = ss::Factory::for_protocol<rtu::Echo>();
  ss::Socket dgram(AF_INET, SOCK_DGRAM);
  dgram.bind({"127.0.0.1", 0});
  EXPECT_THROW(reactor.adopt_stream_port(dgram.fileno(), factory), std::invalid_argument);
  ss::Socket idle(AF_INET, SOCK_STREAM);
  idle.bind({"127.0.0.1", 0});
  EXPECT_THROW(reactor.adopt_stream_port(idle.fileno(), factory), std::invalid_argument);
  EXPECT_TRUE(fd_is_open(dgram.fileno()));
  EXPECT_TRUE(fd_is_open(idle.fileno()));
  ss::Socket l = listener();
  EXPECT_THROW(reactor.adopt_stream_port(l.fileno(), nullptr), std::invalid_argument);
  EXPECT_THROW(reactor.adopt_stream_port(l.fileno(), factory, {.idle_timeout = -1s}),
               std::invalid_argument);
  EXPECT_TRUE(fd_is_open(l.fileno()));
}

// A factory whose start fails: adopt_stream_port throws and the descriptor stays the caller's
// (PreforkWorker::serve closes its listener itself then; had the port closed it as well, the
// number could have been closed twice).
struct FailingStart : ss::Factory {
  void start_factory() override { throw std::runtime_error("no database"); }
  std::unique_ptr<ss::Protocol> build_protocol(const ss::Address&) override { return nullptr; }
};

TEST(AdoptStreamPort, AFactoryThatFailsToStartLeavesTheDescriptorOpen) {
  ss::Reactor reactor;
  ss::Socket l = listener();
  EXPECT_THROW(reactor.adopt_stream_port(l.fileno(), std::make_shared<FailingStart>()),
               std::runtime_error);
  EXPECT_TRUE(fd_is_open(l.fileno()));
}

// Echoes one chunk, closes (what was written goes first), and stops the reactor.
struct EchoOnceAndStop : ss::Protocol {
  explicit EchoOnceAndStop(ss::Reactor* r) : reactor(r) {}
  void data_received(std::string_view data) override {
    transport().write(data);
    transport().lose_connection();
  }
  void connection_lost(const ss::Reason&) override { reactor->stop(); }
  ss::Reactor* reactor;
};

TEST(AdoptStreamPort, TheSystemdWayEndToEnd) {
  ss::Socket l = listener();
  const ss::Address where = l.getsockname();
  ss::Socket client = stu::stream_client(where);
  client.sendall("queued\n");
  const std::string got =
      in_activated_child({l.fileno()}, {{"LISTEN_PID", "$PID"}, {"LISTEN_FDS", "1"}}, [] {
        ss::Reactor reactor;
        ss::ListeningPort& port = reactor.adopt_stream_port(
            ss::listen_fds().at(0), ss::Factory::for_protocol<EchoOnceAndStop>(&reactor));
        reactor.call_later(9s, [&reactor] { reactor.stop(); });  // a bound, not a wait
        reactor.run(false);
        return port.get_host().to_string();
      });
  EXPECT_EQ(got, where.to_string());
  EXPECT_EQ(stu::read_line(client), "queued\n");
}

}  // namespace
