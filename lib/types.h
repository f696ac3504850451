// Basic freestanding types and utilities shared by firmware and host builds.
//
// Only compiler-provided headers are used (<stddef.h>, <stdint.h>), so this compiles unchanged
// with -ffreestanding -nostdlibinc for the target and with a hosted compiler for tests.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lib {

template <class T>
struct RemoveReference {
  using Type = T;
};
template <class T>
struct RemoveReference<T&> {
  using Type = T;
};
template <class T>
struct RemoveReference<T&&> {
  using Type = T;
};

template <class T>
constexpr typename RemoveReference<T>::Type&& Move(T&& value) {
  return static_cast<typename RemoveReference<T>::Type&&>(value);
}

template <class T>
constexpr T Min(T a, T b) {
  return a < b ? a : b;
}
template <class T>
constexpr T Max(T a, T b) {
  return a < b ? b : a;
}

constexpr uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}
constexpr bool IsPowerOfTwo(uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

// True when [start, start + size) lies inside [lo, hi) without wrapping.
constexpr bool RangeInside(uint64_t start, uint64_t size, uint64_t lo, uint64_t hi) {
  return start >= lo && start <= hi && size <= hi - start;
}

// Whether [a_start, a_start + a_size) and [b_start, b_start + b_size) share a byte; empty ranges
// share none. Neither end is computed, so sizes reaching past 2^64 cannot wrap.
constexpr bool RangesOverlap(uint64_t a_start, uint64_t a_size, uint64_t b_start, uint64_t b_size) {
  if (a_size == 0 || b_size == 0) return false;
  return a_start <= b_start ? b_start - a_start < a_size : a_start - b_start < b_size;
}

constexpr uint64_t KiB(uint64_t n) {
  return n << 10;
}
constexpr uint64_t MiB(uint64_t n) {
  return n << 20;
}
constexpr uint64_t GiB(uint64_t n) {
  return n << 30;
}

}  // namespace lib
