#include "rtas/state-region.h"

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

TEST(StateRegion, FreshRegionPassesItsChecksWithTheDocumentedLayout) {
  auto region = NewRegion();
  ASSERT_TRUE(Check(region).is_ok());
  const auto& h = Header(region);
  EXPECT_EQ(std::memcmp(h.magic, "TERNSTAT", 8), 0);
  EXPECT_EQ(h.layout_version.value(), 2u);
  EXPECT_EQ(h.header_size.value(), 64u);
  EXPECT_EQ(h.region_size.value(), region.size());
  EXPECT_EQ(h.generation.value(), 1u);
  EXPECT_EQ(h.slot_count.value(), rtas::kSlotCount);
  EXPECT_EQ(h.slots_offset.value(), 64u);
  EXPECT_EQ(h.stats_offset.value(), 64u + rtas::kSlotCount * rtas::kSlotSize);
  EXPECT_EQ(h.data_offset.value() + h.data_size.value(), region.size());
  EXPECT_EQ(h.data_size.value(), 4096u);
  EXPECT_EQ(h.instantiations.value(), 1u);
}

TEST(StateRegion, ASingleFlippedBitInTheCheckedPartIsCaught) {
  const auto good = NewRegion();
  const uint32_t checked = Header(good).stats_offset.value();
  for (uint32_t offset = 0; offset < checked; ++offset) {
    auto region = good;
    region[offset] ^= 0x01;
    EXPECT_TRUE(Check(region).is_error()) << "flip at " << offset;
  }
}

TEST(StateRegion, NamesTheFailure) {
  auto region = NewRegion();
  region[0] = 'X';
  EXPECT_EQ(Check(region).error(), StateError::kBadMagic);
  region = NewRegion();
  // Version 1 (walk slots with a separate draining word) is read by nothing any more.
  reinterpret_cast<rtas::StateHeader*>(region.data())->layout_version = lib::Be32(1);
  EXPECT_EQ(Check(region).error(), StateError::kBadVersion);
  reinterpret_cast<rtas::StateHeader*>(region.data())->layout_version = lib::Be32(3);
  EXPECT_EQ(Check(region).error(), StateError::kBadVersion);
  region = NewRegion();
  region.push_back(0);  // the header's size no longer matches
  EXPECT_EQ(Check(region).error(), StateError::kBadGeometry);
  region = NewRegion();
  region[64] ^= 0xff;  // inside the slot table
  EXPECT_EQ(Check(region).error(), StateError::kBadChecksum);
  std::vector<uint8_t> tiny(32);
  EXPECT_EQ(rtas::InitStateRegion({tiny.data(), tiny.size()}, 1).error(), StateError::kTooSmall);
  EXPECT_EQ(Check(tiny).error(), StateError::kTooSmall);
}

TEST(StateRegion, CommitBumpsTheGenerationAndResealsChanges) {
  auto region = NewRegion();
  region[64] = 0x10;  // a slot changes
  EXPECT_EQ(Check(region).error(), StateError::kBadChecksum);
  rtas::CommitStateRegion({region.data(), region.size()});
  EXPECT_TRUE(Check(region).is_ok());
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
