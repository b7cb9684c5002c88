// mixins.cpp — the part of the mixins that is not a template: ThreadingMixIn's default limit.
// ThreadPoolMixIn's machinery is in pool.cpp.
#include "socketserver/mixins.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace socketserver::detail {

std::size_t default_max_threads() noexcept {
  std::size_t limit = SIZE_MAX;
  const auto consider = [&limit](std::size_t n) { limit = std::min(limit, n); };
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    consider(static_cast<std::size_t>(rl.rlim_cur / 2));
  }
  if (::getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    consider(static_cast<std::size_t>(rl.rlim_cur / 2));
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) {
    std::uint64_t stack = std::uint64_t{8} << 20;
    if (::getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 0) {
      stack = rl.rlim_cur;
    }
    consider(static_cast<std::size_t>(static_cast<std::uint64_t>(pages) *
                                      static_cast<std::uint64_t>(page_size) / stack));
  }
  return std::max<std::size_t>(limit, 1);
}

}  // namespace socketserver::detail
