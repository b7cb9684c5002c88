// reactor_ports.cpp — what the reactor listens with: stream ports (accepting, under the one
// AcceptPolicy) and UDP ports. Outgoing connects are in reactor_connect.cpp.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <system_error>

#include "reactor_impl.hpp"
#include "socketserver/activation.hpp"
#include "socketserver/detail/fd.hpp"
#include "timeout.hpp"

namespace socketserver {

// ---- listening ports ---------------------------------------------------------------------

namespace {

/// A listening stream socket: accepts in bursts, builds a protocol per connection. Accept errors
/// follow the one AcceptPolicy: out of descriptors or memory, it drops the waiting client through
/// a spare descriptor and leaves the listener alone for the back-off (so neither the kernel's
/// queue nor a lasting error makes the loop spin), and reports at a bounded rate.
class StreamPort final : public Port {
 public:
  steady::duration idle_timeout{};  // ListenOptions::idle_timeout (zero: none)

  StreamPort(ReactorImpl& impl, Socket sock, std::shared_ptr<Factory> factory,
             detail::BoundSocketFile unix_file)
      : impl_(impl),
        sock_(std::move(sock)),
        factory_(std::move(factory)),
        unix_file_(std::move(unix_file)),
        spare_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}
  ~StreamPort() override {
    detail::remove_socket_file(unix_file_);  // also when the reactor goes without stop_listening
  }

  void listen() { impl_.set_interest(sock_.fileno(), this, EVENT_READ); }

  void on_ready(int /*events*/) override {
    for (int i = 0; i < 64 && !dead; ++i) {  // a burst per wake-up; the rest next time
      // Family, type and mode are known here: the connection costs accept4 alone.
      std::optional<std::pair<Socket, Address>> got;
      int err = 0;
      try {
        got = sock_.try_accept(std::chrono::duration<double>(0));
        if (!got) return;
      } catch (const socket_error& error) {
        err = error.errno_value();
      } catch (...) {  // about that one connection (a peer's address): report it, go on
        impl_.reporter.report("accept", "accept on " + sock_.getsockname().to_string() + ": " +
                                            detail::current_exception_text());
        continue;
      }
      if (err != 0) {
        const Action action = accept_policy_.failed(err);
        if (action == Action::retry) continue;
        if (action == Action::back_off) pause_accepting(err);
        impl_.reporter.report(
            "accept",
            accept_policy_.describe("accept on " + sock_.getsockname().to_string() + ": " +
                                        std::error_code(err, std::system_category()).message(),
                                    action));
        return;
      }
      accept_policy_.succeeded();
      impl_.open_connection(std::move(got->first), got->second, *factory_, factory_, nullptr,
                            idle_timeout, &layer);
    }
  }

  void stop() override {
    if (dead) return;
    if (owner != nullptr) ReactorImpl::port_of(*owner) = nullptr;
    resume_.cancel();
    impl_.set_interest(sock_.fileno(), this, 0);
    sock_.close();
    detail::remove_socket_file(unix_file_);
    impl_.stop_factory(*factory_);
    impl_.retire(this);
  }

 private:
  ReactorImpl& impl_;
  Socket sock_;
  std::shared_ptr<Factory> factory_;
  detail::BoundSocketFile unix_file_;
  using Action = detail::AcceptPolicy::Action;

  // Out of descriptors or memory: the waiting connection that can be taken is dropped (a spare
  // descriptor makes room for it), and the listener is left alone for the policy's pause, so an
  // error that lasts is not a busy loop.
  void pause_accepting(int err) {
    if ((err == EMFILE || err == ENFILE) && spare_fd_) {
      spare_fd_.reset();
      detail::Fd(::accept4(sock_.fileno(), nullptr, nullptr, SOCK_CLOEXEC)).reset();
      spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }
    impl_.set_interest(sock_.fileno(), this, 0);
    resume_ = impl_.schedule(accept_policy_.pause(), [this] {
      if (!dead) listen();
    });
  }

  detail::Fd spare_fd_;  // a descriptor to give up when the process runs out of them
  detail::AcceptPolicy accept_policy_;
  DelayedCall resume_;  // the end of a back-off
};

/// A UDP port: Twisted's DatagramProtocol transport.
class UdpPort final : public Port, public DatagramProtocol::Transport {
 public:
  UdpPort(ReactorImpl& impl, Socket sock, std::shared_ptr<DatagramProtocol> protocol,
          std::size_t max_packet_size)
      : impl_(impl),
        sock_(std::move(sock)),
        protocol_(std::move(protocol)),
        // Above the largest UDP datagram (65,527 bytes over IPv6, 65,507 over IPv4) nothing
        // changes for a peer; SIZE_MAX would wrap the buffer size below to 0.
        max_packet_size_(std::min<std::size_t>(max_packet_size, 65527)) {}

  void listen() { impl_.set_interest(sock_.fileno(), this, EVENT_READ); }

  void on_ready(int /*events*/) override {
    if (impl_.scratch.size() < max_packet_size_ + 1) impl_.scratch.resize(max_packet_size_ + 1);
    for (int i = 0; i < 64 && !dead; ++i) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      const ssize_t n = detail::retry_on_eintr([&] {
        len = sizeof ss;
        return ::recvfrom(sock_.fileno(), impl_.scratch.data(), max_packet_size_ + 1, MSG_TRUNC,
                          reinterpret_cast<sockaddr*>(&ss), &len);
      });
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) {
          impl_.reporter.report("udp",
                                "recvfrom on " + get_host().to_string() + ": " +
                                    std::error_code(errno, std::system_category()).message());
        }
        return;
      }
      const Address from = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
      if (static_cast<std::size_t>(n) > max_packet_size_) {
        impl_.reporter.report("udp", "dropped a datagram of " + std::to_string(n) + " bytes from " +
                                         from.to_string() + " (max_packet_size is " +
                                         std::to_string(max_packet_size_) + ")");
        continue;
      }
      try {
        protocol_->datagram_received(
            std::string_view(impl_.scratch.data(), static_cast<std::size_t>(n)), from);
      } catch (...) {
        impl_.report_exception("datagram_received", from.to_string());
      }
      impl_.process_pending_closes();
    }
  }

  void write(std::string_view data, const Address& addr) override {
    if (sock_.fileno() < 0) return;
    const Address to = addr.resolve(sock_.family(), SOCK_DGRAM);
    const ssize_t n = detail::retry_on_eintr([&] {
      return ::sendto(sock_.fileno(), data.data(), data.size(), MSG_NOSIGNAL, to.sockaddr_ptr(),
                      to.sockaddr_len());
    });
    if (n < 0) {
      impl_.reporter.report("udp", "sendto " + to.to_string() + ": " +
                                       std::error_code(errno, std::system_category()).message() +
                                       " (datagram dropped)");
    }
  }

  [[nodiscard]] Address get_host() const override {
    if (sock_.fileno() < 0) return Address();
    return sock_.getsockname();
  }

  void lose_connection() override { stop(); }

  void stop() override {
    if (dead) return;
    if (owner != nullptr) ReactorImpl::port_of(*owner) = nullptr;
    try {
      protocol_->stop_protocol();
    } catch (...) {
      impl_.report_exception("stop_protocol", "");
    }
    ReactorImpl::set_transport(*protocol_, nullptr);
    impl_.set_interest(sock_.fileno(), this, 0);
    sock_.close();
    impl_.retire(this);
  }

  void start() {
    ReactorImpl::set_transport(*protocol_, this);
    listen();
    try {
      protocol_->start_protocol();
    } catch (...) {
      impl_.report_exception("start_protocol", "");
    }
  }

 private:
  ReactorImpl& impl_;
  Socket sock_;
  std::shared_ptr<DatagramProtocol> protocol_;
  std::size_t max_packet_size_;
};

}  // namespace

ListeningPort& open_stream_port(ReactorImpl& impl, Socket&& sock, Address host,
                                std::shared_ptr<Factory> factory, detail::BoundSocketFile file,
                                steady::duration idle, const ListenOptions& options) {
  impl.start_factory(*factory);
  auto* port = static_cast<StreamPort*>(impl.adopt(
      std::make_unique<StreamPort>(impl, std::move(sock), std::move(factory), std::move(file))));
  port->idle_timeout = idle;
  port->listen();
  ListeningPort& listening = impl.publish(*port, std::move(host));
  add_proxy_layer(impl, listening, options);
  return listening;
}

Port& open_udp_port(ReactorImpl& impl, Socket sock, std::shared_ptr<DatagramProtocol> protocol,
                    std::size_t max_packet_size) {
  auto* port = static_cast<UdpPort*>(impl.adopt(
      std::make_unique<UdpPort>(impl, std::move(sock), std::move(protocol), max_packet_size)));
  port->start();
  return *port;
}

ListeningPort& Reactor::adopt_stream_port(int fd, std::shared_ptr<Factory> factory,
                                          const ListenOptions& options) {
  impl_->check_loop_thread("adopt_stream_port");
  if (!factory) throw std::invalid_argument("adopt_stream_port: no factory");
  steady::duration idle = steady::duration::zero();
  if (options.idle_timeout) {
    detail::check_seconds(options.idle_timeout->count(), "adopt_stream_port: idle_timeout", false);
    idle = detail::to_steady(*options.idle_timeout);
  }
  check_proxy_options(options, "adopt_stream_port");
  Socket sock = adopt_listening_socket(fd, SOCK_STREAM);
  sock.settimeout(std::chrono::duration<double>(0));  // as listen_tcp's: the loop never waits
  Address host = sock.getsockname();
  // No socket file to remove when the port stops: whoever bound the socket owns it.
  try {
    return open_stream_port(*impl_, std::move(sock), std::move(host), std::move(factory),
                            detail::BoundSocketFile{}, idle, options);
  } catch (...) {
    (void)sock.detach();  // not taken by a port yet (the factory's start threw): the caller's
    throw;
  }
}

}  // namespace socketserver
