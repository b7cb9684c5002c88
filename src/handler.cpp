// handler.cpp — the request handlers.
#include "socketserver/handler.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>

#include "report.hpp"
#include "socketserver/detail/fd.hpp"
#include "socketserver/ssl.hpp"
#include "timeout.hpp"
#include "tls_hooks.hpp"

namespace socketserver {

void detail::throw_not_a(const BaseServer& server, const std::type_info& wanted) {
  throw std::logic_error("server_as<" + type_name(wanted) + ">(): this handler's server is a " +
                         type_name(typeid(server)) + ", not a " + type_name(wanted));
}

namespace {

// What rfile and wfile read and write: the TLS stream of a TLS request (made by the TLS side,
// tls_hooks.hpp), else the connection. Either way each read is one call through the StreamRef.
detail::StreamRef stream_of(Request& request) {
  return request.tls ? detail::tls_hooks().stream_ref(*request.tls)
                     : detail::stream_ref(request.connection);
}

using steady = std::chrono::steady_clock;

// The request deadlines of this process: one thread that shuts down the connection of each
// request whose request_timeout ran out. Started on first use; a forked child starts its own
// (pthread_atfork keeps the mutex consistent across fork, and gives the child a fresh condition
// variable: the parent's may record a waiter, the parent's thread, that the child does not have,
// and glibc's notify would wait for it for ever).
class Watchdog {
 public:
  struct Entry {
    detail::Fd fd;       // the entry's own duplicate of the connection: never a reused number
    bool fired = false;  // under mu_
  };
  using Entries = std::multimap<steady::time_point, Entry*>;

  static Watchdog& instance() {
    // Never destroyed (the union's destructor leaves it be): the thread may outlive main().
    union Immortal {
      Immortal() : watchdog() {}
      ~Immortal() {}
      Watchdog watchdog;
    };
    static Immortal immortal;
    static const bool registered = [] {
      // A forked child holds the mutex consistent, has no thread, and forgets the parent's
      // entries (their descriptors are the parent's connections too).
      ::pthread_atfork([] { immortal.watchdog.mu_.lock(); }, [] { immortal.watchdog.mu_.unlock(); },
                       [] {
                         Watchdog& w = immortal.watchdog;
                         w.thread_pid_ = 0;
                         w.entries_.clear();
                         w.cv_ = new std::condition_variable;  // the old one is left as it is
                         w.mu_.unlock();
                       });
      return true;
    }();
    (void)registered;
    return immortal.watchdog;
  }

  Entries::iterator add(steady::time_point deadline, Entry* entry) {
    std::lock_guard<std::mutex> lock(mu_);
    if (thread_pid_ != ::getpid()) {
      std::thread(&Watchdog::run, this).detach();
      thread_pid_ = ::getpid();
    }
    const auto it = entries_.emplace(deadline, entry);
    if (it == entries_.begin()) cv_->notify_one();  // the earliest now: the thread re-arms
    return it;
  }

  // Once this returns, the watchdog never touches entry->fd again.
  bool remove(Entries::iterator it, Entry* entry) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!entry->fired) entries_.erase(it);
    return entry->fired;
  }

  Watchdog() = default;

 private:
  [[noreturn]] void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (entries_.empty()) {
        cv_->wait(lock);
        continue;
      }
      const auto first = entries_.begin();
      const steady::time_point when = first->first;  // a copy: the entry may go while waiting
      if (steady::now() < when) {
        cv_->wait_until(lock, when);
        continue;
      }
      first->second->fired = true;
      ::shutdown(first->second->fd.get(), SHUT_RDWR);  // under mu_: the descriptor is still open
      entries_.erase(first);
    }
  }

  std::mutex mu_;
  std::condition_variable* cv_ = new std::condition_variable;  // never freed: see fork above
  Entries entries_;
  pid_t thread_pid_ = 0;  // the process the thread runs in (0: none)
};

// A request's deadline while handle() runs: registered with the watchdog, removed on the way out.
// The watchdog holds a duplicate of the connection's descriptor: a handler that closes its
// connection early frees the number for the next connection, which the deadline must not touch.
class RequestDeadline {
 public:
  RequestDeadline(int fd, const Timeout& limit) {
    if (fd < 0 || !limit) return;
    detail::check_seconds(limit->count(), "request_timeout", false);
    entry_.fd.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!entry_.fd) throw_os_error(errno, "request_timeout: duplicate the connection");
    it_ = Watchdog::instance().add(steady::now() + detail::to_steady(*limit), &entry_);
    armed_ = true;
  }
  ~RequestDeadline() {
    (void)disarm();  // then entry_ closes its duplicate
  }
  RequestDeadline(const RequestDeadline&) = delete;
  RequestDeadline& operator=(const RequestDeadline&) = delete;
  // True when the deadline ran out (the connection was shut down).
  bool disarm() {
    if (armed_) {
      armed_ = false;
      expired_ = Watchdog::instance().remove(it_, &entry_);
    }
    return expired_;
  }

 private:
  Watchdog::Entry entry_;
  Watchdog::Entries::iterator it_{};
  bool armed_ = false;
  bool expired_ = false;
};

std::string seconds_text(const Timeout& t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", t ? t->count() : 0.0);
  return buf;
}

}  // namespace

void BaseRequestHandler::run() {
  setup();
  Socket& connection = request.plain_socket();
  std::optional<RequestDeadline> deadline_holder;
  try {
    if (idle_timeout && connection.fileno() >= 0) {
      // Zero would make the connection non-blocking: every read would fail at once.
      detail::check_seconds(idle_timeout->count(), "idle_timeout", false);
      const Timeout current = connection.gettimeout();
      if (!current || *idle_timeout < *current) connection.settimeout(idle_timeout);
    }
    deadline_holder.emplace(connection.fileno(), request_timeout);
  } catch (...) {
    finish();  // setup() ran: finish() runs too, as when handle() throws
    throw;
  }
  RequestDeadline& deadline = *deadline_holder;
  const auto deadline_error = [&] {
    return timeout_error("request from " + client_address.to_string() + ": request_timeout (" +
                         seconds_text(request_timeout) + ") ran out");
  };
  try {
    handle();
  } catch (const socket_error&) {
    const bool expired = deadline.disarm();
    finish();
    if (expired) throw deadline_error();  // the shutdown's consequence, not its cause
    throw;
  } catch (...) {
    deadline.disarm();
    finish();
    throw;
  }
  const bool expired = deadline.disarm();
  finish();
  if (expired) throw deadline_error();
}

StreamRequestHandler::StreamRequestHandler(Request& request_, const Address& client_address_,
                                           BaseServer& server_)
    : BaseRequestHandler(request_, client_address_, server_),
      connection(request_.plain_socket()),
      rfile(stream_of(request_)),
      wfile(stream_of(request_)) {}

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
