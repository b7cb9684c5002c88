// Tests of asyncio_server.hpp: AsyncStreamRequestHandler and AsyncTCPServer /
// AsyncUnixStreamServer with Python's socketserver names — serve_forever, shutdown from another
// thread, verify_request, handle_error, the idle timeout.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "socketserver/asyncio_server.hpp"
#include "socketserver/socket.hpp"
#include "test_util.hpp"

namespace {

namespace ss = socketserver;
namespace aio = socketserver::asyncio;
using namespace std::chrono_literals;

// serve_forever on a thread; the destructor shuts the server down and joins.
class Serving {
 public:
  explicit Serving(aio::AsyncStreamServer& server)
      : server_(server), thread_([this] { server_.serve_forever(); }) {}
  ~Serving() { stop(); }
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;
  void stop() {
    if (!thread_.joinable()) return;
    server_.shutdown();
    thread_.join();
  }

 private:
  aio::AsyncStreamServer& server_;
  std::thread thread_;
};

ss::Socket client_of(const aio::AsyncStreamServer& server) {
  ss::Socket s(server.server_address().family(), SOCK_STREAM);
  s.settimeout(10s);
  s.connect(server.server_address());
  return s;
}

std::string recv_line(ss::Socket& s) {
  std::string line;
  for (int i = 0; i < 100000; ++i) {
    std::string b = s.recv(1);
    if (b.empty()) break;
    line += b;
    if (b == "\n") break;
  }
  return line;
}

// The book's timestamp server (Example 2-1), a line at a time until the client leaves.
struct TimestampHandler : aio::AsyncStreamRequestHandler {
  using AsyncStreamRequestHandler::AsyncStreamRequestHandler;
  aio::Task<> handle() override {
    for (;;) {
      std::string data = co_await rfile.readline();
      if (data.empty()) break;
      const std::time_t now = std::time(nullptr);
      char stamp[64];
      std::strftime(stamp, sizeof stamp, "%a %b %d %H:%M:%S %Y", std::localtime(&now));
      wfile.write(std::string("[") + stamp + "] " + data);
      co_await wfile.drain();
    }
  }
};

TEST(AsyncTCPServer, TimestampHandlerServesLinesUntilShutdown) {
  aio::AsyncTCPServer server(ss::Address::inet("127.0.0.1", 0),
                             aio::async_handler<TimestampHandler>());
  ASSERT_NE(server.server_address().port(), 0);
  Serving serving(server);
  ss::Socket a = client_of(server);
  ss::Socket b = client_of(server);
  for (int i = 0; i < 3; ++i) {
    a.sendall("hello " + std::to_string(i) + "\n");
    const std::string reply = recv_line(a);
    ASSERT_EQ(reply.front(), '[') << reply;
    EXPECT_NE(reply.find("] hello " + std::to_string(i) + "\n"), std::string::npos) << reply;
  }
  b.sendall("b\n");
  EXPECT_NE(recv_line(b).find("] b\n"), std::string::npos);
  a.shutdown(SHUT_WR);
  EXPECT_EQ(a.recv(10), "");  // the handler ends at the end of input and the server closes
  serving.stop();
}

std::atomic<int> g_live{0};
std::atomic<int> g_cancelled{0};

struct ParkedHandler : aio::AsyncStreamRequestHandler {
  using AsyncStreamRequestHandler::AsyncStreamRequestHandler;
  aio::Task<> handle() override {
    g_live.fetch_add(1);
    struct Down {
      Down() = default;
      Down(const Down&) = delete;
      Down& operator=(const Down&) = delete;
      ~Down() { g_live.fetch_sub(1); }
    } down;
    wfile.write("ready\n");
    try {
      co_await rfile.readline();
    } catch (const aio::CancelledError&) {
      g_cancelled.fetch_add(1);
      throw;
    }
  }
};

TEST(AsyncTCPServer, ShutdownFromAnotherThreadCancelsConnectedHandlersAndReturns) {
  g_live = 0;
  g_cancelled = 0;
  aio::AsyncTCPServer server(ss::Address::inet("127.0.0.1", 0),
                             aio::async_handler<ParkedHandler>());
  std::thread loop([&] { server.serve_forever(); });
  std::vector<ss::Socket> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(client_of(server));
    EXPECT_EQ(recv_line(clients.back()), "ready\n");
  }
  EXPECT_EQ(g_live.load(), 5);
  server.shutdown();  // returns once the loop has stopped
  EXPECT_EQ(g_cancelled.load(), 5);
  EXPECT_EQ(g_live.load(), 0);
  for (auto& c : clients) EXPECT_EQ(c.recv(10), "");  // closed
  loop.join();
}

TEST(AsyncTCPServer, ShutdownBeforeServeForeverMakesItReturnAtOnce) {
  aio::AsyncTCPServer server(ss::Address::inet("127.0.0.1", 0),
                             aio::async_handler<ParkedHandler>());
  server.shutdown();
  std::atomic<bool> returned{false};
  std::thread loop([&] {
    server.serve_forever();
    returned = true;
  });
  EXPECT_TRUE(testutil::wait_until([&] { return returned.load(); }));
  loop.join();
}

struct RefusingServer : aio::AsyncTCPServer {
  using AsyncTCPServer::AsyncTCPServer;
  std::atomic<int> asked{0};
  bool verify_request(aio::StreamWriter&, const ss::Address& client) override {
    asked.fetch_add(1);
    return client.host() != "127.0.0.1";
  }
};

TEST(AsyncTCPServer, VerifyRequestRefusingClosesBeforeAnyHandler) {
  g_live = 0;
  RefusingServer server(ss::Address::inet("127.0.0.1", 0), aio::async_handler<ParkedHandler>());
  Serving serving(server);
  ss::Socket c = client_of(server);
  EXPECT_EQ(c.recv(10), "");  // closed without a word
  EXPECT_EQ(server.asked.load(), 1);
  EXPECT_EQ(server.refused(), 1u);
  EXPECT_EQ(g_live.load(), 0);
}

struct RecordingServer : aio::AsyncTCPServer {
  using AsyncTCPServer::AsyncTCPServer;
  std::mutex mu;
  std::vector<std::string> errors;
  void handle_error(aio::StreamWriter& request, const ss::Address& client) override {
    std::string what;
    try {
      throw;
    } catch (const std::exception& e) {
      what = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      errors.push_back(what + " from " + client.host());
    }
    AsyncTCPServer::handle_error(request, client);
  }
  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lock(mu);
    return errors;
  }
};

// Serves four connections that send "x\n" each: their replies ("" when closed unanswered) and
// what the server wrote on stderr meanwhile.
std::pair<std::vector<std::string>, std::string> four_requests(aio::AsyncStreamServer& server) {
  testing::internal::CaptureStderr();
  std::vector<std::string> replies;
  {
    Serving serving(server);
    for (int i = 0; i < 4; ++i) {
      ss::Socket c = client_of(server);
      c.sendall("x\n");
      replies.push_back(recv_line(c));
    }
  }
  return {replies, testing::internal::GetCapturedStderr()};
}

TEST(AsyncTCPServer, HandleErrorIsCalledForAThrowingHandlerAndPrintsOneLine) {
  std::atomic<int> n{0};
  RecordingServer server(
      ss::Address::inet("127.0.0.1", 0),
      aio::async_handler([&n](aio::AsyncStreamRequestHandler& self) -> aio::Task<> {
        std::string line = co_await self.rfile.readline();
        if (n.fetch_add(1) % 2 == 1) throw std::runtime_error("bad request");
        self.wfile.write("ok " + line);
      }));
  const auto [replies, err] = four_requests(server);
  EXPECT_EQ(replies, (std::vector<std::string>{"ok x\n", "", "ok x\n", ""}));
  EXPECT_EQ(server.seen(),
            (std::vector<std::string>{"bad request from 127.0.0.1", "bad request from 127.0.0.1"}));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2) << err;
  EXPECT_NE(err.find("Exception occurred during processing of request from 127.0.0.1:"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("std::runtime_error: bad request"), std::string::npos) << err;
}

// verify_request throwing for every other connection: the exception goes to handle_error (one
// line), that connection is closed before any handler, and the next one is served.
struct ThrowingVerifyServer : RecordingServer {
  using RecordingServer::RecordingServer;
  std::atomic<int> asked{0};
  bool verify_request(aio::StreamWriter&, const ss::Address&) override {
    if (asked.fetch_add(1) % 2 == 0) throw std::runtime_error("verify failed");
    return true;
  }
};

TEST(AsyncTCPServer, VerifyRequestThrowingIsReportedClosesThatConnectionAndServingGoesOn) {
  ThrowingVerifyServer server(
      ss::Address::inet("127.0.0.1", 0),
      aio::async_handler([](aio::AsyncStreamRequestHandler& self) -> aio::Task<> {
        self.wfile.write("ok " + co_await self.rfile.readline());
      }));
  const auto [replies, err] = four_requests(server);
  EXPECT_EQ(replies, (std::vector<std::string>{"", "ok x\n", "", "ok x\n"}));
  EXPECT_EQ(server.seen(), (std::vector<std::string>{"verify failed from 127.0.0.1",
                                                     "verify failed from 127.0.0.1"}));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2) << err;
  EXPECT_EQ(server.active_handlers(), 0u);
}

TEST(AsyncTCPServer, IdleTimeoutEndsASilentClientsHandlerWithTimeoutError) {
  aio::AsyncServerOptions options;
  options.idle_timeout = 0.1s;
  RecordingServer server(ss::Address::inet("127.0.0.1", 0), aio::async_handler<ParkedHandler>(),
                         options);
  Serving serving(server);
  ss::Socket c = client_of(server);
  EXPECT_EQ(recv_line(c), "ready\n");
  EXPECT_EQ(c.recv(10), "");  // closed by the idle timeout
  ASSERT_TRUE(testutil::wait_until([&] { return server.seen().size() == 1; }));
  EXPECT_NE(server.seen()[0].find("timed out"), std::string::npos) << server.seen()[0];
}

// Echoes lines until its client leaves (a client that trickles never meets idle_timeout).
struct LineEcho : aio::AsyncStreamRequestHandler {
  using AsyncStreamRequestHandler::AsyncStreamRequestHandler;
  aio::Task<> handle() override {
    for (int i = 0; i < 100000; ++i) {
      std::string line = co_await rfile.readline();
      if (line.empty()) break;
      wfile.write(line);
      co_await wfile.drain();
    }
  }
};

// Sends a line every 20 ms and reads it back until the server closes: how long that took,
// and how many lines came back. Bounded by `limit` lines.
std::pair<std::chrono::duration<double>, int> trickle_until_closed(ss::Socket& c, int limit) {
  const auto start = std::chrono::steady_clock::now();
  int echoed = 0;
  for (int i = 0; i < limit; ++i) {
    try {
      c.sendall("tick\n");
    } catch (const ss::socket_error&) {
      break;  // closed (reset) between two lines
    }
    std::string line;
    try {
      line = recv_line(c);
    } catch (const ss::socket_error&) {
    }
    if (line != "tick\n") break;
    ++echoed;
    std::this_thread::sleep_for(20ms);
  }
  return {std::chrono::steady_clock::now() - start, echoed};
}

TEST(AsyncTCPServer, RequestTimeoutEndsAHandlerWhoseClientTricklesAndOthersGoOn) {
  aio::AsyncServerOptions options;
  options.idle_timeout = 5s;  // never met: a line every 20 ms
  options.request_timeout = 0.3s;
  RecordingServer server(ss::Address::inet("127.0.0.1", 0), aio::async_handler<LineEcho>(),
                         options);
  Serving serving(server);
  ss::Socket slow = client_of(server);
  const auto [took, echoed] = trickle_until_closed(slow, 500);  // 10 s at most
  EXPECT_GE(echoed, 1) << "served until the deadline";
  EXPECT_LT(echoed, 500) << "closed by request_timeout";
  EXPECT_GE(took, 0.25s);
  ASSERT_TRUE(testutil::wait_until([&] { return server.seen().size() == 1; }));
  EXPECT_NE(server.seen()[0].find("timed out after 0.3"), std::string::npos) << server.seen()[0];
  ss::Socket next = client_of(server);
  next.sendall("next\n");
  EXPECT_EQ(recv_line(next), "next\n") << "the server goes on";
}

struct QuickHandler : LineEcho {
  QuickHandler(aio::StreamReader& r, aio::StreamWriter& w, const ss::Address& a,
               aio::AsyncStreamServer& s)
      : LineEcho(r, w, a, s) {
    request_timeout = 0.2s;  // its own, where the server has none
  }
};

TEST(AsyncTCPServer, AHandlersOwnRequestTimeoutApplies) {
  RecordingServer server(ss::Address::inet("127.0.0.1", 0), aio::async_handler<QuickHandler>());
  EXPECT_FALSE(server.request_timeout().has_value()) << "none by default, as Python";
  Serving serving(server);
  ss::Socket slow = client_of(server);
  const auto [took, echoed] = trickle_until_closed(slow, 500);
  EXPECT_GE(echoed, 1);
  EXPECT_LT(echoed, 500) << "closed by the handler's request_timeout";
  ASSERT_TRUE(testutil::wait_until([&] { return server.seen().size() == 1; }));
  EXPECT_NE(server.seen()[0].find("timed out"), std::string::npos) << server.seen()[0];
}

TEST(AsyncTCPServer, ABadServerRequestTimeoutIsRejectedAtConstruction) {
  for (const double bad : {0.0, -1.0, std::nan("")}) {
    aio::AsyncServerOptions options;
    options.request_timeout = std::chrono::duration<double>(bad);
    EXPECT_THROW(aio::AsyncTCPServer(ss::Address::inet("127.0.0.1", 0),
                                     aio::async_handler<LineEcho>(), options),
                 std::invalid_argument)
        << bad;
  }
  aio::AsyncServerOptions huge;
  huge.request_timeout = std::chrono::duration<double>(1e300);
  EXPECT_THROW(aio::AsyncTCPServer(ss::Address::inet("127.0.0.1", 0),
                                   aio::async_handler<LineEcho>(), huge),
               std::overflow_error);
}

struct BadLimitHandler : LineEcho {
  BadLimitHandler(aio::StreamReader& r, aio::StreamWriter& w, const ss::Address& a,
                  aio::AsyncStreamServer& s)
      : LineEcho(r, w, a, s) {
    request_timeout = std::chrono::duration<double>(-1);
  }
};

TEST(AsyncTCPServer, AHandlersBadRequestTimeoutIsAnErrorOfThatRequestOnly) {
  RecordingServer server(ss::Address::inet("127.0.0.1", 0),
                         aio::async_handler<BadLimitHandler>());
  Serving serving(server);
  for (int i = 0; i < 2; ++i) {
    ss::Socket c = client_of(server);
    EXPECT_EQ(c.recv(10), "") << "closed, unserved";
  }
  ASSERT_TRUE(testutil::wait_until([&] { return server.seen().size() == 2; }));
  EXPECT_NE(server.seen()[0].find("request_timeout"), std::string::npos) << server.seen()[0];
}

TEST(AsyncUnixStreamServer, ServesOverAUnixSocket) {
  testutil::TempDir dir;
  aio::AsyncUnixStreamServer server(ss::Address::unix_path(dir.file("ts.sock")),
                                    aio::async_handler<TimestampHandler>());
  Serving serving(server);
  ss::Socket c = client_of(server);
  c.sendall("unix\n");
  EXPECT_NE(recv_line(c).find("] unix\n"), std::string::npos);
}

}  // namespace
