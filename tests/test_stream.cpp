// test_stream.cpp — stream.hpp: SocketReader, SocketWriter, SocketFile / Socket::makefile.
#include "socketserver/stream.hpp"

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "reactor_test_util.hpp"
#include "test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using ss::Socket;
using ss::SocketReader;
using ss::SocketWriter;

namespace {

// A connected Unix stream pair: `in` is read by the code under test, `out` feeds it.
struct Pipe {
  Socket in;
  Socket out;
  Pipe() : Pipe(ss::socketpair()) {}
  explicit Pipe(std::pair<Socket, Socket> p) : in(std::move(p.first)), out(std::move(p.second)) {
    in.settimeout(10s);  // nothing in these tests may hang
    out.settimeout(10s);
  }
  // Makes reads time out after 50 ms and sends `data` (a start that a read will wait past).
  void time_out_after(std::string_view data) {
    in.settimeout(50ms);
    out.sendall(data);
  }
  // Waits (bounded) until the reader has taken everything sent so far, so that the next send
  // is a chunk of its own; throws (a Background's error) when it does not.
  void taken() {
    if (!testutil::wait_until([this] { return testutil::bytes_unread(in.fileno()) == 0; })) {
      throw std::runtime_error("the reader did not take what was sent");
    }
  }
  // Sends `data` and closes the writing end: the reader sees it, then end of stream.
  void feed_and_close(std::string_view data) {
    out.sendall(data);
    out.close();
  }
};

// Runs `fn` on a thread and rethrows nothing: failures are returned as text ("" = fine).
class Background {
 public:
  template <class Fn>
  explicit Background(Fn fn)
      : thread_([this, fn]() mutable {
          try {
            fn();
          } catch (const std::exception& e) {
            error_ = e.what();
          }
        }) {}
  std::string join() {
    if (thread_.joinable()) thread_.join();
    return error_;
  }
  ~Background() { join(); }

 private:
  std::string error_;
  std::jthread thread_;
};

// Receives until end of stream (bounded by the socket's timeout and a count).
std::string drain(Socket& s) {
  std::string out;
  for (int i = 0; i < 1000000; ++i) {
    std::string chunk = s.recv(1 << 16);
    if (chunk.empty()) break;
    out += chunk;
  }
  return out;
}

}  // namespace

// ---- SocketReader: read ------------------------------------------------------------------------

TEST(SocketReaderRead, BlocksUntilNBytesAcrossSeveralChunks) {
  Pipe p;
  Background writer([&p] {
    for (const char* piece : {"abc", "de", "fgh", "ij"}) {
      p.out.sendall(piece);
      p.taken();
    }
  });
  SocketReader r(p.in);
  EXPECT_EQ(r.read(6), "abcdef");
  EXPECT_EQ(r.read(4), "ghij");
  EXPECT_EQ(writer.join(), "");
}

TEST(SocketReaderRead, ReturnsFewerBytesOnlyAtEndOfStream) {
  Pipe p;
  p.feed_and_close("short");
  SocketReader r(p.in);
  EXPECT_EQ(r.read(100), "short");
  EXPECT_EQ(r.read(100), "");
}

TEST(SocketReaderRead, ReadAllUntilEndOfStream) {
  Pipe p;
  const std::string payload = testutil::pattern(300000);
  Background writer([&p, &payload] { p.feed_and_close(payload); });
  SocketReader r(p.in);
  EXPECT_EQ(r.read(2), payload.substr(0, 2));
  const std::string rest = r.read();
  EXPECT_EQ(writer.join(), "");
  EXPECT_TRUE(rest == payload.substr(2)) << rest.size();
  EXPECT_EQ(r.read(), "");
}

TEST(SocketReaderRead, Read1ReturnsWhatIsAvailableWithOneRecv) {
  Pipe p;
  p.out.sendall("hello");
  SocketReader r(p.in);
  EXPECT_EQ(r.read1(3), "hel");
  EXPECT_EQ(r.read1(100), "lo");  // from the buffer, without waiting for more
  p.feed_and_close("!");
  EXPECT_EQ(r.read1(100), "!");
  EXPECT_EQ(r.read1(100), "");
}

TEST(SocketReaderRead, Read1DoesNotWaitForMoreThanOneChunk) {
  Pipe p;
  p.out.sendall("part");
  SocketReader r(p.in);
  p.in.settimeout(2s);
  EXPECT_EQ(r.read1(1000), "part");  // a second recv would time out
}

// Python's unbuffered makefile("rb", 0).read(n) returns what arrived by end of stream without
// reserving n bytes first (ours zero-filled n: read of 2 GiB with 3 bytes sent made RSS go
// 2 -> 2,051 MiB). The buffer grows as bytes arrive, at most 1 MiB per recv.
TEST(SocketReaderRead, HugeUnbufferedReadKeepsMemoryBoundedByWhatArrives) {
  Pipe p;
  p.feed_and_close("abc");
  SocketReader r(p.in, 0);
  const long rss_before = rtu::vm_rss_kib();
  EXPECT_EQ(r.read(std::size_t{2} << 30), "abc");
  const long rss_after = rtu::vm_rss_kib();
  ASSERT_GT(rss_before, 0) << "no VmRSS in /proc/self/status";
  EXPECT_LT(rss_after - rss_before, 64L * 1024) << rss_before << " KiB -> " << rss_after << " KiB";
  EXPECT_EQ(r.read(std::size_t{2} << 30), "");
  // Buffered, the same bound holds.
  Pipe q;
  q.feed_and_close("xyz");
  SocketReader b(q.in);
  EXPECT_EQ(b.read(std::size_t{2} << 30), "xyz");
  EXPECT_LT(rtu::vm_rss_kib() - rss_before, 64L * 1024);
}

// ---- SocketReader: readline ----------------------------------------------------------------------

TEST(SocketReaderReadline, LinesWithNewlineLastWithoutAndEmptyAtEnd) {
  Pipe p;
  p.feed_and_close("a\nbb\n\nccc");
  SocketReader r(p.in);
  EXPECT_EQ(r.readline(), "a\n");
  EXPECT_EQ(r.readline(), "bb\n");
  EXPECT_EQ(r.readline(), "\n");
  EXPECT_EQ(r.readline(), "ccc");
  EXPECT_EQ(r.readline(), "");
  EXPECT_EQ(r.readline(), "");
}

TEST(SocketReaderReadline, LineSplitAcrossChunks) {
  Pipe p;
  Background writer([&p] {
    p.out.sendall("hel");
    p.taken();
    p.out.sendall("lo\nwor");
    p.taken();
    p.feed_and_close("ld\n");
  });
  SocketReader r(p.in, 4);  // a tiny buffer: many fills per line
  EXPECT_EQ(r.readline(), "hello\n");
  EXPECT_EQ(r.readline(), "world\n");
  EXPECT_EQ(r.readline(), "");
  EXPECT_EQ(writer.join(), "");
}

TEST(SocketReaderReadline, LimitReturnsTheLineInPieces) {
  Pipe p;
  p.feed_and_close("abcdefgh\nxy\n");
  SocketReader r(p.in);
  EXPECT_EQ(r.readline(3), "abc");
  EXPECT_EQ(r.readline(3), "def");
  EXPECT_EQ(r.readline(3), "gh\n");
  EXPECT_EQ(r.readline(3), "xy\n");
  EXPECT_EQ(r.readline(3), "");
}

TEST(SocketReaderReadline, LimitLargerThanMaxLineIsNotAnError) {
  Pipe p;
  const std::string line(5000, 'x');
  p.feed_and_close(line + "\n");
  SocketReader r(p.in, 512, 100);
  EXPECT_EQ(r.readline(10000), line + "\n");
}

TEST(SocketReaderReadline, LineLongerThanMaxLineThrowsLineTooLong) {
  Pipe p;
  p.feed_and_close(std::string(200, 'x') + "\nnext\n");
  SocketReader r(p.in, 64, 100);
  EXPECT_EQ(r.max_line(), 100U);
  try {
    (void)r.readline();
    FAIL() << "no exception";
  } catch (const ss::line_too_long_error& e) {
    EXPECT_EQ(e.limit(), 100U);
  }
}

TEST(SocketReaderReadline, DefaultMaxLineIs64KiB) {
  Pipe p;
  SocketReader r(p.in);
  EXPECT_EQ(r.max_line(), ss::default_max_line);
  EXPECT_EQ(ss::default_max_line, 65536U);
  const std::string ok(65535, 'a');
  Background writer([&p, &ok] {
    try {
      p.feed_and_close(ok + "\n" + std::string(70000, 'b') + "\n");
    } catch (const ss::connection_error&) {  // the reader may close first
    }
  });
  EXPECT_EQ(r.readline(), ok + "\n");  // exactly max_line bytes with its newline
  EXPECT_THROW((void)r.readline(), ss::line_too_long_error);
  p.in.close();
  EXPECT_EQ(writer.join(), "");
}

TEST(SocketReaderReadline, EndlessLineKeepsMemoryBounded) {
  Pipe p;
  SocketReader r(p.in);
  r.set_max_line(1024);
  EXPECT_EQ(r.max_line(), 1024U);
  // 16 MiB without a newline; the writer blocks once the reader stops reading.
  Background writer([&p] {
    try {
      p.out.sendall(std::string(16 << 20, 'x'));
    } catch (const ss::connection_error&) {  // the reader closed its end: expected
    } catch (const ss::timeout_error&) {
    }
  });
  EXPECT_THROW((void)r.readline(), ss::line_too_long_error);
  EXPECT_LE(r.buffered(), 1024 + ss::default_buffer_size);
  p.in.shutdown(SHUT_RDWR);
  p.in.close();
  EXPECT_EQ(writer.join(), "");
}

TEST(SocketReaderReadline, TimeoutPropagates) {
  Pipe p;
  p.in.settimeout(50ms);
  p.out.sendall("no newline yet");
  SocketReader r(p.in);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW((void)r.readline(), ss::timeout_error);
  EXPECT_THROW((void)r.read(100), ss::timeout_error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// Python refuses to read again from a buffered file after a timeout ("cannot read from timed
// out object": its buffer may have lost bytes). Ours documents the other choice (stream.hpp):
// nothing is consumed by a call that times out, so the next read goes on with every byte.
TEST(SocketReaderAfterTimeout, ReadGoesOnWithTheBytesReceivedBeforeTheTimeout) {
  Pipe p;
  p.time_out_after("abc");
  SocketReader r(p.in);
  EXPECT_THROW((void)r.read(6), ss::timeout_error);
  EXPECT_EQ(r.buffered(), 3U) << "the bytes that came stay buffered";
  p.out.sendall("def");
  EXPECT_EQ(r.read(6), "abcdef");
  p.out.sendall("gh");
  EXPECT_THROW((void)r.read(), ss::timeout_error) << "read() to end of stream times out too";
  p.feed_and_close("ij");
  EXPECT_EQ(r.read(), "ghij");
}

TEST(SocketReaderAfterTimeout, ReadlineGoesOnWithThePartialLine) {
  Pipe p;
  p.time_out_after("ab");
  SocketReader r(p.in, 0);  // unbuffered too: what was received is kept
  EXPECT_THROW((void)r.readline(), ss::timeout_error);
  p.out.sendall("c\nd");
  EXPECT_EQ(r.readline(), "abc\n");
  EXPECT_THROW((void)r.readline(), ss::timeout_error);
  p.feed_and_close("e\n");
  EXPECT_EQ(r.readline(), "de\n");
  EXPECT_EQ(r.readline(), "");
}

TEST(SocketReaderAfterTimeout, ReadlinesPutsBackTheLinesItHadRead) {
  Pipe p;
  p.time_out_after("one\ntwo\nthr");
  SocketReader r(p.in);
  EXPECT_THROW((void)r.readlines(), ss::timeout_error);
  EXPECT_EQ(r.buffered(), 11U);
  p.feed_and_close("ee\n");
  EXPECT_EQ(r.readlines(), (std::vector<std::string>{"one\n", "two\n", "three\n"}));
}

TEST(SocketReaderAfterTimeout, MakefileReadsOnAfterATimeout) {
  Pipe p;
  p.time_out_after("x");
  auto f = p.in.makefile("rb");
  EXPECT_THROW((void)f.read(2), ss::timeout_error);
  p.out.sendall("y");
  EXPECT_EQ(f.read(2), "xy");
}

// ---- SocketReader: readlines and iteration -------------------------------------------------------

TEST(SocketReaderReadlines, AllLinesUntilEndOfStream) {
  Pipe p;
  p.feed_and_close("a\nb\nc");
  SocketReader r(p.in);
  EXPECT_EQ(r.readlines(), (std::vector<std::string>{"a\n", "b\n", "c"}));
  EXPECT_TRUE(r.readlines().empty());
}

TEST(SocketReaderReadlines, HintStopsOnceTheTotalReachesIt) {
  Pipe p;
  p.feed_and_close("aa\nbb\ncc\ndd\n");
  SocketReader r(p.in);
  EXPECT_EQ(r.readlines(1), (std::vector<std::string>{"aa\n"}));
  EXPECT_EQ(r.readlines(4), (std::vector<std::string>{"bb\n", "cc\n"}));
  EXPECT_EQ(r.readline(), "dd\n");
}

TEST(SocketReaderReadlines, LongLineThrows) {
  Pipe p;
  p.feed_and_close("ok\n" + std::string(100, 'z') + "\n");
  SocketReader r(p.in, 64, 50);
  EXPECT_THROW((void)r.readlines(), ss::line_too_long_error);
  // The line read before the over-long one is buffered again, the over-long line's first 50
  // bytes are dropped, and what follows them is still there (nothing else lost).
  EXPECT_EQ(r.readline(), "ok\n");
  EXPECT_EQ(r.read(), std::string(50, 'z') + "\n");
}

TEST(SocketReaderIteration, RangeForVisitsEveryLine) {
  Pipe p;
  p.feed_and_close("one\ntwo\nthree");
  SocketReader r(p.in);
  std::vector<std::string> lines;
  for (const std::string& line : r) {
    lines.push_back(line);
    if (lines.size() > 10) break;
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"one\n", "two\n", "three"}));
}

TEST(SocketReaderIteration, EmptyStreamHasNoLines) {
  Pipe p;
  p.out.close();
  SocketReader r(p.in);
  EXPECT_TRUE(r.begin() == r.end());
}

// ---- SocketWriter ---------------------------------------------------------------------------------

TEST(SocketWriterUnbuffered, WriteSendsEverythingBeforeReturning) {
  Pipe p;
  SocketWriter w(p.out);
  EXPECT_EQ(w.write("hello"), 5U);
  EXPECT_EQ(w.pending(), 0U);
  p.in.settimeout(0s);  // the data must already be there
  EXPECT_EQ(p.in.recv(100), "hello");
}

TEST(SocketWriterUnbuffered, LargeWriteUnderSignalsArrivesComplete) {
  auto c = testutil::tcp_conn();
  c.server.settimeout(20s);
  const std::string payload = testutil::pattern(16 << 20);
  testutil::Collector reader(c.server, payload.size(), true);
  SocketWriter w(c.client);
  std::size_t written = 0;
  int signals = 0;
  try {
    signals = testutil::under_signals([&] { written = w.write(payload); });
  } catch (const std::exception& e) {
    ADD_FAILURE() << "write under signals threw: " << e.what();
    c.client.shutdown(SHUT_RDWR);  // let the reader finish now
  }
  EXPECT_EQ(written, payload.size());
  EXPECT_TRUE(reader.join() == payload) << reader.join().size() << " bytes";
  EXPECT_EQ(reader.error(), "");
  EXPECT_GT(signals, 0);
}

TEST(SocketWriterUnbuffered, BrokenPipeIsReported) {
  Pipe p;
  p.in.close();
  SocketWriter w(p.out);
  EXPECT_THROW(w.write("x"), ss::broken_pipe_error);
}

TEST(SocketWriterBuffered, HoldsDataUntilFlush) {
  Pipe p;
  p.in.settimeout(0s);
  SocketWriter w(p.out, 1024);
  EXPECT_EQ(w.write("hello"), 5U);
  EXPECT_EQ(w.write(" world"), 6U);
  EXPECT_EQ(w.pending(), 11U);
  EXPECT_THROW((void)p.in.recv(100), ss::blocking_io_error);  // nothing sent yet
  w.flush();
  EXPECT_EQ(w.pending(), 0U);
  EXPECT_EQ(p.in.recv(100), "hello world");
}

TEST(SocketWriterBuffered, DestructorFlushes) {
  Pipe p;
  {
    SocketWriter w(p.out, 1024);
    w.write("bye");
  }
  p.out.close();
  EXPECT_EQ(drain(p.in), "bye");
}

TEST(SocketWriterBuffered, FullBufferIsSentInOrder) {
  Pipe p;
  {
    SocketWriter w(p.out, 16);
    for (int i = 0; i < 10; ++i) w.write("0123456789");  // crosses the buffer many times
    EXPECT_LT(w.pending(), 16U);
    w.write(std::string(100, 'L'));                       // larger than the buffer
    w.write("end");
    w.flush();
  }
  p.out.close();
  std::string expect;
  for (int i = 0; i < 10; ++i) expect += "0123456789";
  EXPECT_EQ(drain(p.in), expect + std::string(100, 'L') + "end");
}

TEST(SocketWriterBuffered, FlushReportsErrors) {
  Pipe p;
  SocketWriter w(p.out, 1024);
  w.write("lost");
  p.in.close();
  EXPECT_THROW(w.flush(), ss::broken_pipe_error);
}

TEST(SocketWriterWritelines, SendsEveryLineInOrder) {
  Pipe p;
  {
    SocketWriter w(p.out);
    w.writelines({"a\n", "bb\n", "ccc\n"});
  }
  p.out.close();
  EXPECT_EQ(drain(p.in), "a\nbb\nccc\n");
}

// ---- SocketFile / makefile ------------------------------------------------------------------------

TEST(Makefile, ReadModeReadsAndRefusesWrites) {
  Pipe p;
  p.feed_and_close("line1\nline2\nrest");
  ss::SocketFile f = p.in.makefile("rb");
  EXPECT_TRUE(f.readable());
  EXPECT_FALSE(f.writable());
  EXPECT_EQ(f.readline(), "line1\n");
  EXPECT_EQ(f.read(3), "lin");
  EXPECT_EQ(f.readline(10), "e2\n");
  EXPECT_EQ(f.read(), "rest");
  EXPECT_THROW(f.write("x"), std::logic_error);
  EXPECT_THROW(f.writelines({"x"}), std::logic_error);
}

TEST(Makefile, UnbufferedWriteModeWritesAndRefusesReads) {
  Pipe p;
  {
    ss::SocketFile f = p.out.makefile("wb", 0);
    EXPECT_TRUE(f.writable());
    EXPECT_FALSE(f.readable());
    EXPECT_EQ(f.write("now"), 3U);
    p.in.settimeout(0s);
    EXPECT_EQ(p.in.recv(10), "now");  // unbuffered: already sent
    EXPECT_THROW((void)f.read(1), std::logic_error);
    EXPECT_THROW((void)f.readline(), std::logic_error);
    EXPECT_THROW((void)f.readlines(), std::logic_error);
    EXPECT_THROW((void)f.begin(), std::logic_error);
  }
}

TEST(Makefile, ReadWriteModeDoesBoth) {
  auto c = testutil::tcp_conn();
  c.client.settimeout(10s);
  c.server.settimeout(10s);
  ss::SocketFile f = c.client.makefile("rw");
  EXPECT_TRUE(f.readable());
  EXPECT_TRUE(f.writable());
  f.write("ping\n");
  f.flush();
  SocketReader server_in(c.server);
  EXPECT_EQ(server_in.readline(), "ping\n");
  c.server.sendall("pong\n");
  EXPECT_EQ(f.readline(), "pong\n");
}

TEST(Makefile, IterationOverAReadFile) {
  Pipe p;
  p.feed_and_close("x\ny\n");
  ss::SocketFile f = p.in.makefile("r");
  std::vector<std::string> lines;
  for (const std::string& line : f) {
    lines.push_back(line);
    if (lines.size() > 10) break;
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"x\n", "y\n"}));
}

TEST(Makefile, BadModeThrowsInvalidArgument) {
  Pipe p;
  for (const char* mode : {"x", "rx", "a", "r+", "wt"}) {
    SCOPED_TRACE(mode);
    EXPECT_THROW((void)p.in.makefile(mode), std::invalid_argument);
  }
}

TEST(Makefile, ClosedSocketThrowsEbadf) {
  Pipe p;
  p.in.close();
  try {
    (void)p.in.makefile("r");
    FAIL() << "no exception";
  } catch (const ss::socket_error& e) {
    EXPECT_EQ(e.errno_value(), EBADF);
  }
}

TEST(SocketFileMode, EmptyAndBinaryOnlyModesRead) {
  // Python: reading = "r" in mode or not writing.
  auto [a, b] = ss::socketpair();
  ss::SocketFile f = b.makefile("");
  EXPECT_TRUE(f.readable());
  EXPECT_FALSE(f.writable());
  ss::SocketFile g = b.makefile("b");
  EXPECT_TRUE(g.readable());
  a.sendall("x\n");
  EXPECT_EQ(f.readline(), "x\n");
}

// ---- makefile keeps the connection open (Python's socket._io_refs) ---------------------------

// Python: f = s.makefile("rwb"); s.close(); f.write(...); f.readline() still work, and the
// descriptor closes only when f closes (socket.close() waits for _io_refs to reach 0).
TEST(MakefileSharesTheDescriptor, FileReadsAndWritesAfterTheSocketIsClosed) {
  Pipe p;
  const int fd = p.in.fileno();
  ss::SocketFile f = p.in.makefile("rwb");
  p.in.close();
  EXPECT_EQ(p.in.fileno(), -1) << "the Socket itself reads as closed";
  EXPECT_THROW((void)p.in.recv(1), ss::socket_error);
  EXPECT_TRUE(testutil::fd_is_open(fd)) << "the file keeps the descriptor";
  p.out.sendall("to file\n");
  EXPECT_EQ(f.readline(), "to file\n");
  f.write("from file\n");
  f.flush();
  SocketReader peer(p.out);
  EXPECT_EQ(peer.readline(), "from file\n");
  EXPECT_FALSE(f.closed());
  f.close();
  EXPECT_TRUE(f.closed());
  EXPECT_FALSE(testutil::fd_is_open(fd)) << "the last one to close closes the descriptor";
  EXPECT_EQ(peer.read(1), "") << "the peer sees end of stream";
  f.close();  // a second close does nothing
}

// Python: each makefile() adds a reference; the descriptor closes with the last of the socket
// and its files, in whatever order they close.
TEST(MakefileSharesTheDescriptor, DescriptorClosesWithTheLastOfSocketAndFiles) {
  Pipe p;
  const int fd = p.in.fileno();
  std::optional<ss::SocketFile> reader(p.in.makefile("rb"));
  std::optional<ss::SocketFile> writer(p.in.makefile("wb"));
  reader->close();
  EXPECT_TRUE(testutil::fd_is_open(fd));
  p.in.close();
  EXPECT_TRUE(testutil::fd_is_open(fd)) << "the writer still holds it";
  writer->write("last");
  writer.reset();  // destruction flushes and lets go, as close()
  EXPECT_FALSE(testutil::fd_is_open(fd));
  EXPECT_EQ(drain(p.out), "last");
}

// The Socket may be moved or destroyed while its file lives (ours referred to the Socket and
// failed with EBADF, or worse, after it went away).
TEST(MakefileSharesTheDescriptor, FileOutlivesAMovedAndDestroyedSocket) {
  Pipe p;
  std::optional<ss::SocketFile> f;
  {
    Socket moved(std::move(p.in));
    f.emplace(moved.makefile("r"));
    Socket again(std::move(moved));
  }  // every Socket gone
  p.out.sendall("still here\n");
  EXPECT_EQ(f->readline(), "still here\n");
}

// The timeout is the socket's, also when changed after makefile() (Python's file calls the
// socket's recv_into, so it sees the socket's current timeout).
TEST(MakefileSharesTheDescriptor, TimeoutSetOnTheSocketLaterAppliesToTheFile) {
  Pipe p;
  ss::SocketFile f = p.in.makefile("r");
  p.in.settimeout(50ms);
  EXPECT_THROW((void)f.read(1), ss::timeout_error);
  p.in.settimeout(0s);
  EXPECT_THROW((void)f.read(1), ss::blocking_io_error);
  p.in.close();
  p.out.sendall("z");
  EXPECT_EQ(f.read(1), "z");
}

// Python: a closed file raises ValueError("I/O operation on closed file"); after
// sock.detach() its files fail with EBADF and the descriptor belongs to the caller.
TEST(MakefileSharesTheDescriptor, ClosedFileAndDetachedSocketRefuseIo) {
  Pipe p;
  ss::SocketFile f = p.in.makefile("rw");
  f.close();
  for (const auto& call : std::vector<std::function<void()>>{
           [&] { (void)f.read(1); }, [&] { (void)f.readline(); }, [&] { f.write("x"); }}) {
    try {
      call();
      ADD_FAILURE() << "no exception";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("I/O operation on closed file"), std::string::npos);
    }
  }
  ss::SocketFile g = p.in.makefile("r");
  const int fd = p.in.detach();
  try {
    (void)g.read(1);
    ADD_FAILURE() << "no exception";
  } catch (const ss::socket_error& e) {
    EXPECT_EQ(e.errno_value(), EBADF);
  }
  g.close();
  EXPECT_TRUE(testutil::fd_is_open(fd)) << "detach gave it to us: the file must not close it";
  ::close(fd);
}
