// reactor_tls.hpp (internal) — TLS in the reactor: a Layer that speaks ciphertext to the
// connection under it and plaintext to the protocol above it, through an SSLObject (two OpenSSL
// memory BIOs): no thread, no blocking. Used by listen_ssl, connect_ssl and start_tls.
// OpenSSL's side of the library: only TLS objects include this (tls_hooks.hpp).
#pragma once

#include <memory>
#include <string>

#include "reactor_impl.hpp"
#include "socketserver/detail/buffer.hpp"
#include "socketserver/ssl.hpp"

namespace socketserver {

class TLSLayer final : public Layer {
 public:
  /// listen_ssl / connect_ssl: `factory` builds the protocol once the handshake has completed;
  /// a client's `connector` is told client_connection_failed when it does not.
  TLSLayer(ReactorImpl& impl, SSLObject session, Timeout handshake_timeout, Factory& factory,
           std::shared_ptr<Factory> keep, Connector* connector);
  /// start_tls: over `above`, already connected (owned by the connection).
  TLSLayer(ReactorImpl& impl, SSLObject session, Timeout handshake_timeout, Protocol& above);

  // ---- Protocol: the connection under it (ciphertext) --------------------------------------
  void connection_made() override;
  void data_received(std::string_view data) override;
  void read_connection_lost() override;
  void connection_lost(const Reason& reason) override;
  void pause_writing() override;
  void resume_writing() override;

  // ---- Transport: the protocol above it (plaintext) ----------------------------------------
  void write(std::string_view data) override;
  void lose_connection() override;
  void abort_connection() override;
  void lose_write_connection() override;
  [[nodiscard]] Address get_peer() const override { return below().get_peer(); }
  [[nodiscard]] Address get_host() const override { return below().get_host(); }
  [[nodiscard]] std::optional<Address> get_balancer() const override {
    return below().get_balancer();
  }
  [[nodiscard]] const ProxyHeader* proxy_header() const override { return below().proxy_header(); }
  void set_tcp_nodelay(bool enabled) override { below().set_tcp_nodelay(enabled); }
  void set_tcp_keepalive(bool enabled) override { below().set_tcp_keepalive(enabled); }
  void pause_producing() override;
  void resume_producing() override;
  [[nodiscard]] std::size_t write_buffer_size() const override {
    return pending_.size() + below().write_buffer_size();
  }
  void set_write_buffer_limits(std::size_t high, std::size_t low) override;
  [[nodiscard]] bool disconnecting() const override {
    return disconnecting_ || below().disconnecting();
  }
  [[nodiscard]] Reactor& reactor() const override { return impl_.owner; }
  void start_tls(const SSLContext& context, bool server_side,
                 const std::string& server_hostname) override;
  [[nodiscard]] const SSLObject* ssl_object() const override { return &session_; }

 private:
  [[nodiscard]] Transport& below() const { return transport(); }
  [[nodiscard]] ssl_st* ssl() const noexcept { return session_.native_handle(); }
  void advance();         // the handshake while it runs, then decrypted input to the protocol
  void handshake_done();  // builds or tells the protocol, sends what waited
  void deliver();         // SSL_read while the protocol reads
  void flush_out();       // what OpenSSL wrote to the output BIO goes to the connection
  void encrypt(std::string_view data);  // SSL_write, then flush_out
  void send_close_notify();
  // A failed SSL_* call (`code` from SSL_get_error) closes the connection with its reason;
  // during the handshake it is also reported (server) or told to the connector (client).
  void fail(const char* what, int code);
  void close_with(Reason reason);
  void handshake_timed_out();
  template <class Fn>
  bool call_above(const char* what, Fn&& fn);

  ReactorImpl& impl_;
  SSLObject session_;
  Timeout handshake_timeout_;
  Factory* factory_ = nullptr;  // listen_ssl / connect_ssl: builds above_ when the handshake ends
  std::shared_ptr<Factory> keep_;
  Connector* connector_ = nullptr;
  Protocol* above_ = nullptr;              // the protocol over this layer, once there is one
  std::unique_ptr<Protocol> owned_above_;  // when this layer built it
  detail::ByteBuffer pending_;             // plaintext written before the handshake completed
  DelayedCall handshake_timer_;
  DelayedCall deliver_call_;  // resume_producing's delivery of what waited, from the loop
  std::size_t high_water_ = 1u << 20;
  std::size_t low_water_ = 256u << 10;
  bool handshaking_ = true;
  bool reading_ = true;         // the protocol above has not paused us
  bool above_paused_ = false;   // the protocol above was told pause_writing
  bool read_closed_ = false;    // the peer's close_notify (or the end) was seen
  bool disconnecting_ = false;  // lose_connection from above
  bool close_notify_sent_ = false;
  bool closed_ = false;  // the connection under it is closing
  bool delivering_ = false;
};

/// Transport::start_tls on a StreamConnection (tls_hooks.hpp): the layer over `above`, with
/// start_tls's handshake bound (10 s). Throws as wrap_bio.
std::unique_ptr<Layer> make_start_tls_layer(ReactorImpl& impl, const SSLContext& context,
                                            bool server_side, const std::string& server_hostname,
                                            Protocol& above);

}  // namespace socketserver
