// Boost.Asio timestamp server, written the way the Asio examples write one: async_accept,
// then per connection async_read_until('\n') on a streambuf and async_write of the reply.
// --threads N: N threads call io_context::run() (1 and 2 are measured).
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (GCC 12, C++20).
#include <utility>

#include <boost/asio.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "anchor_common.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}
  void start() { read_line(); }

 private:
  void read_line() {
    asio::async_read_until(socket_, input_, '\n',
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                             if (!ec) self->reply(n);
                           });
  }

  void reply(std::size_t n) {
    reply_.clear();
    anchor::append_stamp(reply_);
    auto data = input_.data();
    reply_.append(asio::buffers_begin(data), asio::buffers_begin(data) + static_cast<std::ptrdiff_t>(n));
    input_.consume(n);
    asio::async_write(socket_, asio::buffer(reply_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (!ec) self->read_line();
                      });
  }

  tcp::socket socket_;
  asio::streambuf input_;
  std::string reply_;
};

class Server {
 public:
  Server(asio::io_context& io, const tcp::endpoint& at) : acceptor_(io) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    accept();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) std::make_shared<Session>(std::move(socket))->start();
      accept();
    });
  }
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  anchor::Options opts = anchor::parse_args(argc, argv, /*with_threads=*/true);
  anchor::init_process();  // asio's signal_set below takes SIGTERM/SIGINT over
  try {
    asio::io_context io(opts.threads);
    Server server(io, tcp::endpoint(asio::ip::make_address(opts.host),
                                    static_cast<unsigned short>(opts.port)));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](boost::system::error_code, int) { io.stop(); });
    anchor::announce_port(server.port());
    std::vector<std::thread> extra;
    for (int i = 1; i < opts.threads; ++i) extra.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : extra) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
