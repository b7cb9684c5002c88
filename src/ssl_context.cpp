// ssl_context.cpp — SSLContext, create_default_context and the TLS errors, over OpenSSL 3
// (ssl.hpp). SSLSocket is in ssl.cpp.
#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "socketserver/ssl.hpp"
#include "ssl_internal.hpp"
#include "tls_hooks.hpp"

namespace socketserver {

namespace {

class SslCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "ssl"; }
  [[nodiscard]] std::string message(int code) const override {
    switch (code) {
      case SSL_ERROR_SSL:
        return "TLS error";
      case SSL_ERROR_WANT_READ:
        return "The operation did not complete (read)";
      case SSL_ERROR_WANT_WRITE:
        return "The operation did not complete (write)";
      case SSL_ERROR_SYSCALL:
        return "system error";
      case SSL_ERROR_ZERO_RETURN:
        return "TLS/SSL connection has been closed (EOF)";
      case detail::kSslErrorEof:
        return "EOF occurred in violation of protocol";
      default:
        return "TLS error " + std::to_string(code);
    }
  }
};

// ---- errors --------------------------------------------------------------------------------

}  // namespace

std::pair<std::string, std::string> detail::take_ssl_error_queue(unsigned long* code) {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (code != nullptr) *code = e;
  if (e == 0) return {"SSL", "unknown error"};
  const char* lib = ERR_lib_error_string(e);
  const char* reason = ERR_reason_error_string(e);
  char fallback[64];
  if (reason == nullptr) {
    std::snprintf(fallback, sizeof fallback, "error %d", ERR_GET_REASON(e));
    reason = fallback;
  }
  return {lib != nullptr ? lib : "SSL", reason};
}

int detail::pem_password(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* p = static_cast<const std::string*>(user);
  if (p == nullptr || size < 0 || p->size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, p->data(), p->size());
  return static_cast<int>(p->size());
}

namespace {

[[noreturn]] void throw_queued(const std::string& context) {
  auto [library, reason] = detail::take_ssl_error_queue();
  throw ssl_error(SSL_ERROR_SSL, context, std::move(library), std::move(reason));
}

// ---- the socket BIO, without SIGPIPE ---------------------------------------------------------
// OpenSSL's socket BIO writes with write(2): a peer that is gone would raise SIGPIPE and end the
// process. This one is OpenSSL's with send(MSG_NOSIGNAL) for writing.

int bio_write(BIO* bio, const char* data, int size) {
  int fd = -1;
  BIO_get_fd(bio, &fd);
  BIO_clear_retry_flags(bio);
  ssize_t n = 0;
  do {
    n = ::send(fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    const BIO_METHOD* base = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "socketserver socket");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, BIO_meth_get_read(base));
    BIO_meth_set_puts(m, BIO_meth_get_puts(base));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base));
    BIO_meth_set_create(m, BIO_meth_get_create(base));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(base));
    return m;
  }();
  return method;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

int version_value(TLSVersion v) {
  return v == TLSVersion::MINIMUM_SUPPORTED || v == TLSVersion::MAXIMUM_SUPPORTED
             ? 0
             : static_cast<int>(v);
}

// The wire form of an ALPN list: each name preceded by its length.
std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      throw std::invalid_argument("set_alpn_protocols: a protocol name must be 1 to 255 bytes");
    }
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

}  // namespace

const std::error_category& ssl_category() noexcept {
  static const SslCategory category;
  return category;
}

ssl_error::ssl_error(int ssl_code, std::string context, std::string library, std::string reason)
    : socket_error(std::error_code(ssl_code, ssl_category()), std::move(context),
                   "[" + library + "] " + reason),
      library_(std::move(library)),
      reason_(std::move(reason)) {}

cert_verification_error::cert_verification_error(std::string context, long verify_code,
                                                 std::string verify_message)
    : ssl_error(SSL_ERROR_SSL, std::move(context), "SSL routines",
                "certificate verify failed: " + verify_message),
      verify_code_(verify_code),
      verify_message_(std::move(verify_message)) {}

// ---- SSLContext --------------------------------------------------------------------------------

struct SSLContext::Shared {
  std::mutex mu;  // the callbacks read these from the handshaking threads
  std::string alpn;
  SniCallback sni;
};

namespace {

int alpn_select(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                const unsigned char* in, unsigned int inlen, void* arg) {
  auto* shared = static_cast<SSLContext::Shared*>(arg);
  std::lock_guard<std::mutex> lock(shared->mu);
  if (shared->alpn.empty()) return SSL_TLSEXT_ERR_NOACK;
  // The client's first protocol that the server supports (Python's choice too).
  unsigned char* chosen = nullptr;
  const int r = SSL_select_next_proto(&chosen, outlen, in, inlen,
                                      reinterpret_cast<const unsigned char*>(shared->alpn.data()),
                                      static_cast<unsigned int>(shared->alpn.size()));
  if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int sni_select(SSL* ssl, int* alert, void* arg) {
  auto* shared = static_cast<SSLContext::Shared*>(arg);
  SSLContext::SniCallback callback;
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    callback = shared->sni;
  }
  if (!callback) return SSL_TLSEXT_ERR_OK;
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  try {
    std::optional<SSLContext> other = callback(name != nullptr ? name : "");
    if (other) SSL_set_SSL_CTX(ssl, other->native_handle());  // the SSL keeps a reference
    return SSL_TLSEXT_ERR_OK;
  } catch (...) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
}

}  // namespace

namespace {
// The Shared of an SSL_CTX lives as long as the SSL_CTX (its ex_data), so that the callbacks of
// a context whose SSLContext objects are all gone (sockets still wrapped) find it.
int shared_index() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<SSLContext::Shared*>(ptr);
      });
  return index;
}
}  // namespace

SSLContext::SSLContext(int protocol) : protocol_(protocol) {
  // From here on the core can reach TLS (tls_hooks.hpp): a program that makes no context links
  // none of it, nor OpenSSL.
  detail::install_tls_hooks();
  const SSL_METHOD* method = nullptr;
  if (protocol == PROTOCOL_TLS_CLIENT) {
    method = TLS_client_method();
  } else if (protocol == PROTOCOL_TLS_SERVER) {
    method = TLS_server_method();
  } else {
    throw std::invalid_argument(
        "SSLContext: protocol must be PROTOCOL_TLS_CLIENT or PROTOCOL_TLS_SERVER");
  }
  SSL_CTX* raw = SSL_CTX_new(method);
  if (raw == nullptr) throw_queued("SSLContext");
  ctx_.reset(raw, SSL_CTX_free);
  shared_ = new Shared;
  SSL_CTX_set_ex_data(raw, shared_index(), shared_);  // freed with the SSL_CTX
  SSL_CTX_set_options(
      raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (protocol == PROTOCOL_TLS_CLIENT) {
    verify_mode = CERT_REQUIRED;
    check_hostname = true;
  } else {
    // Session resumption across connections (tickets are on by default; ids need a context).
    static const unsigned char id[] = "socketserver";
    SSL_CTX_set_session_id_context(raw, id, sizeof id - 1);
    SSL_CTX_set_alpn_select_cb(raw, alpn_select, shared_);
    SSL_CTX_set_tlsext_servername_callback(raw, sni_select);
    SSL_CTX_set_tlsext_servername_arg(raw, shared_);
  }
}

void SSLContext::load_cert_chain(const std::string& certfile, const std::string& keyfile,
                                 const std::optional<std::string>& password) {
  const std::string& key = keyfile.empty() ? certfile : keyfile;
  for (const std::string* f : {&certfile, &key}) {
    struct stat st {};
    if (::stat(f->c_str(), &st) != 0) throw_os_error(errno, "load_cert_chain " + *f);
  }
  // A password callback for this call only: an encrypted key without one fails instead of
  // prompting on the terminal (OpenSSL's default).
  std::string pass = password.value_or("");
  SSL_CTX_set_default_passwd_cb_userdata(ctx_.get(), &pass);
  SSL_CTX_set_default_passwd_cb(ctx_.get(), detail::pem_password);
  const bool ok = SSL_CTX_use_certificate_chain_file(ctx_.get(), certfile.c_str()) == 1 &&
                  SSL_CTX_use_PrivateKey_file(ctx_.get(), key.c_str(), SSL_FILETYPE_PEM) == 1 &&
                  SSL_CTX_check_private_key(ctx_.get()) == 1;
  SSL_CTX_set_default_passwd_cb(ctx_.get(), nullptr);
  SSL_CTX_set_default_passwd_cb_userdata(ctx_.get(), nullptr);
  if (!ok) throw_queued("load_cert_chain " + certfile);
}

void SSLContext::load_verify_locations(const std::string& cafile, const std::string& capath,
                                       const std::string& cadata) {
  if (cafile.empty() && capath.empty() && cadata.empty()) {
    throw std::invalid_argument(
        "load_verify_locations: cafile, capath and cadata cannot be all omitted");
  }
  if (!cafile.empty() || !capath.empty()) {
    if (!cafile.empty()) {
      struct stat st {};
      if (::stat(cafile.c_str(), &st) != 0)
        throw_os_error(errno, "load_verify_locations " + cafile);
    }
    if (SSL_CTX_load_verify_locations(ctx_.get(), cafile.empty() ? nullptr : cafile.c_str(),
                                      capath.empty() ? nullptr : capath.c_str()) != 1) {
      throw_queued("load_verify_locations");
    }
  }
  if (!cadata.empty()) {
    BIO* bio = BIO_new_mem_buf(cadata.data(), static_cast<int>(cadata.size()));
    if (bio == nullptr) throw_queued("load_verify_locations");
    X509_STORE* store = SSL_CTX_get_cert_store(ctx_.get());
    int added = 0;
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, cert);  // a duplicate is not an error
      X509_free(cert);
      ++added;
    }
    BIO_free(bio);
    ERR_clear_error();  // the end of the data reads as an error
    if (added == 0) {
      throw ssl_error(SSL_ERROR_SSL, "load_verify_locations", "PEM routines",
                      "no certificate in cadata");
    }
  }
}

void SSLContext::set_default_verify_paths() {
  if (SSL_CTX_set_default_verify_paths(ctx_.get()) != 1) throw_queued("set_default_verify_paths");
}

void SSLContext::set_ciphers(const std::string& spec) {
  if (SSL_CTX_set_cipher_list(ctx_.get(), spec.c_str()) != 1) {
    ERR_clear_error();
    throw ssl_error(SSL_ERROR_SSL, "set_ciphers " + spec, "SSL routines",
                    "No cipher can be selected.");
  }
}

void SSLContext::set_alpn_protocols(const std::vector<std::string>& protocols) {
  std::string wire = alpn_wire(protocols);
  if (protocol_ == PROTOCOL_TLS_CLIENT) {
    // SSL_CTX_set_alpn_protos returns 0 on success.
    if (SSL_CTX_set_alpn_protos(ctx_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      throw_queued("set_alpn_protocols");
    }
  }
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->alpn = std::move(wire);
}

void SSLContext::set_sni_callback(SniCallback callback) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->sni = std::move(callback);
}

std::unique_ptr<ssl_st, void (*)(ssl_st*)> SSLContext::new_ssl(
    const char* what, bool server_side, const std::string& server_hostname,
    bool suppress_ragged_eofs, const std::optional<SSLSession>& session) const {
  const std::string op(what);
  if (server_side && protocol_ != PROTOCOL_TLS_SERVER) {
    throw std::invalid_argument(op + ": server_side needs a PROTOCOL_TLS_SERVER context");
  }
  if (!server_side && protocol_ != PROTOCOL_TLS_CLIENT) {
    throw std::invalid_argument(op + ": a client needs a PROTOCOL_TLS_CLIENT context");
  }
  if (check_hostname && verify_mode == CERT_NONE) {
    throw std::invalid_argument(
        op + ": check_hostname needs verify_mode CERT_OPTIONAL or CERT_REQUIRED");
  }
  if (session && server_side) {
    throw std::invalid_argument(op + ": a session is resumed by a client");
  }
  if (!server_side && check_hostname && server_hostname.empty()) {
    throw std::invalid_argument(op + ": check_hostname requires server_hostname");
  }
  std::unique_ptr<ssl_st, void (*)(ssl_st*)> ssl(SSL_new(ctx_.get()), SSL_free);
  if (!ssl) throw_queued(op);
  SSL_set_min_proto_version(ssl.get(), version_value(minimum_version));
  SSL_set_max_proto_version(ssl.get(), version_value(maximum_version));
  int mode = SSL_VERIFY_NONE;
  if (verify_mode != CERT_NONE) {
    mode = SSL_VERIFY_PEER;
    if (verify_mode == CERT_REQUIRED && server_side) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_set_verify(ssl.get(), mode, nullptr);
  if (suppress_ragged_eofs) SSL_set_options(ssl.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (server_side) {
    SSL_set_accept_state(ssl.get());
  } else {
    if (!server_hostname.empty()) {
      const bool ip = is_ip_literal(server_hostname);
      // SNI carries names only (RFC 6066); an address is matched against the certificate's
      // IP entries instead of its DNS names.
      if (!ip && SSL_set_tlsext_host_name(ssl.get(), server_hostname.c_str()) != 1) {
        throw_queued(op + ": server_hostname " + server_hostname);
      }
      if (check_hostname) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_hostname.c_str())
                          : X509_VERIFY_PARAM_set1_host(param, server_hostname.c_str(), 0);
        if (ok != 1) throw_queued(op + ": server_hostname " + server_hostname);
      }
    }
    if (session && SSL_set_session(ssl.get(), session->native_handle()) != 1) {
      throw_queued(op + ": session");
    }
    SSL_set_connect_state(ssl.get());
  }
  return ssl;
}

SSLSocket SSLContext::wrap_socket(Socket sock, bool server_side, std::string server_hostname,
                                  bool do_handshake_on_connect, bool suppress_ragged_eofs,
                                  const std::optional<SSLSession>& session) const {
  if (sock.fileno() < 0) {
    throw socket_error(std::error_code(EBADF, std::system_category()),
                       "wrap_socket on closed socket");
  }
  auto ssl = new_ssl("wrap_socket", server_side, server_hostname, suppress_ragged_eofs, session);
  BIO* bio = BIO_new(socket_method());
  if (bio == nullptr) throw_queued("wrap_socket");
  BIO_set_fd(bio, sock.fileno(), BIO_NOCLOSE);
  SSL_set_bio(ssl.get(), bio, bio);  // the SSL owns it now
  SSLSocket out(std::move(sock), std::move(ssl), server_side, std::move(server_hostname),
                suppress_ragged_eofs);
  if (do_handshake_on_connect) out.do_handshake();
  return out;
}

SSLObject SSLContext::wrap_bio(bool server_side, std::string server_hostname,
                               bool suppress_ragged_eofs,
                               const std::optional<SSLSession>& session) const {
  auto ssl = new_ssl("wrap_bio", server_side, server_hostname, suppress_ragged_eofs, session);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    throw_queued("wrap_bio");
  }
  // An empty input is "wait for more" (want read), not the end of the stream: the end comes
  // when the driver sets the input's EOF return to 0 (BIO_set_mem_eof_return).
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl.get(), in, out);  // the SSL owns them now
  return SSLObject(std::move(ssl), server_side, std::move(server_hostname));
}

SSLContext create_default_context(Purpose purpose, const std::string& cafile,
                                  const std::string& capath, const std::string& cadata) {
  SSLContext ctx(purpose == Purpose::SERVER_AUTH ? PROTOCOL_TLS_CLIENT : PROTOCOL_TLS_SERVER);
  if (!cafile.empty() || !capath.empty() || !cadata.empty()) {
    ctx.load_verify_locations(cafile, capath, cadata);
  } else if (purpose == Purpose::SERVER_AUTH) {
    ctx.set_default_verify_paths();
  }
  return ctx;
}

}  // namespace socketserver
