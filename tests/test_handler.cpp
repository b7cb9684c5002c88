// test_handler.cpp — handler.hpp: BaseRequestHandler, StreamRequestHandler,
// DatagramRequestHandler, PacketReader/PacketWriter, handler<H>() and handler(lambda); and the
// bad-input cases of the issue (idle client, reset mid-line, over-long line, 500 at once).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <limits>
#include <cmath>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "server_test_util.hpp"
#include "socketserver/handler.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using ss::Address;
using ss::Socket;
using ss::TCPServer;
using ss::UDPServer;
using stu::EchoStream;
using stu::kTestStr;
using stu::local0;
using stu::ServerThread;

namespace {

// What handle_error saw: the exception's dynamic type (as a what()-carrying category) and text.
struct ErrorSeen {
  std::string kind;
  std::string what;
  Address client;
};

// A server recording what reaches handle_error (one thread: handle_request in the test's, or
// guarded by the mutex).
template <class Base>
struct ErrorRecorder : Base {
  using Base::Base;
  std::mutex mu;
  std::vector<ErrorSeen> errors;
  void handle_error(ss::Request&, const Address& client) override {
    ErrorSeen seen;
    seen.client = client;
    try {
      throw;
    } catch (const ss::line_too_long_error& e) {
      seen = {"line_too_long_error", e.what(), client};
    } catch (const ss::timeout_error& e) {
      seen = {"timeout_error", e.what(), client};
    } catch (const ss::socket_error& e) {
      seen = {"socket_error", e.what(), client};
    } catch (const std::logic_error& e) {
      seen = {"logic_error", e.what(), client};
    } catch (const std::exception& e) {
      seen = {"exception", e.what(), client};
    } catch (...) {
      seen = {"unknown", "", client};
    }
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(seen);
  }
  std::vector<ErrorSeen> seen() {
    std::lock_guard<std::mutex> lock(mu);
    return errors;
  }
};

const linger kLingerAbort{1, 0};  // close() sends a reset

std::vector<std::string> g_calls;  // used from one thread only (handle_request in the test)

struct OrderHandler : ss::BaseRequestHandler {
  using BaseRequestHandler::BaseRequestHandler;
  void setup() override { g_calls.push_back("setup"); }
  void handle() override { g_calls.push_back("handle"); }
  void finish() override { g_calls.push_back("finish"); }
};

struct ThrowingOrderHandler : OrderHandler {
  using OrderHandler::OrderHandler;
  void handle() override {
    g_calls.push_back("handle");
    throw std::runtime_error("handle failed");
  }
};

}  // namespace

// ---- BaseRequestHandler -----------------------------------------------------------------------

TEST(BaseRequestHandler, SetupHandleFinishInOrder) {
  g_calls.clear();
  TCPServer server(local0(), ss::handler<OrderHandler>());
  Socket c = stu::stream_client(server.server_address);
  server.handle_request();
  EXPECT_EQ(g_calls, (std::vector<std::string>{"setup", "handle", "finish"}));
}

TEST(BaseRequestHandler, FinishRunsWhenHandleThrowsAndTheErrorReachesHandleError) {
  g_calls.clear();
  ErrorRecorder<TCPServer> server(local0(), ss::handler<ThrowingOrderHandler>());
  Socket c = stu::stream_client(server.server_address);
  server.handle_request();
  EXPECT_EQ(g_calls, (std::vector<std::string>{"setup", "handle", "finish"}));
  ASSERT_EQ(server.errors.size(), 1u);
  EXPECT_EQ(server.errors[0].what, "handle failed");
  EXPECT_EQ(server.errors[0].client, c.getsockname());
}

TEST(BaseRequestHandler, SeesRequestClientAddressAndServer) {
  ss::BaseServer* seen_server = nullptr;
  int request_fd = -2;
  Address client;
  TCPServer server(local0(), ss::handler([&](ss::BaseRequestHandler& self) {
                     seen_server = &self.server;
                     request_fd = self.request.connection.fileno();
                     client = self.client_address;
                     self.request.connection.sendall("raw\n");
                   }));
  Socket c = stu::stream_client(server.server_address);
  server.handle_request();
  EXPECT_EQ(seen_server, &server);
  EXPECT_GE(request_fd, 0);
  EXPECT_EQ(client, c.getsockname());
  EXPECT_EQ(stu::read_line(c), "raw\n");
}

TEST(BaseRequestHandler, HandlerOfAClassRunsAFreshObjectPerRequest) {
  static std::atomic<int> constructed{0};
  struct Counting : ss::StreamRequestHandler {
    Counting(ss::Request& r, const Address& a, ss::BaseServer& s) : StreamRequestHandler(r, a, s) {
      ++constructed;
    }
    void handle() override { wfile.write(std::to_string(constructed.load()) + "\n"); }
  };
  constructed = 0;
  TCPServer server(local0(), ss::handler<Counting>());
  for (int i = 1; i <= 3; ++i) {
    Socket c = stu::stream_client(server.server_address);
    server.handle_request();
    EXPECT_EQ(stu::read_line(c), std::to_string(i) + "\n");
  }
}

// ---- StreamRequestHandler ---------------------------------------------------------------------

TEST(StreamRequestHandler, ConnectionIsTheRequestSocketAndDefaults) {
  std::vector<std::string> facts;
  TCPServer server(local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                     if (&self.connection == &self.request.connection) facts.push_back("conn");
                     if (self.wbufsize == 0) facts.push_back("wbuf0");
                     if (self.rbufsize == ss::default_buffer_size) facts.push_back("rbuf");
                     if (!self.timeout) facts.push_back("no-timeout");
                     if (!self.disable_nagle_algorithm) facts.push_back("nagle");
                     if (self.max_line == 65536 && self.rfile.max_line() == 65536)
                       facts.push_back("max");
                     self.wfile.write("unbuffered");
                     if (self.wfile.pending() == 0) facts.push_back("sent");
                   }));
  Socket c = stu::stream_client(server.server_address);
  server.handle_request();
  EXPECT_EQ(facts, (std::vector<std::string>{"conn", "wbuf0", "rbuf", "no-timeout", "nagle", "max",
                                             "sent"}));
  EXPECT_EQ(stu::read_all(c), "unbuffered");
}

TEST(StreamRequestHandler, TimeoutIsAppliedToTheConnection) {
  struct Timed : ss::StreamRequestHandler {
    Timed(ss::Request& r, const Address& a, ss::BaseServer& s) : StreamRequestHandler(r, a, s) {
      timeout = 200ms;
    }
    void handle() override {
      const ss::Timeout t = connection.gettimeout();
      wfile.write(t ? std::to_string(static_cast<int>(t->count() * 1000)) + "\n" : "none\n");
      rfile.readline();  // the client sends nothing: times out
    }
  };
  ErrorRecorder<TCPServer> server(local0(), ss::handler<Timed>());
  Socket c = stu::stream_client(server.server_address);
  const auto t0 = std::chrono::steady_clock::now();
  server.handle_request();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(stu::read_line(c), "200\n");
  ASSERT_EQ(server.errors.size(), 1u);
  EXPECT_EQ(server.errors[0].kind, "timeout_error") << server.errors[0].what;
}

TEST(StreamRequestHandler, DisableNagleAlgorithmSetsTcpNodelay) {
  struct NoNagle : ss::StreamRequestHandler {
    NoNagle(ss::Request& r, const Address& a, ss::BaseServer& s) : StreamRequestHandler(r, a, s) {
      disable_nagle_algorithm = true;
    }
    void handle() override {
      g_calls.push_back(std::to_string(connection.getsockopt(IPPROTO_TCP, TCP_NODELAY)));
    }
  };
  g_calls.clear();
  TCPServer with(local0(), ss::handler<NoNagle>());
  Socket c1 = stu::stream_client(with.server_address);
  with.handle_request();
  ASSERT_EQ(g_calls.size(), 1u);
  EXPECT_NE(g_calls[0], "0") << "TCP_NODELAY set";

  int nodelay = -1;
  TCPServer without(local0(), ss::handler([&](ss::StreamRequestHandler& self) {
                      nodelay = self.connection.getsockopt(IPPROTO_TCP, TCP_NODELAY);
                    }));
  Socket c2 = stu::stream_client(without.server_address);
  without.handle_request();
  EXPECT_EQ(nodelay, 0) << "Nagle stays on by default";
}

TEST(StreamRequestHandler, WbufsizeBuffersUntilFinishFlushes) {
  struct Buffered : ss::StreamRequestHandler {
    Buffered(ss::Request& r, const Address& a, ss::BaseServer& s) : StreamRequestHandler(r, a, s) {
      wbufsize = 65536;
    }
    void handle() override {
      wfile.write("abc");
      wfile.write("def\n");
      g_calls.push_back(std::to_string(wfile.pending()));
    }
  };
  g_calls.clear();
  TCPServer server(local0(), ss::handler<Buffered>());
  Socket c = stu::stream_client(server.server_address);
  server.handle_request();
  EXPECT_EQ(g_calls, std::vector<std::string>{"7"}) << "held in the buffer during handle()";
  EXPECT_EQ(stu::read_all(c), "abcdef\n") << "flushed by finish()";
}

TEST(StreamRequestHandler, FinishFlushesAlsoWhenHandleThrows) {
  struct BufferedThrow : ss::StreamRequestHandler {
    BufferedThrow(ss::Request& r, const Address& a, ss::BaseServer& s)
        : StreamRequestHandler(r, a, s) {
      wbufsize = 65536;
    }
    void handle() override {
      wfile.write("partial reply\n");
      throw std::runtime_error("after writing");
    }
  };
  ErrorRecorder<TCPServer> server(local0(), ss::handler<BufferedThrow>());
  Socket c = stu::stream_client(server.server_address);
  server.handle_request();
  EXPECT_EQ(stu::read_all(c), "partial reply\n");
  ASSERT_EQ(server.errors.size(), 1u);
  EXPECT_EQ(server.errors[0].what, "after writing");
}

TEST(StreamRequestHandler, RbufsizeZeroDoesNotReadPastTheLine) {
  struct Unbuffered : ss::StreamRequestHandler {
    Unbuffered(ss::Request& r, const Address& a, ss::BaseServer& s)
        : StreamRequestHandler(r, a, s) {
      rbufsize = 0;
    }
    void handle() override {
      const std::string first = rfile.readline();
      g_calls.push_back(first);
      g_calls.push_back(std::to_string(rfile.buffered()));
      g_calls.push_back(connection.recv(100));  // the rest is still in the socket
    }
  };
  g_calls.clear();
  TCPServer server(local0(), ss::handler<Unbuffered>());
  Socket c = stu::stream_client(server.server_address);
  c.sendall("one\ntwo\n");
  // Both lines are in the server's receive queue before the request is handled.
  ASSERT_TRUE(stu::wait_until([&] { return testutil::bytes_unacked(c.fileno()) == 0; }));
  server.handle_request();
  ASSERT_EQ(g_calls.size(), 3u);
  EXPECT_EQ(g_calls[0], "one\n");
  EXPECT_EQ(g_calls[1], "0");
  EXPECT_EQ(g_calls[2], "two\n");
}

TEST(StreamRequestHandler, LineOverMaxLineReachesHandleErrorAndTheServerGoesOn) {
  struct Limited : EchoStream {
    Limited(ss::Request& r, const Address& a, ss::BaseServer& s) : EchoStream(r, a, s) {
      max_line = 64;
    }
  };
  ErrorRecorder<TCPServer> server(local0(), ss::handler<Limited>());
  ServerThread t(server);
  {
    Socket c = stu::stream_client(server.server_address);
    c.sendall(std::string(1000, 'L'));  // no newline, far past the limit
    std::string reply;
    try {
      reply = stu::read_all(c);
    } catch (const ss::connection_reset_error&) {  // unread bytes: the close may reset
    }
    EXPECT_EQ(reply, "") << "no reply for the failed request";
  }
  EXPECT_EQ(stu::stream_roundtrip(server.server_address, "short\n"), "short\n");
  t.stop();
  server.server_close();
  const auto errors = server.seen();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, "line_too_long_error") << errors[0].what;
}

// ---- DatagramRequestHandler -------------------------------------------------------------------

TEST(DatagramRequestHandler, RfileOverThePacketWfileSentAsOneDatagram) {
  struct Upper : ss::DatagramRequestHandler {
    using DatagramRequestHandler::DatagramRequestHandler;
    void handle() override {
      if (&socket != request.socket) throw std::logic_error("socket is not the request's");
      if (packet != request.packet) throw std::logic_error("packet is not the request's");
      for (std::string line : rfile.readlines()) {
        for (char& ch : line) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        wfile.write(line);
      }
      wfile.writelines({"[", "end", "]"});
    }
  };
  ErrorRecorder<UDPServer> server(local0(), ss::handler<Upper>());
  ServerThread t(server);
  EXPECT_EQ(stu::dgram_roundtrip(server.server_address, "ab\ncd\nef"), "AB\nCD\nEF[end]");
  t.stop();
  server.server_close();
  EXPECT_TRUE(server.seen().empty());
}

TEST(DatagramRequestHandler, EmptyWfileStillSendsAnEmptyDatagram) {
  // Python's finish() always sends wfile's value, also when empty.
  UDPServer server(local0(), ss::handler([](ss::DatagramRequestHandler&) {}));
  ServerThread t(server);
  EXPECT_EQ(stu::dgram_roundtrip(server.server_address, "anything"), "");
  t.stop();
  server.server_close();
}

TEST(DatagramRequestHandler, OnAStreamServerIsAnErrorForTheRequest) {
  ErrorRecorder<TCPServer> server(local0(), ss::handler([](ss::DatagramRequestHandler&) {}));
  Socket c = stu::stream_client(server.server_address);
  server.handle_request();
  ASSERT_EQ(server.errors.size(), 1u);
  EXPECT_EQ(server.errors[0].kind, "logic_error");
}

TEST(PacketReaderWriter, BehaveLikeBytesIO) {
  ss::PacketReader r("line1\nline2\nrest");
  EXPECT_EQ(r.read(2), "li");
  EXPECT_EQ(r.readline(), "ne1\n");
  EXPECT_EQ(r.readlines(), (std::vector<std::string>{"line2\n", "rest"}));
  EXPECT_EQ(r.readline(), "");
  EXPECT_EQ(r.read(), "");
  EXPECT_EQ(r.read(100), "");
  ss::PacketReader r2("abc");
  EXPECT_EQ(r2.read(100), "abc");
  ss::PacketWriter w;
  EXPECT_EQ(w.write("12"), 2u);
  w.writelines({"3", "45"});
  EXPECT_EQ(w.getvalue(), "12345");
}

TEST(PacketReaderWriter, WritersOfOneThreadNeverShareTheirBuffer) {
  {
    ss::PacketWriter a;
    a.write("first");
    ss::PacketWriter b;  // while `a` has the thread's recycled buffer
    EXPECT_EQ(b.getvalue(), "");
    b.write("second");
    EXPECT_EQ(a.getvalue(), "first");
    ss::PacketWriter c(a);
    c.write("!");
    EXPECT_EQ(c.getvalue(), "first!");
    EXPECT_EQ(a.getvalue(), "first");
    b = a;
    EXPECT_EQ(b.getvalue(), "first");
    const ss::PacketWriter& same = a;
    a = same;
    EXPECT_EQ(a.getvalue(), "first") << "self-assignment";
  }
  for (int i = 0; i < 3; ++i) {
    ss::PacketWriter w;  // the recycled buffer comes back empty
    EXPECT_EQ(w.getvalue(), "");
    const std::string big(100000, static_cast<char>('a' + i));  // over what is kept
    w.write(big);
    EXPECT_EQ(w.getvalue(), big);
  }
  std::thread([] {
    ss::PacketWriter w;
    w.write("other thread");
    EXPECT_EQ(w.getvalue(), "other thread");
  }).join();
}

TEST(PacketReaderWriter, AWriterOutlivingItsThreadKeepsItsData) {
  ss::PacketWriter* w = nullptr;
  std::thread([&] {
    w = new ss::PacketWriter;
    w->write("kept");
  }).join();
  EXPECT_EQ(w->getvalue(), "kept");
  w->write("!");
  EXPECT_EQ(w->getvalue(), "kept!");
  delete w;  // frees the buffer its ended thread left to it (ASan: no leak, no stale use)
}

// ---- handler(lambda) --------------------------------------------------------------------------

TEST(HandlerLambda, StreamLambdaIsSharedByAllRequests) {
  TCPServer server(local0(), ss::handler([n = 0](ss::StreamRequestHandler& self) mutable {
                     ++n;
                     self.wfile.write(std::to_string(n) + ":" + self.rfile.readline());
                   }));
  ServerThread t(server);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(stu::stream_roundtrip(server.server_address, "x\n"), std::to_string(i) + ":x\n");
  }
  t.stop();
  server.server_close();
}

TEST(HandlerLambda, DatagramLambda) {
  UDPServer server(local0(), ss::handler([](ss::DatagramRequestHandler& self) {
                     self.wfile.write("got " + self.packet);
                   }));
  ServerThread t(server);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(stu::dgram_roundtrip(server.server_address, "p"), "got p");
  t.stop();
  server.server_close();
}

// ---- bad input on a ThreadingTCPServer --------------------------------------------------------

TEST(BadInput, FiveHundredClientsAtOnceAllAnswered) {
  constexpr int kClients = 500;
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 3 * kClients) {
    GTEST_SKIP() << "RLIMIT_NOFILE " << rl.rlim_cur << " is too small for " << kClients
                 << " clients";
  }
  ss::ThreadingTCPServer server(local0(), ss::handler<EchoStream>());
  ServerThread t(server);
  std::vector<Socket> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(stu::stream_client(server.server_address, 30s));
    clients.back().sendall("client " + std::to_string(i) + "\n");
  }
  int answered = 0;
  for (int i = 0; i < kClients; ++i) {
    if (stu::read_line(clients[static_cast<std::size_t>(i)]) ==
        "client " + std::to_string(i) + "\n") {
      ++answered;
    }
  }
  EXPECT_EQ(answered, kClients);
  clients.clear();
  t.stop();
  server.server_close();
  EXPECT_EQ(server.active_threads(), 0u);
  EXPECT_EQ(server.total_threads(), static_cast<std::size_t>(kClients));
}

TEST(BadInput, IdleClientDoesNotBlockOthers) {
  ss::ThreadingTCPServer server(local0(), ss::handler<EchoStream>());
  ServerThread t(server);
  Socket idle = stu::stream_client(server.server_address);  // connects, sends nothing
  for (int i = 0; i < 3; ++i) EXPECT_EQ(stu::stream_roundtrip(server.server_address), kTestStr);
  idle.close();  // its handler reads end of stream and returns
  t.stop();
  server.server_close();
  EXPECT_EQ(server.active_threads(), 0u);
}

TEST(BadInput, ClientResettingMidLineDoesNotCrashTheServer) {
  ErrorRecorder<ss::ThreadingTCPServer> server(local0(), ss::handler<EchoStream>());
  ServerThread t(server);
  for (int i = 0; i < 5; ++i) {
    Socket c = stu::stream_client(server.server_address);
    c.sendall("half a li");
    // The half line has reached the server before the reset.
    ASSERT_TRUE(stu::wait_until([&] { return testutil::bytes_unacked(c.fileno()) == 0; }));
    c.setsockopt(SOL_SOCKET, SO_LINGER,
                 std::string_view(reinterpret_cast<const char*>(&kLingerAbort), sizeof(linger)));
    c.close();  // RST
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(stu::stream_roundtrip(server.server_address), kTestStr);
  t.stop();
  server.server_close();
  // Each reset request either failed (reported) or saw a partial line; none crashed anything.
  for (const auto& e : server.seen()) EXPECT_EQ(e.kind, "socket_error") << e.what;
}

// ---- idle_timeout and request_timeout (issue 9 item 2) ---------------------------------------

TEST(ServerTimeouts, IdleTimeoutLetsAPlainTCPServerDropASilentClientAndServeTheNext) {
  // Python: a TCPServer is held by one silent client for ever (its documented way out is
  // StreamRequestHandler.timeout). Here ServerOptions::idle_timeout is that way out for every
  // handler of the server: the silent client's request ends with timeout_error.
  ErrorRecorder<TCPServer> server(local0(), ss::handler<EchoStream>(), {.idle_timeout = 300ms});
  ServerThread t(server);
  Socket silent = stu::stream_client(server.server_address);
  Socket other = stu::stream_client(server.server_address);
  other.sendall(kTestStr);
  EXPECT_EQ(stu::read_line(other), kTestStr) << "the next client is served";
  EXPECT_EQ(stu::read_line(silent), "") << "the silent client's connection was ended";
  t.stop();
  const auto errors = server.seen();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, "timeout_error") << errors[0].what;
  EXPECT_EQ(errors[0].client, silent.getsockname());
  server.server_close();
}

namespace {
// Used from the test's thread only (handle_request).
ss::Timeout g_handler_timeout;
std::vector<double> g_seen_timeouts;
struct TimeoutProbe : ss::StreamRequestHandler {
  TimeoutProbe(ss::Request& r, const Address& a, ss::BaseServer& s)
      : StreamRequestHandler(r, a, s) {
    timeout = g_handler_timeout;
  }
  void handle() override {
    const ss::Timeout t = connection.gettimeout();
    g_seen_timeouts.push_back(t ? t->count() : -1.0);
  }
};
}  // namespace

TEST(ServerTimeouts, IdleTimeoutIsNotTheHandlersTimeoutButTheShorterOneWins) {
  // Python's StreamRequestHandler.timeout keeps its meaning (the connection's socket timeout);
  // the server's idle_timeout only ever lowers it.
  g_seen_timeouts.clear();
  const auto probe = [](ss::Timeout server_idle, ss::Timeout handler_timeout) {
    g_handler_timeout = handler_timeout;
    TCPServer server(local0(), ss::handler<TimeoutProbe>(), {.idle_timeout = server_idle});
    Socket c = stu::stream_client(server.server_address);
    server.handle_request();
  };
  probe(10s, 200ms);
  probe(200ms, 10s);
  probe(std::nullopt, 200ms);
  probe(std::nullopt, std::nullopt);
  ASSERT_EQ(g_seen_timeouts.size(), 4u);
  EXPECT_DOUBLE_EQ(g_seen_timeouts[0], 0.2) << "the handler's shorter timeout stays";
  EXPECT_DOUBLE_EQ(g_seen_timeouts[1], 0.2) << "the server's shorter idle_timeout wins";
  EXPECT_DOUBLE_EQ(g_seen_timeouts[2], 0.2) << "Python's timeout alone";
  EXPECT_DOUBLE_EQ(g_seen_timeouts[3], -1.0) << "neither: blocking, as Python";
}

TEST(ServerTimeouts, RequestTimeoutEndsATricklingClientThatIdleTimeoutWouldNot) {
  // A client that sends a byte every 20 ms never trips a 5 s idle timeout; request_timeout
  // bounds the whole request: its connection is shut down, handle_error gets timeout_error,
  // and the server goes on serving.
  ErrorRecorder<TCPServer> server(local0(), ss::handler<EchoStream>(),
                                  {.idle_timeout = 5s, .request_timeout = 300ms});
  ServerThread t(server);
  Socket trickler = stu::stream_client(server.server_address);
  std::atomic<bool> stop{false};
  std::thread drip([&] {
    for (int i = 0; i < 500 && !stop.load(); ++i) {  // at most 10 s
      try {
        trickler.sendall("x");
      } catch (const ss::socket_error&) {
        return;  // the server shut the connection down
      }
      std::this_thread::sleep_for(20ms);  // the trickle itself: the behaviour under test
    }
  });
  const bool ended = stu::wait_until([&] { return !server.seen().empty(); }, 10s);
  stop.store(true);
  drip.join();
  ASSERT_TRUE(ended) << "the trickling request was never ended";
  const auto errors = server.seen();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, "timeout_error") << errors[0].what;
  EXPECT_NE(errors[0].what.find("request_timeout"), std::string::npos) << errors[0].what;
  EXPECT_EQ(stu::stream_roundtrip(server.server_address), kTestStr) << "the next one is served";
  t.stop();
  server.server_close();
}

TEST(ServerTimeouts, EachHandlerMaySetItsOwnTimeouts) {
  // Per handler: idle_timeout and request_timeout start as the server's (none here) and a
  // handler may set its own in its constructor or setup().
  struct OwnIdle : ss::StreamRequestHandler {
    OwnIdle(ss::Request& r, const Address& a, ss::BaseServer& s) : StreamRequestHandler(r, a, s) {
      EXPECT_FALSE(idle_timeout.has_value()) << "starts as the server's";
      idle_timeout = 200ms;
    }
    void handle() override { (void)rfile.readline(); }  // the client is silent
  };
  struct OwnDeadline : ss::StreamRequestHandler {
    using StreamRequestHandler::StreamRequestHandler;
    void setup() override {
      request_timeout = 200ms;
      StreamRequestHandler::setup();
    }
    void handle() override { (void)rfile.readline(); }  // the client is silent
  };
  ErrorRecorder<TCPServer> idle(local0(), ss::handler<OwnIdle>());
  Socket c1 = stu::stream_client(idle.server_address);
  idle.handle_request();
  ErrorRecorder<TCPServer> deadline(local0(), ss::handler<OwnDeadline>());
  Socket c2 = stu::stream_client(deadline.server_address);
  const auto t0 = std::chrono::steady_clock::now();
  deadline.handle_request();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  ASSERT_EQ(idle.errors.size(), 1u);
  EXPECT_EQ(idle.errors[0].kind, "timeout_error") << idle.errors[0].what;
  ASSERT_EQ(deadline.errors.size(), 1u);
  EXPECT_EQ(deadline.errors[0].kind, "timeout_error") << deadline.errors[0].what;
  EXPECT_NE(deadline.errors[0].what.find("request_timeout"), std::string::npos);
}

TEST(ServerTimeouts, BadServerTimeoutsAreRejectedAtConstruction) {
  // As listen_tcp checks ListenOptions before binding: NaN, negative (and zero for the idle and
  // request limits, which would make every read fail at once) are invalid_argument; more than
  // the clock holds (1e9 s) is overflow_error, Python's OverflowError. Nothing is left bound.
  const std::chrono::duration<double> inf(std::numeric_limits<double>::infinity());
  const std::chrono::duration<double> nan(std::nan(""));
  const auto make = [](ss::ServerOptions o) { TCPServer s(local0(), ss::handler<EchoStream>(), o); };
  EXPECT_THROW(make({.timeout = nan}), std::invalid_argument);
  EXPECT_THROW(make({.timeout = -1s}), std::invalid_argument);
  EXPECT_THROW(make({.timeout = inf}), std::overflow_error);
  EXPECT_THROW(make({.idle_timeout = 0s}), std::invalid_argument);
  EXPECT_THROW(make({.idle_timeout = std::chrono::duration<double>(1e300)}), std::overflow_error);
  EXPECT_THROW(make({.request_timeout = 0s}), std::invalid_argument);
  EXPECT_THROW(make({.request_timeout = inf}), std::overflow_error);
  EXPECT_NO_THROW(make({.timeout = 0s, .idle_timeout = 1e9s, .request_timeout = 1e9s}));
  // handle_request reads the public field again: a bad value set later is the same error.
  TCPServer server(local0(), ss::handler<EchoStream>());
  server.timeout = inf;
  EXPECT_THROW(server.handle_request(), std::overflow_error);
}

TEST(ServerTimeouts, AHandlersBadTimeoutIsAnErrorOfThatRequestOnly) {
  // A handler may set its own limits; a value the clock cannot hold (it overflowed the
  // deadline's conversion) or a zero idle limit (the connection would turn non-blocking) ends
  // that request through handle_error, after finish(), and the server goes on.
  static std::atomic<int> finished{0};
  static std::atomic<int> started{0};
  struct Bad : ss::StreamRequestHandler {
    using StreamRequestHandler::StreamRequestHandler;
    void setup() override {
      StreamRequestHandler::setup();
      if (started++ == 0) {  // not the port's parity: Linux gives connect() even ports
        request_timeout = std::chrono::duration<double>(std::numeric_limits<double>::infinity());
      } else {
        idle_timeout = 0s;
      }
    }
    void handle() override { ADD_FAILURE() << "handle() ran with a bad timeout"; }
    void finish() override {
      ++finished;
      StreamRequestHandler::finish();
    }
  };
  finished = 0;
  started = 0;
  ErrorRecorder<TCPServer> server(local0(), ss::handler<Bad>());
  for (int i = 0; i < 2; ++i) {
    Socket c = stu::stream_client(server.server_address);
    server.handle_request();
    EXPECT_EQ(stu::read_all(c), "") << "the request ended";
  }
  EXPECT_EQ(finished.load(), 2);
  ASSERT_EQ(server.errors.size(), 2u);
  std::vector<std::string> seen{server.errors[0].what, server.errors[1].what};
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"idle_timeout must be a positive number of seconds",
                                            "request_timeout is too large (at most 1e9 seconds)"}));
}

TEST(ServerTimeouts, ARequestThatEndsInTimeIsNotTouchedByItsDeadline) {
  // The deadline is removed when the request ends: a quick request with a short request_timeout
  // is not reported, and its connection (closed and maybe reused) is never shut down later.
  ErrorRecorder<TCPServer> server(local0(), ss::handler<EchoStream>(), {.request_timeout = 3s});
  ServerThread t(server);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(stu::stream_roundtrip(server.server_address), kTestStr);
  std::this_thread::sleep_for(3500ms);  // past every deadline: nothing may fire now
  EXPECT_EQ(stu::stream_roundtrip(server.server_address), kTestStr);
  t.stop();
  EXPECT_TRUE(server.seen().empty());
  server.server_close();
}

namespace {
// Closes its connection at once, then puts a new socket on the number the connection had (as
// the next accept() of another thread would) and waits past its own request_timeout: the
// deadline must not shut the new socket down. Used from the test's thread only.
bool g_reused_socket_still_works = false;
struct ClosesEarly : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;
  void handle() override {
    const int number = connection.fileno();
    connection.close();
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    if (pair[0] != number) {
      ASSERT_EQ(::dup2(pair[0], number), number);
      ::close(pair[0]);
      pair[0] = number;
    }
    std::this_thread::sleep_for(*request_timeout * 3);  // the deadline has run out by now
    char byte = 'x';
    const bool sent = ::send(pair[0], &byte, 1, MSG_NOSIGNAL) == 1;
    const bool got = sent && ::recv(pair[1], &byte, 1, MSG_DONTWAIT) == 1;
    g_reused_socket_still_works = got;
    ::close(pair[0]);
    ::close(pair[1]);
  }
};
}  // namespace

TEST(ServerTimeouts, ADeadlineNeverShutsDownASocketThatReusedItsConnectionsNumber) {
  // A handler that closes its connection early frees the descriptor's number; the next socket
  // opened gets it. The request's deadline belongs to the connection, not to the number.
  g_reused_socket_still_works = false;
  ErrorRecorder<TCPServer> server(local0(), ss::handler<ClosesEarly>(),
                                  {.request_timeout = 200ms});
  Socket c = stu::stream_client(server.server_address);
  server.handle_request();
  EXPECT_TRUE(g_reused_socket_still_works)
      << "the request's deadline shut down a socket that only shared its descriptor's number";
  server.server_close();
}

TEST(ServerTimeouts, RequestDeadlinesWorkInAChildForkedWhileTheWatchdogWaits) {
  // The parent's watchdog thread waits on its condition variable when fork() copies the
  // process. The child's requests with a request_timeout must neither hang (glibc's notify
  // waiting for the parent's waiter, absent in the child) nor lose their deadline.
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "TSan cannot start threads in the child of a multi-threaded fork (the release "
                  "and ASan suites run this test)";
#endif
  {
    TCPServer warm(local0(), ss::handler<EchoStream>(), {.request_timeout = 30s});
    Socket c = stu::stream_client(warm.server_address);
    c.sendall(kTestStr);
    warm.handle_request();  // the watchdog thread starts, then waits with nothing to do
    EXPECT_EQ(stu::read_line(c), kTestStr);
    warm.server_close();
  }
  // It is asleep on its condition variable (the only other thread; seen through /proc).
  ASSERT_TRUE(stu::wait_other_threads_asleep()) << "the watchdog thread never went to sleep";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    try {
      // Several quick requests: each deadline is the earliest when added, so each notifies.
      TCPServer quick(local0(), ss::handler<EchoStream>(), {.request_timeout = 30s});
      for (int i = 0; i < 5 && code == 0; ++i) {
        Socket c = stu::stream_client(quick.server_address);
        c.sendall(kTestStr);
        quick.handle_request();
        if (stu::read_line(c) != kTestStr) code = 2;
      }
      // And a silent client whose deadline must still end its request.
      ErrorRecorder<TCPServer> slow(local0(), ss::handler<EchoStream>(),
                                    {.request_timeout = 200ms});
      Socket silent = stu::stream_client(slow.server_address);
      slow.handle_request();
      if (code == 0 && (slow.errors.size() != 1 || slow.errors[0].kind != "timeout_error"))
        code = 3;
    } catch (...) {
      code = 4;
    }
    ::_exit(code);
  }
  int status = 0;
  pid_t done = 0;
  stu::wait_until([&] { return (done = ::waitpid(pid, &status, WNOHANG)) != 0; }, 20s);
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "the forked child hung in its requests' deadlines";
  }
  ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: a quick request failed; 3: the silent client's "
                                       "deadline did not end it; 4: an exception";
}

namespace {
bool g_finished = false;  // used from the test's thread only
struct RecordsFinish : EchoStream {
  using EchoStream::EchoStream;
  void finish() override {
    g_finished = true;
    EchoStream::finish();
  }
};
}  // namespace

TEST(ServerTimeouts, NoDescriptorLeftForTheDeadlineIsAnErrorOfThatRequestOnly) {
  // The deadline needs a descriptor of its own. With none left (EMFILE), that request ends with
  // an error naming request_timeout, finish() still runs, and the server serves the next one.
  ErrorRecorder<TCPServer> server(local0(), ss::handler<RecordsFinish>(),
                                  {.request_timeout = 5s});
  {
    // One ordinary request first (UBSan's type checks then know these types: on first sight
    // they need descriptors of their own): the request, and the error to come.
    Socket warm = stu::stream_client(server.server_address);
    warm.sendall(kTestStr);
    server.handle_request();
    ASSERT_EQ(stu::read_line(warm), kTestStr);
    try {
      ss::throw_os_error(EMFILE, "warm");
    } catch (const ss::socket_error& e) {
      (void)e.what();
    }
  }
  Socket c = stu::stream_client(server.server_address);
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free) + 1;  // room for the accepted connection only
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  g_finished = false;
  server.handle_request();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_EQ(server.errors.size(), 1u);
  EXPECT_NE(server.errors[0].what.find("request_timeout"), std::string::npos)
      << server.errors[0].what;
  EXPECT_TRUE(g_finished) << "setup() ran, so finish() runs";
  EXPECT_EQ(stu::read_line(c), "") << "that connection was closed";
  Socket next = stu::stream_client(server.server_address);
  next.sendall(kTestStr);
  server.handle_request();
  EXPECT_EQ(stu::read_line(next), kTestStr) << "the next request is served";
  server.server_close();
}
