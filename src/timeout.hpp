// timeout.hpp (internal) — one check for every number of seconds the library is given (socket
// timeouts, server and handler timeouts, the reactor's delays and idle limits), and the one
// conversion of a checked value into the steady clock.
//
// And the deadline model of every blocking call with a timeout: one deadline for the whole call,
// waits on the descriptor until then (Socket, SSLSocket).
//
// Python's rules: NaN or a negative number is a ValueError (here std::invalid_argument); a
// number too large for the clock is an OverflowError (here std::overflow_error). The bound is
// 1e9 seconds (31 years): a deadline now + 1e9 s fits the clock's 64-bit nanoseconds with room,
// while 1e300 or infinity would overflow the conversion (undefined behaviour, not a long wait).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

namespace socketserver::detail {

inline constexpr double kMaxSeconds = 1e9;

/// Checks `seconds` for `what` (named in the error): NaN, negative (or zero when `zero_ok` is
/// false) throw std::invalid_argument; more than kMaxSeconds throws std::overflow_error.
inline void check_seconds(double seconds, const char* what, bool zero_ok = true) {
  if (std::isnan(seconds) || seconds < 0 || (!zero_ok && seconds == 0)) {
    throw std::invalid_argument(std::string(what) + " must be a " +
                                (zero_ok ? "non-negative" : "positive") + " number of seconds");
  }
  if (seconds > kMaxSeconds) {
    throw std::overflow_error(std::string(what) + " is too large (at most 1e9 seconds)");
  }
}

/// A checked number of seconds as the steady clock's duration (saturates at kMaxSeconds, so a
/// value that skipped the check cannot overflow either).
inline std::chrono::steady_clock::duration to_steady(std::chrono::duration<double> d) {
  const double s = std::isnan(d.count()) ? 0.0 : std::clamp(d.count(), 0.0, kMaxSeconds);
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

/// When a blocking call with `timeout` must have finished; none for no timeout (blocking) or a
/// timeout of 0 (non-blocking: the call never waits).
using Deadline = std::optional<std::chrono::steady_clock::time_point>;
inline Deadline deadline_for(const std::optional<std::chrono::duration<double>>& timeout) {
  if (!timeout || timeout->count() <= 0) return std::nullopt;
  return std::chrono::steady_clock::now() + to_steady(*timeout);
}

/// Waits until `fd` is ready for `events` (poll's) or the deadline passes (none: forever).
/// False when the deadline passed; EINTR is retried with the time that remains; another poll
/// failure throws socket_error (src/socket.cpp).
bool wait_ready(int fd, short events, const Deadline& deadline);

}  // namespace socketserver::detail
