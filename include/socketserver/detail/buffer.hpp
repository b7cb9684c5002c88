// detail/buffer.hpp (internal; public only because SocketReader and LineReceiver hold one) —
// the one byte buffer of the library: bytes are appended (or received straight into it) at the
// back and consumed from the front, and the unread bytes are always one contiguous view.
//
// Used by SocketReader (rfile), LineReceiver (bytes not yet delivered) and the reactor's stream
// connections (output not yet sent). Consuming moves an index, never bytes; the unread bytes
// slide to the front only when room is needed at the back and the front has as much free, and
// the storage is never zero-filled. Not thread-safe: one owner at a time, as its users.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace socketserver::detail {

class ByteBuffer {
 public:
  static constexpr std::size_t npos = std::string_view::npos;

  ByteBuffer() noexcept = default;
  ByteBuffer(ByteBuffer&& other) noexcept { swap(other); }
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    ByteBuffer(std::move(other)).swap(*this);
    return *this;
  }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer() = default;

  /// The unread bytes (valid until the next call that adds bytes or frees storage).
  [[nodiscard]] std::string_view view() const noexcept {
    return {data_.get() + begin_, end_ - begin_};
  }
  [[nodiscard]] const char* data() const noexcept { return data_.get() + begin_; }
  [[nodiscard]] std::size_t size() const noexcept { return end_ - begin_; }
  [[nodiscard]] bool empty() const noexcept { return begin_ == end_; }
  /// Bytes of storage held (read and unread, and free room).
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  /// Copies `bytes` after the unread ones.
  void append(std::string_view bytes) {
    if (bytes.empty()) return;
    std::memcpy(prepare(bytes.size()).data(), bytes.data(), bytes.size());
    end_ += bytes.size();
  }
  /// Copies `bytes` before the unread ones (what a reader gives back).
  void prepend(std::string_view bytes);
  /// At least `n` bytes of room after the unread ones, to receive into; commit(k) then makes
  /// the first k of them unread bytes. The unread bytes may move (view() is invalidated).
  std::span<char> prepare(std::size_t n) {
    if (capacity_ - end_ < n) make_room(n);
    return {data_.get() + end_, capacity_ - end_};
  }
  /// Takes `n` bytes of the room prepare() gave (n <= its size).
  void commit(std::size_t n) noexcept { end_ += n; }
  /// Drops the first `n` unread bytes (n <= size()).
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;  // empty: the next bytes start at the front
  }
  /// The first `n` unread bytes as a string, consumed.
  std::string take(std::size_t n) {
    std::string out(data(), n);
    consume(n);
    return out;
  }
  /// Where `delimiter` starts among the unread bytes, at or after `from` (npos: not there).
  /// A one-byte delimiter is one memchr.
  [[nodiscard]] std::size_t find(std::string_view delimiter, std::size_t from = 0) const noexcept {
    return find_in(view(), delimiter, from);
  }
  /// find() over any bytes (LineReceiver searches the read itself before buffering it).
  static std::size_t find_in(std::string_view bytes, std::string_view delimiter,
                             std::size_t from) noexcept {
    if (delimiter.size() == 1) {
      if (from >= bytes.size()) return npos;
      const void* hit = std::memchr(bytes.data() + from, delimiter[0], bytes.size() - from);
      return hit == nullptr
                 ? npos
                 : static_cast<std::size_t>(static_cast<const char*>(hit) - bytes.data());
    }
    return bytes.find(delimiter, from);
  }
  /// Drops every unread byte (the storage stays).
  void clear() noexcept { begin_ = end_ = 0; }
  /// Frees the storage when nothing is unread and it holds more than `keep` bytes: a burst's
  /// buffer is not kept for an idle connection.
  void release_if_idle(std::size_t keep) noexcept {
    if (empty() && capacity_ > keep) {
      data_.reset();
      capacity_ = begin_ = end_ = 0;
    }
  }
  void swap(ByteBuffer& other) noexcept {
    data_.swap(other.data_);
    std::swap(capacity_, other.capacity_);
    std::swap(begin_, other.begin_);
    std::swap(end_, other.end_);
  }

 private:
  void make_room(std::size_t n);  // slides the unread bytes to the front, or grows

  std::unique_ptr<char[]> data_;  // not zero-filled: only [begin_, end_) is ever read
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // first unread byte
  std::size_t end_ = 0;    // one past the last unread byte
};

}  // namespace socketserver::detail
