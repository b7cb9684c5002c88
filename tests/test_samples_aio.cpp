// test_samples_aio.cpp — the asyncio samples, run as the reader runs them: tsTservAIO /
// tsTclntAIO (Examples 2-1 and 2-2 on asyncio streams), wire-identical to tsTserv / tsTclnt.
//
// As in test_samples_tw.cpp (whose helpers, sample_util.hpp, this file shares): the programs run
// as children on --port 0, the tests talk to them over 127.0.0.1 with raw sockets, with the
// book's other programs and, when python3 is present, with Python's socket module. Every wait
// is bounded (kWait) and every child is killed and reaped when a test ends. What tsTservAIO
// shares with tsTservTW (a conversation, large and many clients, half-close, resets, signals,
// Python's client, the listening address) is tested for both in test_samples_tw.cpp.
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

TEST(SampleAioServer, TimeoutDisconnectsASilentClient) {
  Server srv("tsTservAIO", "127.0.0.1", {"--timeout", "0.2"});
  ASSERT_GT(srv.port, 0);
  Fd c = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(c);
  EXPECT_TRUE(sees_eof(c.get()));
  EXPECT_TRUE(srv.child.wait_stderr("sent nothing: disconnected")) << srv.child.err();
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
