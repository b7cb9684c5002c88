// test_samples_console.cpp — a sample server whose console reader goes away goes on serving
// (issue 9, item 3). `tsTservTW | head -c1` used to end the server with SIGPIPE (exit 141) at
// its next console line; Python ends the same way (BrokenPipeError from print), which is the
// behaviour we do better than. Each server kind: stdout and stderr pipes whose read ends are
// closed, several clients, then SIGTERM must still give exit status 0.
#include <gtest/gtest.h>

#include <string>

#include "sample_util.hpp"

namespace {

using namespace sample_test;

struct Kind {
  const char* name;
  const char* host;
  bool datagram;         // tsUserv: a datagram in, a datagram back
  const char* send;      // what a client sends ("" for none)
  const char* expected;  // what its answer contains
};

// Enough clients that every console line of a connection (connected, served, closed) is written
// at least twice after the reader went: the first write meets EPIPE, the later ones too.
constexpr int kClients = 4;

class ServerWithoutConsole : public ::testing::TestWithParam<Kind> {};

TEST_P(ServerWithoutConsole, ServesOnAndExitsZeroOnSigterm) {
  const Kind& kind = GetParam();
  if (std::string_view(kind.host) == "::1" && !ipv6_available()) GTEST_SKIP() << "no IPv6";
  Server server(kind.name, kind.host);
  ASSERT_GT(server.port, 0) << server.child.err();
  server.child.close_output();  // whoever read the console is gone: stdout and stderr
  for (int i = 0; i < kClients; ++i) {
    std::string got;
    if (kind.datagram) {
      Fd s = bound_socket(server.family, SOCK_DGRAM);
      ASSERT_TRUE(s);
      ASSERT_TRUE(send_datagram(s.get(), server.family, server.port, kind.send));
      auto reply = recv_datagram(s.get());
      ASSERT_TRUE(reply) << "client " << i << ": no reply";
      got = reply->first;
    } else {
      Fd s = tcp_connect(server.family, server.port);
      ASSERT_TRUE(s) << "client " << i << ": connect failed (the server is gone?)";
      ASSERT_TRUE(send_all(s.get(), kind.send));
      got = recv_until(s.get(), [&](const std::string& b) {
        return b.find(kind.expected) != std::string::npos;
      });
    }
    EXPECT_NE(got.find(kind.expected), std::string::npos) << "client " << i << " got: " << got;
  }
  server.child.signal(SIGTERM);
  const int code = server.child.exit_code();
  EXPECT_EQ(code, 0) << (code == -1000 - SIGPIPE ? "killed by SIGPIPE" : "");
}

std::string kind_name(const ::testing::TestParamInfo<Kind>& info) { return info.param.name; }

// clang-format off
INSTANTIATE_TEST_SUITE_P(Sample, ServerWithoutConsole, ::testing::Values(
    Kind{"tsTserv",         "127.0.0.1", false, "hello",   "] hello"},
    Kind{"tsTservV6",       "::1",       false, "hello",   "] hello"},
    Kind{"tsUserv",         "127.0.0.1", true,  "hello",   "] hello"},
    Kind{"tsTservSS",       "127.0.0.1", false, "hello\n", "] hello"},
    Kind{"tsTservThreaded", "127.0.0.1", false, "hello\n", "] hello"},
    Kind{"tsTservKeep",     "127.0.0.1", false, "hello\n", "] hello"},
    Kind{"tsTservTW",       "127.0.0.1", false, "hello",   "] hello"},
    Kind{"tsTservAIO",      "127.0.0.1", false, "hello",   "] hello"},
    Kind{"chatserv",        "127.0.0.1", false, "",        "* welcome"},
    Kind{"selectchat",      "127.0.0.1", false, "",        "* welcome"},
    Kind{"chatservAIO",     "127.0.0.1", false, "",        "* welcome"}),
    kind_name);
// clang-format on

}  // namespace
