// test_line_receiver.cpp — LineReceiver: delimiters (default, custom, split across reads),
// several lines per read, max_length, raw mode, clear_line_buffer, send_line. Most cases drive
// the protocol through a StringTransport, as Twisted's own test_basic does (read boundaries are
// exact and no reactor is needed); a few run over a real connection.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reactor_test_util.hpp"
#include "socketserver/testing.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;
using rtu::ReactorThread;

struct Config {
  std::string delimiter = "\r\n";
  std::size_t max_length = 16384;
  bool close_on_exceeded = true;  // call the default line_length_exceeded
};

struct Seen {
  std::mutex mu;
  std::vector<std::string> lines;
  std::vector<std::string> exceeded;
  std::string raw;
  std::string cleared;
  std::atomic<int> lost{0};
  ss::LineReceiver* self = nullptr;

  std::vector<std::string> get_lines() {
    std::lock_guard<std::mutex> lock(mu);
    return lines;
  }
  std::vector<std::string> get_exceeded() {
    std::lock_guard<std::mutex> lock(mu);
    return exceeded;
  }
};

// Replies "got:<line>"; "RAW" switches to raw mode until "END" (the rest goes back through
// line mode); "CLEAR" calls clear_line_buffer() from line_received.
struct LineServer : ss::LineReceiver {
  LineServer(std::shared_ptr<Seen> seen, Config cfg) : seen_(std::move(seen)), cfg_(cfg) {
    delimiter = cfg.delimiter;
    max_length = cfg.max_length;
  }
  void connection_made() override {
    std::lock_guard<std::mutex> lock(seen_->mu);
    seen_->self = this;
  }
  void line_received(std::string_view line) override {
    {
      std::lock_guard<std::mutex> lock(seen_->mu);
      seen_->lines.emplace_back(line);
    }
    if (line == "RAW") set_raw_mode();
    if (line == "PAUSE") pause_producing();
    if (line == "CLEAR") {
      std::string c = clear_line_buffer();
      std::lock_guard<std::mutex> lock(seen_->mu);
      seen_->cleared = c;
    }
    send_line("got:" + std::string(line));
  }
  void raw_data_received(std::string_view data) override {
    const std::size_t end = data.find("END");
    {
      std::lock_guard<std::mutex> lock(seen_->mu);
      seen_->raw.append(data.substr(0, end));
    }
    if (end != std::string_view::npos) set_line_mode(data.substr(end + 3));
  }
  void line_length_exceeded(std::string_view line) override {
    {
      std::lock_guard<std::mutex> lock(seen_->mu);
      seen_->exceeded.emplace_back(line);
    }
    if (cfg_.close_on_exceeded) LineReceiver::line_length_exceeded(line);
  }
  void connection_lost(const ss::Reason&) override {
    {
      std::lock_guard<std::mutex> lock(seen_->mu);
      seen_->self = nullptr;
    }
    seen_->lost.fetch_add(1);
  }
  std::shared_ptr<Seen> seen_;
  Config cfg_;
};

// A reactor on a thread with one LineServer connection and its client: for the cases that
// need real I/O (the close reaching the peer, a paused transport holding a socket's data).
struct Fixture {
  explicit Fixture(Config cfg = {})
      : seen(std::make_shared<Seen>()),
        port(reactor.listen_tcp(0, ss::Factory::for_protocol<LineServer>(seen, cfg),
                                rtu::local_opts())),
        loop(reactor),
        client(stu::stream_client(port.get_host())) {
    client.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    EXPECT_TRUE(rtu::wait_until([this] {
      std::lock_guard<std::mutex> lock(seen->mu);
      return seen->self != nullptr;
    }));
  }
  ss::Reactor reactor;
  std::shared_ptr<Seen> seen;
  ss::ListeningPort& port;
  ReactorThread loop;
  ss::Socket client;
};

using Lines = std::vector<std::string>;

TEST(LineReceiver, LineOverMaxLengthClosesByDefault) {
  Config cfg;
  cfg.max_length = 10;
  Fixture f(cfg);
  f.client.sendall("0123456789\r\n");  // exactly max_length: fine
  EXPECT_EQ(testutil::recv_exactly(f.client, 16), "got:0123456789\r\n");
  f.client.sendall("0123456789A\r\n");
  EXPECT_EQ(stu::read_all(f.client), "");  // closed
  // As Twisted: the over-long line with its delimiter and everything after it.
  EXPECT_EQ(f.seen->get_exceeded(), (Lines{"0123456789A\r\n"}));
  EXPECT_TRUE(rtu::wait_until([&] { return f.seen->lost.load() == 1; }));
  EXPECT_EQ(f.seen->get_lines(), (Lines{"0123456789"}));
}

// ---- over a StringTransport (Twisted's proto_helpers), no socket ---------------------------

// Records each callback as "[line]", "<raw>" or "!exceeded!"; "RAW" switches to raw mode until
// "END"; "CLEAR" calls clear_line_buffer(); "SWITCH" clears the buffer and feeds it back with
// set_line_mode(rest) (Twisted delivers those bytes once).
struct Recorder : ss::LineReceiver {
  explicit Recorder(Config cfg = {}) : cfg_(cfg) {
    delimiter = cfg.delimiter;
    max_length = cfg.max_length;
  }
  void line_received(std::string_view line) override {
    log += "[" + std::string(line) + "]";
    lines.emplace_back(line);
    if (line == "RAW") set_raw_mode();
    if (line == "CLEAR") cleared = clear_line_buffer();
    if (line == "SWITCH") set_line_mode(clear_line_buffer());
    if (line == "FEED") set_line_mode("fed" + delimiter);
    if (line == "PAUSE") pause_producing();
    send_line("got:" + std::string(line));
  }
  void raw_data_received(std::string_view data) override {
    const std::size_t end = data.find("END");
    raw.append(data.substr(0, end));
    log += "<" + std::string(data) + ">";
    if (end != std::string_view::npos) set_line_mode(data.substr(end + 3));
  }
  void line_length_exceeded(std::string_view line) override {
    exceeded.emplace_back(line);
    log += "!" + std::string(line) + "!";
    if (cfg_.close_on_exceeded) LineReceiver::line_length_exceeded(line);
  }
  Config cfg_;
  std::string log;
  std::vector<std::string> lines;
  std::vector<std::string> exceeded;
  std::string raw;
  std::string cleared;
};

// A Recorder connected to a StringTransport (Twisted: proto.makeConnection(StringTransport())).
struct Wired {
  explicit Wired(Config cfg = {}) : proto(cfg) { proto.make_connection(tr); }
  /// One data_received per piece: read boundaries exactly as given.
  void feed(std::initializer_list<std::string_view> pieces) {
    for (std::string_view p : pieces) proto.data_received(p);
  }
  ss::StringTransport tr;
  Recorder proto;
};

// These four ran over a reactor thread and a socket, with sleeps between sends to make
// separate reads likely; a StringTransport makes every read boundary exact.

TEST(LineReceiver, DefaultDelimiterSeveralLinesInOneRead) {
  Wired w;
  w.feed({"one\r\ntwo\r\nthree\r\n"});
  EXPECT_EQ(w.tr.value(), "got:one\r\ngot:two\r\ngot:three\r\n");
  EXPECT_EQ(w.proto.lines, (Lines{"one", "two", "three"}));
}

TEST(LineReceiver, DelimiterSplitAcrossSocketReads) {
  Wired w;
  w.feed({"xy\r", "\nz", "\r\n"});  // three reads
  EXPECT_EQ(w.tr.value(), "got:xy\r\ngot:z\r\n");
  EXPECT_EQ(w.proto.lines, (Lines{"xy", "z"}));
}

TEST(LineReceiver, UnterminatedBufferOverMaxLengthCloses) {
  Config cfg;
  cfg.max_length = 10;
  Wired w(cfg);
  w.feed({"01234", "56789ABCDEF"});  // 16 bytes in two reads, no delimiter
  EXPECT_TRUE(w.tr.disconnecting());  // closed, nothing written
  EXPECT_EQ(w.tr.value(), "");
  ASSERT_EQ(w.proto.exceeded.size(), 1u);
  EXPECT_EQ(w.proto.exceeded[0].substr(0, 5), "01234");
  EXPECT_TRUE(w.proto.lines.empty());
}

TEST(LineReceiver, RawModeAndBackToLineMode) {
  Wired w;
  w.feed({"hello\r\nRAW\r\nxyz", "more\r\nraw", "ENDline2\r\nline3\r\n"});
  EXPECT_EQ(w.proto.lines, (Lines{"hello", "RAW", "line2", "line3"}));
  EXPECT_EQ(w.proto.raw, "xyzmore\r\nraw");
  w.feed({"RAW\r\nENDback\r\n"});  // raw mode and back within one read
  const std::string want =
      "got:hello\r\ngot:RAW\r\ngot:line2\r\ngot:line3\r\ngot:RAW\r\ngot:back\r\n";
  EXPECT_EQ(w.tr.value(), want);
}

TEST(LineReceiverString, CustomDelimiterAndSendLine) {
  // Twisted's LineReceiverTests with delimiter = b"\n": "\r" stays part of the line.
  Config cfg;
  cfg.delimiter = "\n";
  Wired w(cfg);
  w.feed({"a\nb\r\n\n"});
  EXPECT_EQ(w.proto.lines, (Lines{"a", "b\r", ""}));
  EXPECT_EQ(w.tr.value(), "got:a\ngot:b\r\ngot:\n");
  w.tr.clear();
  EXPECT_EQ(w.tr.value(), "");
}

TEST(LineReceiverString, DelimiterSplitAcrossTwoReads) {
  Wired w;
  w.feed({"abc\r"});
  EXPECT_TRUE(w.proto.lines.empty());
  w.feed({"\ndef\r\ngh", "i\r\n"});
  EXPECT_EQ(w.proto.lines, (Lines{"abc", "def", "ghi"}));
}

TEST(LineReceiverString, EveryByteInItsOwnRead) {
  // Twisted's test_buffer: the same lines whatever the packet size.
  const std::string stream = "len 10\r\n0123456789\r\nhello\r\n\r\nlast\r\n";
  for (std::size_t step = 1; step <= stream.size(); ++step) {
    Wired w;
    for (std::size_t i = 0; i < stream.size(); i += step)
      w.proto.data_received(stream.substr(i, step));
    EXPECT_EQ(w.proto.lines, (Lines{"len 10", "0123456789", "hello", "", "last"})) << step;
  }
}

TEST(LineReceiverString, LongDelimiterSplitAcrossThreeReads) {
  Config cfg;
  cfg.delimiter = "\r\n\r\n";
  Wired w(cfg);
  w.feed({"head\r", "\n\r", "\nbody\r\n\r\n"});
  EXPECT_EQ(w.proto.lines, (Lines{"head", "body"}));
}

TEST(LineReceiverString, PartialLinesAccumulateWithinMaxLength) {
  Config cfg;
  cfg.max_length = 10;
  Wired w(cfg);
  w.feed({"01234", "56789", "\r\n"});
  EXPECT_EQ(w.proto.lines, (Lines{"0123456789"}));
  EXPECT_TRUE(w.proto.exceeded.empty());
  EXPECT_FALSE(w.tr.disconnecting());
}

TEST(LineReceiverString, MaxLengthLineWithItsDelimiterSplitIsAccepted) {
  // A line of exactly max_length whose delimiter arrives in two reads is not too long.
  Config cfg;
  cfg.max_length = 10;
  Wired w(cfg);
  w.feed({"0123456789\r", "\n"});
  EXPECT_TRUE(w.proto.exceeded.empty());
  EXPECT_EQ(w.proto.lines, (Lines{"0123456789"}));
}

TEST(LineReceiverString, LineOverMaxLengthLosesTheConnection) {
  // Twisted's test_maximumLineLength: lineLengthExceeded -> transport.loseConnection().
  Config cfg;
  cfg.max_length = 10;
  Wired w(cfg);
  w.feed({"0123456789A\r\nnext\r\n"});
  EXPECT_TRUE(w.tr.disconnecting());
  EXPECT_EQ(w.proto.exceeded, (Lines{"0123456789A\r\nnext\r\n"}));
  EXPECT_TRUE(w.proto.lines.empty());
}

TEST(LineReceiverString, ExceededOverrideThatKeepsTheConnectionLosesNoLaterLine) {
  // line_length_exceeded overridden not to close: what followed the long line in the same read
  // is handed to it, as Twisted's (line + delimiter + the rest of the buffer).
  Config cfg;
  cfg.max_length = 10;
  cfg.close_on_exceeded = false;
  Wired w(cfg);
  w.feed({"short\r\n0123456789ABC\r\nnext\r\n"});
  EXPECT_EQ(w.proto.exceeded, (Lines{"0123456789ABC\r\nnext\r\n"}));
  EXPECT_EQ(w.proto.lines, (Lines{"short"}));
  w.feed({"later\r\n"});
  EXPECT_EQ(w.proto.lines.back(), "later");
}

TEST(LineReceiverString, RawModeAndBackToLineMode) {
  // Twisted's test_rawMode shape: setRawMode() in lineReceived, setLineMode(rest) from raw.
  Wired w;
  w.feed({"hello\r\nRAW\r\nxyz", "more\r\nraw", "ENDline2\r\nline3\r\n"});
  EXPECT_EQ(w.proto.lines, (Lines{"hello", "RAW", "line2", "line3"}));
  EXPECT_EQ(w.proto.raw, "xyzmore\r\nraw");
}

TEST(LineReceiverString, ClearLineBufferReturnsWhatIsBuffered) {
  Wired w;
  w.feed({"partial"});
  EXPECT_EQ(w.proto.clear_line_buffer(), "partial");
  w.feed({"x\r\n"});
  EXPECT_EQ(w.proto.lines, (Lines{"x"}));
}

TEST(LineReceiverString, ClearLineBufferFromLineReceivedDropsTheRestOfTheRead) {
  // Twisted's clearLineBuffer() inside lineReceived returns the unprocessed bytes and no more
  // lines of them are delivered.
  Wired w;
  w.feed({"CLEAR\r\nb\r\nc"});
  EXPECT_EQ(w.proto.lines, (Lines{"CLEAR"}));
  EXPECT_EQ(w.proto.cleared, "b\r\nc");
  w.feed({"d\r\n"});
  EXPECT_EQ(w.proto.lines, (Lines{"CLEAR", "d"}));
}

TEST(LineReceiverString, LoseConnectionInLineReceivedStopsDelivery) {
  // Twisted: after lineReceived, `if self.transport.disconnecting: return`.
  struct Quitter : Recorder {
    void line_received(std::string_view line) override {
      Recorder::line_received(line);
      if (line == "QUIT") transport().lose_connection();
    }
  };
  ss::StringTransport tr;
  Quitter q;
  q.make_connection(tr);
  q.data_received("a\r\nQUIT\r\nb\r\n");
  EXPECT_EQ(q.lines, (Lines{"a", "QUIT"}));
  EXPECT_TRUE(tr.disconnecting());
  EXPECT_EQ(tr.value(), "got:a\r\ngot:QUIT\r\n");  // written after lose_connection: ignored
}

TEST(LineReceiverString, MaxLengthSizeMaxNeverWraps) {
  // Issue 9 item 5: max_length = SIZE_MAX (and SIZE_MAX - 1 with a two-byte delimiter) wrapped
  // max_length + delimiter.size() to a tiny number, so every partial line counted as too long.
  for (const std::size_t max : {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 2}) {
    Config cfg;
    cfg.max_length = max;
    Wired w(cfg);
    w.feed({"par", "tial"});
    w.feed({std::string(100000, 'x')});
    EXPECT_TRUE(w.proto.exceeded.empty()) << max;
    EXPECT_FALSE(w.tr.disconnecting()) << max;
    w.feed({"\r\nnext\r", "\n"});
    EXPECT_EQ(w.proto.lines, (Lines{"partial" + std::string(100000, 'x'), "next"})) << max;
  }
}

TEST(LineReceiverString, MaxLengthZeroAcceptsOnlyEmptyLines) {
  // The other end of the range: Twisted's rule (a line longer than MAX_LENGTH is too long; an
  // unterminated buffer of MAX_LENGTH + len(delimiter) bytes is) at MAX_LENGTH = 0.
  Config cfg;
  cfg.max_length = 0;
  cfg.close_on_exceeded = false;
  Wired w(cfg);
  w.feed({"\r\n", "\r", "\n"});
  EXPECT_EQ(w.proto.lines, (Lines{"", ""}));
  EXPECT_TRUE(w.proto.exceeded.empty());
  w.feed({"x"});
  EXPECT_TRUE(w.proto.exceeded.empty());  // 1 byte < 0 + 2: may still be a delimiter
  w.feed({"y"});
  EXPECT_EQ(w.proto.exceeded, (Lines{"xy"}));
}

TEST(LineReceiverString, ClearThenSetLineModeDeliversTheRestOnce) {
  // Issue 9 item 7: clear_line_buffer() then set_line_mode(rest) inside line_received delivered
  // the rest twice ([a][SWITCH][b][c][b][c]); Twisted delivers it once.
  Wired w;
  w.feed({"a\r\nSWITCH\r\nb\r\nc\r\n"});
  EXPECT_EQ(w.proto.log, "[a][SWITCH][b][c]");
  Wired split;  // the rest partly buffered, partly in a later read
  split.feed({"a\r\nSWITCH\r\nb\r", "\nc\r\n"});
  EXPECT_EQ(split.proto.log, "[a][SWITCH][b][c]");
  EXPECT_EQ(split.tr.value(), "got:a\r\ngot:SWITCH\r\ngot:b\r\ngot:c\r\n");
}

TEST(LineReceiverString, SetLineModeFromLineReceivedFeedsAfterTheRest) {
  // Twisted's setLineMode(extra) inside lineReceived appends to the buffer: the extra bytes
  // come after the lines still pending in the read, each once.
  Wired w;
  w.feed({"FEED\r\nz\r\n"});
  EXPECT_EQ(w.proto.log, "[FEED][z][fed]");
  Config lf;  // the one-line-per-read fast path
  lf.delimiter = "\n";
  Wired one(lf);
  one.feed({"FEED\n"});
  EXPECT_EQ(one.proto.log, "[FEED][fed]");
}

TEST(LineReceiverString, PauseProducingHoldsLinesOfTheSameRead) {
  // Twisted's LineReceiver.pauseProducing(): lines already received (pipelined in one chunk)
  // wait for resumeProducing(); the transport is paused too.
  Wired w;
  w.feed({"a\r\nPAUSE\r\nb\r\nc"});
  EXPECT_EQ(w.proto.log, "[a][PAUSE]");
  EXPECT_TRUE(w.proto.paused());
  EXPECT_TRUE(w.tr.paused());
  w.feed({"\r\nd\r\n"});  // more arrives meanwhile: buffered, not delivered
  EXPECT_EQ(w.proto.log, "[a][PAUSE]");
  w.proto.resume_producing();
  EXPECT_FALSE(w.proto.paused());
  EXPECT_FALSE(w.tr.paused());
  EXPECT_EQ(w.proto.log, "[a][PAUSE][b][c][d]");
  EXPECT_EQ(w.tr.value(), "got:a\r\ngot:PAUSE\r\ngot:b\r\ngot:c\r\ngot:d\r\n");
}

TEST(LineReceiverString, PausedAgainWhileDeliveringTheBacklog) {
  // Resuming delivers the backlog until the next pause, and no further.
  Wired w;
  w.feed({"PAUSE\r\nx\r\nPAUSE\r\ny\r\n"});
  EXPECT_EQ(w.proto.log, "[PAUSE]");
  w.proto.resume_producing();
  EXPECT_EQ(w.proto.log, "[PAUSE][x][PAUSE]");
  EXPECT_TRUE(w.proto.paused());
  w.proto.resume_producing();
  EXPECT_EQ(w.proto.log, "[PAUSE][x][PAUSE][y]");
}

TEST(LineReceiverString, PauseProducingHoldsRawData) {
  // In raw mode too (Twisted's loop checks `paused` before rawDataReceived).
  Wired w;
  w.feed({"RAW\r\n"});
  w.proto.pause_producing();
  w.feed({"xyz", "uvw"});
  EXPECT_EQ(w.proto.raw, "");
  w.proto.resume_producing();
  EXPECT_EQ(w.proto.raw, "xyzuvw");
  w.feed({"ENDline\r\n"});
  EXPECT_EQ(w.proto.lines.back(), "line");
}

TEST(LineReceiverString, NoLengthCheckWhilePaused) {
  // Twisted checks MAX_LENGTH only while delivering: a paused receiver holds its bytes.
  Config cfg;
  cfg.max_length = 4;
  Wired w(cfg);
  w.proto.pause_producing();
  w.feed({"0123456789"});
  EXPECT_TRUE(w.proto.exceeded.empty());
  w.proto.resume_producing();
  EXPECT_EQ(w.proto.exceeded, (Lines{"0123456789"}));
}

TEST(LineReceiver, PauseProducingOverASocket) {
  // Over a real connection: "PAUSE" and the lines pipelined behind it in one send; nothing
  // after PAUSE is answered until resume_producing() (called in the reactor thread).
  Fixture f;
  f.client.sendall("PAUSE\r\nb\r\nc\r\n");
  EXPECT_EQ(testutil::recv_exactly(f.client, 11), "got:PAUSE\r\n");
  // Whatever the reads were, b and c wait.
  EXPECT_TRUE(f.loop.call([&] { return f.seen->get_lines() == Lines{"PAUSE"}; }));
  f.loop.call([&] {
    ss::LineReceiver* self = nullptr;
    {
      std::lock_guard<std::mutex> lock(f.seen->mu);
      self = f.seen->self;
    }
    self->resume_producing();  // delivers b and c, whose line_received takes the lock
  });
  EXPECT_EQ(testutil::recv_exactly(f.client, 14), "got:b\r\ngot:c\r\n");
  EXPECT_EQ(f.seen->get_lines(), (Lines{"PAUSE", "b", "c"}));
}

}  // namespace
