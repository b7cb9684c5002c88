// A server that carries state, Python's usual pattern:
//
//   class Registry(ThreadingTCPServer):              struct Registry : ss::ThreadPoolTCPServer {
//       def __init__(self, *args):                     using
//       ThreadPoolTCPServer::ThreadPoolTCPServer;
//           super().__init__(*args)                    std::mutex mu;
//           self.names = {}                            std::map<std::string, std::string> names;
//                                                    };
//   ... in the handler: self.server.names[...]       server_as<Registry>().names[...]
//
// Covers BaseRequestHandler::server_as<T>() (a checked downcast) and subclassing the mixin
// aliases with their inherited constructors.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server_test_util.hpp"
#include "socketserver/builtins.hpp"
#include "socketserver/handler.hpp"
#include "socketserver/mixins.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;
using stu::local0;

// As a program that wrote `using namespace socketserver;` (or this using-declaration) sees it:
// then the brief spelling below, unqualified, is the one Python's `class Registry(Base)` becomes.
using ss::ThreadPoolTCPServer;

// The state: a name registry shared by every request (and every worker thread).
struct Registry : ss::ThreadPoolTCPServer {
  using ThreadPoolTCPServer::ThreadPoolTCPServer;
  std::mutex mu;
  std::map<std::string, std::string> names;
};

// "SET name value\n" answers "ok\n"; "GET name\n" answers the value (or "?") and "\n".
struct RegistryHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;
  void handle() override {
    Registry& registry = server_as<Registry>();  // Python: self.server
    for (const std::string& line : rfile) {
      const std::string text = ss::strip(line);
      const auto space = text.find(' ', 4);
      std::lock_guard<std::mutex> lock(registry.mu);
      if (text.starts_with("SET ") && space != std::string::npos) {
        registry.names[text.substr(4, space - 4)] = text.substr(space + 1);
        wfile.write("ok\n");
      } else if (text.starts_with("GET ")) {
        const auto it = registry.names.find(text.substr(4));
        wfile.write((it == registry.names.end() ? "?" : it->second) + "\n");
      }
    }
  }
};

std::string ask(ss::Socket& s, const std::string& line) {
  s.sendall(line + "\n");
  return stu::read_line(s);
}

// What the handler reached is the one server object, from several connections served by
// different worker threads at once: Python's self.server is the server instance.
TEST(ServerState, HandlersOfManyConnectionsShareTheSubclassState) {
  Registry server(local0(), ss::handler<RegistryHandler>());
  server.max_workers = 4;
  {
    stu::ServerThread thread(server);
    std::vector<ss::Socket> clients;
    for (int i = 0; i < 4; ++i) clients.push_back(stu::stream_client(server.server_address));
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(ask(clients[i], "SET n" + std::to_string(i) + " v" + std::to_string(i)), "ok\n");
    }
    for (int i = 0; i < 4; ++i) {  // each connection reads what the next one wrote
      const int other = (i + 1) % 4;
      EXPECT_EQ(ask(clients[i], "GET n" + std::to_string(other)),
                "v" + std::to_string(other) + "\n");
    }
    EXPECT_EQ(ask(clients[0], "GET nobody"), "?\n");
  }
  server.server_close();  // the handlers are done before `names` is destroyed
  std::lock_guard<std::mutex> lock(server.mu);
  EXPECT_EQ(server.names.size(), 4u);
  EXPECT_EQ(server.names["n2"], "v2");
}

// The inherited constructors are the alias's, options included: bind_and_activate = false
// then server_bind() / server_activate(), as in Python.
TEST(ServerState, SubclassOfAnAliasInheritsEveryConstructor) {
  Registry server(local0(), ss::handler<RegistryHandler>(), {.bind_and_activate = false});
  EXPECT_EQ(server.server_address.port(), 0);
  server.server_bind();
  server.server_activate();
  EXPECT_NE(server.server_address.port(), 0);
  {
    stu::ServerThread thread(server);
    ss::Socket c = stu::stream_client(server.server_address);
    EXPECT_EQ(ask(c, "SET a b"), "ok\n");
    EXPECT_EQ(ask(c, "GET a"), "b\n");
  }
  server.server_close();
}

// The same pattern over the other aliases: a threaded TCP server and a plain UDP server whose
// datagram handler counts into the server.
// Spelled with the namespace alias, as the tutorial does.
struct Counted : ss::ThreadingTCPServer {
  using ss::ThreadingTCPServer::ThreadingTCPServer;
  std::atomic<int> served{0};
};
// A class, not an alias: its own name reaches its constructors, as a handler's does.
struct CountedUdp : ss::UDPServer {
  using UDPServer::UDPServer;
  int served = 0;  // one thread: the loop's
};

TEST(ServerState, WorksForThreadingAndDatagramServersToo) {
  Counted tcp(local0(), ss::handler([](ss::StreamRequestHandler& self) {
                const int n = ++self.server_as<Counted>().served;
                self.wfile.write(std::to_string(n) + "\n");
              }));
  {
    stu::ServerThread thread(tcp);
    for (int i = 1; i <= 3; ++i) {
      ss::Socket c = stu::stream_client(tcp.server_address);
      EXPECT_EQ(stu::read_line(c), std::to_string(i) + "\n");
    }
  }
  tcp.server_close();
  EXPECT_EQ(tcp.served.load(), 3);

  CountedUdp udp(local0(), ss::handler([](ss::DatagramRequestHandler& self) {
                   self.wfile.write(std::to_string(++self.server_as<CountedUdp>().served));
                 }));
  {
    stu::ServerThread thread(udp);
    EXPECT_EQ(stu::dgram_roundtrip(udp.server_address, "x"), "1");
    EXPECT_EQ(stu::dgram_roundtrip(udp.server_address, "y"), "2");
  }
  udp.server_close();
}

// server_as<T>() is a checked cast: the server itself, or any class it derives from, is
// returned; any other class throws std::logic_error naming both classes.
TEST(ServerState, ServerAsIsACheckedDowncast) {
  Registry registry(local0(), ss::handler<RegistryHandler>());
  ss::TCPServer plain(local0(), ss::handler<RegistryHandler>());
  ss::Request request;
  const ss::Address peer("127.0.0.1", 1);

  ss::BaseRequestHandler on_registry(request, peer, registry);
  EXPECT_EQ(&on_registry.server_as<Registry>(), &registry);
  EXPECT_EQ(&on_registry.server_as<ss::ThreadPoolTCPServer>(), &registry);
  EXPECT_EQ(&on_registry.server_as<ss::TCPServer>(), &registry);
  EXPECT_EQ(&on_registry.server_as<ss::BaseServer>(), &registry);

  ss::BaseRequestHandler on_plain(request, peer, plain);
  EXPECT_EQ(&on_plain.server_as<ss::TCPServer>(), &plain);
  try {
    (void)on_plain.server_as<Registry>();
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("server_as<"), std::string::npos) << what;
    EXPECT_NE(what.find("Registry"), std::string::npos) << what;
    EXPECT_NE(what.find("socketserver::TCPServer"), std::string::npos) << what;
  }
  EXPECT_THROW((void)on_plain.server_as<ss::UDPServer>(), std::logic_error);
  registry.server_close();
  plain.server_close();
}

// A handler written for the wrong server fails that request only: the logic_error goes to
// handle_error (reported with its text), and the server goes on serving the next client.
TEST(ServerState, WrongServerClassFailsTheRequestNotTheServer) {
  ss::ThreadingTCPServer server(local0(), ss::handler<RegistryHandler>());
  stu::StderrCapture capture;
  {
    stu::ServerThread thread(server);
    for (int i = 0; i < 2; ++i) {
      ss::Socket c = stu::stream_client(server.server_address);
      c.sendall("GET a\n");
      EXPECT_EQ(stu::read_line(c), "") << "the handler threw: no reply, the connection ends";
    }
    EXPECT_TRUE(stu::wait_until([&] { return server.counters().total == 2; }));
  }
  server.server_close();
  const std::string err = capture.stop();
  EXPECT_GE(stu::count_of(err, "server_as<"), 1) << err;  // identical reports may be condensed
  EXPECT_NE(err.find("socketserver::ThreadingMixIn<socketserver::TCPServer>"), std::string::npos)
      << err;
}

}  // namespace
