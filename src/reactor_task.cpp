// reactor_task.cpp — the small pieces a server needs next to its protocols, on the reactor's
// timers and connectors: LoopingCall (Twisted's task.LoopingCall) and connect_protocol
// (Twisted's connectProtocol / ClientCreator).
#include <cmath>
#include <stdexcept>

#include "reactor_impl.hpp"
#include "timeout.hpp"

namespace socketserver {

// ---- LoopingCall ---------------------------------------------------------------------------

LoopingCall::LoopingCall(Reactor& reactor, std::function<void()> fn)
    : reactor_(reactor), fn_(std::move(fn)) {
  if (!fn_) throw std::invalid_argument("LoopingCall: no function");
}

LoopingCall::~LoopingCall() { next_.cancel(); }

void LoopingCall::start(std::chrono::duration<double> interval, bool now,
                        std::function<void(std::exception_ptr)> done) {
  if (running_) throw std::logic_error("LoopingCall::start: already running");
  detail::check_seconds(interval.count(), "LoopingCall::start: interval");
  running_ = true;
  interval_ = interval.count();
  done_ = std::move(done);
  start_time_ = reactor_.seconds();
  if (now) {
    call();
  } else {
    schedule_from(start_time_);
  }
}

void LoopingCall::stop() {
  if (!running_) throw std::logic_error("LoopingCall::stop: not running");
  running_ = false;
  next_.cancel();
  finish(nullptr);
}

void LoopingCall::call() {
  try {
    fn_();
  } catch (...) {
    running_ = false;
    next_.cancel();
    if (!done_) {  // nobody asked: reported as Twisted logs an unhandled Deferred failure
      reactor_.impl_->report_exception("LoopingCall", "");
      return;
    }
    finish(std::current_exception());
    return;
  }
  // fn may have stopped it, or stopped and started it again (which scheduled its own call).
  if (running_ && !next_.active()) schedule_from(reactor_.seconds());
}

void LoopingCall::schedule_from(double now) {
  double delay = 0;
  if (interval_ > 0) {  // the next point of the grid start_time_ + k * interval_
    delay = interval_ - std::fmod(now - start_time_, interval_);
    if (now + delay == now) delay = interval_;  // too small to move the clock: a whole step
  }
  next_ = reactor_.call_later(std::chrono::duration<double>(delay), [this] { call(); });
}

void LoopingCall::finish(std::exception_ptr error) {
  std::function<void(std::exception_ptr)> done = std::move(done_);
  done_ = nullptr;
  if (done) done(error);
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
  if (unix_path != nullptr) return connect_unix(*unix_path, std::move(creator), timeout);
  return connect_tcp(host, port, std::move(creator), timeout);
}

}  // namespace socketserver
