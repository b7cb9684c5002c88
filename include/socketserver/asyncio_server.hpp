// clang-format off
// asyncio_server.hpp — the socketserver face of the coroutine streams: a handler class whose
// handle() is a coroutine, served by a server with Python's socketserver names, thousands of
// connections on one loop.
//
//   Python (socketserver names, asyncio inside)      C++ (namespace socketserver::asyncio)
//   class H(StreamRequestHandler):                    struct H : AsyncStreamRequestHandler {
//                                                       using AsyncStreamRequestHandler::AsyncStreamRequestHandler;
//       async def handle(self):                         Task<> handle() override {
//           line = await self.rfile.readline()            std::string line = co_await rfile.readline();
//           self.wfile.write(line)                        wfile.write(line);
//           await self.wfile.drain()                      co_await wfile.drain();
//                                                       }
//                                                     };
//   server = TCPServer(ADDR, H)                       AsyncTCPServer server(ADDR, async_handler<H>());
//   server.serve_forever()                            server.serve_forever();
//   server.shutdown()  # another thread               server.shutdown();
// clang-format on
//
// The request path: a connection is accepted by the server's own Reactor, verify_request
// decides (false: it is closed), then a handler object is made and its handle() runs as a task
// of its own; an exception escaping it goes to handle_error (one line on stderr) and ends that
// connection only. shutdown() stops serve_forever: every handler is cancelled at its current
// await (CancelledError), its connection closed, and serve_forever returns.
//
// Thread-safety: serve_forever runs the loop in the calling thread; shutdown() may be called
// from any thread (it waits until the loop has stopped; from a handler, before the loop starts
// or after it stopped, it requests the stop and returns). Everything else — and the handlers —
// belong to the loop's thread (or to the time when it does not run).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

#include "socketserver/address.hpp"
#include "socketserver/asyncio.hpp"
#include "socketserver/asyncio_streams.hpp"
#include "socketserver/detail/serve_gate.hpp"
#include "socketserver/reactor.hpp"

namespace socketserver::detail {
class Reporter;
}  // namespace socketserver::detail

namespace socketserver::asyncio {

class AsyncStreamServer;

/// Python's StreamRequestHandler with a coroutine handle(): one object per connection, alive
/// while handle() runs. rfile and wfile are the connection's reader and writer.
class AsyncStreamRequestHandler {
 public:
  AsyncStreamRequestHandler(StreamReader& rfile, StreamWriter& wfile, const Address& client_address,
                            AsyncStreamServer& server);
  AsyncStreamRequestHandler(const AsyncStreamRequestHandler&) = delete;
  AsyncStreamRequestHandler& operator=(const AsyncStreamRequestHandler&) = delete;
  virtual ~AsyncStreamRequestHandler() = default;

  /// Serves the connection. Override this. The connection is closed when it returns.
  virtual Task<> handle();

  StreamReader& rfile;            ///< Python's self.rfile
  StreamWriter& wfile;            ///< Python's self.wfile (with drain())
  const Address& client_address;  ///< Python's self.client_address
  AsyncStreamServer& server;      ///< Python's self.server
  /// How long handle() may take in all, however the client trickles (no Python twin; as the
  /// blocking handlers' request_timeout): then it is cancelled at its current await, its
  /// connection closed, and handle_error reports timeout_error. From the server's
  /// (AsyncServerOptions::request_timeout); a handler may set its own in its constructor.
  /// nullopt: none. Zero, negative or NaN: std::invalid_argument for that request only.
  Timeout request_timeout;
};

/// Makes the handler object of a connection (Python's RequestHandlerClass).
using AsyncHandlerClass = std::function<std::unique_ptr<AsyncStreamRequestHandler>(
    StreamReader&, StreamWriter&, const Address&, AsyncStreamServer&)>;

/// The handler class H (constructible as AsyncStreamRequestHandler).
template <class H>
AsyncHandlerClass async_handler() {
  static_assert(std::is_base_of_v<AsyncStreamRequestHandler, H>,
                "async_handler<H>(): H must derive from AsyncStreamRequestHandler");
  return [](StreamReader& r, StreamWriter& w, const Address& a,
            AsyncStreamServer& s) -> std::unique_ptr<AsyncStreamRequestHandler> {
    return std::make_unique<H>(r, w, a, s);
  };
}

/// A one-function handler: `async_handler([](AsyncStreamRequestHandler& self) -> Task<> {...})`.
AsyncHandlerClass async_handler(std::function<Task<>(AsyncStreamRequestHandler&)> fn);

/// The server's class attributes, set at construction.
struct AsyncServerOptions {
  int request_queue_size = SOMAXCONN;  ///< listen backlog
  /// A connection that sends nothing for this long is closed; its handler's pending read
  /// raises timeout_error (ListenOptions::idle_timeout). nullopt: never.
  Timeout idle_timeout{};
  /// Each handler's request_timeout: the whole of handle() (a client that trickles a byte now
  /// and then never meets idle_timeout). nullopt: none.
  Timeout request_timeout{};
  std::size_t limit = StreamReader::default_limit;  ///< each rfile's limit
  /// AsyncTCPServer over TLS (start_server with ssl): a PROTOCOL_TLS_SERVER context with a
  /// certificate; handle() reads and writes plaintext, wfile.get_peer_certificate() gives the
  /// client's. nullptr (default): plain. AsyncUnixStreamServer throws std::invalid_argument.
  std::shared_ptr<const SSLContext> ssl{};
  /// With ssl: how long a client may take to complete its handshake (as ListenOptions's).
  Timeout handshake_timeout = std::chrono::duration<double>(10);
};

/// What AsyncTCPServer and AsyncUnixStreamServer share: the loop, shutdown and the hooks.
class AsyncStreamServer {
 public:
  AsyncStreamServer(const AsyncStreamServer&) = delete;
  AsyncStreamServer& operator=(const AsyncStreamServer&) = delete;
  virtual ~AsyncStreamServer();

  /// Python's serve_forever(): runs the server's reactor until shutdown(); then every handler
  /// is cancelled and its connection closed. Returns at once when shutdown() came first.
  void serve_forever();
  /// Python's shutdown(): stops serve_forever. Thread-safe; from another thread it waits until
  /// the loop has stopped.
  void shutdown();
  /// Python's server_close(): stops listening, cancels and frees what handlers are left.
  /// Idempotent. Not while serve_forever runs in another thread.
  virtual void server_close();
  /// Python's verify_request(request, client_address): false closes the connection at once,
  /// before any handler. Default: true. An exception goes to handle_error (and closes it).
  virtual bool verify_request(StreamWriter& request, const Address& client_address);
  /// Python's handle_error(request, client_address), called inside the catch block: one line
  /// on stderr (rate-limited for the everyday failures: resets, timeouts, too long lines).
  virtual void handle_error(StreamWriter& request, const Address& client_address);

  /// Python's server_address: the bound address (the real port when 0 was asked).
  [[nodiscard]] const Address& server_address() const noexcept { return server_address_; }
  /// The server's reactor (for timers, outgoing connections... from the handlers).
  [[nodiscard]] Reactor& reactor() noexcept { return reactor_; }
  /// Handlers running now (loop thread).
  [[nodiscard]] std::size_t active_handlers() const noexcept { return server_.active_handlers(); }
  /// Connections refused by verify_request (any thread).
  [[nodiscard]] std::size_t refused() const noexcept { return refused_.load(); }
  /// AsyncServerOptions::request_timeout: what each new handler's request_timeout starts as.
  [[nodiscard]] const Timeout& request_timeout() const noexcept { return request_timeout_; }

 protected:
  /// Binds and listens on `address` (TCP when unix_socket is false).
  AsyncStreamServer(const Address& address, AsyncHandlerClass handler_class,
                    const AsyncServerOptions& options, bool unix_socket);

 private:
  Task<> serve_one(StreamReader& reader, StreamWriter& writer);
  Reactor reactor_;
  AsyncHandlerClass handler_class_;
  Address server_address_;
  Server server_;  // after reactor_: destroyed first
  std::unique_ptr<socketserver::detail::Reporter> reporter_;
  socketserver::detail::ServeGate gate_;  // serving, the stop request, shutdown()'s wait
  std::atomic<std::size_t> refused_{0};
  Timeout request_timeout_;
};

/// Python's TCPServer(server_address, RequestHandlerClass), with coroutine handlers.
class AsyncTCPServer : public AsyncStreamServer {
 public:
  AsyncTCPServer(const Address& server_address, AsyncHandlerClass handler_class,
                 const AsyncServerOptions& options = {})
      : AsyncStreamServer(server_address, std::move(handler_class), options, false) {}
};

/// Python's UnixStreamServer(path, RequestHandlerClass), with coroutine handlers. The socket
/// file is removed when the server stops listening.
class AsyncUnixStreamServer : public AsyncStreamServer {
 public:
  AsyncUnixStreamServer(const Address& server_address, AsyncHandlerClass handler_class,
                        const AsyncServerOptions& options = {})
      : AsyncStreamServer(server_address, std::move(handler_class), options, true) {}
};

}  // namespace socketserver::asyncio
