#include "lib/string.h"

namespace lib {

void* MemCopy(void* dest, const void* src, size_t n) {
  auto* d = static_cast<uint8_t*>(dest);
  const auto* s = static_cast<const uint8_t*>(src);
  // Word copies when both are 8-aligned: the FDT copy at boot is ~15-64 KiB.
  if (((reinterpret_cast<uintptr_t>(d) | reinterpret_cast<uintptr_t>(s)) & 7) == 0) {
    for (; n >= 8; n -= 8, d += 8, s += 8) {
      *reinterpret_cast<uint64_t*>(d) = *reinterpret_cast<const uint64_t*>(s);
    }
  }
  while (n-- > 0) *d++ = *s++;
  return dest;
}

void* MemMove(void* dest, const void* src, size_t n) {
  auto* d = static_cast<uint8_t*>(dest);
  const auto* s = static_cast<const uint8_t*>(src);
  if (d == s || n == 0) return dest;
  if (d < s || d >= s + n) return MemCopy(dest, src, n);
  while (n-- > 0) d[n] = s[n];  // overlapping with dest above src: copy backwards
  return dest;
}

void* MemSet(void* dest, int value, size_t n) {
  auto* d = static_cast<uint8_t*>(dest);
  const auto byte = static_cast<uint8_t>(value);
  while (n-- > 0) *d++ = byte;
  return dest;
}

int MemCompare(const void* a, const void* b, size_t n) {
  const auto* x = static_cast<const uint8_t*>(a);
  const auto* y = static_cast<const uint8_t*>(b);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

const void* MemFind(const void* haystack, int c, size_t n) {
  const auto* p = static_cast<const uint8_t*>(haystack);
  const auto byte = static_cast<uint8_t>(c);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] == byte) return p + i;
  }
  return nullptr;
}

size_t StrLength(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

size_t StrLengthMax(const char* s, size_t max) {
  size_t n = 0;
  while (n < max && s[n] != '\0') ++n;
  return n;
}

int StrCompare(const char* a, const char* b) {
  return StrCompareMax(a, b, static_cast<size_t>(-1));
}

int StrCompareMax(const char* a, const char* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
    if (x == '\0') return 0;
  }
  return 0;
}

const char* StrFind(const char* s, int c) {
  const char ch = static_cast<char>(c);
  for (;; ++s) {
    if (*s == ch) return s;
    if (*s == '\0') return nullptr;
  }
}

const char* StrFindLast(const char* s, int c) {
  const char ch = static_cast<char>(c);
  const char* last = nullptr;
  for (;; ++s) {
    if (*s == ch) last = s;
    if (*s == '\0') return last;
  }
}

namespace {
int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}
}  // namespace

unsigned long StrToUnsigned(const char* s, char** end, int base) {
  const char* p = s;
  while (*p == ' ' || (*p >= '\t' && *p <= '\r')) ++p;
  bool negative = false;
  if (*p == '+' || *p == '-') negative = *p++ == '-';
  const bool hex_prefix = p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && DigitValue(p[2]) < 16;
  if ((base == 0 || base == 16) && hex_prefix) {
    p += 2;
    base = 16;
  } else if (base == 0) {
    base = p[0] == '0' ? 8 : 10;
  }
  if (base < 2 || base > 36) {
    if (end) *end = const_cast<char*>(s);
    return 0;
  }
  const unsigned long max = static_cast<unsigned long>(-1);
  unsigned long value = 0;
  bool overflow = false;
  const char* digits = p;
  for (int d; (d = DigitValue(*p)) < base; ++p) {
    const auto digit = static_cast<unsigned long>(d);
    if (value > (max - digit) / static_cast<unsigned long>(base)) overflow = true;
    value = value * static_cast<unsigned long>(base) + digit;
  }
  if (end) *end = const_cast<char*>(p == digits ? s : p);
  if (overflow) return max;
  return negative ? 0 - value : value;
}

}  // namespace lib
