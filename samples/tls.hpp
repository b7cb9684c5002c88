// tls.hpp — the TLS contexts of the samples (tsTservTLS, tsTclntTLS, and --tls on tsTservSS/
// tsTclntSS and the reactor's tsTservTW/tsTclntTW), from the options common.hpp reads:
//
//   server_context()  Python: ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
//                             ctx.load_cert_chain(certfile, keyfile)         (--cert, --key)
//                     (without --key the error says where the key was looked for)
//                     without --cert: a self-signed certificate for localhost, made in memory
//                     now, its SHA-256 fingerprint printed on stderr (trying needs no files)
//   client_context()  Python: ctx = ssl.create_default_context(cafile=...)  (--cafile; else the
//                     system's CA store); --insecure: ctx.check_hostname = False,
//                     ctx.verify_mode = ssl.CERT_NONE, and a loud warning on stderr
//   print_peer()      on stderr: the TLS version and the fingerprint of the server's certificate,
//                     to compare with the one the server printed (an SSLSocket, or a reactor's
//                     Transport once its handshake has completed)
//   explain()         an error's line, and for a certificate that did not verify, what to do
//                     (explain_verify_failure(): that second line alone, for the reactor's
//                     clients, whose failures come as a Reason's message)
//
// Not part of the library. A teaching aside: a self-signed certificate proves nothing by itself;
// the client either trusts that very certificate (--cafile with it) or a person compares the
// fingerprints (--insecure only encrypts: whoever answers could be anyone).
#pragma once

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"

namespace samples {

/// How long a peer may take to complete the handshake (the blocking samples wait no longer).
inline constexpr std::chrono::seconds kHandshakeTimeout{10};

/// A server's: kHandshakeTimeout, or --timeout (the idle timeout) when that is shorter.
inline std::chrono::duration<double> handshake_timeout(const Options& opts) {
  const std::chrono::duration<double> limit = kHandshakeTimeout;
  return opts.idle_timeout ? std::min(limit, *opts.idle_timeout) : limit;
}

/// The server's context: --cert/--key, or a self-signed certificate for localhost (and --host,
/// when that is a name or a particular address), its fingerprint printed on stderr.
inline std::shared_ptr<socketserver::SSLContext> server_context(const Program& p,
                                                                const Options& opts) {
  namespace ss = socketserver;
  auto ctx = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_SERVER);
  if (!opts.cert.empty()) {
    try {
      ctx->load_cert_chain(opts.cert, opts.key);
    } catch (const ss::ssl_error& e) {
      if (!opts.key.empty()) throw;
      // OpenSSL's (and Python's) "PEM lib" does not say what is missing: without --key, the
      // private key is looked for in the --cert file, which usually has none.
      throw std::runtime_error(std::string(e.what()) + " (with no --key, " + opts.cert +
                               " must hold the certificate and its private key)");
    }
    std::cerr << p.name << ": certificate " << opts.cert << std::endl;
    return ctx;
  }
  std::vector<std::string> hosts = {"localhost", "127.0.0.1", "::1"};
  if (!opts.host.empty() && opts.host != "0.0.0.0" && opts.host != "::" &&
      std::find(hosts.begin(), hosts.end(), opts.host) == hosts.end()) {
    hosts.push_back(opts.host);
  }
  const ss::SelfSigned made = ss::make_self_signed_certificate(hosts);
  ctx->load_cert_chain_pem(made.cert_pem, made.key_pem);
  std::string names;
  for (const std::string& h : hosts) names += (names.empty() ? "" : ", ") + h;
  std::cerr << p.name << ": no --cert: made a self-signed certificate for " << names
            << " (in memory, new at each start)\n"
            << p.name << ": its SHA-256 fingerprint: " << ss::certificate_fingerprint(made.cert_pem)
            << std::endl;
  return ctx;
}

/// The client's context: it verifies the server's certificate against --cafile or the system's
/// CA store, and its name against --host; --insecure verifies nothing, and says so on stderr.
inline socketserver::SSLContext client_context(const Program& p, const Options& opts) {
  namespace ss = socketserver;
  if (!opts.insecure) return ss::create_default_context(ss::Purpose::SERVER_AUTH, opts.cafile);
  ss::SSLContext ctx(ss::PROTOCOL_TLS_CLIENT);
  ctx.check_hostname = false;  // first: check_hostname needs verification
  ctx.verify_mode = ss::CERT_NONE;
  std::cerr << p.name << ": WARNING: --insecure: the server's certificate is NOT verified\n"
            << p.name << ": (not who signed it, not that it is for '" << opts.host
            << "'): the connection is encrypted,\n"
            << p.name << ": but to whoever answers. Compare the fingerprint below with the one\n"
            << p.name << ": the server printed, or use --cafile with its certificate." << std::endl;
  return ctx;
}

/// "tsTclntTLS: TLSv1.3, server certificate SHA-256 fingerprint AB:CD:..." on stderr.
inline void print_peer(const Program& p, const std::optional<std::string>& version,
                       const std::optional<socketserver::PeerCertificate>& cert) {
  std::cerr << p.name << ": " << version.value_or("TLS") << ", server certificate SHA-256 "
            << "fingerprint "
            << (cert ? socketserver::certificate_fingerprint_der(cert->der) : "(none)")
            << std::endl;
}
inline void print_peer(const Program& p, const socketserver::SSLSocket& sock) {
  print_peer(p, sock.version(), sock.getpeercert());
}
/// The reactor's (Twisted's getPeerCertificate), from the protocol's handshake_completed().
inline void print_peer(const Program& p, const socketserver::Transport& transport) {
  const socketserver::SSLObject* tls = transport.ssl_object();
  print_peer(p, tls != nullptr ? tls->version() : std::nullopt, transport.get_peer_certificate());
}

/// For a certificate that did not verify: what to do, a line on stderr.
inline void explain_verify_failure(const Program& p) {
  std::cerr << p.name << ": (a server with a self-signed certificate: --cafile FILE with that "
            << "certificate, or --insecure to skip the check)" << std::endl;
}

/// An error's line on stderr; for a certificate that did not verify, a second one: what to do.
inline void explain(const Program& p, const std::exception& e) {
  std::cerr << p.name << ": " << e.what() << std::endl;
  if (dynamic_cast<const socketserver::cert_verification_error*>(&e) != nullptr) {
    explain_verify_failure(p);
  }
}

}  // namespace samples
