// selectchat.cpp — Exercise 2-8 once more, the way the chapter's select() exercise means it: a
// chat server with no reactor and no threads, just non-blocking sockets and a Selector
// (Python's selectors.DefaultSelector, on epoll). It is what the reactor does for chatserv,
// written out by hand:
//   - every socket is non-blocking, and the one loop asks the Selector which are ready;
//   - each client has an input buffer (bytes until a whole line is there) and an output queue
//     (bytes the kernel has not taken yet): no send ever blocks, a slow reader delays nobody;
//   - EVENT_WRITE is asked for only while a client's queue is not empty (else the loop spins);
//   - Ctrl-C: a small signal handler wakes the Selector through a Waker (an eventfd);
//   - --timeout SECONDS: select() waits no longer than the next client's idle deadline, and a
//     client quiet that long is closed (without the flag, clients are waited for).
//
// The line protocol is chatserv's, without rooms: /nick NAME, /who, /quit; any other line goes
// to everyone else as "<nick> text"; the server's own lines start with "* ".
// Try it:  selectchat            then, in two terminals:  chatclnt  (or nc localhost 21567)
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"

namespace ss = socketserver;

constexpr std::size_t MAX_LINE = 4096;       // a longer line: an error, then the client is closed
constexpr std::size_t MAX_QUEUE = 1u << 20;  // a client that lets 1 MiB pile up is closed

struct Client {
  Client(ss::Socket s, ss::Address a, std::string n)
      : sock(std::move(s)), addr(std::move(a)), nick(std::move(n)) {}
  ss::Socket sock;
  ss::Address addr;
  std::string nick;
  std::string in;        // received, not yet a whole line
  std::string out;       // to send, not yet taken by the kernel
  bool writing = false;  // registered for EVENT_WRITE (out is not empty)
  bool closing = false;  // close once `out` is sent (/quit, a line too long)
  bool dead = false;     // closed at the end of this turn of the loop
  std::chrono::steady_clock::time_point heard = std::chrono::steady_clock::now();  // last bytes
};

// ---- Ctrl-C: the handler may only do async-signal-safe things: set a flag, wake the loop ----
std::atomic<int> g_signal{0};
std::atomic<ss::Waker*> g_waker{nullptr};

extern "C" void on_signal(int signo) {
  g_signal.store(signo);
  if (ss::Waker* w = g_waker.load()) w->wake();  // an eventfd write: async-signal-safe
}

class ChatServer {
 public:
  ChatServer(ss::Socket listener, ss::Timeout idle) : listener_(std::move(listener)), idle_(idle) {
    listener_.setblocking(false);                           // lsock.setblocking(False)
    sel_.register_(listener_, ss::EVENT_READ, &listener_);  // sel.register(lsock, EVENT_READ)
    sel_.register_(waker_.fileno(), ss::EVENT_READ, &waker_);
    g_waker.store(&waker_);
  }
  ~ChatServer() { g_waker.store(nullptr); }
  ChatServer(const ChatServer&) = delete;
  ChatServer& operator=(const ChatServer&) = delete;

  // The loop: until a signal comes.
  void serve() {
    while (g_signal.load() == 0) {
      // for key, mask in sel.select(timeout): with --timeout, no longer than the first deadline
      for (const auto& [key, mask] : sel_.select(until_first_idle())) {
        if (key.data == &waker_) {
          waker_.drain();
        } else if (key.data == &listener_) {
          accept_all();
        } else {
          auto* c = static_cast<Client*>(key.data);
          if (!c->dead && (mask & ss::EVENT_WRITE)) flush(*c);
          if (!c->dead && (mask & ss::EVENT_READ)) read(*c);
        }
      }
      drop_idle();
      // Close only now: the ready list above may still name a client closed in this turn.
      std::erase_if(clients_, [](const auto& entry) { return entry.second->dead; });
    }
  }

 private:
  using Clock = std::chrono::steady_clock;

  // How long select() may wait: until the quietest client's idle deadline (none: for ever).
  ss::Timeout until_first_idle() const {
    if (!idle_ || clients_.empty()) return std::nullopt;
    Clock::time_point first = Clock::time_point::max();
    for (const auto& [fd, c] : clients_) first = std::min(first, c->heard);
    const auto left = first + std::chrono::duration_cast<Clock::duration>(*idle_) - Clock::now();
    return std::chrono::duration<double>(std::max(left, Clock::duration::zero()));
  }

  // --timeout: closes every client that has sent nothing for that long.
  void drop_idle() {
    if (!idle_) return;
    const auto limit = Clock::now() - std::chrono::duration_cast<Clock::duration>(*idle_);
    for (auto& [fd, c] : clients_) {
      if (!c->dead && c->heard <= limit) drop(*c, "was idle too long");
    }
  }

  void accept_all() {
    for (;;) {
      try {
        auto [conn, addr] = listener_.accept();  // conn, addr = lsock.accept()
        conn.setblocking(false);                 // conn.setblocking(False)
        auto client = std::make_unique<Client>(std::move(conn), addr, new_guest_name());
        Client& c = *client;
        sel_.register_(c.sock, ss::EVENT_READ, &c);  // sel.register(conn, EVENT_READ, data)
        clients_[c.sock.fileno()] = std::move(client);
        std::cout << c.nick << " connected from " << c.addr << std::endl;
        send(c, "* welcome, " + c.nick + "! commands: /nick NAME, /who, /quit\n");
        broadcast("* " + c.nick + " has joined\n", &c);
      } catch (const ss::blocking_io_error&) {
        return;  // nobody else is waiting
      } catch (const ss::socket_error& e) {
        std::cerr << "selectchat: " << e.what() << std::endl;  // e.g. out of descriptors
        return;
      }
    }
  }

  void read(Client& c) {
    std::string data;
    try {
      data = c.sock.recv(4096);  // data = conn.recv(4096): ready, so it does not block
    } catch (const ss::blocking_io_error&) {
      return;
    } catch (const ss::socket_error&) {
      data.clear();  // reset by the peer: as good as gone
    }
    if (data.empty()) {  // if not data: the client has no more to say
      if (c.out.empty()) {
        drop(c, "left");
      } else {  // it may still read: send what it is owed, then close (flush() does)
        c.closing = true;
        sel_.modify(c.sock, ss::EVENT_WRITE, &c);
      }
      return;
    }
    c.heard = Clock::now();
    c.in += data;
    std::size_t start = 0;
    for (auto nl = c.in.find('\n'); nl != std::string::npos && !c.dead && !c.closing;
         nl = c.in.find('\n', start)) {
      std::string line = c.in.substr(start, nl - start);
      start = nl + 1;
      if (line.ends_with('\r')) line.pop_back();
      if (line.size() > MAX_LINE) break;
      handle_line(c, line);
    }
    c.in.erase(0, start);
    if (!c.dead && !c.closing && c.in.size() > MAX_LINE) {
      c.in.clear();
      send(c, "* line too long (at most " + std::to_string(MAX_LINE) + " bytes), bye\n");
      c.closing = true;
    }
  }

  void handle_line(Client& c, const std::string& line) {
    if (line.empty()) return;
    if (!line.starts_with('/')) {
      broadcast("<" + c.nick + "> " + line + "\n", &c);
      return;
    }
    const std::size_t space = line.find(' ');
    const std::string command = line.substr(0, space);
    const std::string arg = space == std::string::npos ? "" : samples::strip(line.substr(space));
    if (command == "/nick") {
      if (!valid_nick(arg)) {
        send(c, "* usage: /nick NAME (letters, digits, '_' and '-'; 1-16 characters)\n");
      } else if (taken(arg)) {
        send(c, "* the nick " + arg + " is taken\n");
      } else {
        broadcast("* " + c.nick + " is now known as " + arg + "\n", nullptr);
        c.nick = arg;
      }
    } else if (command == "/who") {
      std::string names;
      for (const auto& [fd, other] : clients_) {
        if (!other->dead) names += (names.empty() ? "" : ", ") + other->nick;
      }
      send(c, "* here: " + names + "\n");
    } else if (command == "/quit") {
      send(c, "* bye, " + c.nick + "\n");
      c.closing = true;  // flush() closes it once "bye" is sent
    } else {
      send(c, "* unknown command " + command + "\n");
    }
  }

  // Queues `text` for `c`; the loop sends it when the socket is writable. Never blocks.
  void send(Client& c, const std::string& text) {
    if (c.dead || c.closing) return;               // (a closing client gets only what it was owed)
    if (c.out.size() + text.size() > MAX_QUEUE) {  // it does not read: do not hoard for it
      drop(c, "dropped: too slow");
      return;
    }
    c.out += text;
    if (!c.writing) {
      c.writing = true;
      sel_.modify(c.sock, ss::EVENT_READ | ss::EVENT_WRITE, &c);  // sel.modify(conn, ...)
    }
  }

  void broadcast(const std::string& text, Client* skip) {
    for (auto& [fd, other] : clients_) {
      if (other.get() != skip) send(*other, text);
    }
  }

  // Writable: send what the kernel takes; stop asking for EVENT_WRITE when all is sent.
  void flush(Client& c) {
    try {
      const std::size_t n = c.sock.send(c.out);  // n = conn.send(out): maybe only a part
      c.out.erase(0, n);
    } catch (const ss::blocking_io_error&) {
      return;
    } catch (const ss::socket_error&) {
      drop(c, "lost");
      return;
    }
    if (!c.out.empty()) return;
    if (c.closing) {
      drop(c, "left");
      return;
    }
    c.writing = false;
    sel_.modify(c.sock, ss::EVENT_READ, &c);
  }

  // Unregisters and marks the client; serve() closes it at the end of the turn.
  void drop(Client& c, const char* why) {
    if (c.dead) return;
    c.dead = true;
    sel_.unregister(c.sock);  // sel.unregister(conn)
    std::cout << c.nick << " " << why << std::endl;
    broadcast("* " + c.nick + " has left\n", &c);
  }

  static bool valid_nick(const std::string& nick) {
    if (nick.empty() || nick.size() > 16) return false;
    for (const char ch : nick) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') return false;
    }
    return true;
  }
  [[nodiscard]] bool taken(const std::string& nick) const {
    for (const auto& [fd, other] : clients_) {
      if (!other->dead && other->nick == nick) return true;
    }
    return false;
  }
  std::string new_guest_name() {
    std::string nick;
    do {
      nick = "guest" + std::to_string(++guests_);
    } while (taken(nick));
    return nick;
  }

  ss::Socket listener_;
  ss::Selector sel_;  // sel = selectors.DefaultSelector()
  ss::Waker waker_;
  ss::Timeout idle_;                                // --timeout
  std::map<int, std::unique_ptr<Client>> clients_;  // by descriptor
  int guests_ = 0;
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "selectchat",
       .summary = "Exercise 2-8 with a Selector only: a chat server on non-blocking sockets\n"
                  "and one select loop. Commands /nick NAME, /who, /quit; any other line goes\n"
                  "to everyone else.",
       .default_host = "localhost",
       .server = true,
       .has_idle_timeout = true});

  // Ctrl-C and SIGTERM: no SA_RESTART, so a wait in select() is interrupted too.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  try {
    // create_server: socket(), SO_REUSEADDR, bind(), listen() — '' is every interface.
    ss::Socket listener = ss::create_server(ss::Address{opts.host, opts.port});
    std::cerr << "listening on " << listener.getsockname() << std::endl;
    ChatServer server(std::move(listener), opts.idle_timeout);
    std::cout << "waiting for users..." << std::endl;
    server.serve();
    std::cerr << "selectchat: " << samples::signal_name(g_signal.load())
              << " received, server closed" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "selectchat: " << e.what() << std::endl;
    return 1;
  }
}
