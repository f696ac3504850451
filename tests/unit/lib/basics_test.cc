// Be32/Be64, the unaligned big- and little-endian loads, CRC-32, Result, Span/StringView, Arena,
// Spinlock.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "lib/arena.h"
#include "lib/be.h"
#include "lib/crc32.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/spinlock.h"
#include "lib/types.h"
#include "tests/fake-hv.h"

namespace {

TEST(BigEndian, StoresBytesMostSignificantFirst) {
  const lib::Be32 v(0x11223344);
  uint8_t bytes[4];
  std::memcpy(bytes, &v, 4);
  EXPECT_EQ(bytes[0], 0x11);
  EXPECT_EQ(bytes[3], 0x44);
  EXPECT_EQ(v.value(), 0x11223344u);
  const lib::Be64 w(0x0102030405060708ull);
  uint8_t wide[8];
  std::memcpy(wide, &w, 8);
  EXPECT_EQ(wide[0], 1);
  EXPECT_EQ(wide[7], 8);
  EXPECT_EQ(lib::LoadBe64(wide), 0x0102030405060708ull);
  EXPECT_EQ(lib::LoadBe32(wide + 1), 0x02030405u);
  uint8_t out[5] = {};
  lib::StoreBe32(out + 1, 0xa1b2c3d4);
  EXPECT_EQ(out[1], 0xa1);
  EXPECT_EQ(out[4], 0xd4);
  uint8_t unaligned[11] = {};
  lib::StoreBe16(unaligned + 1, 0xa1b2);
  lib::StoreBe64(unaligned + 3, 0x0102030405060708ull);
  EXPECT_EQ(lib::LoadBe16(unaligned + 1), 0xa1b2u);
  EXPECT_EQ(unaligned[1], 0xa1);
  EXPECT_EQ(lib::LoadBe64(unaligned + 3), 0x0102030405060708ull);
  EXPECT_EQ(unaligned[3], 0x01);
  EXPECT_EQ(unaligned[10], 0x08);
  EXPECT_TRUE(lib::Be32(5) == lib::Be32(5));
  EXPECT_TRUE(lib::Be32(5) != lib::Be32(6));
}

TEST(Endian, UnalignedLoadsReadBothByteOrders) {
  const uint8_t bytes[9] = {0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  EXPECT_EQ(lib::LoadBe16(bytes + 1), 0x0102u);
  EXPECT_EQ(lib::LoadLe16(bytes + 1), 0x0201u);
  EXPECT_EQ(lib::LoadLe32(bytes + 1), 0x04030201u);
  EXPECT_EQ(lib::LoadLe64(bytes + 1), 0x0807060504030201ull);
  const uint8_t high[8] = {0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0};
  EXPECT_EQ(lib::LoadBe16(high), 0x8090u);
  EXPECT_EQ(lib::LoadLe16(high), 0x9080u);
  EXPECT_EQ(lib::LoadLe32(high), 0xb0a09080u);
  EXPECT_EQ(lib::LoadLe64(high), 0xf0e0d0c0b0a09080ull);
}

TEST(Endian, LittleEndianStoresPutTheLeastSignificantByteFirst) {
  uint8_t bytes[9] = {};
  lib::StoreLe16(bytes + 1, 0x0102);
  EXPECT_EQ(bytes[1], 0x02);
  EXPECT_EQ(bytes[2], 0x01);
  lib::StoreLe32(bytes + 1, 0x8090a0b0u);
  EXPECT_EQ(lib::LoadLe32(bytes + 1), 0x8090a0b0u);
  EXPECT_EQ(bytes[1], 0xb0);
  lib::StoreLe64(bytes + 1, 0xf0e0d0c0b0a09080ull);
  EXPECT_EQ(lib::LoadLe64(bytes + 1), 0xf0e0d0c0b0a09080ull);
  EXPECT_EQ(bytes[1], 0x80);
  EXPECT_EQ(bytes[8], 0xf0);
  EXPECT_EQ(bytes[0], 0x00);  // nothing written outside the value
}

TEST(Crc32, IsZlibsCrcAndContinuesAcrossPieces) {
  const char* check = "123456789";
  const auto* bytes = reinterpret_cast<const uint8_t*>(check);
  EXPECT_EQ(lib::Crc32({bytes, 9}), 0xcbf43926u);
  EXPECT_EQ(lib::Crc32({}), 0u);
  EXPECT_EQ(lib::Crc32({bytes + 4, 5}, lib::Crc32({bytes, 4})), 0xcbf43926u);
}

// The four-bytes-at-a-time loop against the bit-at-a-time definition, for every length up to 67
// at every alignment, and split at every point.
TEST(Crc32, EqualsTheBitwiseDefinitionAtAnyLengthAndAlignment) {
  auto bitwise = [](const uint8_t* data, size_t size) {
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < size; ++i) {
      crc ^= data[i];
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
  };
  uint8_t data[80];
  uint32_t seed = 12345;
  for (uint8_t& byte : data) {
    seed = seed * 1103515245u + 12345u;
    byte = static_cast<uint8_t>(seed >> 16);
  }
  for (size_t offset = 0; offset < 4; ++offset) {
    for (size_t size = 0; size + offset <= 67; ++size) {
      const uint32_t expected = bitwise(data + offset, size);
      EXPECT_EQ(lib::Crc32({data + offset, size}), expected) << offset << "+" << size;
      for (size_t split = 0; split <= size; ++split) {
        EXPECT_EQ(
            lib::Crc32({data + offset + split, size - split}, lib::Crc32({data + offset, split})),
            expected);
      }
    }
  }
}

enum class TestError { kBad = 1, kWorse = 2 };

lib::Result<int, TestError> Half(int v) {
  if (v % 2 != 0) return lib::Err(TestError::kBad);
  return v / 2;
}

lib::Result<int, TestError> Quarter(int v) {
  auto half = Half(v);
  TERN_TRY(half);
  return Half(half.value());
}

TEST(Result, CarriesValueOrError) {
  auto ok = Half(8);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok.value(), 4);
  auto bad = Half(3);
  ASSERT_TRUE(bad.is_error());
  EXPECT_EQ(bad.error(), TestError::kBad);
  EXPECT_EQ(bad.value_or(-1), -1);
  EXPECT_EQ(Quarter(8).value(), 2);
  EXPECT_EQ(Quarter(6).error(), TestError::kBad);
  EXPECT_EQ(Quarter(5).error(), TestError::kBad);
  lib::Result<void, TestError> done = lib::Ok<TestError>();
  EXPECT_TRUE(done.is_ok());
}

TEST(ResultDeathTest, MisusePanicsWithFileAndLine) {
  tests::AttachConsoleToStderr();
  EXPECT_DEATH((void)Half(3).value(), "PANIC at .*result.h:[0-9]+: value\\(\\) of an error Result");
  EXPECT_DEATH((void)Half(2).error(), "PANIC at .*result.h:[0-9]+: error\\(\\) of a value Result");
}

TEST(Span, SubspanAndStringView) {
  int values[] = {1, 2, 3, 4};
  lib::Span<int> all(values);
  EXPECT_EQ(all.size(), 4u);
  EXPECT_EQ(all.Subspan(1, 2)[0], 2);
  EXPECT_EQ(all.Subspan(1, 2).size(), 2u);
  EXPECT_EQ(all.Subspan(3).size(), 1u);
  EXPECT_EQ(all.Subspan(9).size(), 0u);
  lib::StringView path("/vdevice/vty@71000000:9600");
  EXPECT_EQ(path.Find(':'), 21u);
  EXPECT_EQ(path.Find('#'), path.size());
  EXPECT_TRUE(path.StartsWith("/vdevice"));
  EXPECT_FALSE(path.StartsWith("/vdevices/"));
  EXPECT_TRUE(path.Substr(0, 8) == lib::StringView("/vdevice"));
  EXPECT_TRUE(path.Substr(22) == lib::StringView("9600"));
  EXPECT_TRUE(path.Substr(99).empty());
}

TEST(Arena, AllocatesAlignedUntilFull) {
  alignas(16) static uint8_t memory[256];
  lib::Arena arena(reinterpret_cast<uintptr_t>(memory), reinterpret_cast<uintptr_t>(memory) + 256);
  void* a = arena.Allocate(3, 1);
  EXPECT_EQ(a, memory);
  void* b = arena.Allocate(16, 16);
  EXPECT_EQ(b, memory + 16);
  EXPECT_EQ(arena.used(), 32u);
  EXPECT_EQ(arena.remaining(), 224u);
  EXPECT_EQ(arena.Allocate(225, 1), nullptr);  // too big: nothing changes
  EXPECT_EQ(arena.remaining(), 224u);
  EXPECT_NE(arena.Allocate(224, 1), nullptr);
  EXPECT_EQ(arena.Allocate(1, 1), nullptr);
  EXPECT_EQ(arena.Allocate(0, 1), memory + 256);  // an empty allocation at the end is fine
}

TEST(Arena, HugeRequestsDoNotWrap) {
  alignas(16) static uint8_t memory[64];
  lib::Arena arena(reinterpret_cast<uintptr_t>(memory), reinterpret_cast<uintptr_t>(memory) + 64);
  EXPECT_EQ(arena.Allocate(SIZE_MAX, 1), nullptr);
  EXPECT_EQ(arena.Allocate(SIZE_MAX - 8, 16), nullptr);
  EXPECT_EQ(arena.remaining(), 64u);
}

TEST(ArenaDeathTest, AlignmentMustBeAPowerOfTwo) {
  tests::AttachConsoleToStderr();
  alignas(16) static uint8_t memory[64];
  lib::Arena arena(reinterpret_cast<uintptr_t>(memory), reinterpret_cast<uintptr_t>(memory) + 64);
  EXPECT_DEATH((void)arena.Allocate(8, 3), "assertion failed: IsPowerOfTwo\\(alignment\\)");
}

TEST(Spinlock, SerializesIncrementsFromSeveralThreads) {
  lib::Spinlock lock;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        lib::SpinlockGuard guard(lock);
        counter = counter + 1;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, 80000);
  EXPECT_FALSE(lock.IsLocked());
  EXPECT_TRUE(lock.TryLock());
  EXPECT_FALSE(lock.TryLock());
  lock.Unlock();
}

TEST(Ranges, OverlapIsASharedByteAndNeverWraps) {
  EXPECT_TRUE(lib::RangesOverlap(0x1000, 0x1000, 0x1fff, 1));
  EXPECT_TRUE(lib::RangesOverlap(0x1fff, 1, 0x1000, 0x1000));      // either order
  EXPECT_FALSE(lib::RangesOverlap(0x1000, 0x1000, 0x2000, 0x10));  // adjacent
  EXPECT_FALSE(lib::RangesOverlap(0x2000, 0x10, 0x1000, 0x1000));
  EXPECT_FALSE(lib::RangesOverlap(0x1000, 0, 0x1000, 0x10));  // an empty range shares nothing
  EXPECT_FALSE(lib::RangesOverlap(0x1000, 0x10, 0x1008, 0));
  // A size reaching past 2^64 covers everything above its start; nothing wraps to address 0.
  EXPECT_TRUE(lib::RangesOverlap(0x1000, ~uint64_t{0}, ~uint64_t{0}, 1));
  EXPECT_FALSE(lib::RangesOverlap(0x1000, ~uint64_t{0}, 0, 0x1000));
}

}  // namespace
