// boot/layout.h: the checks of the payload QEMU loaded and the placement of the live tree.
#include "boot/layout.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <vector>

#include "tests/console-capture.h"

namespace {

using boot::CheckPayload;
using boot::PayloadError;
using boot::RealModeLayout;

constexpr uint64_t kMiB = 1 << 20;

// QEMU 7.2 and 10.0 with -m 256M: firmware below 0x200000, the kernel at 0x400000, QEMU's tree at
// RMA - 2 MiB.
RealModeLayout Layout256M() {
  return RealModeLayout{0x200000, 256 * kMiB, of::AddressRange{0xfe00000, 0x4000}};
}

of::MachineInfo Kernel(uint64_t start, uint64_t size) {
  of::MachineInfo info;
  info.has_kernel = true;
  info.kernel = of::AddressRange{start, size};
  return info;
}

of::MachineInfo KernelAndInitrd(uint64_t kernel_size, uint64_t initrd_start, uint64_t initrd_size) {
  of::MachineInfo info = Kernel(0x400000, kernel_size);
  info.has_initrd = true;
  info.initrd = of::AddressRange{initrd_start, initrd_size};
  return info;
}

PayloadError ErrorOf(const of::MachineInfo& info, const RealModeLayout& layout = Layout256M()) {
  auto checked = CheckPayload(info, layout);
  EXPECT_TRUE(checked.is_error());
  return checked.is_error() ? checked.error() : PayloadError::kKernelEmpty;
}

TEST(CheckPayload, WhatQemuLoadsForTheGuestKitIsAccepted) {
  // -m 256M with Debian's vmlinux and the kit's initramfs, as tern printed them.
  EXPECT_TRUE(CheckPayload(KernelAndInitrd(42453528, 0x2c90000, 1190333), Layout256M()).is_ok());
  EXPECT_TRUE(CheckPayload(of::MachineInfo{}, Layout256M()).is_ok());  // no -kernel
}

TEST(CheckPayload, AnEmptyKernelIsRefused) {
  EXPECT_EQ(ErrorOf(Kernel(0x400000, 0)), PayloadError::kKernelEmpty);
}

TEST(CheckPayload, AKernelLargerThanRealModeMemoryIsRefused) {
  // 288 MiB of ELF segments with -m 256M: QEMU loads it, its tree lands inside the kernel.
  EXPECT_EQ(ErrorOf(Kernel(0x400000, 288 * kMiB)), PayloadError::kKernelOverDeviceTree);
  // The same without the tree in the way: past the RMA.
  RealModeLayout no_tree = Layout256M();
  no_tree.device_tree = of::AddressRange{};
  EXPECT_EQ(ErrorOf(Kernel(0x400000, 288 * kMiB), no_tree), PayloadError::kKernelOutsideMemory);
  // One byte past the end, and a size that wraps around.
  EXPECT_EQ(ErrorOf(Kernel(0x400000, 252 * kMiB + 1), no_tree), PayloadError::kKernelOutsideMemory);
  EXPECT_TRUE(CheckPayload(Kernel(0x400000, 252 * kMiB), no_tree).is_ok());
  EXPECT_EQ(ErrorOf(Kernel(0x400000, ~uint64_t{0}), no_tree), PayloadError::kKernelOutsideMemory);
}

TEST(CheckPayload, AKernelReachingTheHypervisorsTreeIsRefused) {
  // Ends exactly where QEMU's tree starts: fine; one byte more: the tree was written over it.
  EXPECT_TRUE(CheckPayload(Kernel(0x400000, 0xfe00000 - 0x400000), Layout256M()).is_ok());
  EXPECT_EQ(ErrorOf(Kernel(0x400000, 0xfe00000 - 0x400000 + 1)),
            PayloadError::kKernelOverDeviceTree);
}

TEST(CheckPayload, AKernelInFirmwareMemoryIsRefused) {
  EXPECT_EQ(ErrorOf(Kernel(0x100000, 0x1000)), PayloadError::kKernelOutsideMemory);
  EXPECT_EQ(ErrorOf(Kernel(0x1ff000, 0x2000)), PayloadError::kKernelOutsideMemory);
  EXPECT_TRUE(CheckPayload(Kernel(0x200000, 0x2000), Layout256M()).is_ok());
}

TEST(CheckPayload, AnInitrdOverlappingTheKernelIsRefused) {
  const uint64_t kernel = 0x1000000;  // [0x400000, 0x1400000)
  // Starting inside, ending inside, covering it whole, and sharing only the last byte.
  EXPECT_EQ(ErrorOf(KernelAndInitrd(kernel, 0x1000000, 0x1000000)),
            PayloadError::kInitrdOverlapsKernel);
  EXPECT_EQ(ErrorOf(KernelAndInitrd(kernel, 0x300000, 0x200000)),
            PayloadError::kInitrdOverlapsKernel);
  EXPECT_EQ(ErrorOf(KernelAndInitrd(kernel, 0x300000, 0x2000000)),
            PayloadError::kInitrdOverlapsKernel);
  EXPECT_EQ(ErrorOf(KernelAndInitrd(kernel, 0x13fffff, 0x10)), PayloadError::kInitrdOverlapsKernel);
  // Adjacent is fine, on either side.
  EXPECT_TRUE(CheckPayload(KernelAndInitrd(kernel, 0x1400000, 0x10), Layout256M()).is_ok());
  EXPECT_TRUE(CheckPayload(KernelAndInitrd(kernel, 0x3f0000, 0x10000), Layout256M()).is_ok());
}

TEST(CheckPayload, AnInitrdOutsideMemoryOrOverTheTreeIsRefused) {
  EXPECT_EQ(ErrorOf(KernelAndInitrd(0x1000, 0xfd00000, 0x200000)),
            PayloadError::kInitrdOverDeviceTree);
  EXPECT_EQ(ErrorOf(KernelAndInitrd(0x1000, 0x10000000, 0x1000)),
            PayloadError::kInitrdOutsideMemory);
  EXPECT_EQ(ErrorOf(KernelAndInitrd(0x1000, 0x100000, 0x1000)), PayloadError::kInitrdOutsideMemory);
  EXPECT_EQ(ErrorOf(KernelAndInitrd(0x1000, 0x2000000, ~uint64_t{0} - 0x2000000)),
            PayloadError::kInitrdOverDeviceTree);  // runs to the end of the address space
}

TEST(CheckPayload, EveryErrorHasAName) {
  for (int e = 0; e <= static_cast<int>(PayloadError::kInitrdOverDeviceTree); ++e) {
    EXPECT_STRNE(boot::PayloadErrorName(static_cast<PayloadError>(e)), "payload error");
  }
}

TEST(TreeRoom, IsFourTimesTheFirstFootprint) {
  EXPECT_EQ(boot::TreeRoomBytes(100), 400u);
}

TEST(HighestFree, TakesTheTopOfTheHighestGapThatFits) {
  of::ClaimMap claims(256 * kMiB);
  ASSERT_TRUE(claims.Claim(0, 0x200000, 0).is_ok());          // firmware
  ASSERT_TRUE(claims.Claim(0x400000, 0x2890000, 0).is_ok());  // kernel
  ASSERT_TRUE(claims.Claim(0xfe00000, 0x1f0000, 0).is_ok());  // QEMU's tree (1.9 MiB)
  auto start = boot::HighestFree(claims, 0x200000, 10 * kMiB, kMiB);
  ASSERT_TRUE(start.is_ok());
  EXPECT_EQ(start.value(), 0xfe00000 - 10 * kMiB);
  // Nothing was claimed.
  EXPECT_TRUE(claims.IsFree(start.value(), 10 * kMiB));
  // Unaligned gap ends are rounded down.
  ASSERT_TRUE(claims.Claim(0xfd00001, 0xfffff, 0).is_ok());
  EXPECT_EQ(boot::HighestFree(claims, 0x200000, kMiB, kMiB).value(), 0xfc00000u);
  // The top gap above the tree (64 KiB) is too small for 1 MiB but takes 64 KiB.
  EXPECT_EQ(boot::HighestFree(claims, 0x200000, 0x10000, 0x10000).value(), 0xfff0000u);
}

TEST(HighestFree, SkipsGapsTooSmallAndRespectsTheFloor) {
  of::ClaimMap claims(64 * kMiB);
  ASSERT_TRUE(claims.Claim(0, 0x200000, 0).is_ok());
  ASSERT_TRUE(claims.Claim(0x400000, 60 * kMiB, 0).is_ok());  // leaves [0x200000, 0x400000) free
  EXPECT_EQ(boot::HighestFree(claims, 0x200000, 2 * kMiB, kMiB).value(), 0x200000u);
  EXPECT_TRUE(boot::HighestFree(claims, 0x200000, 3 * kMiB, kMiB).is_error());
  EXPECT_TRUE(boot::HighestFree(claims, 0x300000, 2 * kMiB, kMiB).is_error());
  EXPECT_EQ(boot::HighestFree(claims, 0x200000, 0, kMiB).error(), of::ClaimError::kZeroSize);
  EXPECT_EQ(boot::HighestFree(claims, 0x200000, kMiB, 3).error(), of::ClaimError::kBadAlignment);
}

// A tree with only a root node and `reserved` as its memory reserve map.
std::vector<uint8_t> TreeReserving(const std::vector<of::AddressRange>& reserved) {
  std::vector<uint8_t> blob(1024 + 16 * reserved.size());
  EXPECT_EQ(fdt_create(blob.data(), static_cast<int>(blob.size())), 0);
  for (const of::AddressRange& range : reserved) {
    EXPECT_EQ(fdt_add_reservemap_entry(blob.data(), range.start, range.size), 0);
  }
  EXPECT_EQ(fdt_finish_reservemap(blob.data()), 0);
  EXPECT_EQ(fdt_begin_node(blob.data(), ""), 0);
  EXPECT_EQ(fdt_end_node(blob.data()), 0);
  EXPECT_EQ(fdt_finish(blob.data()), 0);
  return blob;
}

// No byte of [start, start + size) is free in `claims`.
bool AllClaimed(const of::ClaimMap& claims, uint64_t start, uint64_t size) {
  for (const of::MemoryRange& range : claims.claimed()) {
    if (range.start <= start && start < range.end()) {
      if (start + size <= range.end()) return true;
      size -= range.end() - start;
      start = range.end();
    }
  }
  return false;
}

TEST(ClaimInUse, ClaimsTheFirmwareTheReserveMapAndThePayload) {
  // QEMU's reserve map lists the kernel and initrd; the kernel is claimed once, not twice.
  const of::MachineInfo info = KernelAndInitrd(42 * kMiB, 0x2f00000, 2 * kMiB);
  const auto tree = TreeReserving({{0x400000, 42 * kMiB}, {0x2f00000, 2 * kMiB}});
  of::ClaimMap claims(256 * kMiB);
  boot::ClaimInUse(claims, tree.data(), info, 0x200000);
  ASSERT_EQ(claims.claimed().size(), 3u);
  EXPECT_FALSE(claims.IsFree(0, 0x200000));
  EXPECT_FALSE(claims.IsFree(0x400000 + 42 * kMiB - 1, 1));
  EXPECT_FALSE(claims.IsFree(0x2f00000, 2 * kMiB));
  EXPECT_TRUE(claims.IsFree(0x200000, 0x200000));
  // Without the map's entries the payload is claimed from MachineInfo.
  const auto empty = TreeReserving({});
  of::ClaimMap from_info(256 * kMiB);
  boot::ClaimInUse(from_info, empty.data(), info, 0x200000);
  ASSERT_EQ(from_info.claimed().size(), 3u);
  EXPECT_FALSE(from_info.IsFree(0x2f00000 + 2 * kMiB - 1, 1));
}

TEST(ClaimInUse, KeepsWhatLiesInClaimableMemoryOfRangesPartlyOutsideIt) {
  // A map entry past the claim map's top, one inside the firmware, one straddling its end, one
  // straddling the top of claimable memory, and a kernel wider than memory: what lies below the
  // top is kept from the client, merged with what it touches.
  of::MachineInfo info = Kernel(0x4000000, ~uint64_t{0} - 0x100000);
  const auto tree = TreeReserving({{8ull << 30, kMiB},
                                   {0x100000, kMiB},
                                   {0x1f0000, 0x20000},
                                   {0x800000, kMiB},
                                   {255 * kMiB, 2 * kMiB}});
  of::ClaimMap claims(256 * kMiB);
  boot::ClaimInUse(claims, tree.data(), info, 0x200000);
  const std::vector<of::MemoryRange> expected = {
      {0, 0x210000}, {0x800000, kMiB}, {0x4000000, 256 * kMiB - 0x4000000}};
  ASSERT_EQ(claims.claimed().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(claims.claimed()[i].start, expected[i].start) << i;
    EXPECT_EQ(claims.claimed()[i].size, expected[i].size) << i;
  }
  EXPECT_TRUE(claims.IsFree(0x210000, 0x800000 - 0x210000));
  // No kernel: nothing but the firmware and the map.
  of::ClaimMap none(256 * kMiB);
  boot::ClaimInUse(none, TreeReserving({}).data(), of::MachineInfo{}, 0x200000);
  ASSERT_EQ(none.claimed().size(), 1u);
}

// QEMU's reserve map is the kernel and the initrd (hw/ppc/spapr.c): the same ranges tern records
// from /chosen take one entry each, however often the map repeats them or in how many pieces.
TEST(ClaimInUse, RangesListedTwiceOrInPiecesTakeOneEntry) {
  const of::MachineInfo info = KernelAndInitrd(42 * kMiB, 0x2f00000, 2 * kMiB);
  std::vector<of::AddressRange> reserved;
  for (int copy = 0; copy < 3; ++copy) {
    reserved.push_back({0x400000, 42 * kMiB});
    reserved.push_back({0x2f00000, 2 * kMiB});
  }
  for (uint64_t i = 0; i < 150; ++i) reserved.push_back({0x8000000 + i * 0x1000, 0x1000});
  reserved.push_back({0x8000000 + 0x800, 0x1000});  // inside two of the pieces
  of::ClaimMap claims(256 * kMiB);
  boot::ClaimInUse(claims, TreeReserving(reserved).data(), info, 0x200000);
  ASSERT_EQ(claims.claimed().size(), 4u);  // firmware, kernel, initrd, the 150 pieces
  EXPECT_EQ(claims.claimed()[3].start, 0x8000000u);
  EXPECT_EQ(claims.claimed()[3].size, 150u * 0x1000);
}

// #26.7: a reserve map of 200 separate ranges filled all 128 entries of the claim map, so the
// kernel and the initrd went unclaimed and every later claim of the client failed.
TEST(ClaimInUse, AReserveMapLongerThanTheClaimTableLosesNeitherThePayloadNorTheClient) {
  const of::MachineInfo info = KernelAndInitrd(42 * kMiB, 0x2f00000, 2 * kMiB);
  std::vector<of::AddressRange> reserved;
  for (uint64_t i = 0; i < 200; ++i) reserved.push_back({0x8000000 + i * 0x10000, 0x1000});
  tests::ConsoleCapture console;
  of::ClaimMap claims(256 * kMiB);
  boot::ClaimInUse(claims, TreeReserving(reserved).data(), info, 0x200000);
  EXPECT_TRUE(AllClaimed(claims, 0, 0x200000));
  EXPECT_TRUE(AllClaimed(claims, info.kernel.start, info.kernel.size));
  EXPECT_TRUE(AllClaimed(claims, info.initrd.start, info.initrd.size));
  for (const of::AddressRange& range : reserved) {
    EXPECT_TRUE(AllClaimed(claims, range.start, range.size)) << std::hex << range.start;
  }
  // The client keeps the rest of the table, and the memory outside the map.
  EXPECT_LE(claims.claimed().size(), static_cast<size_t>(of::ClaimMap::kMaxInUse));
  EXPECT_TRUE(claims.IsFree(0x200000, 0x200000));
  EXPECT_TRUE(claims.IsFree(0x8000000 + 200 * 0x10000, 16 * kMiB));
  for (int i = 0; i < of::ClaimMap::kMaxClaims - of::ClaimMap::kMaxInUse; ++i) {
    ASSERT_TRUE(claims.Claim(0, 0x1000, 0x1000).is_ok()) << i;
  }
  EXPECT_TRUE(console.Has("kept from the client")) << console.text;
}

}  // namespace
