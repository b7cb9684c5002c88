// report.cpp — rate-limited stderr reports and exception texts.
#include "report.hpp"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <typeinfo>

namespace socketserver::detail {

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && demangled ? demangled.get() : type.name();
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

void Reporter::report(const char* kind, const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  State* state = nullptr;
  for (State& s : states_) {
    if (s.kind == kind) state = &s;
  }
  if (state == nullptr) state = &states_.emplace_back(State{kind, {}, 0});
  const auto now = std::chrono::steady_clock::now();
  if (state->last != std::chrono::steady_clock::time_point{} &&
      now - state->last < std::chrono::seconds(1)) {
    ++state->suppressed;
    return;
  }
  std::string text = line;
  if (state->suppressed > 0) {
    text += " [" + std::to_string(state->suppressed) + " similar messages suppressed]";
  }
  text += "\n";
  state->last = now;
  state->suppressed = 0;
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace socketserver::detail
