// asyncio_tls.cpp — asyncio_streams.hpp over TLS: start_server and open_connection with an
// SSLContext (Reactor::listen_ssl and connect_ssl underneath). A file of its own, apart from
// asyncio_streams.cpp, so that a program of plain streams does not link the reactor's TLS, nor
// through it OpenSSL (tls_hooks.hpp).
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "asyncio_impl.hpp"
#include "reactor_impl.hpp"
#include "socketserver/asyncio_streams.hpp"
#include "socketserver/ssl.hpp"

namespace socketserver::asyncio {

// ---- start_server ---------------------------------------------------------------------------

Server start_server(Reactor& reactor, StreamHandler handle, const std::string& host, int port,
                    const SSLContext& ssl, ListenOptions options, std::size_t limit) {
  options.interface = host;
  return detail::serve(
      reactor, std::move(handle), limit, [&](std::shared_ptr<Factory> f) -> auto& {
        return reactor.listen_ssl(port, std::move(f), ssl, options);
      });
}

ServerGroup start_server(ReactorGroup& group, StreamHandler handle, const std::string& host,
                         int port, const SSLContext& ssl, ListenOptions options,
                         std::size_t limit) {
  options.reuse_port = true;
  return detail::serve_group(group, port, [&](Reactor& reactor, int p) {
    return start_server(reactor, handle, host, p, ssl, options, limit);
  });
}

// ---- open_connection ------------------------------------------------------------------------

namespace {

using detail::PendingConnect;

/// A failed client handshake as Python raises it: the reactor gives its message only.
[[noreturn]] void throw_tls_failure(const std::string& message, const std::string& to) {
  static constexpr std::string_view verify = "certificate verify failed: ";
  const std::size_t at = message.find(verify);
  if (at != std::string::npos) {
    throw cert_verification_error("TLS handshake with " + to, -1,
                                  message.substr(at + verify.size()));
  }
  constexpr int ssl_error_ssl = 1;  // OpenSSL's SSL_ERROR_SSL
  throw ssl_error(ssl_error_ssl, "TLS handshake with " + to, "SSL routines", message);
}

/// open_connection's protocol over TLS: connection_made comes once the handshake is done.
class TlsClientProtocol final : public detail::StreamProtocol {
 public:
  TlsClientProtocol(std::shared_ptr<detail::StreamState> state,
                    std::shared_ptr<PendingConnect> pending)
      : StreamProtocol(std::move(state)), pending_(std::move(pending)) {}
  void connection_made() override {
    StreamProtocol::connection_made();
    pending_->done = true;
    pending_->list.wake_all();
  }

 private:
  std::shared_ptr<PendingConnect> pending_;
};

/// connect_ssl's factory: the one protocol, and the failure to the awaiting task.
class TlsConnectFactory final : public ClientFactory {
 public:
  TlsConnectFactory(std::unique_ptr<Protocol> protocol, std::shared_ptr<PendingConnect> pending)
      : protocol_(std::move(protocol)), pending_(std::move(pending)) {}
  std::unique_ptr<Protocol> build_protocol(const Address& /*addr*/) override {
    return std::move(protocol_);
  }
  void client_connection_failed(Connector& /*connector*/, const Reason& reason) override {
    if (pending_->done) return;
    pending_->done = true;
    pending_->failed = reason;
    pending_->list.wake_all();
  }

 private:
  std::unique_ptr<Protocol> protocol_;
  std::shared_ptr<PendingConnect> pending_;
};

}  // namespace

Task<StreamPair> open_connection(Reactor& reactor, std::string host, int port, SSLContext ssl,
                                 std::string server_hostname, std::size_t limit) {
  const std::string to = host + ":" + std::to_string(port);
  std::shared_ptr<detail::StreamState> state = detail::make_stream_state(limit);
  auto pending = std::make_shared<PendingConnect>();
  pending->throw_handshake_failure = throw_tls_failure;
  Connector& connector =
      reactor.connect_ssl(host, port,
                          std::make_shared<TlsConnectFactory>(
                              std::make_unique<TlsClientProtocol>(state, pending), pending),
                          ssl, std::chrono::duration<double>(30), std::move(server_hostname));
  ReactorImpl::release_when_finished(connector);  // no one else holds it
  co_return co_await detail::finish_connect(connector, std::move(pending), std::move(state), to);
}

}  // namespace socketserver::asyncio
