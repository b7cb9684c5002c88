// testing.hpp — Twisted's proto_helpers in C++: drive a protocol without a socket.
//
//   Twisted                                          C++ (namespace socketserver)
//   from twisted.internet.testing import StringTransport
//   tr = StringTransport()                           StringTransport tr;
//   proto.makeConnection(tr)                         proto.make_connection(tr);
//   proto.dataReceived(b"hello\r\n")                 proto.data_received("hello\r\n");
//   tr.value()  /  tr.clear()                        tr.value()  /  tr.clear();
//   tr.disconnecting                                 tr.disconnecting()
//   proto.connectionLost(failure)                    tr.end_connection(proto, reason);
//
// Everything written is kept in memory and nothing is sent anywhere; the addresses are values
// the test chooses (Twisted's defaults: host 10.0.0.1:12345, peer 192.168.1.1:54321). Not
// thread-safe: use a StringTransport from one thread, as the protocol it drives.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "socketserver/address.hpp"
#include "socketserver/reactor.hpp"

namespace socketserver {

/// Twisted's proto_helpers.StringTransport: a Transport that records what the protocol does.
/// As the reactor's transports, write() after lose_connection() or abort_connection() is
/// ignored.
class StringTransport final : public Transport {
 public:
  /// `reactor`, when given, is what reactor() returns (for protocols that schedule calls);
  /// without one, reactor() throws std::logic_error.
  explicit StringTransport(Reactor* reactor = nullptr);

  /// Everything written so far (Twisted's value()), and clear() to start again.
  [[nodiscard]] const std::string& value() const noexcept { return written_; }
  void clear() noexcept { written_.clear(); }

  /// Twisted's peerAddress/hostAddress: what get_peer()/get_host() return.
  void set_peer(Address peer) { peer_ = std::move(peer); }
  void set_host(Address host) { host_ = std::move(host); }

  /// Ends the connection as the reactor would: protocol.connection_lost(reason), after which
  /// the protocol is no longer connected (Twisted's test calls connectionLost by hand).
  void end_connection(Protocol& protocol,
                      const Reason& reason = Reason{true, 0, "Connection was closed cleanly."});

  /// What the protocol asked for: lose_connection() (or abort) was called; abort_connection()
  /// was; lose_write_connection() was; pause_producing() is in force (Twisted's
  /// producerState "paused"); the TCP options set.
  [[nodiscard]] bool aborted() const noexcept { return aborted_; }
  [[nodiscard]] bool write_closed() const noexcept { return write_closed_; }
  [[nodiscard]] bool paused() const noexcept { return paused_; }
  [[nodiscard]] bool tcp_nodelay() const noexcept { return nodelay_; }
  [[nodiscard]] bool tcp_keepalive() const noexcept { return keepalive_; }

  // Transport
  void write(std::string_view data) override;
  void lose_connection() override { disconnecting_ = true; }
  void abort_connection() override;
  void lose_write_connection() override { write_closed_ = true; }
  [[nodiscard]] Address get_peer() const override { return peer_; }
  [[nodiscard]] Address get_host() const override { return host_; }
  void set_tcp_nodelay(bool enabled) override { nodelay_ = enabled; }
  void set_tcp_keepalive(bool enabled) override { keepalive_ = enabled; }
  void pause_producing() override { paused_ = true; }
  void resume_producing() override { paused_ = false; }
  /// Always 0: everything written is taken at once.
  [[nodiscard]] std::size_t write_buffer_size() const override { return 0; }
  /// Nothing is ever buffered, so the marks are never passed.
  void set_write_buffer_limits(std::size_t high, std::size_t low) override {
    (void)high;
    (void)low;
  }
  [[nodiscard]] bool disconnecting() const override { return disconnecting_; }
  [[nodiscard]] Reactor& reactor() const override;

 private:
  Reactor* reactor_;
  std::string written_;
  Address host_;
  Address peer_;
  bool disconnecting_ = false;
  bool aborted_ = false;
  bool write_closed_ = false;
  bool paused_ = false;
  bool nodelay_ = false;
  bool keepalive_ = false;
};

}  // namespace socketserver
