// ssl.cpp — SSLSocket over OpenSSL 3 (ssl.hpp): the handshake, reads and writes under the
// socket's timeout model, the end of a session, and what the peer's certificate says.
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

#include "socketserver/detail/peer_wait.hpp"
#include "ssl_internal.hpp"
#include "timeout.hpp"

namespace socketserver {

namespace {

using detail::Deadline;
using detail::deadline_for;
using detail::wait_ready;

std::string peer_text(const Socket& sock) {
  try {
    return sock.getpeername().to_string();
  } catch (const socket_error&) {
    return "fd " + std::to_string(sock.fileno());
  }
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

}  // namespace

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
  // A blocking call on a thread with a PeerWaitObserver (detail/peer_wait.hpp): its descriptor
  // is non-blocking for the call's length, so that every sleep OpenSSL would take in read() or
  // write() (the rest of a record, a full window) is a wait_ready below, which announces it.
  // Three fcntl calls per call, on pool workers only.
  struct RestoreFlags {
    int fd = -1;
    int flags = -1;
    ~RestoreFlags() {
      if (flags >= 0) ::fcntl(fd, F_SETFL, flags);
    }
  } restore;
  if (!timeout && detail::peer_wait_observer() != nullptr) {
    const int fd = sock_.fileno();
    const int flags = fd >= 0 ? ::fcntl(fd, F_GETFL) : -1;
    if (flags >= 0 && (flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0) {
      restore.fd = fd;
      restore.flags = flags;
    }
  }
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

void detail::throw_ssl_failure(ssl_st* ssl, int ssl_code, int err, const std::string& context,
                               const std::string& server_hostname) {
  if (ssl_code == SSL_ERROR_SYSCALL) {
    ERR_clear_error();
    if (err != 0) throw_os_error(err, context);  // a reset, a broken pipe: as a plain socket
    throw ssl_eof_error(detail::kSslErrorEof, context, "SSL",
                        "EOF occurred in violation of protocol");
  }
  unsigned long e = 0;
  auto [library, reason] = detail::take_ssl_error_queue(&e);
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    const long v = SSL_get_verify_result(ssl);
    std::string message = X509_verify_cert_error_string(v);
    if (v == X509_V_ERR_HOSTNAME_MISMATCH) {
      message = "Hostname mismatch, certificate is not valid for '" + server_hostname + "'.";
    } else if (v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      message = "IP address mismatch, certificate is not valid for '" + server_hostname + "'.";
    }
    throw cert_verification_error(context, v, message);
  }
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    throw ssl_eof_error(detail::kSslErrorEof, context, "SSL",
                        "EOF occurred in violation of protocol");
  }
  throw ssl_error(ssl_code, context, std::move(library), std::move(reason));
}

void SSLSocket::fail(const char* what, int ssl_code) {
  const int err = ssl_code == SSL_ERROR_SYSCALL ? errno : 0;
  detail::throw_ssl_failure(ssl_.get(), ssl_code, err,
                            std::string(what) + " with " + peer_text(sock_), server_hostname_);
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

namespace {

// The accessors of a session, shared by SSLSocket and SSLObject (each checks first that its
// handshake is done).
std::optional<PeerCertificate> peer_certificate_of(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  PeerCertificate out;
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n > 0) {
    out.der.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
  }
  // As Python: the parsed fields only for a certificate that was verified.
  if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE && SSL_get_verify_result(ssl) == X509_V_OK) {
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

std::optional<SSLSocket::Cipher> cipher_of(SSL* ssl) {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
  if (c == nullptr) return std::nullopt;
  return SSLSocket::Cipher{SSL_CIPHER_get_name(c), SSL_CIPHER_get_version(c),
                           SSL_CIPHER_get_bits(c, nullptr)};
}

std::optional<std::string> version_of(SSL* ssl) { return std::string(SSL_get_version(ssl)); }

std::optional<std::string> alpn_of(SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  if (data == nullptr || len == 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace

std::optional<SSLSession> SSLSession::of(ssl_st* ssl) {
  SSL_SESSION* s = SSL_get1_session(ssl);
  if (s == nullptr) return std::nullopt;
  return SSLSession(std::shared_ptr<ssl_session_st>(s, SSL_SESSION_free));
}

bool SSLSession::has_ticket() const noexcept {
  return session_ && SSL_SESSION_has_ticket(session_.get()) == 1;
}

std::optional<SSLSession> SSLSocket::session() const {
  if (!ssl_ || !handshake_done_) return std::nullopt;
  return SSLSession::of(ssl_.get());
}

bool SSLSocket::session_reused() const noexcept {
  return ssl_ && handshake_done_ && SSL_session_reused(ssl_.get()) == 1;
}

std::optional<PeerCertificate> SSLSocket::getpeercert() const {
  if (!ssl_ || !handshake_done_) return std::nullopt;
  return peer_certificate_of(ssl_.get());
}

std::optional<SSLSocket::Cipher> SSLSocket::cipher() const {
  if (!ssl_ || !handshake_done_) return std::nullopt;
  return cipher_of(ssl_.get());
}

std::optional<std::string> SSLSocket::version() const {
  if (!ssl_ || !handshake_done_) return std::nullopt;
  return version_of(ssl_.get());
}

std::optional<std::string> SSLSocket::selected_alpn_protocol() const {
  if (!ssl_ || !handshake_done_) return std::nullopt;
  return alpn_of(ssl_.get());
}

// ---- SSLObject ---------------------------------------------------------------------------------

bool SSLObject::handshake_done() const noexcept {
  return ssl_ && SSL_is_init_finished(ssl_.get()) == 1;
}

std::optional<PeerCertificate> SSLObject::getpeercert() const {
  if (!handshake_done()) return std::nullopt;
  return peer_certificate_of(ssl_.get());
}

std::optional<SSLSocket::Cipher> SSLObject::cipher() const {
  if (!handshake_done()) return std::nullopt;
  return cipher_of(ssl_.get());
}

std::optional<std::string> SSLObject::version() const {
  if (!handshake_done()) return std::nullopt;
  return version_of(ssl_.get());
}

std::optional<std::string> SSLObject::selected_alpn_protocol() const {
  if (!handshake_done()) return std::nullopt;
  return alpn_of(ssl_.get());
}

std::optional<SSLSession> SSLObject::session() const {
  if (!handshake_done()) return std::nullopt;
  return SSLSession::of(ssl_.get());
}

bool SSLObject::session_reused() const noexcept {
  return handshake_done() && SSL_session_reused(ssl_.get()) == 1;
}

}  // namespace socketserver
