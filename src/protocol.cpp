// protocol.cpp — Protocol's defaults, Factory, DatagramProtocol, LineReceiver.
#include <stdexcept>

#include "socketserver/reactor.hpp"

namespace socketserver {

// ---- Protocol ------------------------------------------------------------------------------

Transport& Protocol::transport() const {
  if (transport_ == nullptr) throw std::logic_error("Protocol::transport(): not connected");
  return *transport_;
}

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

void LineReceiver::data_received(std::string_view data) {
  if (raw_) {
    raw_data_received(data);
    return;
  }
  if (delimiter.empty()) throw std::logic_error("LineReceiver: the delimiter is empty");
  // Work on a local buffer: a callback may clear or refill buffer_ (set_line_mode).
  std::string local;
  std::string_view view = data;
  if (!buffer_.empty()) {
    local = std::move(buffer_);
    buffer_.clear();
    local.append(data);
    view = local;
  }
  cleared_ = false;
  std::size_t pos = 0;
  while (!raw_ && connected() && !transport().disconnecting()) {
    const std::size_t end = view.find(delimiter, pos);
    if (end == std::string_view::npos) break;
    const std::string_view line = view.substr(pos, end - pos);
    if (line.size() > max_length) {  // as Twisted: the line, its delimiter and all after it
      const std::string exceeded(view.substr(pos));
      unprocessed_ = {};
      line_length_exceeded(exceeded);
      return;
    }
    pos = end + delimiter.size();
    unprocessed_ = view.substr(pos);
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
