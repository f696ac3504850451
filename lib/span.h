// Span: a non-owning view of contiguous elements, and StringView for byte strings.
#pragma once

#include "lib/types.h"

namespace lib {

template <class T>
class Span {
 public:
  constexpr Span() = default;
  constexpr Span(T* data, size_t size) : data_(data), size_(size) {}
  template <size_t N>
  constexpr Span(T (&array)[N]) : data_(array), size_(N) {}
  // Span<T> converts to Span<const T>.
  template <class U, class = decltype(static_cast<T*>(static_cast<U*>(nullptr)))>
  constexpr Span(Span<U> other) : data_(other.data()), size_(other.size()) {}

  constexpr T* data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr T* begin() const { return data_; }
  constexpr T* end() const { return data_ + size_; }
  constexpr T& operator[](size_t i) const { return data_[i]; }

  // Elements [offset, offset + count), clipped to the span.
  constexpr Span Subspan(size_t offset, size_t count = static_cast<size_t>(-1)) const {
    if (offset > size_) offset = size_;
    return Span(data_ + offset, Min(count, size_ - offset));
  }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

class StringView {
 public:
  constexpr StringView() = default;
  constexpr StringView(const char* data, size_t size) : data_(data), size_(size) {}
  // NUL-terminated C string.
  constexpr StringView(const char* c_string) : data_(c_string), size_(Length(c_string)) {}

  constexpr const char* data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr char operator[](size_t i) const { return data_[i]; }

  constexpr bool operator==(StringView other) const {
    if (size_ != other.size_) return false;
    for (size_t i = 0; i < size_; ++i) {
      if (data_[i] != other.data_[i]) return false;
    }
    return true;
  }
  constexpr bool operator!=(StringView other) const { return !(*this == other); }
  constexpr bool StartsWith(StringView prefix) const {
    return prefix.size_ <= size_ && StringView(data_, prefix.size_) == prefix;
  }
  constexpr StringView Substr(size_t offset, size_t count = static_cast<size_t>(-1)) const {
    if (offset > size_) offset = size_;
    return StringView(data_ + offset, Min(count, size_ - offset));
  }
  // Index of the first `c` at or after `from`, or size() when absent.
  constexpr size_t Find(char c, size_t from = 0) const {
    for (size_t i = from; i < size_; ++i) {
      if (data_[i] == c) return i;
    }
    return size_;
  }

 private:
  static constexpr size_t Length(const char* s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
  }
  const char* data_ = "";
  size_t size_ = 0;
};

}  // namespace lib
