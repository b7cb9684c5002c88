// test_hostile_unix.cpp — a Unix-socket peer cannot end a server by what it is (issue 9 item 1).
//
// The peer of the issue binds its own socket to the longest name the kernel takes — an abstract
// name of a NUL and 107 bytes (Python: c.bind(b"\0" + b"A" * 107)), or a path of 108 bytes that
// fills sun_path with no terminator — then connects or sends. Every Unix server must serve it
// (client_address shows its name, as Python's makesockaddr returns it) and then serve a normal
// client. The hostile peers are raw sockets, so the test does not rely on Address to build them.
// And whatever else get_request throws concerns that one request: the loop goes on.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "reactor_test_util.hpp"
#include "server_test_util.hpp"
#include "socketserver/mixins.hpp"
#include "socketserver/reactor.hpp"
#include "socketserver/server.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using ss::Address;
using stu::ServerThread;

namespace {

constexpr std::size_t kSunPath = sizeof(sockaddr_un::sun_path);  // 108

/// Echoes one line prefixed with the client's address as the server saw it.
struct WhoStream : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;
  void handle() override { wfile.write(client_address.to_string() + "|" + rfile.readline()); }
};
struct WhoDatagram : ss::DatagramRequestHandler {
  using DatagramRequestHandler::DatagramRequestHandler;
  void handle() override { wfile.write(client_address.to_string() + "|" + rfile.readline()); }
};

/// One raw descriptor, closed on scope exit.
struct RawFd {
  int fd = -1;
  explicit RawFd(int f) : fd(f) {}
  ~RawFd() {
    if (fd >= 0) ::close(fd);
  }
  RawFd(const RawFd&) = delete;
  RawFd& operator=(const RawFd&) = delete;
};

/// The two hostile names: sun_path bytes exactly as bound (no NUL added), and the text the
/// server must show for them.
struct HostileName {
  std::string sun_path;  // what bind() gets after sun_family
  std::string shown;     // client_address.to_string() on the server
};

/// An abstract name of a NUL and 107 bytes, unique to this test run.
HostileName abstract_107(const std::string& tag) {
  std::string name = testutil::unique_abstract(tag);
  name.resize(kSunPath - 1, 'A');
  return {std::string(1, '\0') + name, "@" + name};
}

/// A path of exactly 108 bytes inside `dir`: it fills sun_path and has no terminator.
HostileName path_108(const testutil::TempDir& dir, const std::string& tag) {
  std::string path = dir.file(tag + "-");
  path.resize(kSunPath, 'p');
  return {path, path};
}

/// A raw AF_UNIX socket of `type` bound to `name` with length offsetof(sun_path) + its bytes.
int bind_raw(int type, const std::string& name) {
  const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sun), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Receives until '\n' or end (at most 10 s and 64 KiB).
std::string read_reply(int fd) {
  std::string got;
  for (int i = 0; i < 1000 && got.find('\n') == std::string::npos && got.size() < 65536; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

/// The hostile peer on a stream: bind, connect to `server`, send a line, return the reply.
std::string hostile_stream_exchange(const HostileName& name, const Address& server) {
  RawFd c(bind_raw(SOCK_STREAM, name.sun_path));
  if (c.fd < 0) return std::string("bind: ") + std::strerror(errno);
  if (::connect(c.fd, server.sockaddr_ptr(), server.sockaddr_len()) != 0) {
    return std::string("connect: ") + std::strerror(errno);
  }
  const std::string line = "hostile\n";
  if (::send(c.fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return std::string("send: ") + std::strerror(errno);
  }
  return read_reply(c.fd);
}

/// The hostile peer on datagrams: bind, send one to `server`, return the reply sent back to
/// the hostile name.
std::string hostile_dgram_exchange(const HostileName& name, const Address& server) {
  RawFd c(bind_raw(SOCK_DGRAM, name.sun_path));
  if (c.fd < 0) return std::string("bind: ") + std::strerror(errno);
  const std::string line = "hostile\n";
  if (::sendto(c.fd, line.data(), line.size(), 0, server.sockaddr_ptr(), server.sockaddr_len()) !=
      static_cast<ssize_t>(line.size())) {
    return std::string("sendto: ") + std::strerror(errno);
  }
  return read_reply(c.fd);
}

/// A normal (unnamed) stream client after the hostile ones: the server is still serving.
std::string normal_stream_exchange(const Address& server) {
  return stu::stream_roundtrip(server, "normal\n");
}

/// Runs `server` and checks it serves both hostile stream peers, then a normal one.
void check_stream_server_survives(ss::BaseServer& server, const Address& where,
                                  const testutil::TempDir& dir) {
  ServerThread t(server);
  for (const HostileName& name : {abstract_107("stream"), path_108(dir, "stream")}) {
    EXPECT_EQ(hostile_stream_exchange(name, where), name.shown + "|hostile\n");
    EXPECT_FALSE(t.returned()) << t.error();
  }
  EXPECT_EQ(normal_stream_exchange(where), "(unnamed)|normal\n");
  EXPECT_FALSE(t.returned()) << t.error();
  t.stop();
  EXPECT_EQ(t.error(), "");
}

}  // namespace

// ---- the reproducer against every Unix server ----------------------------------------------

TEST(HostileUnixPeer, UnixStreamServerServesItThenOthers) {
  testutil::TempDir dir;
  ss::UnixStreamServer server(Address::unix_path(dir.file("s")), ss::handler<WhoStream>());
  check_stream_server_survives(server, server.server_address, dir);
}

TEST(HostileUnixPeer, ThreadingUnixStreamServerServesItThenOthers) {
  testutil::TempDir dir;
  ss::ThreadingUnixStreamServer server(Address::unix_path(dir.file("s")), ss::handler<WhoStream>());
  check_stream_server_survives(server, server.server_address, dir);
  server.server_close();
}

// Workers accept for themselves here (try_accept): a worker must not abort the process.
TEST(HostileUnixPeer, ThreadPoolUnixStreamServerServesItThenOthers) {
  testutil::TempDir dir;
  ss::ThreadPoolUnixStreamServer server(Address::unix_path(dir.file("s")),
                                        ss::handler<WhoStream>());
  check_stream_server_survives(server, server.server_address, dir);
  server.server_close();
}

// The same peer as a datagram sender; the reply goes back to its name.
TEST(HostileUnixPeer, UnixDatagramServerServesItThenOthers) {
  testutil::TempDir dir;
  ss::UnixDatagramServer server(Address::unix_path(dir.file("d")), ss::handler<WhoDatagram>());
  ServerThread t(server);
  for (const HostileName& name : {abstract_107("dgram"), path_108(dir, "dgram")}) {
    EXPECT_EQ(hostile_dgram_exchange(name, server.server_address), name.shown + "|hostile\n");
    EXPECT_FALSE(t.returned()) << t.error();
  }
  const std::string normal = stu::dgram_roundtrip(server.server_address, "normal\n");
  EXPECT_NE(normal.find("|normal\n"), std::string::npos) << normal;
  EXPECT_FALSE(t.returned()) << t.error();
  t.stop();
  EXPECT_EQ(t.error(), "");
}

namespace {
/// Twisted-style: answers each line with the peer's address (transport.getPeer()).
struct WhoProtocol : ss::Protocol {
  std::string buffer;
  void data_received(std::string_view data) override {
    buffer.append(data);
    for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
      transport().write(transport().get_peer().to_string() + "|" + buffer.substr(0, nl + 1));
      buffer.erase(0, nl + 1);
    }
  }
};
}  // namespace

TEST(HostileUnixPeer, ReactorListenUnixServesItThenOthers) {
  testutil::TempDir dir;
  const Address where = Address::unix_path(dir.file("r"));
  ss::Reactor reactor;
  reactor.listen_unix(where, ss::Factory::for_protocol<WhoProtocol>());
  rtu::ReactorThread loop(reactor);
  for (const HostileName& name : {abstract_107("reactor"), path_108(dir, "reactor")}) {
    EXPECT_EQ(hostile_stream_exchange(name, where), name.shown + "|hostile\n");
  }
  EXPECT_EQ(normal_stream_exchange(where), "(unnamed)|normal\n");
  loop.stop();
  EXPECT_EQ(loop.error(), "");
}

// ---- anything else get_request throws stays with that request ------------------------------

namespace {
/// Accepts, then throws something that is not a socket_error for the first connection (as a
/// subclass's get_request, or a conversion of a peer's address, might).
template <class Server>
struct ThrowsOnceServer : Server {
  using Server::Server;
  std::atomic<int> calls{0};
  std::pair<ss::Request, Address> get_request() override {
    auto got = Server::get_request();
    if (calls.fetch_add(1) == 0) throw std::runtime_error("not a socket_error from get_request");
    return got;
  }
};

template <class Server>
void check_get_request_throw_is_per_request() {
  testutil::TempDir dir;
  ThrowsOnceServer<Server> server(Address::unix_path(dir.file("s")), ss::handler<WhoStream>());
  stu::StderrCapture err;
  {
    ServerThread t(server);
    // The first client's connection is dropped (its request failed): it reads end of stream
    // (it sends nothing, so that the close is a FIN, not a reset for unread bytes).
    ss::Socket first = stu::stream_client(server.server_address);
    EXPECT_EQ(stu::read_line(first), "");
    EXPECT_EQ(normal_stream_exchange(server.server_address), "(unnamed)|normal\n");
    EXPECT_FALSE(t.returned()) << t.error();
    t.stop();
    EXPECT_EQ(t.error(), "");
  }
  const std::string text = err.stop();
  EXPECT_NE(text.find("not a socket_error from get_request"), std::string::npos) << text;
  server.server_close();
}
}  // namespace

// Python's _handle_request_noblock returns on OSError from get_request; anything else would end
// serve_forever. Here nothing from get_request ends the loop: it is reported, and the loop goes on.
TEST(GetRequestThrows, BaseServerLoopReportsAndGoesOn) {
  check_get_request_throw_is_per_request<ss::UnixStreamServer>();
}

// The pool's workers call get_request themselves (try_accept): the same holds there.
TEST(GetRequestThrows, ThreadPoolWorkerReportsAndGoesOn) {
  check_get_request_throw_is_per_request<ss::ThreadPoolUnixStreamServer>();
}
