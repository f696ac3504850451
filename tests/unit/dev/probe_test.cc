// dev/probe.h and the driver table: every PCI function offered to the first driver that
// matches, the boot list's devices first, pools that refused devices do not fill, a full pool
// said once — on tests/unit/dev/fake-pci's platform with many virtio-blk disks.
#include "dev/probe.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "dev/virtio-blk.h"
#include "lib/be.h"
#include "lib/console.h"
#include "tests/console-capture.h"
#include "tests/fake-hv.h"
#include "tests/host-cpu.h"
#include "tests/test-data.h"
#include "tests/unit/dev/fake-pci.h"

namespace {

using tests::FakePlatform;
using tests::FakeVirtioBlk;

constexpr uint64_t kTimebaseHz = 512000000;
constexpr uint64_t kDmaStart = 0x100000;
constexpr uint64_t kDmaBytes = 0x100000;

struct Reported {
  std::string path;
  std::string description;
  const block::Device* block;
};

class ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tests::SetTimebase(1000);
    phb0 = &platform.AddQemuPhb(0);
    phb1 = &platform.AddQemuPhb(1);
    tree = tests::LoadDtb("dev-pseries.dtb");
    tree.resize(tree.size() + 64 * 1024);
    ASSERT_EQ(fdt_open_into(tree.data(), tree.data(), static_cast<int>(tree.size())), 0);
    rtas = dev::FindRtasPciConfig(tree.data()).value();
  }
  void TearDown() override { dev::QuiesceAll(dev::Drivers()); }

  // A virtio-blk disk of `bytes` in slot `slot` of `phb` (`phb_path` its node), with its node.
  void AddDisk(FakePlatform::Phb& phb, const char* phb_path, uint8_t slot, size_t bytes) {
    FakeVirtioBlk& disk = disks.emplace_back(memory, std::vector<uint8_t>(bytes, 0x5a));
    platform.Plug(phb, slot, 0, disk);
    const std::string name = "scsi@" + Hex(slot);
    const int parent = fdt_path_offset(tree.data(), phb_path);
    const int node = fdt_add_subnode(tree.data(), parent, name.c_str());
    ASSERT_GE(node, 0);
    uint8_t reg[20] = {};
    lib::StoreBe32(reg, uint32_t{slot} << 11);
    ASSERT_EQ(fdt_setprop(tree.data(), node, "reg", reg, sizeof(reg)), 0);
  }
  static std::string Hex(unsigned value) {
    char text[16];
    snprintf(text, sizeof(text), "%x", value);
    return text;
  }

  static bool Add(void* context, const dev::FoundDevice& found) {
    auto* test = static_cast<ProbeTest*>(context);
    if (test->refuse_all) return false;
    test->reported.push_back({found.path, found.description, found.block});
    return true;
  }
  static bool First(void* context, const char* path) {
    return static_cast<ProbeTest*>(context)->first == path;
  }

  dev::ProbeCount Probe() {
    dev::ScanPhbs(tree.data(), rtas.Access(), *bus);
    dma = dev::DmaPool(kDmaStart, kDmaBytes);
    dev::ProbeEnv env{memory, kTimebaseHz, dma, {Add, this}};
    return dev::ProbeAll(dev::Drivers(), tree.data(), *bus, env, {First, this});
  }
  bool Found(const std::string& path) const {
    for (const Reported& r : reported) {
      if (r.path == path) return true;
    }
    return false;
  }

  tests::FakeHypervisor& hv = tests::FreshHypervisor();
  tests::ConsoleCapture capture;
  std::string& console = capture.text;
  std::vector<uint8_t> ram = std::vector<uint8_t>(4 << 20);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  FakePlatform platform{hv};
  FakePlatform::Phb* phb0 = nullptr;
  FakePlatform::Phb* phb1 = nullptr;
  std::deque<FakeVirtioBlk> disks;
  std::vector<uint8_t> tree;
  dev::RtasPciConfig rtas;
  std::unique_ptr<dev::PciBus> bus = std::make_unique<dev::PciBus>();
  dev::DmaPool dma;
  std::vector<Reported> reported;
  std::string first;
  bool refuse_all = false;
};

constexpr const char* kPhb0 = "/pci@800000020000000";
constexpr const char* kPhb1 = "/pci@800000020000001";

TEST_F(ProbeTest, TheDriverTableHoldsEveryDriverLinked) {
  std::vector<std::string> names;
  for (const dev::Driver& driver : dev::Drivers()) names.push_back(driver.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "virtio-blk"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "virtio-scsi"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "spapr-vscsi"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "spapr-vlan"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "virtio-net"), names.end());
}

// Issue 26: eight empty disks (and more) before a usable one: they take no driver instance, and
// the usable one is started whatever its position.
TEST_F(ProbeTest, UnusableDisksTakeNoInstance) {
  for (uint8_t slot = 4; slot < 4 + 40 && slot < 32; ++slot) AddDisk(*phb0, kPhb0, slot, 0);
  for (uint8_t slot = 1; slot < 13; ++slot) AddDisk(*phb1, kPhb1, slot, 0);
  AddDisk(*phb1, kPhb1, 20, 64 * 1024);
  const dev::ProbeCount count = Probe();
  EXPECT_EQ(count.started, 1);
  ASSERT_EQ(reported.size(), 1u) << console;
  EXPECT_EQ(reported[0].path, std::string(kPhb1) + "/scsi@14");
  EXPECT_EQ(reported[0].description, "virtio-blk, 128 blocks of 512 bytes (0 MiB)");
  EXPECT_EQ(console.find("in use"), std::string::npos) << console;
  // Every refused device was left reset, and its DMA memory given back.
  EXPECT_EQ(dma.remaining(), kDmaBytes - dev::kVirtioBlkRingBytes);
}

// More usable disks than the pool holds: the limit is said once, naming the first one left out,
// and the boot list's disk is started first wherever it is.
TEST_F(ProbeTest, AFullPoolIsSaidOnceAndTheBootListGoesFirst) {
  for (uint8_t slot = 4; slot < 32; ++slot) AddDisk(*phb0, kPhb0, slot, 4096);
  for (uint8_t slot = 1; slot < 10; ++slot) AddDisk(*phb1, kPhb1, slot, 4096);
  first = std::string(kPhb1) + "/scsi@9";
  const dev::ProbeCount count = Probe();
  EXPECT_EQ(count.started, dev::kVirtioBlkInstances);
  EXPECT_EQ(reported.size(), static_cast<size_t>(dev::kVirtioBlkInstances));
  EXPECT_EQ(reported.front().path, first);
  EXPECT_TRUE(Found(std::string(kPhb0) + "/scsi@4"));
  size_t said = 0;
  for (size_t at = console.find("every virtio-blk instance is in use"); at != std::string::npos;
       at = console.find("every virtio-blk instance is in use", at + 1)) {
    ++said;
  }
  EXPECT_EQ(said, 1u) << console;
  EXPECT_NE(console.find("/pci@800000020000001/scsi@4: every virtio-blk instance is in use"),
            std::string::npos)
      << console;
}

// A device the caller has no room for is stopped again and gives its instance back.
TEST_F(ProbeTest, ADeviceTheCallerRefusesIsStopped) {
  AddDisk(*phb0, kPhb0, 4, 4096);
  refuse_all = true;
  EXPECT_EQ(Probe().started, 0);
  EXPECT_EQ(disks.front().status, 0);
  EXPECT_EQ(disks.front().command() & 0x7, 0);
  EXPECT_EQ(dma.remaining(), kDmaBytes);
  refuse_all = false;
  EXPECT_EQ(Probe().started, 1);
}

TEST_F(ProbeTest, QuiesceResetsEveryRunningInstance) {
  AddDisk(*phb0, kPhb0, 4, 4096);
  AddDisk(*phb0, kPhb0, 5, 4096);
  ASSERT_EQ(Probe().started, 2);
  EXPECT_EQ(disks[0].status, 0x0f);
  dev::QuiesceAll(dev::Drivers());
  for (const FakeVirtioBlk& disk : disks) {
    EXPECT_EQ(disk.status, 0);
    EXPECT_EQ(disk.command() & 0x7, 0);
  }
  EXPECT_EQ(reported[0].block->Read(0, 1, 0x300000).error(), block::IoError::kNotReady);
}

}  // namespace
