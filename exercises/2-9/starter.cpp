// Exercise 2-9 — starter. A chat server for many users at once, on the reactor (Twisted's
// way: one loop, one Protocol object per user) — see README.md. The clients are nc, telnet or
// the sample chatclnt.
//
//   server [--host HOST] [--port PORT]
//
// The protocol: lines of text. "/nick NAME" changes your name (everyone starts as guest1,
// guest2, ...); any other line is said to everyone else as "<NAME> text". The server's own
// lines start with "* ".
// Grade it:  make exercise EX=2-9
#include <iostream>
#include <map>
#include <string>

#include "common.hpp"  // samples::parse_args, strip (samples/common.hpp)

namespace ss = socketserver;

class User;

// What the users share lives in the factory: who is connected, under which name.
class ChatFactory : public ss::Factory {
 public:
  std::unique_ptr<ss::Protocol> build_protocol(const ss::Address& addr) override;
  std::map<std::string, User*> users;  // name -> user
  int guests = 0;
};

// One user: a LineReceiver gets each line in line_received(); send_line() adds the "\n".
class User : public ss::LineReceiver {
 public:
  explicit User(ChatFactory& chat) : chat_(chat) { delimiter = "\n"; }

  void connection_made() override {
    do {
      name_ = "guest" + std::to_string(++chat_.guests);
    } while (chat_.users.contains(name_));
    chat_.users[name_] = this;
    send_line("* welcome, " + name_ + "! /nick NAME changes your name");
  }

  void connection_lost(const ss::Reason& /*reason*/) override { chat_.users.erase(name_); }

  void line_received(std::string_view raw) override {
    const std::string line = samples::strip(raw);  // telnet ends lines with "\r\n"
    if (line.empty()) return;
    if (line.starts_with("/nick ")) {
      const std::string name = samples::strip(line.substr(6));
      if (name.empty() || chat_.users.contains(name)) {
        send_line("* the name '" + name + "' cannot be had");
        return;
      }
      chat_.users.erase(name_);
      name_ = name;
      chat_.users[name_] = this;
      send_line("* you are now " + name_);
      return;
    }
    // TODO: say `line` to every OTHER user (chat_.users), as "<" + name_ + "> " + line.
    //       (send_line() never blocks: the reactor sends when the user's socket can take it.)
  }

 private:
  ChatFactory& chat_;
  std::string name_;
};

std::unique_ptr<ss::Protocol> ChatFactory::build_protocol(const ss::Address& /*addr*/) {
  return std::make_unique<User>(*this);
}

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "server",
       .summary = "Exercise 2-9: a chat server for many users (/nick NAME; lines go to all).",
       .default_host = "localhost",
       .server = true});
  try {
    ss::Reactor reactor;
    auto factory = std::make_shared<ChatFactory>();
    ss::ListeningPort& port = reactor.listen_tcp(opts.port, factory, {.interface = opts.host});
    std::cerr << "listening on " << port.get_host() << std::endl;
    reactor.run();  // until Ctrl-C or SIGTERM
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "server: " << e.what() << std::endl;
    return 1;
  }
}
