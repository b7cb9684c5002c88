// ssl_hooks.cpp — the TLS side of tls_hooks.hpp: the table through which the core (servers,
// handlers, reactor, asyncio servers) reaches SSLSocket and the reactor's TLS layer, published
// by SSLContext's constructor. Naming it from there is what links these objects into a program
// that makes a context, and only into such a program.
#include <memory>
#include <string>
#include <utility>

#include "reactor_tls.hpp"
#include "socketserver/ssl.hpp"
#include "tls_hooks.hpp"

namespace socketserver::detail {

namespace {

const TlsHooks kTlsHooks{
    .wrap_server_socket = [](const SSLContext& context, Socket sock) -> std::shared_ptr<SSLSocket> {
      return std::make_shared<SSLSocket>(context.wrap_socket(std::move(sock), true, "", false));
    },
    .do_handshake = [](SSLSocket& tls) { tls.do_handshake(); },
    .shutdown = [](SSLSocket& tls, int how) { tls.shutdown(how); },
    .close = [](SSLSocket& tls) noexcept { tls.close(); },
    .stream_ref = [](SSLSocket& tls) { return detail::stream_ref(tls); },
    .start_tls_layer = make_start_tls_layer,
    .getpeercert = [](const SSLObject& session) { return session.getpeercert(); },
    .listen_ssl = [](Reactor& reactor, int port, std::shared_ptr<Factory> factory,
                     const SSLContext& context, const ListenOptions& options) -> ListeningPort& {
      return reactor.listen_ssl(port, std::move(factory), context, options);
    },
};

}  // namespace

void install_tls_hooks() noexcept { set_tls_hooks(kTlsHooks); }

}  // namespace socketserver::detail
