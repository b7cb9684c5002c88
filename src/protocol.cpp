// protocol.cpp — Protocol's defaults, Factory, DatagramProtocol, LineReceiver.
#include <cstring>
#include <stdexcept>

#include "reactor_impl.hpp"
#include "socketserver/reactor.hpp"

namespace socketserver {

// ---- Protocol ------------------------------------------------------------------------------

void Protocol::not_connected() { throw std::logic_error("Protocol::transport(): not connected"); }

void Protocol::read_connection_lost() { transport().lose_connection(); }

void Protocol::pause_writing() { transport().pause_producing(); }

void Protocol::resume_writing() { transport().resume_producing(); }

std::unique_ptr<Protocol> Factory::build_protocol(const Address& /*addr*/) {
  if (!protocol) throw std::logic_error("Factory::build_protocol: no `protocol` set");
  return protocol();
}

DatagramProtocol::Transport& DatagramProtocol::transport() const {
  if (transport_ == nullptr) throw std::logic_error("DatagramProtocol::transport(): not listening");
  return *transport_;
}

// ---- LineReceiver --------------------------------------------------------------------------

namespace {

/// Where `delimiter` starts in `view` at or after `pos` (npos: nowhere). A one-byte delimiter
/// ("\n") is one memchr.
[[gnu::noinline]] std::size_t find_long_delimiter(std::string_view view, std::size_t pos,
                                                  const std::string& delimiter) {
  return view.find(delimiter, pos);
}
inline std::size_t find_delimiter(std::string_view view, std::size_t pos,
                                  const std::string& delimiter) {
  if (delimiter.size() != 1) return find_long_delimiter(view, pos, delimiter);
  const void* hit = std::memchr(view.data() + pos, delimiter[0], view.size() - pos);
  return hit == nullptr ? std::string_view::npos
                        : static_cast<std::size_t>(static_cast<const char*>(hit) - view.data());
}

// True while lines may be delivered: connected, and not closing. Every transport a protocol
// can be attached to is a StreamConnection (only the reactor and StandardIO attach one), a
// final class: its disconnecting() is read here without a virtual call.
inline bool may_deliver(const Protocol& protocol) noexcept {
  if (!protocol.connected()) return false;
  return !static_cast<const StreamConnection&>(protocol.transport()).disconnecting();
}

}  // namespace

void LineReceiver::receive_lines(std::string_view view) {
  cleared_ = false;
  std::size_t pos = 0;
  // Nothing left: done, without looking for a delimiter in nothing.
  while (pos < view.size() && !raw_ && may_deliver(*this)) {
    // A callback may change the delimiter: read it anew for every line.
    const std::size_t end = find_delimiter(view, pos, delimiter);
    if (end == std::string_view::npos) break;
    const std::string_view line(view.data() + pos, end - pos);
    if (line.size() > max_length) {  // as Twisted: the line, its delimiter and all after it
      const std::string exceeded(view.substr(pos));
      unprocessed_ = {};
      line_length_exceeded(exceeded);
      return;
    }
    pos = end + delimiter.size();
    unprocessed_ = std::string_view(view.data() + pos, view.size() - pos);
    line_received(line);
    if (cleared_) {  // clear_line_buffer() took the rest
      unprocessed_ = {};
      return;
    }
  }
  unprocessed_ = {};
  const std::string_view rest = view.substr(pos);
  if (rest.empty() || !connected()) return;
  if (raw_) {
    raw_data_received(rest);
    return;
  }
  if (transport().disconnecting()) return;
  // A line of max_length may still be waiting for the last bytes of its delimiter.
  if (buffer_.size() + rest.size() >= max_length + delimiter.size()) {
    std::string over = std::move(buffer_);
    over.append(rest);
    buffer_.clear();
    line_length_exceeded(over);
    return;
  }
  buffer_.insert(0, rest);  // before anything a callback may have queued
}

void LineReceiver::data_received(std::string_view data) {
  if (raw_ || !buffer_.empty() || delimiter.empty()) {
    receive_slow(data);
    return;
  }
  // The most common read of a request/response protocol: exactly one line, with its one-byte
  // delimiter at the end. It is delivered as receive_lines would deliver it (nothing is left
  // over for clear_line_buffer to return), with one memchr and no bookkeeping after the call.
  if (delimiter.size() == 1 && !data.empty()) {
    const std::size_t last = data.size() - 1;
    if (std::memchr(data.data(), delimiter[0], data.size()) == data.data() + last &&
        last <= max_length && may_deliver(*this)) {
      cleared_ = false;
      unprocessed_ = {};
      line_received(data.substr(0, last));
      return;
    }
  }
  receive_lines(data);  // the read starts a line; no copy
}

void LineReceiver::receive_slow(std::string_view data) {
  if (raw_) {
    raw_data_received(data);
    return;
  }
  if (delimiter.empty()) throw std::logic_error("LineReceiver: the delimiter is empty");
  // Work on a local buffer: a callback may clear or refill buffer_ (set_line_mode).
  std::string local = std::move(buffer_);
  buffer_.clear();
  local.append(data);
  receive_lines(local);
}

void LineReceiver::line_length_exceeded(std::string_view /*line*/) {
  transport().lose_connection();
}

void LineReceiver::send_line(std::string_view line) {
  // One write (one send when nothing is queued), built in a buffer kept across lines.
  line_out_.assign(line);
  line_out_.append(delimiter);
  transport().write(line_out_);
}

void LineReceiver::set_raw_mode() { raw_ = true; }

void LineReceiver::set_line_mode(std::string_view extra) {
  raw_ = false;
  if (!extra.empty()) data_received(extra);
}

std::string LineReceiver::clear_line_buffer() {
  // Called from line_received: the rest of the current read is part of what is cleared.
  std::string out(unprocessed_);
  out += buffer_;
  buffer_.clear();
  unprocessed_ = {};
  cleared_ = true;
  return out;
}

}  // namespace socketserver
