// Exercise 2-8 — starter. The chat of exercise 2-7 made full-duplex: both people type whenever
// they like, and what the other one says appears at once — see README.md. One program, two
// roles:
//
//   chat --server [--host HOST] [--port PORT]   waits for someone to chat with
//   chat [--host HOST] [--port PORT]            connects to the server
//
// Grade it:  make exercise EX=2-8
#include <iostream>
#include <string>

#include "common.hpp"    // samples::parse_args, input, strip (samples/common.hpp)
#include "exercise.hpp"  // exercise::Args: --server

namespace ss = socketserver;

enum class End { peer_left, input_ended };

// Passes lines both ways between this program's user and `conn`, until one side ends.
//
// TODO: this is still the half-duplex way of exercise 2-7: the user must type, then the other
// side must answer, in turns. Wait for BOTH at once instead — the keyboard (descriptor 0) and
// the connection — with a Selector (Python's selectors): register both for EVENT_READ, and in
// a loop, for each ready one: read what the keyboard gave (::read(0, ...): 0 bytes is the end
// of input) and send it, or recv() what the peer sent ("" when it left) and print it, line by
// line, as "peer> <line>". Do not mix std::cin with the Selector: read descriptor 0 directly.
End relay(ss::Socket& conn) {
  ss::SocketReader lines(conn);
  while (true) {
    const std::string typed = samples::input("");
    if (typed.empty()) return End::input_ended;
    conn.sendall(typed + "\n");
    const std::string line = lines.readline();
    if (line.empty()) return End::peer_left;
    std::cout << "peer> " << samples::strip(line) << std::endl;
  }
}

int server(const samples::Options& opts) {
  ss::Socket listener = ss::create_server({opts.host, opts.port});
  std::cerr << "listening on " << listener.getsockname() << std::endl;
  while (true) {
    std::cout << "waiting for someone to chat with..." << std::endl;
    auto [conn, addr] = listener.accept();
    std::cout << "* chatting with " << samples::py_repr(addr) << std::endl;
    if (relay(conn) == End::input_ended) return 0;  // the server's user is done
    std::cout << "* the client left" << std::endl;
  }
}

int client(const samples::Options& opts) {
  ss::Socket sock = ss::create_connection({opts.host, opts.port});
  if (relay(sock) == End::peer_left) std::cout << "* the server left" << std::endl;
  return 0;
}

int main(int argc, char* argv[]) {
  exercise::Args args(argc, argv);
  const bool is_server = args.take_flag("--server");
  const samples::Options opts = samples::parse_args(
      args.argc(), args.argv(),
      {.name = "chat",
       .summary = "Exercise 2-8: a full-duplex chat, the server (--server) or the client.",
       .default_host = "localhost",
       .server = is_server});
  try {
    return is_server ? server(opts) : client(opts);
  } catch (const std::exception& e) {
    std::cerr << "chat: " << e.what() << std::endl;
    return 1;
  }
}
