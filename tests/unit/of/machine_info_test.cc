#include "of/machine-info.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/test-data.h"

namespace {

using lib::fdt::FdtError;

TEST(MachineInfo, SingleCpuTree) {
  auto blob = tests::LoadDtb("single-cpu.dtb");
  auto info = of::ReadMachineInfo(blob.data());
  ASSERT_TRUE(info.is_ok()) << lib::fdt::FdtErrorName(info.error());
  EXPECT_TRUE(info.value().model == lib::StringView("IBM pSeries (emulated by qemu)"));
  EXPECT_EQ(info.value().memory_bytes, 1ull << 30);
  EXPECT_EQ(info.value().memory_ranges, 1u);
  EXPECT_EQ(info.value().rma_bytes, 1ull << 30);
  EXPECT_EQ(info.value().cores, 1u);
  EXPECT_EQ(info.value().threads, 1u);
  EXPECT_EQ(info.value().max_threads_per_core, 1u);
  EXPECT_FALSE(info.value().has_kernel);
  EXPECT_FALSE(info.value().has_initrd);
  EXPECT_EQ(of::FindConsoleUnit(blob.data()).value(), 0x71000000u);
}

TEST(MachineInfo, ThreadsRangesKernelAndInitrd) {
  auto blob = tests::LoadDtb("smp-numa.dtb");
  auto info = of::ReadMachineInfo(blob.data());
  ASSERT_TRUE(info.is_ok()) << lib::fdt::FdtErrorName(info.error());
  // 256 MiB + 256 MiB + 1 GiB; the pci node's reg is not memory.
  EXPECT_EQ(info.value().memory_bytes, (256ull + 256 + 1024) << 20);
  EXPECT_EQ(info.value().memory_ranges, 3u);
  EXPECT_EQ(info.value().rma_bytes, 256ull << 20);
  EXPECT_EQ(info.value().cores, 3u);  // the cache node is not a CPU
  EXPECT_EQ(info.value().threads, 8u);
  EXPECT_EQ(info.value().max_threads_per_core, 4u);
  ASSERT_TRUE(info.value().has_kernel);
  EXPECT_EQ(info.value().kernel.start, 0x400000u);
  EXPECT_EQ(info.value().kernel.size, 0x1d000u);
  EXPECT_FALSE(info.value().kernel_little_endian);
  ASSERT_TRUE(info.value().has_initrd);
  EXPECT_EQ(info.value().initrd.start, 0x430000u);
  EXPECT_EQ(info.value().initrd.size, 6u);
  // No stdout-path: the hvterm1 node with the lowest reg; the nvram's lower reg does not count.
  EXPECT_EQ(of::FindConsoleUnit(blob.data()).value(), 0x71000001u);
}

TEST(MachineInfo, MalformedPropertiesAreErrors) {
  auto blob = tests::LoadDtb("bad-properties.dtb");
  auto info = of::ReadMachineInfo(blob.data());
  ASSERT_TRUE(info.is_error());
  EXPECT_EQ(info.error(), FdtError::kBadPropertyLength);  // the 3-cell memory reg comes first
}

TEST(MachineInfo, NoCpusNoConsole) {
  auto blob = tests::LoadDtb("no-cpus.dtb");
  EXPECT_EQ(of::ReadMachineInfo(blob.data()).error(), FdtError::kNotFound);
  // stdout-path names a node that does not exist, and there is no /vdevice to scan.
  EXPECT_EQ(of::FindConsoleUnit(blob.data()).error(), FdtError::kNotFound);
}

// Every tree dumped from a real QEMU configuration (tests/corpus/configs.txt) reads as the
// configuration says.
TEST(MachineInfo, QemuCorpus) {
  const std::vector<tests::CorpusTree> corpus = tests::LoadCorpus();
  for (const tests::CorpusTree& entry : corpus) {
    std::istringstream fields(entry.line);
    std::string name, console;
    uint64_t memory_mib, ranges, rma_mib, cores, threads;
    ASSERT_TRUE(fields >> name >> memory_mib >> ranges >> rma_mib >> cores >> threads >> console)
        << entry.line;
    SCOPED_TRACE(name);
    const std::vector<uint8_t>& blob = entry.blob;
    ASSERT_TRUE(lib::fdt::CheckBlob(blob.data(), blob.size()).is_ok());
    auto info = of::ReadMachineInfo(blob.data());
    ASSERT_TRUE(info.is_ok()) << lib::fdt::FdtErrorName(info.error());
    EXPECT_EQ(info.value().memory_bytes, memory_mib << 20);
    EXPECT_EQ(info.value().memory_ranges, ranges);
    EXPECT_EQ(info.value().rma_bytes, rma_mib << 20);
    EXPECT_EQ(info.value().cores, cores);
    EXPECT_EQ(info.value().threads, threads);
    EXPECT_FALSE(info.value().has_kernel);
    auto unit = of::FindConsoleUnit(blob.data());
    if (console == "none") {
      EXPECT_TRUE(unit.is_error());
    } else {
      ASSERT_TRUE(unit.is_ok());
      EXPECT_EQ(unit.value(), std::stoull(console, nullptr, 16));
    }
  }
  EXPECT_GE(corpus.size(), 8u) << "corpus in " << TERN_CORPUS_DIR;
}

}  // namespace
