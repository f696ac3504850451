// lib/fdt.h: blob validation and property readers, on fixtures compiled by dtc.
#include "lib/fdt.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <random>
#include <vector>

#include "lib/be.h"
#include "of/machine-info.h"
#include "tests/test-data.h"

namespace {

using lib::fdt::FdtError;

TEST(Fdt, AcceptsAValidBlobAndReturnsItsSize) {
  auto blob = tests::LoadDtb("single-cpu.dtb");
  ASSERT_FALSE(blob.empty());
  auto size = lib::fdt::CheckBlob(blob.data(), blob.size());
  ASSERT_TRUE(size.is_ok()) << lib::fdt::FdtErrorName(size.error());
  EXPECT_EQ(size.value(), blob.size());
}

TEST(Fdt, RejectsBadMagicTruncationAndOversize) {
  auto blob = tests::LoadDtb("single-cpu.dtb");
  auto bad_magic = blob;
  bad_magic[0] ^= 0xff;
  EXPECT_EQ(lib::fdt::CheckBlob(bad_magic.data(), bad_magic.size()).error(), FdtError::kBadMagic);
  EXPECT_EQ(lib::fdt::CheckBlob(blob.data(), blob.size() - 1).error(), FdtError::kTooLarge);
  // A header claiming more structure than the blob holds.
  auto truncated = blob;
  fdt_set_size_dt_struct(truncated.data(), fdt_size_dt_struct(blob.data()) + 4096);
  EXPECT_TRUE(lib::fdt::CheckBlob(truncated.data(), truncated.size()).is_error());
}

TEST(Fdt, RejectsUnbalancedAndMisplacedTags) {
  auto blob = tests::LoadDtb("single-cpu.dtb");
  const int struct_offset = fdt_off_dt_struct(blob.data());
  // Turn the first END_NODE into a NOP: the tree never closes a node.
  int offset = 0;
  for (;;) {
    int next = 0;
    const uint32_t tag = fdt_next_tag(blob.data(), offset, &next);
    ASSERT_GE(next, 0);
    if (tag == FDT_END_NODE) break;
    offset = next;
  }
  auto unbalanced = blob;
  lib::StoreBe32(unbalanced.data() + struct_offset + offset, FDT_NOP);
  EXPECT_EQ(lib::fdt::CheckBlob(unbalanced.data(), unbalanced.size()).error(),
            FdtError::kBadStructure);
  // A property whose name offset points past the strings block.
  auto bad_name = blob;
  offset = fdt_first_property_offset(bad_name.data(), 0);
  ASSERT_GE(offset, 0);
  lib::StoreBe32(bad_name.data() + struct_offset + offset + 8, 0x7fffff00);
  EXPECT_TRUE(lib::fdt::CheckBlob(bad_name.data(), bad_name.size()).is_error());
}

// Every corruption of a valid blob is either rejected or yields a tree that the readers walk
// without leaving the blob (AddressSanitizer checks the reads).
TEST(Fdt, RandomCorruptionIsRejectedOrSafe) {
  const auto original = tests::LoadDtb("smp-numa.dtb");
  std::mt19937 random(1275);
  int rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> blob = original;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < flips; ++i) {
      blob[random() % blob.size()] ^= static_cast<uint8_t>(1u << (random() % 8));
    }
    // An exact-size heap copy, so that any read past the end is caught.
    std::unique_ptr<uint8_t[]> exact(new uint8_t[blob.size()]);
    std::copy(blob.begin(), blob.end(), exact.get());
    if (lib::fdt::CheckBlob(exact.get(), blob.size()).is_error()) {
      ++rejected;
      continue;
    }
    (void)of::ReadMachineInfo(exact.get());
    (void)of::FindConsoleUnit(exact.get());
  }
  EXPECT_GT(rejected, 0);
}

TEST(Fdt, PropertyReadersCheckSizeAndTermination) {
  auto blob = tests::LoadDtb("single-cpu.dtb");
  const int cpus = lib::fdt::NodeByPath(blob.data(), "/cpus").value();
  EXPECT_EQ(lib::fdt::PropertyU32(blob.data(), cpus, "#address-cells").value(), 1u);
  EXPECT_EQ(lib::fdt::AddressCells(blob.data(), cpus), 1u);
  EXPECT_EQ(lib::fdt::SizeCells(blob.data(), cpus), 0u);
  EXPECT_EQ(lib::fdt::AddressCells(blob.data(), lib::fdt::NodeByPath(blob.data(), "/rtas").value()),
            2u);  // absent: the IEEE 1275 default
  EXPECT_EQ(lib::fdt::PropertyU32(blob.data(), 0, "model").error(), FdtError::kBadPropertyLength);
  EXPECT_EQ(lib::fdt::PropertyU32(blob.data(), 0, "no-such").error(), FdtError::kNotFound);
  EXPECT_TRUE(lib::fdt::PropertyString(blob.data(), 0, "model").value() ==
              lib::StringView("IBM pSeries (emulated by qemu)"));
  EXPECT_EQ(lib::fdt::NodeByPath(blob.data(), "/nope").error(), FdtError::kNotFound);
  const int vty = lib::fdt::NodeByPath(blob.data(), "/vdevice/vty@71000000").value();
  EXPECT_TRUE(lib::fdt::PropertyListContains(blob.data(), vty, "compatible", "hvterm1"));
  EXPECT_FALSE(lib::fdt::PropertyListContains(blob.data(), vty, "compatible", "hvterm"));
  // An unterminated string: make "device_type" of the vty lose its NUL.
  auto raw = lib::fdt::Property(blob.data(), vty, "device_type").value();
  auto* bytes = const_cast<uint8_t*>(raw.data());
  bytes[raw.size() - 1] = 'X';
  EXPECT_EQ(lib::fdt::PropertyString(blob.data(), vty, "device_type").error(),
            FdtError::kBadString);
  EXPECT_FALSE(lib::fdt::PropertyListContains(blob.data(), vty, "device_type", "serialX"));
}

TEST(Fdt, ErrorNamesAreReadable) {
  EXPECT_STREQ(lib::fdt::FdtErrorName(FdtError::kNotFound), "FDT_ERR_NOTFOUND");
  EXPECT_STREQ(lib::fdt::FdtErrorName(FdtError::kBadString),
               "string property is not NUL-terminated");
  EXPECT_EQ(lib::fdt::FromLibfdt(-FDT_ERR_BADMAGIC), FdtError::kBadMagic);
  EXPECT_EQ(lib::fdt::FromLibfdt(-1000), FdtError::kInternal);
}

}  // namespace
