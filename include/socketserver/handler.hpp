// clang-format off
// handler.hpp — Python's request handlers: one object per request, setup() -> handle() -> finish().
//
//   Python                                          C++
//   class H(socketserver.StreamRequestHandler):     struct H : ss::StreamRequestHandler {
//                                                     using StreamRequestHandler::StreamRequestHandler;
//       def handle(self):                             void handle() override {
//           line = self.rfile.readline()                std::string line = rfile.readline();
//           self.wfile.write(line)                      wfile.write(line);
//                                                     }
//                                                   };
//   TCPServer(ADDR, H)                              TCPServer server(ADDR, ss::handler<H>());
//   (a one-method handler)                          TCPServer server(ADDR, ss::handler(
//                                                       [](ss::StreamRequestHandler& self) {...}));
// clang-format on
//
// Python's class attributes (rbufsize, wbufsize, timeout, disable_nagle_algorithm) are plain
// members: give them values in your constructor or at the top of your setup() override before
// calling the base setup(). So are idle_timeout and request_timeout (no Python twin), which
// start as the server's.
//
// Thread-safety: a handler runs in one thread (the loop's, or its own under ThreadingMixIn).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "socketserver/server.hpp"
#include "socketserver/stream.hpp"

namespace socketserver {

namespace detail {
/// Throws std::logic_error: "server_as<Wanted>(): this handler's server is a Actual".
[[noreturn]] void throw_not_a(const BaseServer& server, const std::type_info& wanted);
}  // namespace detail

/// Python's BaseRequestHandler. run() is Python's __init__: setup(), handle(), then finish()
/// even when handle() throws (the exception then goes on to the server's handle_error).
class BaseRequestHandler {
 public:
  BaseRequestHandler(Request& request, const Address& client_address, BaseServer& server)
      : request(request),
        client_address(client_address),
        server(server),
        idle_timeout(server.idle_timeout),
        request_timeout(server.request_timeout) {}
  BaseRequestHandler(const BaseRequestHandler&) = delete;
  BaseRequestHandler& operator=(const BaseRequestHandler&) = delete;
  virtual ~BaseRequestHandler() = default;

  /// Called before handle(): prepares the request (streams: rfile and wfile).
  virtual void setup() {}
  /// Serves the request. Override this.
  virtual void handle() {}
  /// Called after handle(), also when it threw (streams: flush wfile).
  virtual void finish() {}
  /// setup(); handle(); finish() — finish() runs even when handle() throws. Between setup()
  /// and handle(), a stream request's idle_timeout and request_timeout take effect; a request
  /// whose request_timeout ran out throws timeout_error (after finish()), also when handle()
  /// returned normally after seeing the end of input the deadline caused.
  void run();

  Request& request;               ///< Python's self.request
  const Address& client_address;  ///< Python's self.client_address
  BaseServer& server;             ///< Python's self.server

  /// Python's self.server, as the class it is: `server_as<MyServer>().registry` reaches the
  /// members of your server subclass (`struct MyServer : ThreadingTCPServer {...}`). A checked
  /// cast: throws std::logic_error naming both classes when the server is not a T.
  template <class T>
  T& server_as() const {
    static_assert(std::is_base_of_v<BaseServer, T>, "server_as<T>(): T must be a server class");
    if (auto* s = dynamic_cast<T*>(&server)) return *s;
    detail::throw_not_a(server, typeid(T));
  }
  /// This request's idle timeout (see BaseServer::idle_timeout, which it starts as): a read or
  /// write on the connection waits at most this long. Set it in the constructor or setup().
  Timeout idle_timeout;
  /// This request's deadline, counted from the end of setup() (see BaseServer::request_timeout,
  /// which it starts as). Set it in the constructor or setup().
  Timeout request_timeout;
};

/// Python's StreamRequestHandler: `connection`, `rfile` (buffered reader, lines bounded by
/// max_line) and `wfile` (unbuffered by default: every write sends everything).
class StreamRequestHandler : public BaseRequestHandler {
 public:
  StreamRequestHandler(Request& request, const Address& client_address, BaseServer& server);

  /// Applies timeout and disable_nagle_algorithm to the connection and sizes rfile/wfile.
  void setup() override;
  /// Flushes wfile (errors from a departed client are ignored, as Python does).
  void finish() override;

  std::size_t rbufsize = default_buffer_size;  ///< rfile's buffer (Python's rbufsize -1)
  std::size_t wbufsize = 0;                    ///< 0: unbuffered wfile (Python's default)
  /// Python's timeout: the connection's socket timeout (each read or write waits at most this
  /// long, then throws timeout_error). idle_timeout, when shorter, wins.
  Timeout timeout;
  bool disable_nagle_algorithm = false;     ///< TCP_NODELAY (Python's name)
  std::size_t max_line = default_max_line;  ///< rfile.readline() bound (64 KiB)

  /// Python's self.connection (the request's socket; under TLS, the plain socket beneath it:
  /// for options and timeouts, as reading it directly would bypass TLS).
  Socket& connection;
  SocketReader rfile;  ///< Python's self.rfile
  SocketWriter wfile;  ///< Python's self.wfile
};

/// Python's io.BytesIO over a received datagram: what DatagramRequestHandler::rfile is.
class PacketReader {
 public:
  explicit PacketReader(std::string_view data) : data_(data) {}
  /// `n` bytes or what remains.
  std::string read(std::size_t n);
  /// Everything that remains.
  std::string read();
  /// One line with its '\n' (the last may lack it; "" at the end).
  std::string readline();
  /// All remaining lines.
  std::vector<std::string> readlines();

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

namespace detail {
struct ReplyBuffer;  // handler.cpp: the buffer a thread lends its PacketWriters
}

/// Python's io.BytesIO collecting a reply: what DatagramRequestHandler::wfile is.
/// Its buffer is recycled: each thread lends one (kept up to 64 KiB of capacity) to one
/// PacketWriter at a time, so a reply costs no allocation once the thread has sent one. A
/// PacketWriter belongs to the thread that made it (as a handler does).
class PacketWriter {
 public:
  PacketWriter() noexcept;
  ~PacketWriter();
  PacketWriter(const PacketWriter& other);
  PacketWriter& operator=(const PacketWriter& other);

  /// Appends; returns data.size().
  std::size_t write(std::string_view data);
  void writelines(const std::vector<std::string>& lines);
  /// Python's getvalue(): everything written.
  [[nodiscard]] const std::string& getvalue() const noexcept { return *data_; }

 private:
  std::string own_;                      // used when the thread's buffer is lent out already
  detail::ReplyBuffer* lent_ = nullptr;  // the thread's buffer, while this one has it
  std::string* data_ = &own_;            // own_ or the lent buffer
};

/// Python's DatagramRequestHandler: `packet`, `socket`, `rfile` over the packet and `wfile`
/// collected and sent back to the client as one datagram by finish().
class DatagramRequestHandler : public BaseRequestHandler {
 public:
  DatagramRequestHandler(Request& request, const Address& client_address, BaseServer& server);
  /// Python's finish(): sends wfile's contents to client_address (always, as Python does).
  void finish() override;

  const std::string& packet;  ///< the datagram received (Python's self.packet)
  Socket& socket;             ///< the server's socket (Python's self.socket)
  PacketReader rfile;         ///< Python's self.rfile (BytesIO over the packet)
  PacketWriter wfile;         ///< Python's self.wfile (BytesIO sent by finish)
};

/// Python's "pass the handler class": `handler<MyHandler>()` builds a RequestHandlerClass that
/// constructs MyHandler(request, client_address, server) for each request and runs it.
template <class Handler>
RequestHandlerClass handler() {
  static_assert(std::is_base_of_v<BaseRequestHandler, Handler>,
                "handler<H>(): H must derive from BaseRequestHandler");
  static_assert(std::is_constructible_v<Handler, Request&, const Address&, BaseServer&>,
                "handler<H>(): H needs a constructor (Request&, const Address&, BaseServer&); "
                "`using StreamRequestHandler::StreamRequestHandler;` gives it one");
  return [](Request& request, const Address& client_address, BaseServer& server) {
    Handler h(request, client_address, server);
    h.run();
  };
}

namespace detail {
template <class Base, class Fn>
class LambdaHandler final : public Base {
 public:
  LambdaHandler(Request& request, const Address& client_address, BaseServer& server, Fn& fn)
      : Base(request, client_address, server), fn_(fn) {}
  void handle() override { fn_(static_cast<Base&>(*this)); }

 private:
  Fn& fn_;
};
}  // namespace detail

/// A lambda standing in for a one-method handler: its parameter type picks the handler class,
/// `StreamRequestHandler&`, `DatagramRequestHandler&` or `BaseRequestHandler&`; its body is
/// handle(). The lambda is shared by all requests (and threads, under ThreadingMixIn).
template <class Fn>
RequestHandlerClass handler(Fn fn) {
  using Base =
      std::conditional_t<std::is_invocable_v<Fn&, StreamRequestHandler&>, StreamRequestHandler,
                         std::conditional_t<std::is_invocable_v<Fn&, DatagramRequestHandler&>,
                                            DatagramRequestHandler, BaseRequestHandler>>;
  static_assert(std::is_invocable_v<Fn&, Base&>,
                "handler(fn): fn must take StreamRequestHandler&, DatagramRequestHandler& or "
                "BaseRequestHandler&");
  return [fn = std::move(fn)](Request& request, const Address& client_address,
                              BaseServer& server) mutable {
    detail::LambdaHandler<Base, Fn> h(request, client_address, server, fn);
    h.run();
  };
}

}  // namespace socketserver
