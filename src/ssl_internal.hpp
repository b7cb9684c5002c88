// ssl_internal.hpp (internal) — what ssl_context.cpp and ssl.cpp share: OpenSSL's error queue
// as Python's SSLError fields.
#pragma once

#include <string>
#include <utility>

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

}  // namespace socketserver::detail
