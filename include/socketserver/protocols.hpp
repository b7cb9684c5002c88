// protocols.hpp — Twisted's ready-made protocol pieces (twisted.protocols): LineReceiver
// (protocols.basic) and TimeoutMixin (protocols.policies). reactor.hpp includes this header, so
// including either one is enough.
//
// Both run over any Transport: a reactor's connection, standard input/output, or the
// StringTransport of a test (testing.hpp). Not thread-safe: the reactor thread's, as every
// protocol.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "socketserver/detail/buffer.hpp"
#include "socketserver/reactor.hpp"

namespace socketserver {

/// Twisted's LineReceiver: splits the stream into lines on `delimiter`. Runs over any
/// Transport (a socket, standard input/output, a StringTransport in a test). As Twisted's:
/// a callback may switch modes, clear the buffer or feed data back (set_line_mode(extra)), and
/// each byte is delivered once; after a line, delivery stops while the transport is
/// disconnecting (the rest is kept). Not thread-safe: the reactor thread's, as every protocol.
class LineReceiver : public Protocol {
 public:
  /// Twisted's delimiter ("\r\n") and MAX_LENGTH (16384). Any max_length is valid, SIZE_MAX
  /// included (no limit).
  std::string delimiter = "\r\n";
  std::size_t max_length = 16384;

  /// One line, without its delimiter.
  virtual void line_received(std::string_view line) { (void)line; }
  /// Raw mode: the bytes as they come (after set_raw_mode).
  virtual void raw_data_received(std::string_view data) { (void)data; }
  /// A line (or the unterminated buffer) passed max_length: the default closes the connection.
  /// As Twisted, `line` is the long line with its delimiter and everything buffered after it.
  virtual void line_length_exceeded(std::string_view line);
  /// Writes `line` followed by the delimiter.
  void send_line(std::string_view line);
  /// Twisted's setRawMode / setLineMode(extra): switch modes; `extra` is fed back through
  /// the new mode first (after what is still buffered, when called from a callback).
  void set_raw_mode();
  void set_line_mode(std::string_view extra = {});
  /// Twisted's clearLineBuffer(): drops the bytes not yet delivered and returns them (called
  /// from line_received: the rest of the current read).
  std::string clear_line_buffer();

  /// Twisted's LineReceiver.pauseProducing(): delivers nothing more (lines or raw data), not
  /// even what already arrived in the same read, and stops the transport reading, until
  /// resume_producing(), which restarts reading and first delivers what is buffered.
  void pause_producing();
  void resume_producing();
  /// True between pause_producing() and resume_producing() (Twisted's `paused`).
  [[nodiscard]] bool paused() const noexcept { return paused_; }

  /// Feeds bytes through the current mode. Throws std::logic_error when the delimiter is
  /// empty in line mode.
  void data_received(std::string_view data) override;

 private:
  void deliver(std::string_view data);            // Twisted's dataReceived loop
  void keep_rest();                               // the undelivered bytes go to buffer_
  void report_exceeded(const std::string& line);  // line_length_exceeded, still busy
  [[nodiscard]] bool exceeds(std::size_t unterminated) const noexcept;
  [[nodiscard]] bool in_work() const noexcept;  // view_ is work_'s bytes
  std::string take_undelivered();               // all not yet delivered, out of the buffers
  detail::ByteBuffer buffer_;                   // bytes received and not yet delivered (owned)
  detail::ByteBuffer work_;  // deliver()'s buffer_ + data, when buffer_ was not empty
  std::string_view view_;    // during deliver(): the bytes being delivered; view_[pos_..] is left
  std::size_t pos_ = 0;
  bool busy_ = false;  // deliver() is on the stack: data_received only appends to buffer_
  bool raw_ = false;
  bool paused_ = false;   // pause_producing()
  std::string line_out_;  // send_line's buffer, reused
};

/// Twisted's policies.TimeoutMixin, as a policy template over a protocol class:
///
// clang-format off
///   class P(LineReceiver, TimeoutMixin):       struct P : ss::TimeoutMixin<ss::LineReceiver> {
///       def connectionMade(self):                void connection_made() override {
///           self.setTimeout(60)                      set_timeout(60s);
///                                                }
///       def lineReceived(self, line):            void line_received(std::string_view) override {
///           self.resetTimeout()                      reset_timeout();
///                                                }
// clang-format on
///
/// When the countdown ends, timeout_connection() runs (default: closes the connection).
/// The timer is the transport's reactor's; reactor thread only. The countdown stops by itself
/// once the protocol is disconnected or destroyed.
template <class Base = Protocol>
class TimeoutMixin : public Base {
 public:
  using Base::Base;
  ~TimeoutMixin() override { call_.cancel(); }

  /// Twisted's setTimeout(period): starts (or restarts) the countdown with `period`; nullopt
  /// cancels it. Returns the previous period. Starting one needs a connected transport
  /// (throws std::logic_error otherwise).
  Timeout set_timeout(Timeout period) {
    const Timeout previous = timeout_;
    timeout_ = period;
    if (call_.active()) {
      if (period) {
        call_.reset(*period);
      } else {
        call_.cancel();
      }
    } else if (period) {
      call_ = this->transport().reactor().call_later(*period, [this] { timed_out(); });
    }
    return previous;
  }
  /// Twisted's resetTimeout(): the countdown starts again (call it on activity).
  void reset_timeout() {
    if (timeout_ && call_.active()) call_.reset(*timeout_);
  }
  /// Twisted's timeoutConnection(): the countdown ended. The default closes the connection
  /// after sending what is queued (Twisted's loseConnection), or at once when output is
  /// still queued (a peer that neither sends nor reads must not hold it).
  virtual void timeout_connection() {
    Transport& t = this->transport();
    if (t.write_buffer_size() > 0) {
      t.abort_connection();
    } else {
      t.lose_connection();
    }
  }

 private:
  void timed_out() {
    if (this->connected()) timeout_connection();
  }
  Timeout timeout_;
  DelayedCall call_;
};

}  // namespace socketserver
