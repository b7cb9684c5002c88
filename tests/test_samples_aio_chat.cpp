// test_samples_aio_chat.cpp — the asyncio chat server (chatservAIO: chatserv as one coroutine
// per user) and the gather client (gatherAIO), run as the reader runs them.
//
// As in test_samples_tw.cpp (whose chat user, chat_peer.hpp, this file shares): the programs
// run as children on --port 0, the tests talk to them over 127.0.0.1 with raw sockets and with
// the book's other programs. Every wait is bounded (kWait); every child is killed and reaped.
// The user who never reads is tested for chatservAIO with the other chat servers
// (EveryChatServer in test_samples_tw.cpp), its protocol with chatserv's (ChatServer there),
// the command line in test_samples.cpp. The chat the servers share (samples/chat.hpp) is also
// driven here without a network, to see which bytes reach whom.
#include "../samples/chat.hpp"
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

TEST(SampleAioChat, TimeoutLetsAQuietUserGo) {
  Server srv("chatservAIO", "127.0.0.1", {"--timeout", "0.3"});
  ASSERT_GT(srv.port, 0);
  auto a = join_chat(srv.port, "guest1");
  EXPECT_TRUE(a->sees_eof());
  EXPECT_TRUE(srv.child.wait_stdout("guest1 left (")) << srv.child.out();
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

// ---- the chat's broadcast (samples/chat.hpp, no network) ------------------------------------

// A user who keeps what the chat sends them and where those bytes were.
struct Recorder final : samples::ChatMember {
  std::vector<std::string> lines;
  std::vector<const char*> buffers;
  bool send(std::string_view line_nl) override {
    lines.emplace_back(line_nl);
    buffers.push_back(line_nl.data());
    return true;
  }
  void quit() override {}
  void forget() {
    lines.clear();
    buffers.clear();
  }
};

// What one user says is built once, "\n" and all, and every listener is sent those same bytes
// (chatservAIO wrote line + "\n" per listener: 2,000 users, 2,000 copies of each line).
TEST(ChatRooms, WhatIsSaidIsBuiltOnceAndEveryListenerGetsTheSameBytes) {
  socketserver::Reactor reactor;  // not run: the batched join announcements never go out
  samples::ChatRooms chat(reactor);
  Recorder speaker;
  Recorder a;
  Recorder b;
  Recorder c;
  for (Recorder* u : {&speaker, &a, &b, &c}) chat.arrive(*u);
  ASSERT_EQ(speaker.lines.size(), 1u);
  EXPECT_EQ(speaker.lines[0],
            "* welcome, guest1! commands: /nick NAME, /join ROOM, /who, /rooms, /quit\n");
  for (Recorder* u : {&speaker, &a, &b, &c}) u->forget();

  chat.command(speaker, "hello room\r");
  EXPECT_TRUE(speaker.lines.empty());  // not told to the speaker
  for (Recorder* u : {&a, &b, &c}) {
    ASSERT_EQ(u->lines.size(), 1u);
    EXPECT_EQ(u->lines[0], "<guest1> hello room\n");
  }
  EXPECT_EQ(a.buffers[0], b.buffers[0]) << "a copy per listener";
  EXPECT_EQ(b.buffers[0], c.buffers[0]) << "a copy per listener";

  // A line for one user alone comes with its "\n" as well.
  chat.command(a, "/rooms");
  ASSERT_EQ(a.lines.size(), 2u);
  EXPECT_EQ(a.lines[1], "* rooms: #lobby (4)\n");
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
