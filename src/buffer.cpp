// buffer.cpp — ByteBuffer's slow paths: making room and giving bytes back.
#include "socketserver/detail/buffer.hpp"

#include <algorithm>
#include <stdexcept>

namespace socketserver::detail {

namespace {
constexpr std::size_t min_capacity = 256;

std::size_t grown(std::size_t capacity, std::size_t needed) {
  if (needed > std::size_t{1} << 60) throw std::length_error("ByteBuffer: too large");
  return std::max({needed, capacity * 2, min_capacity});
}
}  // namespace

void ByteBuffer::make_room(std::size_t n) {
  if (n > (std::size_t{1} << 60)) throw std::length_error("ByteBuffer: too large");
  const std::size_t unread = size();
  // Slide when the free room at the front makes it fit and at most half the storage is unread:
  // each byte then moves at most once per doubling of what was consumed (amortized O(1)).
  if (capacity_ - unread >= n && unread <= capacity_ / 2) {
    if (unread > 0) std::memmove(data_.get(), data_.get() + begin_, unread);
    begin_ = 0;
    end_ = unread;
    return;
  }
  const std::size_t capacity = grown(capacity_, unread + n);
  std::unique_ptr<char[]> bigger(new char[capacity]);  // NOLINT: not zero-filled on purpose
  if (unread > 0) std::memcpy(bigger.get(), data_.get() + begin_, unread);
  data_ = std::move(bigger);
  capacity_ = capacity;
  begin_ = 0;
  end_ = unread;
}

void ByteBuffer::prepend(std::string_view bytes) {
  if (bytes.empty()) return;
  if (begin_ >= bytes.size()) {  // the room the consumed bytes left
    begin_ -= bytes.size();
    std::memcpy(data_.get() + begin_, bytes.data(), bytes.size());
    return;
  }
  const std::size_t unread = size();
  if (capacity_ - unread >= bytes.size()) {  // fits: shift the unread bytes right
    if (unread > 0) std::memmove(data_.get() + bytes.size(), data_.get() + begin_, unread);
    std::memcpy(data_.get(), bytes.data(), bytes.size());
  } else {
    const std::size_t capacity = grown(capacity_, unread + bytes.size());
    std::unique_ptr<char[]> bigger(new char[capacity]);  // NOLINT: not zero-filled on purpose
    std::memcpy(bigger.get(), bytes.data(), bytes.size());
    if (unread > 0) std::memcpy(bigger.get() + bytes.size(), data_.get() + begin_, unread);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }
  begin_ = 0;
  end_ = bytes.size() + unread;
}

}  // namespace socketserver::detail
