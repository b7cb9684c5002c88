// socketserver.hpp — the whole library, as `import socket, socketserver` is in Python.
//
// Layers, bottom up (each header uses only those above it):
//
//   errors.hpp    socket_error and its subclasses     OSError, TimeoutError, socket.gaierror
//   address.hpp   Address, getaddrinfo & friends       (host, port) tuples, AF_UNIX paths
//   builtins.hpp  ctime, input, strip, repr            time.ctime(), input(), bytes.strip()
//   socket.hpp    Socket, create_connection, ...       socket.socket and the module functions
//   stream.hpp    SocketReader, SocketWriter           makefile(), rfile / wfile
//   ssl.hpp       SSLContext, SSLSocket                ssl: wrap_socket, create_default_context
//   selector.hpp  Selector, Waker                      selectors.DefaultSelector
//   server.hpp    BaseServer, TCPServer, UDPServer,    socketserver's servers
//                 UnixStreamServer, UnixDatagramServer
//   handler.hpp   BaseRequestHandler,                  socketserver's request handlers
//                 StreamRequestHandler, DatagramRequestHandler
//   mixins.hpp    ThreadingMixIn<S>, ForkingMixIn<S>   ThreadingMixIn, ForkingMixIn
//                 and ThreadingTCPServer, ForkingUDPServer, ... (the aliases)
//   thread_pool.hpp  ThreadPoolMixIn<S>,               (no Python twin: a fixed pool of workers)
//                 ThreadPoolTCPServer, ...             (mixins.hpp includes it)
//   reactor.hpp   Reactor, Protocol, Factory,          twisted.internet: reactor, protocol,
//                 DatagramProtocol, StandardIO, ...    stdio.StandardIO
//   protocols.hpp LineReceiver, TimeoutMixin           twisted.protocols: basic.LineReceiver,
//                 (reactor.hpp includes it)            policies.TimeoutMixin
//   proxy_protocol.hpp  parse_proxy_header             (HAProxy's PROXY protocol, v1 and v2)
//   prefork.hpp   PreforkServer, PreforkWorker         (no Python twin: N worker processes, supervised)
//   testing.hpp   StringTransport                      twisted.internet.testing (proto_helpers)
//
// How the SocketServer pieces compose, as in Python: a server owns the listening socket and
// the loop; for each request it builds a handler (your subclass of StreamRequestHandler or
// DatagramRequestHandler) and runs setup() -> handle() -> finish(); a mixin decides where that
// happens (this thread, a new thread, a child process):
//
//   struct MyHandler : ss::StreamRequestHandler {
//     using StreamRequestHandler::StreamRequestHandler;
//     void handle() override { wfile.write(rfile.readline()); }
//   };
//   ss::ThreadingTCPServer server({"localhost", 21567}, ss::handler<MyHandler>());
//   server.serve_forever();
//
// A first program: an echo server, line for line what Python's would be
// (samples/tsTserv.cpp is the book's timestamp server in full):
//
//   #include <socketserver/socketserver.hpp>
//   namespace ss = socketserver;
//   int main() {
//     ss::Socket tcpSerSock(AF_INET, SOCK_STREAM);
//     tcpSerSock.bind({"", 21567});
//     tcpSerSock.listen(5);
//     for (;;) {
//       auto [tcpCliSock, addr] = tcpSerSock.accept();
//       for (;;) {
//         std::string data = tcpCliSock.recv(1024);
//         if (data.empty()) break;
//         tcpCliSock.sendall(data);
//       }
//     }
//   }
//
// See README.md for the full table of Python calls and their C++ forms.
#pragma once

#include "socketserver/activation.hpp"
#include "socketserver/address.hpp"
#include "socketserver/builtins.hpp"
#include "socketserver/errors.hpp"
#include "socketserver/handler.hpp"
#include "socketserver/mixins.hpp"
#include "socketserver/prefork.hpp"
#include "socketserver/protocols.hpp"
#include "socketserver/proxy_protocol.hpp"
#include "socketserver/reactor.hpp"
#include "socketserver/selector.hpp"
#include "socketserver/server.hpp"
#include "socketserver/socket.hpp"
#include "socketserver/ssl.hpp"
#include "socketserver/stream.hpp"
#include "socketserver/testing.hpp"
#include "socketserver/thread_pool.hpp"
