#include "lib/format.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

// Formats with tern's formatter and with the host's snprintf; both must agree.
#define EXPECT_FORMAT_AS_LIBC(...)                                         \
  do {                                                                     \
    char ours[256];                                                        \
    char libc[256];                                                        \
    const size_t n = lib::FormatToBuffer(ours, sizeof(ours), __VA_ARGS__); \
    const int m = std::snprintf(libc, sizeof(libc), __VA_ARGS__);          \
    EXPECT_STREQ(ours, libc);                                              \
    EXPECT_EQ(n, static_cast<size_t>(m));                                  \
  } while (0)

TEST(Format, IntegersAgreeWithTheCLibrary) {
  EXPECT_FORMAT_AS_LIBC("%d %i %u", 0, -1, 4294967295u);
  EXPECT_FORMAT_AS_LIBC("%d", -2147483647 - 1);
  EXPECT_FORMAT_AS_LIBC("%ld %lu", -9223372036854775807L - 1, 18446744073709551615UL);
  EXPECT_FORMAT_AS_LIBC("%lld %llx", -5LL, 0xdeadbeefcafef00dULL);
  EXPECT_FORMAT_AS_LIBC("%zu %zx", static_cast<size_t>(12345), static_cast<size_t>(0xabc));
  // An int truncated by the conversion, as C's varargs pass it (clang warns about the type).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
  EXPECT_FORMAT_AS_LIBC("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
#pragma GCC diagnostic pop
  EXPECT_FORMAT_AS_LIBC("%x %X %o %#x %#X %#o %#o", 255, 255, 8, 255, 255, 8, 0);
  EXPECT_FORMAT_AS_LIBC("[%5d] [%-5d] [%05d] [%+d] [% d] [%+05d]", 42, 42, 42, 42, 42, -42);
  EXPECT_FORMAT_AS_LIBC("[%.3d] [%8.3d] [%-8.3x] [%.0d]", 7, 7, 7, 0);
  EXPECT_FORMAT_AS_LIBC("[%*d] [%-*d] [%.*d] [%*d]", 6, 1, 6, 1, 4, 1, -6, 1);
  EXPECT_FORMAT_AS_LIBC("[%016llx] [%#018llx]", 0x100ULL, 0x100ULL);
}

TEST(Format, StringsCharsAndPercent) {
  EXPECT_FORMAT_AS_LIBC("[%s] [%10s] [%-10s] [%.2s] [%.*s]", "tern", "tern", "tern", "tern", 3,
                        "pseries");
  EXPECT_FORMAT_AS_LIBC("[%c] [%3c] [%-3c] 100%%", 'x', 'y', 'z');
  EXPECT_FORMAT_AS_LIBC("%s", "");
}

TEST(Format, PointersPrintAsHex) {
  char out[64];
  lib::FormatToBuffer(out, sizeof(out), "%p", reinterpret_cast<void*>(0x3fe00000));
  EXPECT_STREQ(out, "0x3fe00000");
}

TEST(Format, ZeroFlagWithPrecisionPadsWithSpacesAsInC) {
  // Built at run time: the compiler's format check rejects the combination in a literal.
  const std::string format = std::string("[%0") + "8.3d]";
  char ours[32];
  char libc[32];
  lib::FormatToBuffer(ours, sizeof(ours), format.c_str(), 7);
  std::snprintf(libc, sizeof(libc), format.c_str(), 7);
  EXPECT_STREQ(ours, libc);
  EXPECT_STREQ(ours, "[     007]");
}

TEST(Format, NullStringAndUnknownConversionAreVisible) {
  char out[64];
  const char* volatile missing = nullptr;
  lib::FormatToBuffer(out, sizeof(out), "%s", missing);
  EXPECT_STREQ(out, "(null)");
  // Built at run time so the compiler's format check does not reject it.
  std::string format = "a%";
  format += "qb";
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-security"
  lib::FormatToBuffer(out, sizeof(out), format.c_str());
#pragma GCC diagnostic pop
  EXPECT_STREQ(out, "a%qb");
}

TEST(Format, BufferTruncatesButReportsTheFullLength) {
  char out[8];
  EXPECT_EQ(lib::FormatToBuffer(out, sizeof(out), "%s-%d", "firmware", 12345), 14u);
  EXPECT_STREQ(out, "firmwar");
  char canary[4] = {'x', 'x', 'x', 'x'};
  EXPECT_EQ(lib::FormatToBuffer(canary, 0, "abc"), 3u);
  EXPECT_EQ(canary[0], 'x');
  EXPECT_EQ(lib::FormatToBuffer(canary, 1, "abc"), 3u);
  EXPECT_EQ(canary[0], '\0');
  EXPECT_EQ(canary[1], 'x');
}

TEST(Format, SinkReceivesEverything) {
  std::string collected;
  lib::Sink sink{[](void* context, const char* data, size_t size) {
                   static_cast<std::string*>(context)->append(data, size);
                 },
                 &collected};
  EXPECT_EQ(lib::Format(sink, "%s=%04x;%-3d|", "reg", 0x71, 5), 13u);
  EXPECT_EQ(collected, "reg=0071;5  |");
}

}  // namespace
