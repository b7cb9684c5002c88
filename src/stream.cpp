// stream.cpp — SocketReader, SocketWriter, SocketFile and Socket::makefile.
#include "socketserver/stream.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <stdexcept>

namespace socketserver {

namespace {
// The most one fill() asks for, buffered or not, so that read(1 GiB) does not allocate (and
// zero-fill) 1 GiB up front: the buffer grows by at most this much per recv, as bytes arrive.
constexpr std::size_t max_fill = std::size_t{1} << 20;
}  // namespace

// ---- SocketReader ------------------------------------------------------------------------

SocketReader::SocketReader(detail::StreamRef stream, std::size_t bufsize, std::size_t max_line)
    : stream_(stream), bufsize_(bufsize), max_line_(max_line) {}

bool SocketReader::fill(std::size_t want) {
  if (eof_) return false;
  // Unbuffered: never more than asked (nothing read past the caller's n), nor than max_fill.
  const std::size_t chunk = bufsize_ == 0 ? std::min(std::max<std::size_t>(want, 1), max_fill)
                                          : std::max(bufsize_, std::min(want, max_fill));
  const std::size_t n = stream_.recv_into(stream_.self, buf_.prepare(chunk).first(chunk));
  if (n == 0) {
    eof_ = true;
    return false;
  }
  buf_.commit(n);
  return true;
}

std::string SocketReader::take(std::size_t n) { return buf_.take(n); }

std::string SocketReader::read(std::size_t n) {
  while (buffered() < n && fill(n - buffered())) {
  }
  return take(std::min(n, buffered()));
}

std::string SocketReader::read() {
  while (fill(bufsize_ == 0 ? default_buffer_size : std::max(bufsize_, buffered()))) {
  }
  return take(buffered());
}

std::string SocketReader::read1(std::size_t n) {
  if (n == 0) return {};
  if (buffered() == 0) fill(n);
  return take(std::min(n, buffered()));
}

std::string SocketReader::readline() { return readline_bounded(max_line_, true); }

std::string SocketReader::readline(std::size_t limit) { return readline_bounded(limit, false); }

std::string SocketReader::readline_bounded(std::size_t limit, bool throw_when_longer) {
  std::size_t scanned = 0;  // bytes already searched for '\n'
  for (;;) {
    const std::size_t window = std::min(buffered(), limit);
    if (window > scanned) {
      const std::size_t nl =
          detail::ByteBuffer::find_in(buf_.view().substr(0, window), "\n", scanned);
      if (nl != detail::ByteBuffer::npos) return take(nl + 1);
      scanned = window;
    }
    if (buffered() >= limit) {
      if (!throw_when_longer) return take(limit);
      buf_.consume(limit);  // drop the over-long prefix; the caller ends the exchange
      throw line_too_long_error("readline from " + stream_.describe(stream_.self), limit);
    }
    if (!fill(1)) return take(buffered());  // end of stream: the last, unterminated line
  }
}

std::vector<std::string> SocketReader::readlines(std::size_t hint) {
  std::vector<std::string> lines;
  std::size_t total = 0;
  try {
    for (;;) {
      std::string line = readline();
      if (line.empty()) break;
      total += line.size();
      lines.push_back(std::move(line));
      if (hint != 0 && total >= hint) break;
    }
  } catch (...) {
    unread(lines, total);  // a timeout (or any error) loses none of the lines already read
    throw;
  }
  return lines;
}

void SocketReader::unread(const std::vector<std::string>& lines, std::size_t total) {
  std::string restored;
  restored.reserve(total);
  for (const std::string& line : lines) restored += line;
  buf_.prepend(restored);
}

SocketReader::iterator::iterator(SocketReader* reader) : reader_(reader) { ++*this; }

SocketReader::iterator& SocketReader::iterator::operator++() {
  if (reader_ != nullptr) {
    line_ = reader_->readline();
    if (line_.empty()) reader_ = nullptr;
  }
  return *this;
}

// ---- SocketWriter ------------------------------------------------------------------------

SocketWriter::SocketWriter(detail::StreamRef stream, std::size_t bufsize)
    : stream_(stream), bufsize_(bufsize) {}

SocketWriter::SocketWriter(SocketWriter&& other) noexcept
    : stream_(other.stream_), bufsize_(other.bufsize_), buf_(std::move(other.buf_)) {
  other.buf_.clear();
}

SocketWriter::~SocketWriter() {
  try {
    flush();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; flush() reports
  }
}

std::size_t SocketWriter::write(std::string_view data) {
  if (bufsize_ == 0) {
    stream_.sendall(stream_.self, data);
    return data.size();
  }
  if (buf_.size() + data.size() > bufsize_) flush();
  if (data.size() >= bufsize_) {
    stream_.sendall(stream_.self, data);
  } else {
    buf_.append(data);
  }
  return data.size();
}

void SocketWriter::writelines(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) write(line);
}

void SocketWriter::flush() {
  if (buf_.empty()) return;
  stream_.sendall(stream_.self, buf_);
  buf_.clear();
}

// ---- SocketFile and makefile ---------------------------------------------------------------

SocketFile::SocketFile(Socket& sock, std::string_view mode, std::optional<std::size_t> buffering) {
  (void)sock.require_open("makefile");
  bool read = false;
  bool write = false;
  for (const char c : mode) {
    if (c == 'r') {
      read = true;
    } else if (c == 'w') {
      write = true;
    } else if (c != 'b') {
      throw std::invalid_argument("makefile: invalid mode '" + std::string(mode) +
                                  "' (only r, w and b)");
    }
  }
  if (!write) read = true;  // as Python: "" and "b" mean reading
  sock_ = std::make_unique<Socket>(sock.share());
  if (read) reader_.emplace(*sock_, buffering.value_or(default_buffer_size));
  if (write) writer_.emplace(*sock_, buffering.value_or(default_buffer_size));
}

SocketReader& SocketFile::reader(const char* op) {
  if (!sock_) throw std::logic_error(std::string(op) + ": I/O operation on closed file");
  if (!reader_) throw std::logic_error(std::string(op) + ": file not opened for reading");
  return *reader_;
}

SocketWriter& SocketFile::writer(const char* op) {
  if (!sock_) throw std::logic_error(std::string(op) + ": I/O operation on closed file");
  if (!writer_) throw std::logic_error(std::string(op) + ": file not opened for writing");
  return *writer_;
}

void SocketFile::flush() {
  if (writer_) writer_->flush();
}

void SocketFile::close() {
  if (!sock_) return;
  std::exception_ptr error;
  try {
    flush();
  } catch (...) {
    error = std::current_exception();
  }
  writer_.reset();  // its destructor tries once more, silently
  reader_.reset();
  sock_.reset();  // lets go of the shared descriptor
  if (error) std::rethrow_exception(error);
}

SocketFile Socket::makefile(std::string_view mode, std::optional<std::size_t> buffering) {
  return SocketFile(*this, mode, buffering);
}

}  // namespace socketserver
