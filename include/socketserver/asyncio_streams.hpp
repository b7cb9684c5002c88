// clang-format off
// asyncio_streams.hpp — Python's asyncio streams on the reactor: a connection read and written
// top to bottom by a coroutine, thousands of them on one loop.
//
//   Python                                          C++ (namespace socketserver::asyncio)
//   async def handle(reader, writer):               Task<> handle(StreamReader& reader, StreamWriter& writer) {
//       line = await reader.readline()                  std::string line = co_await reader.readline();
//       writer.write(line)                              writer.write(line);
//       await writer.drain()                            co_await writer.drain();
//   server = await asyncio.start_server(             Server server = start_server(reactor, handle,
//       handle, "127.0.0.1", 8888)                                                 "127.0.0.1", 8888);
//   r, w = await asyncio.open_connection(h, p)       auto [r, w] = co_await open_connection(reactor, h, p);
//   data = await r.readexactly(4)                    std::string data = co_await r.readexactly(4);
//   w.close(); await w.wait_closed()                 w.close(); co_await w.wait_closed();
// clang-format on
//
// A StreamReader is fed by a reactor Protocol. Memory is bounded by the reader's limit (64 KiB
// by default, as Python's): past twice the limit of unread bytes the transport stops reading
// from the peer (pause_producing) until the handler has read them down to the limit. A writer
// never blocks on write(); `co_await writer.drain()` suspends while the transport's write
// buffer is above its high-water mark (set_write_buffer_limits) and resumes below the low one,
// so a peer that does not read holds a handler at drain, not unbounded memory.
//
// Errors: a connection reset (or aborted, timed out by ListenOptions::idle_timeout) while a
// read or drain waits raises the library's exception for it (connection_reset_error,
// connection_aborted_error, timeout_error; errors.hpp). The end of the stream is not an error
// for readline/read; readexactly and readuntil raise IncompleteReadError.
//
// Servers: start_server runs `handle(reader, writer)` as a task of its own for each
// connection; the server owns those tasks. An exception escaping a handler is reported on
// stderr in one line (the peer and the exception) and ends that connection only. Server::close
// (and the reactor's stop, and the Server's destruction) cancels every handler at the await it
// is parked on (CancelledError); no handler frame outlives its Server. A Server must be
// destroyed before its Reactor.
//
// Differences from Python, each deliberate:
//   - start_server is a plain call (listening does not wait), not a coroutine.
//   - readline raises LimitOverrunError (after discarding, as Python) where Python raises
//     ValueError; LimitOverrunError is a line_too_long_error, so servers report it as such.
//   - Server::close also cancels the handlers (Python 3.13's close_clients, with an abort).
//   - drain() looks at the write buffer when it is called, not when it is awaited: when
//     nothing needs to wait it returns a task that has already ended (no coroutine frame, the
//     common case made cheap). Await it where you call it (`co_await writer.drain()`), as
//     everyone does; a drain() kept to be awaited after more writes does not wait for them.
//
// Thread-safety: as the reactor's — everything here belongs to the reactor's thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "socketserver/address.hpp"
#include "socketserver/asyncio.hpp"
#include "socketserver/errors.hpp"
#include "socketserver/reactor.hpp"
#include "socketserver/ssl.hpp"

namespace socketserver::asyncio {

/// Python's asyncio.IncompleteReadError: the stream ended before readexactly(n) had n bytes
/// (expected = n) or before readuntil found its separator (expected = nullopt). `partial` holds
/// the bytes read before the end (consumed from the stream).
class IncompleteReadError : public std::runtime_error {
 public:
  IncompleteReadError(std::string partial_bytes, std::optional<std::size_t> expected_bytes);
  std::string partial;
  std::optional<std::size_t> expected;
};

/// Python's asyncio.LimitOverrunError: readuntil found no separator within the reader's limit.
/// `consumed` is how many bytes were looked at (left in the stream by readuntil).
class LimitOverrunError : public line_too_long_error {
 public:
  LimitOverrunError(const std::string& message, std::size_t consumed_bytes, std::size_t limit);
  std::size_t consumed;
};

namespace detail {
struct StreamState;
}  // namespace detail

/// Python's asyncio.StreamReader. Move-only: every member of a moved-from reader throws
/// std::logic_error (a read's when awaited). One read waits at a time (a second concurrent
/// read throws std::logic_error, as Python's RuntimeError).
class StreamReader {
 public:
  /// Python's _DEFAULT_LIMIT: 64 KiB.
  static constexpr std::size_t default_limit = 64 * 1024;

  /// A reader fed by hand (feed_data/feed_eof), e.g. in a test.
  explicit StreamReader(std::size_t limit = default_limit);
  explicit StreamReader(std::shared_ptr<detail::StreamState> state);
  StreamReader(StreamReader&&) noexcept = default;
  StreamReader& operator=(StreamReader&&) noexcept = default;
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;
  ~StreamReader() = default;

  /// Python's readline(): up to and including "\n"; at the end of the stream what is left
  /// (possibly ""). A line longer than the limit is discarded and LimitOverrunError thrown.
  Task<std::string> readline();
  /// Python's readuntil(separator): up to and including `separator`. Throws
  /// IncompleteReadError at the end of the stream (partial: what was left), LimitOverrunError
  /// when the separator is not within the limit (the bytes stay in the stream),
  /// std::invalid_argument for an empty separator.
  Task<std::string> readuntil(std::string separator = "\n");
  /// Python's readexactly(n): exactly n bytes, or IncompleteReadError at the end of the stream.
  Task<std::string> readexactly(std::size_t n);
  /// Python's read(n): up to n bytes (at least one unless at the end); n = -1: everything up
  /// to the end of the stream.
  Task<std::string> read(std::ptrdiff_t n = -1);
  /// Python's at_eof(): the stream ended and every byte has been read.
  [[nodiscard]] bool at_eof() const;

  /// Python's feed_data / feed_eof (what the protocol calls).
  void feed_data(std::string_view data);
  void feed_eof();
  /// Python's exception(): the error the connection ended with (nullptr: none).
  [[nodiscard]] std::exception_ptr exception() const;
  [[nodiscard]] std::size_t limit() const;
  /// Bytes received and not yet read.
  [[nodiscard]] std::size_t buffered() const;

 private:
  friend class StandardInput;
  std::shared_ptr<detail::StreamState> state_;
};

/// Python's asyncio.StreamWriter. Move-only: every member of a moved-from writer throws
/// std::logic_error (drain's and wait_closed's when awaited); destroying one closes the
/// connection when it is still open (Python 3.13's __del__), a moved-from one nothing.
class StreamWriter {
 public:
  explicit StreamWriter(std::shared_ptr<detail::StreamState> state);
  StreamWriter(StreamWriter&&) noexcept = default;
  StreamWriter& operator=(StreamWriter&& other) noexcept;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;
  ~StreamWriter();

  /// Python's write(data): queued, never blocks. Ignored once the connection is gone.
  void write(std::string_view data);
  /// Python's writelines(lines).
  void writelines(const std::vector<std::string>& lines);
  /// Python's write_eof(): half-close after what is queued.
  void write_eof();
  [[nodiscard]] static bool can_write_eof() noexcept { return true; }
  /// Python's drain(): suspends while the write buffer is above its high-water mark, until it
  /// drains below the low one. Throws the connection's error (connection_reset_error, ...) or
  /// connection_reset_error("Connection lost") once the connection is gone. Whether it waits
  /// is decided here, at the call (see the differences from Python above).
  Task<> drain();
  /// Python's close(): closes after sending what is queued.
  void close();
  /// Python's transport.abort(): closes at once, dropping what is queued (also after close(),
  /// while that close still waits for a peer to read). Nothing once the connection is gone.
  void abort();
  /// Python's is_closing().
  [[nodiscard]] bool is_closing() const;
  /// Python's wait_closed(): until the connection is gone.
  Task<> wait_closed();
  /// get_extra_info("peername") / ("sockname"), kept after the close.
  [[nodiscard]] const Address& peername() const;
  [[nodiscard]] Address sockname() const;
  /// Python's writer.transport: throws std::logic_error once the connection is gone.
  [[nodiscard]] Transport& transport() const;
  /// get_extra_info("peercert"): the peer's certificate on a TLS connection (start_server or
  /// open_connection with an SSLContext); nullopt on a plain one, when the peer sent none, or
  /// once the connection is gone.
  [[nodiscard]] std::optional<PeerCertificate> get_peer_certificate() const;

 private:
  std::shared_ptr<detail::StreamState> state_;
};

namespace detail {
/// The protocol between a reactor connection and its reader and writer.
class StreamProtocol : public Protocol {
 public:
  explicit StreamProtocol(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}
  ~StreamProtocol() override;
  StreamProtocol(const StreamProtocol&) = delete;
  StreamProtocol& operator=(const StreamProtocol&) = delete;
  void connection_made() override;
  void data_received(std::string_view data) override;
  void read_connection_lost() override;
  void connection_lost(const Reason& reason) override;
  void pause_writing() override;
  void resume_writing() override;
  [[nodiscard]] const std::shared_ptr<StreamState>& state() const noexcept { return state_; }

 private:
  std::shared_ptr<StreamState> state_;
};
struct ServerCore;
}  // namespace detail

/// Python's `await loop.connect_read_pipe(lambda: StreamReaderProtocol(reader), sys.stdin)`:
/// standard input as a StreamReader that the loop reads without blocking (StandardIO
/// underneath, so one per process), for a client that reads the keyboard and a connection at
/// once. `co_await input.reader().readline()` gives "" at the end of input.
class StandardInput {
 public:
  explicit StandardInput(Reactor& reactor, std::size_t limit = StreamReader::default_limit,
                         int stdin_fd = 0);
  ~StandardInput();
  StandardInput(const StandardInput&) = delete;
  StandardInput& operator=(const StandardInput&) = delete;
  [[nodiscard]] StreamReader& reader() noexcept { return reader_; }

 private:
  StreamReader reader_;
  std::unique_ptr<StandardIO> io_;
};

/// start_server's handler: called with the connection's reader and writer, run as a task.
using StreamHandler = std::function<Task<>(StreamReader&, StreamWriter&)>;

/// Python's asyncio.Server (from start_server). Move-only; destroying it closes it and frees
/// every handler frame left.
class Server {
 public:
  Server() = default;
  explicit Server(std::shared_ptr<detail::ServerCore> core) : core_(std::move(core)) {}
  Server(Server&&) noexcept = default;
  Server& operator=(Server&& other) noexcept;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  /// Stops listening and cancels every handler (CancelledError at its await; its connection
  /// is aborted). Idempotent. The reactor's shutdown trigger that start_server added for this
  /// server (its stop cancels the handlers) is removed once no handler is left.
  void close();
  /// Until every handler task has ended (a handler that catches CancelledError and waits on
  /// is waited for).
  Task<> wait_closed();
  /// Python's is_serving().
  [[nodiscard]] bool is_serving() const noexcept;
  /// The listening addresses (Python's [s.getsockname() for s in server.sockets]).
  [[nodiscard]] std::vector<Address> sockets() const;
  /// The first one (the real port when 0 was asked).
  [[nodiscard]] Address address() const;
  /// Handler tasks running now.
  [[nodiscard]] std::size_t active_handlers() const noexcept;

 private:
  std::shared_ptr<detail::ServerCore> core_;
};

/// Python's asyncio.start_server(handle, host, port): listens on host:port ("" = every
/// interface; port 0: a free one, see address()) and runs handle(reader, writer) for each
/// connection. `options` as listen_tcp's (its interface is replaced by `host`); `limit` is each
/// reader's. Throws as listen_tcp.
Server start_server(Reactor& reactor, StreamHandler handle, const std::string& host, int port,
                    ListenOptions options = {}, std::size_t limit = StreamReader::default_limit);
/// Python's asyncio.start_server(handle, host, port, ssl=context): the same over TLS
/// (Reactor::listen_ssl; `ssl` a PROTOCOL_TLS_SERVER context with a certificate, copied). The
/// handshake runs in the loop, bounded by options.handshake_timeout; a handler starts only once
/// it has completed and reads and writes plaintext. A failed or timed-out handshake is one
/// line on stderr and closes that connection only. Throws as listen_ssl.
Server start_server(Reactor& reactor, StreamHandler handle, const std::string& host, int port,
                    const SSLContext& ssl, ListenOptions options = {},
                    std::size_t limit = StreamReader::default_limit);
/// start_server on every reactor of a ReactorGroup (Python has none: one asyncio loop is one
/// thread): one listening socket per reactor on the same port (SO_REUSEPORT; the kernel spreads
/// the connections), the same handler on each. A connection, its reader and writer, and its
/// handler's coroutine stay in the thread of the reactor that accepted it, from the first await
/// to the last; handlers on different reactors run at the same time, so what they share needs
/// a lock (or an atomic). Destroy (or close) it before the ReactorGroup.
class ServerGroup {
 public:
  ServerGroup() = default;
  ServerGroup(ReactorGroup& group, std::vector<Server> servers)
      : group_(&group), servers_(std::move(servers)) {}
  ServerGroup(ServerGroup&&) noexcept = default;
  ServerGroup& operator=(ServerGroup&& other) noexcept;
  ServerGroup(const ServerGroup&) = delete;
  ServerGroup& operator=(const ServerGroup&) = delete;
  ~ServerGroup();

  /// Closes every reactor's Server in that reactor's thread (ReactorGroup::call_in_each: not
  /// from one of the group's threads) and frees its handlers' frames; returns when all have.
  /// Idempotent.
  void close();
  /// The address every reactor listens on (the real port when 0 was asked).
  [[nodiscard]] Address address() const;
  /// The Server of reactor i (use it in that reactor's thread).
  [[nodiscard]] Server& server(std::size_t i) { return servers_.at(i); }
  [[nodiscard]] std::size_t size() const noexcept { return servers_.size(); }

 private:
  ReactorGroup* group_ = nullptr;
  std::vector<Server> servers_;  // servers_[i] belongs to group_->reactor(i)
};

/// start_server(reactor, ...) in each reactor's thread of `group` (started or not; see
/// ReactorGroup::call_in_each), with options.reuse_port: the first reactor binds `port` (0: a
/// free one), the others the same. Throws as start_server; then none listens.
ServerGroup start_server(ReactorGroup& group, StreamHandler handle, const std::string& host,
                         int port, ListenOptions options = {},
                         std::size_t limit = StreamReader::default_limit);
/// The same over TLS (`ssl` a PROTOCOL_TLS_SERVER context with a certificate, shared).
ServerGroup start_server(ReactorGroup& group, StreamHandler handle, const std::string& host,
                         int port, const SSLContext& ssl, ListenOptions options = {},
                         std::size_t limit = StreamReader::default_limit);
/// Python's asyncio.start_unix_server(handle, path).
Server start_unix_server(Reactor& reactor, StreamHandler handle, const Address& path,
                         ListenOptions options = {},
                         std::size_t limit = StreamReader::default_limit);

/// The pair open_connection gives (Python's (reader, writer) tuple).
struct StreamPair {
  StreamReader reader;
  StreamWriter writer;
};

/// Python's asyncio.open_connection(host, port): connects (without blocking the loop) and
/// gives the reader and writer. Throws connection_refused_error and the like (errors.hpp)
/// when no connection is made. Must be awaited from a task.
Task<StreamPair> open_connection(Reactor& reactor, std::string host, int port,
                                 std::size_t limit = StreamReader::default_limit);
/// Python's asyncio.open_connection(host, port, ssl=context, server_hostname=name): the same,
/// then a TLS handshake (Reactor::connect_ssl; `ssl` a PROTOCOL_TLS_CLIENT context) that checks
/// the server's certificate for `server_hostname` ("" = `host`). The pair is given once the
/// handshake has completed. Throws cert_verification_error when the certificate does not
/// verify (its verify_message() is OpenSSL's text; verify_code() is -1: the reactor reports
/// the text only), ssl_error for another handshake failure, and as open_connection.
Task<StreamPair> open_connection(Reactor& reactor, std::string host, int port, SSLContext ssl,
                                 std::string server_hostname = "",
                                 std::size_t limit = StreamReader::default_limit);
/// Python's asyncio.open_unix_connection(path).
Task<StreamPair> open_unix_connection(Reactor& reactor, Address path,
                                      std::size_t limit = StreamReader::default_limit);

}  // namespace socketserver::asyncio
