// tsUserv.cpp — Example 2-6, the UDP timestamp server (tsUserv.py), line for line.
//
// It waits for a datagram and sends it back with a timestamp: "[<time>] <message>". No
// connections here: each message carries its sender's address, and the reply goes there.
// Try it:  tsUserv            then, in another terminal:  tsUclnt
//
// What it does better than the Python: --host/--port/--help; Ctrl-C (or SIGTERM) ends it
// cleanly with exit status 0.
#include <iostream>
#include <string>

#include "common.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsUserv",
       .summary = "Example 2-6: the UDP timestamp server. Answers each datagram with\n"
                  "\"[<ctime>] <message>\", sent back to its sender.",
       .default_host = "localhost",
       .server = true});
  samples::StopSignals stop;  // before any socket: Ctrl-C must always find it (common.hpp)

  try {
    const std::string HOST = opts.host;    // HOST = ''  (the book: every interface)
    const int PORT = opts.port;            // PORT = 21567
    constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)
    const ss::Address ADDR{HOST, PORT};    // ADDR = (HOST, PORT)

    ss::Socket udpSerSock(AF_INET, SOCK_DGRAM);  // udpSerSock = socket(AF_INET, SOCK_DGRAM)
    udpSerSock.bind(ADDR);                       // udpSerSock.bind(ADDR)
    // Not the book's console (that is stdout): where we listen, useful with --port 0.
    std::cerr << "listening on " << udpSerSock.getsockname() << std::endl;

    while (true) {                                         // while True:
      std::cout << "waiting for message..." << std::endl;  // print('waiting for message...')
      // Sleep until a datagram comes, or Ctrl-C: recvfrom() would not return on a signal.
      if (!stop.wait_readable(udpSerSock)) break;
      try {
        // data, addr = udpSerSock.recvfrom(BUFSIZ) — a longer datagram is cut at BUFSIZ bytes.
        auto [data, addr] = udpSerSock.recvfrom(BUFSIZE);
        // udpSerSock.sendto('[%s] %s' % (ctime(), data), addr)
        udpSerSock.sendto("[" + samples::ctime_now() + "] " + data, addr);
        // print('...received from and returned to:', addr)
        std::cout << "...received from and returned to: " << samples::py_repr(addr) << std::endl;
      } catch (const ss::connection_error& e) {
        // A network error about one message (the kernel may report an earlier reply's
        // "port unreachable" here): that message is lost, the server goes on.
        std::cerr << "tsUserv: " << e.what() << std::endl;
      }
    }
    udpSerSock.close();  // udpSerSock.close()
    std::cerr << "tsUserv: " << stop.name() << " received, server closed" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    // e.g. "bind to 127.0.0.1:21567: Address already in use"
    std::cerr << "tsUserv: " << e.what() << std::endl;
    return 1;
  }
}
