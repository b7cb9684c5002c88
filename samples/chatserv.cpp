// chatserv.cpp — Exercises 2-8 to 2-10: a full-duplex chat server with many users and rooms,
// on the reactor (the Twisted way: one loop, one Protocol object per user, no threads).
//
// The chat itself (the commands, the rooms, the batched join announcements) is samples/chat.hpp,
// shared with chatservAIO, the same server written with coroutines; here is how a user's bytes
// come and go on the reactor.
// Try it:  chatserv            then, in two or more terminals:  chatclnt  (or nc localhost 21567)
#include <iostream>
#include <memory>
#include <string>

#include "chat.hpp"
#include "common.hpp"

namespace ss = socketserver;

// One user. A LineReceiver: line_received() gets each line; what the chat says comes with
// its "\n" (send), so it goes straight to the transport.
class ChatProtocol : public ss::LineReceiver, public samples::ChatMember {
 public:
  explicit ChatProtocol(samples::ChatRooms& chat) : chat_(chat) {
    delimiter = "\n";
    max_length = samples::kChatMaxLine;  // a longer line gets an error and the connection is closed
  }

  void connection_made() override {
    // What others say piles up for a user who does not read: past 256 KiB, pause_writing().
    transport().set_write_buffer_limits(samples::kChatHighMark, samples::kChatLowMark);
    chat_.arrive(*this);
    std::cout << nick << " connected from " << transport().get_peer() << std::endl;
  }

  void connection_lost(const ss::Reason& reason) override {
    if (nick.empty()) return;
    chat_.depart(*this);
    std::cout << nick << " left (" << reason.what() << ")" << std::endl;
  }

  void line_received(std::string_view line) override { chat_.command(*this, line); }

  bool send(std::string_view line_nl) override {
    transport().write(line_nl);  // never blocks; past the high-water mark, pause_writing()
    return true;
  }
  void quit() override { transport().lose_connection(); }  // after "bye" is sent

  // The write buffer passed its high-water mark: this user does not read what the room says.
  // (The default stops reading from them, which helps against a user who only asks; here the
  // others fill the buffer, so the user is let go — the server's memory stays bounded.)
  void pause_writing() override {
    std::cout << nick << " does not read: disconnected" << std::endl;
    transport().abort_connection();
  }

  // Twisted's lineLengthExceeded: by default the connection just closes; say why first.
  void line_length_exceeded(std::string_view /*line*/) override {
    send_line("* line too long (at most " + std::to_string(max_length) + " bytes), bye");
    transport().lose_connection();
  }

 private:
  samples::ChatRooms& chat_;
};

// The factory holds what the users share (Twisted's habit: the factory is the server's state,
// each protocol one user).
class ChatFactory : public ss::Factory {
 public:
  explicit ChatFactory(ss::Reactor& reactor) : chat_(reactor) {}
  std::unique_ptr<ss::Protocol> build_protocol(const ss::Address& /*addr*/) override {
    return std::make_unique<ChatProtocol>(chat_);
  }

 private:
  samples::ChatRooms chat_;
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "chatserv",
       .summary = "Exercises 2-8 to 2-10: a chat server on the reactor. Many users, rooms;\n"
                  "commands /nick NAME, /join ROOM, /who, /rooms, /quit; any other line goes\n"
                  "to everyone else in your room.",
       .default_host = "localhost",
       .server = true,
       .has_idle_timeout = true});

  try {
    ss::Reactor reactor;
    auto factory = std::make_shared<ChatFactory>(reactor);
    ss::ListeningPort& port = reactor.listen_tcp(
        opts.port, factory, {.interface = opts.host, .idle_timeout = opts.idle_timeout});
    // Printed once run() has installed its Ctrl-C and SIGTERM handlers (see tsTservTW.cpp).
    reactor.call_when_running([&port] {
      std::cerr << "listening on " << port.get_host() << std::endl;
      std::cout << "waiting for users..." << std::endl;
    });
    reactor.run();  // until Ctrl-C or SIGTERM
    std::cerr << "chatserv: " << samples::signal_name(reactor.stopped_by_signal())
              << " received, server closed" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "chatserv: " << e.what() << std::endl;  // e.g. "... Address already in use"
    return 1;
  }
}
