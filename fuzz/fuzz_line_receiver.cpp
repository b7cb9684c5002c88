// fuzz_line_receiver.cpp — LineReceiver (protocols.hpp) over a StringTransport, fed in the
// fuzzer's chunk sizes and checked against a model: Twisted's LineReceiver.dataReceived,
// transcribed (its buffer, its _busyReceiving flag, its paused flag).
//
// Input: byte 0 picks the delimiter and the mode, byte 1 max_length (small, around SIZE_MAX, or
// Twisted's 16384), byte 2 how many action bytes follow. Then the program: each op byte feeds a
// chunk of the next bytes (or, in chaos mode, resumes a paused receiver).
// Plain mode: callbacks only record. Chaos mode: each callback (line, raw data, line too long)
// takes the next action byte and acts on the receiver: raw mode, line mode with the cleared
// buffer fed back, clear the buffer, feed bytes back, pause, change the delimiter, close.
// The real receiver and the model take the same actions in the same order; the recorded
// callbacks must be identical.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "socketserver/reactor.hpp"
#include "socketserver/testing.hpp"

namespace ss = socketserver;

namespace {

const char* const kDelimiters[] = {"\r\n", "\n", "ab", "aab", "x"};
constexpr std::size_t kDelimiterCount = sizeof kDelimiters / sizeof kDelimiters[0];

/// The action bytes, read in turn (zeros once they run out).
struct Actions {
  std::vector<std::uint8_t> bytes;
  std::size_t pos = 0;
  std::uint8_t next() { return pos < bytes.size() ? bytes[pos++] : 0; }
  std::string extra() {  // a few bytes to feed back: drawn from a small alphabet
    const std::size_t n = next() % 6;
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out.push_back("ab\r\nx"[next() % 5]);
    return out;
  }
};

/// What a receiver does in a callback (both the real one and the model).
enum class Act { none, raw, line_with_cleared, clear, feed, pause, delimiter, close, line_with };

Act act_of(std::uint8_t b) {
  switch (b % 16) {
    case 1:
      return Act::raw;
    case 2:
      return Act::line_with_cleared;
    case 3:
      return Act::clear;
    case 4:
      return Act::feed;
    case 5:
      return Act::pause;
    case 6:
      return Act::delimiter;
    case 7:
      return b > 200 ? Act::close : Act::none;
    case 8:
      return Act::line_with;
    default:
      return Act::none;
  }
}

/// One callback's action, on the real receiver or on the model (same names for both).
template <class Receiver>
void perform(Receiver& r, Actions& actions, std::vector<std::string>& log) {
  switch (act_of(actions.next())) {
    case Act::none:
      break;
    case Act::raw:
      r.set_raw_mode();
      break;
    case Act::line_with_cleared:
      r.set_line_mode(r.clear_line_buffer());
      break;
    case Act::clear:
      log.push_back("C:" + r.clear_line_buffer());
      break;
    case Act::feed:
      r.data_received(actions.extra());
      break;
    case Act::pause:
      r.pause_producing();
      break;
    case Act::delimiter:
      r.delimiter = kDelimiters[actions.next() % kDelimiterCount];
      break;
    case Act::close:
      r.lose_connection();
      break;
    case Act::line_with:
      r.set_line_mode(actions.extra());
      break;
  }
}

// ---- the real receiver -----------------------------------------------------------------------

struct Real : ss::LineReceiver {
  Real(const std::string& delim, std::size_t max, bool chaos, Actions actions)
      : chaos_(chaos), actions_(std::move(actions)) {
    delimiter = delim;
    max_length = max;
  }
  void line_received(std::string_view line) override {
    log.push_back("L:" + std::string(line));
    act();
  }
  void raw_data_received(std::string_view data) override {
    log.push_back("R:" + std::string(data));
    act();
  }
  void line_length_exceeded(std::string_view line) override {  // records; does not close
    log.push_back("X:" + std::string(line));
    act();
  }
  void lose_connection() { transport().lose_connection(); }
  void act() {
    if (chaos_) perform(*this, actions_, log);
  }
  bool chaos_;
  Actions actions_;
  std::vector<std::string> log;
};

// ---- the model: Twisted's basic.LineReceiver, line for line -----------------------------------

struct Model {
  Model(const std::string& delim, std::size_t max, bool chaos, Actions actions)
      : delimiter(delim), max_length(max), chaos_(chaos), actions_(std::move(actions)) {}

  void data_received(std::string_view data) {
    if (busy_) {
      buffer_ += data;
      return;
    }
    busy_ = true;
    buffer_ += data;
    while (!buffer_.empty() && !paused) {
      if (line_mode_) {
        const std::size_t at = buffer_.find(delimiter);
        if (at == std::string::npos) {
          // len(buffer) >= MAX_LENGTH + len(delimiter), without wrapping
          if (buffer_.size() >= delimiter.size() &&
              buffer_.size() - delimiter.size() >= max_length) {
            std::string line = std::move(buffer_);
            buffer_.clear();
            exceeded(line);
            busy_ = false;
            return;
          }
          break;
        }
        std::string line = buffer_.substr(0, at);
        buffer_.erase(0, at + delimiter.size());
        if (line.size() > max_length) {
          std::string all = line + delimiter + buffer_;
          buffer_.clear();
          exceeded(all);
          busy_ = false;
          return;
        }
        log.push_back("L:" + line);
        act();
        if (disconnecting) break;
      } else {
        std::string raw = std::move(buffer_);
        buffer_.clear();
        log.push_back("R:" + raw);
        act();
      }
    }
    busy_ = false;
  }
  void exceeded(const std::string& line) {
    log.push_back("X:" + line);
    act();
  }
  void set_line_mode(const std::string& extra) {
    line_mode_ = true;
    if (!extra.empty()) data_received(extra);
  }
  std::string clear_line_buffer() {
    std::string out = std::move(buffer_);
    buffer_.clear();
    return out;
  }
  void resume_producing() {
    paused = false;
    data_received({});
  }
  void set_raw_mode() { line_mode_ = false; }
  void pause_producing() { paused = true; }
  void lose_connection() { disconnecting = true; }
  void act() {
    if (chaos_) perform(*this, actions_, log);
  }

  std::string delimiter;
  std::size_t max_length;
  bool paused = false;
  bool disconnecting = false;
  std::vector<std::string> log;

 private:
  bool chaos_;
  Actions actions_;
  std::string buffer_;
  bool busy_ = false;
  bool line_mode_ = true;
};

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 32 && c < 127) {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

[[noreturn]] void mismatch(const std::vector<std::string>& got,
                           const std::vector<std::string>& want) {
  std::fprintf(stderr, "fuzz_line_receiver: callbacks differ from the model\n");
  const std::size_t n = got.size() > want.size() ? got.size() : want.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string g = i < got.size() ? printable(got[i]) : "(none)";
    const std::string w = i < want.size() ? printable(want[i]) : "(none)";
    std::fprintf(stderr, "  %s %zu: got '%s' want '%s'\n", g == w ? " " : "!", i, g.c_str(),
                 w.c_str());
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t config = data[0];
  const std::string delimiter = kDelimiters[config % kDelimiterCount];
  const bool chaos = (config & 0x80) != 0;
  const std::uint8_t m = data[1];
  std::size_t max_length = 16384;
  if (m < 64) {
    max_length = m;
  } else if (m < 128) {
    max_length = SIZE_MAX - (m % 4);  // must never wrap (issue 9)
  }
  Actions actions;
  std::size_t pos = 3;
  const std::size_t n_actions = data[2];
  for (std::size_t i = 0; i < n_actions && pos < size; ++i) actions.bytes.push_back(data[pos++]);

  ss::StringTransport transport;
  Real real(delimiter, max_length, chaos, actions);
  real.make_connection(transport);
  Model model(delimiter, max_length, chaos, actions);

  while (pos < size) {
    const std::uint8_t op = data[pos++];
    if (chaos && op >= 0xF0) {  // resume a paused receiver (Twisted's resumeProducing)
      if (real.paused() != model.paused) mismatch(real.log, model.log);
      if (real.paused()) {
        real.resume_producing();
        model.resume_producing();
      }
      continue;
    }
    const std::size_t len = op % 64;
    const std::size_t take = len < size - pos ? len : size - pos;
    const std::string_view chunk(reinterpret_cast<const char*>(data + pos), take);
    pos += take;
    real.data_received(chunk);
    model.data_received(chunk);
    if (real.log != model.log) mismatch(real.log, model.log);
  }
  if (real.log != model.log) mismatch(real.log, model.log);
  if (transport.disconnecting() != model.disconnecting) mismatch(real.log, model.log);
  if (real.delimiter != model.delimiter) mismatch(real.log, model.log);
  return 0;
}
