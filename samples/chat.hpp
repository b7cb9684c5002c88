// chat.hpp — the chat itself (Exercises 2-8 to 2-10), shared by the two chat servers: chatserv
// (a reactor Protocol per user, the Twisted way) and chatservAIO (a coroutine per user, the
// asyncio way). What differs between them is only how a user's bytes come and go; who is
// called what, the rooms, the commands and the announcements are written once, here.
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
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "socketserver/reactor.hpp"

namespace samples {

/// The chat servers' bounds (chatserv, chatservAIO; selectchat has its own MAX_LINE, as the
/// Python program it mirrors would): a longer line is an error and
/// a bye; a listener whose unsent lines pass the high mark does not read and is let go (the
/// server's memory stays bounded and no speaker waits); sending resumes below the low one.
inline constexpr std::size_t kChatMaxLine = 4096;
inline constexpr std::size_t kChatHighMark = 256 * 1024;
inline constexpr std::size_t kChatLowMark = 64 * 1024;

/// One user, as the chat sees them; each server says how a line reaches them.
class ChatMember {
 public:
  std::string nick;  ///< "" until the chat has let them in (ChatRooms::arrive)
  std::string room;

  /// Sends one line (the "\n" is added). False: this user is too far behind in reading; the
  /// chat lets them go (let_go) once it has finished telling the room.
  bool tell(std::string line) {
    line += '\n';
    return send(line);
  }
  /// Sends `line_nl`, one line with its "\n", as it is: what the room hears is built once and
  /// the same bytes go to each listener (ChatRooms::tell_room). False: as tell's.
  virtual bool send(std::string_view line_nl) = 0;
  /// The user does not read what the room says: disconnect them.
  virtual void let_go() {}
  /// "/quit": close the connection once "bye" is sent.
  virtual void quit() = 0;

 protected:
  ChatMember() = default;
  ~ChatMember() = default;
  ChatMember(const ChatMember&) = default;
  ChatMember& operator=(const ChatMember&) = default;
};

/// Everything the users share: who is called what, and who is in which room.
class ChatRooms {
 public:
  explicit ChatRooms(socketserver::Reactor& reactor) : reactor_(reactor) {}

  std::map<std::string, ChatMember*> users;            // nick -> user
  std::map<std::string, std::set<ChatMember*>> rooms;  // room -> its users

  /// A new user: named guestN, welcomed, put in #lobby.
  void arrive(ChatMember& user) {
    user.nick = new_guest_name();
    users[user.nick] = &user;
    user.tell("* welcome, " + user.nick +
              "! commands: /nick NAME, /join ROOM, /who, /rooms, /quit");
    join(user, "lobby");
  }

  /// The server is closing and lets everyone go at once: from now on a user who departs is not
  /// announced to the others (who are going too; 2,000 users would otherwise cost 2,000 x 2,000
  /// "has left" lines on the way out).
  void close() { closing_ = true; }

  /// The user has gone (however): out of their room and the list of names.
  void depart(ChatMember& user) {
    if (user.nick.empty()) return;
    leave(user);
    users.erase(user.nick);
  }

  /// One line from `user`, without its "\n": a command, or something said to the room.
  void command(ChatMember& user, std::string_view line) {
    if (line.ends_with('\r')) line.remove_suffix(1);  // telnet sends "\r\n"
    if (line.empty()) return;
    if (!line.starts_with('/')) {
      tell_room(user.room, "<" + user.nick + "> " + std::string(line), &user);  // not the speaker
      return;
    }
    // "/join  python" -> command "/join", argument "python"
    const std::size_t space = line.find(' ');
    const std::string cmd(line.substr(0, space));
    const std::string arg = space == std::string_view::npos ? "" : strip(line.substr(space));
    if (cmd == "/nick") {
      rename(user, arg);
    } else if (cmd == "/join") {
      const std::string room = arg.starts_with('#') ? arg.substr(1) : arg;
      if (!valid_name(room)) {
        user.tell("* usage: /join ROOM (letters, digits, '_' and '-'; 1-16 characters)");
      } else if (room == user.room) {
        user.tell("* you are already in #" + room);
      } else {
        leave(user);
        join(user, room);
      }
    } else if (cmd == "/who") {
      std::set<std::string> nicks;  // sorted
      for (const ChatMember* other : rooms[user.room]) nicks.insert(other->nick);
      std::string names;
      for (const std::string& nick : nicks) names += (names.empty() ? "" : ", ") + nick;
      user.tell("* in #" + user.room + ": " + names);
    } else if (cmd == "/rooms") {
      std::string list;
      for (const auto& [name, members] : rooms) {
        list +=
            (list.empty() ? "" : ", ") + ("#" + name) + " (" + std::to_string(members.size()) + ")";
      }
      user.tell("* rooms: " + list);
    } else if (cmd == "/quit") {
      user.tell("* bye, " + user.nick);
      user.quit();
    } else {
      user.tell("* unknown command " + cmd);
    }
  }

  /// Sends `line` to everyone in `room` except `skip` (the speaker). Never waits: a user who
  /// does not read only fills their own buffer, and past its mark is let go.
  void tell_room(const std::string& room, std::string line, ChatMember* skip = nullptr) {
    auto it = rooms.find(room);
    if (it == rooms.end()) return;
    line += '\n';  // once for the room, not once per listener
    std::vector<ChatMember*> behind;
    for (ChatMember* user : it->second) {
      if (user != skip && !user->send(line)) behind.push_back(user);
    }
    for (ChatMember* user : behind) user->let_go();  // after the loop: letting go may leave
  }

 private:
  static bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > 16) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
  }

  std::string new_guest_name() {
    std::string nick;
    do {
      nick = "guest" + std::to_string(++guests_);
    } while (users.contains(nick));  // someone may already have called themselves guest7
    return nick;
  }

  void rename(ChatMember& user, const std::string& nick) {
    if (!valid_name(nick)) {
      user.tell("* usage: /nick NAME (letters, digits, '_' and '-'; 1-16 characters)");
    } else if (users.contains(nick)) {
      user.tell("* the nick " + nick + " is taken");
    } else {
      tell_joins_before(user.room, user.nick);
      users.erase(user.nick);
      users[nick] = &user;
      tell_room(user.room, "* " + user.nick + " is now known as " + nick);  // the user too
      std::cout << user.nick << " is now " << nick << std::endl;
      user.nick = nick;
    }
  }

  // Everyone in the room, the newcomer too, hears of it (the newcomer as a confirmation), in
  // the next batch of joins.
  void join(ChatMember& user, const std::string& room) {
    user.room = room;
    rooms[room].insert(&user);
    announce_join(room, user.nick);
  }

  void leave(ChatMember& user) {
    if (!closing_) tell_joins_before(user.room, user.nick);
    auto it = rooms.find(user.room);
    if (it == rooms.end()) return;
    it->second.erase(&user);
    if (it->second.empty()) {
      rooms.erase(it);  // the last one out: the room is gone
    } else if (!closing_) {
      tell_room(user.room, "* " + user.nick + " has left #" + user.room);
    }
  }

  // `nick` has joined `room`: told to the room with the others who join within 100 ms.
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
  void flush_joins() {
    flush_pending_ = false;
    std::map<std::string, std::vector<std::string>> batch;
    batch.swap(joined_);
    for (const auto& [room, nicks] : batch) tell_joins(room, nicks);
  }
  // "* guest7 has joined #lobby", "* guest7 and guest8 have joined #lobby",
  // "* guest7, guest8, guest9, guest10, guest11 and 95 others have joined #lobby".
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

  socketserver::Reactor& reactor_;
  int guests_ = 0;
  std::map<std::string, std::vector<std::string>> joined_;  // room -> joins not yet told
  bool flush_pending_ = false;
  bool closing_ = false;
};

}  // namespace samples
