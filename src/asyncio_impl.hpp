// asyncio_impl.hpp (internal) — what the asyncio streams (asyncio_streams.cpp) share with their
// TLS half (asyncio_tls.cpp) and the servers with Python's names (asyncio_server.cpp): making a
// server from a way to listen, and awaiting a connect. The TLS half is a file of its own so
// that a program without TLS does not link it, nor through it OpenSSL (tls_hooks.hpp).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "socketserver/asyncio_streams.hpp"

namespace socketserver::asyncio::detail {

/// A server on `reactor` whose port `listen(factory)` opens (listen_tcp, listen_ssl,
/// listen_unix), its connections served by `handle` with read limit `limit`.
Server serve(Reactor& reactor, StreamHandler handle, std::size_t limit,
             const std::function<ListeningPort&(std::shared_ptr<Factory>)>& listen);

/// A server on each reactor of `group`, on one port: `start(reactor, port)` makes one (the
/// first one's port, when `port` is 0, is the others').
ServerGroup serve_group(ReactorGroup& group, int port,
                        const std::function<Server(Reactor&, int)>& start);

/// A new connection's stream state (reader and writer share it); `limit` as StreamReader's.
std::shared_ptr<StreamState> make_stream_state(std::size_t limit);

/// A connect in progress: the callbacks' side and the awaiting task's.
struct PendingConnect {
  WaitList list;
  bool done = false;
  std::optional<Reason> failed;
  /// Over TLS (open_connection with an SSLContext): throws what a failure without errno, the
  /// handshake's, is (`message` the reactor's, `to` "host:port"). Null for a plain connect.
  void (*throw_handshake_failure)(const std::string& message, const std::string& to) = nullptr;
};

/// Awaits the end of `connector`'s attempt: the connection's reader and writer over `state`,
/// or the failure thrown (an OSError naming `to`; a handshake's as throw_handshake_failure
/// says). Cancelled (or freed) before the end, it gives the attempt up.
Task<StreamPair> finish_connect(Connector& connector, std::shared_ptr<PendingConnect> pending,
                                std::shared_ptr<StreamState> state, std::string to);

}  // namespace socketserver::asyncio::detail
