// stream.hpp — buffered files over a socket: what makefile() returns, and the rfile/wfile of a
// StreamRequestHandler.
//
//   Python                                C++
//   rfile = sock.makefile("rb")           SocketReader rfile(sock);   or sock.makefile("rb")
//   wfile = sock.makefile("wb", 0)        SocketWriter wfile(sock);   (unbuffered: sends all)
//   line = rfile.readline()               std::string line = rfile.readline();
//   for line in rfile: ...                for (const std::string& line : rfile) ...
//   data = rfile.read(n) / rfile.read()   rfile.read(n) / rfile.read()
//   wfile.write(data); wfile.flush()      wfile.write(data); wfile.flush();
//
// Reads and writes honour the socket's timeout (timeout_error), as Python's do.
// After a timeout a reader goes on reading, where Python's file refuses ("cannot read from
// timed out object"): Python's BufferedReader may have consumed part of the data inside the
// call that timed out, so it cannot promise a consistent stream. Ours can: a read takes bytes
// out of its buffer only when it returns (readlines puts back the lines it had read), so what
// arrived before the timeout stays buffered and the next read starts with it. A short timeout
// can therefore serve as a poll (`try { line = rfile.readline(); } catch (timeout_error&)`).
// Better than Python: readline() without a limit is still bounded (max_line, 64 KiB by
// default): a longer line throws line_too_long_error instead of growing memory without end.
//
// Thread-safety: a reader or writer belongs to one thread at a time; a reader in one thread
// and a writer in another over the same socket is fine. A SocketReader or SocketWriter made
// directly refers to a Socket that must outlive it and must not be moved while it exists; a
// SocketFile from makefile() shares the descriptor instead and may outlive its Socket.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socketserver/detail/buffer.hpp"
#include "socketserver/socket.hpp"

namespace socketserver {

/// The default bound of readline() without an explicit limit: 64 KiB.
inline constexpr std::size_t default_max_line = 65536;
/// The default read buffer (Python's io.DEFAULT_BUFFER_SIZE).
inline constexpr std::size_t default_buffer_size = 8192;

namespace detail {
/// What a reader or writer needs of a connection, whatever it is (a Socket, an SSLSocket):
/// recv_into, sendall and describe, through plain function pointers (no virtual in Socket).
struct StreamRef {
  void* self = nullptr;
  std::size_t (*recv_into)(void* self, std::span<char> buffer) = nullptr;
  void (*sendall)(void* self, std::string_view data) = nullptr;
  std::string (*describe)(const void* self) = nullptr;
};
/// The StreamRef of `stream` (which must outlive the reader or writer made with it).
template <class Stream>
StreamRef stream_ref(Stream& stream) {
  return StreamRef{&stream,
                   [](void* s, std::span<char> b) { return static_cast<Stream*>(s)->recv_into(b); },
                   [](void* s, std::string_view d) { static_cast<Stream*>(s)->sendall(d); },
                   [](const void* s) { return static_cast<const Stream*>(s)->describe(); }};
}
}  // namespace detail

/// A buffered reader over a socket (Python's BufferedReader from makefile("rb")).
class SocketReader {
 public:
  /// `bufsize` is the size of each recv into the buffer (0: unbuffered, never reads past what
  /// the call returns, as Python's makefile("rb", 0)); `max_line` bounds readline().
  explicit SocketReader(Socket& sock, std::size_t bufsize = default_buffer_size,
                        std::size_t max_line = default_max_line)
      : SocketReader(detail::stream_ref(sock), bufsize, max_line) {}
  /// Over any stream (an SSLSocket: detail::stream_ref(tls)).
  explicit SocketReader(detail::StreamRef stream, std::size_t bufsize = default_buffer_size,
                        std::size_t max_line = default_max_line);

  /// Python's read(n): `n` bytes, fewer only at end of stream ("" at end).
  std::string read(std::size_t n);
  /// Python's read(): everything until the end of stream.
  std::string read();
  /// Python's read1(n): at most `n` bytes with at most one recv; "" only at end of stream.
  std::string read1(std::size_t n);
  /// Python's readline(): one line with its '\n' (the last line may lack it; "" at end).
  /// Throws line_too_long_error when max_line() bytes arrive without a '\n'; those bytes are
  /// dropped (the rest of the line stays unread), so the caller should end the exchange.
  std::string readline();
  /// Python's readline(limit): at most `limit` bytes; a longer line is returned in pieces,
  /// as Python does, never an error.
  std::string readline(std::size_t limit);
  /// Python's readlines(hint): lines until end of stream, or until their total size reaches
  /// `hint` (0 = no hint). Each line is bounded by max_line(). When it throws (a timeout, or
  /// line_too_long_error after dropping the over-long line's first max_line() bytes), the lines
  /// it had read before are buffered again: the next call returns them.
  std::vector<std::string> readlines(std::size_t hint = 0);
  /// Bytes already received and buffered, not yet returned.
  [[nodiscard]] std::size_t buffered() const noexcept { return buf_.size(); }
  /// The readline() bound in bytes.
  [[nodiscard]] std::size_t max_line() const noexcept { return max_line_; }
  void set_max_line(std::size_t limit) noexcept { max_line_ = limit; }
  /// Changes the size of later recvs (0: unbuffered); data already buffered stays.
  void set_buffer_size(std::size_t bufsize) noexcept { bufsize_ = bufsize; }

  /// Iteration over lines (Python's `for line in rfile`): an input iterator; each step calls
  /// readline() and stops at end of stream.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string*;
    using reference = const std::string&;
    iterator() = default;
    explicit iterator(SocketReader* reader);
    reference operator*() const { return line_; }
    pointer operator->() const { return &line_; }
    iterator& operator++();
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.reader_ == b.reader_;
    }

   private:
    SocketReader* reader_ = nullptr;
    std::string line_;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  bool fill(std::size_t want);  // one recv into the buffer; false at end of stream
  std::string take(std::size_t n);
  std::string readline_bounded(std::size_t limit, bool throw_when_longer);
  void unread(const std::vector<std::string>& lines, std::size_t total);  // back to the front

  detail::StreamRef stream_;
  std::size_t bufsize_;
  std::size_t max_line_;
  detail::ByteBuffer buf_;
  bool eof_ = false;
};

/// A writer over a socket (Python's _SocketWriter / BufferedWriter from makefile("wb")).
/// `bufsize` 0 (the default, as StreamRequestHandler's wbufsize): every write sends all of its
/// data before returning. `bufsize` > 0: data is collected and sent when the buffer fills,
/// on flush(), and on destruction (best effort; call flush() to see errors).
class SocketWriter {
 public:
  explicit SocketWriter(Socket& sock, std::size_t bufsize = 0)
      : SocketWriter(detail::stream_ref(sock), bufsize) {}
  /// Over any stream (an SSLSocket: detail::stream_ref(tls)).
  explicit SocketWriter(detail::StreamRef stream, std::size_t bufsize = 0);
  /// Moves the buffer; the moved-from writer is empty and sends nothing.
  SocketWriter(SocketWriter&& other) noexcept;
  SocketWriter& operator=(SocketWriter&&) = delete;
  SocketWriter(const SocketWriter&) = delete;
  SocketWriter& operator=(const SocketWriter&) = delete;
  /// Flushes what is buffered; errors are swallowed here (flush() reports them).
  ~SocketWriter();

  /// Python's write(data): returns data.size(); never a partial write, also when a signal
  /// interrupts the send. Throws socket_error subclasses (broken_pipe_error, ...).
  std::size_t write(std::string_view data);
  /// Python's writelines(lines).
  void writelines(const std::vector<std::string>& lines);
  /// Python's flush(): sends everything buffered.
  void flush();
  /// Bytes waiting in the buffer.
  [[nodiscard]] std::size_t pending() const noexcept { return buf_.size(); }
  /// Flushes, then buffers up to `bufsize` bytes from now on (0: unbuffered).
  void set_buffer_size(std::size_t bufsize) {
    flush();
    bufsize_ = bufsize;
  }

 private:
  detail::StreamRef stream_;
  std::size_t bufsize_;
  std::string buf_;
};

/// What Socket::makefile returns: a reader, a writer, or both, chosen by the mode string
/// ("r", "w", "rw", with or without "b"). Calling a direction the mode did not ask for throws
/// std::logic_error, as Python raises io.UnsupportedOperation; so does any read or write after
/// close() (Python's ValueError "I/O operation on closed file").
///
/// As in Python, the file keeps the connection open: it shares the socket's descriptor, so
/// after `sock.close()` (or the Socket's destruction) the file still reads and writes, and the
/// descriptor closes when the last of the Socket and its files closes (Python counts them in
/// socket._io_refs; here a shared_ptr does, held by the Socket and each file).
class SocketFile {
 public:
  /// Shares `sock`'s descriptor (see Socket::makefile, which is the usual way to make one).
  SocketFile(Socket& sock, std::string_view mode, std::optional<std::size_t> buffering);
  SocketFile(SocketFile&&) noexcept = default;
  SocketFile& operator=(SocketFile&&) = delete;
  SocketFile(const SocketFile&) = delete;
  SocketFile& operator=(const SocketFile&) = delete;
  /// Flushes (errors swallowed) and lets go of the descriptor, as close().
  ~SocketFile() = default;

  std::string read(std::size_t n) { return reader("read").read(n); }
  std::string read() { return reader("read").read(); }
  std::string read1(std::size_t n) { return reader("read1").read1(n); }
  std::string readline() { return reader("readline").readline(); }
  std::string readline(std::size_t limit) { return reader("readline").readline(limit); }
  std::vector<std::string> readlines(std::size_t hint = 0) {
    return reader("readlines").readlines(hint);
  }
  SocketReader::iterator begin() { return reader("iteration").begin(); }
  SocketReader::iterator end() { return SocketReader::iterator(); }

  std::size_t write(std::string_view data) { return writer("write").write(data); }
  void writelines(const std::vector<std::string>& lines) { writer("writelines").writelines(lines); }
  void flush();

  /// Python's close(): flushes, then lets go of the descriptor, which closes if the Socket
  /// and every other file from it have closed too. A second close does nothing. Throws what
  /// flush() throws, after letting go all the same.
  void close();
  /// Python's closed attribute.
  [[nodiscard]] bool closed() const noexcept { return sock_ == nullptr; }

  [[nodiscard]] bool readable() const noexcept { return reader_.has_value(); }
  [[nodiscard]] bool writable() const noexcept { return writer_.has_value(); }

 private:
  SocketReader& reader(const char* op);
  SocketWriter& writer(const char* op);
  // Declared first, destroyed last: the writer flushes through it. Heap-held so that the
  // reader's and writer's pointers stay valid when the file is moved.
  std::unique_ptr<Socket> sock_;
  std::optional<SocketReader> reader_;
  std::optional<SocketWriter> writer_;
};

}  // namespace socketserver
