// Exercise 2-11 — starter. A web client: it asks a web server for one page and writes the page
// into a file — see README.md.
//
//   webclient [--host HOST] [--port PORT] [--path PATH] [--output FILE]
//
// (defaults: localhost, port 80, path "/", file page.html)
// Grade it:  make exercise EX=2-11
#include <iostream>
#include <string>

#include "common.hpp"    // samples::parse_args (samples/common.hpp)
#include "exercise.hpp"  // exercise::Args: --path, --output

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
  const int port = port_given ? opts.port : 80;  // the web's port unless told otherwise

  try {
    ss::Socket sock = ss::create_connection({opts.host, port});
    // HTTP/1.0: the server sends the response, then closes the connection.
    sock.sendall("GET " + path + " HTTP/1.0\r\nHost: " + opts.host + "\r\n\r\n");

    // TODO 1: one recv() is only the first piece of the response: read until the server
    //         closes the connection (recv returns "").
    const std::string response = sock.recv(4096);

    // TODO 2: the response is: a status line ("HTTP/1.0 200 OK"), header lines, an empty
    //         line, then the page. Print the status line on stdout.
    // TODO 3: status 200: write the page — the bytes after the first "\r\n\r\n", exactly, in
    //         binary (std::ofstream with std::ios::binary) — into `output`, return 0.
    //         Any other status: say so on stderr, write no file, return 1.
    std::cout << response << std::endl;
    (void)output;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "webclient: " << e.what() << std::endl;
    return 1;
  }
}
