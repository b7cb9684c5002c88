// test_samples_tw.cpp — the reactor's samples, run as the reader runs them: tsTservTW /
// tsTclntTW (Examples 2-10, 2-11), chatserv + chatclnt (exercises 2-8 to 2-10 on the reactor)
// and selectchat (exercise 2-8 with a Selector only).
//
// As in test_samples.cpp (whose helpers, sample_util.hpp, this file shares): the programs run
// as children on --port 0, the tests talk to them over 127.0.0.1 with raw sockets and, when
// python3 is present, with Python's socket module (tests/clients/). Every wait is bounded
// (kWait) and every child is killed and reaped when a test ends, whatever happened.
#include <sys/resource.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "chat_peer.hpp"
#include "sample_util.hpp"
#include "test_util.hpp"

namespace {

using namespace sample_test;

std::string clients_py(const std::string& name) {
  return std::string(SOCKETSERVER_TESTS_DIR) + "/clients/" + name;
}

Child start_client(const std::string& name, int port) {
  return Child({sample(name), "--host", "127.0.0.1", "--port", std::to_string(port)});
}

// ---- tsTservTW (Example 2-10) --------------------------------------------------------------

TEST(SampleTwServer, ConsoleLinesAndReplyAreTheBooks) {
  Server srv("tsTservTW", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n"));
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  // The book prints transport.getPeer().host: the host alone, no port, no tuple.
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: 127.0.0.1\n"));
  ASSERT_TRUE(send_all(c.get(), "hello"));
  const std::string reply = recv_reply(c.get(), "hello");
  EXPECT_TRUE(std::regex_match(reply, kHelloReply)) << "reply: '" << reply << "'";
  c.reset();
  Fd d = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(d);
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: 127.0.0.1\n", 2));
  EXPECT_EQ(srv.child.out(),
            "waiting for connection...\n"
            "...connected from: 127.0.0.1\n"
            "...connected from: 127.0.0.1\n")
      << "'waiting for connection...' once, as the book's reactor version prints it";
}

// The timestamp servers that run on the reactor: tsTservTW (Example 2-10) and tsTservAIO
// (Example 2-1 as coroutines) answer the same bytes the same way; only their console line for
// a connection differs (Twisted's book version prints the host alone).
struct ReactorTimestampServerParam {
  const char* name;
  const char* connected;  // the console line for a connection from 127.0.0.1, as far as fixed
};
class ReactorTimestampServer : public ::testing::TestWithParam<ReactorTimestampServerParam> {};

TEST_P(ReactorTimestampServer, AnswersEachMessageOfAConversation) {
  Server srv(GetParam().name, "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(send_all(c.get(), "hello"));
    const std::string reply = recv_reply(c.get(), "hello");
    EXPECT_TRUE(std::regex_match(reply, kHelloReply)) << "reply " << i << ": '" << reply << "'";
  }
}

TEST_P(ReactorTimestampServer, EveryChunkIsAnsweredAndNothingIsLost) {
  Server srv(GetParam().name, "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  const std::string message(200000, 'x');  // several reads' worth
  std::thread sender([&] { send_all(c.get(), message); });
  const std::string got = recv_until(c.get(), [](const std::string& b) {
    return static_cast<std::size_t>(std::count(b.begin(), b.end(), 'x')) >= 200000;
  });
  sender.join();
  // got = "[time] xxx...[time] xxx...": each chunk behind its own timestamp.
  auto it = std::sregex_iterator(got.begin(), got.end(), kReplyPrefix);
  ASSERT_NE(it, std::sregex_iterator()) << got.substr(0, 100);
  EXPECT_EQ(it->position(), 0) << "the reply starts with the timestamp";
  std::string payload = std::regex_replace(got, kReplyPrefix, "");
  EXPECT_EQ(payload, message);
}

TEST_P(ReactorTimestampServer, ServesManyClientsAtOnce) {
  Server srv(GetParam().name, "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  constexpr int kClients = 50;
  std::vector<Fd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(tcp_connect(AF_INET, srv.port));
    ASSERT_TRUE(clients.back()) << i;
  }
  // All are connected at once; the last is answered first, then the others.
  for (int i = kClients - 1; i >= 0; --i) {
    const std::string msg = "hello " + std::to_string(i);
    ASSERT_TRUE(send_all(clients[i].get(), msg));
    const std::string reply = recv_reply(clients[i].get(), msg);
    EXPECT_TRUE(reply.ends_with("] " + msg)) << reply;
  }
  EXPECT_TRUE(srv.child.wait_stdout(GetParam().connected, kClients));
  EXPECT_EQ(count(srv.child.out(), "waiting for connection..."), 1u);
}

TEST_P(ReactorTimestampServer, AnswersEverythingBeforeClosingAHalfClosedConnection) {
  Server srv(GetParam().name, "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "hello"));
  ASSERT_EQ(::shutdown(c.get(), SHUT_WR), 0);  // the client says: no more from me
  bool eof = false;
  const std::string got = recv_until(
      c.get(), [](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof) << "the server closes after answering";
  EXPECT_TRUE(std::regex_match(got, kHelloReply)) << got;
}

TEST_P(ReactorTimestampServer, ClientsThatResetDoNotStopIt) {
  Server srv(GetParam().name, "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  for (int i = 0; i < 3; ++i) {
    Fd c = tcp_connect(AF_INET, srv.port);
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), "hello"));
    reset_close(c);
  }
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "hello"));
  EXPECT_TRUE(std::regex_match(recv_reply(c.get(), "hello"), kHelloReply));
}

TEST_P(ReactorTimestampServer, CtrlCWithClientsConnectedExitsZero) {
  if (kUnderTsan)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv(GetParam().name, "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd a = tcp_connect(AF_INET, srv.port);
  Fd b = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: ", 2));
  EXPECT_TRUE(exited_zero_after(srv.child, SIGINT));
  EXPECT_NE(srv.child.err().find("SIGINT received"), std::string::npos) << srv.child.err();
  EXPECT_TRUE(sees_eof(a.get())) << "its connections are closed";
}

TEST_P(ReactorTimestampServer, SigtermExitsZero) {
  if (kUnderTsan)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv(GetParam().name, "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n"));
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_NE(srv.child.err().find("SIGTERM received"), std::string::npos) << srv.child.err();
}

TEST_P(ReactorTimestampServer, TalksToPythonsSocketModule) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Server srv(GetParam().name, "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child py({python3(), clients_py("ts_client.py"), "tcp", "127.0.0.1", std::to_string(srv.port),
            "hello", "hello"});
  ASSERT_EQ(py.exit_code(), 0) << py.err();
  auto lines = reply_lines(py.out());
  ASSERT_EQ(lines.size(), 2u) << py.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << l;
}

INSTANTIATE_TEST_SUITE_P(
    Sample, ReactorTimestampServer,
    ::testing::Values(ReactorTimestampServerParam{"tsTservTW", "...connected from: 127.0.0.1\n"},
                      ReactorTimestampServerParam{"tsTservAIO",
                                                  "...connected from: ('127.0.0.1', "}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- tsTclntTW (Example 2-11) --------------------------------------------------------------

TEST(SampleTwClient, RoundTripWithTsTservTW) {
  Server srv("tsTservTW", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntTW", srv.port);
  ASSERT_TRUE(c.wait_stdout("> ")) << "the prompt, once connected, before any input";
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n"));
  ASSERT_TRUE(c.wait_stdout("> ", 2));
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n", 2));
  ASSERT_TRUE(c.wait_stdout("> ", 3));
  ASSERT_TRUE(c.write("\n"));  // an empty line: self.transport.loseConnection()
  EXPECT_EQ(c.exit_code(), 0);
  // "> ...sending hello...\n[time] hello\n" twice, then the last prompt.
  const std::regex console(
      R"(^(> \.\.\.sending hello\.\.\.\n\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] hello\n){2}> $)");
  EXPECT_TRUE(std::regex_match(c.out(), console)) << c.out();
  EXPECT_EQ(c.err(), "");
}

TEST(SampleTwClient, LinesTypedAheadAreSentInTurn) {
  Server srv("tsTservTW", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntTW", srv.port);
  ASSERT_TRUE(c.write("one\ntwo\n\n"));  // all at once, maybe before the connection is up
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_TRUE(
      std::regex_search(c.out(), std::regex(R"(\.\.\.sending one\.\.\.\n\[[^\]]+\] one\n)")))
      << c.out();
  EXPECT_TRUE(
      std::regex_search(c.out(), std::regex(R"(\.\.\.sending two\.\.\.\n\[[^\]]+\] two\n)")))
      << c.out();
  EXPECT_LT(c.out().find("sending one"), c.out().find("sending two")) << c.out();
}

TEST(SampleTwClient, EndOfInputExitsZero) {
  Server srv("tsTservTW", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntTW", srv.port);
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n"));
  c.close_stdin();  // Ctrl-D
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_TRUE(c.out().ends_with("> \n")) << c.out();
  EXPECT_EQ(c.err(), "");
}

TEST(SampleTwClient, EndOfInputAtOnceExitsZero) {
  Server srv("tsTservTW", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntTW", srv.port);
  c.close_stdin();
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_EQ(c.err(), "");
}

TEST(SampleTwClient, ConnectionRefusedIsOneLineAndNonZero) {
  Fd closed = bound_socket(AF_INET, SOCK_STREAM);  // bound, not listening: refused
  ASSERT_TRUE(closed);
  const int port = local_port(closed.get());
  Child c = start_client("tsTclntTW", port);
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_NE(c.err().find("connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused"),
            std::string::npos)
      << c.err();
  EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
}

TEST(SampleTwClient, EndsWhenTheServerCloses) {
  Fd listener = bound_socket(AF_INET, SOCK_STREAM, /*listening=*/true);
  ASSERT_TRUE(listener);
  Child c = start_client("tsTclntTW", local_port(listener.get()));
  pollfd p{listener.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kWait).count())), 1);
  Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn);
  ASSERT_TRUE(c.write("hello\n"));
  EXPECT_EQ(recv_until(conn.get(), [](const std::string& b) { return b.size() >= 5; }), "hello")
      << "the line is sent as the book sends it: no newline";
  conn.reset();  // the server closes instead of answering: clientConnectionLost -> stop
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_TRUE(c.out().ends_with("\n")) << "the pending prompt's line is ended: " << c.out();
}

// The keyboard is read through the reactor: while the client waits at its prompt, what the
// server sends is printed at once (a blocking input() would sit on it until Enter).
TEST(SampleTwClient, KeyboardDoesNotBlockTheReactor) {
  Fd listener = bound_socket(AF_INET, SOCK_STREAM, /*listening=*/true);
  ASSERT_TRUE(listener);
  Child c = start_client("tsTclntTW", local_port(listener.get()));
  pollfd p{listener.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kWait).count())), 1);
  Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn);
  ASSERT_TRUE(c.wait_stdout("> "));
  ASSERT_TRUE(send_all(conn.get(), "unasked"));
  EXPECT_TRUE(c.wait_stdout("unasked\n")) << "printed with no key pressed";
  ASSERT_TRUE(c.write("\n"));
  EXPECT_EQ(c.exit_code(), 0);
}

TEST(SampleTwClient, TalksToTheBooksPlainServer) {
  Server srv("tsTserv", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntTW", srv.port);
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n"));
  ASSERT_TRUE(c.write("\n"));
  EXPECT_EQ(c.exit_code(), 0);
}

TEST(SampleTwClient, TalksToTheBooksPythonServer) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Child py({python3(), clients_py("ts_server.py"), "127.0.0.1"});
  const int port = py.listening_port();
  ASSERT_GT(port, 0);
  Child c = start_client("tsTclntTW", port);
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n"));
  ASSERT_TRUE(c.write("\n"));
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_EQ(py.exit_code(), 0);
}

// ---- chatserv (exercises 2-8 to 2-10, on the reactor) --------------------------------------

// chatserv and chatservAIO: one chat (samples/chat.hpp), the same bytes on the wire.
class ChatServer : public ::testing::TestWithParam<const char*> {};

TEST_P(ChatServer, NewUsersAreGuestsInTheLobby) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  EXPECT_TRUE(a->wait_line("* guest1 has joined #lobby"));
  auto b = join_chat(srv.port, "guest2");
  EXPECT_TRUE(a->wait_line("* guest2 has joined #lobby")) << a->all();
  EXPECT_TRUE(srv.child.wait_stdout("guest2 connected from 127.0.0.1:"));
}

TEST_P(ChatServer, TwoUsersInOneRoomSeeEachOthersLines) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  ASSERT_TRUE(a->say("hello, b"));
  EXPECT_EQ(b->wait_line("hello, b"), "<guest1> hello, b");
  ASSERT_TRUE(b->say("hello, a\r"));  // telnet's "\r\n"
  EXPECT_EQ(a->wait_line("hello, a"), "<guest2> hello, a");
  EXPECT_EQ(a->all().find("<guest1>"), std::string::npos) << "no echo to the speaker";
}

TEST_P(ChatServer, AUserInAnotherRoomDoesNotSee) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  auto c = join_chat(srv.port, "guest3");
  auto d = join_chat(srv.port, "guest4");
  ASSERT_TRUE(c->say("/join #python"));
  ASSERT_TRUE(c->wait_line("* guest3 has joined #python"));
  EXPECT_TRUE(a->wait_line("* guest3 has left #lobby")) << a->all();
  ASSERT_TRUE(d->say("/join python"));  // the '#' is optional
  ASSERT_TRUE(c->wait_line("* guest4 has joined #python"));

  ASSERT_TRUE(a->say("lobby secret"));
  ASSERT_TRUE(b->wait_line("<guest1> lobby secret"));  // the server has passed it on
  ASSERT_TRUE(d->say("python marker"));
  ASSERT_TRUE(c->wait_line("<guest4> python marker"));
  EXPECT_EQ(c->all().find("lobby secret"), std::string::npos) << c->all();
  EXPECT_EQ(b->all().find("python marker"), std::string::npos) << b->all();
}

TEST_P(ChatServer, NickIsAnnouncedAndMustBeUnique) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  ASSERT_TRUE(a->say("/nick alice"));
  EXPECT_TRUE(a->wait_line("* guest1 is now known as alice"));
  EXPECT_TRUE(b->wait_line("* guest1 is now known as alice"));
  ASSERT_TRUE(b->say("/nick alice"));
  EXPECT_TRUE(b->wait_line("* the nick alice is taken"));
  ASSERT_TRUE(b->say("/nick not a nick"));
  EXPECT_TRUE(b->wait_line("* usage: /nick NAME"));
  ASSERT_TRUE(a->say("hi"));
  EXPECT_EQ(b->wait_line("hi"), "<alice> hi");
}

TEST_P(ChatServer, WhoAndRooms) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  auto c = join_chat(srv.port, "guest3");
  ASSERT_TRUE(b->say("/nick bob"));
  ASSERT_TRUE(b->wait_line("is now known as bob"));
  ASSERT_TRUE(c->say("/join games"));
  ASSERT_TRUE(c->wait_line("* guest3 has joined #games"));
  ASSERT_TRUE(a->say("/who"));
  EXPECT_EQ(a->wait_line("* in #"), "* in #lobby: bob, guest1");
  ASSERT_TRUE(c->say("/who"));
  EXPECT_EQ(c->wait_line("* in #"), "* in #games: guest3");
  ASSERT_TRUE(a->say("/rooms"));
  EXPECT_EQ(a->wait_line("* rooms:"), "* rooms: #games (1), #lobby (2)");
  ASSERT_TRUE(c->say("/join lobby"));
  ASSERT_TRUE(c->wait_line("* guest3 has joined #lobby"));
  ASSERT_TRUE(a->say("/rooms"));
  EXPECT_EQ(a->wait_line("* rooms:"), "* rooms: #lobby (3)") << "an empty room is gone";
  ASSERT_TRUE(a->say("/join lobby"));
  EXPECT_TRUE(a->wait_line("* you are already in #lobby"));
}

TEST_P(ChatServer, LeavingIsAnnounced) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  auto c = join_chat(srv.port, "guest3");
  ASSERT_TRUE(b->say("/quit"));
  EXPECT_TRUE(b->wait_line("* bye, guest2"));
  EXPECT_TRUE(b->sees_eof());
  EXPECT_TRUE(a->wait_line("* guest2 has left #lobby"));
  c.reset();  // gone without a word
  EXPECT_TRUE(a->wait_line("* guest3 has left #lobby"));
  EXPECT_TRUE(srv.child.wait_stdout("guest3 left"));
}

TEST_P(ChatServer, UnknownCommand) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  ASSERT_TRUE(a->say("/frobnicate now"));
  EXPECT_TRUE(a->wait_line("* unknown command /frobnicate"));
  ASSERT_TRUE(a->say("/who"));
  EXPECT_TRUE(a->wait_line("* in #lobby: guest1")) << "still connected";
}

TEST_P(ChatServer, ALineTooLongIsAnErrorThenClose) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  ASSERT_TRUE(a->say(std::string(5000, 'x')));
  EXPECT_TRUE(a->wait_line("* line too long"));
  EXPECT_TRUE(a->sees_eof());
  EXPECT_TRUE(b->wait_line("* guest1 has left #lobby"));
  EXPECT_EQ(b->all().find("xxxx"), std::string::npos);
}

TEST_P(ChatServer, ManyUsersHearOne) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  constexpr int kUsers = 30;
  std::vector<std::unique_ptr<Peer>> users;
  for (int i = 1; i <= kUsers; ++i)
    users.push_back(join_chat(srv.port, "guest" + std::to_string(i)));
  ASSERT_TRUE(users[0]->say("all hear this"));
  for (int i = 1; i < kUsers; ++i) {
    EXPECT_EQ(users[i]->wait_line("all hear this"), "<guest1> all hear this") << i;
  }
}

// utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  long long ticks = 0;
  for (int i = 0; i < 13 && rest >> field; ++i) {
    if (i == 11 || i == 12) ticks += std::stoll(field);
  }
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Issue 9, item 9: each join was told to every member at once, so n joins cost n*n writes
// (5,000 joins: 50 s of the server's CPU, an existing member waited 13 s for a line). Joins are
// now announced in batches. 2,000 users join without reading (a slow room); the server's CPU
// stays far below what the square costs (measured: 13 s before, 0.2 s after, on 2 loaded
// cores), and a member who was there first still hears a line said after them.
TEST_P(ChatServer, TwoThousandJoinsCostLittleAndAMemberStillHears) {
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  constexpr rlim_t kWanted = 4500;  // the test's 2,000 ends, the server's 2,000, and spare
  if (lim.rlim_cur < kWanted) {
    if (lim.rlim_max < kWanted) GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << lim.rlim_max;
    lim.rlim_cur = kWanted;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);  // the server inherits it
  }
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto alice = join_chat(srv.port, "guest1");
  const double cpu_before = cpu_seconds(srv.child.pid());
  constexpr int kJoins = 2000;
  std::vector<Fd> crowd;
  crowd.reserve(kJoins);
  for (int i = 0; i < kJoins; ++i) {
    crowd.push_back(tcp_connect(AF_INET, srv.port));
    ASSERT_TRUE(crowd.back()) << "connection " << i;
    // Its console is a pipe we read: keep reading it, or the server blocks on a full pipe.
    if (i % 100 == 99) {
      ASSERT_TRUE(srv.child.wait_stdout(" connected from ", i + 2));
    }
  }
  auto bob = join_chat(srv.port, "guest" + std::to_string(kJoins + 2));
  // Every join is in: the room counts them all (bounded: 200 asks within kWait each).
  const std::string full = "#lobby (" + std::to_string(kJoins + 2) + ")";
  bool all_in = false;
  for (int i = 0; i < 200 && !all_in; ++i) {
    ASSERT_TRUE(alice->say("/rooms"));
    auto line = alice->wait_line("* rooms: ");
    ASSERT_TRUE(line) << "no answer to /rooms";
    all_in = line->find(full) != std::string::npos;
  }
  ASSERT_TRUE(all_in) << "not every join arrived";
  ASSERT_TRUE(bob->say("still here"));
  EXPECT_TRUE(alice->wait_line("> still here")) << "the first member no longer hears";
  const double cpu = cpu_seconds(srv.child.pid()) - cpu_before;
  EXPECT_LT(cpu, 5.0) << "the server spent " << cpu << " s of CPU on " << kJoins << " joins";
  // Leaving with 2,000 users costs little too (chatservAIO told each departure to the room:
  // 10 s under ASan). Not under TSan, which may never run the handler (sample_util.hpp).
  if (!kUnderTsan) {
    EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  }
}

TEST_P(ChatServer, CtrlCWithUsersConnectedExitsZero) {
  if (kUnderTsan)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  EXPECT_TRUE(exited_zero_after(srv.child, SIGINT));
  EXPECT_NE(srv.child.err().find("SIGINT received"), std::string::npos) << srv.child.err();
  EXPECT_TRUE(a->sees_eof());
}

TEST_P(ChatServer, SigtermExitsZero) {
  if (kUnderTsan)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
}

TEST_P(ChatServer, TalksToPythonsSocketModule) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  Child py({python3(), clients_py("chat_client.py"), "127.0.0.1", std::to_string(srv.port),
            "/nick py", "hello from python", "/who", "/quit"});
  EXPECT_EQ(py.exit_code(), 0) << py.err();
  EXPECT_NE(py.out().find("* welcome, guest2!"), std::string::npos) << py.out();
  EXPECT_NE(py.out().find("* guest2 is now known as py\n"), std::string::npos) << py.out();
  EXPECT_NE(py.out().find("* in #lobby: guest1, py\n"), std::string::npos) << py.out();
  EXPECT_TRUE(py.out().ends_with("* bye, py\n")) << py.out();
  EXPECT_TRUE(a->wait_line("<py> hello from python"));
  EXPECT_TRUE(a->wait_line("* py has left #lobby"));
}

TEST_P(ChatServer, AResetUserLeavesAndTheOthersGoOn) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  {
    Peer c(srv.port);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c.wait_line("* welcome, guest3!"));
    ASSERT_TRUE(a->wait_line("guest3")) << a->all();  // "* ... guest3 ha... joined #lobby"
    Fd fd(::dup(c.fd()));
    ASSERT_TRUE(c.say("half a line"));
    reset_close(fd);
  }
  EXPECT_TRUE(a->wait_line("* guest3 has left #lobby")) << a->all();
  EXPECT_TRUE(srv.child.wait_stdout("guest3 left (")) << srv.child.out();
  ASSERT_TRUE(a->say("still here"));
  EXPECT_TRUE(b->wait_line("<guest1> still here"));
}

INSTANTIATE_TEST_SUITE_P(Sample, ChatServer, ::testing::Values("chatserv", "chatservAIO"),
                         [](const auto& info) { return std::string(info.param); });

// ---- chatclnt ------------------------------------------------------------------------------

TEST(SampleChatClient, TwoClientsTalkAndReceiveWhileIdle) {
  Server srv("chatserv", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child alice = start_client("chatclnt", srv.port);
  ASSERT_TRUE(alice.wait_stdout("* welcome, guest1!"));
  Child bob = start_client("chatclnt", srv.port);
  ASSERT_TRUE(bob.wait_stdout("* welcome, guest2!"));
  // Joins are told in batches: bob's may come alone or with alice's own ("guest1 and guest2").
  ASSERT_TRUE(alice.wait_until([&] {
    return alice.out().find(" guest2 has joined #lobby\n") != std::string::npos ||
           alice.out().find(" and guest2 have joined #lobby\n") != std::string::npos;
  })) << "alice hears while idle";
  ASSERT_TRUE(alice.write("/nick alice\n"));
  ASSERT_TRUE(bob.wait_stdout("* guest1 is now known as alice\n"));
  ASSERT_TRUE(alice.write("hi bob\n"));
  // bob has typed nothing since he started: the line arrives anyway (full duplex).
  ASSERT_TRUE(bob.wait_stdout("<alice> hi bob\n"));
  ASSERT_TRUE(bob.write("hi alice\n"));
  ASSERT_TRUE(alice.wait_stdout("<guest2> hi alice\n"));
  ASSERT_TRUE(bob.write("/quit\n"));
  EXPECT_EQ(bob.exit_code(), 0);
  EXPECT_NE(bob.out().find("* bye, guest2\n"), std::string::npos) << bob.out();
  ASSERT_TRUE(alice.wait_stdout("* guest2 has left #lobby\n"));
  alice.close_stdin();  // Ctrl-D
  EXPECT_EQ(alice.exit_code(), 0);
  EXPECT_EQ(alice.out().find("<alice>"), std::string::npos) << "no echo of one's own lines";
}

TEST(SampleChatClient, LinesTypedAtOnceAreAllSent) {
  Server srv("chatserv", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto watcher = join_chat(srv.port, "guest1");
  Child c = start_client("chatclnt", srv.port);
  ASSERT_TRUE(c.write("/nick carol\none\ntwo\n/quit\n"));  // maybe before it is connected
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_TRUE(watcher->wait_line("<carol> one"));
  EXPECT_TRUE(watcher->wait_line("<carol> two"));
}

// Everything typed, then the end of input at once (a pipe): the answers still come and are
// printed before the client ends (it half-closes; the server answers, then closes).
TEST(SampleChatClient, EndOfInputAfterLinesStillPrintsTheAnswers) {
  for (const char* server : {"chatserv", "selectchat"}) {
    SCOPED_TRACE(server);
    Server srv(server, "127.0.0.1");
    ASSERT_GT(srv.port, 0);
    Child c = start_client("chatclnt", srv.port);
    ASSERT_TRUE(c.write("/nick zed\n/who"));  // the last line without its newline
    c.close_stdin();
    EXPECT_EQ(c.exit_code(), 0);
    EXPECT_NE(c.out().find("* guest1 is now known as zed\n"), std::string::npos) << c.out();
    EXPECT_TRUE(c.out().find("* in #lobby: zed\n") != std::string::npos ||
                c.out().find("* here: zed\n") != std::string::npos)
        << c.out();
    EXPECT_TRUE(srv.child.wait_stdout("zed left")) << "and the server saw it leave";
  }
}

TEST(SampleChatClient, EndsWhenTheServerStops) {
  if (kUnderTsan)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv("chatserv", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("chatclnt", srv.port);
  ASSERT_TRUE(c.wait_stdout("* welcome"));
  EXPECT_TRUE(exited_zero_after(srv.child, SIGINT));
  EXPECT_EQ(c.exit_code(), 0);
}

TEST(SampleChatClient, ConnectionRefusedIsOneLineAndNonZero) {
  Fd closed = bound_socket(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(closed);
  const int port = local_port(closed.get());
  Child c = start_client("chatclnt", port);
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_NE(c.err().find("connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused"),
            std::string::npos)
      << c.err();
  EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
}

TEST(SampleChatClient, TalksToSelectchat) {
  Server srv("selectchat", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto watcher = join_chat(srv.port, "guest1");
  Child c = start_client("chatclnt", srv.port);
  ASSERT_TRUE(c.wait_stdout("* welcome, guest2!"));
  ASSERT_TRUE(watcher->say("hello client"));
  ASSERT_TRUE(c.wait_stdout("<guest1> hello client\n"));
  ASSERT_TRUE(c.write("hello watcher\n/quit\n"));
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_TRUE(watcher->wait_line("<guest2> hello watcher"));
}

// ---- selectchat (exercise 2-8 with a Selector only) ----------------------------------------

TEST(SampleSelectChat, BroadcastsToEveryoneElse) {
  Server srv("selectchat", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  auto c = join_chat(srv.port, "guest3");
  EXPECT_TRUE(a->wait_line("* guest3 has joined"));
  ASSERT_TRUE(a->say("hello all"));
  EXPECT_EQ(b->wait_line("hello all"), "<guest1> hello all");
  EXPECT_EQ(c->wait_line("hello all"), "<guest1> hello all");
  ASSERT_TRUE(b->say("hi\r"));
  EXPECT_EQ(a->wait_line("<guest2>"), "<guest2> hi");
  EXPECT_EQ(a->all().find("<guest1>"), std::string::npos) << "no echo to the speaker";
}

TEST(SampleSelectChat, NickWhoQuitAndUnknown) {
  Server srv("selectchat", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  ASSERT_TRUE(a->say("/nick alice"));
  EXPECT_TRUE(b->wait_line("* guest1 is now known as alice"));
  ASSERT_TRUE(b->say("/nick alice"));
  EXPECT_TRUE(b->wait_line("* the nick alice is taken"));
  ASSERT_TRUE(b->say("/who"));
  EXPECT_EQ(b->wait_line("* here:"), "* here: alice, guest2");
  ASSERT_TRUE(b->say("/bogus"));
  EXPECT_TRUE(b->wait_line("* unknown command /bogus"));
  ASSERT_TRUE(b->say("/quit"));
  EXPECT_TRUE(b->wait_line("* bye, guest2"));
  EXPECT_TRUE(b->sees_eof());
  EXPECT_TRUE(a->wait_line("* guest2 has left"));
}

TEST(SampleSelectChat, ALineInPiecesIsOneLine) {
  Server srv("selectchat", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  ASSERT_TRUE(send_all(a->fd(), "hel"));
  // Two reads on the server's side: "hel" has reached the server (acknowledged) and its socket
  // holds nothing unread any more before the rest is sent.
  const int client_port = local_port(a->fd());
  ASSERT_TRUE(testutil::wait_until([&] {
    return testutil::bytes_unacked(a->fd()) == 0 && tcp_rx_queue(srv.port, client_port) == 0;
  })) << "the server did not read the first piece";
  ASSERT_TRUE(send_all(a->fd(), "lo there\n"));
  EXPECT_EQ(b->wait_line("<guest1>"), "<guest1> hello there");
}

TEST(SampleSelectChat, ManyUsersAndAReaderThatNeverReadsDelaysNobody) {
  Server srv("selectchat", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto sleeper = join_chat(srv.port, "guest1");  // never reads again
  constexpr int kUsers = 20;
  std::vector<std::unique_ptr<Peer>> users;
  for (int i = 2; i <= kUsers + 1; ++i)
    users.push_back(join_chat(srv.port, "guest" + std::to_string(i)));
  // 400 KB of chat from one user, while guest1 reads nothing.
  const std::string filler(1000, 'f');
  std::thread talker([&] {
    for (int i = 0; i < 400; ++i) {
      if (!users[0]->say(std::to_string(i) + " " + filler)) return;
    }
    users[0]->say("the end");
  });
  for (int i = 1; i < kUsers; ++i) {
    EXPECT_EQ(users[i]->wait_line("the end"), "<guest2> the end") << i;
  }
  talker.join();
  EXPECT_EQ(count(users[1]->all(), "<guest2> "), 401u);
}

TEST(SampleSelectChat, ALineTooLongIsAnErrorThenClose) {
  Server srv("selectchat", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  ASSERT_TRUE(send_all(a->fd(), std::string(10000, 'x')));  // no newline at all
  EXPECT_TRUE(a->wait_line("* line too long"));
  EXPECT_TRUE(a->sees_eof());
}

TEST(SampleSelectChat, CtrlCWithUsersConnectedExitsZero) {
  if (kUnderTsan)  // single-threaded, waiting in select: as tsTservSS (sample_util.hpp)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv("selectchat", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  EXPECT_TRUE(exited_zero_after(srv.child, SIGINT));
  EXPECT_NE(srv.child.err().find("SIGINT received"), std::string::npos) << srv.child.err();
  EXPECT_TRUE(a->sees_eof());
}

TEST(SampleSelectChat, SigtermExitsZero) {
  if (kUnderTsan)  // single-threaded, waiting in select: as tsTservSS (sample_util.hpp)
    GTEST_SKIP() << "TSan may never run this server's signal handler (sample_util.hpp)";
  Server srv("selectchat", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stdout("waiting for users...\n"));
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_NE(srv.child.err().find("SIGTERM received"), std::string::npos) << srv.child.err();
}

TEST(SampleSelectChat, TalksToPythonsSocketModule) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Server srv("selectchat", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  Child py({python3(), clients_py("chat_client.py"), "127.0.0.1", std::to_string(srv.port),
            "/nick py", "hello from python", "/quit"});
  EXPECT_EQ(py.exit_code(), 0) << py.err();
  EXPECT_TRUE(py.out().ends_with("* bye, py\n")) << py.out();
  EXPECT_TRUE(a->wait_line("<py> hello from python"));
}

// ---- both chat servers: a user who never reads --------------------------------------------

class EveryChatServer : public ::testing::TestWithParam<const char*> {};

// A user who stops reading while the others talk on is let go: the server does not keep what
// it cannot deliver (its memory stays bounded), and the others get every line meanwhile.
TEST_P(EveryChatServer, AUserWhoNeverReadsIsLetGoAndDelaysNobody) {
  Server srv(GetParam(), "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  // guest1: a small receive buffer, so that what the server sends it piles up on the server.
  Fd sleeper(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(sleeper);
  const int small = 4096;
  ::setsockopt(sleeper.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  auto [addr, len] = loopback(AF_INET, srv.port);
  ASSERT_EQ(::connect(sleeper.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_TRUE(srv.child.wait_stdout("guest1 connected from"));
  auto talker = join_chat(srv.port, "guest2");
  auto listener = join_chat(srv.port, "guest3");

  // 8 MB, more than the kernel's buffers and the server's limit, in batches of 100 lines: the
  // listener reads each batch before the next is sent (it keeps up, the sleeper does not).
  const std::string filler(1000, 'f');
  for (int batch = 0; batch < 80; ++batch) {
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(talker->say(std::to_string(batch) + "." + std::to_string(i) + " " + filler));
    }
    const std::string last = "<guest2> " + std::to_string(batch) + ".99 ";
    ASSERT_TRUE(listener->wait_line(last)) << "batch " << batch;
  }
  // "guest1 connected from ...", then "guest1 does not read: ..." / "guest1 dropped: ...".
  EXPECT_TRUE(srv.child.wait_stdout("guest1 ", 2)) << "the server lets the sleeper go";
  ASSERT_TRUE(listener->say("/who"));
  const auto who = listener->wait_line(": ");  // "* in #lobby: ..." or "* here: ..."
  ASSERT_TRUE(who);
  EXPECT_EQ(who->find("guest1"), std::string::npos) << *who;
  EXPECT_NE(listener->all().find("* guest1 has left"), std::string::npos);
  EXPECT_EQ(count(listener->all(), "<guest2> "), 8000u);
}

INSTANTIATE_TEST_SUITE_P(Sample, EveryChatServer,
                         ::testing::Values("chatserv", "selectchat", "chatservAIO"),
                         [](const auto& info) { return std::string(info.param); });

// ---- the command line of every one of them -------------------------------------------------

class EveryTwSample : public ::testing::TestWithParam<const char*> {
 protected:
  [[nodiscard]] bool server() const {
    const std::string_view n = GetParam();
    return n == "tsTservTW" || n == "chatserv" || n == "selectchat";
  }
};

TEST_P(EveryTwSample, HelpExitsZeroAndStatesTheDefaults) {
  Child c({sample(GetParam()), "--help"});
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_NE(c.out().find("--port"), std::string::npos) << c.out();
  EXPECT_NE(c.out().find("--host"), std::string::npos) << c.out();
  EXPECT_NE(c.out().find("21567"), std::string::npos) << c.out();
  EXPECT_NE(c.out().find("localhost"), std::string::npos) << c.out();
  if (server()) {
    EXPECT_NE(c.out().find("every interface"), std::string::npos) << c.out();
  }
  EXPECT_EQ(c.err(), "");
}

TEST_P(EveryTwSample, BadPortIsAOneLineUsageError) {
  for (const char* bad : {"70000", "abc", "-1"}) {
    Child c({sample(GetParam()), "--port", bad});
    EXPECT_EQ(c.exit_code(), 2) << bad;
    EXPECT_NE(c.err().find(std::string("--port '") + bad + "'"), std::string::npos) << c.err();
    EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
    EXPECT_EQ(c.out(), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Sample, EveryTwSample,
                         ::testing::Values("tsTservTW", "tsTclntTW", "chatserv", "chatclnt",
                                           "selectchat"),
                         [](const auto& info) { return std::string(info.param); });

// ---- the servers' listening address --------------------------------------------------------

class EveryTwServer : public ::testing::TestWithParam<const char*> {};

TEST_P(EveryTwServer, PortInUseIsAOneLineError) {
  Fd taken = bound_socket(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(taken);
  const std::string port = std::to_string(local_port(taken.get()));
  Child c({sample(GetParam()), "--host", "127.0.0.1", "--port", port});
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_NE(c.err().find("Address already in use"), std::string::npos) << c.err();
  EXPECT_NE(c.err().find("127.0.0.1:" + port), std::string::npos) << c.err();
  EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
}

TEST_P(EveryTwServer, ListensOnLocalhostByDefault) {
  Child child({sample(GetParam()), "--port", "0"});
  const int port = child.listening_port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(child.listening_line(), "listening on 127.0.0.1:" + std::to_string(port));
}

TEST_P(EveryTwServer, EmptyHostListensOnEveryInterface) {
  Child child({sample(GetParam()), "--host", "", "--port", "0"});
  const int port = child.listening_port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(child.listening_line(), "listening on 0.0.0.0:" + std::to_string(port));
  Fd c = tcp_connect(AF_INET, port);  // reachable on the loopback interface too
  EXPECT_TRUE(c);
}

INSTANTIATE_TEST_SUITE_P(Sample, EveryTwServer,
                         ::testing::Values("tsTservTW", "chatserv", "selectchat", "tsTservAIO",
                                           "chatservAIO"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
