// Exercise 2-14 — starter. The book's TCP timestamp server and client (tsTserv, tsTclnt) as
// the book writes them: no error handling at all. Make both survive what users and networks
// do — see README.md. One program, two roles:
//
//   robust --server [--host HOST] [--port PORT]   the server
//   robust [--host HOST] [--port PORT]            the client
//
// Grade it:  make exercise EX=2-14
#include <iostream>
#include <string>

#include "common.hpp"    // samples::parse_args, ctime_now, input (samples/common.hpp)
#include "exercise.hpp"  // exercise::Args: --server

namespace ss = socketserver;

// TODO 1 (server): Ctrl-C (SIGINT) and SIGTERM must end the server cleanly with status 0, also
//         while it waits in accept() or recv() (samples::StopSignals, or a SocketServer with
//         ss::StopOnSignals).
// TODO 2 (server): a client that resets its connection must not end the server: catch the
//         error (ss::connection_error) for that client and go on with the next one.
// TODO 3 (server): a port already in use: a message on stderr and status 1, not a crash.
int server(const samples::Options& opts) {
  ss::Socket tcpSerSock(AF_INET, SOCK_STREAM);
  tcpSerSock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  tcpSerSock.bind({opts.host, opts.port});
  tcpSerSock.listen();
  while (true) {
    std::cout << "waiting for connection..." << std::endl;
    auto [tcpCliSock, addr] = tcpSerSock.accept();
    std::cout << "...connected from: " << samples::py_repr(addr) << std::endl;
    while (true) {
      std::string data = tcpCliSock.recv(1024);
      if (data.empty()) break;
      tcpCliSock.sendall("[" + samples::ctime_now() + "] " + data);
    }
  }
}

// TODO 4 (client): no server there, or a server that resets the connection: a message on
//         stderr and status 1, not a crash.
// TODO 5 (client): Ctrl-C at the prompt: end with a message (and close the socket), not be
//         killed by the signal. Ctrl-D (end of input) already ends it with status 0.
int client(const samples::Options& opts) {
  ss::Socket tcpCliSock(AF_INET, SOCK_STREAM);
  tcpCliSock.connect({opts.host, opts.port});
  while (true) {
    std::string data = samples::input("> ");
    if (data.empty()) break;
    tcpCliSock.sendall(data);
    data = tcpCliSock.recv(1024);
    if (data.empty()) break;
    std::cout << data << std::endl;
  }
  return 0;
}

int main(int argc, char* argv[]) {
  exercise::Args args(argc, argv);
  const bool is_server = args.take_flag("--server");
  const samples::Options opts = samples::parse_args(
      args.argc(), args.argv(),
      {.name = "robust",
       .summary = "Exercise 2-14: the timestamp server (--server) and client, robust.",
       .default_host = "localhost",
       .server = is_server});
  return is_server ? server(opts) : client(opts);
}
