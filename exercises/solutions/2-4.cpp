// Exercise 2-4 — reference solution: the timestamp client with --host, --port (both optional,
// "localhost" and 21567 by default) and --udp.
#include <iostream>
#include <string>

#include "common.hpp"
#include "exercise.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  exercise::Args args(argc, argv);
  const bool udp = args.take_flag("--udp");
  const samples::Options opts = samples::parse_args(
      args.argc(), args.argv(),
      {.name = "client",
       .summary = "Exercise 2-4: the timestamp client (TCP, or UDP with --udp).",
       .default_host = "localhost"});
  constexpr std::size_t BUFSIZE = 1024;
  const ss::Address ADDR{opts.host, opts.port};

  try {
    ss::Socket sock(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM);
    if (udp) {
      sock.settimeout(opts.timeout);  // a lost datagram: timeout_error, not a hang
    } else {
      sock.connect(ADDR);
    }
    while (true) {
      std::string data = samples::input("> ");
      if (data.empty()) break;
      if (udp) {
        sock.sendto(data, ADDR);
        data = sock.recvfrom(BUFSIZE).first;
      } else {
        sock.sendall(data);
        data = sock.recv(BUFSIZE);
      }
      if (data.empty()) break;
      std::cout << data << std::endl;
    }
    return 0;
  } catch (const ss::timeout_error&) {
    std::cerr << "client: no reply from " << ADDR << " within " << opts.timeout << " s"
              << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "client: " << e.what() << std::endl;
    return 1;
  }
}
