// fuzz_socket_reader.cpp — SocketReader (stream.hpp) over a socketpair, fed in the fuzzer's
// chunk sizes and checked against a model: the bytes written and not yet taken.
//
// Input: byte 0 picks the buffer size (unbuffered included), byte 1 the max_line bound; the
// rest is a program. Each step is an operation byte, then its operands:
//   write L bytes (the next L input bytes) · readline() · readline(limit) · read(n) · read1(n)
//   · read() / readlines() / iteration (after end of input only) · shut the writer (end of input)
// An operation runs only when the model says it can complete without waiting for more bytes,
// so the single thread never blocks; the reader's socket has a timeout that turns a wrong
// model (or a reader that waits for what it already has) into a failure, not a hang. At the end
// the writer shuts and read() must return exactly what the model still holds.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "socketserver/errors.hpp"
#include "socketserver/socket.hpp"
#include "socketserver/stream.hpp"

namespace ss = socketserver;

namespace {

/// Reads the fuzzer's bytes in order; zeros once they run out.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool empty() const { return pos_ >= size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::string bytes(std::size_t n) {
    n = std::min(n, size_ - pos_);
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

[[noreturn]] void fail(const char* what, const std::string& got, const std::string& want) {
  std::fprintf(stderr, "fuzz_socket_reader: %s\n  got  (%zu) '%s'\n  want (%zu) '%s'\n", what,
               got.size(), got.c_str(), want.size(), want.c_str());
  std::abort();
}

void expect_eq(const char* what, const std::string& got, const std::string& want) {
  if (got != want) fail(what, got, want);
}

/// What readline(limit) must return from `pending`, or nothing when it would have to wait:
/// up to and including the first '\n' within `limit` bytes, else `limit` bytes when that many
/// are there, else (at end of input) all of it.
bool model_line(const std::string& pending, std::size_t limit, bool eof, std::string& line,
                bool& too_long) {
  too_long = false;
  const std::size_t window = std::min(pending.size(), limit);
  if (const auto nl = pending.find('\n'); nl != std::string::npos && nl < window) {
    line = pending.substr(0, nl + 1);
    return true;
  }
  if (pending.size() >= limit) {
    line = pending.substr(0, limit);
    too_long = true;
    return true;
  }
  if (eof) {
    line = pending;
    return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Input in(data, size);
  static constexpr std::size_t kBufsizes[] = {0, 1, 2, 3, 7, 16, 64, ss::default_buffer_size};
  const std::size_t bufsize = kBufsizes[in.byte() % (sizeof kBufsizes / sizeof kBufsizes[0])];
  const std::size_t max_line = 1 + in.byte() % 96;

  auto [writer, reader_sock] = ss::socketpair(AF_UNIX, SOCK_STREAM);
  reader_sock.settimeout(5.0);  // a read the model thinks complete must not wait
  ss::SocketReader reader(reader_sock, bufsize, max_line);
  std::string pending;  // written, not yet taken by the reader
  bool eof = false;

  for (int step = 0; step < 4096 && !in.empty(); ++step) {
    const std::uint8_t op = in.byte();
    switch (op % 9) {
      case 0:
      case 1: {  // write a chunk of the fuzzer's size
        if (eof) break;
        const std::string chunk = in.bytes(in.byte() % 80);
        writer.sendall(chunk);
        pending += chunk;
        break;
      }
      case 2: {  // readline(): max_line bounds it; a longer line throws and drops max_line bytes
        std::string want;
        bool too_long = false;
        if (!model_line(pending, max_line, eof, want, too_long)) break;
        try {
          const std::string got = reader.readline();
          if (too_long) fail("readline() returned instead of throwing", got, want);
          expect_eq("readline()", got, want);
        } catch (const ss::line_too_long_error&) {
          if (!too_long) fail("readline() threw line_too_long_error", "", want);
        }
        pending.erase(0, want.size());
        break;
      }
      case 3: {  // readline(limit): a longer line comes in pieces, never an error
        const std::size_t limit = in.byte() % 100;
        std::string want;
        bool too_long = false;
        if (!model_line(pending, limit, eof, want, too_long)) break;
        expect_eq("readline(limit)", reader.readline(limit), want);
        pending.erase(0, want.size());
        break;
      }
      case 4: {  // read(n): n bytes, fewer only at end of input
        const std::size_t n = in.byte() % 100;
        if (pending.size() < n && !eof) break;
        const std::string want = pending.substr(0, n);
        expect_eq("read(n)", reader.read(n), want);
        pending.erase(0, want.size());
        break;
      }
      case 5: {  // read1(n): a non-empty prefix of at most n bytes when any are there
        const std::size_t n = in.byte() % 100;
        if (pending.empty() && !eof) break;
        const std::string got = reader.read1(n);
        if (got.size() > n || pending.compare(0, got.size(), got) != 0 ||
            (got.empty() && n > 0 && !pending.empty())) {
          fail("read1(n) is not a prefix of what is pending", got, pending);
        }
        pending.erase(0, got.size());
        break;
      }
      case 6:  // end of input from the writer
        if (!eof) writer.shutdown(SHUT_WR);
        eof = true;
        break;
      case 7: {  // read(): everything up to the end
        if (!eof) break;
        expect_eq("read()", reader.read(), pending);
        pending.clear();
        break;
      }
      case 8: {  // readlines() or iteration: the lines up to the end (or an over-long one)
        const bool by_iterator = (in.byte() & 1) != 0;
        if (!eof) break;
        std::vector<std::string> want;
        std::string rest = pending;
        bool throws = false;
        for (int i = 0; i < 100000; ++i) {
          std::string line;
          bool too_long = false;
          model_line(rest, max_line, true, line, too_long);
          if (too_long) {
            rest.erase(0, line.size());
            throws = true;
            break;
          }
          if (line.empty()) break;
          rest.erase(0, line.size());
          want.push_back(line);
        }
        try {
          std::vector<std::string> got;
          if (by_iterator) {  // Python's `for line in rfile`
            for (const std::string& line : reader) got.push_back(line);
          } else {
            got = reader.readlines();
          }
          if (throws) fail("readlines() did not throw for an over-long line", "", pending);
          if (got != want) fail("readlines()", got.empty() ? "" : got.front(), pending);
        } catch (const ss::line_too_long_error&) {
          if (!throws) fail("readlines() threw line_too_long_error", "", pending);
          // readlines() puts back the lines it had read before the over-long one (nothing
          // lost); the iterator had already handed them out.
          if (!by_iterator) {
            std::string kept;
            for (const std::string& line : want) kept += line;
            rest.insert(0, kept);
          }
        }
        pending = rest;
        break;
      }
      default:
        break;
    }
    if (reader.buffered() > pending.size()) {
      fail("the reader holds more than was written", std::to_string(reader.buffered()), pending);
    }
  }
  if (!eof) writer.shutdown(SHUT_WR);
  expect_eq("read() at the end", reader.read(), pending);
  return 0;
}
