// lib/guest-memory.h: every client-supplied address is checked against guest RAM and the
// firmware's protected ranges before it is touched. The guest RAM here is an exact-size heap array,
// so AddressSanitizer reports any access the checks let past the end.
#include "lib/guest-memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

namespace {

using lib::GuestMemory;
using lib::MemoryError;

constexpr size_t kRamSize = 4096;

class GuestMemoryTest : public ::testing::Test {
 protected:
  GuestMemoryTest() : ram_(new uint8_t[kRamSize]), memory_(Base(), kRamSize) {
    for (size_t i = 0; i < kRamSize; ++i) ram_[i] = static_cast<uint8_t>(i * 7);
  }
  uintptr_t Base() const { return reinterpret_cast<uintptr_t>(ram_.get()); }
  // Writes a string (with its NUL) straight into the backing array.
  void Put(uint64_t address, const std::string& text) {
    std::memcpy(ram_.get() + address, text.c_str(), text.size() + 1);
  }

  std::unique_ptr<uint8_t[]> ram_;
  GuestMemory memory_;
};

TEST_F(GuestMemoryTest, ContainsIsExactlyGuestRam) {
  EXPECT_EQ(memory_.size(), kRamSize);
  EXPECT_TRUE(memory_.Contains(0, kRamSize));
  EXPECT_TRUE(memory_.Contains(kRamSize - 1, 1));
  EXPECT_TRUE(memory_.Contains(kRamSize, 0));
  EXPECT_FALSE(memory_.Contains(kRamSize - 1, 2));
  EXPECT_FALSE(memory_.Contains(kRamSize, 1));
  EXPECT_FALSE(memory_.Contains(kRamSize + 1, 0));
  // address + size wraps around 2^64: still outside.
  EXPECT_FALSE(memory_.Contains(16, ~uint64_t{0} - 8));
  EXPECT_FALSE(memory_.Contains(~uint64_t{0}, 2));
}

TEST_F(GuestMemoryTest, ReadAndWriteInsideRam) {
  const uint8_t data[] = {1, 2, 3, 4, 5};
  ASSERT_TRUE(memory_.Write(100, data, sizeof(data)).is_ok());
  EXPECT_EQ(std::memcmp(ram_.get() + 100, data, sizeof(data)), 0);
  uint8_t back[5] = {};
  ASSERT_TRUE(memory_.Read(100, back, sizeof(back)).is_ok());
  EXPECT_EQ(std::memcmp(back, data, sizeof(data)), 0);
  // The last bytes of RAM are usable.
  ASSERT_TRUE(memory_.Write(kRamSize - 5, data, 5).is_ok());
  ASSERT_TRUE(memory_.Read(kRamSize - 5, back, 5).is_ok());
  EXPECT_EQ(std::memcmp(back, data, sizeof(data)), 0);
}

TEST_F(GuestMemoryTest, AccessesLeavingRamAreRefusedAndTouchNothing) {
  uint8_t out[8];
  std::memset(out, 0x5a, sizeof(out));
  const uint8_t before_last = ram_[kRamSize - 1];
  auto read = memory_.Read(kRamSize - 4, out, 8);
  ASSERT_TRUE(read.is_error());
  EXPECT_EQ(read.error(), MemoryError::kOutOfRange);
  for (uint8_t b : out) EXPECT_EQ(b, 0x5a);  // no partial copy

  const uint8_t data[8] = {9, 9, 9, 9, 9, 9, 9, 9};
  auto write = memory_.Write(kRamSize - 4, data, 8);
  ASSERT_TRUE(write.is_error());
  EXPECT_EQ(write.error(), MemoryError::kOutOfRange);
  EXPECT_EQ(ram_[kRamSize - 1], before_last);

  EXPECT_EQ(memory_.Read(kRamSize, out, 1).error(), MemoryError::kOutOfRange);
  EXPECT_EQ(memory_.Read(0xffffffff, out, 1).error(), MemoryError::kOutOfRange);
  EXPECT_EQ(memory_.Write(~uint64_t{0}, data, 2).error(), MemoryError::kOutOfRange);
  EXPECT_EQ(memory_.Fill(kRamSize - 1, 0, 2).error(), MemoryError::kOutOfRange);
  EXPECT_EQ(memory_.Map(kRamSize - 1, 2, false).error(), MemoryError::kOutOfRange);
}

TEST_F(GuestMemoryTest, MapReturnsTheHostAddressOfTheGuestAddress) {
  auto mapped = memory_.Map(0x123, 16, false);
  ASSERT_TRUE(mapped.is_ok());
  EXPECT_EQ(mapped.value(), ram_.get() + 0x123);
  auto writable = memory_.Map(0x123, 16, true);
  ASSERT_TRUE(writable.is_ok());
  EXPECT_EQ(writable.value(), ram_.get() + 0x123);
}

TEST_F(GuestMemoryTest, WritesIntoProtectedRangesAreRefusedReadsAreNot) {
  ASSERT_TRUE(memory_.Protect(0x100, 0x100));  // [0x100, 0x200)
  const uint8_t data[16] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
                            0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
  const std::unique_ptr<uint8_t[]> snapshot(new uint8_t[kRamSize]);
  std::memcpy(snapshot.get(), ram_.get(), kRamSize);

  // Inside, straddling the start, straddling the end, and covering the whole range.
  EXPECT_EQ(memory_.Write(0x180, data, 4).error(), MemoryError::kProtected);
  EXPECT_EQ(memory_.Write(0xf8, data, 16).error(), MemoryError::kProtected);
  EXPECT_EQ(memory_.Write(0x1f8, data, 16).error(), MemoryError::kProtected);
  EXPECT_EQ(memory_.Fill(0x0, 0xee, 0x400).error(), MemoryError::kProtected);
  EXPECT_EQ(memory_.Map(0x1ff, 1, true).error(), MemoryError::kProtected);
  EXPECT_EQ(std::memcmp(snapshot.get(), ram_.get(), kRamSize), 0);

  // Reads of firmware memory are fine (the client may read, never write).
  uint8_t out[4];
  EXPECT_TRUE(memory_.Read(0x180, out, 4).is_ok());
  EXPECT_TRUE(memory_.Map(0x180, 4, false).is_ok());

  // The bytes right before and right after are the client's.
  EXPECT_TRUE(memory_.Write(0xf0, data, 16).is_ok());
  EXPECT_TRUE(memory_.Write(0x200, data, 16).is_ok());
  EXPECT_TRUE(memory_.Fill(0x210, 0, 16).is_ok());
}

TEST_F(GuestMemoryTest, UnprotectLiftsOnlyTheExactRange) {
  ASSERT_TRUE(memory_.Protect(0x100, 0x100));
  ASSERT_TRUE(memory_.Protect(0x800, 0x10));
  const uint8_t byte = 1;
  memory_.Unprotect(0x100, 0x80);  // not the range that was protected
  EXPECT_EQ(memory_.Write(0x100, &byte, 1).error(), MemoryError::kProtected);
  memory_.Unprotect(0x100, 0x100);
  EXPECT_TRUE(memory_.Write(0x100, &byte, 1).is_ok());
  EXPECT_TRUE(memory_.Write(0x1ff, &byte, 1).is_ok());
  // The other range is unaffected.
  EXPECT_EQ(memory_.Write(0x808, &byte, 1).error(), MemoryError::kProtected);
}

TEST_F(GuestMemoryTest, ProtectTableHoldsEightRanges) {
  for (int i = 0; i < GuestMemory::kMaxProtected; ++i) {
    ASSERT_TRUE(memory_.Protect(0x100 * static_cast<uint64_t>(i), 0x10)) << i;
  }
  EXPECT_FALSE(memory_.Protect(0xf00, 0x10));
  const uint8_t byte = 1;
  // The refused range stays writable; the eight accepted ones are protected.
  EXPECT_TRUE(memory_.Write(0xf00, &byte, 1).is_ok());
  for (int i = 0; i < GuestMemory::kMaxProtected; ++i) {
    EXPECT_EQ(memory_.Write(0x100 * static_cast<uint64_t>(i) + 0xf, &byte, 1).error(),
              MemoryError::kProtected);
  }
  // Unprotecting one frees a slot.
  memory_.Unprotect(0x300, 0x10);
  EXPECT_TRUE(memory_.Protect(0xf00, 0x10));
  EXPECT_EQ(memory_.Write(0xf00, &byte, 1).error(), MemoryError::kProtected);
  EXPECT_TRUE(memory_.Write(0x300, &byte, 1).is_ok());
}

TEST_F(GuestMemoryTest, WriteFromAnOverlappingSourceBehavesLikeMemmove) {
  for (int i = 0; i < 16; ++i) ram_[0x400 + i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(memory_.Write(0x402, ram_.get() + 0x400, 8).is_ok());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(ram_[0x402 + i], i);
}

TEST_F(GuestMemoryTest, ReadStringCopiesTheStringAndItsNul) {
  Put(0x40, "finddevice");
  char out[64];
  std::memset(out, 'x', sizeof(out));
  auto length = memory_.ReadString(0x40, out, sizeof(out));
  ASSERT_TRUE(length.is_ok());
  EXPECT_EQ(length.value(), 10u);
  EXPECT_STREQ(out, "finddevice");
  EXPECT_EQ(out[11], 'x');  // nothing written past the NUL

  Put(0x80, "");
  auto empty = memory_.ReadString(0x80, out, sizeof(out));
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty.value(), 0u);
  EXPECT_EQ(out[0], '\0');
}

TEST_F(GuestMemoryTest, ReadStringLimitIsCapacityMinusOne) {
  const std::string fits(15, 'a');
  Put(0x100, fits);
  char out[16];
  auto ok = memory_.ReadString(0x100, out, sizeof(out));
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok.value(), 15u);
  EXPECT_EQ(std::string(out), fits);

  // One character more: refused, never truncated.
  Put(0x200, std::string(16, 'b'));
  std::memset(out, 'x', sizeof(out));
  auto too_long = memory_.ReadString(0x200, out, sizeof(out));
  ASSERT_TRUE(too_long.is_error());
  EXPECT_EQ(too_long.error(), MemoryError::kUnterminated);

  EXPECT_EQ(memory_.ReadString(0x100, out, 0).error(), MemoryError::kUnterminated);
}

TEST_F(GuestMemoryTest, ReadStringNeverReadsPastTheEndOfRam) {
  // No NUL in the last 8 bytes of RAM; ASan would flag a read of the byte after the array.
  std::memset(ram_.get() + kRamSize - 8, 'z', 8);
  char out[64];
  auto result = memory_.ReadString(kRamSize - 8, out, sizeof(out));
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error(), MemoryError::kOutOfRange);

  // The same bytes with a capacity that ends exactly at the end of RAM: too long, not out of range.
  auto exact = memory_.ReadString(kRamSize - 8, out, 8);
  ASSERT_TRUE(exact.is_error());
  EXPECT_EQ(exact.error(), MemoryError::kUnterminated);

  // A string whose NUL is the very last byte of RAM is fine.
  ram_[kRamSize - 1] = '\0';
  auto last = memory_.ReadString(kRamSize - 8, out, sizeof(out));
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(last.value(), 7u);
  EXPECT_EQ(std::string(out), "zzzzzzz");

  EXPECT_EQ(memory_.ReadString(kRamSize, out, sizeof(out)).error(), MemoryError::kOutOfRange);
  EXPECT_EQ(memory_.ReadString(0x100000000ull, out, sizeof(out)).error(), MemoryError::kOutOfRange);
}

TEST_F(GuestMemoryTest, ReadStringFromProtectedMemoryIsAllowed) {
  Put(0x300, "/chosen");
  ASSERT_TRUE(memory_.Protect(0x300, 0x100));
  char out[32];
  auto length = memory_.ReadString(0x300, out, sizeof(out));
  ASSERT_TRUE(length.is_ok());
  EXPECT_STREQ(out, "/chosen");
}

TEST(GuestMemory, DefaultConstructedHasNoRam) {
  GuestMemory memory;
  uint8_t byte = 0;
  char text[4];
  EXPECT_EQ(memory.size(), 0u);
  EXPECT_FALSE(memory.Contains(0, 1));
  EXPECT_EQ(memory.Read(0, &byte, 1).error(), MemoryError::kOutOfRange);
  EXPECT_EQ(memory.Write(0, &byte, 1).error(), MemoryError::kOutOfRange);
  EXPECT_EQ(memory.ReadString(0, text, sizeof(text)).error(), MemoryError::kOutOfRange);
}

TEST(GuestMemory, ErrorNamesAreDistinct) {
  const std::string a = lib::MemoryErrorName(MemoryError::kOutOfRange);
  const std::string b = lib::MemoryErrorName(MemoryError::kProtected);
  const std::string c = lib::MemoryErrorName(MemoryError::kUnterminated);
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
}

}  // namespace
