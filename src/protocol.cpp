// protocol.cpp — Protocol's and Transport's defaults, Factory, DatagramProtocol, LineReceiver.
#include <cstring>
#include <stdexcept>

#include "socketserver/reactor.hpp"
#include "socketserver/ssl.hpp"
#include "tls_hooks.hpp"

namespace socketserver {

// ---- Protocol ------------------------------------------------------------------------------

void Protocol::not_connected() { throw std::logic_error("Protocol::transport(): not connected"); }

void Protocol::read_connection_lost() { transport().lose_connection(); }

void Protocol::pause_writing() { transport().pause_producing(); }

void Protocol::resume_writing() { transport().resume_producing(); }

// ---- Transport ------------------------------------------------------------------------------

void Transport::start_tls(const SSLContext& /*context*/, bool /*server_side*/,
                          const std::string& /*server_hostname*/) {
  throw std::logic_error("start_tls: this transport cannot carry TLS");
}

std::optional<PeerCertificate> Transport::get_peer_certificate() const {
  const SSLObject* session = ssl_object();
  if (session == nullptr) return std::nullopt;
  return detail::tls_hooks().getpeercert(*session);  // a session: TLS is linked (tls_hooks.hpp)
}

// ---- Factory --------------------------------------------------------------------------------

std::unique_ptr<Protocol> Factory::build_protocol(const Address& /*addr*/) {
  if (!protocol) throw std::logic_error("Factory::build_protocol: no `protocol` set");
  return protocol();
}

DatagramProtocol::Transport& DatagramProtocol::transport() const {
  if (transport_ == nullptr) throw std::logic_error("DatagramProtocol::transport(): not listening");
  return *transport_;
}

// ---- LineReceiver --------------------------------------------------------------------------

bool LineReceiver::exceeds(std::size_t unterminated) const noexcept {
  // Twisted: len(buffer) >= MAX_LENGTH + len(delimiter); written so that it cannot wrap (a line
  // of max_length may still be waiting for the last bytes of its delimiter).
  return unterminated >= delimiter.size() && unterminated - delimiter.size() >= max_length;
}

void LineReceiver::data_received(std::string_view data) {
  if (busy_) {  // fed back from a callback (set_line_mode(extra)): after what is undelivered
    buffer_.append(data);
    return;
  }
  // The most common read of a request/response protocol: exactly one line, with its one-byte
  // delimiter at the end. Delivered as deliver() would (nothing is left over), with one memchr
  // and no bookkeeping but the re-entry flag.
  if (!raw_ && !paused_ && buffer_.empty() && delimiter.size() == 1 && !data.empty()) {
    const std::size_t last = data.size() - 1;
    if (std::memchr(data.data(), delimiter[0], data.size()) == data.data() + last &&
        last <= max_length) {
      busy_ = true;
      try {
        line_received(data.substr(0, last));
      } catch (...) {
        busy_ = false;
        throw;
      }
      busy_ = false;
      // A callback fed bytes back: deliver them unless the transport is closing (as Twisted).
      if (!buffer_.empty() && connected() && !transport().disconnecting()) deliver({});
      return;
    }
  }
  deliver(data);
}

void LineReceiver::deliver(std::string_view data) {
  busy_ = true;
  if (buffer_.empty()) {
    view_ = data;  // the read itself: no copy
  } else {
    work_.swap(buffer_);  // buffer_ takes work_'s storage, emptied
    buffer_.clear();
    work_.append(data);
    view_ = work_.view();
  }
  pos_ = 0;
  bool stopped = false;  // the transport is closing: keep the rest, as Twisted
  try {
    for (;;) {
      while (pos_ < view_.size() && !paused_) {
        if (raw_) {
          if (!buffer_.empty()) break;  // fed back: all of it in one call, as Twisted's
          const std::string_view rest = view_.substr(pos_);
          pos_ = view_.size();
          raw_data_received(rest);
          continue;
        }
        if (delimiter.empty()) throw std::logic_error("LineReceiver: the delimiter is empty");
        // A callback may change the delimiter: read it anew for every line.
        const std::size_t end = detail::ByteBuffer::find_in(view_, delimiter, pos_);
        if (end == std::string_view::npos) break;
        const std::string_view line = view_.substr(pos_, end - pos_);
        if (line.size() > max_length) {  // as Twisted: the line, its delimiter and all after it
          report_exceeded(take_undelivered());
          return;
        }
        pos_ = end + delimiter.size();
        line_received(line);
        if (!connected() || transport().disconnecting()) {
          stopped = true;
          break;
        }
      }
      // Undelivered: view_[pos_..], then what callbacks fed back. Go on over both.
      if (stopped || paused_ || buffer_.empty()) break;
      if (in_work()) {
        work_.consume(pos_);
      } else {
        work_.clear();
        work_.append(view_.substr(pos_));
      }
      work_.append(buffer_.view());
      buffer_.clear();
      view_ = work_.view();
      pos_ = 0;
    }
  } catch (...) {
    keep_rest();
    busy_ = false;
    throw;
  }
  if (!stopped && !paused_ && !raw_ && pos_ <= view_.size() &&
      exceeds(view_.size() - pos_ + buffer_.size())) {
    report_exceeded(take_undelivered());
    return;
  }
  keep_rest();
  busy_ = false;
}

void LineReceiver::report_exceeded(const std::string& line) {
  // Still busy, as in Twisted (its finally clause runs after lineLengthExceeded): bytes fed
  // back from the callback wait in the buffer for the next read.
  try {
    line_length_exceeded(line);
  } catch (...) {
    busy_ = false;
    throw;
  }
  busy_ = false;
}

std::string LineReceiver::take_undelivered() {
  std::string out(view_.substr(pos_));
  out += buffer_.view();
  buffer_.clear();
  view_ = {};
  pos_ = 0;
  return out;
}

bool LineReceiver::in_work() const noexcept {
  return view_.data() == work_.data() && view_.size() == work_.size();
}

void LineReceiver::keep_rest() {
  const std::string_view rest = view_.substr(pos_);
  if (!rest.empty()) {
    if (buffer_.empty() && in_work()) {
      buffer_.swap(work_);  // the rest is in work_ already: no copy
      buffer_.consume(pos_);
    } else {
      buffer_.prepend(rest);  // before anything a callback fed back
    }
  }
  view_ = {};
  pos_ = 0;
  work_.clear();
  work_.release_if_idle(64u << 10);  // no big buffer kept idle
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

void LineReceiver::pause_producing() {
  paused_ = true;
  if (connected()) transport().pause_producing();
}

void LineReceiver::resume_producing() {
  paused_ = false;
  if (connected()) transport().resume_producing();
  data_received({});  // what arrived before the pause (from a callback: the loop goes on)
}

std::string LineReceiver::clear_line_buffer() {
  // From a callback: the rest of the current read, then what was fed back.
  std::string out(view_.substr(pos_));
  out += buffer_.view();
  buffer_.clear();
  pos_ = view_.size();
  return out;
}

}  // namespace socketserver
