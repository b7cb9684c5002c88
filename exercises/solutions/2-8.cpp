// Exercise 2-8 — reference solution: a full-duplex chat. One Selector waits for the keyboard
// and the connection at once; whichever is ready is served. (The sample chatclnt does the
// same on the reactor; selectchat is a many-user server on a Selector.)
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <system_error>

#include "common.hpp"
#include "exercise.hpp"

namespace ss = socketserver;

enum class End { peer_left, input_ended };

End relay(ss::Socket& conn) {
  constexpr int KEYBOARD = 0;  // standard input's descriptor
  ss::Selector sel;
  sel.register_(KEYBOARD, ss::EVENT_READ);
  sel.register_(conn, ss::EVENT_READ);
  std::string pending;  // the peer's last, unfinished line
  while (true) {
    for (const auto& [key, mask] : sel.select()) {
      if (key.fd == KEYBOARD) {
        char buf[4096];
        const ssize_t n = ::read(KEYBOARD, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::system_error(errno, std::system_category(), "read the keyboard");
        if (n == 0) return End::input_ended;
        conn.sendall(std::string_view(buf, static_cast<std::size_t>(n)));  // lines as typed
      } else {
        const std::string data = conn.recv(4096);
        if (data.empty()) return End::peer_left;
        pending += data;
        for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
          std::cout << "peer> " << samples::strip(pending.substr(0, nl)) << std::endl;
          pending.erase(0, nl + 1);
        }
      }
    }
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
      if (relay(conn) == End::input_ended) return 0;
      std::cout << "* the client left" << std::endl;
    } catch (const ss::connection_error& e) {
      std::cout << "* the client left (" << e.what() << ")" << std::endl;
    }
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
