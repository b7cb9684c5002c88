// The UDP limit: a minimal recvfrom/sendto loop; each datagram "text" gets "[ctime] text" back.
#include "anchor_common.hpp"

int main(int argc, char** argv) {
  anchor::Options opts = anchor::parse_args(argc, argv);
  anchor::init_process();
  int fd = anchor::make_socket(opts, SOCK_DGRAM);
  anchor::announce_port(anchor::local_port(fd));
  static char buf[65536];
  std::string reply;
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
    if (n < 0) continue;  // EINTR, or an ICMP error from an earlier reply
    reply.clear();
    anchor::append_stamp(reply);
    reply.append(buf, static_cast<std::size_t>(n));
    ::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
  }
}
