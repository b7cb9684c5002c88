// testing.cpp — StringTransport (Twisted's proto_helpers).
#include "socketserver/testing.hpp"

#include <stdexcept>

#include "reactor_impl.hpp"

namespace socketserver {

StringTransport::StringTransport(Reactor* reactor)
    : reactor_(reactor),
      host_(Address::inet("10.0.0.1", 12345)),
      peer_(Address::inet("192.168.1.1", 54321)) {}

void StringTransport::write(std::string_view data) {
  if (disconnecting_) return;
  written_.append(data);
}

void StringTransport::abort_connection() {
  disconnecting_ = true;
  aborted_ = true;
}

Reactor& StringTransport::reactor() const {
  if (reactor_ == nullptr) {
    throw std::logic_error("StringTransport::reactor(): constructed without a reactor");
  }
  return *reactor_;
}

void StringTransport::end_connection(Protocol& protocol, const Reason& reason) {
  protocol.connection_lost(reason);
  ReactorImpl::transport_of(protocol) = nullptr;
}

}  // namespace socketserver
