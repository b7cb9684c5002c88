// test_samples_aio.cpp — the asyncio samples, run as the reader runs them: tsTservAIO /
// tsTclntAIO (Examples 2-1 and 2-2 on asyncio streams), wire-identical to tsTserv / tsTclnt.
//
// As in test_samples_tw.cpp (whose helpers, sample_util.hpp, this file shares): the programs run
// as children on --port 0, the tests talk to them over 127.0.0.1 with raw sockets, with the
// book's other programs and, when python3 is present, with Python's socket module. Every wait
// is bounded (kWait) and every child is killed and reaped when a test ends.
#include <algorithm>
#include <thread>

#include "sample_util.hpp"
#include "test_util.hpp"

namespace {

using namespace sample_test;

Child start_client(const std::string& name, int port) {
  return Child({sample(name), "--host", "127.0.0.1", "--port", std::to_string(port)});
}

// ---- tsTservAIO ------------------------------------------------------------------------------

TEST(SampleAioServer, ConsoleLinesAndReplyAreTheBooks) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n"));
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(srv.child.wait_stdout(connected_line(AF_INET, local_port(c.get()))));
  ASSERT_TRUE(send_all(c.get(), "hello"));
  const std::string reply = recv_reply(c.get(), "hello");
  EXPECT_TRUE(std::regex_match(reply, kHelloReply)) << "reply: '" << reply << "'";
}

TEST(SampleAioServer, AnswersEachMessageOfAConversation) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(send_all(c.get(), "hello"));
    const std::string reply = recv_reply(c.get(), "hello");
    EXPECT_TRUE(std::regex_match(reply, kHelloReply)) << "reply " << i << ": '" << reply << "'";
  }
}

TEST(SampleAioServer, EveryChunkIsAnsweredAndNothingIsLost) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  const std::string message(200000, 'x');
  std::thread sender([&] { send_all(c.get(), message); });
  const std::string got = recv_until(c.get(), [](const std::string& b) {
    return static_cast<std::size_t>(std::count(b.begin(), b.end(), 'x')) >= 200000;
  });
  sender.join();
  auto it = std::sregex_iterator(got.begin(), got.end(), kReplyPrefix);
  ASSERT_NE(it, std::sregex_iterator()) << got.substr(0, 100);
  EXPECT_EQ(it->position(), 0) << "the reply starts with the timestamp";
  EXPECT_EQ(std::regex_replace(got, kReplyPrefix, ""), message);
}

TEST(SampleAioServer, ServesManyClientsAtOnce) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  constexpr int kClients = 50;
  std::vector<Fd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(tcp_connect(AF_INET, srv.port));
    ASSERT_TRUE(clients.back()) << i;
  }
  for (int i = kClients - 1; i >= 0; --i) {  // the last connected is answered first
    const std::string msg = "hello " + std::to_string(i);
    ASSERT_TRUE(send_all(clients[i].get(), msg));
    EXPECT_TRUE(recv_reply(clients[i].get(), msg).ends_with("] " + msg));
  }
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ('127.0.0.1', ", kClients));
  EXPECT_EQ(count(srv.child.out(), "waiting for connection..."), 1u);
}

TEST(SampleAioServer, AnswersEverythingBeforeClosingAHalfClosedConnection) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "hello"));
  ASSERT_EQ(::shutdown(c.get(), SHUT_WR), 0);
  bool eof = false;
  const std::string got = recv_until(
      c.get(), [](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof) << "the server closes after answering";
  EXPECT_TRUE(std::regex_match(got, kHelloReply)) << got;
}

TEST(SampleAioServer, ClientsThatResetDoNotStopIt) {
  Server srv("tsTservAIO", "127.0.0.1");
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

TEST(SampleAioServer, TimeoutDisconnectsASilentClient) {
  Server srv("tsTservAIO", "127.0.0.1", {"--timeout", "0.2"});
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  EXPECT_TRUE(sees_eof(c.get()));
  EXPECT_TRUE(srv.child.wait_stderr("sent nothing: disconnected")) << srv.child.err();
}

TEST(SampleAioServer, CtrlCWithClientsConnectedExitsZero) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Fd a = tcp_connect(AF_INET, srv.port);
  Fd b = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: ", 2));
  EXPECT_TRUE(exited_zero_after(srv.child, SIGINT));
  EXPECT_NE(srv.child.err().find("SIGINT received"), std::string::npos) << srv.child.err();
  EXPECT_TRUE(sees_eof(a.get())) << "its connections are closed";
}

TEST(SampleAioServer, SigtermExitsZero) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n"));
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_NE(srv.child.err().find("SIGTERM received"), std::string::npos) << srv.child.err();
}

TEST(SampleAioServer, ThePortInUseIsOneLineAndNonZero) {
  Fd taken = bound_socket(AF_INET, SOCK_STREAM, true);
  ASSERT_TRUE(taken);
  Child c({sample("tsTservAIO"), "--host", "127.0.0.1", "--port",
           std::to_string(local_port(taken.get()))});
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_NE(c.err().find("tsTservAIO: bind to 127.0.0.1:"), std::string::npos) << c.err();
  EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
}

TEST(SampleAioServer, TheBooksClientTalksToIt) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclnt", srv.port);
  ASSERT_TRUE(c.write("hello\nhello\n\n"));
  EXPECT_EQ(c.exit_code(), 0);
  auto lines = reply_lines(c.out());
  ASSERT_EQ(lines.size(), 2u) << c.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << l;
}

TEST(SampleAioServer, TalksToPythonsSocketModule) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child py({python3(), std::string(SOCKETSERVER_TESTS_DIR) + "/clients/ts_client.py", "tcp",
            "127.0.0.1", std::to_string(srv.port), "hello", "hello"});
  ASSERT_EQ(py.exit_code(), 0) << py.err();
  auto lines = reply_lines(py.out());
  ASSERT_EQ(lines.size(), 2u) << py.out();
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, kHelloReply)) << l;
}

// ---- tsTclntAIO ------------------------------------------------------------------------------

void round_trip(const std::string& server_name) {
  Server srv(server_name, "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntAIO", srv.port);
  ASSERT_TRUE(c.wait_stdout("> "));
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n"));
  ASSERT_TRUE(c.wait_stdout("> ", 2));
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n", 2));
  ASSERT_TRUE(c.wait_stdout("> ", 3));
  ASSERT_TRUE(c.write("\n"));  // an empty line ends it
  EXPECT_EQ(c.exit_code(), 0);
  // The console of tsTclnt: "> [time] hello\n" twice, then the last prompt.
  const std::regex console(
      R"(^(> \[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\] hello\n){2}> $)");
  EXPECT_TRUE(std::regex_match(c.out(), console)) << c.out();
  EXPECT_EQ(c.err(), "");
}

TEST(SampleAioClient, RoundTripWithTsTservAIO) { round_trip("tsTservAIO"); }

TEST(SampleAioClient, RoundTripWithTheBooksServer) { round_trip("tsTserv"); }

TEST(SampleAioClient, EndOfInputExitsZero) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("tsTclntAIO", srv.port);
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(c.wait_stdout("] hello\n"));
  c.close_stdin();  // Ctrl-D
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_TRUE(c.out().ends_with("> \n")) << c.out();
  EXPECT_EQ(c.err(), "");
}

TEST(SampleAioClient, ConnectionRefusedIsOneLineAndNonZero) {
  Fd closed = bound_socket(AF_INET, SOCK_STREAM);  // bound, not listening: refused
  ASSERT_TRUE(closed);
  const int port = local_port(closed.get());
  Child c = start_client("tsTclntAIO", port);
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_NE(c.err().find("connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused"),
            std::string::npos)
      << c.err();
  EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
}

}  // namespace
