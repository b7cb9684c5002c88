// Issue 14, "Bad input", over real connections: what a peer on the same machine can send a
// coroutine server (start_server) — a line far over the reader's limit, a reset while the
// handler writes and drains, bytes that are not TLS records after a completed handshake — ends
// that peer's handler only, with the error Python's asyncio raises, memory bounded, while
// another client is served.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "reactor_test_util.hpp"
#include "socketserver/asyncio_streams.hpp"
#include "socketserver/errors.hpp"
#include "socketserver/socket.hpp"
#include "socketserver/ssl.hpp"
#include "ssl_test_util.hpp"
#include "test_util.hpp"

namespace {

namespace ss = socketserver;
namespace aio = socketserver::asyncio;
using namespace std::chrono_literals;

// Sanitizers keep freed memory aside (ASan's quarantine) or shadow it: RSS is checked only in
// a plain build.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kPlainBuild = false;
#else
constexpr bool kPlainBuild = true;
#endif

template <class T>
T run_bounded(ss::Reactor& reactor, aio::Task<T> main) {
  return aio::run(reactor, aio::wait_for(std::move(main), 20s), false);
}

// What each handler ended with, by connection order.
struct Outcomes {
  std::vector<std::string> how;
};

// Echoes lines; records how it ended ("eof", "reset", "ssl", or the message).
aio::StreamHandler recording_echo(Outcomes& out) {
  return [&out](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    const std::size_t me = out.how.size();
    out.how.emplace_back("running");
    try {
      for (;;) {
        std::string line = co_await reader.readline();
        if (line.empty()) break;
        writer.write(line);
        co_await writer.drain();
      }
      out.how[me] = "eof";
    } catch (const ss::connection_reset_error&) {
      out.how[me] = "reset";
    } catch (const ss::ssl_error&) {
      out.how[me] = "ssl";
    } catch (const std::exception& e) {
      out.how[me] = e.what();
    }
  };
}

// Until the handler of connection `i` has ended (bounded).
aio::Task<> until_ended(ss::Reactor& reactor, const Outcomes& out, std::size_t i) {
  for (int n = 0; n < 2000 && (out.how.size() <= i || out.how[i] == "running"); ++n) {
    co_await aio::sleep(reactor, 5ms);
  }
}

// A good client: one line echoed, over a loop's own connection.
aio::Task<bool> echoed(ss::Reactor& reactor, int port, const std::string& text) {
  auto [reader, writer] = co_await aio::open_connection(reactor, "127.0.0.1", port);
  writer.write(text + "\n");
  const bool ok = co_await reader.readline() == text + "\n";
  writer.close();
  co_await writer.wait_closed();
  co_return ok;
}

// Exactly n bytes from a TLS socket, fewer at its end (bounded by its timeout and a count).
std::string recv_exactly_tls(ss::SSLSocket& s, std::size_t n) {
  std::string got;
  for (int i = 0; i < 1000 && got.size() < n; ++i) {
    std::string part = s.recv(n - got.size());
    if (part.empty()) break;
    got += part;
  }
  return got;
}

void reset(ss::Socket& s) {
  struct linger lg {};
  lg.l_onoff = 1;
  lg.l_linger = 0;
  s.setsockopt(SOL_SOCKET, SO_LINGER,
               std::string_view(reinterpret_cast<const char*>(&lg), sizeof lg));
  s.close();
}

// A 16 MiB line: each readline that meets it raises LimitOverrunError and drops what it held
// (Python's behaviour), so a handler that carries on reads the line after it on the same
// connection (after the giant line's last piece, which is under the limit). The process's RSS grows
// by far less than the line: the reader never held it.
TEST(AsyncioHostile, ASixteenMebibyteLineIsDroppedInPiecesAndTheNextLineIsServed) {
  ss::Reactor reactor;
  constexpr std::size_t kLimit = 4096;
  int too_long = 0;
  std::string how;
  auto handler = [&](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    try {
      for (int i = 0; i < 100000; ++i) {
        std::string line;
        try {
          line = co_await reader.readline();
        } catch (const aio::LimitOverrunError&) {
          ++too_long;
          continue;  // the piece is dropped; read on
        }
        if (line.empty()) break;
        writer.write(line);
      }
      how = "eof";
    } catch (const std::exception& e) {
      how = e.what();
    }
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, {}, kLimit);
  const int port = server.address().port();
  const long rss_before = rtu::vm_rss_kib();
  std::string reply;
  auto main = [&]() -> aio::Task<> {
    ss::Socket flood(AF_INET, SOCK_STREAM);
    flood.connect({"127.0.0.1", port});
    flood.setblocking(false);
    const std::string chunk(64 * 1024, 'x');
    constexpr std::size_t kLine = 16u << 20;
    std::size_t sent = 0;
    for (int i = 0; i < 100000 && sent < kLine; ++i) {
      bool full = false;
      try {
        sent += flood.send(std::string_view(chunk).substr(0, std::min(chunk.size(), kLine - sent)));
      } catch (const ss::blocking_io_error&) {
        full = true;  // let the server read (no await inside a handler)
      }
      if (full) co_await aio::sleep(reactor, 1ms);
    }
    EXPECT_EQ(sent, kLine);
    flood.setblocking(true);
    flood.sendall("\nhello\n");
    flood.setblocking(false);
    for (int i = 0; i < 2000 && reply.find("hello\n") == std::string::npos; ++i) {
      bool empty = false;
      try {
        reply += flood.recv(1024);
      } catch (const ss::blocking_io_error&) {
        empty = true;
      }
      if (empty) co_await aio::sleep(reactor, 5ms);
    }
    flood.close();
    for (int i = 0; i < 2000 && how.empty(); ++i) co_await aio::sleep(reactor, 5ms);
    EXPECT_TRUE(co_await echoed(reactor, port, "another client"));
  };
  run_bounded(reactor, main());
  const long grown_kib = rtu::vm_rss_kib() - rss_before;
  // As Python: each piece met while the line is over the limit is dropped, and the line's
  // last piece (under the limit, ended by its "\n") comes back as a line; then "hello".
  EXPECT_TRUE(reply.ends_with("hello\n")) << reply.size();
  EXPECT_LE(reply.size(), kLimit + 1 + 6) << "more than the line's last piece came back";
  EXPECT_GE(too_long, 1);
  EXPECT_EQ(how, "eof");
  if (kPlainBuild) {
    EXPECT_LT(grown_kib, 4 * 1024) << "the reader held the line: RSS grew " << grown_kib << " KiB";
  }
}

TEST(AsyncioHostile, AResetWhileTheHandlerWritesAndDrainsRaisesConnectionResetError) {
  ss::Reactor reactor;
  std::string how;
  std::size_t written = 0;
  int connections = 0;
  auto handler = [&](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    std::string first = co_await reader.readline();
    if (connections++ > 0) {  // the good client after it: an echo
      writer.write(first);
      co_return;
    }
    const std::string block(64 * 1024, 'y');
    try {
      // The client reads nothing and then resets: drain waits at the high mark until the
      // reset, then raises; a write after it is ignored (the connection is gone).
      for (int i = 0; i < 100000; ++i) {
        writer.write(block);
        written += block.size();
        co_await writer.drain();
      }
      how = "never raised";
    } catch (const ss::connection_reset_error&) {
      how = "reset";
      writer.write("after the reset");  // ignored, no throw
    } catch (const std::exception& e) {
      how = e.what();
    }
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0);
  const int port = server.address().port();
  auto main = [&]() -> aio::Task<> {
    ss::Socket client(AF_INET, SOCK_STREAM);
    client.connect({"127.0.0.1", port});
    client.sendall("go\n");
    // Until the handler is held at drain (nothing written for a while).
    std::size_t before = 0;
    for (int i = 0; i < 400; ++i) {
      before = written;
      co_await aio::sleep(reactor, 20ms);
      if (written > 0 && written == before) break;
    }
    EXPECT_TRUE(how.empty()) << how;
    reset(client);
    for (int i = 0; i < 2000 && how.empty(); ++i) co_await aio::sleep(reactor, 5ms);
    EXPECT_TRUE(co_await echoed(reactor, port, "after"));
  };
  run_bounded(reactor, main());
  EXPECT_EQ(how, "reset");
  // Held at the mark: far less than what 100,000 blocks would be.
  EXPECT_LT(written, 64u << 20);
}

TEST(AsyncioHostile, BytesThatAreNotTlsAfterTheHandshakeEndThatHandlerOnly) {
  SSLTEST_NEED_PKI();
  ss::Reactor reactor;
  Outcomes out;
  ss::SSLContext server_ctx(ss::PROTOCOL_TLS_SERVER);
  server_ctx.load_cert_chain(ssltest::pki().server_cert, ssltest::pki().server_key);
  aio::Server server = aio::start_server(reactor, recording_echo(out), "127.0.0.1", 0, server_ctx);
  const int port = server.address().port();
  // A real TLS client in a thread of its own (blocking: the server's handshake runs in this
  // loop), then garbage straight onto its TCP socket.
  std::atomic<bool> echoed_first{false};
  std::atomic<bool> client_done{false};
  std::thread hostile([&] {
    try {
      ss::Socket sock(AF_INET, SOCK_STREAM);
      sock.settimeout(10.0);
      sock.connect({"127.0.0.1", port});
      ss::SSLContext ctx =
          ss::create_default_context(ss::Purpose::SERVER_AUTH, ssltest::pki().ca_cert);
      ss::SSLSocket tls = ctx.wrap_socket(std::move(sock), false, "localhost");
      tls.sendall("hello\n");
      echoed_first = recv_exactly_tls(tls, 6) == "hello\n";
      const std::string garbage = "GET / HTTP/1.0\r\n\r\nthis is not a TLS record\n";
      ::send(tls.fileno(), garbage.data(), garbage.size(), MSG_NOSIGNAL);
      try {
        (void)tls.recv(100);  // until the server closes it
      } catch (const std::exception&) {
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the hostile client: " << e.what();
    }
    client_done = true;
  });
  auto main = [&]() -> aio::Task<> {
    for (int i = 0; i < 2000 && !client_done.load(); ++i) co_await aio::sleep(reactor, 5ms);
    co_await until_ended(reactor, out, 0);
    // A good TLS client is served after it.
    auto [reader, writer] = co_await aio::open_connection(
        reactor, "127.0.0.1", port,
        ss::create_default_context(ss::Purpose::SERVER_AUTH, ssltest::pki().ca_cert), "localhost");
    writer.write("second\n");
    EXPECT_EQ(co_await reader.readline(), "second\n");
    writer.close();
    co_await writer.wait_closed();
    co_await until_ended(reactor, out, 1);
  };
  testing::internal::CaptureStderr();
  run_bounded(reactor, main());
  testing::internal::GetCapturedStderr();
  hostile.join();
  EXPECT_TRUE(echoed_first.load());
  ASSERT_GE(out.how.size(), 2u);
  // The record layer fails: an ssl_error, or the connection closed under the read (the
  // reactor reports the TLS failure and closes it: a reset).
  EXPECT_TRUE(out.how[0] == "ssl" || out.how[0] == "reset") << out.how[0];
  EXPECT_EQ(out.how[1], "eof");
}

}  // namespace
