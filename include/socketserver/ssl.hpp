// ssl.hpp — Python's ssl module over OpenSSL 3: SSLContext, wrap_socket and SSLSocket, with
// the Socket API the chapter uses, the same timeout model, and Python's errors.
//
// clang-format off
//   Python                                             C++ (namespace socketserver)
//   ctx = ssl.create_default_context()                 SSLContext ctx = create_default_context();
//   ctx.load_verify_locations("ca.pem")                ctx.load_verify_locations("ca.pem");
//   s = ctx.wrap_socket(sock, server_hostname=host)    SSLSocket s = ctx.wrap_socket(std::move(sock), false, host);
//   ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)      SSLContext ctx(PROTOCOL_TLS_SERVER);
//   ctx.load_cert_chain("cert.pem", "key.pem")         ctx.load_cert_chain("cert.pem", "key.pem");
//   conn = ctx.wrap_socket(conn, server_side=True)     SSLSocket conn = ctx.wrap_socket(std::move(c), true);
//   s.sendall(b"hi"); s.recv(1024)                     s.sendall("hi"); s.recv(1024);
//   s.version(), s.cipher(), s.getpeercert()           s.version(), s.cipher(), s.getpeercert()
//   except ssl.SSLCertVerificationError as e:          catch (const cert_verification_error& e)
// clang-format on
//
// Secure by default, as Python's create_default_context and more: a client context verifies
// the server's certificate and its host name (check_hostname), sends SNI, and uses the system's
// CA store; TLS 1.2 is the minimum; renegotiation and compression are off; close() sends
// close_notify; an end of stream without close_notify is an error (ssl_eof_error), not the end
// of the data, unless wrap_socket's suppress_ragged_eofs says otherwise (Python's default).
//
// Timeouts are the Socket's (settimeout on either): a handshake, read or write waits at most
// that long in all, then throws timeout_error; with a timeout of 0, a call that would wait
// throws ssl_want_read_error or ssl_want_write_error instead (Python's SSLWantReadError).
//
// The OpenSSL headers stay out of this one, and OpenSSL out of a program that never makes an
// SSLContext: the rest of the library reaches TLS only through the context (src/tls_hooks.hpp),
// so such a program links no TLS object and, linked --as-needed, does not load libssl/libcrypto.
// Thread-safety: an SSLContext may wrap sockets from any number of threads once it is set up
// (loading certificates and changing settings: before); an SSLSocket is one thread's at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "socketserver/errors.hpp"
#include "socketserver/socket.hpp"

struct ssl_st;          // OpenSSL's SSL
struct ssl_ctx_st;      // OpenSSL's SSL_CTX
struct ssl_session_st;  // OpenSSL's SSL_SESSION

namespace socketserver {

// ---- errors (Python's ssl exceptions) --------------------------------------------------------

/// The category of ssl_error codes: OpenSSL's SSL_ERROR_* numbers (Python's SSLError.errno).
const std::error_category& ssl_category() noexcept;

/// Python's ssl.SSLError: what() is "<operation>: [<library>] <reason>", e.g. "do_handshake with
/// 127.0.0.1:4433: [SSL routines] wrong version number".
class ssl_error : public socket_error {
 public:
  ssl_error(int ssl_code, std::string context, std::string library, std::string reason);
  /// OpenSSL's library name ("SSL routines") and reason ("wrong version number"): Python's
  /// SSLError.library and .reason.
  [[nodiscard]] const std::string& library() const noexcept { return library_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  std::string library_;
  std::string reason_;
};
/// Python's SSLWantReadError / SSLWantWriteError: a non-blocking socket (timeout 0) must wait.
class ssl_want_read_error : public ssl_error {
  using ssl_error::ssl_error;
};
class ssl_want_write_error : public ssl_error {
  using ssl_error::ssl_error;
};
/// Python's SSLZeroReturnError: the peer ended TLS with close_notify (recv returns "" instead;
/// thrown where no data can be returned, e.g. by a handshake).
class ssl_zero_return_error : public ssl_error {
  using ssl_error::ssl_error;
};
/// Python's SSLEOFError: the connection ended without close_notify (a truncation attack or a
/// careless peer), reported unless suppress_ragged_eofs.
class ssl_eof_error : public ssl_error {
  using ssl_error::ssl_error;
};
/// Python's SSLCertVerificationError: the peer's certificate did not verify. verify_code() is
/// OpenSSL's X509_V_ERR_* number, verify_message() its text ("unable to get local issuer
/// certificate", "Hostname mismatch, certificate is not valid for '127.0.0.1'.").
class cert_verification_error : public ssl_error {
 public:
  cert_verification_error(std::string context, long verify_code, std::string verify_message);
  [[nodiscard]] long verify_code() const noexcept { return verify_code_; }
  [[nodiscard]] const std::string& verify_message() const noexcept { return verify_message_; }

 private:
  long verify_code_;
  std::string verify_message_;
};

// ---- settings -----------------------------------------------------------------------------

/// Python's ssl.PROTOCOL_TLS_CLIENT and PROTOCOL_TLS_SERVER (same values).
inline constexpr int PROTOCOL_TLS_CLIENT = 16;
inline constexpr int PROTOCOL_TLS_SERVER = 17;

/// Python's ssl.VerifyMode.
enum VerifyMode { CERT_NONE = 0, CERT_OPTIONAL = 1, CERT_REQUIRED = 2 };

/// Python's ssl.TLSVersion (the values OpenSSL uses; MINIMUM/MAXIMUM_SUPPORTED as Python's).
enum class TLSVersion : int {
  MINIMUM_SUPPORTED = -2,
  TLSv1_2 = 0x0303,
  TLSv1_3 = 0x0304,
  MAXIMUM_SUPPORTED = -1,
};

/// Python's ssl.Purpose: what create_default_context's context is for.
enum class Purpose {
  SERVER_AUTH,  ///< a client context: verifies servers
  CLIENT_AUTH,  ///< a server context: may verify clients
};

class SSLSocket;
class SSLObject;

/// Python's ssl.SSLSession: a client's TLS session, to resume with the same server (a shorter
/// handshake): take it from a connection (SSLSocket::session(), after some data has been read:
/// TLS 1.3 sends its tickets after the handshake) and pass it to wrap_socket.
class SSLSession {
 public:
  /// OpenSSL's SSL_SESSION (shared; valid as long as a copy lives).
  [[nodiscard]] ssl_session_st* native_handle() const noexcept { return session_.get(); }
  /// Python's has_ticket: the server gave a ticket to resume with.
  [[nodiscard]] bool has_ticket() const noexcept;

 private:
  friend class SSLSocket;
  friend class SSLObject;
  explicit SSLSession(std::shared_ptr<ssl_session_st> session) : session_(std::move(session)) {}
  static std::optional<SSLSession> of(ssl_st* ssl);  // the session of `ssl`, if any
  std::shared_ptr<ssl_session_st> session_;
};

/// The peer's certificate, as Python's getpeercert() dictionary has it.
struct PeerCertificate {
  /// (name, value) pairs of the subject and the issuer: ("commonName", "localhost"), ...
  std::vector<std::pair<std::string, std::string>> subject;
  std::vector<std::pair<std::string, std::string>> issuer;
  /// ("DNS", "localhost"), ("IP Address", "127.0.0.1"), ...
  std::vector<std::pair<std::string, std::string>> subject_alt_name;
  std::string serial_number;  ///< hexadecimal, as Python's serialNumber
  std::string not_before;     ///< "Jan  1 00:00:00 2026 GMT", as Python's notBefore
  std::string not_after;
  std::string der;  ///< the whole certificate, DER (getpeercert(binary_form=True))
};

/// Python's ssl.SSLContext: certificates, keys, trust and settings, shared by the sockets it
/// wraps. Copies share the loaded certificates, keys and trust store (as Python's one object);
/// the settings fields below are each copy's own and apply to the sockets it wraps afterwards.
class SSLContext {
 public:
  /// PROTOCOL_TLS_CLIENT: verify_mode CERT_REQUIRED and check_hostname on (as Python);
  /// PROTOCOL_TLS_SERVER: CERT_NONE, no host name check. Throws std::invalid_argument for any
  /// other protocol; ssl_error if OpenSSL cannot make a context.
  explicit SSLContext(int protocol);

  /// Python's load_cert_chain(certfile, keyfile, password): a PEM certificate chain and its
  /// private key (in certfile when keyfile is ""); `password` decrypts an encrypted key.
  /// Throws ssl_error (a missing file: socket_error with errno ENOENT, as Python's OSError).
  void load_cert_chain(const std::string& certfile, const std::string& keyfile = "",
                       const std::optional<std::string>& password = std::nullopt);
  /// load_cert_chain from memory (no Python twin): a PEM certificate chain (the server's
  /// certificate first) and its private key (in cert_pem when key_pem is ""), e.g. those of
  /// make_self_signed_certificate. Throws std::invalid_argument for an empty cert_pem,
  /// ssl_error for one without a certificate, a key that does not parse or does not match.
  void load_cert_chain_pem(const std::string& cert_pem, const std::string& key_pem = "",
                           const std::optional<std::string>& password = std::nullopt);
  /// Python's load_verify_locations(cafile, capath, cadata): trusted CA certificates (PEM).
  void load_verify_locations(const std::string& cafile = "", const std::string& capath = "",
                             const std::string& cadata = "");
  /// Python's set_default_verify_paths(): the system's CA store.
  void set_default_verify_paths();
  /// Python's set_ciphers(spec) (TLS 1.2 cipher list; OpenSSL's syntax). ssl_error when none
  /// of them is available.
  void set_ciphers(const std::string& spec);
  /// Python's set_alpn_protocols(["h2", "http/1.1"]): offered by a client, chosen from (in the
  /// client's order of preference) by a server.
  void set_alpn_protocols(const std::vector<std::string>& protocols);
  /// Python's sni_callback: a server calls it with the name the client asked for (SNI) during
  /// the handshake; it may return another context to use for that connection (its certificate),
  /// or nullopt to go on with this one. An exception from it fails the handshake.
  using SniCallback = std::function<std::optional<SSLContext>(std::string_view server_name)>;
  void set_sni_callback(SniCallback callback);
  /// PROTOCOL_TLS_CLIENT or PROTOCOL_TLS_SERVER (Python's protocol attribute).
  [[nodiscard]] int protocol() const noexcept { return protocol_; }

  /// Python's wrap_socket: takes over `sock` (connected, or about to be for a client) and
  /// returns the TLS socket. A client names the server in `server_hostname` (sent as SNI and,
  /// with check_hostname, matched against its certificate: a DNS name or an IP address).
  /// With do_handshake_on_connect, the handshake runs now (under the socket's timeout).
  /// suppress_ragged_eofs: an end of stream without close_notify reads as the end of the data
  /// (Python's default), instead of ssl_eof_error (ours).
  /// `session`: a client resumes that session (Python's session=; the server decides).
  SSLSocket wrap_socket(Socket sock, bool server_side = false, std::string server_hostname = "",
                        bool do_handshake_on_connect = true, bool suppress_ragged_eofs = false,
                        const std::optional<SSLSession>& session = std::nullopt) const;
  /// Python's wrap_bio(incoming, outgoing, server_side, server_hostname): TLS over two memory
  /// buffers instead of a socket (the SSLObject's native_handle() reads its input from SSL_get_rbio
  /// and writes its output to SSL_get_wbio), what the reactor's TLS transport runs on. Checks
  /// and settings as wrap_socket; throws as wrap_socket.
  SSLObject wrap_bio(bool server_side = false, std::string server_hostname = "",
                     bool suppress_ragged_eofs = false,
                     const std::optional<SSLSession>& session = std::nullopt) const;

  // ---- settings (Python's attributes); read when a socket is wrapped -------------------
  VerifyMode verify_mode = CERT_NONE;  ///< client contexts: CERT_REQUIRED
  bool check_hostname = false;         ///< client contexts: true; needs a verify_mode
  TLSVersion minimum_version = TLSVersion::TLSv1_2;
  TLSVersion maximum_version = TLSVersion::MAXIMUM_SUPPORTED;

  /// OpenSSL's SSL_CTX, for what this API does not cover (not owned: valid as long as a copy of
  /// this context lives).
  [[nodiscard]] ssl_ctx_st* native_handle() const noexcept { return ctx_.get(); }

 public:
  struct Shared;  // what the handshake callbacks read (src/ssl.cpp)

 private:
  int protocol_;
  std::shared_ptr<ssl_ctx_st> ctx_;
  Shared* shared_ = nullptr;  // ALPN list and SNI callback; lives as long as the SSL_CTX
  // wrap_socket's and wrap_bio's SSL, checked and set up (no BIO yet).
  std::unique_ptr<ssl_st, void (*)(ssl_st*)> new_ssl(
      const char* what, bool server_side, const std::string& server_hostname,
      bool suppress_ragged_eofs, const std::optional<SSLSession>& session) const;
  friend class SSLSocket;
};

/// Python's ssl.create_default_context(purpose, cafile, capath, cadata): a client context
/// (Purpose::SERVER_AUTH) that verifies the peer and its host name against the system's CA
/// store, or the given ones; a server context for Purpose::CLIENT_AUTH.
SSLContext create_default_context(Purpose purpose = Purpose::SERVER_AUTH,
                                  const std::string& cafile = "", const std::string& capath = "",
                                  const std::string& cadata = "");

// ---- a certificate made in memory, for trying TLS without files (src/ssl_selfsigned.cpp) ----
// No Python twin (Python's tests use trustme for this). A server loads it with
// load_cert_chain_pem; a client trusts it with load_verify_locations("", "", cert_pem), or
// compares certificate_fingerprint with the one the server printed.

/// A self-signed certificate and its private key, both PEM.
struct SelfSigned {
  std::string cert_pem;
  std::string key_pem;  ///< PKCS#8, not encrypted: keep it in memory
};
/// An ECDSA P-256 key and a certificate for it, signed with itself (SHA-256), valid from a few
/// minutes ago for `days` days: subjectAltName one entry per host (an IP address as an IP
/// entry, a name as a DNS entry), commonName the first host. It is its own trust anchor.
/// Throws std::invalid_argument for no hosts, an empty or malformed host name, or days outside
/// 1-3650; ssl_error when OpenSSL fails.
SelfSigned make_self_signed_certificate(
    const std::vector<std::string>& hosts = {"localhost", "127.0.0.1", "::1"}, int days = 30);
/// The SHA-256 fingerprint of the first certificate of a PEM text, as `openssl x509 -noout
/// -fingerprint -sha256` prints it: "AB:CD:...:EF" (32 upper-case hex pairs). Throws ssl_error
/// when there is no certificate in it.
std::string certificate_fingerprint(const std::string& cert_pem);
/// The same, of a certificate in DER (PeerCertificate::der: what a client sees).
std::string certificate_fingerprint_der(const std::string& cert_der);

/// Python's ssl.SSLSocket: a Socket with TLS. Move-only; closing (close() or the destructor)
/// sends close_notify when the handshake had completed, then closes the descriptor.
class SSLSocket {
 public:
  SSLSocket(SSLSocket&& other) noexcept;
  SSLSocket& operator=(SSLSocket&& other) noexcept;
  SSLSocket(const SSLSocket&) = delete;
  SSLSocket& operator=(const SSLSocket&) = delete;
  ~SSLSocket();

  /// Python's do_handshake(): under the socket's timeout. A failed verification throws
  /// cert_verification_error; other failures ssl_error (ssl_eof_error when the peer left).
  void do_handshake();
  /// Python's recv(bufsize): up to `bufsize` bytes of plaintext; "" when the peer ended TLS
  /// (close_notify), or at end of stream with suppress_ragged_eofs; otherwise an end of stream
  /// throws ssl_eof_error.
  std::string recv(std::size_t bufsize);
  /// Python's recv_into(buffer): as recv, into `buffer`; returns the byte count (0: the end).
  std::size_t recv_into(std::span<char> buffer);
  /// Python's send(data): how many bytes were taken (at least one, or an exception).
  std::size_t send(std::string_view data);
  /// Python's sendall(data): all of it, or an exception (the timeout covers the whole call).
  void sendall(std::string_view data);
  /// Python's pending(): decrypted bytes ready to read without waiting.
  [[nodiscard]] std::size_t pending() const noexcept;

  /// Python's settimeout/gettimeout/setblocking: the underlying Socket's.
  void settimeout(Timeout timeout) { sock_.settimeout(timeout); }
  void settimeout(double seconds) { sock_.settimeout(seconds); }
  [[nodiscard]] Timeout gettimeout() const noexcept { return sock_.gettimeout(); }
  void setblocking(bool flag) { sock_.setblocking(flag); }

  /// Python's shutdown(how): SHUT_WR or SHUT_RDWR first send close_notify (when the handshake
  /// had completed), then shut the socket down.
  void shutdown(int how);
  /// Python's close(): close_notify (best effort, never waits), then the descriptor closes.
  void close() noexcept;
  /// Python's unwrap(): ends TLS in both directions (sends close_notify, waits for the peer's)
  /// and returns the plain socket, which goes on in cleartext.
  Socket unwrap();

  [[nodiscard]] int fileno() const noexcept { return sock_.fileno(); }
  [[nodiscard]] Address getpeername() const { return sock_.getpeername(); }
  [[nodiscard]] Address getsockname() const { return sock_.getsockname(); }
  /// The plain socket under TLS (for options: setsockopt, ...). Reading or writing it directly
  /// breaks the TLS stream.
  [[nodiscard]] Socket& socket() noexcept { return sock_; }
  /// "fd 5, 127.0.0.1:4433 -> 127.0.0.1:51122" (Socket::describe).
  [[nodiscard]] std::string describe() const { return sock_.describe(); }

  /// Python's getpeercert(): the peer's certificate, when it sent one (a server's always; a
  /// client's only when asked for, verify_mode != CERT_NONE). nullopt before the handshake.
  [[nodiscard]] std::optional<PeerCertificate> getpeercert() const;
  /// Python's cipher(): (name, protocol version, secret bits), nullopt before the handshake.
  struct Cipher {
    std::string name;
    std::string version;
    int bits = 0;
  };
  [[nodiscard]] std::optional<Cipher> cipher() const;
  /// Python's version(): "TLSv1.3", "TLSv1.2"; nullopt before the handshake.
  [[nodiscard]] std::optional<std::string> version() const;
  /// Python's selected_alpn_protocol(): nullopt when none was agreed.
  [[nodiscard]] std::optional<std::string> selected_alpn_protocol() const;
  /// Python's session_reused: this connection resumed an earlier session.
  [[nodiscard]] bool session_reused() const noexcept;
  /// Python's session: the session to resume later (nullopt before the handshake).
  [[nodiscard]] std::optional<SSLSession> session() const;
  /// Python's server_side and server_hostname.
  [[nodiscard]] bool server_side() const noexcept { return server_side_; }
  [[nodiscard]] const std::string& server_hostname() const noexcept { return server_hostname_; }
  /// True once the handshake has completed.
  [[nodiscard]] bool handshake_done() const noexcept { return handshake_done_; }

  /// OpenSSL's SSL, for what this API does not cover.
  [[nodiscard]] ssl_st* native_handle() const noexcept { return ssl_.get(); }

 private:
  friend class SSLContext;
  SSLSocket(Socket sock, std::unique_ptr<ssl_st, void (*)(ssl_st*)> ssl, bool server_side,
            std::string server_hostname, bool suppress_ragged_eofs);
  // An SSL_* call under the timeout model (src/ssl.cpp): > 0 done, 0 the peer's close_notify.
  template <class Op>
  int run(const char* what, Op op);
  template <class Op>
  int run_until(const char* what,
                const std::optional<std::chrono::steady_clock::time_point>& deadline, Op op);
  [[noreturn]] void fail(const char* what, int ssl_code);
  bool send_close_notify() noexcept;  // one SSL_shutdown, never waiting

  Socket sock_;
  std::unique_ptr<ssl_st, void (*)(ssl_st*)> ssl_;
  bool server_side_ = false;
  std::string server_hostname_;
  bool suppress_ragged_eofs_ = false;
  bool handshake_done_ = false;
  bool close_notify_sent_ = false;
};

/// Python's ssl.SSLObject: a TLS session over memory buffers (SSLContext::wrap_bio), with no
/// socket and no waiting: whoever drives it feeds the peer's bytes to its input BIO, runs
/// OpenSSL on native_handle(), and sends what appears in its output BIO. The reactor's TLS
/// transport is one (Transport::ssl_object()). The accessors are SSLSocket's. Move-only.
class SSLObject {
 public:
  SSLObject(SSLObject&&) noexcept = default;
  SSLObject& operator=(SSLObject&&) noexcept = default;

  /// True once the handshake has completed.
  [[nodiscard]] bool handshake_done() const noexcept;
  /// As SSLSocket's getpeercert, cipher, version, selected_alpn_protocol, session_reused,
  /// session (nullopt / false before the handshake).
  [[nodiscard]] std::optional<PeerCertificate> getpeercert() const;
  [[nodiscard]] std::optional<SSLSocket::Cipher> cipher() const;
  [[nodiscard]] std::optional<std::string> version() const;
  [[nodiscard]] std::optional<std::string> selected_alpn_protocol() const;
  [[nodiscard]] bool session_reused() const noexcept;
  [[nodiscard]] std::optional<SSLSession> session() const;
  /// Python's server_side and server_hostname.
  [[nodiscard]] bool server_side() const noexcept { return server_side_; }
  [[nodiscard]] const std::string& server_hostname() const noexcept { return server_hostname_; }
  /// OpenSSL's SSL, with its two memory BIOs.
  [[nodiscard]] ssl_st* native_handle() const noexcept { return ssl_.get(); }

 private:
  friend class SSLContext;
  SSLObject(std::unique_ptr<ssl_st, void (*)(ssl_st*)> ssl, bool server_side,
            std::string server_hostname)
      : ssl_(std::move(ssl)),
        server_side_(server_side),
        server_hostname_(std::move(server_hostname)) {}
  std::unique_ptr<ssl_st, void (*)(ssl_st*)> ssl_;
  bool server_side_ = false;
  std::string server_hostname_;
};

}  // namespace socketserver
