// reactor.cpp — the loop: what it owns and retires, dispatch, run/stop and the shutdown
// triggers, listen_* (the ports themselves are in reactor_ports.cpp), the connections it opens
// for factories, and StandardIO. The rest, by responsibility: reactor_timers.cpp (call_later,
// call_from_thread, LoopingCall), reactor_connect.cpp (connect_*), reactor_io.cpp (a stream
// connection: read, write, close), reactor_group.cpp (one reactor per core), protocol.cpp.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <optional>
#include <stdexcept>

#include "posix_util.hpp"
#include "reactor_impl.hpp"
#include "socketserver/detail/fd.hpp"
#include "timeout.hpp"

namespace socketserver {

// ---- ownership and the selector ----------------------------------------------------------

Handler* ReactorImpl::adopt(std::unique_ptr<Handler> handler) {
  Handler* raw = handler.get();
  owned.emplace(raw, std::move(handler));
  return raw;
}

void ReactorImpl::retire(Handler* handler) {
  handler->dead = true;
  auto it = owned.find(handler);
  if (it != owned.end()) {
    graveyard.push_back(std::move(it->second));
    owned.erase(it);
  }
}

void ReactorImpl::finalize_pending_closes() {
  // finalize() may run protocol code that closes more connections: take them in rounds.
  while (!pending_closes.empty()) {
    std::vector<StreamConnection*> round;
    round.swap(pending_closes);
    for (StreamConnection* c : round) c->finalize();
  }
}

void ReactorImpl::disconnect_all() {
  // Twisted's disconnectAll at shutdown: every open connection hears connection_lost (and its
  // connector's factory client_connection_lost), with Twisted's ConnectionLost. What is still
  // queued for the peer is dropped, as Twisted drops it.
  std::vector<StreamConnection*> open;
  for (auto& [raw, handler] : owned) {
    if (raw->is_stream) open.push_back(static_cast<StreamConnection*>(raw));
  }
  for (StreamConnection* c : open) {
    c->begin_close(Reason{false, 0,
                          "Connection to the other side was lost in a non-clean fashion: the "
                          "reactor stopped."});
  }
  finalize_pending_closes();
}

void ReactorImpl::change_interest(int fd, Handler* handler, int wanted) {
  if (handler->interest == 0) {
    poller.add(fd, wanted, as_data(handler));
  } else if (wanted == 0) {
    poller.remove(fd);
  } else {
    poller.modify(fd, wanted, as_data(handler));
  }
  handler->interest = wanted;
}

void ReactorImpl::report_exception(const char* where, const std::string& peer) {
  reporter.report("exception", std::string("Unhandled exception in ") + where +
                                   (peer.empty() ? "" : " (peer " + peer + ")") + ": " +
                                   detail::current_exception_text());
}

// ---- connections and factories -------------------------------------------------------------

StreamConnection* ReactorImpl::open_connection(Socket sock, const Address& peer, Factory& factory,
                                               const std::shared_ptr<Factory>& keep,
                                               Connector* connector, steady::duration idle,
                                               const LayerMaker* layer) {
  std::unique_ptr<Protocol> protocol;
  Layer* layered = nullptr;
  try {
    if (layer != nullptr && *layer) {  // the layer builds the factory's protocol when ready
      std::unique_ptr<Layer> l = (*layer)(peer, factory, keep, connector);
      layered = l.get();
      protocol = std::move(l);
    } else {
      protocol = factory.build_protocol(peer);
    }
  } catch (...) {
    report_exception(layer != nullptr && *layer ? "connection layer" : "build_protocol",
                     peer.to_string());
  }
  if (!protocol) return nullptr;  // refused: the socket closes here
  Protocol* raw = protocol.get();
  auto conn =
      std::make_unique<StreamConnection>(*this, std::move(sock), peer, raw, std::move(protocol));
  conn->factory_keep = keep;
  conn->connector = layered != nullptr ? nullptr : connector;  // a layer tells it when made
  if (layered != nullptr) layered->stream = conn.get();
  transport_of(*raw) = conn.get();
  factory_of(*raw) = &factory;
  auto* c = static_cast<StreamConnection*>(adopt(std::move(conn)));
  if (idle > steady::duration::zero()) c->set_idle_timeout(idle);
  const bool made = c->start();
  // connect_protocol's caller waits for this protocol.
  if (layered == nullptr && connector != nullptr && connector->creator_ != nullptr) {
    connector->creator_->made(*raw, made, c->reason());
  }
  return c;
}

void ReactorImpl::start_factory(Factory& factory) {
  if (factory.ports_++ == 0) factory.start_factory();
}

void ReactorImpl::stop_factory(Factory& factory) {
  if (factory.ports_ > 0 && --factory.ports_ == 0) {
    try {
      factory.stop_factory();
    } catch (...) {
      report_exception("stop_factory", "");
    }
  }
}

void ReactorImpl::connector_finished(Connector& connector) {
  // Called after client_connection_failed/lost: unless the callback connected again, the
  // factory is done with this connector.
  if (attempt_of(connector) == nullptr && connection_of(connector) == nullptr &&
      started_of(connector)) {
    started_of(connector) = false;
    stop_factory(factory_of(connector));
  }
  if (connector.released_ && attempt_of(connector) == nullptr &&
      connection_of(connector) == nullptr) {
    // Freed from the loop, once the callers on the stack (its attempt or connection) are done.
    const Connector* gone = &connector;
    connector.released_ = false;  // scheduled once
    schedule(std::chrono::duration<double>(0), [this, gone] {
      connector_layers.erase(gone);
      std::erase_if(connectors,
                    [gone](const std::unique_ptr<Connector>& c) { return c.get() == gone; });
    });
  }
}

ListeningPort& ReactorImpl::publish(Port& port, Address host) {
  auto& handle = ports.emplace_back(new ListeningPort(*this, std::move(host)));
  handle->port_ = &port;
  port.owner = handle.get();
  return *handle;
}

void ListeningPort::stop_listening() {
  if (port_ == nullptr) return;
  Port* port = port_;
  port_ = nullptr;
  port->stop();
}

void ReactorImpl::drain_step() {
  for (auto& port : ports) port->stop_listening();  // (once: a stopped port does nothing)
  if (connections.load() == 0) stop_requested.store(true);
}

// ---- Reactor -------------------------------------------------------------------------------

namespace {
void reactor_on_signal(void* context, int signo) noexcept {
  auto* impl = static_cast<ReactorImpl*>(context);
  impl->stop_signal.store(signo);
  if (impl->drain_on_signal.load() && !impl->drain_requested.exchange(true)) {
    impl->waker.wake();  // the loop drains (drain_step); the next signal stops it
    return;
  }
  impl->stop_requested.store(true);
  impl->waker.wake();
}

Socket bound_listener(const Address& where, int type, bool reuse_address, bool reuse_port) {
  Socket sock(where.family() == AF_UNSPEC ? AF_INET : where.family(), type);
  if (reuse_address) sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  if (reuse_port) sock.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  sock.bind(where);
  sock.settimeout(std::chrono::duration<double>(0));
  return sock;
}

// ListenOptions::idle_timeout as the loop's clock duration (zero: none); checked before binding.
steady::duration idle_duration(const Timeout& idle, const char* where) {
  if (!idle) return steady::duration::zero();
  detail::check_seconds(idle->count(), (std::string(where) + ": idle_timeout").c_str(), false);
  return detail::to_steady(*idle);
}

// Twisted's interface: "" is every IPv4 interface; an IPv6 literal picks IPv6.
Address interface_address(std::string_view interface, int port) {
  const Address a(interface, port);
  return a.is_resolved() ? a : a.resolve(AF_INET, SOCK_STREAM);
}
}  // namespace

Reactor::Reactor() : impl_(std::make_unique<ReactorImpl>(*this)) {
  impl_->poller.add(impl_->waker.fileno(), EVENT_READ, 0);  // data 0: the waker
}

Reactor::~Reactor() {
  // Everything closes without callbacks: protocols may refer to objects already destroyed.
  for (auto& [raw, handler] : impl_->owned) {
    if (!raw->is_stream) continue;
    auto* c = static_cast<StreamConnection*>(raw);  // tagged: the loop's own downcast
    if (c->stdio_owner != nullptr) ReactorImpl::io_of(*c->stdio_owner) = nullptr;
  }
  impl_->timers.detach_all();
}

ListeningPort& Reactor::listen_tcp(int port, std::shared_ptr<Factory> factory,
                                   const ListenOptions& options) {
  impl_->check_loop_thread("listen_tcp");
  if (!factory) throw std::invalid_argument("listen_tcp: no factory");
  const Address where = interface_address(options.interface, port);
  const steady::duration idle = idle_duration(options.idle_timeout, "listen_tcp");
  check_proxy_options(options, "listen_tcp");
  Socket sock = bound_listener(where, SOCK_STREAM, true, options.reuse_port);
  sock.listen(options.backlog);
  Address host = sock.getsockname();
  return open_stream_port(*impl_, std::move(sock), std::move(host), std::move(factory),
                          detail::BoundSocketFile{}, idle, options);
}

ListeningPort& Reactor::listen_unix(const Address& path, std::shared_ptr<Factory> factory,
                                    int backlog) {
  ListenOptions options;
  options.backlog = backlog;
  return listen_unix(path, std::move(factory), options);
}

ListeningPort& Reactor::listen_unix(const Address& path, std::shared_ptr<Factory> factory,
                                    const ListenOptions& options) {
  impl_->check_loop_thread("listen_unix");
  if (!factory) throw std::invalid_argument("listen_unix: no factory");
  if (path.family() != AF_UNIX) throw std::invalid_argument("listen_unix: not a Unix address");
  const steady::duration idle = idle_duration(options.idle_timeout, "listen_unix");
  check_proxy_options(options, "listen_unix");
  Socket sock = bound_listener(path, SOCK_STREAM, false, false);
  sock.listen(options.backlog);
  detail::BoundSocketFile file = detail::bound_socket_file(path.is_abstract() ? "" : path.path());
  return open_stream_port(*impl_, std::move(sock), path, std::move(factory), std::move(file), idle,
                          options);
}

ListeningPort& Reactor::listen_udp(int port, std::shared_ptr<DatagramProtocol> protocol,
                                   std::string_view interface, std::size_t max_packet_size) {
  impl_->check_loop_thread("listen_udp");
  if (!protocol) throw std::invalid_argument("listen_udp: no protocol");
  const Address where = interface_address(interface, port);
  Socket sock = bound_listener(where, SOCK_DGRAM, false, false);
  Address host = sock.getsockname();
  return impl_->publish(
      open_udp_port(*impl_, std::move(sock), std::move(protocol), max_packet_size),
      std::move(host));
}

TriggerId Reactor::add_shutdown_trigger(std::string_view phase, std::function<void()> fn) {
  impl_->check_loop_thread("add_shutdown_trigger");
  std::vector<ReactorImpl::Trigger>* list = nullptr;
  if (phase == "before") {
    list = &impl_->before_shutdown;
  } else if (phase == "after" || phase == "during") {
    list = &impl_->after_shutdown;
  } else {
    throw std::invalid_argument(
        "add_shutdown_trigger: phase must be 'before', 'during' or 'after'");
  }
  const TriggerId id{++impl_->last_trigger_id};
  list->push_back({id, std::move(fn)});
  return id;
}

bool Reactor::remove_shutdown_trigger(TriggerId id) {
  impl_->check_loop_thread("remove_shutdown_trigger");
  for (auto* list : {&impl_->before_shutdown, &impl_->after_shutdown}) {
    const auto it = std::find_if(list->begin(), list->end(),
                                 [id](const ReactorImpl::Trigger& t) { return t.id == id; });
    if (it != list->end()) {
      list->erase(it);
      return true;
    }
  }
  return false;
}

void Reactor::run(bool install_signal_handlers) {
  ReactorImpl& r = *impl_;
  if (r.running.load()) throw std::logic_error("Reactor::run: already running");
  // Cleared before `running` is set: a stop() from another thread that sees running() is
  // never overwritten.
  r.stop_requested.store(false);
  r.stop_signal.store(0);
  r.drain_requested.store(false);
  if (r.running.exchange(true)) throw std::logic_error("Reactor::run: already running");
  r.loop_thread.store(std::this_thread::get_id());

  // Whatever happens in the loop, the reactor ends up stopped and the handlers restored.
  struct Restore {
    ReactorImpl& r;
    detail::StopSignalTarget signals{};
    ~Restore() {
      signals.release();
      r.loop_thread.store(std::thread::id{});
      r.running.store(false);
    }
  } restore{r};
  // Only when no other loop in the process is their target (Twisted's: the first reactor).
  if (install_signal_handlers) (void)restore.signals.claim(reactor_on_signal, &r);

  // Each list is run from a copy: a call may add or remove triggers (or calls) as it runs.
  const auto run_list = [&r](std::vector<std::function<void()>> calls, const char* what) {
    for (auto& fn : calls) {
      try {
        fn();
      } catch (...) {
        r.report_exception(what, "");
      }
      r.process_pending_closes();
    }
  };
  run_list(std::exchange(r.startup_calls, {}), "call_when_running");

  while (!r.stop_requested.load()) {
    const int n = r.poller.wait(r.ready.data(), static_cast<int>(r.ready.size()), r.next_wait_ms());
    if (r.idle_watchers != 0) r.loop_now = steady::now();  // the input stamp of idle timeouts
    r.dispatch(r.ready.data(), n);
    for (std::size_t i = 0; i < r.always_ready.size(); ++i) {
      Handler* handler = r.always_ready[i];
      if (!handler->dead) handler->on_ready(EVENT_READ);
      r.process_pending_closes();
    }
    r.run_due_timers();
    r.run_thread_calls();
    if (r.drain_requested.load(std::memory_order_relaxed)) r.drain_step();
    if (!r.graveyard.empty()) r.graveyard.clear();
  }

  const auto calls_of = [](const std::vector<ReactorImpl::Trigger>& triggers) {
    std::vector<std::function<void()>> calls;
    calls.reserve(triggers.size());
    for (const auto& t : triggers) calls.push_back(t.fn);
    return calls;
  };
  run_list(calls_of(r.before_shutdown), "before-shutdown trigger");
  r.disconnect_all();
  run_list(calls_of(r.after_shutdown), "after-shutdown trigger");
  r.graveyard.clear();
}

void Reactor::stop() noexcept {
  if (!impl_->running.load()) return;
  impl_->stop_requested.store(true);
  impl_->waker.wake();
}

bool Reactor::running() const noexcept { return impl_->running.load(); }

double Reactor::seconds() const {
  return std::chrono::duration<double>(steady::now().time_since_epoch()).count();
}

std::size_t Reactor::connection_count() const noexcept { return impl_->connections.load(); }

std::size_t Reactor::connector_count() const noexcept { return impl_->connectors.size(); }

std::size_t Reactor::shutdown_trigger_count() const noexcept {
  return impl_->before_shutdown.size() + impl_->after_shutdown.size();
}

int Reactor::stopped_by_signal() const noexcept { return impl_->stop_signal.load(); }

// ---- StandardIO ----------------------------------------------------------------------------

StandardIO::StandardIO(std::unique_ptr<Protocol> protocol, Reactor& reactor, int stdin_fd,
                       int stdout_fd)
    : reactor_(&reactor), protocol_(std::move(protocol)) {
  if (!protocol_) throw std::invalid_argument("StandardIO: no protocol");
  ReactorImpl& r = ReactorImpl::of(reactor);
  auto conn = std::make_unique<StreamConnection>(r, stdin_fd, stdout_fd, protocol_.get());
  conn->stdio_owner = this;
  ReactorImpl::transport_of(*protocol_) = conn.get();
  auto* c = static_cast<StreamConnection*>(r.adopt(std::move(conn)));
  io_ = c;
  // A regular file (or /dev/null) cannot be watched by epoll: it is always readable.
  struct stat st {};
  if (::fstat(stdin_fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)) &&
      !::isatty(stdin_fd)) {
    c->always_ready = true;
    r.always_ready.push_back(c);
  }
  c->start();
}

StandardIO::~StandardIO() {
  if (io_ != nullptr) io_->discard();
}

Protocol& StandardIO::protocol() const noexcept { return *protocol_; }

}  // namespace socketserver
