// tls_hooks.hpp (internal) — how the core reaches TLS without linking it.
//
// Every server, the reactor and the asyncio servers can carry TLS, so the code that decides
// "this connection is TLS" is in objects that every program of the library links. If that code
// called SSLSocket or the reactor's TLS layer by name, each program would pull in ssl*.o and
// reactor_tls.o, and with them libssl and libcrypto (1.7 MB of resident memory mapped and
// relocated at start, used or not). So the core calls TLS through this table of function
// pointers instead, and only the TLS objects name OpenSSL.
//
// The table is filled in by SSLContext's constructor (src/ssl_hooks.cpp). A program can start
// TLS only with an SSLContext, so whenever the core has a TLS connection to serve, the table is
// there; a program that never makes one links no TLS object and, linked --as-needed (the
// library's link interface asks for it around OpenSSL), does not load libssl or libcrypto.
//
// Off the hot paths: each hook runs once per TLS connection (or per TLS server), never per read
// or write. A TLS request's rfile and wfile read through the StreamRef the hook returns, the
// function pointers they use for a plain socket too.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "socketserver/reactor.hpp"
#include "socketserver/stream.hpp"

namespace socketserver {

class Layer;
struct ReactorImpl;
class SSLContext;
class SSLObject;
class SSLSocket;
struct PeerCertificate;

namespace detail {

struct TlsHooks {
  // ---- the blocking servers (server.cpp, handler.cpp): once per TLS request --------------
  /// SSLContext::wrap_socket(sock, server_side = true, "", do_handshake_on_connect = false),
  /// shared (Request::tls).
  std::shared_ptr<SSLSocket> (*wrap_server_socket)(const SSLContext& context, Socket sock);
  /// SSLSocket::do_handshake, shutdown, close.
  void (*do_handshake)(SSLSocket& tls);
  void (*shutdown)(SSLSocket& tls, int how);
  void (*close)(SSLSocket& tls) noexcept;
  /// detail::stream_ref(tls): what rfile and wfile read and write.
  StreamRef (*stream_ref)(SSLSocket& tls);

  // ---- the reactor (reactor_io.cpp, protocol.cpp) -----------------------------------------
  /// Transport::start_tls on a StreamConnection: the TLS layer over `above`, not yet
  /// installed. Throws as wrap_bio.
  std::unique_ptr<Layer> (*start_tls_layer)(ReactorImpl& impl, const SSLContext& context,
                                            bool server_side, const std::string& server_hostname,
                                            Protocol& above);
  /// SSLObject::getpeercert (Transport::get_peer_certificate).
  std::optional<PeerCertificate> (*getpeercert)(const SSLObject& session);

  // ---- the asyncio servers (asyncio_server.cpp): once per server ---------------------------
  /// Reactor::listen_ssl.
  ListeningPort& (*listen_ssl)(Reactor& reactor, int port, std::shared_ptr<Factory> factory,
                               const SSLContext& context, const ListenOptions& options);
};

/// The table, once an SSLContext has been made; std::logic_error before (a TLS object reached
/// without one: a bug of the library, not of the program). Any thread.
const TlsHooks& tls_hooks();
/// Publishes `hooks` (a table with static storage). Any thread; the same table every time.
void set_tls_hooks(const TlsHooks& hooks) noexcept;

/// The TLS side's table (src/ssl_hooks.cpp), published by SSLContext's constructor.
void install_tls_hooks() noexcept;

}  // namespace detail
}  // namespace socketserver
