// socketserver.hpp — the whole library, as `import socket, socketserver` is in Python.
//
// Layers, bottom up (each header uses only those above it):
//
//   errors.hpp    socket_error and its subclasses     OSError, TimeoutError, socket.gaierror
//   address.hpp   Address, getaddrinfo & friends       (host, port) tuples, AF_UNIX paths
//   socket.hpp    Socket, create_connection, ...       socket.socket and the module functions
//   stream.hpp    SocketReader, SocketWriter           makefile(), rfile / wfile
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

#include "socketserver/errors.hpp"
#include "socketserver/address.hpp"
#include "socketserver/socket.hpp"
#include "socketserver/stream.hpp"
