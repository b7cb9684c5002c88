// Tests of asyncio_streams.hpp: StreamReader, StreamWriter, start_server, open_connection — the
// reads and their errors, drain's back-pressure, resets, failing handlers, and that closing a
// server cancels its handlers and frees their frames.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "reactor_test_util.hpp"
#include "socketserver/asyncio_streams.hpp"
#include "socketserver/socket.hpp"
#include "test_util.hpp"

namespace {

namespace ss = socketserver;
namespace aio = socketserver::asyncio;
using namespace std::chrono_literals;

// Every test's main task is bounded: it fails with timeout_error rather than hang.
template <class T>
T run_bounded(ss::Reactor& reactor, aio::Task<T> main) {
  return aio::run(reactor, aio::wait_for(std::move(main), 20s), false);
}

ss::ListenOptions local() { return {}; }

// ---- the reader alone (fed by hand) -------------------------------------------------------

TEST(AsyncioStreamReader, ReadexactlyGivesPartialAndExpectedAtTheEnd) {
  ss::Reactor reactor;
  auto main = [&]() -> aio::Task<> {
    aio::StreamReader r;
    r.feed_data("abcdef");
    EXPECT_EQ(co_await r.readexactly(4), "abcd");
    r.feed_eof();
    try {
      co_await r.readexactly(5);
      ADD_FAILURE() << "no IncompleteReadError";
    } catch (const aio::IncompleteReadError& e) {
      EXPECT_EQ(e.partial, "ef");
      EXPECT_EQ(e.expected, std::optional<std::size_t>(5));
    }
    EXPECT_TRUE(r.at_eof());
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreamReader, ReaduntilOverTheLimitLeavesTheBytesAndReadlineDropsThem) {
  ss::Reactor reactor;
  auto main = [&]() -> aio::Task<> {
    aio::StreamReader r(16);
    r.feed_data(std::string(20, 'x'));
    try {
      co_await r.readuntil("\n");
      ADD_FAILURE() << "no LimitOverrunError";
    } catch (const aio::LimitOverrunError& e) {
      EXPECT_EQ(e.consumed, 20u);
      EXPECT_EQ(e.limit(), 16u);
    }
    EXPECT_EQ(r.buffered(), 20u);  // readuntil leaves them
    // Separator found past the limit.
    r.feed_data("yy\nnext\n");
    EXPECT_THROW(co_await r.readuntil("\n"), aio::LimitOverrunError);
    // readline drops the long line (through its end) and the next one reads.
    EXPECT_THROW(co_await r.readline(), ss::line_too_long_error);
    EXPECT_EQ(co_await r.readline(), "next\n");
    // A line of exactly the limit with its separator passes.
    r.feed_data(std::string(16, 'z') + "\n");
    EXPECT_EQ(co_await r.readline(), std::string(16, 'z') + "\n");
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreamReader, ReaduntilMultiByteSeparatorAndIncompleteAtTheEnd) {
  ss::Reactor reactor;
  auto main = [&]() -> aio::Task<> {
    aio::StreamReader r;
    r.feed_data("GET / HTTP/1.0\r\n\r\nrest");
    EXPECT_EQ(co_await r.readuntil("\r\n\r\n"), "GET / HTTP/1.0\r\n\r\n");
    r.feed_eof();
    try {
      co_await r.readuntil("\r\n");
      ADD_FAILURE() << "no IncompleteReadError";
    } catch (const aio::IncompleteReadError& e) {
      EXPECT_EQ(e.partial, "rest");
      EXPECT_FALSE(e.expected.has_value());
    }
    EXPECT_THROW(co_await r.readuntil(""), std::invalid_argument);
    EXPECT_EQ(co_await r.readline(), "");  // at the end: ""
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreamReader, ReadWaitsForDataAndASecondWaitingReadIsALogicError) {
  ss::Reactor reactor;
  auto main = [&]() -> aio::Task<> {
    aio::StreamReader r;
    aio::TaskHandle<std::string> first = aio::create_task(reactor, r.read(100));
    EXPECT_FALSE(first.done());
    EXPECT_THROW(co_await r.read(1), std::logic_error);
    r.feed_data("hello");
    EXPECT_TRUE(first.done());
    EXPECT_EQ(first.result(), "hello");
    EXPECT_EQ(co_await r.read(0), "");
  };
  run_bounded(reactor, main());
}

// ---- moved-from readers and writers ----------------------------------------------------------

// The message of the std::logic_error `fn` throws; "" when it throws none.
template <class Fn>
std::string logic_error_of(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const std::logic_error& e) {
    return e.what();
  }
  return "";
}
// The same for an awaited task (a read, drain, wait_closed).
template <class T>
aio::Task<std::string> awaited_logic_error(aio::Task<T> task) {
  try {
    co_await std::move(task);
  } catch (const std::logic_error& e) {
    co_return e.what();
  }
  co_return "";
}
// The message names the object, the member and the move.
void expect_moved_from(const std::string& what, const std::string& member) {
  EXPECT_NE(what.find(member + ":"), std::string::npos) << member << ": " << what;
  EXPECT_NE(what.find("moved from"), std::string::npos) << member << ": " << what;
}

TEST(AsyncioStreamReader, EveryMemberOfAMovedFromReaderThrowsLogicError) {
  ss::Reactor reactor;
  auto main = [&]() -> aio::Task<> {
    aio::StreamReader r;
    r.feed_data("kept\n");
    aio::StreamReader taker(std::move(r));
    // clang-format off
    expect_moved_from(co_await awaited_logic_error(r.readline()), "StreamReader::readline");  // NOLINT(bugprone-use-after-move)
    expect_moved_from(co_await awaited_logic_error(r.readuntil("\n")), "StreamReader::readuntil");
    expect_moved_from(co_await awaited_logic_error(r.readexactly(1)), "StreamReader::readexactly");
    expect_moved_from(co_await awaited_logic_error(r.read(1)), "StreamReader::read");
    expect_moved_from(co_await awaited_logic_error(r.read(-1)), "StreamReader::read");
    expect_moved_from(logic_error_of([&] { (void)r.at_eof(); }), "StreamReader::at_eof");
    expect_moved_from(logic_error_of([&] { r.feed_data("x"); }), "StreamReader::feed_data");
    expect_moved_from(logic_error_of([&] { r.feed_eof(); }), "StreamReader::feed_eof");
    expect_moved_from(logic_error_of([&] { (void)r.exception(); }), "StreamReader::exception");
    expect_moved_from(logic_error_of([&] { (void)r.limit(); }), "StreamReader::limit");
    expect_moved_from(logic_error_of([&] { (void)r.buffered(); }), "StreamReader::buffered");
    // clang-format on
    // The reader it moved to has the stream; one assigned to the moved-from one works again.
    EXPECT_EQ(co_await taker.readline(), "kept\n");
    r = aio::StreamReader(8);
    EXPECT_EQ(r.limit(), 8u);
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreamWriter, EveryMemberOfAMovedFromWriterThrowsLogicError) {
  ss::Reactor reactor;
  auto echo = [](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    writer.write(co_await reader.readline());
  };
  aio::Server server = aio::start_server(reactor, echo, "127.0.0.1", 0, local());
  auto main = [&]() -> aio::Task<> {
    aio::StreamPair pair =
        co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
    aio::StreamReader& reader = pair.reader;
    aio::StreamWriter& w = pair.writer;
    aio::StreamWriter writer(std::move(w));
    // clang-format off
    expect_moved_from(logic_error_of([&] { w.write("x"); }), "StreamWriter::write");  // NOLINT(bugprone-use-after-move)
    expect_moved_from(logic_error_of([&] { w.writelines({}); }), "StreamWriter::writelines");
    expect_moved_from(logic_error_of([&] { w.write_eof(); }), "StreamWriter::write_eof");
    expect_moved_from(co_await awaited_logic_error(w.drain()), "StreamWriter::drain");
    expect_moved_from(logic_error_of([&] { w.close(); }), "StreamWriter::close");
    expect_moved_from(logic_error_of([&] { w.abort(); }), "StreamWriter::abort");
    expect_moved_from(logic_error_of([&] { (void)w.is_closing(); }), "StreamWriter::is_closing");
    expect_moved_from(co_await awaited_logic_error(w.wait_closed()), "StreamWriter::wait_closed");
    expect_moved_from(logic_error_of([&] { (void)w.peername(); }), "StreamWriter::peername");
    expect_moved_from(logic_error_of([&] { (void)w.sockname(); }), "StreamWriter::sockname");
    expect_moved_from(logic_error_of([&] { (void)w.transport(); }), "StreamWriter::transport");
    expect_moved_from(logic_error_of([&] { (void)w.get_peer_certificate(); }), "StreamWriter::get_peer_certificate");
    // clang-format on
    // None of it touched the connection: the writer it moved to still talks over it.
    EXPECT_FALSE(writer.is_closing());
    writer.write("still here\n");
    EXPECT_EQ(co_await reader.readline(), "still here\n");
    // A moved-from writer may be assigned to and destroyed (it closes nothing).
    w = std::move(writer);
    EXPECT_FALSE(w.is_closing());
    w.close();
    co_await w.wait_closed();
  };
  run_bounded(reactor, main());
}

// ---- over connections -----------------------------------------------------------------------

aio::Task<> echo_lines(aio::StreamReader& reader, aio::StreamWriter& writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;
    writer.write(line);
    co_await writer.drain();
  }
}

TEST(AsyncioStreams, EchoWithReadline) {
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, echo_lines, "127.0.0.1", 0, local());
  ASSERT_NE(server.address().port(), 0);
  EXPECT_TRUE(server.is_serving());
  auto main = [&]() -> aio::Task<> {
    auto [reader, writer] =
        co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
    EXPECT_EQ(writer.peername().port(), server.address().port());
    writer.write("hello\nworld\n");
    EXPECT_EQ(co_await reader.readline(), "hello\n");
    EXPECT_EQ(co_await reader.readline(), "world\n");
    writer.write("last line without end");
    writer.write_eof();
    EXPECT_EQ(co_await reader.read(-1), "last line without end");
    EXPECT_TRUE(reader.at_eof());
    writer.close();
    co_await writer.wait_closed();
    EXPECT_TRUE(writer.is_closing());
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreams, ReadexactlyOverAConnectionRaisesIncompleteReadError) {
  ss::Reactor reactor;
  auto handler = [](aio::StreamReader&, aio::StreamWriter& writer) -> aio::Task<> {
    writer.write("abc");
    co_return;  // the server closes the connection after "abc"
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, local());
  auto main = [&]() -> aio::Task<> {
    auto [reader, writer] =
        co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
    try {
      co_await reader.readexactly(5);
      ADD_FAILURE() << "no IncompleteReadError";
    } catch (const aio::IncompleteReadError& e) {
      EXPECT_EQ(e.partial, "abc");
      EXPECT_EQ(e.expected, std::optional<std::size_t>(5));
    }
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreams, ReadToTheEndKeepsTheReadersBufferBounded) {
  ss::Reactor reactor;
  constexpr std::size_t limit = 4096;
  std::size_t max_buffered = 0;
  std::size_t total = 0;
  auto handler = [&](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    // A slow reader: the transport must stop reading rather than fill memory.
    for (;;) {
      co_await aio::sleep(reactor, 1ms);
      max_buffered = std::max(max_buffered, reader.buffered());
      std::string chunk = co_await reader.read(1024);
      if (chunk.empty()) break;
      total += chunk.size();
    }
    writer.write(std::to_string(total) + "\n");
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, local(), limit);
  auto main = [&]() -> aio::Task<> {
    auto [reader, writer] =
        co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
    writer.write(std::string(300 * 1024, 'a'));
    writer.write_eof();
    EXPECT_EQ(co_await reader.read(-1), std::to_string(300 * 1024) + "\n");
  };
  run_bounded(reactor, main());
  EXPECT_EQ(total, 300u * 1024);
  // Paused past 2 * limit; one read of the reactor (64 KiB) may land on top.
  EXPECT_LE(max_buffered, 2 * limit + 64 * 1024);
}

TEST(AsyncioStreams, ReadMinusOneReadsToTheEnd) {
  ss::Reactor reactor;
  auto handler = [](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    std::string all = co_await reader.read(-1);
    writer.write(std::to_string(all.size()) + ":" + all.substr(0, 3) + all.substr(all.size() - 3));
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, local());
  auto main = [&]() -> aio::Task<> {
    auto [reader, writer] =
        co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
    std::string data = "abc" + std::string(500'000, '.') + "xyz";
    writer.write(data);
    writer.write_eof();
    EXPECT_EQ(co_await reader.read(-1), "500006:abcxyz");
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreams, DrainHoldsAWriterWhosePeerDoesNotReadWhileOthersAreServed) {
  ss::Reactor reactor;
  constexpr std::size_t high = 64 * 1024;
  constexpr std::size_t chunk = 16 * 1024;
  std::size_t max_queued = 0;
  std::size_t written = 0;
  bool in_drain = false;
  bool flood_saw_error = false;
  auto handler = [&](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    std::string first = co_await reader.readline();
    if (first != "flood\n") {
      writer.write(first);
      co_await echo_lines(reader, writer);
      co_return;
    }
    writer.transport().set_write_buffer_limits(high, high / 4);
    const std::string block(chunk, 'f');
    try {
      for (;;) {
        writer.write(block);
        written += block.size();
        max_queued = std::max(max_queued, writer.transport().write_buffer_size());
        in_drain = true;
        co_await writer.drain();
        in_drain = false;
      }
    } catch (const ss::connection_error&) {
      flood_saw_error = true;
    }
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, local());
  const int port = server.address().port();
  auto main = [&]() -> aio::Task<> {
    auto flood = co_await aio::open_connection(reactor, "127.0.0.1", port);
    flood.writer.write("flood\n");
    // Wait until the flooding handler is held at drain (the kernel's buffers full too).
    // (in_drain alone says little: the handler is parked nowhere else once it floods; held
    // means that nothing more was written over a whole sleep.)
    std::size_t settled_at = 0;
    bool held = false;
    for (int i = 0; i < 1000 && !held; ++i) {
      co_await aio::sleep(reactor, 5ms);
      held = in_drain && written == settled_at;
      settled_at = written;
    }
    EXPECT_TRUE(held) << "the writer never stopped at drain()";
    // Another connection is served meanwhile.
    for (int k = 0; k < 3; ++k) {
      auto other = co_await aio::open_connection(reactor, "127.0.0.1", port);
      other.writer.write("ping " + std::to_string(k) + "\n");
      EXPECT_EQ(co_await other.reader.readline(), "ping " + std::to_string(k) + "\n");
    }
    EXPECT_EQ(written, settled_at) << "the writer went on while its peer read nothing";
    // The peer goes away with a reset: the drain raises.
    flood.writer.transport().abort_connection();
    for (int i = 0; i < 2000 && !flood_saw_error; ++i) co_await aio::sleep(reactor, 5ms);
  };
  run_bounded(reactor, main());
  EXPECT_TRUE(flood_saw_error);
  EXPECT_GT(written, high);
  EXPECT_LE(max_queued, high + chunk);  // memory stays near the high-water mark
}

// Awaits `task`: "none" when it returns, "reset" for connection_reset_error, else what().
template <class T>
aio::Task<std::string> how_it_ends(aio::Task<T> task) {
  try {
    co_await std::move(task);
    co_return "none";
  } catch (const ss::connection_reset_error&) {
    co_return "reset";
  } catch (const std::exception& e) {
    co_return e.what();
  }
}

// Closes with SO_LINGER {on, 0}: the kernel sends RST instead of FIN.
void close_with_reset(ss::Socket& client) {
  struct linger lg {};
  lg.l_onoff = 1;
  lg.l_linger = 0;
  client.setsockopt(SOL_SOCKET, SO_LINGER,
                    std::string_view(reinterpret_cast<const char*>(&lg), sizeof lg));
  client.close();
}

TEST(AsyncioStreams, AResetWhileAReadWaitsRaisesConnectionResetError) {
  ss::Reactor reactor;
  std::string error_type;
  aio::StreamReader* waiting = nullptr;
  auto handler = [&](aio::StreamReader& reader, aio::StreamWriter&) -> aio::Task<> {
    waiting = &reader;
    error_type = co_await how_it_ends(reader.readline());
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, local());
  auto main = [&]() -> aio::Task<> {
    ss::Socket client(AF_INET, SOCK_STREAM);
    client.connect(server.address());
    client.sendall("no end of line");
    // Until the bytes have arrived and the readline waits for the rest of the line.
    for (int i = 0; i < 2000 && (waiting == nullptr || waiting->buffered() < 14); ++i) {
      co_await aio::sleep(reactor, 5ms);
    }
    if (waiting == nullptr) {
      ADD_FAILURE() << "no handler";
      co_return;
    }
    EXPECT_EQ(waiting->buffered(), 14u);
    close_with_reset(client);
    for (int i = 0; i < 2000 && error_type.empty(); ++i) co_await aio::sleep(reactor, 5ms);
  };
  run_bounded(reactor, main());
  EXPECT_EQ(error_type, "reset");
}

// The common drain (the buffer below its mark) is a finished task: no coroutine frame of its
// own.
TEST(AsyncioStreams, ADrainWithNothingToWaitForMakesNoCoroutineFrame) {
  ss::Reactor reactor;
  std::uint64_t frames_in_drain = 99;
  auto handler = [&](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    const std::string line = co_await reader.readline();
    writer.write(line);
    co_await writer.drain();  // the first in the program makes the one shared ended frame
    const std::uint64_t before = aio::detail::frames_allocated();
    for (int i = 0; i < 100; ++i) co_await writer.drain();
    frames_in_drain = aio::detail::frames_allocated() - before;
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, local());
  auto main = [&]() -> aio::Task<> {
    auto [reader, writer] =
        co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
    writer.write("hello\n");
    EXPECT_EQ(co_await reader.readline(), "hello\n");
  };
  run_bounded(reactor, main());
  EXPECT_EQ(frames_in_drain, 0u);
}

// drain() with nothing queued takes a fast path (a finished task, no frame); on a connection
// already lost it must still raise, as Python's does.
TEST(AsyncioStreams, ADrainAfterAResetRaisesConnectionResetErrorThoughNothingIsQueued) {
  ss::Reactor reactor;
  std::string read_error;
  std::string drain_error;
  bool closing = false;
  auto handler = [&](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    read_error = co_await how_it_ends(reader.readline());
    closing = writer.is_closing();  // lost, so nothing is queued: the fast path's case
    drain_error = co_await how_it_ends(writer.drain());
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, local());
  auto main = [&]() -> aio::Task<> {
    ss::Socket client(AF_INET, SOCK_STREAM);
    client.connect(server.address());
    client.sendall("partial");
    co_await aio::sleep(reactor, 20ms);
    close_with_reset(client);
    for (int i = 0; i < 2000 && drain_error.empty(); ++i) co_await aio::sleep(reactor, 5ms);
  };
  run_bounded(reactor, main());
  EXPECT_EQ(read_error, "reset");
  EXPECT_TRUE(closing);
  EXPECT_EQ(drain_error, "reset");
}

TEST(AsyncioStreams, AThrowingHandlerIsReportedInOneLineAndOthersGoOn) {
  ss::Reactor reactor;
  int requests = 0;
  auto handler = [&](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    std::string line = co_await reader.readline();
    if (requests++ % 2 == 1) throw std::runtime_error("boom " + std::to_string(requests));
    writer.write("ok " + line);
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, local());
  std::vector<std::string> replies;
  auto main = [&]() -> aio::Task<> {
    for (int i = 0; i < 6; ++i) {
      auto c = co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
      c.writer.write("r" + std::to_string(i) + "\n");
      replies.push_back(co_await c.reader.read(-1));
    }
  };
  testing::internal::CaptureStderr();
  run_bounded(reactor, main());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(replies, (std::vector<std::string>{"ok r0\n", "", "ok r2\n", "", "ok r4\n", ""}));
  std::vector<std::string> lines;
  for (std::size_t pos = 0, nl; (nl = err.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    lines.push_back(err.substr(pos, nl - pos));
  }
  ASSERT_EQ(lines.size(), 3u) << err;
  for (int k = 0; k < 3; ++k) {
    EXPECT_NE(lines[k].find("std::runtime_error: boom " + std::to_string(2 * k + 2)),
              std::string::npos)
        << lines[k];
    EXPECT_NE(lines[k].find("127.0.0.1:"), std::string::npos) << lines[k];
  }
}

// Counts live handler frames: one per frame, destroyed with it.
struct FrameCounter {
  static inline int live = 0;
  static inline int cancelled = 0;
  FrameCounter() { ++live; }
  ~FrameCounter() { --live; }
  FrameCounter(const FrameCounter&) = delete;
  FrameCounter& operator=(const FrameCounter&) = delete;
};

aio::Task<> parked_handler(aio::StreamReader& reader, aio::StreamWriter& writer) {
  FrameCounter counter;
  writer.write("ready\n");
  try {
    co_await reader.readline();
  } catch (const aio::CancelledError&) {
    ++FrameCounter::cancelled;
    throw;
  }
}

// Opens n connections to `port` and waits until each has its "ready" line.
aio::Task<std::vector<aio::StreamPair>> connect_many(ss::Reactor& reactor, int port, int n) {
  std::vector<aio::StreamPair> clients;
  clients.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    clients.push_back(co_await aio::open_connection(reactor, "127.0.0.1", port));
  }
  for (auto& c : clients) EXPECT_EQ(co_await c.reader.readline(), "ready\n");
  co_return clients;
}

TEST(AsyncioStreams, ClosingTheServerCancelsAThousandHandlersAndFreesEveryFrame) {
  // Both ends of 1,000 connections are in this process.
  if (rtu::raise_nofile() < 2200) GTEST_SKIP() << "needs 2,200 descriptors (RLIMIT_NOFILE)";
  FrameCounter::live = 0;
  FrameCounter::cancelled = 0;
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, parked_handler, "127.0.0.1", 0, local());
  auto main = [&]() -> aio::Task<> {
    std::vector<aio::StreamPair> clients =
        co_await connect_many(reactor, server.address().port(), 1000);
    EXPECT_EQ(FrameCounter::live, 1000);
    EXPECT_EQ(server.active_handlers(), 1000u);
    server.close();
    EXPECT_FALSE(server.is_serving());
    co_await server.wait_closed();
    EXPECT_EQ(FrameCounter::live, 0);
    EXPECT_EQ(FrameCounter::cancelled, 1000);
    // The clients see their connections end.
    for (auto& c : clients) EXPECT_EQ(co_await c.reader.read(-1), "");
  };
  EXPECT_NO_THROW(run_bounded(reactor, main()));
  EXPECT_EQ(server.active_handlers(), 0u);
}

// A handler that closed its writer and waits in wait_closed() for a peer that never reads: the
// server's close cancels it, and its connection is aborted (not left closing with 8 MiB queued).
TEST(AsyncioStreams, ClosingTheServerAbortsAConnectionStillClosingToAPeerThatDoesNotRead) {
  ss::Reactor reactor;
  bool closing = false;
  auto handler = [&](aio::StreamReader&, aio::StreamWriter& writer) -> aio::Task<> {
    writer.write(std::string(8u << 20, 'x'));  // far more than the kernel's buffers take
    writer.close();
    closing = true;
    co_await writer.wait_closed();  // the peer never reads: until the server aborts it
  };
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, local());
  ss::Socket silent(AF_INET, SOCK_STREAM);
  silent.connect(server.address());
  auto main = [&]() -> aio::Task<> {
    for (int i = 0; i < 1000 && !closing; ++i) co_await aio::sleep(reactor, 5ms);
    EXPECT_TRUE(closing);
    server.close();
    co_await server.wait_closed();
    for (int i = 0; i < 1000 && reactor.connection_count() != 0; ++i) {
      co_await aio::sleep(reactor, 5ms);
    }
    EXPECT_EQ(reactor.connection_count(), 0u) << "left closing to a peer that does not read";
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreams, DestroyingTheServerFreesFramesOfHandlersThatIgnoreCancellation) {
  FrameCounter::live = 0;
  ss::Reactor reactor;
  auto stubborn = [&reactor](aio::StreamReader&, aio::StreamWriter& writer) -> aio::Task<> {
    FrameCounter counter;
    writer.write("ready\n");
    for (int i = 0; i < 100; ++i) {
      try {
        co_await aio::sleep(reactor, 10s);
      } catch (const aio::CancelledError&) {  // NOLINT(bugprone-empty-catch): ignores it
      }
    }
  };
  std::optional<aio::Server> server;
  server.emplace(aio::start_server(reactor, stubborn, "127.0.0.1", 0, local()));
  auto main = [&]() -> aio::Task<> {
    std::vector<aio::StreamPair> clients =
        co_await connect_many(reactor, server->address().port(), 10);
    EXPECT_EQ(FrameCounter::live, 10);
    server->close();
    EXPECT_EQ(FrameCounter::live, 10);                // they caught it and sleep again
    EXPECT_EQ(reactor.shutdown_trigger_count(), 1u);  // theirs, while they are left
    server.reset();
    EXPECT_EQ(FrameCounter::live, 0);
    EXPECT_EQ(reactor.shutdown_trigger_count(), 0u);
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreams, StoppingTheReactorCancelsEveryHandler) {
  FrameCounter::live = 0;
  FrameCounter::cancelled = 0;
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, parked_handler, "127.0.0.1", 0, local());
  auto main = [&]() -> aio::Task<> {
    std::vector<aio::StreamPair> clients =
        co_await connect_many(reactor, server.address().port(), 20);
    EXPECT_EQ(FrameCounter::live, 20);
    reactor.stop();
    co_await aio::sleep(reactor, 30s);  // cancelled when the reactor stops
  };
  EXPECT_THROW(aio::run(reactor, main(), false), aio::CancelledError);
  EXPECT_EQ(FrameCounter::cancelled, 20);
  EXPECT_EQ(FrameCounter::live, 0);
  EXPECT_EQ(server.active_handlers(), 0u);
}

// A program that starts and closes servers on one running reactor must not grow: a Server's
// shutdown trigger (its handlers cancelled when the reactor stops) goes once it is closed and
// its handlers have ended; the Server object itself may stay.
TEST(AsyncioStreams, StartingAndClosingServersLeavesNoShutdownTriggerBehind) {
  ss::Reactor reactor;
  testutil::TempDir dir;
  auto echo = [](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    writer.write(co_await reader.readline());
    co_await reader.readline();  // parked until the client or the server's close ends it
  };
  // One connection served, then the server closed while its handler waits.
  const auto serve_once = [&](aio::Server& server, bool unix_socket) -> aio::Task<> {
    aio::Task<aio::StreamPair> connect =
        unix_socket ? aio::open_unix_connection(reactor, server.address())
                    : aio::open_connection(reactor, "127.0.0.1", server.address().port());
    aio::StreamPair c = co_await std::move(connect);
    c.writer.write("ping\n");
    EXPECT_EQ(co_await c.reader.readline(), "ping\n") << (unix_socket ? "unix" : "tcp");
    EXPECT_EQ(server.active_handlers(), 1u);
    server.close();
    co_await server.wait_closed();
  };
  auto main = [&]() -> aio::Task<> {
    const std::size_t before = reactor.shutdown_trigger_count();
    std::vector<aio::Server> closed;  // kept alive: close() alone removes the trigger
    for (int i = 0; i < 100; ++i) {
      const bool unix_socket = i % 4 == 3;
      aio::Server server =
          unix_socket ? aio::start_unix_server(
                            reactor, echo,
                            ss::Address::unix_path(dir.file("s" + std::to_string(i) + ".sock")))
                      : aio::start_server(reactor, echo, "127.0.0.1", 0, local());
      EXPECT_EQ(reactor.shutdown_trigger_count(), before + 1) << i;
      co_await serve_once(server, unix_socket);
      EXPECT_EQ(reactor.shutdown_trigger_count(), before) << "after server " << i;
      closed.push_back(std::move(server));
    }
    closed.clear();
    EXPECT_EQ(reactor.shutdown_trigger_count(), before);
  };
  run_bounded(reactor, main());
}

// A closed Server whose handlers caught CancelledError and read on keeps its trigger (the
// reactor's stop would cancel them again) until the last of them has ended.
TEST(AsyncioStreams, AClosedServerKeepsItsShutdownTriggerUntilItsLastHandlerEnds) {
  ss::Reactor reactor;
  int cancelled = 0;
  auto stubborn = [&](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    writer.write("ready\n");
    try {
      co_await aio::sleep(reactor, 30s);
    } catch (const aio::CancelledError&) {
      ++cancelled;
    }
    co_await reader.read(-1);  // until the client closes
  };
  aio::Server server = aio::start_server(reactor, stubborn, "127.0.0.1", 0, local());
  const std::size_t open = reactor.shutdown_trigger_count();
  auto main = [&]() -> aio::Task<> {
    std::vector<aio::StreamPair> clients =
        co_await connect_many(reactor, server.address().port(), 3);
    server.close();
    EXPECT_EQ(cancelled, 3);
    EXPECT_EQ(server.active_handlers(), 3u);
    EXPECT_EQ(reactor.shutdown_trigger_count(), open);  // still theirs
    clients.front().writer.close();
    for (int i = 0; i < 1000 && server.active_handlers() > 2; ++i) {
      co_await aio::sleep(reactor, 5ms);
    }
    EXPECT_EQ(server.active_handlers(), 2u);
    EXPECT_EQ(reactor.shutdown_trigger_count(), open);
    for (auto& c : clients) c.writer.close();
    co_await server.wait_closed();
    EXPECT_EQ(reactor.shutdown_trigger_count(), open - 1);
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreams, OpenConnectionToAClosedPortRaisesConnectionRefused) {
  ss::Reactor reactor;
  testutil::ClosedPort closed;
  auto main = [&]() -> aio::Task<std::string> {
    try {
      co_await aio::open_connection(reactor, "127.0.0.1", closed.address().port());
    } catch (const ss::connection_refused_error& e) {
      co_return e.what();
    }
    co_return "connected";
  };
  const std::string what = run_bounded(reactor, main());
  EXPECT_NE(what.find("connect to 127.0.0.1:"), std::string::npos) << what;
  EXPECT_NE(what.find("refused"), std::string::npos) << what;
}

TEST(AsyncioStreams, CancellingAnOpenConnectionGivesTheAttemptUp) {
  ss::Reactor reactor;
  auto drain_all = [](aio::StreamReader& reader, aio::StreamWriter&) -> aio::Task<> {
    co_await reader.read(-1);
  };
  aio::Server server = aio::start_server(reactor, drain_all, "127.0.0.1", 0, local());
  auto main = [&]() -> aio::Task<bool> {
    aio::TaskHandle<aio::StreamPair> attempt = aio::create_task(
        reactor, aio::open_connection(reactor, "127.0.0.1", server.address().port()));
    EXPECT_FALSE(attempt.done());  // waiting for the connect
    attempt.cancel();
    EXPECT_TRUE(attempt.cancelled());
    // Nothing of the attempt stays open: the server's side, if accepted, sees the end.
    for (int i = 0; i < 1000 && reactor.connection_count() > 0; ++i) {
      co_await aio::sleep(reactor, 5ms);
    }
    co_return reactor.connection_count() == 0;
  };
  EXPECT_TRUE(run_bounded(reactor, main()));
}

// A client that makes a connection per request for as long as it runs must not grow: the
// reactor keeps the Connector of connect_tcp (its handle may be used again), but
// open_connection's is freed once its connection has ended, refused, or been given up.
TEST(AsyncioStreams, OpenConnectionLeavesNoConnectorBehind) {
  ss::Reactor reactor;
  auto echo = [](aio::StreamReader& reader, aio::StreamWriter& writer) -> aio::Task<> {
    writer.write(co_await reader.readline());
  };
  aio::Server server = aio::start_server(reactor, echo, "127.0.0.1", 0, local());
  testutil::ClosedPort closed;
  auto main = [&]() -> aio::Task<std::size_t> {
    int answered = 0;
    for (int i = 0; i < 300; ++i) {
      auto [reader, writer] =
          co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
      writer.write("ping\n");
      if (co_await reader.readline() == "ping\n") ++answered;
      writer.close();
      co_await writer.wait_closed();
    }
    EXPECT_EQ(answered, 300);
    for (int i = 0; i < 50; ++i) {  // refused
      try {
        co_await aio::open_connection(reactor, "127.0.0.1", closed.address().port());
      } catch (const ss::connection_refused_error&) {
      }
    }
    for (int i = 0; i < 50; ++i) {  // given up
      aio::TaskHandle<aio::StreamPair> attempt = aio::create_task(
          reactor, aio::open_connection(reactor, "127.0.0.1", server.address().port()));
      attempt.cancel();
    }
    // The last ones are freed on the loop's next turns.
    for (int i = 0; i < 400 && reactor.connector_count() > 0; ++i) {
      co_await aio::sleep(reactor, 5ms);
    }
    co_return reactor.connector_count();
  };
  EXPECT_EQ(run_bounded(reactor, main()), 0u);
}

TEST(AsyncioStreams, UnixServerEchoes) {
  ss::Reactor reactor;
  testutil::TempDir dir;
  const ss::Address path = ss::Address::unix_path(dir.file("echo.sock"));
  aio::Server server = aio::start_unix_server(reactor, echo_lines, path);
  ASSERT_EQ(server.sockets().size(), 1u);
  auto main = [&]() -> aio::Task<> {
    auto [reader, writer] = co_await aio::open_unix_connection(reactor, path);
    writer.write("over unix\n");
    EXPECT_EQ(co_await reader.readline(), "over unix\n");
  };
  run_bounded(reactor, main());
}

TEST(AsyncioStreams, OpenUnixConnectionToNoSocketRaises) {
  ss::Reactor reactor;
  testutil::TempDir dir;
  auto main = [&]() -> aio::Task<bool> {
    try {
      co_await aio::open_unix_connection(reactor, ss::Address::unix_path(dir.file("none")));
    } catch (const ss::socket_error&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(run_bounded(reactor, main()));
}

TEST(AsyncioStreams, IdleTimeoutRaisesTimeoutErrorInTheWaitingRead) {
  ss::Reactor reactor;
  std::string error_type;
  aio::StreamReader* waiting = nullptr;
  auto handler = [&](aio::StreamReader& reader, aio::StreamWriter&) -> aio::Task<> {
    waiting = &reader;
    try {
      co_await reader.readline();
      error_type = "none";
    } catch (const ss::timeout_error&) {
      error_type = "timeout";
    }
  };
  ss::ListenOptions options;
  options.idle_timeout = 0.1s;
  aio::Server server = aio::start_server(reactor, handler, "127.0.0.1", 0, options);
  auto main = [&]() -> aio::Task<> {
    auto c = co_await aio::open_connection(reactor, "127.0.0.1", server.address().port());
    EXPECT_EQ(co_await c.reader.read(-1), "");  // the server closes the silent connection
  };
  run_bounded(reactor, main());
  EXPECT_EQ(error_type, "timeout");
}

}  // namespace
