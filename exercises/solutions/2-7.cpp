// Exercise 2-7 — reference solution: a half-duplex chat (turns, the client first).
#include <iostream>
#include <string>

#include "common.hpp"
#include "exercise.hpp"

namespace ss = socketserver;

bool chat_with_client(ss::Socket& conn) {
  ss::SocketReader lines(conn);
  while (true) {
    const std::string line = lines.readline();
    if (line.empty()) {
      std::cout << "* the client left" << std::endl;
      return true;
    }
    std::cout << "client> " << samples::strip(line) << std::endl;
    const std::string reply = samples::input("you> ");
    if (reply.empty()) return false;  // the server's user is done: the server ends
    conn.sendall(reply + "\n");
  }
}

int server(const samples::Options& opts) {
  ss::Socket listener = ss::create_server({opts.host, opts.port});
  std::cerr << "listening on " << listener.getsockname() << std::endl;
  while (true) {
    std::cout << "waiting for someone to chat with..." << std::endl;
    auto [conn, addr] = listener.accept();
    std::cout << "* chatting with " << samples::py_repr(addr) << std::endl;
    try {
      if (!chat_with_client(conn)) return 0;
    } catch (const ss::connection_error& e) {  // the client vanished: wait for the next
      std::cout << "* the client left (" << e.what() << ")" << std::endl;
    }
  }
}

int client(const samples::Options& opts) {
  ss::Socket sock = ss::create_connection({opts.host, opts.port});
  ss::SocketReader lines(sock);
  while (true) {
    const std::string line = samples::input("you> ");
    if (line.empty()) return 0;
    sock.sendall(line + "\n");
    const std::string reply = lines.readline();
    if (reply.empty()) {
      std::cout << "* the server left" << std::endl;
      return 0;
    }
    std::cout << "server> " << samples::strip(reply) << std::endl;
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
