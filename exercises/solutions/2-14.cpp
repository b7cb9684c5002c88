// Exercise 2-14 — reference solution: the timestamp server (--server) and client, with the
// errors of users and networks handled. The server is samples/tsTserv.cpp's loop; the client
// adds Ctrl-C and network errors to samples/tsTclnt.cpp.
#include <signal.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <string>

#include "common.hpp"
#include "exercise.hpp"

namespace ss = socketserver;

int server(const samples::Options& opts) {
  samples::StopSignals stop;  // before the socket: Ctrl-C and SIGTERM always find it
  ss::Socket tcpSerSock(AF_INET, SOCK_STREAM);
  tcpSerSock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  tcpSerSock.bind({opts.host, opts.port});  // "Address already in use": main's catch
  tcpSerSock.listen();
  bool stopped = false;
  while (!stopped) {
    std::cout << "waiting for connection..." << std::endl;
    if (!stop.wait_readable(tcpSerSock)) break;
    try {
      auto [tcpCliSock, addr] = tcpSerSock.accept();
      std::cout << "...connected from: " << samples::py_repr(addr) << std::endl;
      while (true) {
        if (!stop.wait_readable(tcpCliSock)) {  // Ctrl-C while the client is quiet
          stopped = true;
          break;
        }
        std::string data = tcpCliSock.recv(1024);
        if (data.empty()) break;
        tcpCliSock.sendall("[" + samples::ctime_now() + "] " + data);
      }
    } catch (const ss::connection_error& e) {  // this client's trouble, not the server's
      std::cerr << "robust: " << e.what() << std::endl;
    }
  }
  std::cerr << "robust: " << stop.name() << " received, server closed" << std::endl;
  return 0;
}

volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_sigint(int /*signo*/) { interrupted = 1; }

int client(const samples::Options& opts) {
  // Ctrl-C: a flag, and the read of the keyboard is interrupted (no SA_RESTART), so input()
  // returns "" and the loop ends as it does at Ctrl-D.
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);

  ss::Socket tcpCliSock(AF_INET, SOCK_STREAM);
  tcpCliSock.settimeout(std::chrono::seconds(10));  // a server that never answers
  tcpCliSock.connect({opts.host, opts.port});
  while (!interrupted) {
    std::string data = samples::input("> ");
    if (data.empty()) break;
    tcpCliSock.sendall(data);
    data = tcpCliSock.recv(1024);
    if (data.empty()) {
      std::cerr << "robust: the server closed the connection" << std::endl;
      return 1;
    }
    std::cout << data << std::endl;
  }
  if (interrupted) {
    std::cerr << "robust: interrupted, bye" << std::endl;
    return 130;  // the shell's status for "ended by Ctrl-C"
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
  try {
    return is_server ? server(opts) : client(opts);
  } catch (const std::exception& e) {  // e.g. "connect to 127.0.0.1:21567: Connection refused"
    std::cerr << "robust: " << e.what() << std::endl;
    return 1;
  }
}
