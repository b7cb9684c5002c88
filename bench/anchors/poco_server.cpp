// Poco::Net::TCPServer timestamp server: a TCPServerConnection subclass per connection, Poco's
// default parameters except maxThreads = 256 (a persistent connection holds a pool thread for
// its whole life, so 128 connections need at least 128 threads; Poco's default pool stops at
// 16) and a SOMAXCONN listen backlog like the other C++ anchors.
#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>

#include "anchor_common.hpp"

namespace {

class TimestampConnection : public Poco::Net::TCPServerConnection {
 public:
  using Poco::Net::TCPServerConnection::TCPServerConnection;

  void run() override {
    Poco::Net::StreamSocket& s = socket();
    char buf[16384];
    std::string in;
    std::string reply;
    try {
      for (;;) {
        int n = s.receiveBytes(buf, sizeof buf);
        if (n <= 0) break;
        reply.clear();
        if (in.empty()) {
          std::string_view data(buf, static_cast<std::size_t>(n));
          in.assign(data.substr(anchor::stamp_lines(data, reply)));
        } else {
          in.append(buf, static_cast<std::size_t>(n));
          in.erase(0, anchor::stamp_lines(in, reply));
        }
        std::size_t sent = 0;
        while (sent < reply.size()) {
          sent += static_cast<std::size_t>(
              s.sendBytes(reply.data() + sent, static_cast<int>(reply.size() - sent)));
        }
      }
    } catch (const Poco::Exception&) {
      // the peer reset the connection: this one is over
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  anchor::Options opts = anchor::parse_args(argc, argv);
  anchor::init_process();
  try {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(opts.host, static_cast<Poco::UInt16>(opts.port)),
                /*reuseAddress=*/true);
    socket.listen(SOMAXCONN);
    auto* params = new Poco::Net::TCPServerParams;  // owned by the server (AutoPtr)
    params->setMaxThreads(256);
    Poco::ThreadPool pool(2, 256);
    Poco::Net::TCPServer server(
        new Poco::Net::TCPServerConnectionFactoryImpl<TimestampConnection>(), pool, socket, params);
    server.start();
    anchor::announce_port(socket.address().port());
    for (;;) pause();  // SIGTERM/SIGINT end the process (anchor::init_process)
  } catch (const Poco::Exception& e) {
    std::fprintf(stderr, "poco_server: %s\n", e.displayText().c_str());
    return 1;
  }
}
