// of/claims.h: the claim map behind the client interface's claim and release.
#include "of/claims.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace {

using of::ClaimError;
using of::ClaimMap;
using of::MemoryRange;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

std::vector<std::pair<uint64_t, uint64_t>> Claimed(const ClaimMap& map) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const MemoryRange& r : map.claimed()) out.emplace_back(r.start, r.size);
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> Free(const ClaimMap& map, uint64_t limit) {
  MemoryRange ranges[ClaimMap::kMaxClaims + 1];
  const size_t count = map.FreeRanges(limit, ranges);
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (size_t i = 0; i < count; ++i) out.emplace_back(ranges[i].start, ranges[i].size);
  return out;
}

TEST(ClaimMap, ExactClaimReturnsTheAddress) {
  ClaimMap map(kGiB);
  auto claimed = map.Claim(0x400000, 0x1d000, 0);
  ASSERT_TRUE(claimed.is_ok());
  EXPECT_EQ(claimed.value(), 0x400000u);
  EXPECT_FALSE(map.IsFree(0x400000, 1));
  EXPECT_FALSE(map.IsFree(0x41cfff, 1));
  EXPECT_TRUE(map.IsFree(0x41d000, 1));
  EXPECT_TRUE(map.IsFree(0x3fffff, 1));
  // The whole claimable range at once, in a fresh map.
  ClaimMap all(kGiB);
  EXPECT_EQ(all.Claim(0, kGiB, 0).value(), 0u);
  EXPECT_FALSE(all.IsFree(kGiB - 1, 1));
}

TEST(ClaimMap, OverlapsAreRefusedNeighboursAreNot) {
  ClaimMap map(kGiB);
  ASSERT_TRUE(map.Claim(0x100000, 0x100000, 0).is_ok());  // [1 MiB, 2 MiB)
  struct Case {
    uint64_t start, size;
  };
  for (Case c : {Case{0x100000, 0x100000}, Case{0x80000, 0x80001}, Case{0x1fffff, 0x10},
                 Case{0x0, 0x400000}, Case{0x180000, 0x1000}}) {
    auto r = map.Claim(c.start, c.size, 0);
    ASSERT_TRUE(r.is_error()) << std::hex << c.start << "+" << c.size;
    EXPECT_EQ(r.error(), ClaimError::kInUse);
    EXPECT_FALSE(map.IsFree(c.start, c.size));
  }
  EXPECT_EQ(Claimed(map).size(), 1u);
  // Adjacent on both sides.
  EXPECT_EQ(map.Claim(0x80000, 0x80000, 0).value(), 0x80000u);
  EXPECT_EQ(map.Claim(0x200000, 0x1000, 0).value(), 0x200000u);
  EXPECT_EQ(Claimed(map).size(), 3u);
}

TEST(ClaimMap, ClaimedRangesAreSortedByAddress) {
  ClaimMap map(kGiB);
  ASSERT_TRUE(map.Claim(0x3000000, 0x1000, 0).is_ok());
  ASSERT_TRUE(map.Claim(0x1000000, 0x1000, 0).is_ok());
  ASSERT_TRUE(map.Claim(0x2000000, 0x1000, 0).is_ok());
  ASSERT_TRUE(map.Claim(0, 0x1000, 0).is_ok());
  const std::vector<std::pair<uint64_t, uint64_t>> expected = {
      {0, 0x1000}, {0x1000000, 0x1000}, {0x2000000, 0x1000}, {0x3000000, 0x1000}};
  EXPECT_EQ(Claimed(map), expected);
}

TEST(ClaimMap, AlignedClaimIsTheLowestFreeAlignedRange) {
  ClaimMap map(64 * kMiB);
  ASSERT_TRUE(map.Claim(0, 0x4000, 0).is_ok());          // firmware
  ASSERT_TRUE(map.Claim(0x10000, 0x10000, 0).is_ok());   // [64 KiB, 128 KiB)
  ASSERT_TRUE(map.Claim(0x30000, 0x100000, 0).is_ok());  // [192 KiB, 1216 KiB)
  // virt is ignored; the first gap fits a page.
  EXPECT_EQ(map.Claim(0x2000000, 0x1000, 0x1000).value(), 0x4000u);
  // 64 KiB aligned, 64 KiB long: the gap [0x5000, 0x10000) is too small, [0x20000, 0x30000) fits.
  EXPECT_EQ(map.Claim(0, 0x10000, 0x10000).value(), 0x20000u);
  // 1 MiB aligned: past every claim.
  EXPECT_EQ(map.Claim(0, 0x1000, kMiB).value(), 2 * kMiB);
  // The remaining small gap at 0x5000 is still found for a small claim.
  EXPECT_EQ(map.Claim(0, 0x100, 0x100).value(), 0x5000u);
  for (size_t i = 1; i < Claimed(map).size(); ++i) {
    EXPECT_LE(Claimed(map)[i - 1].first + Claimed(map)[i - 1].second, Claimed(map)[i].first);
  }
}

TEST(ClaimMap, AlignedClaimUpToTheTopAndNoFurther) {
  ClaimMap map(16 * kMiB);
  ASSERT_TRUE(map.Claim(0, 15 * kMiB, 0).is_ok());
  EXPECT_EQ(map.Claim(0, kMiB, kMiB).value(), 15 * kMiB);  // exactly the last MiB
  auto none = map.Claim(0, 0x1000, 0x1000);
  ASSERT_TRUE(none.is_error());
  EXPECT_EQ(none.error(), ClaimError::kOutOfRange);
  // Bigger than all memory.
  ClaimMap empty(16 * kMiB);
  EXPECT_EQ(empty.Claim(0, 32 * kMiB, 0x1000).error(), ClaimError::kOutOfRange);
}

TEST(ClaimMap, AlignmentMustBeAPowerOfTwo) {
  ClaimMap map(kGiB);
  EXPECT_EQ(map.Claim(0, 0x1000, 0x3000).error(), ClaimError::kBadAlignment);
  EXPECT_EQ(map.Claim(0, 0x1000, 0xffffffff).error(), ClaimError::kBadAlignment);
  EXPECT_TRUE(map.claimed().empty());
}

TEST(ClaimMap, ZeroSizeIsRefused) {
  ClaimMap map(kGiB);
  EXPECT_EQ(map.Claim(0x1000, 0, 0).error(), ClaimError::kZeroSize);
  EXPECT_EQ(map.Claim(0x1000, 0, 0x1000).error(), ClaimError::kZeroSize);
  EXPECT_FALSE(map.IsFree(0x1000, 0));
  EXPECT_TRUE(map.claimed().empty());
}

TEST(ClaimMap, ClaimsOutsideClaimableMemoryAreRefused) {
  ClaimMap map(kGiB);
  EXPECT_EQ(map.top(), kGiB);
  EXPECT_EQ(map.Claim(kGiB - 0x1000, 0x2000, 0).error(), ClaimError::kOutOfRange);
  EXPECT_EQ(map.Claim(kGiB, 0x1000, 0).error(), ClaimError::kOutOfRange);
  EXPECT_EQ(map.Claim(0xfffff000, 0x2000, 0).error(), ClaimError::kOutOfRange);
  // start + size wraps past 2^64.
  EXPECT_EQ(map.Claim(0x1000, ~uint64_t{0}, 0).error(), ClaimError::kOutOfRange);
  EXPECT_EQ(map.Claim(~uint64_t{0} - 0xfff, 0x2000, 0).error(), ClaimError::kOutOfRange);
  EXPECT_TRUE(map.claimed().empty());
  EXPECT_EQ(map.Claim(kGiB - 0x1000, 0x1000, 0).value(), kGiB - 0x1000);
}

TEST(ClaimMap, TopIsCappedAtFourGiB) {
  ClaimMap map(16 * kGiB);  // client-interface cells are 32 bits
  EXPECT_EQ(map.top(), 4 * kGiB);
  EXPECT_EQ(map.Claim(4 * kGiB - 0x1000, 0x1000, 0).value(), 4 * kGiB - 0x1000);
  EXPECT_EQ(map.Claim(4 * kGiB, 0x1000, 0).error(), ClaimError::kOutOfRange);
  EXPECT_EQ(map.Claim(8 * kGiB, 0x1000, 0).error(), ClaimError::kOutOfRange);
  EXPECT_FALSE(map.IsFree(4 * kGiB, 0x1000));
  // An aligned claim never lands above 4 GiB either.
  ASSERT_TRUE(map.Claim(0, 4 * kGiB - 0x1000, 0).is_ok());
  EXPECT_EQ(map.Claim(0, 0x1000, 0x1000).error(), ClaimError::kOutOfRange);
}

TEST(ClaimMap, ReleaseIsExactOnly) {
  ClaimMap map(kGiB);
  ASSERT_TRUE(map.Claim(0x100000, 0x10000, 0).is_ok());
  EXPECT_EQ(map.Release(0x100000, 0x8000).error(), ClaimError::kNotClaimed);  // part of it
  EXPECT_EQ(map.Release(0x108000, 0x8000).error(), ClaimError::kNotClaimed);
  EXPECT_EQ(map.Release(0x0, 0x200000).error(), ClaimError::kNotClaimed);  // more than it
  EXPECT_FALSE(map.IsFree(0x100000, 0x10000));
  ASSERT_TRUE(map.Release(0x100000, 0x10000).is_ok());
  EXPECT_TRUE(map.IsFree(0x100000, 0x10000));
  EXPECT_TRUE(map.claimed().empty());
  EXPECT_EQ(map.Release(0x100000, 0x10000).error(), ClaimError::kNotClaimed);  // twice
  // Released memory can be claimed again.
  EXPECT_EQ(map.Claim(0x100000, 0x10000, 0).value(), 0x100000u);
}

TEST(ClaimMap, ReleaseKeepsTheOtherClaimsSorted) {
  ClaimMap map(kGiB);
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(map.Claim(i * kMiB, 0x1000, 0).is_ok());
  ASSERT_TRUE(map.Release(2 * kMiB, 0x1000).is_ok());
  const std::vector<std::pair<uint64_t, uint64_t>> expected = {
      {0, 0x1000}, {kMiB, 0x1000}, {3 * kMiB, 0x1000}, {4 * kMiB, 0x1000}};
  EXPECT_EQ(Claimed(map), expected);
}

TEST(ClaimMap, TableFullIsReported) {
  ClaimMap map(kGiB);
  for (int i = 0; i < ClaimMap::kMaxClaims; ++i) {
    ASSERT_TRUE(map.Claim(static_cast<uint64_t>(i) * 0x2000, 0x1000, 0).is_ok()) << i;
  }
  EXPECT_EQ(map.Claim(0x10000000, 0x1000, 0).error(), ClaimError::kFull);
  EXPECT_EQ(map.Claim(0, 0x1000, 0x1000).error(), ClaimError::kFull);
  EXPECT_TRUE(map.IsFree(0x10000000, 0x1000));  // the refused claim left nothing behind
  ASSERT_TRUE(map.Release(0, 0x1000).is_ok());
  EXPECT_EQ(map.Claim(0x10000000, 0x1000, 0).value(), 0x10000000u);
}

TEST(ClaimMap, FreeRangesAreTheGapsBelowTheLimit) {
  ClaimMap map(kGiB);
  EXPECT_EQ(Free(map, kGiB), (std::vector<std::pair<uint64_t, uint64_t>>{{0, kGiB}}));
  ASSERT_TRUE(map.Claim(0, 0x400000, 0).is_ok());
  ASSERT_TRUE(map.Claim(0x1000000, 0x10000, 0).is_ok());
  ASSERT_TRUE(map.Claim(0x1010000, 0x10000, 0).is_ok());  // touching the previous one
  ASSERT_TRUE(map.Claim(kGiB - 0x1000, 0x1000, 0).is_ok());
  const std::vector<std::pair<uint64_t, uint64_t>> expected = {
      {0x400000, 0x1000000 - 0x400000}, {0x1020000, kGiB - 0x1000 - 0x1020000}};
  EXPECT_EQ(Free(map, kGiB), expected);
  // A lower limit cuts the last gap and drops the claims above it.
  const std::vector<std::pair<uint64_t, uint64_t>> below = {{0x400000, 0x1000000 - 0x400000},
                                                            {0x1020000, 0x1000000}};
  EXPECT_EQ(Free(map, 0x2020000), below);
  EXPECT_EQ(Free(map, 0x800000),
            (std::vector<std::pair<uint64_t, uint64_t>>{{0x400000, 0x400000}}));
  EXPECT_TRUE(Free(map, 0x400000).empty());
  EXPECT_TRUE(Free(map, 0).empty());
}

TEST(ClaimMap, FreeRangesCountsAllButWritesOnlyWhatFits) {
  ClaimMap map(kGiB);
  for (uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE(map.Claim(i * kMiB, 0x1000, 0).is_ok());
  // Gaps: [0, 1M), and after each of the four claims: five in all.
  MemoryRange out[3];
  const MemoryRange sentinel{0xdead, 0xbeef};
  for (MemoryRange& r : out) r = sentinel;
  EXPECT_EQ(map.FreeRanges(kGiB, lib::Span<MemoryRange>(out, 2)), 5u);
  EXPECT_EQ(out[0].start, 0u);
  EXPECT_EQ(out[0].size, kMiB);
  EXPECT_EQ(out[1].start, kMiB + 0x1000);
  EXPECT_EQ(out[2].start, sentinel.start);  // untouched
  EXPECT_EQ(out[2].size, sentinel.size);
  EXPECT_EQ(map.FreeRanges(kGiB, lib::Span<MemoryRange>()), 5u);
}

// ---------------------------------------------------------------------------------------------
// Reserve: what is in use before the client runs

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

TEST(ClaimMap, ReserveMergesWhatItOverlapsOrTouches) {
  ClaimMap map(kGiB);
  EXPECT_EQ(map.Reserve(kMiB, kMiB).value(), 0u);
  EXPECT_EQ(map.Reserve(2 * kMiB, kMiB).value(), 0u);             // touching: one entry
  EXPECT_EQ(map.Reserve(2 * kMiB + kMiB / 2, kMiB).value(), 0u);  // overlapping its end
  EXPECT_EQ(map.Reserve(kMiB, 0x1000).value(), 0u);               // inside
  EXPECT_EQ(Claimed(map), (Ranges{{kMiB, 2 * kMiB + kMiB / 2}}));
  EXPECT_EQ(map.Reserve(16 * kMiB, 0x1000).value(), 0u);
  EXPECT_EQ(map.in_use_count(), 2);
  // One range over both and the memory between joins them.
  EXPECT_EQ(map.Reserve(0, 32 * kMiB).value(), 0u);
  EXPECT_EQ(Claimed(map), (Ranges{{0, 32 * kMiB}}));
  EXPECT_EQ(map.in_use_count(), 1);
}

TEST(ClaimMap, ReserveKeepsWhatLiesBelowTheTop) {
  ClaimMap map(kGiB);
  EXPECT_EQ(map.Reserve(kGiB - 0x1000, 0x2000).value(), 0u);
  EXPECT_EQ(map.Reserve(0x1000, ~uint64_t{0}).value(), 0u);  // start + size wraps
  EXPECT_EQ(Claimed(map), (Ranges{{0x1000, kGiB - 0x1000}}));
  EXPECT_EQ(map.Reserve(kGiB, 0x1000).error(), ClaimError::kOutOfRange);
  EXPECT_EQ(map.Reserve(~uint64_t{0}, 0x1000).error(), ClaimError::kOutOfRange);
  EXPECT_EQ(map.Reserve(0, 0).error(), ClaimError::kZeroSize);
  EXPECT_EQ(Claimed(map), (Ranges{{0x1000, kGiB - 0x1000}}));
}

// Claims stay exactly as the client made them: release names them by base and size.
TEST(ClaimMap, ReserveNeverMergesWithAClaimAndReleaseNeverFreesWhatIsInUse) {
  ClaimMap map(kGiB);
  ASSERT_TRUE(map.Claim(5 * kMiB, kMiB, 0).is_ok());
  EXPECT_EQ(map.Reserve(6 * kMiB, kMiB).value(), 0u);  // touching the claim: its own entry
  EXPECT_EQ(map.Reserve(4 * kMiB, kMiB).value(), 0u);
  EXPECT_EQ(Claimed(map), (Ranges{{4 * kMiB, kMiB}, {5 * kMiB, kMiB}, {6 * kMiB, kMiB}}));
  EXPECT_EQ(map.Reserve(5 * kMiB + 0x1000, 0x1000).error(), ClaimError::kInUse);
  EXPECT_EQ(map.Reserve(0, 16 * kMiB).error(), ClaimError::kInUse);
  EXPECT_EQ(map.Release(6 * kMiB, kMiB).error(), ClaimError::kNotClaimed);
  EXPECT_EQ(map.Release(4 * kMiB, kMiB).error(), ClaimError::kNotClaimed);
  ASSERT_TRUE(map.Release(5 * kMiB, kMiB).is_ok());
  EXPECT_EQ(Claimed(map), (Ranges{{4 * kMiB, kMiB}, {6 * kMiB, kMiB}}));
  EXPECT_EQ(map.in_use_count(), 2);
}

// Past kMaxInUse separate ranges, a range joins its nearest in-use neighbour: the free memory
// between them is withheld from the client (and counted), never handed out, and the client
// keeps the rest of the table.
TEST(ClaimMap, ReservePastItsShareOfTheTableWidensItsNearestNeighbour) {
  ClaimMap map(kGiB);
  for (int i = 0; i < ClaimMap::kMaxInUse; ++i) {
    ASSERT_EQ(map.Reserve(static_cast<uint64_t>(i + 1) * kMiB, 0x1000).value(), 0u) << i;
  }
  // Between the ranges at 1 MiB and 2 MiB, nearer the lower one.
  EXPECT_EQ(map.Reserve(kMiB + 0x3000, 0x1000).value(), 0x2000u);
  EXPECT_EQ(map.in_use_count(), ClaimMap::kMaxInUse);
  EXPECT_EQ(Claimed(map)[0], (std::pair<uint64_t, uint64_t>{kMiB, 0x4000}));
  // Nearer the upper one, and below every range.
  EXPECT_EQ(map.Reserve(3 * kMiB - 0x2000, 0x1000).value(), 0x1000u);
  EXPECT_EQ(Claimed(map)[2], (std::pair<uint64_t, uint64_t>{3 * kMiB - 0x2000, 0x3000}));
  EXPECT_EQ(map.Reserve(0, 0x1000).value(), kMiB - 0x1000);
  EXPECT_EQ(Claimed(map)[0], (std::pair<uint64_t, uint64_t>{0, kMiB + 0x4000}));
  // A range that touches one still merges without withholding anything.
  EXPECT_EQ(map.Reserve(kMiB + 0x4000, 0x1000).value(), 0u);
  EXPECT_EQ(map.in_use_count(), ClaimMap::kMaxInUse);
  for (int i = 0; i < ClaimMap::kMaxClaims - ClaimMap::kMaxInUse; ++i) {
    ASSERT_TRUE(map.Claim(0, 0x1000, 0x1000).is_ok()) << i;
  }
  EXPECT_EQ(map.Claim(0, 0x1000, 0x1000).error(), ClaimError::kFull);
}

TEST(ClaimMap, ReserveWithAClaimBetweenItAndEveryNeighbourIsFull) {
  ClaimMap map(kGiB);
  for (int i = 0; i < ClaimMap::kMaxInUse; ++i) {
    ASSERT_TRUE(map.Reserve(static_cast<uint64_t>(i + 1) * kMiB, 0x1000).is_ok());
  }
  ASSERT_TRUE(map.Claim(kMiB + 0x1000, 0x1000, 0).is_ok());
  ASSERT_TRUE(map.Claim(2 * kMiB - 0x1000, 0x1000, 0).is_ok());
  const Ranges before = Claimed(map);
  EXPECT_EQ(map.Reserve(kMiB + 0x10000, 0x1000).error(), ClaimError::kFull);
  EXPECT_EQ(Claimed(map), before);
  EXPECT_TRUE(map.IsFree(kMiB + 0x10000, 0x1000));
  // A full table of claims: a new range merges or is refused, never evicts a claim.
  ClaimMap claimed(kGiB);
  ASSERT_TRUE(claimed.Reserve(0, 0x1000).is_ok());
  for (int i = 1; i < ClaimMap::kMaxClaims; ++i) {
    ASSERT_TRUE(claimed.Claim(static_cast<uint64_t>(i) * 0x2000, 0x1000, 0).is_ok()) << i;
  }
  EXPECT_EQ(claimed.Reserve(0x300000, 0x1000).error(), ClaimError::kFull);
  EXPECT_EQ(claimed.Reserve(0x1000, 0x800).value(), 0u);  // touches the in-use range
  EXPECT_EQ(claimed.claimed().size(), static_cast<size_t>(ClaimMap::kMaxClaims));
}

TEST(ClaimMap, ErrorNames) {
  const ClaimError errors[] = {ClaimError::kZeroSize,   ClaimError::kOutOfRange,
                               ClaimError::kInUse,      ClaimError::kFull,
                               ClaimError::kNotClaimed, ClaimError::kBadAlignment};
  std::vector<std::string> names;
  for (ClaimError e : errors) names.push_back(of::ClaimErrorName(e));
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = i + 1; j < names.size(); ++j) EXPECT_NE(names[i], names[j]);
  }
}

}  // namespace
