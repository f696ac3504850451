#include "drc/registry.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <string>
#include <vector>

#include "lib/be.h"

#include "tests/test-data.h"

namespace {

using lib::fdt::FdtError;

std::string Str(lib::StringView v) {
  return std::string(v.data(), v.size());
}

TEST(Registry, ReadsTheParallelArrays) {
  auto blob = tests::LoadDtb("drc-tree.dtb");
  const int cpus = fdt_path_offset(blob.data(), "/cpus");
  drc::DrcEntry entries[4];
  auto count = drc::ReadConnectors(blob.data(), cpus, entries);
  ASSERT_TRUE(count.is_ok()) << lib::fdt::FdtErrorName(count.error());
  ASSERT_EQ(count.value(), 2u);
  EXPECT_EQ(entries[1].index, 0x10000001u);
  EXPECT_EQ(Str(entries[1].name), "CPU 1");
  EXPECT_EQ(Str(entries[1].type), "CPU");
  EXPECT_EQ(entries[1].name_suffix, -1);
  EXPECT_EQ(entries[1].power_domain, 0xffffffffu);
  // More connectors than room: the count is still the node's.
  auto root = drc::ReadConnectors(blob.data(), 0, lib::Span<drc::DrcEntry>(entries, 1));
  EXPECT_EQ(root.value(), 4u);
  EXPECT_EQ(entries[0].index, 0x80000000u);
}

TEST(Registry, ExpandsDrcInfo) {
  auto blob = tests::LoadDtb("drc-tree.dtb");
  const int phb = fdt_path_offset(blob.data(), "/pci@800000020000001");
  drc::DrcEntry entries[8];
  auto count = drc::ReadConnectors(blob.data(), phb, entries);
  ASSERT_TRUE(count.is_ok()) << lib::fdt::FdtErrorName(count.error());
  ASSERT_EQ(count.value(), 5u);
  EXPECT_EQ(entries[0].index, 0x40000100u);
  EXPECT_EQ(entries[4].index, 0x40000100u + 4 * 8);
  EXPECT_EQ(Str(entries[4].name), "C");
  EXPECT_EQ(entries[4].name_suffix, 0x20 + 4);
  EXPECT_EQ(Str(entries[4].type), "28");
}

// A group of ibm,drc-info states its element count in one cell: 2^32 - 1 connectors in 20 bytes
// meant 4 billion visits at boot (found by the boot_fdt fuzz target as a 25-s timeout).
TEST(Registry, DrcInfoCountsAreBounded) {
  auto blob = tests::LoadDtb("drc-tree.dtb");
  std::vector<uint8_t> tree(blob.size() + 256);
  ASSERT_EQ(fdt_open_into(blob.data(), tree.data(), static_cast<int>(tree.size())), 0);
  const int phb = fdt_path_offset(tree.data(), "/pci@800000020000001");
  const auto* info =
      static_cast<const uint8_t*>(fdt_getprop(tree.data(), phb, "ibm,drc-info", nullptr));
  ASSERT_NE(info, nullptr);
  // <1>, "28", "C", <start suffix elements increment domain>: elements at byte 4 + 3 + 2 + 8.
  std::vector<uint8_t> value(info, info + 4 + 3 + 2 + 20);
  drc::DrcEntry entries[1];
  for (const uint32_t elements :
       {drc::kMaxConnectorsPerNode, drc::kMaxConnectorsPerNode + 1, 0xffffffffu}) {
    lib::StoreBe32(value.data() + 4 + 3 + 2 + 8, elements);
    ASSERT_EQ(
        fdt_setprop(tree.data(), phb, "ibm,drc-info", value.data(), static_cast<int>(value.size())),
        0);
    auto count = drc::ReadConnectors(tree.data(), phb, entries);
    if (elements == drc::kMaxConnectorsPerNode) {
      EXPECT_EQ(count.value(), elements);
      // The other nodes' connectors put the tree over the same bound.
      EXPECT_EQ(drc::CountConnectors(tree.data()).error(), FdtError::kBadValue);
    } else {
      EXPECT_EQ(count.error(), FdtError::kBadValue) << elements;
    }
  }
}

TEST(Registry, MalformedArraysAreErrors) {
  auto blob = tests::LoadDtb("drc-tree.dtb");
  const int broken = fdt_path_offset(blob.data(), "/broken");
  drc::DrcEntry entries[4];
  EXPECT_EQ(drc::ReadConnectors(blob.data(), broken, entries).error(), FdtError::kBadString);
  EXPECT_EQ(drc::CountConnectors(blob.data()).error(), FdtError::kBadString);
}

TEST(Registry, CensusOfAQemuTree) {
  // The corpus tree for -smp 2,maxcpus=8: 8 CPU connectors (one per possible core).
  auto blob = tests::ReadFile(std::string(TERN_CORPUS_DIR) + "/maxcpus.dtb");
  auto census = drc::CountConnectors(blob.data());
  ASSERT_TRUE(census.is_ok()) << lib::fdt::FdtErrorName(census.error());
  EXPECT_EQ(census.value().cpu, 8u);
  EXPECT_GT(census.value().phb, 0u);
  EXPECT_GT(census.value().pci, 0u);  // the default PHB's 32 slots
  EXPECT_EQ(census.value().total, census.value().cpu + census.value().memory + census.value().phb +
                                      census.value().pci + census.value().other);
}

}  // namespace
