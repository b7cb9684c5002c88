// errors.cpp — the exception types and the errno → class mapping.
#include "socketserver/errors.hpp"

#include <netdb.h>

#include <cerrno>
#include <utility>

namespace socketserver {

socket_error::socket_error(std::error_code code, std::string context)
    : std::system_error(code, context), message_(std::move(context)) {
  message_ += ": ";
  message_ += code.message();
}

socket_error::socket_error(std::error_code code, std::string context, std::string_view reason)
    : std::system_error(code, context), message_(std::move(context)) {
  message_ += ": ";
  message_ += reason;
}

timeout_error::timeout_error(std::string context)
    : socket_error(std::error_code(ETIMEDOUT, std::system_category()), std::move(context),
                   "timed out") {}

namespace {
class gai_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "getaddrinfo"; }
  [[nodiscard]] std::string message(int code) const override { return ::gai_strerror(code); }
};
}  // namespace

const std::error_category& gai_category() noexcept {
  static const gai_category_impl category;
  return category;
}

gai_error::gai_error(int eai_code, std::string context)
    : socket_error(std::error_code(eai_code, gai_category()), std::move(context)) {}

line_too_long_error::line_too_long_error(std::string context, std::size_t limit)
    : std::length_error(context + ": line longer than " + std::to_string(limit) + " bytes"),
      limit_(limit) {}

void throw_os_error(int err, std::string context) {
  const std::error_code code(err, std::system_category());
  switch (err) {
    case ECONNREFUSED:
      throw connection_refused_error(code, std::move(context));
    case ECONNRESET:
      throw connection_reset_error(code, std::move(context));
    case ECONNABORTED:
      throw connection_aborted_error(code, std::move(context));
    case EPIPE:
    case ESHUTDOWN:
      throw broken_pipe_error(code, std::move(context));
    case EADDRINUSE:
      throw address_in_use_error(code, std::move(context));
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINPROGRESS:
    case EALREADY:
      throw blocking_io_error(code, std::move(context));
    case ETIMEDOUT:
      throw timeout_error(std::move(context));
    default:
      throw socket_error(code, std::move(context));
  }
}

}  // namespace socketserver
