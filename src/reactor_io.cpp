// reactor_io.cpp — stream connections (TCP, Unix, stdio): reading, buffered writing with
// high/low-water marks, half-close, and the deferred close that reports connection_lost.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "reactor_impl.hpp"
#include "socketserver/detail/fd.hpp"
#include "tls_hooks.hpp"

namespace socketserver {

namespace {

/// A lingering close: after a clean close, the socket's writing side is shut and whatever the
/// peer still sends is read and dropped until it closes (or 2 s, or 4 MiB), so that the kernel
/// never answers unread input with a reset that would destroy the reply in flight.
class Drainer final : public Handler {
 public:
  Drainer(ReactorImpl& impl, Socket sock) : impl_(impl), sock_(std::move(sock)) {}
  void start() {
    impl_.set_interest(sock_.fileno(), this, EVENT_READ);
    timer_ = impl_.schedule(std::chrono::seconds(2), [this] { finish(); });
  }
  void on_ready(int /*events*/) override {
    for (;;) {
      const ssize_t n = detail::retry_on_eintr(
          [&] { return ::recv(sock_.fileno(), impl_.scratch.data(), impl_.scratch.size(), 0); });
      if (n > 0) {
        drained_ += static_cast<std::size_t>(n);
        if (drained_ > (4u << 20)) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      break;  // end of stream or an error: done
    }
    finish();
  }
  void finish() {
    if (dead) return;
    timer_.cancel();
    impl_.set_interest(sock_.fileno(), this, 0);
    sock_.close();
    impl_.retire(this);
  }

 private:
  ReactorImpl& impl_;
  Socket sock_;
  DelayedCall timer_;
  std::size_t drained_ = 0;
};

Reason lost_reason(int err) {
  return Reason{false, err, std::error_code(err, std::system_category()).message()};
}
const Reason& clean_reason() {
  static const Reason reason{true, 0, "Connection was closed cleanly."};
  return reason;
}
}  // namespace

StreamConnection::StreamConnection(ReactorImpl& impl, Socket sock, Address peer, Protocol* protocol,
                                   std::unique_ptr<Protocol> owned_protocol)
    : impl_(impl),
      sock_(std::move(sock)),
      in_fd_(sock_.fileno()),
      out_fd_(sock_.fileno()),
      is_socket_(true),
      peer_(std::move(peer)),
      protocol_(protocol),
      owned_protocol_(std::move(owned_protocol)) {
  is_stream = true;
}

StreamConnection::StreamConnection(ReactorImpl& impl, int in_fd, int out_fd, Protocol* protocol)
    : impl_(impl),
      sock_(Socket::none()),
      in_fd_(in_fd),
      out_fd_(out_fd),
      is_socket_(false),
      protocol_(protocol) {
  is_stream = true;
  direct_write_off_ = true;  // standard output: write_stdio
}

template <class Fn>
bool StreamConnection::call_protocol(const char* what, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (...) {
    protocol_failed(what);
    return false;
  }
}

void StreamConnection::protocol_failed(const char* what) {
  const std::string text = detail::current_exception_text();
  impl_.report_exception(what, peer_.to_string());
  begin_close(Reason{false, 0, std::string("exception in ") + what + ": " + text});
}

bool StreamConnection::start() {
  ++impl_.connections;
  update_interest();
  return call_protocol("connection_made", [this] { protocol_->connection_made(); });
}

void StreamConnection::replace_protocol(std::unique_ptr<Protocol> next, Factory& factory,
                                        std::string_view rest) {
  Protocol* const p = next.get();
  spent_ = std::move(owned_protocol_);  // its data_received is on the stack
  owned_protocol_ = std::move(next);
  protocol_ = p;
  ReactorImpl::transport_of(*p) = this;
  ReactorImpl::factory_of(*p) = &factory;
  if (!call_protocol("connection_made", [p] { p->connection_made(); })) return;
  if (rest.empty() || phase_ != Phase::open) return;
  if (!reading_) {  // paused in connection_made: no data_received until it resumes
    held_ = std::make_unique<HeldInput>();
    held_->bytes.assign(rest);
    return;
  }
  call_protocol("data_received", [p, rest] { p->data_received(rest); });
}

void StreamConnection::drop_held() {
  if (!held_) return;
  held_->delivery.cancel();
  held_.reset();
}

void StreamConnection::deliver_held() {
  if (!held_ || !reading_ || phase_ != Phase::open) return;
  const std::string bytes = std::move(held_->bytes);
  held_.reset();
  Protocol* const p = protocol_;
  if (!call_protocol("data_received", [p, &bytes] { p->data_received(bytes); })) return;
  if (reading_) resume_producing();  // now the socket may be read
}

void StreamConnection::start_tls(const SSLContext& context, bool server_side,
                                 const std::string& server_hostname) {
  if (!is_socket_) throw std::logic_error("start_tls: standard input/output cannot carry TLS");
  if (layer_) throw std::logic_error("start_tls: the connection already speaks TLS");
  if (phase_ != Phase::open) throw std::logic_error("start_tls: the connection is closing");
  // The layer is OpenSSL's (reactor_tls.cpp): reached through the hooks, so that a program
  // without TLS does not link it.
  install_layer(detail::tls_hooks().start_tls_layer(impl_, context, server_side, server_hostname,
                                                    *protocol_));
}

void StreamConnection::install_layer(std::unique_ptr<Layer> layer) {
  Layer* l = layer.get();
  l->stream = this;
  ReactorImpl::transport_of(*protocol_) = l;  // the protocol writes to the layer from now on
  ReactorImpl::transport_of(*l) = this;
  ReactorImpl::factory_of(*l) = ReactorImpl::factory_of(*protocol_);
  protocol_ = l;
  layer_ = std::move(layer);
  l->set_write_buffer_limits(high_water_, low_water_);
  l->connection_made();
}

void StreamConnection::update_interest() {
  if (always_ready) return;
  const bool want_read = reading_ && !read_closed_ && phase_ == Phase::open;
  const bool want_write = is_socket_ && pending_output() && !closing();
  const int wanted = (want_read ? EVENT_READ : 0) | (want_write ? EVENT_WRITE : 0);
  impl_.set_interest(in_fd_, this, wanted);
}

// The hot path of a request: one read, straight into the protocol. The rare outcomes (end of
// input, errors) are in read_failed, out of the way. Inlined into the loop's dispatch.
[[gnu::always_inline]] inline void StreamConnection::handle_events(int events) {
  if (closing()) return;
  if ((events & EVENT_WRITE) != 0) [[unlikely]] {
    flush();
    if (closing()) return;
  }
  if ((events & EVENT_READ) == 0 || !may_read_) return;
  char* const buf = impl_.scratch.data();
  const std::size_t size = impl_.scratch.size();
  const ssize_t n = detail::retry_on_eintr(
      [&] { return is_socket_ ? ::recv(in_fd_, buf, size, 0) : ::read(in_fd_, buf, size); });
  if (n > 0) [[likely]] {
    if (idle_) [[unlikely]]
      last_input_ = impl_.loop_now;
    try {  // call_protocol, written out so that it is inlined
      protocol_->data_received(std::string_view(buf, static_cast<std::size_t>(n)));
    } catch (...) {
      protocol_failed("data_received");
    }
    return;
  }
  read_failed(n, n < 0 ? errno : 0);
}

void StreamConnection::on_ready(int events) { handle_events(events); }

void ReactorImpl::dispatch(const epoll_event* ready, int n) {
  for (int i = 0; i < n; ++i) {
    auto* handler = as_handler(ready[i].data.u64);
    if (handler == nullptr) {  // the waker
      waker.drain();
      continue;
    }
    // A handler retired earlier in this round stays in the graveyard until the round ends.
    if (handler->dead) continue;
    const int events = detail::ready_events(ready[i].events, handler->interest);
    if (events == 0) continue;
    if (handler->is_stream) {  // the common case, without a virtual call
      static_cast<StreamConnection*>(handler)->handle_events(events);
    } else {
      handler->on_ready(events);
    }
    process_pending_closes();
  }
}

void StreamConnection::read_failed(ssize_t n, int err) {
  if (n == 0) {  // the peer will send no more; what we owe it is still sent
    read_closed_ = true;
    may_read_ = false;
    if (always_ready) {
      always_ready = false;
      std::erase(impl_.always_ready, static_cast<Handler*>(this));
    }
    update_interest();
    call_protocol("read_connection_lost", [this] { protocol_->read_connection_lost(); });
    return;
  }
  if (err == EAGAIN || err == EWOULDBLOCK) return;
  begin_close(lost_reason(err));
}

// The hot path of a reply: nothing queued, and the kernel takes it all in one send. Everything
// else (standard output, a queue, a short send, an error) is handled out of line.
void StreamConnection::write(std::string_view data) {
  if (direct_write_off_ || pending_output() || data.empty()) [[unlikely]] {
    write_slow(data);
    return;
  }
  const ssize_t n = ::send(out_fd_, data.data(), data.size(), MSG_NOSIGNAL);
  if (n == static_cast<ssize_t>(data.size())) [[likely]]
    return;
  write_rest(data, n);  // errno is still send's
}

void StreamConnection::write_slow(std::string_view data) {
  if (phase_ != Phase::open || write_side_ != WriteSide::open || data.empty()) return;
  if (!is_socket_) {
    write_stdio(data);
    return;
  }
  // Earlier output is still queued: keep the order.
  out_.append(data);
  after_output_change();
}

void StreamConnection::write_stdio(std::string_view data) {
  // Standard output stays blocking (other writers share it); a terminal or pipe takes it.
  while (!data.empty()) {
    // A reader that went away is the end of this connection (EPIPE), not a SIGPIPE.
    const ssize_t n = detail::retry_on_eintr(
        [&] { return detail::write_no_sigpipe(out_fd_, data.data(), data.size()); });
    if (n < 0) {
      begin_close(lost_reason(errno));
      return;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void StreamConnection::write_rest(std::string_view data, ssize_t n) {
  if (n < 0 && errno == EINTR) {
    n = detail::retry_on_eintr(
        [&] { return ::send(out_fd_, data.data(), data.size(), MSG_NOSIGNAL); });
  }
  const int err = n < 0 ? errno : 0;
  if (n < 0) {
    if (err != EAGAIN && err != EWOULDBLOCK) {
      begin_close(lost_reason(err));
      return;
    }
    n = 0;
  }
  data.remove_prefix(static_cast<std::size_t>(n));
  if (data.empty()) return;
  // Nothing was queued: the rest starts a new queue.
  out_.append(data);
  after_output_change();
}

void StreamConnection::flush() {
  while (pending_output()) {
    const ssize_t n = detail::retry_on_eintr(
        [&] { return ::send(out_fd_, out_.data(), out_.size(), MSG_NOSIGNAL); });
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      begin_close(lost_reason(errno));
      return;
    }
    out_.consume(static_cast<std::size_t>(n));
  }
  out_.release_if_idle(1u << 20);  // a burst's buffer is not kept for an idle connection
  after_output_change();
}

void StreamConnection::after_output_change() {
  if (closing()) return;
  const std::size_t pending = write_buffer_size();
  if (!writing_paused_ && pending > high_water_) {
    writing_paused_ = true;
    call_protocol("pause_writing", [this] { protocol_->pause_writing(); });
  } else if (writing_paused_ && pending <= low_water_) {
    writing_paused_ = false;
    call_protocol("resume_writing", [this] { protocol_->resume_writing(); });
  }
  if (closing()) return;
  if (!pending_output()) {
    if (write_side_ == WriteSide::shutting) {
      write_side_ = WriteSide::shut;
      direct_write_off_ = true;
      ::shutdown(out_fd_, SHUT_WR);
    }
    if (phase_ == Phase::disconnecting) {
      begin_close(clean_reason());
      return;
    }
  }
  update_interest();
}

void StreamConnection::lose_connection() {
  if (phase_ != Phase::open) return;
  phase_ = Phase::disconnecting;
  may_read_ = false;
  direct_write_off_ = true;
  after_output_change();  // closes now when nothing is queued
}

void StreamConnection::abort_connection() {
  if (closing()) return;
  out_.clear();
  begin_close(Reason{false, ECONNABORTED, "Connection was aborted locally."});
}

void StreamConnection::lose_write_connection() {
  if (closing() || write_side_ != WriteSide::open) return;
  if (!is_socket_) return;
  write_side_ = WriteSide::shutting;
  direct_write_off_ = true;
  after_output_change();
}

Address StreamConnection::get_host() const {
  if (!is_socket_ || sock_.fileno() < 0) return Address();
  try {
    return sock_.getsockname();
  } catch (const socket_error&) {
    return Address();
  }
}

void StreamConnection::set_tcp_nodelay(bool enabled) {
  if (is_socket_ && sock_.fileno() >= 0 && sock_.family() != AF_UNIX) {
    sock_.setsockopt(IPPROTO_TCP, TCP_NODELAY, enabled ? 1 : 0);
  }
}

void StreamConnection::set_tcp_keepalive(bool enabled) {
  if (is_socket_ && sock_.fileno() >= 0 && sock_.family() != AF_UNIX) {
    sock_.setsockopt(SOL_SOCKET, SO_KEEPALIVE, enabled ? 1 : 0);
  }
}

void StreamConnection::pause_producing() {
  reading_ = false;
  may_read_ = false;
  update_interest();
}

void StreamConnection::resume_producing() {
  reading_ = true;
  if (held_) {  // what was held comes first, from the loop (the caller may be a data_received)
    if (!held_->delivery.active() && phase_ == Phase::open) {
      held_->delivery = impl_.schedule(std::chrono::duration<double>(0), [this] { deliver_held(); });
    }
    return;  // the socket stays unread until then
  }
  may_read_ = !read_closed_ && phase_ == Phase::open;
  update_interest();
}

void StreamConnection::set_write_buffer_limits(std::size_t high, std::size_t low) {
  high_water_ = high;
  low_water_ = low < high ? low : high;
  after_output_change();
}

void StreamConnection::set_idle_timeout(steady::duration limit) {
  if (!idle_) ++impl_.idle_watchers;
  idle_ = true;
  idle_limit_ = limit;
  impl_.loop_now = steady::now();
  last_input_ = impl_.loop_now;
  idle_timer_ = impl_.schedule(limit, [this] { check_idle(); });
}

void StreamConnection::check_idle() {
  if (closing()) return;
  const steady::duration quiet = steady::now() - last_input_;
  if (quiet < idle_limit_) {  // input came meanwhile: the rest of the period from then
    idle_timer_ = impl_.schedule(idle_limit_ - quiet, [this] { check_idle(); });
    return;
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", std::chrono::duration<double>(idle_limit_).count());
  out_.clear();  // a peer that neither sends nor reads holds nothing of ours
  begin_close(
      Reason{false, ETIMEDOUT,
             std::string("Connection timed out: no input for ") + seconds + " s (idle_timeout)."});
}

void StreamConnection::stop_idle() {
  if (!idle_) return;
  idle_ = false;
  --impl_.idle_watchers;
  idle_timer_.cancel();
}

void StreamConnection::begin_close(Reason reason) {
  if (closing()) return;
  phase_ = Phase::closing;
  direct_write_off_ = true;
  reason_ = std::move(reason);
  impl_.pending_closes.push_back(this);
}

void StreamConnection::finalize() {
  if (phase_ == Phase::finalized) return;
  phase_ = Phase::finalized;
  stop_idle();
  drop_held();
  impl_.set_interest(in_fd_, this, 0);
  if (always_ready) std::erase(impl_.always_ready, static_cast<Handler*>(this));
  if (is_socket_ && reason_.clean && !read_closed_ && sock_.fileno() >= 0) {
    ::shutdown(sock_.fileno(), SHUT_WR);  // the reply is complete; drain what the peer sends
    auto drainer = std::make_unique<Drainer>(impl_, std::move(sock_));
    static_cast<Drainer*>(impl_.adopt(std::move(drainer)))->start();
  }
  sock_.close();  // stdio descriptors are not ours to close
  --impl_.connections;
  if (stdio_owner != nullptr) ReactorImpl::io_of(*stdio_owner) = nullptr;
  try {
    protocol_->connection_lost(reason_);
  } catch (...) {
    impl_.report_exception("connection_lost", peer_.to_string());
  }
  ReactorImpl::transport_of(*protocol_) = nullptr;
  if (connector != nullptr) {
    Connector* c = connector;
    connector = nullptr;
    ReactorImpl::connection_of(*c) = nullptr;
    try {
      ReactorImpl::factory_of(*c).client_connection_lost(*c, reason_);
    } catch (...) {
      impl_.report_exception("client_connection_lost", peer_.to_string());
    }
    impl_.connector_finished(*c);
  }
  impl_.retire(this);
}

void StreamConnection::discard() {
  std::erase(impl_.pending_closes, this);
  if (phase_ == Phase::finalized) return;
  phase_ = Phase::finalized;
  direct_write_off_ = true;
  stop_idle();
  drop_held();
  impl_.set_interest(in_fd_, this, 0);
  if (always_ready) std::erase(impl_.always_ready, static_cast<Handler*>(this));
  --impl_.connections;
  ReactorImpl::transport_of(*protocol_) = nullptr;
  impl_.retire(this);
}

}  // namespace socketserver
