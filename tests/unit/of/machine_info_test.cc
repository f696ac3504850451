#include "of/machine-info.h"

#include <gtest/gtest.h>

#include <libfdt.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lib/timeout.h"
#include "tests/console-capture.h"
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

// single-cpu.dtb with the CPU's timebase-frequency set to `cells` (one or two cells).
std::vector<uint8_t> WithTimebaseFrequency(const std::vector<uint32_t>& cells) {
  std::vector<uint8_t> blob = tests::LoadDtb("single-cpu.dtb");
  blob.resize(blob.size() + 64);
  fdt_open_into(blob.data(), blob.data(), static_cast<int>(blob.size()));
  std::vector<uint8_t> value;
  for (uint32_t cell : cells) {
    for (int shift = 24; shift >= 0; shift -= 8)
      value.push_back(static_cast<uint8_t>(cell >> shift));
  }
  const int cpu = fdt_path_offset(blob.data(), "/cpus/PowerPC,POWER9@0");
  EXPECT_EQ(fdt_setprop(blob.data(), cpu, "timebase-frequency", value.data(),
                        static_cast<int>(value.size())),
            0);
  return blob;
}

TEST(MachineInfo, TimebaseFrequencyInRangeIsTakenAsIs) {
  for (const std::vector<uint32_t>& cells : std::vector<std::vector<uint32_t>>{
           {512000000}, {0, 512000000}, {1000000}, {0x3, 0xb9aca000} /* 16 GHz */}) {
    tests::ConsoleCapture console;
    auto info = of::ReadMachineInfo(WithTimebaseFrequency(cells).data());
    ASSERT_TRUE(info.is_ok());
    const uint64_t expected = cells.size() == 1 ? cells[0] : (uint64_t{cells[0]} << 32) | cells[1];
    EXPECT_EQ(info.value().timebase_frequency, expected);
    EXPECT_FALSE(info.value().timebase_frequency_clamped);
    EXPECT_EQ(console.text, "");
  }
  // None at all, an empty one, or one of a length that is no cell count: unknown, 0 (no device
  // timeouts then), and nothing to clamp.
  EXPECT_EQ(of::ReadMachineInfo(tests::LoadDtb("single-cpu.dtb").data()).value().timebase_frequency,
            0u);
  for (const std::vector<uint32_t>& cells :
       std::vector<std::vector<uint32_t>>{{}, {0, 0, 512000000}}) {
    auto info = of::ReadMachineInfo(WithTimebaseFrequency(cells).data());
    ASSERT_TRUE(info.is_ok());
    EXPECT_EQ(info.value().timebase_frequency, 0u);
    EXPECT_FALSE(info.value().timebase_frequency_clamped);
  }
}

// Every timeout of tern is N * frequency ticks (lib/timeout.h): 2^64 - 1 Hz made 10 s wrap to a
// handful of ticks, 1 Hz made milliseconds stand still. The machine still boots, with the nearest
// bound and a line saying so.
TEST(MachineInfo, TimebaseFrequencyOutsideTheRangeIsClampedWithAMessage) {
  struct Case {
    std::vector<uint32_t> cells;
    uint64_t clamped;
  };
  for (const Case& c :
       std::vector<Case>{{{0xffffffff, 0xffffffff}, lib::kMaxTimebaseFrequency},
                         {{0x3, 0xb9aca001}, lib::kMaxTimebaseFrequency},  // 16 GHz + 1
                         {{1}, lib::kMinTimebaseFrequency},
                         {{0}, lib::kMinTimebaseFrequency},
                         {{999999}, lib::kMinTimebaseFrequency}}) {
    tests::ConsoleCapture console;
    auto info = of::ReadMachineInfo(WithTimebaseFrequency(c.cells).data());
    ASSERT_TRUE(info.is_ok());
    EXPECT_EQ(info.value().timebase_frequency, c.clamped);
    EXPECT_TRUE(info.value().timebase_frequency_clamped);
    EXPECT_TRUE(console.Has("timebase-frequency")) << console.text;
    EXPECT_TRUE(console.Has(std::to_string(c.clamped) + " Hz")) << console.text;
    // Every timeout in ticks is then finite and at least a millisecond's worth.
    EXPECT_GE(lib::SecondsToTicks(10, info.value().timebase_frequency), 10'000'000u);
    EXPECT_LT(lib::SecondsToTicks(10, info.value().timebase_frequency), ~uint64_t{0});
  }
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
    EXPECT_EQ(info.value().timebase_frequency, 512000000u);  // SPAPR_TIMEBASE_FREQ
    EXPECT_FALSE(info.value().timebase_frequency_clamped);
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
