// Wire formats: little-endian value types beside lib/be.h's big-endian ones, and the one way to
// move a wire struct in and out of bytes.
//
// A wire struct is a plain struct of lib::Be*/Le* fields (and byte arrays) with a
// static_assert on its size, laid out as the spec lays the structure out (virtio rings and
// requests, SRP information units, FDT headers). LoadWire/StoreWire copy it from/to bytes that may
// be unaligned and of any type, so no pointer into a device's or a client's buffer is ever
// reinterpreted as a struct.
#pragma once

#include "lib/be.h"
#include "lib/string.h"
#include "lib/types.h"

namespace lib {

namespace detail {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr uint16_t ToLittle(uint16_t v) {
  return __builtin_bswap16(v);
}
constexpr uint32_t ToLittle(uint32_t v) {
  return __builtin_bswap32(v);
}
constexpr uint64_t ToLittle(uint64_t v) {
  return __builtin_bswap64(v);
}
#else
constexpr uint16_t ToLittle(uint16_t v) {
  return v;
}
constexpr uint32_t ToLittle(uint32_t v) {
  return v;
}
constexpr uint64_t ToLittle(uint64_t v) {
  return v;
}
#endif
}  // namespace detail

// A little-endian value in memory: what virtio and PC-born formats store. No implicit
// conversion in either direction, as for lib::BigEndian.
template <class T>
class LittleEndian {
 public:
  constexpr LittleEndian() = default;
  constexpr explicit LittleEndian(T host_value) : raw_(detail::ToLittle(host_value)) {}

  constexpr T value() const { return detail::ToLittle(raw_); }
  constexpr bool operator==(const LittleEndian& other) const { return raw_ == other.raw_; }
  constexpr bool operator!=(const LittleEndian& other) const { return raw_ != other.raw_; }

 private:
  T raw_ = 0;
};

using Le16 = LittleEndian<uint16_t>;
using Le32 = LittleEndian<uint32_t>;
using Le64 = LittleEndian<uint64_t>;

static_assert(sizeof(Le16) == 2 && sizeof(Le32) == 4 && sizeof(Le64) == 8);

// A value of either byte order that may lie at any address: alignment 1, so a struct of them and
// of bytes has no padding, for wire formats whose fields are not naturally aligned (an SRP
// response's 36 bytes with a 64-bit tag at 8, a virtio-scsi request's 19-byte head).
template <class T, bool kBigEndian>
class UnalignedValue {
 public:
  constexpr UnalignedValue() = default;
  constexpr explicit UnalignedValue(T host_value) {
    for (size_t i = 0; i < sizeof(T); ++i) {
      const size_t shift = 8 * (kBigEndian ? sizeof(T) - 1 - i : i);
      bytes_[i] = static_cast<uint8_t>(host_value >> shift);
    }
  }
  constexpr T value() const {
    T host_value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      const size_t shift = 8 * (kBigEndian ? sizeof(T) - 1 - i : i);
      host_value = static_cast<T>(host_value | static_cast<T>(T{bytes_[i]} << shift));
    }
    return host_value;
  }

 private:
  uint8_t bytes_[sizeof(T)] = {};
};

using UBe16 = UnalignedValue<uint16_t, true>;
using UBe32 = UnalignedValue<uint32_t, true>;
using UBe64 = UnalignedValue<uint64_t, true>;
using ULe16 = UnalignedValue<uint16_t, false>;
using ULe32 = UnalignedValue<uint32_t, false>;
using ULe64 = UnalignedValue<uint64_t, false>;

static_assert(sizeof(UBe64) == 8 && alignof(UBe64) == 1);

// The wire struct T held in the sizeof(T) bytes at `bytes`.
template <class T>
T LoadWire(const void* bytes) {
  static_assert(__is_trivially_copyable(T));
  T value;
  MemCopy(&value, bytes, sizeof(T));
  return value;
}

// Writes `value` into the sizeof(T) bytes at `bytes`.
template <class T>
void StoreWire(void* bytes, const T& value) {
  static_assert(__is_trivially_copyable(T));
  MemCopy(bytes, &value, sizeof(T));
}

}  // namespace lib
