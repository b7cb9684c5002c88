// report.cpp — rate-limited stderr reports and exception texts.
#include "report.hpp"

#include <cxxabi.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <memory>
#include <typeinfo>

#include "socketserver/detail/fd.hpp"
#include "socketserver/errors.hpp"
#include "socketserver/proxy_protocol.hpp"
#include "socketserver/ssl.hpp"

namespace socketserver::detail {

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && demangled ? demangled.get() : type.name();
}

ssize_t write_no_sigpipe(int fd, const void* data, std::size_t size) noexcept {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t old_mask;
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  const ssize_t n = ::write(fd, data, size);
  const int err = errno;
  if (n < 0 && err == EPIPE && !was_pending) {
    const timespec no_wait{0, 0};
    (void)retry_on_eintr([&] { return ::sigtimedwait(&pipe_only, nullptr, &no_wait); });
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = err;
  return n;
}

void write_console(int fd, std::string_view text) noexcept {
  while (!text.empty()) {
    const ssize_t n =
        retry_on_eintr([&] { return write_no_sigpipe(fd, text.data(), text.size()); });
    if (n <= 0) return;  // EPIPE, EBADF, ...: the line is lost, the server goes on
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string current_exception_text() {
  const std::exception_ptr current = std::current_exception();
  if (!current) return "(no exception)";
  const std::type_info* type = abi::__cxa_current_exception_type();
  const std::string name = type != nullptr ? type_name(*type) : "unknown exception";
  try {
    std::rethrow_exception(current);
  } catch (const std::exception& e) {
    return name + ": " + e.what();
  } catch (...) {
    return name;
  }
}

const char* expected_failure_kind() {
  const std::exception_ptr current = std::current_exception();
  if (!current) return nullptr;
  try {
    std::rethrow_exception(current);
  } catch (const connection_reset_error&) {
    return "connection reset";
  } catch (const connection_aborted_error&) {
    return "connection aborted";
  } catch (const broken_pipe_error&) {
    return "broken pipe";
  } catch (const timeout_error&) {
    return "timeout";
  } catch (const line_too_long_error&) {
    return "line too long";
  } catch (const ssl_error&) {  // a handshake that failed: a wrong client, a scanner, a reset
    return "tls";
  } catch (const proxy_header_error&) {  // not from the balancer, or a broken header
    return "proxy";
  } catch (...) {
    return nullptr;
  }
}

Reporter::State* Reporter::due(const char* kind) {
  State* state = nullptr;
  for (State& s : states_) {
    if (s.kind == kind) state = &s;
  }
  if (state == nullptr) state = &states_.emplace_back(State{kind, {}, 0});
  const auto now = std::chrono::steady_clock::now();
  if (state->last != std::chrono::steady_clock::time_point{} &&
      now - state->last < std::chrono::seconds(1)) {
    ++state->suppressed;
    return nullptr;
  }
  state->last = now;
  return state;
}

void Reporter::write(State& state, std::string line) {
  if (state.suppressed > 0) {
    line += " [" + std::to_string(state.suppressed) + " similar messages suppressed]";
  }
  line += "\n";
  state.suppressed = 0;
  std::fflush(stderr);  // whatever the program wrote through stdio comes first
  write_console(STDERR_FILENO, line);
}

void Reporter::report(const char* kind, const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (State* state = due(kind)) write(*state, line);
}

void Reporter::report(const char* kind, std::string (*make)(const void*), const void* context) {
  std::lock_guard<std::mutex> lock(mu_);
  if (State* state = due(kind)) write(*state, make(context));
}

void report_exception_line(Reporter& reporter, const std::string& what) {
  const std::string line = what + current_exception_text();
  if (const char* kind = expected_failure_kind()) {  // resets, timeouts: rate-limited
    reporter.report(kind, line);
    return;
  }
  std::fflush(stderr);
  write_console(STDERR_FILENO, line + "\n");
}

}  // namespace socketserver::detail
