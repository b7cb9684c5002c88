// ssl_internal.hpp (internal) — what ssl_context.cpp and ssl.cpp share: OpenSSL's error queue
// as Python's SSLError fields.
#pragma once

#include <string>
#include <utility>

struct ssl_st;

namespace socketserver::detail {

/// Python's SSLError.errno for an end of stream that broke the protocol (its SSL_ERROR_EOF);
/// the other values are OpenSSL's SSL_ERROR_*.
inline constexpr int kSslErrorEof = 8;

/// OpenSSL's last queued error as (library, reason) ("SSL routines", "wrong version number"),
/// the queue emptied; `code` receives the packed error code when given.
std::pair<std::string, std::string> take_ssl_error_queue(unsigned long* code = nullptr);

/// OpenSSL's pem_password_cb for an optional password: `user` is the const std::string* to
/// give (none, or too long: the key does not decrypt, and nothing prompts on the terminal).
int pem_password(char* buf, int size, int rwflag, void* user);

/// Throws the error a failed SSL_* call on `ssl` stands for, as Python raises it: `ssl_code` is
/// SSL_get_error's, `err` the errno of an SSL_ERROR_SYSCALL (0: none, an end of stream);
/// `context` names the operation and peer ("do_handshake with 127.0.0.1:4433"), and
/// `server_hostname` goes into a name-mismatch message. cert_verification_error for a failed
/// verification, ssl_eof_error for an end of stream without close_notify, an OSError class for
/// `err`, ssl_error otherwise.
[[noreturn]] void throw_ssl_failure(ssl_st* ssl, int ssl_code, int err, const std::string& context,
                                    const std::string& server_hostname);

}  // namespace socketserver::detail
