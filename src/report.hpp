// report.hpp (internal) — stderr reports that a flood cannot turn into a flood of lines, and the
// text of the exception being handled. Shared by the servers and the reactor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace socketserver::detail {

/// write(2) that never raises SIGPIPE, for a pipe or terminal (a socket has MSG_NOSIGNAL): when
/// the reader is gone it fails with EPIPE instead of ending the process. SIGPIPE is blocked in
/// the calling thread for the call only (pthread_sigmask; the kernel directs a write's SIGPIPE
/// at the writing thread), and one the call raised is taken off again (sigtimedwait); a SIGPIPE
/// that was pending before stays pending. Dispositions are not touched. One write: may be short.
ssize_t write_no_sigpipe(int fd, const void* data, std::size_t size) noexcept;

/// Console output of the library: all of `text` to `fd` (retrying short writes and EINTR) with
/// write_no_sigpipe. A closed or full-error descriptor loses the text, never the process.
void write_console(int fd, std::string_view text) noexcept;

/// "std::runtime_error: boom" for the exception being handled (call inside a catch block).
std::string current_exception_text();

/// The readable name of a type: "socketserver::TCPServer", not its mangled form.
std::string type_name(const std::type_info& type);
/// For the exception being handled (call inside a catch block): the name of the failure a peer
/// causes in the ordinary course of things ("connection reset", "connection aborted",
/// "broken pipe", "timeout", "line too long"), or nullptr for anything else (a real error).
const char* expected_failure_kind();

class Reporter;
/// For the exception being handled (call inside a catch block): `what` and the exception's text
/// as one line on stderr. A failure a peer causes (expected_failure_kind) goes through
/// `reporter`, rate-limited; anything else is written at once.
void report_exception_line(Reporter& reporter, const std::string& what);

/// Writes one line to stderr, at most once a second per `kind`; the next line written says how
/// many were suppressed. Thread-safe.
class Reporter {
 public:
  void report(const char* kind, const std::string& line);
  /// The same with the line made by make(context), called only when the line is written.
  void report(const char* kind, std::string (*make)(const void*), const void* context);

 private:
  struct State {
    std::string kind;
    std::chrono::steady_clock::time_point last{};
    std::size_t suppressed = 0;
  };
  // With mu_ held: the state of `kind` when a line of it may be written now, else nullptr
  // (the line is counted as suppressed).
  State* due(const char* kind);
  // With mu_ held: writes `line` (and the count suppressed before it) for `state`.
  static void write(State& state, std::string line);

  std::mutex mu_;
  std::vector<State> states_;
};

}  // namespace socketserver::detail
