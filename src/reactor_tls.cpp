// reactor_tls.cpp — TLS in the reactor (reactor_tls.hpp): the TLS layer over OpenSSL memory
// BIOs, listen_ssl, connect_ssl and start_tls's layer (StreamConnection::start_tls, in
// reactor_io.cpp, reaches it through tls_hooks.hpp).
//
// The layer feeds what the connection reads to the SSLObject's input BIO, runs the handshake and
// then SSL_read, and hands the plaintext to the protocol above; what the protocol writes goes
// through SSL_write, and the output BIO is emptied into the connection at once. So the
// connection's own write buffer (and its marks) holds the ciphertext, and nothing waits in the
// layer but plaintext written during a start_tls handshake: back-pressure is the connection's.
#include "reactor_tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>

#include "ssl_internal.hpp"
#include "timeout.hpp"

namespace socketserver {

namespace {

// start_tls's handshake bound (ListenOptions::handshake_timeout's default).
const Timeout kStartTlsHandshakeTimeout = std::chrono::duration<double>(10);

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

}  // namespace

// ---- the layer ---------------------------------------------------------------------------------

TLSLayer::TLSLayer(ReactorImpl& impl, SSLObject session, Timeout handshake_timeout,
                   Factory& factory, std::shared_ptr<Factory> keep, Connector* connector)
    : impl_(impl),
      session_(std::move(session)),
      handshake_timeout_(handshake_timeout),
      factory_(&factory),
      keep_(std::move(keep)),
      connector_(connector) {}

TLSLayer::TLSLayer(ReactorImpl& impl, SSLObject session, Timeout handshake_timeout, Protocol& above)
    : impl_(impl),
      session_(std::move(session)),
      handshake_timeout_(handshake_timeout),
      above_(&above) {}

template <class Fn>
bool TLSLayer::call_above(const char* what, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (...) {
    const std::string text = detail::current_exception_text();
    impl_.report_exception(what, get_peer().to_string());
    close_with(Reason{false, 0, std::string("exception in ") + what + ": " + text});
    return false;
  }
}

void TLSLayer::connection_made() {
  if (handshake_timeout_) {
    handshake_timer_ = impl_.schedule(*handshake_timeout_, [this] { handshake_timed_out(); });
  }
  advance();  // a client sends its ClientHello now
}

void TLSLayer::data_received(std::string_view data) {
  if (closed_) return;
  // `data` is at most the reactor's read buffer (64 KiB): the input BIO holds no more than one
  // read, as the connection stops reading while the protocol above is paused.
  BIO_write(SSL_get_rbio(ssl()), data.data(), static_cast<int>(data.size()));
  advance();
}

void TLSLayer::advance() {
  if (closed_) return;
  if (handshaking_) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl());
    if (r != 1) {
      const int code = SSL_get_error(ssl(), r);
      flush_out();  // our next flight, or the alert that ends it
      if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return;
      fail("do_handshake", code);
      return;
    }
    flush_out();
    handshake_done();
    if (closed_) return;
  }
  deliver();
}

void TLSLayer::handshake_done() {
  handshaking_ = false;
  handshake_timer_.cancel();
  if (above_ == nullptr) {  // listen_ssl / connect_ssl: the protocol starts now
    const Address peer = get_peer();
    std::unique_ptr<Protocol> built;
    try {
      built = factory_->build_protocol(peer);
    } catch (...) {
      impl_.report_exception("build_protocol", peer.to_string());
    }
    if (!built) {
      send_close_notify();
      close_with(Reason{false, ECONNREFUSED, "build_protocol refused the connection."});
      return;
    }
    owned_above_ = std::move(built);
    above_ = owned_above_.get();
    ReactorImpl::transport_of(*above_) = this;
    ReactorImpl::factory_of(*above_) = factory_;
    if (connector_ != nullptr) {  // from now on the connector hears client_connection_lost
      stream->connector = connector_;
      connector_ = nullptr;
    }
    if (!call_above("connection_made", [this] { above_->connection_made(); })) return;
  } else if (!reading_) {
    below().pause_producing();  // start_tls: paused during the handshake
  }
  if (closed_ || !call_above("handshake_completed", [this] { above_->handshake_completed(); })) {
    return;
  }
  if (closed_) return;
  if (pending_.size() > 0) {  // start_tls: what was written meanwhile, encrypted now
    const std::string waiting(pending_.data(), pending_.size());
    pending_.clear();
    encrypt(waiting);
    if (closed_) return;
  }
  if (above_paused_ && write_buffer_size() <= low_water_) {
    above_paused_ = false;
    if (!call_above("resume_writing", [this] { above_->resume_writing(); })) return;
  }
  if (disconnecting_) {
    send_close_notify();
    below().lose_connection();
  }
}

void TLSLayer::deliver() {
  if (delivering_) return;
  delivering_ = true;
  while (!closed_ && reading_ && !read_closed_ && above_ != nullptr) {
    std::size_t got = 0;
    ERR_clear_error();
    // Into the reactor's read buffer: its bytes went to the input BIO before this.
    const int r = SSL_read_ex(ssl(), impl_.scratch.data(), impl_.scratch.size(), &got);
    if (r == 1) {
      if (!call_above("data_received", [&] {
            above_->data_received(std::string_view(impl_.scratch.data(), got));
          })) {
        break;
      }
      continue;
    }
    const int code = SSL_get_error(ssl(), r);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) break;
    if (code == SSL_ERROR_ZERO_RETURN) {  // the peer's close_notify: the end of its data
      read_closed_ = true;
      call_above("read_connection_lost", [this] { above_->read_connection_lost(); });
      break;
    }
    fail("recv", code);
    break;
  }
  delivering_ = false;
  flush_out();  // what reading produced (a TLS 1.3 key update's answer)
}

void TLSLayer::read_connection_lost() {
  if (closed_ || read_closed_) return;
  // The end of the stream: OpenSSL sees it when the input runs dry (an error unless its
  // close_notify came first).
  BIO_set_mem_eof_return(SSL_get_rbio(ssl()), 0);
  if (handshaking_) {
    advance();
  } else {
    deliver();
  }
}

void TLSLayer::connection_lost(const Reason& reason) {
  closed_ = true;
  handshake_timer_.cancel();
  deliver_call_.cancel();
  if (above_ != nullptr && ReactorImpl::transport_of(*above_) == this) {
    try {
      above_->connection_lost(reason);
    } catch (...) {
      impl_.report_exception("connection_lost", get_peer().to_string());
    }
    ReactorImpl::transport_of(*above_) = nullptr;
  } else if (connector_ != nullptr) {  // connect_ssl: no connection was made
    Connector* c = connector_;
    connector_ = nullptr;
    ReactorImpl::connection_of(*c) = nullptr;
    try {
      ReactorImpl::factory_of(*c).client_connection_failed(*c, reason);
    } catch (...) {
      impl_.report_exception("client_connection_failed", c->get_destination().to_string());
    }
    impl_.connector_finished(*c);
  }
}

void TLSLayer::pause_writing() {
  if (above_paused_ || above_ == nullptr) return;
  above_paused_ = true;
  call_above("pause_writing", [this] { above_->pause_writing(); });
}

void TLSLayer::resume_writing() {
  if (!above_paused_ || write_buffer_size() > low_water_) return;
  above_paused_ = false;
  call_above("resume_writing", [this] { above_->resume_writing(); });
}

void TLSLayer::flush_out() {
  // BIO_read rather than writing the BIO's buffer in place: a memory BIO's reset clears its
  // whole capacity (the largest burst), a read only moves a pointer.
  BIO* out = SSL_get_wbio(ssl());
  char buf[32 * 1024];
  for (;;) {
    const int n = BIO_read(out, buf, static_cast<int>(sizeof buf));
    if (n <= 0) return;
    below().write(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

void TLSLayer::encrypt(std::string_view data) {
  // A record at a time (the contexts allow partial writes), each sent on at once: the output
  // BIO never holds more than one record.
  while (!data.empty() && !closed_) {
    std::size_t written = 0;
    ERR_clear_error();
    const int r = SSL_write_ex(ssl(), data.data(), data.size(), &written);
    if (r != 1) {
      fail("send", SSL_get_error(ssl(), r));
      return;
    }
    data.remove_prefix(written);
    flush_out();
  }
}

void TLSLayer::write(std::string_view data) {
  if (data.empty() || closed_ || disconnecting_ || close_notify_sent_) return;
  if (handshaking_) {  // start_tls: kept until the handshake has completed
    pending_.append(data);
    if (!above_paused_ && write_buffer_size() > high_water_) {
      above_paused_ = true;
      call_above("pause_writing", [this] { above_->pause_writing(); });
    }
    return;
  }
  encrypt(data);
}

void TLSLayer::send_close_notify() {
  if (close_notify_sent_ || handshaking_ || closed_) return;
  close_notify_sent_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl());  // our close_notify; the peer's is not waited for
  ERR_clear_error();
  flush_out();
}

void TLSLayer::lose_connection() {
  if (disconnecting_ || closed_) return;
  disconnecting_ = true;
  if (handshaking_) return;  // start_tls: once the handshake has completed (handshake_done)
  send_close_notify();
  below().lose_connection();
}

void TLSLayer::lose_write_connection() {
  if (closed_ || handshaking_) return;
  send_close_notify();  // TLS's end of our data; reading goes on
  below().lose_write_connection();
}

void TLSLayer::abort_connection() {
  if (closed_) return;
  pending_.clear();
  below().abort_connection();
}

void TLSLayer::pause_producing() {
  reading_ = false;
  if (!handshaking_) below().pause_producing();  // the handshake itself still reads
}

void TLSLayer::resume_producing() {
  reading_ = true;
  below().resume_producing();
  // Decrypted input may wait in OpenSSL with nothing more to come from the socket: deliver it
  // from the loop (never inside the caller, which may be a data_received of ours).
  if (!handshaking_ && !closed_ && !deliver_call_.active()) {
    deliver_call_ = impl_.schedule(std::chrono::duration<double>(0), [this] { deliver(); });
  }
}

void TLSLayer::set_write_buffer_limits(std::size_t high, std::size_t low) {
  high_water_ = high;
  low_water_ = low < high ? low : high;
  below().set_write_buffer_limits(high_water_, low_water_);
}

void TLSLayer::start_tls(const SSLContext& /*context*/, bool /*server_side*/,
                         const std::string& /*server_hostname*/) {
  throw std::logic_error("start_tls: the connection already speaks TLS");
}

void TLSLayer::fail(const char* what, int code) {
  std::string message;
  try {
    // A memory BIO sets no errno: an SSL_ERROR_SYSCALL here is an end of stream.
    detail::throw_ssl_failure(ssl(), code, 0, std::string(what) + " with " + get_peer().to_string(),
                              session_.server_hostname());
  } catch (const std::exception& e) {
    message = e.what();
  }
  flush_out();  // the alert, if OpenSSL made one
  // A server's failed handshake is one line on stderr (a client's goes to its factory).
  if (handshaking_ && session_.server_side()) {
    impl_.reporter.report("tls", "TLS handshake failed: " + message);
  }
  close_with(Reason{false, 0, std::move(message)});
}

void TLSLayer::handshake_timed_out() {
  if (!handshaking_ || closed_) return;
  std::string message = "TLS handshake with " + get_peer().to_string() + " timed out after " +
                        seconds_text(handshake_timeout_->count()) + " s (handshake_timeout)";
  if (session_.server_side()) impl_.reporter.report("tls", message);
  close_with(Reason{false, ETIMEDOUT, std::move(message)});
}

void TLSLayer::close_with(Reason reason) {
  if (closed_) return;
  closed_ = true;
  stream->begin_close(std::move(reason));
}

// ---- start_tls (through tls_hooks.hpp: StreamConnection::start_tls is in every program) -----

std::unique_ptr<Layer> make_start_tls_layer(ReactorImpl& impl, const SSLContext& context,
                                            bool server_side, const std::string& server_hostname,
                                            Protocol& above) {
  return std::make_unique<TLSLayer>(impl, context.wrap_bio(server_side, server_hostname),
                                    kStartTlsHandshakeTimeout, above);
}

// ---- listen_ssl, connect_ssl ------------------------------------------------------------------

ListeningPort& Reactor::listen_ssl(int port, std::shared_ptr<Factory> factory,
                                   const SSLContext& context, const ListenOptions& options) {
  impl_->check_loop_thread("listen_ssl");
  if (!factory) throw std::invalid_argument("listen_ssl: no factory");
  if (context.protocol() != PROTOCOL_TLS_SERVER) {
    throw std::invalid_argument("listen_ssl: needs a PROTOCOL_TLS_SERVER context");
  }
  if (SSL_CTX_get0_certificate(context.native_handle()) == nullptr) {
    throw std::invalid_argument("listen_ssl: the context has no certificate (load_cert_chain)");
  }
  if (options.handshake_timeout) {
    detail::check_seconds(options.handshake_timeout->count(), "listen_ssl: handshake_timeout",
                          false);
  }
  check_proxy_options(options, "listen_ssl");
  (void)context.wrap_bio(true);  // the context's settings are checked now, not per connection
  ListenOptions plain = options;
  plain.proxy_protocol = false;  // the PROXY header comes before TLS: added around it below
  ListeningPort& listening = listen_tcp(port, std::move(factory), plain);
  ReactorImpl::port_of(listening)->layer =
      [impl = impl_.get(), ctx = std::make_shared<const SSLContext>(context),
       timeout = options.handshake_timeout](const Address& /*peer*/, Factory& f,
                                            const std::shared_ptr<Factory>& keep,
                                            Connector* c) -> std::unique_ptr<Layer> {
    return std::make_unique<TLSLayer>(*impl, ctx->wrap_bio(true), timeout, f, keep, c);
  };
  add_proxy_layer(*impl_, listening, options);
  return listening;
}

Connector& Reactor::connect_ssl(std::string_view host, int port,
                                std::shared_ptr<ClientFactory> factory, const SSLContext& context,
                                Timeout timeout, std::string server_hostname) {
  impl_->check_loop_thread("connect_ssl");
  if (!factory) throw std::invalid_argument("connect_ssl: no factory");
  if (server_hostname.empty()) server_hostname = std::string(host);
  (void)context.wrap_bio(false, server_hostname);  // a server context, a name it needs: now
  Connector& c = connect_tcp(host, port, std::move(factory), timeout);
  // In time: the connect completes in the loop, never inside connect_tcp.
  impl_->connector_layers[&c] =
      [impl = impl_.get(), ctx = std::make_shared<const SSLContext>(context),
       name = std::move(server_hostname),
       timeout](const Address& /*peer*/, Factory& f, const std::shared_ptr<Factory>& keep,
                Connector* connector) -> std::unique_ptr<Layer> {
    return std::make_unique<TLSLayer>(*impl, ctx->wrap_bio(false, name), timeout, f, keep,
                                      connector);
  };
  return c;
}

}  // namespace socketserver
