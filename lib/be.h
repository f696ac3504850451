// Big-endian value types.
//
// Every value the hypervisor, the device tree or an OS argument block holds in memory is
// big-endian. Be32/Be64 keep such values apart from host-order integers: there is no implicit
// conversion in either direction, so a missing byte swap is a compile error, not a silent bug on
// the host build. They have the size and alignment of the raw integer, so arrays of them overlay
// wire structures.
#pragma once

#include "lib/types.h"

namespace lib {

namespace detail {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr uint16_t ToBig(uint16_t v) {
  return v;
}
constexpr uint32_t ToBig(uint32_t v) {
  return v;
}
constexpr uint64_t ToBig(uint64_t v) {
  return v;
}
#else
constexpr uint16_t ToBig(uint16_t v) {
  return __builtin_bswap16(v);
}
constexpr uint32_t ToBig(uint32_t v) {
  return __builtin_bswap32(v);
}
constexpr uint64_t ToBig(uint64_t v) {
  return __builtin_bswap64(v);
}
#endif
}  // namespace detail

template <class T>
class BigEndian {
 public:
  constexpr BigEndian() = default;
  constexpr explicit BigEndian(T host_value) : raw_(detail::ToBig(host_value)) {}

  constexpr T value() const { return detail::ToBig(raw_); }
  constexpr bool operator==(const BigEndian& other) const { return raw_ == other.raw_; }
  constexpr bool operator!=(const BigEndian& other) const { return raw_ != other.raw_; }

 private:
  T raw_ = 0;
};

using Be16 = BigEndian<uint16_t>;
using Be32 = BigEndian<uint32_t>;
using Be64 = BigEndian<uint64_t>;

static_assert(sizeof(Be32) == 4 && alignof(Be32) == 4);
static_assert(sizeof(Be64) == 8 && alignof(Be64) == 8);

// Reads a big-endian value from possibly unaligned bytes (device-tree cells are only 4-aligned).
inline uint16_t LoadBe16(const void* bytes) {
  const uint8_t* b = static_cast<const uint8_t*>(bytes);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
inline uint32_t LoadBe32(const void* bytes) {
  const uint8_t* b = static_cast<const uint8_t*>(bytes);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}
inline uint64_t LoadBe64(const void* bytes) {
  const uint8_t* b = static_cast<const uint8_t*>(bytes);
  return (uint64_t{LoadBe32(b)} << 32) | LoadBe32(b + 4);
}
// Reads a little-endian value from possibly unaligned bytes: what PC-born formats store (the MBR,
// the GPT, UEFI GUIDs' first three fields) and what an ELFDATA2LSB file holds.
inline uint16_t LoadLe16(const void* bytes) {
  const uint8_t* b = static_cast<const uint8_t*>(bytes);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
inline uint32_t LoadLe32(const void* bytes) {
  const uint8_t* b = static_cast<const uint8_t*>(bytes);
  return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
}
inline uint64_t LoadLe64(const void* bytes) {
  const uint8_t* b = static_cast<const uint8_t*>(bytes);
  return uint64_t{LoadLe32(b)} | (uint64_t{LoadLe32(b + 4)} << 32);
}
// Writes a little-endian value to possibly unaligned bytes (virtio rings and requests).
inline void StoreLe16(void* bytes, uint16_t value) {
  uint8_t* b = static_cast<uint8_t*>(bytes);
  b[0] = static_cast<uint8_t>(value);
  b[1] = static_cast<uint8_t>(value >> 8);
}
inline void StoreLe32(void* bytes, uint32_t value) {
  uint8_t* b = static_cast<uint8_t*>(bytes);
  StoreLe16(b, static_cast<uint16_t>(value));
  StoreLe16(b + 2, static_cast<uint16_t>(value >> 16));
}
inline void StoreLe64(void* bytes, uint64_t value) {
  uint8_t* b = static_cast<uint8_t*>(bytes);
  StoreLe32(b, static_cast<uint32_t>(value));
  StoreLe32(b + 4, static_cast<uint32_t>(value >> 32));
}
inline void StoreBe16(void* bytes, uint16_t value) {
  uint8_t* b = static_cast<uint8_t*>(bytes);
  b[0] = static_cast<uint8_t>(value >> 8);
  b[1] = static_cast<uint8_t>(value);
}
inline void StoreBe32(void* bytes, uint32_t value) {
  uint8_t* b = static_cast<uint8_t*>(bytes);
  b[0] = static_cast<uint8_t>(value >> 24);
  b[1] = static_cast<uint8_t>(value >> 16);
  b[2] = static_cast<uint8_t>(value >> 8);
  b[3] = static_cast<uint8_t>(value);
}
inline void StoreBe64(void* bytes, uint64_t value) {
  uint8_t* b = static_cast<uint8_t*>(bytes);
  StoreBe32(b, static_cast<uint32_t>(value >> 32));
  StoreBe32(b + 4, static_cast<uint32_t>(value));
}

}  // namespace lib
