// Boost.Asio timestamp server, written the way the Asio examples write one: async_accept,
// then per connection async_read_until('\n') on a streambuf and async_write of the reply.
// --threads N: N threads call io_context::run() (1 and 2 are measured).
#include <memory>

#include "asio_common.hpp"

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
  explicit Server(tcp::acceptor acceptor) : acceptor_(std::move(acceptor)) { accept(); }
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

void serve(asio::io_context& io, const anchor::Options& opts) {
  Server server(anchor::listen_tcp(io, opts));
  anchor::run_until_signal(io, opts.threads, server.port());
}

}  // namespace

int main(int argc, char** argv) {
  return anchor::asio_main(argc, argv, "asio_server", /*with_tls=*/false, serve);
}
