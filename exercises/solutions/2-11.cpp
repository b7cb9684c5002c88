// Exercise 2-11 — reference solution: a web client writing one page into a file.
#include <fstream>
#include <iostream>
#include <string>

#include "common.hpp"
#include "exercise.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  exercise::Args args(argc, argv);
  const std::string path = args.take_option("--path", "/");
  const std::string output = args.take_option("--output", "page.html");
  const bool port_given = args.has("--port");
  const samples::Options opts =
      samples::parse_args(args.argc(), args.argv(),
                          {.name = "webclient",
                           .summary = "Exercise 2-11: fetches http://HOST:PORT/PATH into FILE.",
                           .default_host = "localhost"});
  const int port = port_given ? opts.port : 80;

  try {
    ss::Socket sock = ss::create_connection({opts.host, port}, std::chrono::seconds(10));
    sock.sendall("GET " + path + " HTTP/1.0\r\nHost: " + opts.host + "\r\n\r\n");
    std::string response;
    constexpr std::size_t MAX_RESPONSE = 64u << 20;  // a page larger than 64 MiB: refused
    for (std::string piece; !(piece = sock.recv(65536)).empty();) {
      response += piece;
      if (response.size() > MAX_RESPONSE) throw std::runtime_error("the page is over 64 MiB");
    }
    const std::size_t head_end = response.find("\r\n\r\n");
    if (head_end == std::string::npos) throw std::runtime_error("not an HTTP response");
    const std::string status = response.substr(0, response.find("\r\n"));
    std::cout << status << std::endl;
    // "HTTP/1.0 200 OK": the code is the second word.
    const std::size_t space = status.find(' ');
    if (space == std::string::npos || status.compare(space + 1, 3, "200") != 0) {
      std::cerr << "webclient: " << path << ": " << status << "; nothing written" << std::endl;
      return 1;
    }
    std::ofstream file(output, std::ios::binary);
    file.write(response.data() + head_end + 4,
               static_cast<std::streamsize>(response.size() - head_end - 4));
    if (!file.flush()) throw std::runtime_error("cannot write " + output);
    std::cerr << "webclient: " << (response.size() - head_end - 4) << " bytes written to " << output
              << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "webclient: " << e.what() << std::endl;
    return 1;
  }
}
