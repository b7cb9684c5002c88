// Exercise 2-7 — starter. A half-duplex chat between two people: the client's user and the
// server's user take turns, one line each, the client first — see README.md. One program, two
// roles:
//
//   chat --server [--host HOST] [--port PORT]   waits for someone to chat with
//   chat [--host HOST] [--port PORT]            connects to the server
//
// Grade it:  make exercise EX=2-7
#include <iostream>
#include <string>

#include "common.hpp"    // samples::parse_args, input, strip (samples/common.hpp)
#include "exercise.hpp"  // exercise::Args: --server

namespace ss = socketserver;

// One conversation, on the server's side. Returns false when the server's user ended their
// input (Ctrl-D or an empty line): then the server stops.
bool chat_with_client(ss::Socket& conn) {
  ss::SocketReader lines(conn);  // readline() on the connection ("" when the client left)
  while (true) {
    const std::string line = lines.readline();
    if (line.empty()) {
      std::cout << "* the client left" << std::endl;
      return true;
    }
    std::cout << "client> " << samples::strip(line) << std::endl;
    // TODO 1: the server's turn: read a line typed by its user (samples::input("you> ")) and
    //         send it to the client, ending with "\n". An empty line or the end of input
    //         (input() returns "") ends the chat and the server: return false.
  }
}

int server(const samples::Options& opts) {
  ss::Socket listener = ss::create_server({opts.host, opts.port});
  std::cerr << "listening on " << listener.getsockname() << std::endl;
  while (true) {
    std::cout << "waiting for someone to chat with..." << std::endl;
    auto [conn, addr] = listener.accept();
    std::cout << "* chatting with " << samples::py_repr(addr) << std::endl;
    if (!chat_with_client(conn)) return 0;
  }
}

int client(const samples::Options& opts) {
  ss::Socket sock = ss::create_connection({opts.host, opts.port});
  while (true) {
    const std::string line = samples::input("you> ");
    if (line.empty()) return 0;  // Ctrl-D or an empty line: the chat is over
    sock.sendall(line + "\n");
    // TODO 2: the server's turn: wait for its line (a SocketReader's readline()) and print
    //         it as "server> <line>". "" means the server left: say so and return 0.
  }
}

int main(int argc, char* argv[]) {
  exercise::Args args(argc, argv);
  const bool is_server = args.take_flag("--server");
  const samples::Options opts = samples::parse_args(
      args.argc(), args.argv(),
      {.name = "chat",
       .summary = "Exercise 2-7: a half-duplex chat, the server (--server) or the client.",
       .default_host = "localhost",
       .server = is_server});
  try {
    return is_server ? server(opts) : client(opts);
  } catch (const std::exception& e) {
    std::cerr << "chat: " << e.what() << std::endl;
    return 1;
  }
}
