// test_samples_activation.cpp — the timestamp servers with --systemd (socket activation): they
// serve the listening socket they are handed (descriptor 3, LISTEN_FDS=1, LISTEN_PID = their
// pid) instead of binding --host/--port.
//
// The test plays systemd itself: it binds and listens, forks, moves the socket to descriptor 3
// and sets the two variables in the child before exec, as systemd does for a .socket unit; the
// test's own copy of the socket is closed once the child runs, so a reply can only come from the
// child serving that socket. Then the real thing when it is installed: Debian's
// systemd-socket-activate (package systemd) binds a port and starts tsTservSS --systemd on the
// first connection. And the errors: --systemd with no socket, or one meant for another process,
// is one clear line and exit status 2. Sample helpers: sample_util.hpp. Loopback only, every
// wait bounded.
#include <cstdlib>

#include "sample_util.hpp"

namespace {

using namespace sample_test;

// In the forked child (single-threaded test: setenv is safe there): `fd` becomes descriptor 3,
// inherited across exec, and LISTEN_FDS=1, LISTEN_PID=<this pid> say so (sd_listen_fds).
void pass_as_systemd(int fd) {
  if (fd != 3) {
    ::dup2(fd, 3);  // the copy has no FD_CLOEXEC
  } else {
    ::fcntl(3, F_SETFD, 0);
  }
  ::setenv("LISTEN_FDS", "1", 1);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::unsetenv("LISTEN_FDNAMES");
}

// In the forked child: no variable of socket activation, whatever the test's environment has.
void no_activation() {
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDNAMES");
}

// One timestamp request on a new connection to 127.0.0.1:port: "hello\r\n" (the book's client
// sends "\r\n"), answered "[<ctime>] hello\r\n" by every timestamp server.
void expect_timestamp_reply(int port) {
  Fd c = tcp_connect(AF_INET, port);
  ASSERT_TRUE(c) << "connect to port " << port << ": " << std::strerror(errno);
  ASSERT_TRUE(send_all(c.get(), "hello\r\n"));
  std::string reply = recv_reply(c.get(), "hello\r\n");
  ASSERT_TRUE(reply.ends_with("\r\n")) << reply;
  reply.resize(reply.size() - 2);
  EXPECT_TRUE(std::regex_match(reply, kHelloReply)) << reply;
}

// tsTservSS, tsTservThreaded, tsTservKeep (ServerOptions::listen_fd) and tsTservTW
// (Reactor::adopt_stream_port) serve the socket passed as systemd passes it: they answer on its
// port, say that they listen there, and stop on SIGTERM with exit status 0.
TEST(SamplesActivation, ServersServeTheSocketPassedAsSystemdDoes) {
  for (const char* name : {"tsTservSS", "tsTservThreaded", "tsTservKeep", "tsTservTW"}) {
    SCOPED_TRACE(name);
    Fd listener = bound_socket(AF_INET, SOCK_STREAM, true);
    ASSERT_TRUE(listener);
    const int port = local_port(listener.get());
    const int fd = listener.get();
    Child server({sample(name), "--systemd"}, [fd] { pass_as_systemd(fd); });
    listener.reset();  // from now on only the child holds the socket
    ASSERT_EQ(server.listening_port(), port) << server.listening_line();
    expect_timestamp_reply(port);
    expect_timestamp_reply(port);  // and it goes on serving
    if (!kUnderTsan) {             // see sample_util.hpp: TSan may never deliver the signal
      EXPECT_TRUE(exited_zero_after(server, SIGTERM));
    }
  }
}

// A path to `program` in the PATH, or "" when it is not installed.
std::string find_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  dirs += ":/usr/bin:/bin";
  std::size_t start = 0;
  for (int i = 0; i < 100 && start <= dirs.size(); ++i) {
    const std::size_t colon = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, colon - start) + "/" + program;
    if (colon > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = colon + 1;
  }
  return "";
}

// Debian's systemd-socket-activate -l 127.0.0.1:PORT tsTservSS --systemd: it binds and listens,
// and on the first connection execs tsTservSS with the socket, which answers. The port is found
// free by binding port 0 and closing it; another process may take it in between, so a failed
// bind is retried (a few times).
TEST(SamplesActivation, SystemdSocketActivateStartsTsTservSS) {
  const std::string activate = find_program("systemd-socket-activate");
  if (activate.empty()) {
    GTEST_SKIP() << "systemd-socket-activate is not installed (Debian: apt-get install systemd)";
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = -1;
    {
      Fd probe = bound_socket(AF_INET, SOCK_STREAM);
      ASSERT_TRUE(probe);
      port = local_port(probe.get());
    }  // closed: the port is free (until someone else takes it)
    const std::string where = "127.0.0.1:" + std::to_string(port);
    Child server({activate, "-l", where, sample("tsTservSS"), "--systemd"}, no_activation);
    const bool listening = server.wait_until([&] {
      return server.err().find("Listening on " + where) != std::string::npos ||
             server.err().find("ddress already in use") != std::string::npos;
    });
    if (server.err().find("ddress already in use") != std::string::npos) continue;  // the race
    ASSERT_TRUE(listening) << server.err();
    expect_timestamp_reply(port);  // the first connection starts tsTservSS
    EXPECT_TRUE(server.wait_stderr("listening on " + where)) << server.err();
    expect_timestamp_reply(port);
    if (!kUnderTsan) {  // see sample_util.hpp: TSan may never deliver the signal
      EXPECT_TRUE(exited_zero_after(server, SIGTERM));
    }
    return;
  }
  FAIL() << "5 free ports in a row were taken before systemd-socket-activate could bind them";
}

// --systemd in a process systemd did not start (no LISTEN_FDS): exit status 2 and a line that
// says why, for a SocketServer sample and for the reactor one.
TEST(SamplesActivation, NoSocketPassedIsAClearErrorAndExitStatus2) {
  for (const char* name : {"tsTservSS", "tsTservTW"}) {
    Child server({sample(name), "--systemd"}, no_activation);
    EXPECT_EQ(server.exit_code(), 2) << name;
    EXPECT_NE(server.err().find(std::string(name) +
                                ": --systemd: no socket from systemd: LISTEN_FDS is not set"),
              std::string::npos)
        << server.err();
    EXPECT_EQ(server.err().find("listening on"), std::string::npos) << server.err();
  }
}

// LISTEN_PID naming another process (variables a parent left for itself): not ours to take.
TEST(SamplesActivation, ListenPidOfAnotherProcessIsAClearErrorAndExitStatus2) {
  Fd listener = bound_socket(AF_INET, SOCK_STREAM, true);
  ASSERT_TRUE(listener);
  const int fd = listener.get();
  Child server({sample("tsTservSS"), "--systemd"}, [fd] {
    pass_as_systemd(fd);
    ::setenv("LISTEN_PID", "1", 1);
  });
  EXPECT_EQ(server.exit_code(), 2);
  EXPECT_NE(server.err().find("--systemd: no socket from systemd: LISTEN_PID=1 is another "
                              "process (this is " +
                              std::to_string(server.pid()) + ")"),
            std::string::npos)
      << server.err();
}

// Two sockets passed: the timestamp servers serve exactly one, and say so.
TEST(SamplesActivation, MoreThanOneSocketIsAClearErrorAndExitStatus2) {
  Fd a = bound_socket(AF_INET, SOCK_STREAM, true);
  Fd b = bound_socket(AF_INET, SOCK_STREAM, true);
  ASSERT_TRUE(a && b);
  const int fa = a.get();
  const int fb = b.get();
  Child server({sample("tsTservTW"), "--systemd"}, [fa, fb] {
    const int b4 = ::dup(fb);  // out of the way of descriptor 3
    pass_as_systemd(fa);
    ::dup2(b4, 4);
    ::setenv("LISTEN_FDS", "2", 1);
  });
  EXPECT_EQ(server.exit_code(), 2);
  EXPECT_NE(server.err().find("LISTEN_FDS=2: this server serves exactly one socket"),
            std::string::npos)
      << server.err();
}

// --systemd serves the socket systemd bound: --host or --port beside it is a usage error.
TEST(SamplesActivation, SystemdWithHostOrPortIsAUsageError) {
  for (const char* option : {"--port", "--host"}) {
    Child server({sample("tsTservSS"), "--systemd", option, "0"}, no_activation);
    EXPECT_EQ(server.exit_code(), 2) << option;
    EXPECT_NE(server.err().find("--systemd serves the socket systemd bound: no --host/--port"),
              std::string::npos)
        << server.err();
  }
}

// A passed descriptor that is not a listening socket: the library refuses it (exit status 1,
// the reason named), the sample does not serve something else.
TEST(SamplesActivation, PassedSocketNotListeningIsRefused) {
  Fd bound = bound_socket(AF_INET, SOCK_STREAM);  // bound, never listening
  ASSERT_TRUE(bound);
  const int fd = bound.get();
  Child server({sample("tsTservSS"), "--systemd"}, [fd] { pass_as_systemd(fd); });
  EXPECT_EQ(server.exit_code(), 1);
  EXPECT_NE(server.err().find("descriptor 3 is not listening"), std::string::npos) << server.err();
}

TEST(SamplesActivation, HelpDocumentsSystemd) {
  for (const char* name : {"tsTservSS", "tsTservThreaded", "tsTservKeep", "tsTservTW"}) {
    Child help({sample(name), "--help"});
    EXPECT_EQ(help.exit_code(), 0) << name;
    EXPECT_NE(help.out().find("[--systemd]"), std::string::npos) << help.out();
    EXPECT_NE(help.out().find("--systemd     serve the listening socket systemd passes"),
              std::string::npos)
        << help.out();
  }
}

}  // namespace
