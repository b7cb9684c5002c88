// handler.cpp — the request handlers.
#include "socketserver/handler.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

#include "report.hpp"

namespace socketserver {

void detail::throw_not_a(const BaseServer& server, const std::type_info& wanted) {
  throw std::logic_error("server_as<" + type_name(wanted) + ">(): this handler's server is a " +
                         type_name(typeid(server)) + ", not a " + type_name(wanted));
}

void BaseRequestHandler::run() {
  setup();
  try {
    handle();
  } catch (...) {
    finish();
    throw;
  }
  finish();
}

StreamRequestHandler::StreamRequestHandler(Request& request_, const Address& client_address_,
                                           BaseServer& server_)
    : BaseRequestHandler(request_, client_address_, server_),
      connection(request_.connection),
      rfile(request_.connection),
      wfile(request_.connection) {}

void StreamRequestHandler::setup() {
  if (timeout) connection.settimeout(timeout);
  if (disable_nagle_algorithm) connection.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
  rfile.set_buffer_size(rbufsize);
  rfile.set_max_line(max_line);
  wfile.set_buffer_size(wbufsize);
}

void StreamRequestHandler::finish() {
  try {
    wfile.flush();
  } catch (const socket_error&) {  // the client went away: nothing left to tell it (Python too)
  }
}

// ---- datagrams ----------------------------------------------------------------------------

std::string PacketReader::read(std::size_t n) {
  const std::size_t count = std::min(n, data_.size() - pos_);
  std::string out(data_.substr(pos_, count));
  pos_ += count;
  return out;
}

std::string PacketReader::read() { return read(data_.size() - pos_); }

std::string PacketReader::readline() {
  const std::size_t nl = data_.find('\n', pos_);
  return read(nl == std::string_view::npos ? data_.size() - pos_ : nl - pos_ + 1);
}

std::vector<std::string> PacketReader::readlines() {
  std::vector<std::string> lines;
  for (std::string line = readline(); !line.empty(); line = readline()) {
    lines.push_back(std::move(line));
  }
  return lines;
}

namespace detail {
// The buffer a thread lends to one PacketWriter at a time. Owned by the thread's
// ReplyBufferOwner; when the thread ends while it is lent out, the borrower deletes it.
struct ReplyBuffer {
  std::string data;
  bool lent = false;
  bool orphaned = false;
};
}  // namespace detail

namespace {
constexpr std::size_t kKeptReplyCapacity = 64 * 1024;

struct ReplyBufferOwner {
  detail::ReplyBuffer* buffer = nullptr;
  ReplyBufferOwner() = default;
  ReplyBufferOwner(const ReplyBufferOwner&) = delete;
  ReplyBufferOwner& operator=(const ReplyBufferOwner&) = delete;
  ~ReplyBufferOwner();
};
// A thread_local with a destructor is gone before objects of static duration are destroyed:
// t_owner_gone (trivial, never destroyed) tells a late PacketWriter not to touch it.
thread_local bool t_owner_gone = false;
thread_local ReplyBufferOwner t_owner;

ReplyBufferOwner::~ReplyBufferOwner() {
  t_owner_gone = true;
  if (buffer == nullptr) return;
  if (buffer->lent) {
    buffer->orphaned = true;
  } else {
    delete buffer;
  }
}
}  // namespace

PacketWriter::PacketWriter() noexcept {
  if (t_owner_gone) return;
  detail::ReplyBuffer*& buffer = t_owner.buffer;
  if (buffer == nullptr) {
    buffer = new (std::nothrow) detail::ReplyBuffer;
    if (buffer == nullptr) return;
  }
  if (buffer->lent) return;  // another writer of this thread has it: use own_
  buffer->lent = true;
  lent_ = buffer;
  data_ = &buffer->data;
}

PacketWriter::~PacketWriter() {
  if (lent_ == nullptr) return;
  if (lent_->orphaned) {
    delete lent_;
    return;
  }
  if (lent_->data.capacity() > kKeptReplyCapacity) {
    std::string().swap(lent_->data);
  } else {
    lent_->data.clear();
  }
  lent_->lent = false;
}

PacketWriter::PacketWriter(const PacketWriter& other) : PacketWriter() {
  data_->assign(*other.data_);
}

PacketWriter& PacketWriter::operator=(const PacketWriter& other) {
  if (this != &other) data_->assign(*other.data_);
  return *this;
}

std::size_t PacketWriter::write(std::string_view data) {
  data_->append(data);
  return data.size();
}

void PacketWriter::writelines(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) data_->append(line);
}

namespace {
Socket& datagram_socket(Request& request) {
  if (request.socket == nullptr) {
    throw std::logic_error("DatagramRequestHandler used for a request without a datagram socket");
  }
  return *request.socket;
}
}  // namespace

DatagramRequestHandler::DatagramRequestHandler(Request& request_, const Address& client_address_,
                                               BaseServer& server_)
    : BaseRequestHandler(request_, client_address_, server_),
      packet(request_.packet),
      socket(datagram_socket(request_)),
      rfile(request_.packet) {}

void DatagramRequestHandler::finish() { socket.sendto(wfile.getvalue(), client_address); }

}  // namespace socketserver
