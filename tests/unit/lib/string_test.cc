#include "lib/string.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int Sign(int v) {
  return (v > 0) - (v < 0);
}

TEST(String, MemCopyMatchesAtEveryAlignmentAndLength) {
  std::vector<uint8_t> src(96);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7 + 1);
  for (size_t s = 0; s < 9; ++s) {
    for (size_t d = 0; d < 9; ++d) {
      for (size_t n = 0; n < 40; ++n) {
        std::vector<uint8_t> a(64, 0xee), b(64, 0xee);
        EXPECT_EQ(lib::MemCopy(a.data() + d, src.data() + s, n), a.data() + d);
        std::memcpy(b.data() + d, src.data() + s, n);
        ASSERT_EQ(a, b) << "src+" << s << " dst+" << d << " n=" << n;
      }
    }
  }
}

TEST(String, MemMoveHandlesOverlapInBothDirections) {
  for (int shift = -9; shift <= 9; ++shift) {
    std::vector<uint8_t> a(64), b(64);
    for (size_t i = 0; i < a.size(); ++i) a[i] = b[i] = static_cast<uint8_t>(i);
    lib::MemMove(a.data() + 20 + shift, a.data() + 20, 30);
    std::memmove(b.data() + 20 + shift, b.data() + 20, 30);
    EXPECT_EQ(a, b) << "shift " << shift;
  }
}

TEST(String, MemSetAndMemFind) {
  uint8_t buffer[33];
  std::memset(buffer, 1, sizeof(buffer));
  lib::MemSet(buffer + 3, 0x1ab, 20);  // only the low byte counts
  for (size_t i = 0; i < sizeof(buffer); ++i) EXPECT_EQ(buffer[i], (i >= 3 && i < 23) ? 0xab : 1);
  EXPECT_EQ(lib::MemFind(buffer, 0xab, sizeof(buffer)), buffer + 3);
  EXPECT_EQ(lib::MemFind(buffer, 0xab, 3), nullptr);
  EXPECT_EQ(lib::MemFind(buffer, 0x1ab, sizeof(buffer)), buffer + 3);
}

TEST(String, ComparisonsAgreeWithTheCLibrary) {
  const char* words[] = {"", "a", "ab", "abc", "abd", "b", "\x80", "\x7f", "ab\0c"};
  for (const char* x : words) {
    for (const char* y : words) {
      EXPECT_EQ(Sign(lib::StrCompare(x, y)), Sign(std::strcmp(x, y))) << x << " vs " << y;
      for (size_t n = 0; n < 5; ++n) {
        EXPECT_EQ(Sign(lib::StrCompareMax(x, y, n)), Sign(std::strncmp(x, y, n)));
        const size_t m = std::min({n, std::strlen(x) + 1, std::strlen(y) + 1});
        EXPECT_EQ(Sign(lib::MemCompare(x, y, m)), Sign(std::memcmp(x, y, m)));
      }
    }
  }
}

TEST(String, LengthsAndSearches) {
  const char* s = "/vdevice/vty@71000000:9600";
  EXPECT_EQ(lib::StrLength(s), std::strlen(s));
  EXPECT_EQ(lib::StrLength(""), 0u);
  EXPECT_EQ(lib::StrLengthMax(s, 5), 5u);
  EXPECT_EQ(lib::StrLengthMax(s, 100), std::strlen(s));
  EXPECT_EQ(lib::StrFind(s, '@'), std::strchr(s, '@'));
  EXPECT_EQ(lib::StrFind(s, 'Z'), nullptr);
  EXPECT_EQ(lib::StrFind(s, '\0'), s + std::strlen(s));
  EXPECT_EQ(lib::StrFindLast(s, '/'), std::strrchr(s, '/'));
  EXPECT_EQ(lib::StrFindLast(s, 'Z'), nullptr);
}

TEST(String, StrToUnsignedAgreesWithTheCLibrary) {
  const char* inputs[] = {"0",
                          "42",
                          "  17xyz",
                          "0x1F",
                          "0X1f",
                          "077",
                          "08",
                          "-1",
                          "+5",
                          "zz",
                          "",
                          "0x",
                          "18446744073709551615",
                          "18446744073709551616",
                          "99999999999999999999",
                          "1010",
                          "z",
                          "0xg"};
  for (const char* input : inputs) {
    for (int base : {0, 2, 8, 10, 16, 36}) {
      char* end_ours = nullptr;
      char* end_libc = nullptr;
      const unsigned long ours = lib::StrToUnsigned(input, &end_ours, base);
      const unsigned long libc = std::strtoul(input, &end_libc, base);
      EXPECT_EQ(ours, libc) << "'" << input << "' base " << base;
      EXPECT_EQ(end_ours, end_libc) << "'" << input << "' base " << base;
    }
  }
}

}  // namespace
