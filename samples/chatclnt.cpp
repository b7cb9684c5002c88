// chatclnt.cpp — Exercises 2-8 to 2-10: the chat client for chatserv, on the reactor.
//
// Full duplex: the reactor watches two things at once, the keyboard (stdio.StandardIO) and the
// connection to the server. A line typed goes to the server; a line from the server is printed
// the moment it comes, also while you are not typing. No threads, no blocking call.
// It ends on /quit (the server says bye and closes), at the end of input (Ctrl-D: once the
// server has answered what was typed), when the server closes, or — exit status 1 — when the
// server cannot be reached.
// Try it:  chatserv            then, in two terminals:  chatclnt
#include <deque>
#include <iostream>
#include <string>

#include "common.hpp"

namespace ss = socketserver;

struct Session;

// The connection to the server: each line that comes is printed at once.
class ChatClient : public ss::LineReceiver {
 public:
  explicit ChatClient(Session& session) : session_(session) { delimiter = "\n"; }
  void connection_made() override;
  void line_received(std::string_view line) override { std::cout << line << std::endl; }
  void connection_lost(const ss::Reason& reason) override;

 private:
  Session& session_;
};

// What the keyboard and the connection share: the connection once it is up, and the lines
// typed before that (connecting takes a moment; nothing typed is lost).
struct Session {
  ChatClient* server = nullptr;     // while connected
  std::deque<std::string> pending;  // typed before the connection was up
  bool keyboard_ended = false;

  // From the keyboard: a line goes to the server.
  void typed(std::string line) {
    if (server == nullptr) {
      pending.push_back(std::move(line));
    } else {
      server->send_line(line);
    }
  }
  // Ctrl-D: nothing more to say. Half-close (Twisted's loseWriteConnection): what was typed
  // is sent, then the server sees the end of the stream, answers what it still owes and
  // closes — so the answers to lines typed just before Ctrl-D are still printed.
  void keyboard_end() {
    keyboard_ended = true;
    if (server != nullptr) server->transport().lose_write_connection();
  }
};

void ChatClient::connection_made() {
  session_.server = this;
  for (const std::string& line : session_.pending) send_line(line);
  session_.pending.clear();
  if (session_.keyboard_ended) transport().lose_write_connection();
}

void ChatClient::connection_lost(const ss::Reason& /*reason*/) { session_.server = nullptr; }

struct ChatClientFactory : ss::ClientFactory {
  ss::Reactor* reactor = nullptr;
  int exit_status = 0;

  // The server closed (after /quit, or on its own), or we did (Ctrl-D): the program ends.
  void client_connection_lost(ss::Connector& /*connector*/, const ss::Reason& /*reason*/) override {
    reactor->stop();
  }
  void client_connection_failed(ss::Connector& connector, const ss::Reason& reason) override {
    std::cerr << "chatclnt: connect to " << connector.get_destination() << ": " << reason.what()
              << std::endl;
    exit_status = 1;
    reactor->stop();
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "chatclnt",
       .summary = "Exercises 2-8 to 2-10: the chat client for chatserv. Sends each line typed\n"
                  "(/nick NAME, /join ROOM, /who, /rooms, /quit or a message) and prints what\n"
                  "the server sends as it comes.",
       .default_host = "localhost"});

  try {
    ss::Reactor reactor;
    Session session;

    // The keyboard, watched by the reactor like any connection.
    ss::StandardIO keyboard(std::make_unique<samples::Keyboard>(
                                [&session](std::string line) { session.typed(std::move(line)); },
                                [&session] { session.keyboard_end(); }),
                            reactor);

    auto factory = std::make_shared<ChatClientFactory>();
    factory->reactor = &reactor;
    factory->protocol = [&session] { return std::make_unique<ChatClient>(session); };
    reactor.connect_tcp(opts.host, opts.port, factory);
    reactor.run();  // until the connection ends (or Ctrl-C)
    return factory->exit_status;
  } catch (const std::exception& e) {
    std::cerr << "chatclnt: " << e.what() << std::endl;
    return 1;
  }
}
