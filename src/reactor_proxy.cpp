// reactor_proxy.cpp — the PROXY protocol in the reactor (ListenOptions::proxy_protocol): each
// connection of a port behind a balancer starts with a header reader, a Layer that takes the
// connection's first reads, parses them (parse_proxy_header, incrementally: a header may come a
// byte at a time) and, once the header is whole, gives the connection the real client's address
// and hands it over to what would have run without a balancer — the factory's protocol, or
// listen_ssl's TLS layer — with the bytes that followed the header. From then on the reader is
// out of the way: the connection calls the new protocol directly.
//
// The reader holds at most one header (107 bytes for version 1, 4 KiB for version 2, decided
// from a version 2 header's first 16 bytes) and the rest of the read that completed it. A peer
// that is not trusted, a header that is not one, that ends or that is not whole within
// proxy_header_timeout closes the connection with one line on stderr; no protocol is built.
#include <cerrno>
#include <cstdio>
#include <stdexcept>

#include "reactor_impl.hpp"
#include "socketserver/detail/buffer.hpp"
#include "timeout.hpp"

namespace socketserver {

namespace {

/// A port's PROXY settings, shared by its connections' readers.
struct ProxySettings {
  std::vector<std::string> trusted;
  Timeout timeout;
  LayerMaker next;  // listen_ssl's TLS layer; empty: the factory's protocol
};

class ProxyHeaderReader final : public Layer {
 public:
  ProxyHeaderReader(ReactorImpl& impl, std::shared_ptr<const ProxySettings> settings,
                    Factory& factory)
      : impl_(impl), settings_(std::move(settings)), factory_(factory) {}
  ~ProxyHeaderReader() override { timer_.cancel(); }
  ProxyHeaderReader(const ProxyHeaderReader&) = delete;
  ProxyHeaderReader& operator=(const ProxyHeaderReader&) = delete;

  // ---- Protocol: the connection under it -------------------------------------------------
  void connection_made() override {
    if (!is_trusted_proxy(stream->get_peer(), settings_->trusted)) {
      refuse("not a trusted proxy (ListenOptions::trusted_proxies)", EPROTO);
      return;
    }
    if (settings_->timeout) timer_ = impl_.schedule(*settings_->timeout, [this] { timed_out(); });
  }

  void data_received(std::string_view data) override {
    if (done_) return;
    // The usual case, the whole header in one read, is parsed where it lies; only a header
    // still arriving is kept, and parsed again whole with each read.
    const std::size_t had = got_.size();
    if (had > 0) got_.append(data);
    ProxyParse parse = parse_proxy_header(had > 0 ? got_.view() : data);
    if (parse.status == ProxyParse::Status::incomplete) {
      if (had == 0) got_.append(data);
      return;
    }
    if (parse.status == ProxyParse::Status::invalid) {
      refuse(parse.error, EPROTO);
      return;
    }
    // The bytes kept before were all the header's (it was not whole): the rest is in `data`.
    if (parse.header.length < had) {  // cannot be (fuzz_proxy_protocol: a header's prefixes are
                                      // incomplete); never let a wrap reach substr
      refuse("a header shorter than the bytes that came before its end", EPROTO);
      return;
    }
    const std::size_t used = parse.header.length - had;
    proxied(std::move(parse.header), data.substr(used));
  }

  void read_connection_lost() override {
    if (!done_) refuse("the connection ended before the header did", EPROTO);
  }

  void connection_lost(const Reason& /*reason*/) override {
    done_ = true;
    timer_.cancel();
  }

  // ---- Transport: nothing is above the reader until the header is read, and then the reader
  // is out of the way; so these only pass a call on to the connection.
  void write(std::string_view data) override { stream->write(data); }
  void lose_connection() override { stream->lose_connection(); }
  void abort_connection() override { stream->abort_connection(); }
  void lose_write_connection() override { stream->lose_write_connection(); }
  [[nodiscard]] Address get_peer() const override { return stream->get_peer(); }
  [[nodiscard]] Address get_host() const override { return stream->get_host(); }
  void set_tcp_nodelay(bool enabled) override { stream->set_tcp_nodelay(enabled); }
  void set_tcp_keepalive(bool enabled) override { stream->set_tcp_keepalive(enabled); }
  void pause_producing() override { stream->pause_producing(); }
  void resume_producing() override { stream->resume_producing(); }
  [[nodiscard]] std::size_t write_buffer_size() const override {
    return stream->write_buffer_size();
  }
  void set_write_buffer_limits(std::size_t high, std::size_t low) override {
    stream->set_write_buffer_limits(high, low);
  }
  [[nodiscard]] bool disconnecting() const override { return stream->disconnecting(); }
  [[nodiscard]] Reactor& reactor() const override { return impl_.owner; }

 private:
  // The header is whole: the connection names the client, and what comes next takes over.
  void proxied(ProxyHeader header, std::string_view rest) {
    done_ = true;
    timer_.cancel();
    got_ = detail::ByteBuffer{};
    StreamConnection& conn = *stream;
    conn.set_proxied(std::move(header));
    const Address peer = conn.get_peer();
    std::unique_ptr<Protocol> next;
    Layer* layer = nullptr;
    try {
      if (settings_->next) {
        std::unique_ptr<Layer> l = settings_->next(peer, factory_, conn.factory_keep, nullptr);
        layer = l.get();
        next = std::move(l);
      } else {
        next = factory_.build_protocol(peer);
      }
    } catch (...) {
      impl_.report_exception(settings_->next ? "connection layer" : "build_protocol",
                             peer.to_string());
    }
    if (!next) {
      conn.begin_close(Reason{false, ECONNREFUSED, "build_protocol refused the connection."});
      return;
    }
    if (layer != nullptr) layer->stream = &conn;
    conn.replace_protocol(std::move(next), factory_, rest);  // this reader is spent from here
  }

  void timed_out() {
    if (done_) return;
    char text[32];
    std::snprintf(text, sizeof text, "%g", settings_->timeout->count());
    refuse(std::string("timed out after ") + text + " s (proxy_header_timeout)", ETIMEDOUT);
  }

  // The connection ends here, with one line on stderr (as a SocketServer's "proxy" report).
  void refuse(std::string_view why, int err) {
    done_ = true;
    timer_.cancel();
    got_ = detail::ByteBuffer{};
    const proxy_header_error error("PROXY header from " + stream->get_peer().to_string(), why);
    impl_.reporter.report("proxy", error.what());
    stream->begin_close(Reason{false, err, error.what()});
  }

  ReactorImpl& impl_;
  std::shared_ptr<const ProxySettings> settings_;
  Factory& factory_;
  detail::ByteBuffer got_;  // the first bytes of a header not yet whole
  DelayedCall timer_;       // proxy_header_timeout
  bool done_ = false;       // the header was read, or the connection refused
};

}  // namespace

void StreamConnection::set_proxied(ProxyHeader header) {
  auto proxied = std::make_unique<Proxied>(Proxied{std::move(header), peer_});
  if (proxied->header.command == ProxyHeader::Command::proxy && proxied->header.source) {
    peer_ = *proxied->header.source;
  }
  proxied_ = std::move(proxied);
}

void check_proxy_options(const ListenOptions& options, const char* where) {
  if (!options.proxy_protocol || !options.proxy_header_timeout) return;
  detail::check_seconds(options.proxy_header_timeout->count(),
                        (std::string(where) + ": proxy_header_timeout").c_str(), false);
}

void add_proxy_layer(ReactorImpl& impl, ListeningPort& port, const ListenOptions& options) {
  if (!options.proxy_protocol) return;
  Port* p = ReactorImpl::port_of(port);
  auto settings = std::make_shared<const ProxySettings>(
      ProxySettings{options.trusted_proxies, options.proxy_header_timeout, std::move(p->layer)});
  p->layer = [impl = &impl, settings = std::move(settings)](
                 const Address& /*peer*/, Factory& factory,
                 const std::shared_ptr<Factory>& /*keep*/,
                 Connector* /*connector*/) -> std::unique_ptr<Layer> {
    return std::make_unique<ProxyHeaderReader>(*impl, settings, factory);
  };
}

}  // namespace socketserver
