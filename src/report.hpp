// report.hpp (internal) — stderr reports that a flood cannot turn into a flood of lines, and the
// text of the exception being handled. Shared by the servers and the reactor.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <typeinfo>
#include <vector>

namespace socketserver::detail {

/// "std::runtime_error: boom" for the exception being handled (call inside a catch block).
std::string current_exception_text();

/// The readable name of a type: "socketserver::TCPServer", not its mangled form.
std::string type_name(const std::type_info& type);

/// Writes one line to stderr, at most once a second per `kind`; the next line written says how
/// many were suppressed. Thread-safe.
class Reporter {
 public:
  void report(const char* kind, const std::string& line);

 private:
  struct State {
    std::string kind;
    std::chrono::steady_clock::time_point last{};
    std::size_t suppressed = 0;
  };
  std::mutex mu_;
  std::vector<State> states_;
};

}  // namespace socketserver::detail
