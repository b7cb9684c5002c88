// Boost.Asio timestamp server over TLS, written as Asio's ssl examples write one: async_accept,
// an ssl::stream<tcp::socket> per connection, async_handshake, then async_read_until('\n') on a
// streambuf and async_write of the reply. --threads N: N threads call io_context::run().
// --tls-cert/--tls-key: the PEM certificate chain and key (the runner makes an ECDSA P-256 one).
#include "asio_common.hpp"

#include <boost/asio/ssl.hpp>

#include <memory>

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ssl::context& context) : stream_(std::move(socket), context) {}
  void start() {
    // TCP_NODELAY, as every TLS server of the benchmark: TLS 1.3's session tickets go out just
    // before the first reply, which Nagle would otherwise hold for the client's delayed ACK.
    boost::system::error_code ignored;
    stream_.lowest_layer().set_option(tcp::no_delay(true), ignored);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](boost::system::error_code ec) {
                              if (!ec) self->read_line();
                            });
  }

 private:
  void read_line() {
    asio::async_read_until(stream_, input_, '\n',
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
    asio::async_write(stream_, asio::buffer(reply_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (!ec) self->read_line();
                      });
  }

  ssl::stream<tcp::socket> stream_;
  asio::streambuf input_;
  std::string reply_;
};

class Server {
 public:
  Server(tcp::acceptor acceptor, ssl::context& context)
      : acceptor_(std::move(acceptor)), context_(context) {
    accept();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) std::make_shared<Session>(std::move(socket), context_)->start();
      accept();
    });
  }
  tcp::acceptor acceptor_;
  ssl::context& context_;
};

void serve(asio::io_context& io, const anchor::Options& opts) {
  if (opts.tls_cert.empty()) {
    anchor::usage("asio_tls_server", true, "--tls-cert and --tls-key are required", true);
  }
  ssl::context context(ssl::context::tls_server);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context.use_certificate_chain_file(opts.tls_cert);
  context.use_private_key_file(opts.tls_key, ssl::context::pem);
  Server server(anchor::listen_tcp(io, opts), context);
  anchor::run_until_signal(io, opts.threads, server.port());
}

}  // namespace

int main(int argc, char** argv) {
  return anchor::asio_main(argc, argv, "asio_tls_server", /*with_tls=*/true, serve);
}
