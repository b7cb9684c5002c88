// reactor_connect.cpp — the reactor's outgoing side: Connector (Twisted's IConnector), one
// ConnectAttempt per try (non-blocking connect, writable, SO_ERROR, with its timeout),
// connect_tcp / connect_unix, and connect_protocol (Twisted's connectProtocol).
#include <sys/socket.h>

#include <cerrno>
#include <exception>
#include <stdexcept>

#include "reactor_impl.hpp"

namespace socketserver {

// ---- Connector ---------------------------------------------------------------------------

Connector::Connector(ReactorImpl& impl, Address destination, std::shared_ptr<ClientFactory> factory,
                     Timeout timeout)
    : impl_(&impl),
      destination_(std::move(destination)),
      factory_(std::move(factory)),
      timeout_(timeout) {}

void Connector::connect() { impl_->start_connecting(*this); }

void Connector::disconnect() {
  stop_connecting();
  if (connection_ != nullptr) connection_->lose_connection();
}

const char* Connector::state() const noexcept {
  if (connection_ != nullptr) return "connected";
  if (attempt_ != nullptr) return "connecting";
  return "disconnected";
}

// ---- one attempt ---------------------------------------------------------------------------

/// One outgoing connect in progress (non-blocking connect, then writable, then SO_ERROR).
class ConnectAttempt final : public Handler {
 public:
  ConnectAttempt(ReactorImpl& impl, Connector& connector, Socket sock)
      : impl_(impl), connector_(connector), sock_(std::move(sock)) {}

  void wait(Timeout timeout) {
    impl_.set_interest(sock_.fileno(), this, EVENT_WRITE);
    if (timeout) {
      timer_ = impl_.schedule(*timeout, [this] {
        fail(Reason{false, ETIMEDOUT, "User timeout caused connection failure."});
      });
    }
  }

  void on_ready(int /*events*/) override {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(sock_.fileno(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err != 0) {
      fail(Reason{false, err, std::error_code(err, std::system_category()).message()});
      return;
    }
    succeed();
  }

  /// Reports the outcome of a connect that finished (or failed) at once, from the loop.
  void complete_soon(int err) {
    timer_ = impl_.schedule(std::chrono::duration<double>(0), [this, err] {
      if (err == 0) {
        succeed();
      } else {
        fail(Reason{false, err, std::error_code(err, std::system_category()).message()});
      }
    });
  }

  void succeed() {
    if (dead) return;
    timer_.cancel();
    impl_.set_interest(sock_.fileno(), this, 0);
    ReactorImpl::attempt_of(connector_) = nullptr;
    impl_.retire(this);
    const Address peer = connector_.get_destination();
    std::shared_ptr<Factory> factory = connector_factory();
    const auto layer = impl_.connector_layers.find(&connector_);  // connect_ssl's TLS
    StreamConnection* conn =
        impl_.open_connection(std::move(sock_), peer, *factory, factory, &connector_, {},
                              layer != impl_.connector_layers.end() ? &layer->second : nullptr);
    ReactorImpl::connection_of(connector_) = conn;
    if (conn == nullptr) impl_.connector_finished(connector_);
  }

  void fail(const Reason& reason) {
    if (dead) return;
    timer_.cancel();
    impl_.set_interest(sock_.fileno(), this, 0);
    sock_.close();
    ReactorImpl::attempt_of(connector_) = nullptr;
    impl_.retire(this);
    try {
      ReactorImpl::factory_of(connector_).client_connection_failed(connector_, reason);
    } catch (...) {
      impl_.report_exception("client_connection_failed", connector_.get_destination().to_string());
    }
    impl_.connector_finished(connector_);
  }

 private:
  // The connector's factory as a shared Factory, so that connections keep it alive.
  std::shared_ptr<Factory> connector_factory() {
    ClientFactory& f = ReactorImpl::factory_of(connector_);
    return std::shared_ptr<Factory>(keep_, &f);
  }

 public:
  std::shared_ptr<void> keep_;  // owner of the factory (aliased by connector_factory)

 private:
  ReactorImpl& impl_;
  Connector& connector_;
  Socket sock_;
  DelayedCall timer_;
};

void ReactorImpl::start_connecting(Connector& connector) {
  if (attempt_of(connector) != nullptr || connection_of(connector) != nullptr) return;
  if (!started_of(connector)) {
    started_of(connector) = true;
    start_factory(factory_of(connector));
  }
  const Address& to = connector.get_destination();
  try {
    factory_of(connector).started_connecting(connector);
  } catch (...) {
    report_exception("started_connecting", to.to_string());
  }
  Socket sock = Socket::none();
  int err = 0;
  try {
    sock = Socket(to.family(), SOCK_STREAM);
    sock.settimeout(std::chrono::duration<double>(0));
    if (::connect(sock.fileno(), to.sockaddr_ptr(), to.sockaddr_len()) != 0) err = errno;
  } catch (const socket_error& e) {  // no descriptor to be had: a failed connection
    err = e.errno_value();
  }
  auto attempt = std::make_unique<ConnectAttempt>(*this, connector, std::move(sock));
  attempt->keep_ = connector.factory_;
  auto* a = static_cast<ConnectAttempt*>(adopt(std::move(attempt)));
  attempt_of(connector) = a;
  if (err == EINPROGRESS || err == EINTR) {
    a->wait(timeout_of(connector));
  } else {
    a->complete_soon(err);  // reported from the loop, never inside connect_tcp (as Twisted)
  }
}

void Connector::stop_connecting() {
  if (attempt_ != nullptr) {
    attempt_->fail(Reason{false, ECANCELED, "User aborted connection."});
  }
}

// ---- the reactor's connect calls --------------------------------------------------------------

Connector& Reactor::connect_tcp(std::string_view host, int port,
                                std::shared_ptr<ClientFactory> factory, Timeout timeout) {
  impl_->check_loop_thread("connect_tcp");
  if (!factory) throw std::invalid_argument("connect_tcp: no factory");
  // As Twisted's connectTCP: a host name means its IPv4 address (as listen_tcp's "" and names
  // do), so that "localhost" finds a server on 127.0.0.1 even where ::1 is listed first; a
  // name with no IPv4 address falls back to any family.
  const Address named(host, port);
  Address to;
  if (named.is_resolved()) {
    to = named;
  } else {
    try {
      to = named.resolve(AF_INET, SOCK_STREAM);
    } catch (const gai_error&) {
      to = named.resolve(AF_UNSPEC, SOCK_STREAM);
    }
  }
  Connector& c = impl_->add_connector(to, std::move(factory), timeout);
  c.connect();
  return c;
}

Connector& Reactor::connect_unix(const Address& path, std::shared_ptr<ClientFactory> factory,
                                 Timeout timeout) {
  impl_->check_loop_thread("connect_unix");
  if (!factory) throw std::invalid_argument("connect_unix: no factory");
  if (path.family() != AF_UNIX) throw std::invalid_argument("connect_unix: not a Unix address");
  Connector& c = impl_->add_connector(path, std::move(factory), timeout);
  c.connect();
  return c;
}

// ---- connect_protocol ----------------------------------------------------------------------

std::unique_ptr<Protocol> ProtocolCreator::build_protocol(const Address& /*addr*/) {
  return std::move(protocol_);
}

void ProtocolCreator::client_connection_failed(Connector& connector, const Reason& reason) {
  fail(connector.get_destination(), reason);
}

void ProtocolCreator::made(Protocol& protocol, bool made, const Reason& reason) {
  if (!made) {
    fail(protocol.connected() ? protocol.transport().get_peer() : Address(), reason);
    return;
  }
  std::function<void(Protocol&)> connected = std::move(connected_);
  connected_ = nullptr;
  failed_ = nullptr;
  if (connected) connected(protocol);
}

void ProtocolCreator::fail(const Address& to, const Reason& reason) {
  std::function<void(const Reason&)> failed = std::move(failed_);
  failed_ = nullptr;
  connected_ = nullptr;
  if (failed) {
    failed(reason);
    return;
  }
  impl_.reporter.report("connect", "connect_protocol to " + to.to_string() + ": " + reason.what());
}

Connector& Reactor::connect_created(std::string_view host, int port, const Address* unix_path,
                                    std::unique_ptr<Protocol> protocol,
                                    std::function<void(Protocol&)> connected,
                                    std::function<void(const Reason&)> failed, Timeout timeout) {
  if (!protocol) throw std::invalid_argument("connect_protocol: no protocol");
  auto creator = std::make_shared<ProtocolCreator>(*impl_, std::move(protocol),
                                                   std::move(connected), std::move(failed));
  ProtocolCreator* told = creator.get();
  Connector& c = unix_path != nullptr ? connect_unix(*unix_path, std::move(creator), timeout)
                                      : connect_tcp(host, port, std::move(creator), timeout);
  // In time: a connect completes in the loop, never inside connect_tcp/connect_unix.
  ReactorImpl::creator_of(c) = told;
  return c;
}

}  // namespace socketserver
