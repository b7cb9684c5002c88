// chat_peer.hpp — a chat user on a raw socket, for the chat servers' tests (chatserv,
// selectchat, chatservAIO): Peer and join_chat. Every wait is bounded by kWait.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sample_util.hpp"

namespace sample_test {

// A line-oriented chat user on a raw socket: say() sends a line, wait_line() reads lines until
// one contains the needle (each line is looked at once; the ones before it are passed over),
// all() is everything received so far.
class Peer {
 public:
  explicit Peer(int port) : fd_(tcp_connect(AF_INET, port)) {}
  explicit operator bool() const { return static_cast<bool>(fd_); }
  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] const std::string& all() const { return buf_; }

  bool say(const std::string& line) { return send_all(fd_.get(), line + "\n"); }

  // The next line (after those already looked at) that contains `needle`, within kWait.
  std::optional<std::string> wait_line(std::string_view needle) {
    const auto deadline = Clock::now() + kWait;
    for (;;) {
      for (auto nl = buf_.find('\n', pos_); nl != std::string::npos; nl = buf_.find('\n', pos_)) {
        std::string line = buf_.substr(pos_, nl - pos_);
        pos_ = nl + 1;
        if (line.find(needle) != std::string::npos) return line;
      }
      if (!receive(deadline)) return std::nullopt;
    }
  }
  // True when the server closes the connection within kWait (reading what comes before).
  bool sees_eof() {
    const auto deadline = Clock::now() + kWait;
    while (receive(deadline)) {
    }
    return eof_;
  }

 private:
  // Appends what arrives (one recv); false at the end of the stream or of the deadline.
  bool receive(Clock::time_point deadline) {
    while (!eof_ && Clock::now() < deadline) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) continue;
      char chunk[8192];
      const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      buf_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

  Fd fd_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false;
};

// Connects a chat user and waits for the welcome that names it ("* welcome, guest1! ...").
inline std::unique_ptr<Peer> join_chat(int port, const std::string& expected_nick) {
  auto p = std::make_unique<Peer>(port);
  if (!*p) {
    ADD_FAILURE() << "connect to port " << port;
    return p;
  }
  EXPECT_TRUE(p->wait_line("* welcome, " + expected_nick + "!")) << p->all();
  return p;
}

}  // namespace sample_test
