// tsUclnt.cpp — Example 2-7, the UDP timestamp client (tsUclnt.py), line for line.
//
// It sends each line you type to tsUserv as one datagram and prints the answer. An empty
// line, or the end of input (Ctrl-D), ends it.
//
// What it does better than the Python: --host/--port/--help; the end of input ends it quietly
// (exit status 0); and when no answer comes — UDP never says "nobody is listening" — it gives
// up after --timeout seconds (default 5) with a message and exit status 1, where the book's
// client would wait forever.
#include <iostream>
#include <string>

#include "common.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsUclnt",
       .summary = "Example 2-7: the UDP timestamp client. Sends each line typed to the\n"
                  "server as a datagram and prints its answer; an empty line or end of\n"
                  "input ends it.",
       .default_host = "localhost",
       .has_timeout = true});

  try {
    const std::string HOST = opts.host;    // HOST = 'localhost'
    const int PORT = opts.port;            // PORT = 21567
    constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)
    const ss::Address ADDR{HOST, PORT};    // ADDR = (HOST, PORT)

    ss::Socket udpCliSock(AF_INET, SOCK_DGRAM);  // udpCliSock = socket(AF_INET, SOCK_DGRAM)
    // Not in the book: a lost datagram, or no server at all, must not leave us waiting
    // forever. With a timeout, recvfrom() throws timeout_error when it runs out.
    udpCliSock.settimeout(opts.timeout);

    while (true) {                              // while True:
      std::string data = samples::input("> ");  //     data = input('> ')
      if (data.empty()) break;                  //     if not data: break
      udpCliSock.sendto(data, ADDR);            //     udpCliSock.sendto(data, ADDR)
      // data, ADDR = udpCliSock.recvfrom(BUFSIZ) — the book also replaces ADDR by the
      // sender's address; we keep the server's, so a stray datagram cannot redirect us.
      data = udpCliSock.recvfrom(BUFSIZE).first;
      if (data.empty()) break;         //     if not data: break
      std::cout << data << std::endl;  //     print(data)
    }
    udpCliSock.close();  // udpCliSock.close()
    return 0;
  } catch (const ss::timeout_error&) {
    std::cerr << "tsUclnt: no reply from " << opts.host << ":" << opts.port << " within "
              << opts.timeout << " seconds; is the server running?" << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "tsUclnt: " << e.what() << std::endl;
    return 1;
  }
}
