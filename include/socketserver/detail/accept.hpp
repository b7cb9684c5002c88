// detail/accept.hpp (internal; public only because ThreadPoolMixIn's workers accept) — the one
// accept policy of every loop: BaseServer's serve_forever, ThreadPoolMixIn's workers and the
// reactor's listening ports. Which errors are retried at once, which pause accepting and for how
// long, which are reported.
#pragma once

#include <chrono>
#include <string>

namespace socketserver::detail {

class AcceptPolicy {
 public:
  enum class Action {
    retry,     ///< nothing to report: try again (EAGAIN, EINTR, a connection reset in the queue)
    back_off,  ///< descriptors or memory ran out: pause accepting, report
    report,    ///< anything else: report, accept again when the listener is next ready
  };
  [[nodiscard]] static Action classify(int err) noexcept;

  /// The first pause and the longest: 10 ms, doubling while the errors last, at most 1 s.
  static constexpr std::chrono::milliseconds kFirstPause{10};
  static constexpr std::chrono::milliseconds kLongestPause{1000};

  /// An accept failed with `err`: its action; after back_off, pause() is the time to wait.
  Action failed(int err) noexcept;
  /// An accept succeeded: the next back-off starts from the first pause again.
  void succeeded() noexcept { pause_ = std::chrono::milliseconds(0); }
  [[nodiscard]] std::chrono::milliseconds pause() const noexcept { return pause_; }
  /// The report line for `what` (the error's text) after failed(): back_off adds the pause.
  [[nodiscard]] std::string describe(const std::string& what, Action action) const;

 private:
  std::chrono::milliseconds pause_{0};
};

}  // namespace socketserver::detail
