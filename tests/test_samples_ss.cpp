// test_samples_ss.cpp — the chapter's SocketServer samples, run as the reader runs them:
// tsTservSS / tsTclntSS (Examples 2-8, 2-9), tsTservThreaded (exercise 2-15) and
// tsTservKeep / tsTclntKeep (exercise 2-16).
//
// As in test_samples.cpp (whose helpers, sample_util.hpp, this file shares): the programs run
// as children on --port 0, the tests talk to them over 127.0.0.1 or ::1 with raw sockets and,
// when python3 is present, with Python's socket and socketserver modules (tests/clients/).
// Every wait is bounded and every child is killed and reaped when a test ends.
#include <sys/resource.h>

#include "sample_util.hpp"

namespace {

using namespace sample_test;

// The book's reply to a line "hello\r\n", terminator kept: "[" + time.ctime() + "] hello\r\n".
const std::regex kHelloLineReply(
    R"(^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] hello\r\n$)");

// How long a server may take to stop on a signal while clients are connected: "a couple of
// seconds" (a 1 s close deadline) plus room for slow sanitizer builds.
constexpr auto kStopBound = 6s;

std::string clients_py(const std::string& name) {
  return std::string(SOCKETSERVER_TESTS_DIR) + "/clients/" + name;
}

// A client's whole exchange with a one-line-per-connection server: sends `line`, receives
// until the server closes. (The reply, and whether the close came within kWait.)
std::pair<std::string, bool> one_line_exchange(int fd, std::string_view line) {
  if (!send_all(fd, line)) return {"", false};
  bool eof = false;
  std::string reply = recv_until(
      fd, [](const std::string&) { return false; }, &eof);
  return {reply, eof};
}

// Sends SIGINT or SIGTERM; true when the child then exits 0 within kStopBound.
bool stops_cleanly_within_bound(Child& child, int sig) {
  const auto start = Clock::now();
  child.signal(sig);
  const int code = child.exit_code();
  const auto took = Clock::now() - start;
  EXPECT_LT(took, kStopBound) << "took "
                              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                              << " ms";
  return code == 0 && took < kStopBound;
}

std::string being_served(int family, int port, int n) {
  std::string line = connected_line(family, port);
  line.pop_back();  // the '\n'
  return line + " [" + std::to_string(n) + (n == 1 ? " client" : " clients") + " being served]\n";
}

// Lets this process (and the servers it starts) open `want` descriptors, up to the hard limit.
bool raise_fd_limit(rlim_t want) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  if (lim.rlim_cur >= want) return true;
  lim.rlim_cur = std::min(want, lim.rlim_max);
  return ::setrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur >= want;
}

// ---- tsTservSS (Example 2-8) ---------------------------------------------------------------

TEST(SampleSSServer, ConsoleLinesAndReplyAreTheBooks) {
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n"));
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  const int client_port = local_port(c.get());
  auto [reply, closed] = one_line_exchange(c.get(), "hello\r\n");
  EXPECT_TRUE(std::regex_match(reply, kHelloLineReply)) << "reply: '" << reply << "'";
  EXPECT_EQ(reply.size(), 1 + 24 + 2 + 7u);
  EXPECT_TRUE(closed) << "the server closes the connection after one line";

  Fd c2 = tcp_connect(AF_INET, srv.port);  // the next client
  ASSERT_TRUE(c2);
  const int client2_port = local_port(c2.get());
  EXPECT_TRUE(std::regex_match(one_line_exchange(c2.get(), "hello\r\n").first, kHelloLineReply));
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: ", 2));
  EXPECT_EQ(srv.child.out(), "waiting for connection...\n" + connected_line(AF_INET, client_port) +
                                 connected_line(AF_INET, client2_port))
      << "'waiting for connection...' once, then one line per connection";
  EXPECT_EQ(srv.child.err(), srv.child.listening_line() + "\n");
}

TEST(SampleSSServer, KeepsTheLineTerminatorAndAnswersOnlyTheFirstLine) {
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  {
    Fd c = tcp_connect(AF_INET, srv.port);
    ASSERT_TRUE(c);
    auto [reply, closed] = one_line_exchange(c.get(), "unix line\n");
    EXPECT_TRUE(std::regex_search(reply, kReplyPrefix)) << reply;
    EXPECT_TRUE(reply.ends_with("] unix line\n")) << reply;
    EXPECT_TRUE(closed);
  }
  {
    Fd c = tcp_connect(AF_INET, srv.port);
    ASSERT_TRUE(c);
    auto [reply, closed] = one_line_exchange(c.get(), "first\r\nsecond\r\n");
    EXPECT_TRUE(reply.ends_with("] first\r\n")) << reply;
    EXPECT_EQ(reply.find("second"), std::string::npos) << reply;
    EXPECT_TRUE(closed);
  }
}

TEST(SampleSSServer, ALineThatComesInPiecesIsAnsweredWhole) {
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "hel"));
  std::this_thread::sleep_for(500ms);  // longer than the server's 200 ms look for a signal
  auto [reply, closed] = one_line_exchange(c.get(), "lo\r\n");
  EXPECT_TRUE(std::regex_match(reply, kHelloLineReply)) << "reply: '" << reply << "'";
  EXPECT_TRUE(closed);
}

TEST(SampleSSServer, ClientsThatLeaveOrResetDoNotStopIt) {
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  {
    Fd quiet = tcp_connect(AF_INET, srv.port);
    ASSERT_TRUE(quiet);
    ASSERT_TRUE(srv.child.wait_stdout("...connected from: "));
  }  // closed without a word: nothing to answer, nothing to report
  {
    Fd c = tcp_connect(AF_INET, srv.port);
    ASSERT_TRUE(c);
    EXPECT_TRUE(std::regex_match(one_line_exchange(c.get(), "hello\r\n").first, kHelloLineReply));
  }
  EXPECT_EQ(srv.child.err(), srv.child.listening_line() + "\n");
  {
    Fd rude = tcp_connect(AF_INET, srv.port);
    ASSERT_TRUE(rude);
    ASSERT_TRUE(send_all(rude.get(), "half a li"));
    ASSERT_TRUE(srv.child.wait_stdout("...connected from: ", 3));
    reset_close(rude);  // a reset in the middle of the line: the server's handle_error says so
  }
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  EXPECT_TRUE(std::regex_match(one_line_exchange(c.get(), "hello\r\n").first, kHelloLineReply));
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ", 4));
}

TEST(SampleSSServer, ServesIPv6) {
  if (!ipv6_available()) GTEST_SKIP() << "no IPv6 loopback (::1) here";
  Server srv("tsTservSS", "::1");
  ASSERT_GT(srv.port, 0);
  EXPECT_EQ(srv.child.listening_line(), "listening on [::1]:" + std::to_string(srv.port));
  Fd c = tcp_connect(AF_INET6, srv.port);
  ASSERT_TRUE(c);
  const int client_port = local_port(c.get());
  EXPECT_TRUE(std::regex_match(one_line_exchange(c.get(), "hello\r\n").first, kHelloLineReply));
  EXPECT_TRUE(srv.child.wait_stdout(connected_line(AF_INET6, client_port)));
}

TEST(SampleSSServer, CtrlCWhileWaitingForAConnectionExitsZero) {
  if (kUnderTsan)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n"));
  EXPECT_TRUE(stops_cleanly_within_bound(srv.child, SIGINT));
  EXPECT_NE(srv.child.err().find("SIGINT received"), std::string::npos) << srv.child.err();
}

TEST(SampleSSServer, CtrlCWithAQuietClientConnectedExitsZero) {
  if (kUnderTsan)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd quiet = tcp_connect(AF_INET, srv.port);  // the handler now waits for its line
  ASSERT_TRUE(quiet);
  ASSERT_TRUE(send_all(quiet.get(), "no end of line"));
  Fd waiting = tcp_connect(AF_INET, srv.port);  // and this one waits in the backlog
  ASSERT_TRUE(waiting);
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: "));
  EXPECT_TRUE(stops_cleanly_within_bound(srv.child, SIGINT));
  EXPECT_TRUE(sees_eof(quiet.get()));
  EXPECT_NE(srv.child.err().find("SIGINT received, server closed"), std::string::npos)
      << srv.child.err();
}

TEST(SampleSSServer, SigtermWithAQuietClientConnectedExitsZero) {
  if (kUnderTsan)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd quiet = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(quiet);
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: "));
  EXPECT_TRUE(stops_cleanly_within_bound(srv.child, SIGTERM));
  EXPECT_TRUE(sees_eof(quiet.get()));
  EXPECT_NE(srv.child.err().find("SIGTERM received"), std::string::npos) << srv.child.err();
}

TEST(SampleSSServer, TalksToPythonsSocketModule) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child py({python3(), clients_py("ts_client_ss.py"), "ss", "127.0.0.1", std::to_string(srv.port),
            "hello", "hello"});
  ASSERT_EQ(py.exit_code(), 0) << py.err();
  auto lines = reply_lines(py.out());
  ASSERT_EQ(lines.size(), 2u) << py.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << l;
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ('127.0.0.1', ", 2));
}

// ---- tsTclntSS (Example 2-9) ---------------------------------------------------------------

Child start_client(const std::string& name, int port) {
  return Child({sample(name), "--host", "127.0.0.1", "--port", std::to_string(port)});
}

// True when `listener` has a connection waiting to be accepted (without waiting).
bool pending_connection(int listener) {
  pollfd p{listener, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

Fd accept_one(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kWait).count())) != 1) return Fd();
  return Fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

TEST(SampleSSClient, RoundTripsWithTsTservSS) {
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntSS", srv.port);
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n"));
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n", 2));
  ASSERT_TRUE(c.wait_stdout("> ", 3));
  ASSERT_TRUE(c.write("\n"));
  EXPECT_EQ(c.exit_code(), 0);
  auto lines = reply_lines(c.out());
  ASSERT_EQ(lines.size(), 2u) << c.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << "'" << l << "'";
  EXPECT_TRUE(c.out().starts_with("> [")) << c.out();
  EXPECT_TRUE(c.out().ends_with("\n> ")) << c.out();
  EXPECT_EQ(c.err(), "");
  // A connection per line, and one more for the prompt that got the empty line.
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ", 3));
  EXPECT_EQ(srv.child.err().find("Exception"), std::string::npos) << srv.child.err();
}

TEST(SampleSSClient, ConnectsBeforeEachPromptAndSendsTheLineWithCrLf) {
  Fd listener = bound_socket(AF_INET, SOCK_STREAM, /*listening=*/true);
  ASSERT_TRUE(listener);
  Child c = start_client("tsTclntSS", local_port(listener.get()));
  ASSERT_TRUE(c.wait_stdout("> "));
  EXPECT_TRUE(pending_connection(listener.get())) << "connected before the prompt";
  Fd conn = accept_one(listener.get());
  ASSERT_TRUE(conn);
  ASSERT_TRUE(c.write("hello\n"));
  EXPECT_EQ(recv_until(conn.get(), [](const std::string& b) { return b.ends_with("\r\n"); }),
            "hello\r\n");
  ASSERT_TRUE(send_all(conn.get(), " \t[x] hello\r\n \n"));  // the client strips it
  bool eof = false;
  recv_until(
      conn.get(), [](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof) << "the client closes after the reply";
  ASSERT_TRUE(c.wait_stdout("> ", 2));
  EXPECT_TRUE(pending_connection(listener.get())) << "a new connection before the next prompt";
  Fd conn2 = accept_one(listener.get());
  ASSERT_TRUE(conn2);
  ASSERT_TRUE(c.write("\n"));
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_TRUE(sees_eof(conn2.get())) << "an empty line: the connection closes unused";
  EXPECT_EQ(c.out(), "> [x] hello\n> ");
}

TEST(SampleSSClient, EndOfInputExitsZero) {
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntSS", srv.port);
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n"));
  c.close_stdin();
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_EQ(c.err(), "");
}

TEST(SampleSSClient, ServerClosingWithoutAReplyEndsItWithZero) {
  Fd listener = bound_socket(AF_INET, SOCK_STREAM, /*listening=*/true);
  ASSERT_TRUE(listener);
  Child c = start_client("tsTclntSS", local_port(listener.get()));
  Fd conn = accept_one(listener.get());
  ASSERT_TRUE(conn);
  ASSERT_TRUE(c.write("hello\n"));
  recv_until(conn.get(), [](const std::string& b) { return b.ends_with("\r\n"); });
  conn.reset();  // `if not data: break`
  EXPECT_EQ(c.exit_code(), 0);
}

TEST(SampleSSClient, ConnectionRefusedIsOneLineNamingTheAddress) {
  Fd closed = bound_socket(AF_INET, SOCK_STREAM);  // bound, not listening: refused
  ASSERT_TRUE(closed);
  const int port = local_port(closed.get());
  Child c = start_client("tsTclntSS", port);
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_EQ(c.err(),
            "tsTclntSS: connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused\n");
  EXPECT_EQ(c.out(), "") << "no prompt without a connection";
}

TEST(SampleSSClient, TalksToPythonsSocketServer) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  // Two lines, and the connection the empty line ends: three requests.
  Child py({python3(), clients_py("ts_server_ss.py"), "ss", "127.0.0.1", "3"});
  const int port = py.listening_port();
  ASSERT_GT(port, 0);
  Child c = start_client("tsTclntSS", port);
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n"));
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n", 2));
  ASSERT_TRUE(c.write("\n"));
  EXPECT_EQ(c.exit_code(), 0);
  auto lines = reply_lines(c.out());
  ASSERT_EQ(lines.size(), 2u) << c.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << l;
  EXPECT_EQ(py.exit_code(), 0) << py.err();
  EXPECT_EQ(count(py.out(), "...connected from: ('127.0.0.1', "), 3u) << py.out();
}

// ---- tsTservThreaded (exercise 2-15) --------------------------------------------------------

TEST(SampleThreadedServer, ConsoleLinesAndReplyAreTheBooks) {
  Server srv("tsTservThreaded", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n"));
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  const int client_port = local_port(c.get());
  auto [reply, closed] = one_line_exchange(c.get(), "hello\r\n");
  EXPECT_TRUE(std::regex_match(reply, kHelloLineReply)) << "reply: '" << reply << "'";
  EXPECT_TRUE(closed);
  ASSERT_TRUE(srv.child.wait_stdout(" being served]\n"));
  EXPECT_EQ(srv.child.out(), "waiting for connection...\n" + being_served(AF_INET, client_port, 1));
}

TEST(SampleThreadedServer, ServesClientsAtOnceAndShowsHowMany) {
  Server srv("tsTservThreaded", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  std::vector<Fd> clients;
  std::string expected = "waiting for connection...\n";
  for (int i = 1; i <= 3; ++i) {  // three clients connect and say nothing yet
    clients.push_back(tcp_connect(AF_INET, srv.port));
    ASSERT_TRUE(clients.back());
    expected += being_served(AF_INET, local_port(clients.back().get()), i);
    ASSERT_TRUE(srv.child.wait_stdout(" being served]\n", static_cast<std::size_t>(i)));
  }
  EXPECT_EQ(srv.child.out(), expected);
  // The last comes first: a server serving one client at a time would hang on the first.
  for (int i = 2; i >= 0; --i) {
    auto [reply, closed] =
        one_line_exchange(clients[static_cast<std::size_t>(i)].get(), "hello\r\n");
    EXPECT_TRUE(std::regex_match(reply, kHelloLineReply)) << i << ": '" << reply << "'";
    EXPECT_TRUE(closed);
  }
  // All three done: the count goes back to one (a handler thread counts until it has closed
  // its connection, so a client may come a moment too early: a bounded number of tries).
  bool back_to_one = false;
  for (std::size_t i = 1; i <= 50 && !back_to_one; ++i) {
    Fd later = tcp_connect(AF_INET, srv.port);
    ASSERT_TRUE(later);
    const std::string line = being_served(AF_INET, local_port(later.get()), 1);
    ASSERT_TRUE(srv.child.wait_stdout("...connected from: ", 3 + i));
    back_to_one = srv.child.out().find(line) != std::string::npos;
  }
  EXPECT_TRUE(back_to_one) << srv.child.out();
}

TEST(SampleThreadedServer, Serves500ClientsAtOnce) {
  constexpr std::size_t kClients = 500;
  if (!raise_fd_limit(2 * kClients + 64)) GTEST_SKIP() << "RLIMIT_NOFILE too low for the test";
  Server srv("tsTservThreaded", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  std::vector<Fd> clients;
  for (std::size_t i = 0; i < kClients; ++i) {
    clients.push_back(tcp_connect(AF_INET, srv.port));
    ASSERT_TRUE(clients.back()) << "connection " << i << ": " << std::strerror(errno);
  }
  // All 500 connected and quiet: the last handler to start counts them all. (A few kWait
  // rounds: starting 500 threads under a sanitizer is slow.)
  const std::string all = "[500 clients being served]\n";
  bool seen = false;
  for (int round = 0; round < 6 && !seen; ++round) seen = srv.child.wait_stdout(all);
  ASSERT_TRUE(seen) << count(srv.child.out(), "...connected from: ") << " connections shown";

  for (auto& c : clients) ASSERT_TRUE(send_all(c.get(), "hello\r\n"));
  // Every reply, read with one poll() over all the connections, until each server side closes.
  std::vector<std::string> replies(kClients);
  std::vector<bool> done(kClients, false);
  std::size_t open = kClients;
  const auto deadline = Clock::now() + 6 * kWait;
  std::vector<pollfd> fds(kClients);
  while (open > 0 && Clock::now() < deadline) {
    for (std::size_t i = 0; i < kClients; ++i) {
      fds[i] = {done[i] ? -1 : clients[i].get(), POLLIN, 0};
    }
    if (::poll(fds.data(), fds.size(), remaining_ms(deadline)) <= 0) continue;
    for (std::size_t i = 0; i < kClients; ++i) {
      if (done[i] || fds[i].revents == 0) continue;
      char buf[256];
      ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        replies[i].append(buf, static_cast<std::size_t>(n));
      } else {
        done[i] = true;
        --open;
      }
    }
  }
  EXPECT_EQ(open, 0u) << "connections the server did not close";
  std::size_t good = 0;
  for (const auto& r : replies) good += std::regex_match(r, kHelloLineReply) ? 1 : 0;
  EXPECT_EQ(good, kClients);
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ", kClients));
  EXPECT_EQ(srv.child.err().find("Exception"), std::string::npos) << srv.child.err();
  clients.clear();
  EXPECT_TRUE(stops_cleanly_within_bound(srv.child, SIGTERM));
}

TEST(SampleThreadedServer, CtrlCWithQuietClientsConnectedExitsZero) {
  Server srv("tsTservThreaded", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd quiet1 = tcp_connect(AF_INET, srv.port);
  Fd quiet2 = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(quiet1 && quiet2);
  ASSERT_TRUE(send_all(quiet2.get(), "no end of line"));
  ASSERT_TRUE(srv.child.wait_stdout("[2 clients being served]\n"));
  EXPECT_TRUE(stops_cleanly_within_bound(srv.child, SIGINT));
  EXPECT_TRUE(sees_eof(quiet1.get()));
  EXPECT_TRUE(sees_eof(quiet2.get()));
  // (quiet2's unfinished line is answered into a connection already shut down: the server's
  // handle_error may report that on stderr.)
  EXPECT_NE(srv.child.err().find("SIGINT received, server closed"), std::string::npos)
      << srv.child.err();
}

TEST(SampleThreadedServer, SigtermWithAQuietClientConnectedExitsZero) {
  Server srv("tsTservThreaded", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd quiet = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(quiet);
  ASSERT_TRUE(srv.child.wait_stdout(" being served]\n"));
  EXPECT_TRUE(stops_cleanly_within_bound(srv.child, SIGTERM));
  EXPECT_TRUE(sees_eof(quiet.get()));
  EXPECT_NE(srv.child.err().find("SIGTERM received"), std::string::npos) << srv.child.err();
}

TEST(SampleThreadedServer, TalksToPythonsSocketModule) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Server srv("tsTservThreaded", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child py({python3(), clients_py("ts_client_ss.py"), "ss", "127.0.0.1", std::to_string(srv.port),
            "hello", "hello"});
  ASSERT_EQ(py.exit_code(), 0) << py.err();
  auto lines = reply_lines(py.out());
  ASSERT_EQ(lines.size(), 2u) << py.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << l;
}

// ---- tsTservKeep and tsTclntKeep (exercise 2-16) --------------------------------------------

TEST(SampleKeepServer, AnswersEveryLineOfOneConnection) {
  Server srv("tsTservKeep", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n"));
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  const int client_port = local_port(c.get());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(send_all(c.get(), "hello\r\n"));
    const std::string reply = recv_reply(c.get(), "hello\r\n");
    EXPECT_TRUE(std::regex_match(reply, kHelloLineReply)) << i << ": '" << reply << "'";
  }
  ASSERT_TRUE(send_all(c.get(), "two\nlines\r\n"));  // two lines in one send: two replies
  const std::string two =
      recv_until(c.get(), [](const std::string& b) { return b.ends_with("] lines\r\n"); });
  EXPECT_TRUE(std::regex_match(two, std::regex(R"(\[[^\]]+\] two\n\[[^\]]+\] lines\r\n)"))) << two;
  ::shutdown(c.get(), SHUT_WR);  // the client is done: the server closes its side too
  EXPECT_TRUE(sees_eof(c.get()));
  ASSERT_TRUE(srv.child.wait_stdout("...disconnected: "));
  EXPECT_EQ(srv.child.out(), "waiting for connection...\n" + being_served(AF_INET, client_port, 1) +
                                 "...disconnected: ('127.0.0.1', " + std::to_string(client_port) +
                                 ")\n");
}

TEST(SampleKeepServer, ServesConversationsAtOnce) {
  Server srv("tsTservKeep", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd a = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(a);
  ASSERT_TRUE(srv.child.wait_stdout("[1 client being served]\n"));
  Fd b = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(b);
  ASSERT_TRUE(srv.child.wait_stdout("[2 clients being served]\n"));
  for (int i = 0; i < 2; ++i) {  // interleaved: b, a, b, a
    for (Fd* c : {&b, &a}) {
      ASSERT_TRUE(send_all(c->get(), "hello\r\n"));
      EXPECT_TRUE(std::regex_match(recv_reply(c->get(), "hello\r\n"), kHelloLineReply));
    }
  }
}

TEST(SampleKeepServer, CtrlCWithAQuietClientConnectedExitsZero) {
  Server srv("tsTservKeep", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "hello\r\n"));
  ASSERT_TRUE(std::regex_match(recv_reply(c.get(), "hello\r\n"), kHelloLineReply));
  // The handler now waits for this client's next line.
  EXPECT_TRUE(stops_cleanly_within_bound(srv.child, SIGINT));
  EXPECT_TRUE(sees_eof(c.get()));
  EXPECT_NE(srv.child.err().find("SIGINT received, server closed"), std::string::npos)
      << srv.child.err();
}

TEST(SampleKeepServer, SigtermWithAQuietClientConnectedExitsZero) {
  Server srv("tsTservKeep", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(srv.child.wait_stdout(" being served]\n"));
  EXPECT_TRUE(stops_cleanly_within_bound(srv.child, SIGTERM));
  EXPECT_TRUE(sees_eof(c.get()));
}

TEST(SampleKeepServer, TalksToPythonsSocketModule) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Server srv("tsTservKeep", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child py({python3(), clients_py("ts_client_ss.py"), "keep", "127.0.0.1", std::to_string(srv.port),
            "hello", "hello", "hello"});
  ASSERT_EQ(py.exit_code(), 0) << py.err();
  auto lines = reply_lines(py.out());
  ASSERT_EQ(lines.size(), 3u) << py.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << l;
  ASSERT_TRUE(srv.child.wait_stdout("...disconnected: "));
  EXPECT_EQ(count(srv.child.out(), "...connected from: "), 1u) << "one connection for all";
}

TEST(SampleKeepClient, RoundTripsWithTsTservKeepOnOneConnection) {
  Server srv("tsTservKeep", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntKeep", srv.port);
  for (std::size_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c.wait_stdout("> ", i));
    ASSERT_TRUE(c.write("hello\n"));
    ASSERT_TRUE(c.wait_stdout("] hello\n", i));
  }
  ASSERT_TRUE(c.write("\n"));
  EXPECT_EQ(c.exit_code(), 0);
  auto lines = reply_lines(c.out());
  ASSERT_EQ(lines.size(), 3u) << c.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << "'" << l << "'";
  EXPECT_TRUE(c.out().ends_with("\n> ")) << c.out();
  EXPECT_EQ(c.err(), "");
  ASSERT_TRUE(srv.child.wait_stdout("...disconnected: "));
  EXPECT_EQ(count(srv.child.out(), "...connected from: "), 1u) << srv.child.out();
}

TEST(SampleKeepClient, SendsEachLineWithCrLfOnTheSameConnection) {
  Fd listener = bound_socket(AF_INET, SOCK_STREAM, /*listening=*/true);
  ASSERT_TRUE(listener);
  Child c = start_client("tsTclntKeep", local_port(listener.get()));
  Fd conn = accept_one(listener.get());
  ASSERT_TRUE(conn);
  for (const char* word : {"one", "two"}) {
    ASSERT_TRUE(c.write(std::string(word) + "\n"));
    EXPECT_EQ(recv_until(conn.get(), [](const std::string& b) { return b.ends_with("\r\n"); }),
              std::string(word) + "\r\n");
    ASSERT_TRUE(send_all(conn.get(), "  got " + std::string(word) + "\r\n"));
  }
  ASSERT_TRUE(c.wait_stdout("got two\n"));
  EXPECT_FALSE(pending_connection(listener.get())) << "no second connection";
  c.close_stdin();
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_TRUE(sees_eof(conn.get()));
  EXPECT_EQ(c.out(), "> got one\n> got two\n> \n");
}

TEST(SampleKeepClient, ServerClosingEndsItWithZero) {
  Fd listener = bound_socket(AF_INET, SOCK_STREAM, /*listening=*/true);
  ASSERT_TRUE(listener);
  Child c = start_client("tsTclntKeep", local_port(listener.get()));
  Fd conn = accept_one(listener.get());
  ASSERT_TRUE(conn);
  ASSERT_TRUE(c.write("hello\n"));
  recv_until(conn.get(), [](const std::string& b) { return b.ends_with("\r\n"); });
  conn.reset();  // no reply: the server went away
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_EQ(c.err(), "");
}

TEST(SampleKeepClient, ConnectionRefusedIsOneLineNamingTheAddress) {
  Fd closed = bound_socket(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(closed);
  const int port = local_port(closed.get());
  Child c = start_client("tsTclntKeep", port);
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_EQ(c.err(),
            "tsTclntKeep: connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused\n");
}

TEST(SampleKeepClient, TalksToPythonsSocketServer) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Child py({python3(), clients_py("ts_server_ss.py"), "keep", "127.0.0.1", "1"});
  const int port = py.listening_port();
  ASSERT_GT(port, 0);
  Child c = start_client("tsTclntKeep", port);
  for (std::size_t i = 1; i <= 2; ++i) {
    ASSERT_TRUE(c.write("hello\n"));
    ASSERT_TRUE(c.wait_stdout("] hello\n", i));
  }
  ASSERT_TRUE(c.write("\n"));
  EXPECT_EQ(c.exit_code(), 0);
  auto lines = reply_lines(c.out());
  ASSERT_EQ(lines.size(), 2u) << c.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << l;
  EXPECT_EQ(py.exit_code(), 0) << py.err();
}

// ---- what every new server and client shares -----------------------------------------------

class EverySSServer : public ::testing::TestWithParam<const char*> {};

TEST_P(EverySSServer, PortInUseIsAOneLineErrorNamingThePort) {
  Fd taken = bound_socket(AF_INET, SOCK_STREAM, /*listening=*/true);
  ASSERT_TRUE(taken);
  const std::string port = std::to_string(local_port(taken.get()));
  Child child({sample(GetParam()), "--host", "127.0.0.1", "--port", port});
  EXPECT_EQ(child.exit_code(), 1);
  EXPECT_EQ(child.err(),
            std::string(GetParam()) + ": bind to 127.0.0.1:" + port + ": Address already in use\n");
  EXPECT_EQ(child.out(), "");
}

TEST_P(EverySSServer, ListensOnLocalhostByDefault) {
  Child child({sample(GetParam()), "--port", "0"});
  const int port = child.listening_port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(child.listening_line(), "listening on 127.0.0.1:" + std::to_string(port));
  Fd c = tcp_connect(AF_INET, port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "hello\r\n"));
  EXPECT_TRUE(std::regex_match(recv_reply(c.get(), "hello\r\n"), kHelloLineReply));
}

std::string param_name(const ::testing::TestParamInfo<const char*>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Sample, EverySSServer,
                         ::testing::Values("tsTservSS", "tsTservThreaded", "tsTservKeep"),
                         param_name);

class EverySSSample : public ::testing::TestWithParam<const char*> {};

TEST_P(EverySSSample, HelpExitsZeroAndStatesTheDefaults) {
  Child c({sample(GetParam()), "--help"});
  EXPECT_EQ(c.exit_code(), 0);
  const std::string name = GetParam();
  const bool server = name.find("serv") != std::string::npos;  // servers take --timeout too
  // tsTservSS and tsTclntSS have --tls too (test_samples_tls.cpp).
  const bool tls = name == "tsTservSS" || name == "tsTclntSS";
  const std::string tls_usage = !tls     ? ""
                                : server ? " [--tls] [--cert FILE [--key FILE]]"
                                         : " [--tls] [--cafile FILE | --insecure]";
  EXPECT_TRUE(c.out().starts_with("usage: " + name + " [--host HOST] [--port PORT]" +
                                  (server ? " [--timeout SECONDS]" : "") + tls_usage +
                                  (server ? " [--systemd]" : "") + "\n"))
      << c.out();
  for (const char* word : {"--host", "--port", "--help", "21567", "localhost"}) {
    EXPECT_NE(c.out().find(word), std::string::npos) << word << " in " << c.out();
  }
  if (name.find("serv") != std::string::npos) {
    EXPECT_NE(c.out().find("every interface"), std::string::npos) << c.out();
  }
  if (name == "tsTservThreaded" || name == "tsTservKeep") {
    EXPECT_NE(c.out().find("clients being served]"), std::string::npos) << c.out();
  }
  EXPECT_EQ(c.err(), "");
}

TEST_P(EverySSSample, BadPortIsAOneLineUsageError) {
  for (const char* bad : {"70000", "abc", "-1", ""}) {
    Child c({sample(GetParam()), "--port", bad});
    EXPECT_EQ(c.exit_code(), 2) << bad;
    EXPECT_NE(c.err().find("invalid --port '" + std::string(bad) + "'"), std::string::npos)
        << c.err();
    EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
    EXPECT_EQ(c.out(), "");
  }
}

TEST_P(EverySSSample, UnknownArgumentIsAUsageError) {
  Child c({sample(GetParam()), "--bogus"});
  EXPECT_EQ(c.exit_code(), 2);
  EXPECT_NE(c.err().find("--bogus"), std::string::npos) << c.err();
}

INSTANTIATE_TEST_SUITE_P(Sample, EverySSSample,
                         ::testing::Values("tsTservSS", "tsTclntSS", "tsTservThreaded",
                                           "tsTservKeep", "tsTclntKeep"),
                         param_name);

}  // namespace
