// block/disk-label.h: the arguments a disk is opened with, and the blocks they name.
#include "block/disk-label.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "lib/be.h"

namespace {

using block::DiskLabelError;
using block::ParseDiskLabel;

std::string File(const block::DiskLabel& label) {
  return std::string(label.file.data(), label.file.size());
}

TEST(DiskLabel, TheFormsOfTheBinding) {
  auto whole = ParseDiskLabel("");
  ASSERT_TRUE(whole.is_ok());
  EXPECT_EQ(whole.value().partition, 0u);
  EXPECT_FALSE(whole.value().has_file);
  EXPECT_EQ(ParseDiskLabel("0").value().partition, 0u);
  EXPECT_EQ(ParseDiskLabel("2").value().partition, 2u);
  auto file = ParseDiskLabel("3,\\boot\\grub\\powerpc.elf");
  ASSERT_TRUE(file.is_ok());
  EXPECT_EQ(file.value().partition, 3u);
  EXPECT_TRUE(file.value().has_file);
  EXPECT_EQ(File(file.value()), "\\boot\\grub\\powerpc.elf");
  auto no_partition = ParseDiskLabel(",\\ppc\\bootinfo.txt");
  ASSERT_TRUE(no_partition.is_ok());
  EXPECT_EQ(no_partition.value().partition, 0u);
  EXPECT_EQ(File(no_partition.value()), "\\ppc\\bootinfo.txt");
  auto empty_name = ParseDiskLabel("1,");
  ASSERT_TRUE(empty_name.is_ok());
  EXPECT_TRUE(empty_name.value().has_file);
  EXPECT_EQ(File(empty_name.value()), "");
}

TEST(DiskLabel, RefusesWhatIsNotAPartitionNumber) {
  EXPECT_EQ(ParseDiskLabel("x").error(), DiskLabelError::kBadPartition);
  EXPECT_EQ(ParseDiskLabel("-1").error(), DiskLabelError::kBadPartition);
  EXPECT_EQ(ParseDiskLabel("10000").error(), DiskLabelError::kBadPartition);
  EXPECT_EQ(ParseDiskLabel("99999999999999999999").error(), DiskLabelError::kBadPartition);
  EXPECT_EQ(ParseDiskLabel("2x").error(), DiskLabelError::kTrailing);
  EXPECT_EQ(ParseDiskLabel("2 ").error(), DiskLabelError::kTrailing);
  EXPECT_TRUE(ParseDiskLabel("9999").is_ok());
}

// A disk of 64 blocks whose MBR holds partition 1 (blocks 8-23) and an entry 3 past the end.
struct MbrDisk {
  MbrDisk() : image(64 * 512) {
    uint8_t* mbr = image.data();
    uint8_t* first = mbr + 446;
    first[4] = 0x83;
    lib::StoreLe32(first + 8, 8);
    lib::StoreLe32(first + 12, 16);
    uint8_t* third = mbr + 446 + 32;
    third[4] = 0x83;
    lib::StoreLe32(third + 8, 60);
    lib::StoreLe32(third + 12, 16);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    device.block_size = 512;
    device.blocks = 64;
    device.max_transfer_blocks = 8;
    device.read = Read;
    device.driver = this;
  }
  static lib::Result<void, block::IoError> Read(void* driver, uint64_t lba, uint32_t count,
                                                uint64_t buffer) {
    auto* disk = static_cast<MbrDisk*>(driver);
    std::memcpy(reinterpret_cast<void*>(buffer), disk->image.data() + lba * 512, count * 512);
    return lib::Ok<block::IoError>();
  }
  std::vector<uint8_t> image;
  block::Device device;
};

TEST(DiskLabel, ExtentsOfTheWholeDiskAndOfAPartition) {
  MbrDisk disk;
  std::vector<uint8_t> scratch(4096);
  lib::Span<uint8_t> span(scratch.data(), scratch.size());
  auto whole = block::LabelExtent(disk.device, ParseDiskLabel("").value(), span);
  ASSERT_TRUE(whole.is_ok());
  EXPECT_EQ(whole.value().first, 0u);
  EXPECT_EQ(whole.value().count, 64u);
  auto first = block::LabelExtent(disk.device, ParseDiskLabel("1").value(), span);
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first.value().first, 8u);
  EXPECT_EQ(first.value().count, 16u);
  // Absent, and present but past the disk's end.
  EXPECT_EQ(block::LabelExtent(disk.device, ParseDiskLabel("2").value(), span).error(),
            block::ExtentError::kNoPartition);
  EXPECT_EQ(block::LabelExtent(disk.device, ParseDiskLabel("3").value(), span).error(),
            block::ExtentError::kNoPartition);
  // A disk without a partition table has only its whole extent.
  disk.image[510] = 0;
  EXPECT_EQ(block::LabelExtent(disk.device, ParseDiskLabel("1").value(), span).error(),
            block::ExtentError::kTableUnusable);
}

}  // namespace
