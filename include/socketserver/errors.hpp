// errors.hpp — the exceptions of the library, shaped like Python's OSError family.
//
//   Python                         C++ (namespace socketserver)
//   OSError / socket.error         socket_error            (a std::system_error carrying errno)
//   TimeoutError / socket.timeout  timeout_error
//   BlockingIOError                blocking_io_error       (EAGAIN on a non-blocking socket)
//   ConnectionError                connection_error
//   ConnectionRefusedError         connection_refused_error
//   ConnectionResetError           connection_reset_error
//   ConnectionAbortedError         connection_aborted_error
//   BrokenPipeError                broken_pipe_error
//   OSError(EADDRINUSE)            address_in_use_error
//   socket.gaierror                gai_error               (carries the EAI_* code)
//   (no twin; Python returns a    line_too_long_error     (a line past a reader's limit)
//    truncated line instead)
//
// Every message names the operation and the address, e.g.
//   "connect to 127.0.0.1:21567: Connection refused".
// All types are immutable after construction and safe to share between threads.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace socketserver {

/// Python's OSError. `code()` is an errno in std::system_category() (or an EAI_* code in
/// gai_category() for gai_error); `what()` is "<operation>: <reason>".
class socket_error : public std::system_error {
 public:
  /// `context` names the operation and address ("connect to 127.0.0.1:21567"); the reason is
  /// the error code's message.
  socket_error(std::error_code code, std::string context);
  /// As above with an explicit reason instead of the code's message (e.g. "timed out").
  socket_error(std::error_code code, std::string context, std::string_view reason);

  /// The errno value, Python's `OSError.errno` (for gai_error: the EAI_* code).
  [[nodiscard]] int errno_value() const noexcept { return code().value(); }
  /// "<operation>: <reason>".
  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

/// Python's TimeoutError (socket.timeout): a positive timeout ran out. errno is ETIMEDOUT.
class timeout_error : public socket_error {
 public:
  explicit timeout_error(std::string context);
};

/// Python's BlockingIOError: the operation would block on a non-blocking socket (EAGAIN,
/// EWOULDBLOCK, EINPROGRESS, EALREADY).
class blocking_io_error : public socket_error {
  using socket_error::socket_error;
};

/// Python's ConnectionError: base of the four below.
class connection_error : public socket_error {
  using socket_error::socket_error;
};
/// ECONNREFUSED.
class connection_refused_error : public connection_error {
  using connection_error::connection_error;
};
/// ECONNRESET.
class connection_reset_error : public connection_error {
  using connection_error::connection_error;
};
/// ECONNABORTED.
class connection_aborted_error : public connection_error {
  using connection_error::connection_error;
};
/// EPIPE (and ESHUTDOWN): writing to a connection the peer or we have shut down.
class broken_pipe_error : public connection_error {
  using connection_error::connection_error;
};

/// EADDRINUSE: "bind to 127.0.0.1:21567: Address already in use".
class address_in_use_error : public socket_error {
  using socket_error::socket_error;
};

/// The std::error_category of getaddrinfo's EAI_* codes (messages from gai_strerror).
const std::error_category& gai_category() noexcept;

/// Python's socket.gaierror: name resolution failed. `errno_value()` is the EAI_* code
/// (EAI_NONAME, EAI_AGAIN, ...); the message names the host.
class gai_error : public socket_error {
 public:
  gai_error(int eai_code, std::string context);
  /// The EAI_* code, as Python's `gaierror.errno`.
  [[nodiscard]] int eai_code() const noexcept { return code().value(); }
};

/// A line longer than the reader's limit (SocketReader::readline, StreamRequestHandler):
/// an error for that request, never unbounded memory.
class line_too_long_error : public std::length_error {
 public:
  line_too_long_error(std::string context, std::size_t limit);
  /// The limit that was exceeded, in bytes.
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

 private:
  std::size_t limit_;
};

/// Throws the socket_error subclass that matches `err` (an errno value): connection refused,
/// reset, aborted, broken pipe, address in use, would block, timed out, or plain socket_error.
/// `context` names the operation and address.
[[noreturn]] void throw_os_error(int err, std::string context);

}  // namespace socketserver
