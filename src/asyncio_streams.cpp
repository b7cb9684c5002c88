// asyncio_streams.cpp — asyncio_streams.hpp: the stream protocol, StreamReader, StreamWriter,
// start_server and open_connection (their TLS overloads: asyncio_tls.cpp).
#include "socketserver/asyncio_streams.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "asyncio_impl.hpp"
#include "reactor_impl.hpp"
#include "report.hpp"

namespace socketserver::asyncio {

IncompleteReadError::IncompleteReadError(std::string partial_bytes,
                                         std::optional<std::size_t> expected_bytes)
    : std::runtime_error(std::to_string(partial_bytes.size()) + " bytes read on a total of " +
                         (expected_bytes ? std::to_string(*expected_bytes) : "undefined") +
                         " expected bytes"),
      partial(std::move(partial_bytes)),
      expected(expected_bytes) {}

LimitOverrunError::LimitOverrunError(const std::string& message, std::size_t consumed_bytes,
                                     std::size_t limit)
    : line_too_long_error(message, limit), consumed(consumed_bytes) {}

namespace detail {

/// What a connection's protocol, reader and writer share: the unread bytes, the end of the
/// stream or the error, the transport while connected, and the waits.
struct StreamState {
  explicit StreamState(std::size_t lim) : limit(lim) {
    if (limit == 0) throw std::invalid_argument("StreamReader: the limit must be positive");
  }
  std::size_t limit;
  std::string buffer;     // unread bytes: buffer[start..]
  std::size_t start = 0;  // bytes of buffer already read
  bool eof = false;
  bool lost = false;  // connection_lost has been called
  bool read_paused = false;
  bool write_paused = false;
  std::exception_ptr error;
  Transport* transport = nullptr;
  Address peer;
  // The local address once the connection is gone (while it lasts, the transport's): not
  // copied for every idle connection (an Address is 176 bytes).
  std::unique_ptr<Address> host_after;
  WaitList readable;  // a read waits for data or the end
  WaitList drained;   // drain waits for the write buffer
  WaitList closed;    // wait_closed

  [[nodiscard]] std::size_t size() const noexcept { return buffer.size() - start; }
  [[nodiscard]] std::string_view view() const noexcept {
    return std::string_view(buffer).substr(start);
  }

  /// Consumes the first n unread bytes (n <= size()).
  std::string take(std::size_t n) {
    std::string out(buffer, start, n);
    start += n;
    if (start == buffer.size()) {
      buffer.clear();
      start = 0;
    } else if (start >= 4096 && start >= buffer.size() / 2) {
      buffer.erase(0, start);
      start = 0;
    }
    maybe_resume();
    return out;
  }

  /// Reading was paused for a full buffer and the handler has read it down to the limit.
  void maybe_resume() {
    if (read_paused && size() <= limit) resume_reading();
  }
  void resume_reading() {
    read_paused = false;
    if (transport != nullptr && !lost) transport->resume_producing();
  }

  void feed(std::string_view data) {
    if (data.empty()) return;
    buffer.append(data);
    if (transport != nullptr && !read_paused && size() > 2 * limit) {
      read_paused = true;
      transport->pause_producing();
    }
    readable.wake_all();
  }

  /// Before a read parks: one read waits at a time; a reader waiting for more than the buffer
  /// holds must let the transport read (Python's _wait_for_data).
  void before_wait(const char* what) {
    if (!readable.empty()) {
      throw std::logic_error(std::string("StreamReader::") + what +
                             ": another read is already waiting for data");
    }
    if (read_paused) resume_reading();
  }
};

}  // namespace detail

// ---- StreamReader ---------------------------------------------------------------------------

namespace {
// The state of a reader or writer, for its method `what`: a moved-from one has none, and
// using it is the caller's bug (as co_await on an empty Task).
const std::shared_ptr<detail::StreamState>& live(const std::shared_ptr<detail::StreamState>& state,
                                                 const char* object, const char* what) {
  if (!state) {
    throw std::logic_error(std::string(object) + "::" + what + ": the " + object +
                           " has been moved from");
  }
  return state;
}
}  // namespace

StreamReader::StreamReader(std::size_t limit)
    : state_(std::make_shared<detail::StreamState>(limit)) {}

StreamReader::StreamReader(std::shared_ptr<detail::StreamState> state) : state_(std::move(state)) {}

bool StreamReader::at_eof() const {
  const detail::StreamState& s = *live(state_, "StreamReader", "at_eof");
  return s.eof && s.size() == 0;
}

void StreamReader::feed_data(std::string_view data) {
  live(state_, "StreamReader", "feed_data")->feed(data);
}

void StreamReader::feed_eof() {
  detail::StreamState& s = *live(state_, "StreamReader", "feed_eof");
  s.eof = true;
  s.readable.wake_all();
}

std::exception_ptr StreamReader::exception() const {
  return live(state_, "StreamReader", "exception")->error;
}

std::size_t StreamReader::limit() const { return live(state_, "StreamReader", "limit")->limit; }

std::size_t StreamReader::buffered() const {
  return live(state_, "StreamReader", "buffered")->size();
}

namespace {
// One look for `sep` in what `s` holds (Python's readuntil loop body): the separator's index,
// or npos when more bytes are needed (`offset` then moves past what has been searched).
// Throws LimitOverrunError when the separator is not within the limit.
std::size_t find_separator(const detail::StreamState& s, std::string_view sep,
                           std::size_t& offset) {
  const std::size_t buflen = s.size();
  if (buflen < offset + sep.size()) return std::string_view::npos;
  const std::size_t found = sep.size() == 1 ? s.view().find(sep[0], offset)  // memchr
                                             : s.view().find(sep, offset);
  if (found != std::string_view::npos) {
    if (found > s.limit) {
      throw LimitOverrunError("Separator is found, but chunk is longer than limit", found, s.limit);
    }
    return found;
  }
  offset = buflen + 1 - sep.size();
  if (offset > s.limit) {
    throw LimitOverrunError("Separator is not found, and chunk exceed the limit", offset, s.limit);
  }
  return std::string_view::npos;
}
}  // namespace

Task<std::string> StreamReader::readuntil(std::string separator) {
  std::shared_ptr<detail::StreamState> s = live(state_, "StreamReader", "readuntil");
  if (separator.empty()) throw std::invalid_argument("readuntil: the separator is empty");
  std::size_t offset = 0;  // where the separator may start in what has not been searched
  for (;;) {
    const std::size_t found = find_separator(*s, separator, offset);
    if (found != std::string_view::npos) co_return s->take(found + separator.size());
    if (s->error) std::rethrow_exception(s->error);
    if (s->eof) throw IncompleteReadError(s->take(s->size()), std::nullopt);
    s->before_wait("readuntil");
    co_await detail::Wait(s->readable);
  }
}

// readuntil("\n") with IncompleteReadError turned into the partial line, written out rather
// than awaiting readuntil: one coroutine frame per waiting connection instead of two.
Task<std::string> StreamReader::readline() {
  std::shared_ptr<detail::StreamState> s = live(state_, "StreamReader", "readline");
  std::size_t offset = 0;
  for (;;) {
    std::size_t found = std::string_view::npos;
    try {
      found = find_separator(*s, "\n", offset);
    } catch (const LimitOverrunError& e) {
      // Python: the line up to and including its end is dropped when it has arrived; else all.
      if (s->view().substr(e.consumed, 1) == "\n") {
        s->take(e.consumed + 1);
      } else {
        s->take(s->size());
      }
      throw;
    }
    if (found != std::string_view::npos) co_return s->take(found + 1);
    if (s->error) std::rethrow_exception(s->error);
    if (s->eof) co_return s->take(s->size());
    s->before_wait("readline");
    co_await detail::Wait(s->readable);
  }
}

Task<std::string> StreamReader::readexactly(std::size_t n) {
  std::shared_ptr<detail::StreamState> s = live(state_, "StreamReader", "readexactly");
  while (s->size() < n) {
    if (s->error) std::rethrow_exception(s->error);
    if (s->eof) throw IncompleteReadError(s->take(s->size()), n);
    s->before_wait("readexactly");
    co_await detail::Wait(s->readable);
  }
  co_return s->take(n);
}

Task<std::string> StreamReader::read(std::ptrdiff_t n) {
  std::shared_ptr<detail::StreamState> s = live(state_, "StreamReader", "read");
  if (n == 0) co_return std::string();
  if (n < 0) {  // to the end of the stream
    std::string all;
    for (;;) {
      if (s->size() > 0) all += s->take(s->size());
      if (s->error) std::rethrow_exception(s->error);
      if (s->eof) co_return all;
      s->before_wait("read");
      co_await detail::Wait(s->readable);
    }
  }
  while (s->size() == 0 && !s->eof) {
    if (s->error) std::rethrow_exception(s->error);
    s->before_wait("read");
    co_await detail::Wait(s->readable);
  }
  if (s->size() == 0 && s->error) std::rethrow_exception(s->error);
  co_return s->take(std::min(static_cast<std::size_t>(n), s->size()));
}

// ---- StreamWriter ---------------------------------------------------------------------------

StreamWriter::StreamWriter(std::shared_ptr<detail::StreamState> state) : state_(std::move(state)) {}

StreamWriter& StreamWriter::operator=(StreamWriter&& other) noexcept {
  if (this != &other) {
    if (state_) close();
    state_ = std::move(other.state_);
  }
  return *this;
}

StreamWriter::~StreamWriter() {
  if (state_) close();
}

void StreamWriter::write(std::string_view data) {
  const detail::StreamState& s = *live(state_, "StreamWriter", "write");
  if (s.transport != nullptr && !s.lost) s.transport->write(data);
}

void StreamWriter::writelines(const std::vector<std::string>& lines) {
  (void)live(state_, "StreamWriter", "writelines");  // also with no lines
  for (const std::string& line : lines) write(line);
}

void StreamWriter::write_eof() {
  const detail::StreamState& s = *live(state_, "StreamWriter", "write_eof");
  if (s.transport != nullptr && !s.lost) s.transport->lose_write_connection();
}

namespace {
[[noreturn]] void throw_lost(const detail::StreamState& s) {
  if (s.error) std::rethrow_exception(s.error);
  throw connection_reset_error(std::error_code(ECONNRESET, std::system_category()),
                               "drain to " + s.peer.to_string(), "Connection lost");
}
}  // namespace

namespace {
// drain() when it may have to wait or throw (`state` may be a moved-from writer's: none).
Task<> drain_slowly(std::shared_ptr<detail::StreamState> state) {
  const std::shared_ptr<detail::StreamState>& s = live(state, "StreamWriter", "drain");
  if (s->lost) throw_lost(*s);
  while (s->write_paused && !s->lost) co_await detail::Wait(s->drained);
  if (s->lost) throw_lost(*s);
}
}  // namespace

// Nearly every drain finds the buffer below its mark: that one is a finished task, no frame.
Task<> StreamWriter::drain() {
  if (state_ && !state_->lost && !state_->write_paused) return Task<>::finished();
  return drain_slowly(state_);
}

void StreamWriter::close() {
  const detail::StreamState& s = *live(state_, "StreamWriter", "close");
  if (s.transport != nullptr && !s.lost) s.transport->lose_connection();
}

void StreamWriter::abort() {
  const detail::StreamState& s = *live(state_, "StreamWriter", "abort");
  if (s.transport != nullptr && !s.lost) s.transport->abort_connection();
}

bool StreamWriter::is_closing() const {
  const detail::StreamState& s = *live(state_, "StreamWriter", "is_closing");
  return s.lost || s.transport == nullptr || s.transport->disconnecting();
}

Task<> StreamWriter::wait_closed() {
  std::shared_ptr<detail::StreamState> s = live(state_, "StreamWriter", "wait_closed");
  while (!s->lost && s->transport != nullptr) co_await detail::Wait(s->closed);
}

const Address& StreamWriter::peername() const {
  return live(state_, "StreamWriter", "peername")->peer;
}

Address StreamWriter::sockname() const {
  const detail::StreamState& s = *live(state_, "StreamWriter", "sockname");
  if (s.transport != nullptr && !s.lost) return s.transport->get_host();
  return s.host_after ? *s.host_after : Address();
}

Transport& StreamWriter::transport() const {
  const detail::StreamState& s = *live(state_, "StreamWriter", "transport");
  if (s.transport == nullptr || s.lost) {
    throw std::logic_error("StreamWriter::transport(): the connection is gone");
  }
  return *s.transport;
}

std::optional<PeerCertificate> StreamWriter::get_peer_certificate() const {
  const detail::StreamState& s = *live(state_, "StreamWriter", "get_peer_certificate");
  if (s.transport == nullptr || s.lost) return std::nullopt;
  return s.transport->get_peer_certificate();
}

// ---- the protocol ---------------------------------------------------------------------------

namespace detail {

StreamProtocol::~StreamProtocol() {
  state_->transport = nullptr;
  state_->lost = true;
}

void StreamProtocol::connection_made() {
  state_->transport = &transport();
  state_->peer = transport().get_peer();
}

void StreamProtocol::data_received(std::string_view data) { state_->feed(data); }

void StreamProtocol::read_connection_lost() {  // half-close: the writer goes on
  state_->eof = true;
  state_->readable.wake_all();
}

void StreamProtocol::connection_lost(const Reason& reason) {
  std::shared_ptr<StreamState> s = state_;
  s->host_after = std::make_unique<Address>(transport().get_host());
  if (!reason.clean && !s->error) {
    try {
      throw_os_error(reason.error != 0 ? reason.error : ECONNRESET,
                     "connection with " + s->peer.to_string());
    } catch (...) {
      s->error = std::current_exception();
    }
  }
  s->eof = true;
  s->lost = true;
  s->transport = nullptr;
  s->write_paused = false;
  s->readable.wake_all();
  s->drained.wake_all();
  s->closed.wake_all();
}

void StreamProtocol::pause_writing() { state_->write_paused = true; }

void StreamProtocol::resume_writing() {
  state_->write_paused = false;
  state_->drained.wake_all();
}

// ---- servers --------------------------------------------------------------------------------

/// A Server's shared part: what its factory and protocols reach through a weak pointer.
struct ServerCore {
  ServerCore(Reactor& r, StreamHandler h, std::size_t lim)
      : reactor(&r), handle(std::move(h)), limit(lim) {
    if (!handle) throw std::invalid_argument("start_server: no handler");
  }
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;
  ~ServerCore() = default;

  void start(const std::shared_ptr<StreamState>& state);
  void cancel_all();
  void report(const StreamWriter& writer);
  /// Removes the reactor's shutdown trigger (make_server_core's): once the server is closed
  /// and no handler is left for it to cancel, or when the Server is destroyed. Idempotent.
  void drop_trigger() {
    if (trigger) reactor->remove_shutdown_trigger(*std::exchange(trigger, std::nullopt));
  }
  void drop_trigger_when_done() {
    if (closed && tasks.empty()) drop_trigger();
  }

  Reactor* reactor;
  StreamHandler handle;
  std::size_t limit;
  std::vector<ListeningPort*> ports;
  std::vector<Address> addresses;
  std::unordered_map<TaskCore*, std::shared_ptr<TaskCore>> tasks;
  WaitList ended;  // the last handler ended
  bool closed = false;
  std::optional<TriggerId> trigger;  // the reactor's stop cancels the handlers (until closed)
  socketserver::detail::Reporter reporter;
};

namespace {

/// One connection's task: the handler, then the connection closed; an exception reported.
Task<> serve_connection(ServerCore* core, StreamReader reader, StreamWriter writer) {
  // Cancelled, or the frame freed: the connection is aborted (a peer that does not read must
  // not hold it); otherwise closed after what is queued.
  struct Closer {
    StreamWriter& writer;
    bool abort = true;
    explicit Closer(StreamWriter& w) : writer(w) {}
    Closer(const Closer&) = delete;
    Closer& operator=(const Closer&) = delete;
    ~Closer() {
      if (abort) {
        writer.abort();  // also a close() still waiting for its peer to read
      } else {
        writer.close();
      }
    }
  } closer(writer);
  try {
    co_await core->handle(reader, writer);
  } catch (const CancelledError&) {
    throw;
  } catch (...) {
    core->report(writer);
  }
  closer.abort = false;
}

class ServerProtocol : public StreamProtocol {
 public:
  ServerProtocol(std::weak_ptr<ServerCore> core, std::shared_ptr<StreamState> state)
      : StreamProtocol(std::move(state)), core_(std::move(core)) {}
  void connection_made() override {
    StreamProtocol::connection_made();
    std::shared_ptr<ServerCore> core = core_.lock();
    if (!core || core->closed) {
      transport().abort_connection();
      return;
    }
    core->start(this->state());
  }

 private:
  std::weak_ptr<ServerCore> core_;
};

class ServerFactory : public Factory {
 public:
  explicit ServerFactory(std::weak_ptr<ServerCore> core) : core_(std::move(core)) {}
  std::unique_ptr<Protocol> build_protocol(const Address& /*addr*/) override {
    std::shared_ptr<ServerCore> core = core_.lock();
    if (!core || core->closed) return nullptr;
    return std::make_unique<ServerProtocol>(core_, std::make_shared<StreamState>(core->limit));
  }

 private:
  std::weak_ptr<ServerCore> core_;
};

}  // namespace

void ServerCore::start(const std::shared_ptr<StreamState>& state) {
  TaskHandle<> task =
      create_task(*reactor, serve_connection(this, StreamReader(state), StreamWriter(state)));
  if (task.done()) return;
  TaskCore* key = task.state().get();
  tasks.emplace(key, task.state());
  task.state()->on_done = [this](TaskCore& c) {
    tasks.erase(&c);
    if (tasks.empty()) {
      drop_trigger_when_done();  // before wait_closed() resumes: closed means gone
      ended.wake_all();
    }
  };
}

void ServerCore::cancel_all() {
  std::vector<std::shared_ptr<TaskCore>> running;
  running.reserve(tasks.size());
  for (auto& entry : tasks) running.push_back(entry.second);
  for (auto& t : running) {
    try {
      t->cancel();
    } catch (...) {  // NOLINT(bugprone-empty-catch): the task ends with it, stored
    }
  }
}

void ServerCore::report(const StreamWriter& writer) {
  socketserver::detail::report_exception_line(
      reporter,
      "Exception in the handler of the connection from " + writer.peername().to_string() + ": ");
}

std::shared_ptr<ServerCore> make_server_core(Reactor& reactor, StreamHandler handle,
                                             std::size_t limit) {
  auto core = std::make_shared<ServerCore>(reactor, std::move(handle), limit);
  std::weak_ptr<ServerCore> weak = core;
  core->trigger = reactor.add_shutdown_trigger("before", [weak] {
    if (std::shared_ptr<ServerCore> c = weak.lock()) c->cancel_all();
  });
  return core;
}

}  // namespace detail

// ---- Server ---------------------------------------------------------------------------------

Server& Server::operator=(Server&& other) noexcept {
  if (this != &other) {
    Server old(std::move(*this));
    core_ = std::move(other.core_);
  }
  return *this;
}

Server::~Server() {
  if (!core_) return;
  close();
  // A handler that caught CancelledError and waits again: its frame is freed now.
  std::vector<std::shared_ptr<detail::TaskCore>> left;
  for (auto& entry : core_->tasks) left.push_back(entry.second);
  for (auto& t : left) t->destroy_frame();
  core_->drop_trigger();
}

void Server::close() {
  if (!core_) return;
  if (!core_->closed) {
    core_->closed = true;
    std::vector<ListeningPort*> ports = std::exchange(core_->ports, {});
    for (ListeningPort* p : ports) p->stop_listening();
  }
  core_->cancel_all();
  core_->drop_trigger_when_done();  // else once the last handler has ended
}

Task<> Server::wait_closed() {
  std::shared_ptr<detail::ServerCore> core = core_;
  if (!core) co_return;
  while (!core->tasks.empty()) co_await detail::Wait(core->ended);
}

bool Server::is_serving() const noexcept { return core_ && !core_->closed; }

std::vector<Address> Server::sockets() const {
  if (!core_ || core_->closed) return {};
  return core_->addresses;
}

Address Server::address() const {
  if (!core_ || core_->addresses.empty()) return Address();
  return core_->addresses.front();
}

std::size_t Server::active_handlers() const noexcept { return core_ ? core_->tasks.size() : 0; }

Server detail::serve(Reactor& reactor, StreamHandler handle, std::size_t limit,
                     const std::function<ListeningPort&(std::shared_ptr<Factory>)>& listen) {
  std::shared_ptr<detail::ServerCore> core =
      detail::make_server_core(reactor, std::move(handle), limit);
  ListeningPort& p = listen(std::make_shared<detail::ServerFactory>(core));
  core->ports.push_back(&p);
  core->addresses.push_back(p.get_host());
  return Server(std::move(core));
}

ServerGroup detail::serve_group(ReactorGroup& group, int port,
                                const std::function<Server(Reactor&, int)>& start) {
  std::vector<Server> servers(group.size());
  std::mutex mu;  // the first to bind fixes the port for the others
  try {
    group.call_in_each([&](Reactor& reactor, std::size_t i) {
      std::lock_guard<std::mutex> lock(mu);
      Server s = start(reactor, port);
      port = s.address().port();
      servers[i] = std::move(s);
    });
  } catch (...) {
    ServerGroup made(group, std::move(servers));  // closes those made, each in its thread
    throw;
  }
  return ServerGroup(group, std::move(servers));
}

Server start_server(Reactor& reactor, StreamHandler handle, const std::string& host, int port,
                    ListenOptions options, std::size_t limit) {
  options.interface = host;
  return detail::serve(
      reactor, std::move(handle), limit, [&](std::shared_ptr<Factory> f) -> auto& {
        return reactor.listen_tcp(port, std::move(f), options);
      });
}

Server start_unix_server(Reactor& reactor, StreamHandler handle, const Address& path,
                         ListenOptions options, std::size_t limit) {
  return detail::serve(
      reactor, std::move(handle), limit, [&](std::shared_ptr<Factory> f) -> auto& {
        return reactor.listen_unix(path, std::move(f), options);
      });
}

ServerGroup start_server(ReactorGroup& group, StreamHandler handle, const std::string& host,
                         int port, ListenOptions options, std::size_t limit) {
  options.reuse_port = true;
  return detail::serve_group(group, port, [&](Reactor& reactor, int p) {
    return start_server(reactor, handle, host, p, options, limit);
  });
}

// ---- ServerGroup ----------------------------------------------------------------------------

ServerGroup& ServerGroup::operator=(ServerGroup&& other) noexcept {
  if (this != &other) {
    ServerGroup old(std::move(*this));
    group_ = std::exchange(other.group_, nullptr);
    servers_ = std::move(other.servers_);
  }
  return *this;
}

ServerGroup::~ServerGroup() {
  try {
    close();
  } catch (...) {  // only from a misuse (called from one of the group's threads): leave as is
  }
}

void ServerGroup::close() {
  if (group_ == nullptr || servers_.empty()) return;
  // Each Server is closed and destroyed (its handlers' frames freed) in its reactor's thread.
  group_->call_in_each([this](Reactor& /*reactor*/, std::size_t i) {
    if (i < servers_.size()) servers_[i] = Server();
  });
  servers_.clear();
}

Address ServerGroup::address() const {
  for (const Server& s : servers_) {
    Address a = s.address();
    if (a.family() != 0) return a;
  }
  return Address();
}

// ---- StandardInput ----------------------------------------------------------------------------

std::shared_ptr<detail::StreamState> detail::make_stream_state(std::size_t limit) {
  return std::make_shared<detail::StreamState>(limit);
}

StandardInput::StandardInput(Reactor& reactor, std::size_t limit, int stdin_fd)
    : reader_(detail::make_stream_state(limit)) {
  std::shared_ptr<detail::StreamState> state = reader_.state_;
  io_ = std::make_unique<StandardIO>(std::make_unique<detail::StreamProtocol>(state), reactor,
                                     stdin_fd);
}

StandardInput::~StandardInput() = default;

// ---- open_connection ------------------------------------------------------------------------

Task<StreamPair> detail::finish_connect(Connector& connector,
                                        std::shared_ptr<PendingConnect> pending,
                                        std::shared_ptr<StreamState> state, std::string to) {
  // Cancelled (or the frame freed) before the connect ended: the attempt is given up.
  struct GiveUp {
    Connector& connector;
    bool armed = true;
    explicit GiveUp(Connector& c) : connector(c) {}
    GiveUp(const GiveUp&) = delete;
    GiveUp& operator=(const GiveUp&) = delete;
    ~GiveUp() {
      if (armed) connector.disconnect();
    }
  } give_up(connector);
  while (!pending->done) co_await detail::Wait(pending->list);
  give_up.armed = false;
  if (pending->failed) {
    const Reason& why = *pending->failed;
    if (pending->throw_handshake_failure != nullptr && why.error == 0) {
      pending->throw_handshake_failure(why.message, to);
    }
    throw_os_error(why.error != 0 ? why.error : ECONNREFUSED, "connect to " + to);
  }
  co_return StreamPair{StreamReader(state), StreamWriter(state)};
}

namespace {

template <class Connect>
Task<StreamPair> connect_streams(std::size_t limit, std::string to, Connect connect) {
  auto state = std::make_shared<detail::StreamState>(limit);
  auto pending = std::make_shared<detail::PendingConnect>();
  Connector& connector = connect(
      std::make_unique<detail::StreamProtocol>(state),
      [pending](detail::StreamProtocol&) {
        pending->done = true;
        pending->list.wake_all();
      },
      [pending](const Reason& reason) {
        pending->done = true;
        pending->failed = reason;
        pending->list.wake_all();
      });
  ReactorImpl::release_when_finished(connector);  // no one else holds it
  return detail::finish_connect(connector, std::move(pending), std::move(state), std::move(to));
}

}  // namespace

Task<StreamPair> open_connection(Reactor& reactor, std::string host, int port, std::size_t limit) {
  const std::string to = host + ":" + std::to_string(port);
  co_return co_await connect_streams(
      limit, to,
      [&reactor, &host, port](std::unique_ptr<detail::StreamProtocol> protocol,
                              std::function<void(detail::StreamProtocol&)> connected,
                              std::function<void(const Reason&)> failed) -> Connector& {
        return reactor.connect_protocol<detail::StreamProtocol>(
            host, port, std::move(protocol), std::move(connected), std::move(failed));
      });
}

Task<StreamPair> open_unix_connection(Reactor& reactor, Address path, std::size_t limit) {
  co_return co_await connect_streams(
      limit, path.to_string(),
      [&reactor, &path](std::unique_ptr<detail::StreamProtocol> protocol,
                        std::function<void(detail::StreamProtocol&)> connected,
                        std::function<void(const Reason&)> failed) -> Connector& {
        return reactor.connect_protocol<detail::StreamProtocol>(
            path, std::move(protocol), std::move(connected), std::move(failed));
      });
}

}  // namespace socketserver::asyncio
