// chatserv.cpp — Exercises 2-8 to 2-10: a full-duplex chat server with many users and rooms,
// on the reactor (the Twisted way: one loop, one Protocol object per user, no threads).
//
// The protocol is lines of text ("\n"; a "\r" before it is dropped, so telnet and nc work):
//   /nick NAME    change your name (letters, digits, '_' and '-'; 1-16 characters; unique)
//   /join ROOM    leave your room for ROOM ("#" optional); the rooms are made as they are joined
//   /who          who is in your room
//   /rooms        every room and how many are in it
//   /quit         leave
//   anything else is said to everyone else in your room as "<nick> text".
// Everyone starts in #lobby as guest1, guest2, ...; the server's own lines start with "* ".
// Joins are announced in batches, at most ten times a second ("* guest7 and guest8 have joined
// #lobby"): told one by one, n users joining a room would cost n*n writes (5,000 joins took
// 50 s of CPU; batched, the cost per announcement is the room's size, a few times a second).
// Try it:  chatserv            then, in two or more terminals:  chatclnt  (or nc localhost 21567)
#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common.hpp"

namespace ss = socketserver;

class ChatProtocol;

// Everything the users share lives in the factory (Twisted's habit: the factory is the server's
// state, each protocol one user): who is called what, and who is in which room.
class ChatFactory : public ss::Factory {
 public:
  explicit ChatFactory(ss::Reactor& reactor) : reactor_(reactor) {}
  std::unique_ptr<ss::Protocol> build_protocol(const ss::Address& addr) override;

  std::map<std::string, ChatProtocol*> users;            // nick -> user
  std::map<std::string, std::set<ChatProtocol*>> rooms;  // room -> its users
  int guests = 0;                                        // guest1, guest2, ...

  std::string new_guest_name() {
    std::string nick;
    do {
      nick = "guest" + std::to_string(++guests);
    } while (users.contains(nick));  // someone may already have called themselves guest7
    return nick;
  }
  // Sends `line` to everyone in `room`, except `skip` (the speaker).
  void tell_room(const std::string& room, const std::string& line, ChatProtocol* skip = nullptr);

  // `nick` has joined `room`: told to the room (the newcomer too) with the others who join
  // within the next 100 ms, in one line.
  void announce_join(const std::string& room, const std::string& nick) {
    joined_[room].push_back(nick);
    if (!flush_pending_) {
      flush_pending_ = true;
      reactor_.call_later(std::chrono::milliseconds(100), [this] { flush_joins(); });
    }
  }
  // Before `nick` leaves `room` or changes name: a join of theirs not told yet is told now, so
  // that no one hears of a leave or a new name before the join. (Rare: it takes a leave within
  // 100 ms of the join; the cost is the room's size, as the leave's own announcement.)
  void tell_joins_before(const std::string& room, const std::string& nick) {
    auto it = joined_.find(room);
    if (it != joined_.end() &&
        std::find(it->second.begin(), it->second.end(), nick) != it->second.end()) {
      std::vector<std::string> nicks;
      nicks.swap(it->second);
      joined_.erase(it);
      tell_joins(room, nicks);
    }
  }

 private:
  // "* guest7 has joined #lobby", "* guest7 and guest8 have joined #lobby",
  // "* guest7, guest8, guest9, guest10, guest11 and 95 others have joined #lobby".
  void flush_joins() {
    flush_pending_ = false;
    std::map<std::string, std::vector<std::string>> batch;
    batch.swap(joined_);
    for (const auto& [room, nicks] : batch) tell_joins(room, nicks);
  }
  void tell_joins(const std::string& room, const std::vector<std::string>& nicks) {
    constexpr std::size_t kNamed = 5;  // a line names at most five
    const std::size_t named = nicks.size() <= kNamed + 1 ? nicks.size() : kNamed;
    std::string who;
    for (std::size_t i = 0; i < named; ++i) {
      const bool last = i + 1 == named && named == nicks.size();
      who += (i == 0 ? "" : last ? " and " : ", ") + nicks[i];
    }
    if (named < nicks.size()) who += " and " + std::to_string(nicks.size() - named) + " others";
    tell_room(room, "* " + who + (nicks.size() == 1 ? " has" : " have") + " joined #" + room);
  }

  ss::Reactor& reactor_;
  std::map<std::string, std::vector<std::string>> joined_;  // room -> joins not yet told
  bool flush_pending_ = false;
};

// One user. A LineReceiver: line_received() gets each line, send_line() adds the "\n".
class ChatProtocol : public ss::LineReceiver {
 public:
  explicit ChatProtocol(ChatFactory& chat) : chat_(chat) {
    delimiter = "\n";
    max_length = 4096;  // a longer line gets an error and the connection is closed
  }

  [[nodiscard]] const std::string& nick() const { return nick_; }

  void connection_made() override {
    nick_ = chat_.new_guest_name();
    chat_.users[nick_] = this;
    // What others say piles up for a user who does not read: past 256 KiB, pause_writing().
    transport().set_write_buffer_limits(256 * 1024, 64 * 1024);
    std::cout << nick_ << " connected from " << transport().get_peer() << std::endl;
    send_line("* welcome, " + nick_ + "! commands: /nick NAME, /join ROOM, /who, /rooms, /quit");
    join("lobby");
  }

  void connection_lost(const ss::Reason& reason) override {
    if (nick_.empty()) return;
    leave();
    chat_.users.erase(nick_);
    std::cout << nick_ << " left (" << reason.what() << ")" << std::endl;
  }

  void line_received(std::string_view line) override {
    if (line.ends_with('\r')) line.remove_suffix(1);  // telnet sends "\r\n"
    if (line.empty()) return;
    if (!line.starts_with('/')) {
      chat_.tell_room(room_, "<" + nick_ + "> " + std::string(line), this);  // not to the speaker
      return;
    }
    // "/join  python" -> command "/join", argument "python"
    const std::size_t space = line.find(' ');
    const std::string command(line.substr(0, space));
    const std::string arg =
        space == std::string_view::npos ? "" : samples::strip(line.substr(space));
    if (command == "/nick") {
      rename(arg);
    } else if (command == "/join") {
      const std::string room = arg.starts_with('#') ? arg.substr(1) : arg;
      if (!valid_name(room)) {
        send_line("* usage: /join ROOM (letters, digits, '_' and '-'; 1-16 characters)");
      } else if (room == room_) {
        send_line("* you are already in #" + room);
      } else {
        leave();
        join(room);
      }
    } else if (command == "/who") {
      std::set<std::string> nicks;  // sorted
      for (const ChatProtocol* user : chat_.rooms[room_]) nicks.insert(user->nick());
      std::string names;
      for (const std::string& nick : nicks) names += (names.empty() ? "" : ", ") + nick;
      send_line("* in #" + room_ + ": " + names);
    } else if (command == "/rooms") {
      std::string list;
      for (const auto& [name, members] : chat_.rooms) {
        list +=
            (list.empty() ? "" : ", ") + ("#" + name) + " (" + std::to_string(members.size()) + ")";
      }
      send_line("* rooms: " + list);
    } else if (command == "/quit") {
      send_line("* bye, " + nick_);
      transport().lose_connection();  // after "bye" is sent; connection_lost does the rest
    } else {
      send_line("* unknown command " + command);
    }
  }

  // The write buffer passed its high-water mark: this user does not read what the room says.
  // (The default stops reading from them, which helps against a user who only asks; here the
  // others fill the buffer, so the user is let go — the server's memory stays bounded.)
  void pause_writing() override {
    std::cout << nick_ << " does not read: disconnected" << std::endl;
    transport().abort_connection();
  }

  // Twisted's lineLengthExceeded: by default the connection just closes; say why first.
  void line_length_exceeded(std::string_view /*line*/) override {
    send_line("* line too long (at most " + std::to_string(max_length) + " bytes), bye");
    transport().lose_connection();
  }

 private:
  static bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > 16) return false;
    for (const char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
    }
    return true;
  }

  void rename(const std::string& nick) {
    if (!valid_name(nick)) {
      send_line("* usage: /nick NAME (letters, digits, '_' and '-'; 1-16 characters)");
    } else if (chat_.users.contains(nick)) {
      send_line("* the nick " + nick + " is taken");
    } else {
      chat_.tell_joins_before(room_, nick_);
      chat_.users.erase(nick_);
      chat_.users[nick] = this;
      chat_.tell_room(room_, "* " + nick_ + " is now known as " + nick);  // the user too
      std::cout << nick_ << " is now " << nick << std::endl;
      nick_ = nick;
    }
  }

  // Everyone in the room, the newcomer too, hears of it (the newcomer as a confirmation),
  // in the next batch of joins.
  void join(const std::string& room) {
    room_ = room;
    chat_.rooms[room_].insert(this);
    chat_.announce_join(room_, nick_);
  }

  void leave() {
    chat_.tell_joins_before(room_, nick_);
    auto it = chat_.rooms.find(room_);
    if (it == chat_.rooms.end()) return;
    it->second.erase(this);
    if (it->second.empty()) {
      chat_.rooms.erase(it);  // the last one out: the room is gone
    } else {
      chat_.tell_room(room_, "* " + nick_ + " has left #" + room_);
    }
  }

  ChatFactory& chat_;
  std::string nick_;
  std::string room_;
};

std::unique_ptr<ss::Protocol> ChatFactory::build_protocol(const ss::Address& /*addr*/) {
  return std::make_unique<ChatProtocol>(*this);
}

void ChatFactory::tell_room(const std::string& room, const std::string& line, ChatProtocol* skip) {
  auto it = rooms.find(room);
  if (it == rooms.end()) return;
  for (ChatProtocol* user : it->second) {
    // write() never blocks: a user who does not read only fills their own buffer (and above
    // the transport's high-water mark, the reactor stops reading from them).
    if (user != skip) user->send_line(line);
  }
}

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
