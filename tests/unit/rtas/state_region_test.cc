#include "rtas/state-region.h"

#include "lib/be.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

using rtas::StateError;

std::vector<uint8_t> NewRegion(uint32_t data = 4096) {
  std::vector<uint8_t> region(rtas::StateRegionSize(data));
  EXPECT_TRUE(rtas::InitStateRegion({region.data(), region.size()}, 1).is_ok());
  return region;
}

lib::Result<void, StateError> Check(const std::vector<uint8_t>& region) {
  return rtas::CheckStateRegion({region.data(), region.size()});
}

const rtas::StateHeader& Header(const std::vector<uint8_t>& region) {
  return *reinterpret_cast<const rtas::StateHeader*>(region.data());
}

TEST(StateRegion, Crc32IsTheIeeeCrc) {
  const char* check = "123456789";
  EXPECT_EQ(rtas::Crc32({reinterpret_cast<const uint8_t*>(check), 9}), 0xcbf43926u);
  EXPECT_EQ(rtas::Crc32({}), 0u);
}

lib::Result<void, StateError> CheckAll(const std::vector<uint8_t>& region) {
  return rtas::CheckAllSlots({region.data(), region.size()});
}

TEST(StateRegion, FreshRegionPassesItsChecksWithTheDocumentedLayout) {
  auto region = NewRegion();
  ASSERT_TRUE(CheckAll(region).is_ok());
  const auto& h = Header(region);
  EXPECT_EQ(std::memcmp(h.magic, "TERNSTAT", 8), 0);
  EXPECT_EQ(h.layout_version.value(), 3u);
  EXPECT_EQ(h.header_size.value(), 64u);
  EXPECT_EQ(h.region_size.value(), region.size());
  EXPECT_EQ(h.generation.value(), 1u);
  EXPECT_EQ(h.slot_count.value(), rtas::kSlotCount);
  EXPECT_EQ(h.slots_offset.value(), 64u);
  EXPECT_EQ(h.stats_offset.value(), 64u + rtas::kSlotCount * rtas::kSlotSize);
  EXPECT_EQ(h.data_offset.value() + h.data_size.value(), region.size());
  EXPECT_EQ(h.data_size.value(), 4096u);
  EXPECT_EQ(h.instantiations.value(), 1u);
  // A free slot is all zeros but its checksum: the CRC-32 of 60 zero bytes.
  const uint8_t zeros[60] = {};
  EXPECT_EQ(lib::LoadBe32(region.data() + 64 + 60), lib::Crc32({zeros, 60}));
}

// The header's checksum covers the header; each slot's covers the slot. A single flipped bit is
// what a CRC-32 is guaranteed to catch.
TEST(StateRegion, ASingleFlippedBitInTheCheckedPartIsCaught) {
  const auto good = NewRegion();
  const uint32_t checked = Header(good).stats_offset.value();
  for (uint32_t offset = 0; offset < checked; ++offset) {
    for (int bit = 0; bit < 8; ++bit) {
      auto region = good;
      region[offset] ^= static_cast<uint8_t>(1u << bit);
      if (offset < 64) {
        EXPECT_TRUE(Check(region).is_error()) << "flip at " << offset;
      } else {
        EXPECT_TRUE(Check(region).is_ok()) << "the header is intact: flip at " << offset;
        const uint32_t slot = (offset - 64) / rtas::kSlotSize;
        EXPECT_EQ(rtas::CheckSlot({region.data(), region.size()}, slot).error(),
                  StateError::kBadSlotChecksum)
            << "flip at " << offset;
      }
      EXPECT_TRUE(CheckAll(region).is_error()) << "flip at " << offset;
    }
  }
}

TEST(StateRegion, NamesTheFailure) {
  auto region = NewRegion();
  region[0] = 'X';
  EXPECT_EQ(Check(region).error(), StateError::kBadMagic);
  // Versions 1 and 2 (walk slots without their own checksum, snapshots without per-record CRCs)
  // are read by nothing any more; a later one is not understood.
  for (uint32_t version : {1u, 2u, 4u}) {
    region = NewRegion();
    reinterpret_cast<rtas::StateHeader*>(region.data())->layout_version = lib::Be32(version);
    rtas::CommitStateRegion({region.data(), region.size()});
    EXPECT_EQ(Check(region).error(), StateError::kBadVersion) << version;
  }
  region = NewRegion();
  region.push_back(0);  // the header's size no longer matches
  EXPECT_EQ(Check(region).error(), StateError::kBadGeometry);
  region = NewRegion();
  region[64] ^= 0xff;  // inside the first slot
  EXPECT_EQ(CheckAll(region).error(), StateError::kBadSlotChecksum);
  region = NewRegion();
  region[22] ^= 0xff;  // inside the header (the generation)
  EXPECT_EQ(Check(region).error(), StateError::kBadChecksum);
  std::vector<uint8_t> tiny(32);
  EXPECT_EQ(rtas::InitStateRegion({tiny.data(), tiny.size()}, 1).error(), StateError::kTooSmall);
  EXPECT_EQ(Check(tiny).error(), StateError::kTooSmall);
}

// A checksum proves only that someone committed the values: a header re-checksummed with any
// other geometry than this RTAS lays out is refused.
TEST(StateRegion, RecheckedGeometryIsRefused) {
  struct Change {
    const char* what;
    uint32_t offset;  // of a 4-byte header field
    uint32_t value;
  };
  const Change changes[] = {
      {"slot count 9", 28, 9},
      {"slot count 0", 28, 0},
      {"slot size 32", 32, 32},
      {"slots offset 0", 36, 0},
      {"data offset past the end", 40, 0xfffffff0},
      {"data size 0", 44, 0},
      {"stats count 1000", 56, 1000},
      {"stats offset in the slots", 52, 80},
  };
  for (const Change& change : changes) {
    auto region = NewRegion();
    lib::StoreBe32(region.data() + change.offset, change.value);
    rtas::CommitStateRegion({region.data(), region.size()});
    EXPECT_EQ(Check(region).error(), StateError::kBadGeometry) << change.what;
  }
}

// Tables moved consistently with each other and with the region's size are still not where this
// RTAS puts them: refused, and RecordCall writes nothing there. A statistics table one byte up
// (misaligned, read as structures) was found by the state_region fuzz target.
TEST(StateRegion, TablesMovedConsistentlyAreRefused) {
  for (uint32_t shift : {1u, 8u}) {
    auto region = NewRegion();
    auto& header = *reinterpret_cast<rtas::StateHeader*>(region.data());
    header.stats_offset = lib::Be32(header.stats_offset.value() + shift);
    header.data_offset = lib::Be32(header.data_offset.value() + 8);
    header.data_size = lib::Be32(header.data_size.value() - 8);
    rtas::CommitStateRegion({region.data(), region.size()});
    EXPECT_EQ(Check(region).error(), StateError::kBadGeometry) << shift;
    const std::vector<uint8_t> before = region;
    rtas::RecordCall({region.data(), region.size()}, 0, -3);
    EXPECT_EQ(region, before) << shift;
  }
}

TEST(StateRegion, CommitBumpsTheGenerationAndResealsChanges) {
  auto region = NewRegion();
  region[64] = 0x10;  // a slot changes
  EXPECT_EQ(CheckAll(region).error(), StateError::kBadSlotChecksum);
  rtas::CommitSlot({region.data(), region.size()}, 0);
  rtas::CommitStateRegion({region.data(), region.size()});
  EXPECT_TRUE(CheckAll(region).is_ok());
  EXPECT_EQ(Header(region).generation.value(), 2u);
}

TEST(StateRegion, RecordCallCountsPerServiceOutsideTheChecksum) {
  auto region = NewRegion();
  rtas::RecordCall({region.data(), region.size()}, 3, -3);
  rtas::RecordCall({region.data(), region.size()}, 3, 0);
  rtas::RecordCall({region.data(), region.size()}, 5000, 0);  // past the table: ignored
  EXPECT_TRUE(Check(region).is_ok());
  const auto* stats = reinterpret_cast<const rtas::ServiceStats*>(
      region.data() + Header(region).stats_offset.value());
  EXPECT_EQ(stats[3].calls.value(), 2u);
  EXPECT_EQ(static_cast<int32_t>(stats[3].last_status.value()), 0);
  EXPECT_EQ(stats[2].calls.value(), 0u);
  EXPECT_EQ(Header(region).generation.value(), 1u);
}

}  // namespace
