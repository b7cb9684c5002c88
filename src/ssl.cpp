// ssl.cpp — SSLContext and SSLSocket over OpenSSL 3 (ssl.hpp).
#include "socketserver/ssl.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "timeout.hpp"

namespace socketserver {

namespace {

using detail::Deadline;
using detail::deadline_for;
using detail::wait_ready;

// Python's SSLError.errno values: OpenSSL's SSL_ERROR_* and Python's own SSL_ERROR_EOF (8).
constexpr int kSslErrorEof = 8;

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
      case kSslErrorEof:
        return "EOF occurred in violation of protocol";
      default:
        return "TLS error " + std::to_string(code);
    }
  }
};

// ---- errors --------------------------------------------------------------------------------

// OpenSSL's last queued error as (library, reason), and the queue emptied.
std::pair<std::string, std::string> take_error_queue(unsigned long* code = nullptr) {
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

[[noreturn]] void throw_queued(const std::string& context) {
  auto [library, reason] = take_error_queue();
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

std::string peer_text(const Socket& sock) {
  try {
    return sock.getpeername().to_string();
  } catch (const socket_error&) {
    return "fd " + std::to_string(sock.fileno());
  }
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

std::string name_entries_text(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return {};
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::vector<std::pair<std::string, std::string>> name_pairs(const X509_NAME* name) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const char* key = nid != NID_undef ? OBJ_nid2ln(nid) : "unknown";
    out.emplace_back(key, name_entries_text(X509_NAME_ENTRY_get_data(e)));
  }
  return out;
}

std::string asn1_time_text(const ASN1_TIME* t) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  std::string out;
  if (ASN1_TIME_print(bio, t) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<std::size_t>(n));
  }
  BIO_free(bio);
  return out;
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
  SSL_CTX_set_default_passwd_cb(ctx_.get(), [](char* buf, int size, int, void* user) -> int {
    const auto* p = static_cast<const std::string*>(user);
    if (p == nullptr || p->size() > static_cast<std::size_t>(size)) return -1;
    std::memcpy(buf, p->data(), p->size());
    return static_cast<int>(p->size());
  });
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

SSLSocket SSLContext::wrap_socket(Socket sock, bool server_side, std::string server_hostname,
                                  bool do_handshake_on_connect, bool suppress_ragged_eofs) const {
  if (server_side && protocol_ != PROTOCOL_TLS_SERVER) {
    throw std::invalid_argument("wrap_socket: server_side needs a PROTOCOL_TLS_SERVER context");
  }
  if (!server_side && protocol_ != PROTOCOL_TLS_CLIENT) {
    throw std::invalid_argument("wrap_socket: a client needs a PROTOCOL_TLS_CLIENT context");
  }
  if (check_hostname && verify_mode == CERT_NONE) {
    throw std::invalid_argument(
        "wrap_socket: check_hostname needs verify_mode CERT_OPTIONAL or CERT_REQUIRED");
  }
  if (!server_side && check_hostname && server_hostname.empty()) {
    throw std::invalid_argument("wrap_socket: check_hostname requires server_hostname");
  }
  if (sock.fileno() < 0)
    throw socket_error(std::error_code(EBADF, std::system_category()),
                       "wrap_socket on closed socket");
  std::unique_ptr<ssl_st, void (*)(ssl_st*)> ssl(SSL_new(ctx_.get()), SSL_free);
  if (!ssl) throw_queued("wrap_socket");
  BIO* bio = BIO_new(socket_method());
  if (bio == nullptr) throw_queued("wrap_socket");
  BIO_set_fd(bio, sock.fileno(), BIO_NOCLOSE);
  SSL_set_bio(ssl.get(), bio, bio);  // the SSL owns it now
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
        throw_queued("wrap_socket: server_hostname " + server_hostname);
      }
      if (check_hostname) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_hostname.c_str())
                          : X509_VERIFY_PARAM_set1_host(param, server_hostname.c_str(), 0);
        if (ok != 1) throw_queued("wrap_socket: server_hostname " + server_hostname);
      }
    }
    SSL_set_connect_state(ssl.get());
  }
  SSLSocket out(std::move(sock), std::move(ssl), server_side, std::move(server_hostname),
                suppress_ragged_eofs);
  if (do_handshake_on_connect) out.do_handshake();
  return out;
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

// ---- SSLSocket ---------------------------------------------------------------------------------

SSLSocket::SSLSocket(Socket sock, std::unique_ptr<ssl_st, void (*)(ssl_st*)> ssl, bool server_side,
                     std::string server_hostname, bool suppress_ragged_eofs)
    : sock_(std::move(sock)),
      ssl_(std::move(ssl)),
      server_side_(server_side),
      server_hostname_(std::move(server_hostname)),
      suppress_ragged_eofs_(suppress_ragged_eofs) {}

SSLSocket::SSLSocket(SSLSocket&& other) noexcept
    : sock_(std::move(other.sock_)),
      ssl_(std::move(other.ssl_)),
      server_side_(other.server_side_),
      server_hostname_(std::move(other.server_hostname_)),
      suppress_ragged_eofs_(other.suppress_ragged_eofs_),
      handshake_done_(other.handshake_done_),
      close_notify_sent_(other.close_notify_sent_) {}

SSLSocket& SSLSocket::operator=(SSLSocket&& other) noexcept {
  if (this != &other) {
    close();
    sock_ = std::move(other.sock_);
    ssl_ = std::move(other.ssl_);
    server_side_ = other.server_side_;
    server_hostname_ = std::move(other.server_hostname_);
    suppress_ragged_eofs_ = other.suppress_ragged_eofs_;
    handshake_done_ = other.handshake_done_;
    close_notify_sent_ = other.close_notify_sent_;
  }
  return *this;
}

SSLSocket::~SSLSocket() { close(); }

template <class Op>
int SSLSocket::run(const char* what, Op op) {
  return run_until(what, deadline_for(sock_.gettimeout()), op);
}

template <class Op>
int SSLSocket::run_until(const char* what, const detail::Deadline& deadline, Op op) {
  if (!ssl_) {
    throw socket_error(std::error_code(EBADF, std::system_category()),
                       std::string(what) + " on closed socket");
  }
  const Timeout timeout = sock_.gettimeout();
  const bool nonblocking = timeout && timeout->count() <= 0;
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = op();
    if (r > 0) return r;
    const int code = SSL_get_error(ssl_.get(), r);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
      const bool reading = code == SSL_ERROR_WANT_READ;
      const std::string context = std::string(what) + " with " + peer_text(sock_);
      if (nonblocking) {
        if (reading) throw ssl_want_read_error(code, context, "SSL", "want read");
        throw ssl_want_write_error(code, context, "SSL", "want write");
      }
      if (!wait_ready(sock_.fileno(), reading ? POLLIN : POLLOUT, deadline)) {
        throw timeout_error(context);
      }
      continue;
    }
    if (code == SSL_ERROR_SYSCALL && errno == EINTR) continue;
    if (code == SSL_ERROR_ZERO_RETURN) return 0;
    fail(what, code);
  }
}

void SSLSocket::fail(const char* what, int ssl_code) {
  const std::string context = std::string(what) + " with " + peer_text(sock_);
  if (ssl_code == SSL_ERROR_SYSCALL) {
    const int err = errno;
    ERR_clear_error();
    if (err != 0) throw_os_error(err, context);  // a reset, a broken pipe: as a plain socket
    throw ssl_eof_error(kSslErrorEof, context, "SSL", "EOF occurred in violation of protocol");
  }
  unsigned long e = 0;
  auto [library, reason] = take_error_queue(&e);
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    const long v = SSL_get_verify_result(ssl_.get());
    std::string message = X509_verify_cert_error_string(v);
    if (v == X509_V_ERR_HOSTNAME_MISMATCH) {
      message = "Hostname mismatch, certificate is not valid for '" + server_hostname_ + "'.";
    } else if (v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      message = "IP address mismatch, certificate is not valid for '" + server_hostname_ + "'.";
    }
    throw cert_verification_error(context, v, message);
  }
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    throw ssl_eof_error(kSslErrorEof, context, "SSL", "EOF occurred in violation of protocol");
  }
  throw ssl_error(ssl_code, context, std::move(library), std::move(reason));
}

void SSLSocket::do_handshake() {
  if (handshake_done_) return;
  if (run("do_handshake", [this] { return SSL_do_handshake(ssl_.get()); }) == 0) {
    throw ssl_zero_return_error(SSL_ERROR_ZERO_RETURN, "do_handshake with " + peer_text(sock_),
                                "SSL", "TLS/SSL connection has been closed (EOF)");
  }
  handshake_done_ = true;
}

std::size_t SSLSocket::recv_into(std::span<char> buffer) {
  if (buffer.empty()) return 0;
  if (!handshake_done_) do_handshake();
  std::size_t got = 0;
  const int r =
      run("recv", [&] { return SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &got); });
  return r == 0 ? 0 : got;  // 0: close_notify (or a ragged end, when suppressed)
}

std::string SSLSocket::recv(std::size_t bufsize) {
  std::string data(std::min<std::size_t>(bufsize, 1u << 20), '\0');
  data.resize(recv_into(std::span<char>(data)));
  return data;
}

std::size_t SSLSocket::send(std::string_view data) {
  if (!handshake_done_) do_handshake();
  if (data.empty()) return 0;
  std::size_t sent = 0;
  if (run("send", [&] { return SSL_write_ex(ssl_.get(), data.data(), data.size(), &sent); }) == 0) {
    throw ssl_zero_return_error(SSL_ERROR_ZERO_RETURN, "send to " + peer_text(sock_), "SSL",
                                "TLS/SSL connection has been closed (EOF)");
  }
  return sent;
}

void SSLSocket::sendall(std::string_view data) {
  if (!handshake_done_) do_handshake();
  const Deadline deadline = deadline_for(sock_.gettimeout());  // the whole call
  while (!data.empty()) {
    std::size_t sent = 0;
    const int r = run_until("sendall", deadline, [&] {
      return SSL_write_ex(ssl_.get(), data.data(), data.size(), &sent);
    });
    if (r == 0) {
      throw ssl_zero_return_error(SSL_ERROR_ZERO_RETURN, "sendall to " + peer_text(sock_), "SSL",
                                  "TLS/SSL connection has been closed (EOF)");
    }
    data.remove_prefix(sent);
  }
}

std::size_t SSLSocket::pending() const noexcept {
  return ssl_ ? static_cast<std::size_t>(SSL_pending(ssl_.get())) : 0;
}

bool SSLSocket::send_close_notify() noexcept {
  if (!ssl_ || !handshake_done_ || close_notify_sent_) return false;
  close_notify_sent_ = true;
  // Never wait here: a peer that does not read must not hold a close.
  const int fd = sock_.fileno();
  const int flags = fd >= 0 ? ::fcntl(fd, F_GETFL) : -1;
  if (flags >= 0 && (flags & O_NONBLOCK) == 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  ERR_clear_error();
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
  if (flags >= 0 && (flags & O_NONBLOCK) == 0) ::fcntl(fd, F_SETFL, flags);
  return true;
}

void SSLSocket::shutdown(int how) {
  if (how != SHUT_RD) send_close_notify();
  sock_.shutdown(how);
}

void SSLSocket::close() noexcept {
  send_close_notify();
  ssl_.reset();
  sock_.close();
}

Socket SSLSocket::unwrap() {
  if (!handshake_done_) {
    throw std::logic_error("unwrap: no TLS session (the handshake has not completed)");
  }
  close_notify_sent_ = true;
  // SSL_shutdown: 0 = our close_notify is sent and the peer's not yet read: call it again, which
  // reads it (1), or asks to wait for it (-1, want read: run waits and calls again).
  run("unwrap", [this] {
    const int r = SSL_shutdown(ssl_.get());
    return r == 0 ? SSL_shutdown(ssl_.get()) : r;
  });
  ssl_.reset();
  handshake_done_ = false;
  return std::move(sock_);
}

std::optional<PeerCertificate> SSLSocket::getpeercert() const {
  if (!ssl_ || !handshake_done_) return std::nullopt;
  X509* cert = SSL_get1_peer_certificate(ssl_.get());
  if (cert == nullptr) return std::nullopt;
  PeerCertificate out;
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n > 0) {
    out.der.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
  }
  // As Python: the parsed fields only for a certificate that was verified.
  if (SSL_get_verify_mode(ssl_.get()) != SSL_VERIFY_NONE &&
      SSL_get_verify_result(ssl_.get()) == X509_V_OK) {
    out.subject = name_pairs(X509_get_subject_name(cert));
    out.issuer = name_pairs(X509_get_issuer_name(cert));
    out.not_before = asn1_time_text(X509_get0_notBefore(cert));
    out.not_after = asn1_time_text(X509_get0_notAfter(cert));
    if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
      if (char* hex = BN_bn2hex(bn)) {
        out.serial_number = hex;
        OPENSSL_free(hex);
      }
      BN_free(bn);
    }
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names != nullptr) {
      for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_DNS) {
          out.subject_alt_name.emplace_back("DNS", name_entries_text(g->d.dNSName));
        } else if (g->type == GEN_IPADD) {
          const ASN1_OCTET_STRING* ip = g->d.iPAddress;
          char text[INET6_ADDRSTRLEN] = {};
          const int len = ASN1_STRING_length(ip);
          const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
          if (family != 0 && ::inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text)) {
            out.subject_alt_name.emplace_back("IP Address", text);
          }
        } else if (g->type == GEN_EMAIL) {
          out.subject_alt_name.emplace_back("email", name_entries_text(g->d.rfc822Name));
        } else if (g->type == GEN_URI) {
          out.subject_alt_name.emplace_back("URI",
                                            name_entries_text(g->d.uniformResourceIdentifier));
        }
      }
      GENERAL_NAMES_free(names);
    }
  }
  X509_free(cert);
  return out;
}

std::optional<SSLSocket::Cipher> SSLSocket::cipher() const {
  if (!ssl_ || !handshake_done_) return std::nullopt;
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_.get());
  if (c == nullptr) return std::nullopt;
  return Cipher{SSL_CIPHER_get_name(c), SSL_CIPHER_get_version(c), SSL_CIPHER_get_bits(c, nullptr)};
}

std::optional<std::string> SSLSocket::version() const {
  if (!ssl_ || !handshake_done_) return std::nullopt;
  return std::string(SSL_get_version(ssl_.get()));
}

std::optional<std::string> SSLSocket::selected_alpn_protocol() const {
  if (!ssl_ || !handshake_done_) return std::nullopt;
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  if (data == nullptr || len == 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(data), len);
}

bool SSLSocket::session_reused() const noexcept {
  return ssl_ && handshake_done_ && SSL_session_reused(ssl_.get()) == 1;
}

}  // namespace socketserver
