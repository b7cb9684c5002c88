// test_samples_aio_chat.cpp — the asyncio chat server (chatservAIO: chatserv as one coroutine
// per user) and the gather client (gatherAIO), run as the reader runs them.
//
// As in test_samples_tw.cpp (whose chat user, chat_peer.hpp, this file shares): the programs
// run as children on --port 0, the tests talk to them over 127.0.0.1 with raw sockets and with
// the book's other programs. Every wait is bounded (kWait); every child is killed and reaped.
// The user who never reads is tested for chatservAIO with the other chat servers
// (EveryChatServer in test_samples_tw.cpp), the command line in test_samples.cpp.
#include "chat_peer.hpp"
#include "sample_util.hpp"
#include "test_util.hpp"

namespace {

using namespace sample_test;

Child start_client(const std::string& name, int port, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{sample(name), "--host", "127.0.0.1", "--port",
                                std::to_string(port)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Child(argv);
}

// ---- chatservAIO -----------------------------------------------------------------------------

TEST(SampleAioChat, TwoUsersInOneRoomSeeEachOthersLines) {
  Server srv("chatservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  EXPECT_TRUE(a->wait_line("* guest1 has joined #lobby"));
  auto b = join_chat(srv.port, "guest2");
  EXPECT_TRUE(a->wait_line("* guest2 has joined #lobby")) << a->all();
  ASSERT_TRUE(a->say("hello, b"));
  EXPECT_EQ(b->wait_line("hello, b"), "<guest1> hello, b");
  ASSERT_TRUE(b->say("hello, a\r"));  // telnet's "\r\n"
  EXPECT_EQ(a->wait_line("hello, a"), "<guest2> hello, a");
  EXPECT_EQ(a->all().find("<guest1>"), std::string::npos) << "no echo to the speaker";
  EXPECT_TRUE(srv.child.wait_stdout("guest2 connected from 127.0.0.1:"));
}

TEST(SampleAioChat, RoomsIsolate) {
  Server srv("chatservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  auto c = join_chat(srv.port, "guest3");
  auto d = join_chat(srv.port, "guest4");
  ASSERT_TRUE(c->say("/join #python"));
  ASSERT_TRUE(c->wait_line("* guest3 has joined #python"));
  EXPECT_TRUE(a->wait_line("* guest3 has left #lobby")) << a->all();
  ASSERT_TRUE(d->say("/join python"));
  ASSERT_TRUE(c->wait_line("* guest4 has joined #python"));
  ASSERT_TRUE(a->say("lobby secret"));
  ASSERT_TRUE(b->wait_line("<guest1> lobby secret"));
  ASSERT_TRUE(d->say("python marker"));
  ASSERT_TRUE(c->wait_line("<guest4> python marker"));
  ASSERT_TRUE(a->say("lobby marker"));
  ASSERT_TRUE(b->wait_line("<guest1> lobby marker"));
  EXPECT_EQ(c->all().find("lobby secret"), std::string::npos) << c->all();
  EXPECT_EQ(a->all().find("python marker"), std::string::npos) << a->all();
  EXPECT_EQ(b->all().find("python marker"), std::string::npos) << b->all();
  ASSERT_TRUE(c->say("/who"));
  EXPECT_EQ(c->wait_line("* in #"), "* in #python: guest3, guest4");
  ASSERT_TRUE(c->say("/rooms"));
  EXPECT_EQ(c->wait_line("* rooms: "), "* rooms: #lobby (2), #python (2)");
}

TEST(SampleAioChat, NickUnknownCommandAndQuit) {
  Server srv("chatservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  ASSERT_TRUE(a->say("/nick alice"));
  EXPECT_TRUE(b->wait_line("* guest1 is now known as alice")) << b->all();
  ASSERT_TRUE(b->say("/nick alice"));
  EXPECT_TRUE(b->wait_line("* the nick alice is taken"));
  ASSERT_TRUE(b->say("/frobnicate"));
  EXPECT_TRUE(b->wait_line("* unknown command /frobnicate"));
  ASSERT_TRUE(b->say("/quit"));
  EXPECT_TRUE(b->wait_line("* bye, guest2"));
  EXPECT_TRUE(b->sees_eof());
  EXPECT_TRUE(a->wait_line("* guest2 has left #lobby")) << a->all();
}

TEST(SampleAioChat, AResetUserLeavesAndTheOthersGoOn) {
  Server srv("chatservAIO", "127.0.0.1");
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

TEST(SampleAioChat, ALineTooLongIsAnErrorThenClose) {
  Server srv("chatservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  auto b = join_chat(srv.port, "guest2");
  ASSERT_TRUE(b->say(std::string(10000, 'x')));
  EXPECT_TRUE(b->wait_line("* line too long (at most 4096 bytes), bye")) << b->all().size();
  EXPECT_TRUE(b->sees_eof());
  EXPECT_TRUE(a->wait_line("* guest2 has left #lobby")) << a->all();
  EXPECT_EQ(a->all().find("xxxx"), std::string::npos) << "the long line is not passed on";
  auto c = join_chat(srv.port, "guest3");  // the server goes on
  ASSERT_TRUE(c->say("after"));
  EXPECT_TRUE(a->wait_line("<guest3> after"));
}

TEST(SampleAioChat, TimeoutLetsAQuietUserGo) {
  Server srv("chatservAIO", "127.0.0.1", {"--timeout", "0.3"});
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  EXPECT_TRUE(a->sees_eof());
  EXPECT_TRUE(srv.child.wait_stdout("guest1 left (")) << srv.child.out();
}

TEST(SampleAioChat, HelpExitsZeroAndNamesTheFlags) {
  Child c({sample("chatservAIO"), "--help"});
  EXPECT_EQ(c.exit_code(), 0);
  for (const char* flag : {"--host", "--port", "--timeout", "21567"}) {
    EXPECT_NE(c.out().find(flag), std::string::npos) << flag << ": " << c.out();
  }
}

TEST(SampleAioChat, ChatclntTalksToIt) {
  Server srv("chatservAIO", "127.0.0.1");
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

TEST(SampleAioChat, CtrlCWithUsersConnectedExitsZero) {
  Server srv("chatservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  EXPECT_TRUE(exited_zero_after(srv.child, SIGINT));
  EXPECT_NE(srv.child.err().find("SIGINT received"), std::string::npos) << srv.child.err();
  EXPECT_TRUE(a->sees_eof());
}

// ---- gatherAIO -------------------------------------------------------------------------------

TEST(SampleAioGather, PrintsBothRepliesInOrder) {
  Server srv("tsTservAIO", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  Child c = start_client("gatherAIO", srv.port);
  EXPECT_EQ(c.exit_code(), 0) << c.err();
  const std::vector<std::string> lines = reply_lines(c.out());
  ASSERT_EQ(lines.size(), 2u) << c.out();
  EXPECT_TRUE(std::regex_search(lines[0], kReplyPrefix) && lines[0].ends_with("] first"))
      << lines[0];
  EXPECT_TRUE(std::regex_search(lines[1], kReplyPrefix) && lines[1].ends_with("] second"))
      << lines[1];
  EXPECT_TRUE(srv.child.wait_stdout("...connected from: ", 2)) << "two connections at once";
}

TEST(SampleAioGather, TimeoutAgainstASilentServerIsOneLineAndNonZero) {
  Fd silent = bound_socket(AF_INET, SOCK_STREAM, /*listening=*/true);  // never accepts
  ASSERT_TRUE(silent);
  Child c = start_client("gatherAIO", local_port(silent.get()), {"--timeout", "0.3"});
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_NE(c.err().find("gatherAIO: wait_for: timed out after"), std::string::npos) << c.err();
  EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
  EXPECT_EQ(c.out(), "");
}

TEST(SampleAioGather, ConnectionRefusedIsOneLineAndNonZero) {
  Fd closed = bound_socket(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(closed);
  Child c = start_client("gatherAIO", local_port(closed.get()));
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_NE(c.err().find("Connection refused"), std::string::npos) << c.err();
  EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
}

}  // namespace
