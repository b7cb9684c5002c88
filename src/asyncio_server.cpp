// asyncio_server.cpp — asyncio_server.hpp: AsyncStreamRequestHandler and the servers with
// Python's socketserver names over start_server.
#include "socketserver/asyncio_server.hpp"

#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "asyncio_impl.hpp"
#include "report.hpp"
#include "timeout.hpp"
#include "tls_hooks.hpp"

namespace socketserver::asyncio {

Task<> AsyncStreamRequestHandler::handle() { co_return; }

namespace {
class LambdaHandler : public AsyncStreamRequestHandler {
 public:
  LambdaHandler(StreamReader& r, StreamWriter& w, const Address& a, AsyncStreamServer& s,
                const std::function<Task<>(AsyncStreamRequestHandler&)>& fn)
      : AsyncStreamRequestHandler(r, w, a, s), fn_(fn) {}
  Task<> handle() override { return fn_(*this); }

 private:
  const std::function<Task<>(AsyncStreamRequestHandler&)>& fn_;
};
}  // namespace

AsyncHandlerClass async_handler(std::function<Task<>(AsyncStreamRequestHandler&)> fn) {
  if (!fn) throw std::invalid_argument("async_handler: no function");
  auto shared = std::make_shared<std::function<Task<>(AsyncStreamRequestHandler&)>>(std::move(fn));
  return [shared](StreamReader& r, StreamWriter& w, const Address& a,
                  AsyncStreamServer& s) -> std::unique_ptr<AsyncStreamRequestHandler> {
    return std::make_unique<LambdaHandler>(r, w, a, s, *shared);
  };
}

AsyncStreamRequestHandler::AsyncStreamRequestHandler(StreamReader& rfile, StreamWriter& wfile,
                                                     const Address& client_address,
                                                     AsyncStreamServer& server)
    : rfile(rfile),
      wfile(wfile),
      client_address(client_address),
      server(server),
      request_timeout(server.request_timeout()) {}

AsyncStreamServer::AsyncStreamServer(const Address& address, AsyncHandlerClass handler_class,
                                     const AsyncServerOptions& options, bool unix_socket)
    : handler_class_(std::move(handler_class)),
      reporter_(std::make_unique<socketserver::detail::Reporter>()),
      request_timeout_(options.request_timeout) {
  if (!handler_class_) throw std::invalid_argument("AsyncStreamServer: no handler class");
  if (request_timeout_) {
    socketserver::detail::check_seconds(request_timeout_->count(),
                                        "AsyncServerOptions::request_timeout", false);
  }
  ListenOptions listen;
  listen.backlog = options.request_queue_size;
  listen.idle_timeout = options.idle_timeout;
  listen.handshake_timeout = options.handshake_timeout;
  if (options.ssl && unix_socket) {
    throw std::invalid_argument("AsyncUnixStreamServer: no TLS over a Unix socket (options.ssl)");
  }
  StreamHandler handle = [this](StreamReader& r, StreamWriter& w) { return serve_one(r, w); };
  if (unix_socket) {
    server_ = start_unix_server(reactor_, std::move(handle), address, listen, options.limit);
  } else if (options.ssl) {
    // start_server with ssl, through the TLS hooks: this file is in every program with an
    // AsyncTCPServer, TLS or not, and must not link OpenSSL (tls_hooks.hpp).
    listen.interface = address.host();
    const int port = address.port();
    const SSLContext& ssl = *options.ssl;
    server_ = detail::serve(reactor_, std::move(handle), options.limit,
                            [&](std::shared_ptr<Factory> f) -> ListeningPort& {
                              return socketserver::detail::tls_hooks().listen_ssl(
                                  reactor_, port, std::move(f), ssl, listen);
                            });
  } else {
    server_ = start_server(reactor_, std::move(handle), address.host(), address.port(), listen,
                           options.limit);
  }
  server_address_ = server_.address();
}

AsyncStreamServer::~AsyncStreamServer() { AsyncStreamServer::server_close(); }

Task<> AsyncStreamServer::serve_one(StreamReader& reader, StreamWriter& writer) {
  const Address& client = writer.peername();  // the stream state keeps it for the frame's life
  bool admitted = false;
  try {
    admitted = verify_request(writer, client);
  } catch (...) {
    handle_error(writer, client);
  }
  if (!admitted) {
    refused_.fetch_add(1);
    writer.close();
    co_return;
  }
  try {
    std::unique_ptr<AsyncStreamRequestHandler> handler =
        handler_class_(reader, writer, client, *this);
    if (const Timeout limit = handler->request_timeout) {
      socketserver::detail::check_seconds(limit->count(), "request_timeout", false);
      co_await wait_for(handler->handle(), *limit);
    } else {
      co_await handler->handle();
    }
  } catch (const CancelledError&) {
    throw;
  } catch (...) {
    handle_error(writer, client);
  }
}

bool AsyncStreamServer::verify_request(StreamWriter& /*request*/,
                                       const Address& /*client_address*/) {
  return true;
}

void AsyncStreamServer::handle_error(StreamWriter& /*request*/, const Address& client_address) {
  socketserver::detail::report_exception_line(
      *reporter_,
      "Exception occurred during processing of request from " + client_address.to_string() + ": ");
}

void AsyncStreamServer::serve_forever() {
  gate_.enter();
  const socketserver::detail::ServeGate::Leaving leaving(gate_);
  if (gate_.stop_requested()) return;  // shutdown() came first
  // A shutdown() between the check above and the loop's start finds it not running (stop() is
  // then a no-op): the loop looks again once it runs.
  reactor_.call_when_running([this] {
    if (gate_.stop_requested()) reactor_.stop();
  });
  reactor_.run(false);  // its shutdown trigger cancels every handler (start_server)
}

void AsyncStreamServer::shutdown() {
  gate_.request_stop();
  reactor_.stop();
  gate_.wait_stopped();
}

void AsyncStreamServer::server_close() {
  server_.close();
  Server closed(std::move(server_));  // frees the frames of handlers that are left
}

}  // namespace socketserver::asyncio
