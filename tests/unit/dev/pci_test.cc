// dev/pci: the PHB nodes, config space through RTAS, enumeration, BAR sizing and assignment,
// assigned-addresses, the command register; against tests/unit/dev/fake-pci's platform.
#include "dev/pci.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lib/be.h"
#include "lib/console.h"
#include "tests/console-capture.h"
#include "tests/fake-hv.h"
#include "tests/test-data.h"
#include "tests/unit/dev/fake-pci.h"

namespace {

using dev::PciBarKind;
using dev::PciError;
using tests::FakeFunction;
using tests::FakeHypervisor;
using tests::FakePlatform;
using tests::FakeVirtioBlk;

constexpr uint64_t kBuid0 = 0x800000020000000ull;
constexpr uint64_t kBuid1 = 0x800000020000001ull;

// ---------------------------------------------------------------------------------------------
// Small trees built with libfdt, for the malformed cases.

using Bytes = std::vector<uint8_t>;
struct Prop {
  std::string name;
  Bytes value;
};
struct Node {
  std::string name;
  std::vector<Prop> props;
  std::vector<Node> children;
};

Bytes Cells(std::initializer_list<uint32_t> cells) {
  Bytes bytes(4 * cells.size());
  size_t at = 0;
  for (uint32_t cell : cells) {
    lib::StoreBe32(&bytes[at], cell);
    at += 4;
  }
  return bytes;
}

Bytes Text(const std::string& text) {
  return Bytes(text.c_str(), text.c_str() + text.size() + 1);
}

void Emit(void* fdt, const Node& node) {
  ASSERT_EQ(fdt_begin_node(fdt, node.name.c_str()), 0);
  for (const Prop& prop : node.props) {
    ASSERT_EQ(fdt_property(fdt, prop.name.c_str(), prop.value.data(),
                           static_cast<int>(prop.value.size())),
              0);
  }
  for (const Node& child : node.children) Emit(fdt, child);
  ASSERT_EQ(fdt_end_node(fdt), 0);
}

Bytes BuildTree(const Node& root) {
  Bytes blob(64 * 1024);
  EXPECT_EQ(fdt_create(blob.data(), static_cast<int>(blob.size())), 0);
  EXPECT_EQ(fdt_finish_reservemap(blob.data()), 0);
  Emit(blob.data(), root);
  EXPECT_EQ(fdt_finish(blob.data()), 0);
  return blob;
}

// QEMU's PHB 0 node (the dumped tree), with `changes` replacing or adding properties.
Node QemuPhb(std::vector<Prop> changes = {}) {
  Node phb{
      "pci@800000020000000",
      {{"device_type", Text("pci")},
       {"compatible", Text("IBM,Logical_PHB")},
       {"#address-cells", Cells({3})},
       {"#size-cells", Cells({2})},
       {"reg", Cells({0x8000000, 0x20000000, 0, 0})},
       {"ranges", Cells({0x1000000, 0,      0,          0x2000, 0,          0,     0x10000,     //
                         0x2000000, 0,      0x80000000, 0x2000, 0x80000000, 0,     0x80000000,  //
                         0x3000000, 0x2100, 0,          0x2100, 0,          0x100, 0})}},
      {}};
  for (Prop& change : changes) {
    auto same = [&](const Prop& p) { return p.name == change.name; };
    phb.props.erase(std::remove_if(phb.props.begin(), phb.props.end(), same), phb.props.end());
    if (!change.value.empty()) phb.props.push_back(std::move(change));
  }
  return phb;
}

Node Root(std::vector<Node> children) {
  return Node{
      "", {{"#address-cells", Cells({2})}, {"#size-cells", Cells({2})}}, std::move(children)};
}

lib::Result<dev::PciPhb, PciError> ParseOnly(const Bytes& blob) {
  const int node = fdt_first_subnode(blob.data(), 0);
  EXPECT_GE(node, 0);
  return dev::ParsePhb(blob.data(), node);
}

// ---------------------------------------------------------------------------------------------

TEST(PciConfigAddress, IsQemusEncodingWithExtendedRegisterBitsOnTop) {
  EXPECT_EQ(dev::PciConfigAddress(0, 2, 0, 0x10), 0x1010u);
  EXPECT_EQ(dev::PciConfigAddress(1, 31, 7, 0xfc), 0x1fffcu);
  // Register 0x104 (extended config space): bits 8-11 go to bits 28-31, as
  // QEMU's rtas_pci_cfgaddr, ((arg >> 20) & 0xf00) | (arg & 0xff), takes them back.
  const uint32_t extended = dev::PciConfigAddress(0, 3, 1, 0x104);
  EXPECT_EQ(extended, 0x10001904u);
  EXPECT_EQ(((extended >> 20) & 0xf00) | (extended & 0xff), 0x104u);
  EXPECT_EQ((extended >> 8) & 0xff, (3u << 3) | 1u);  // devfn, where QEMU looks for it
}

TEST(ParsePhb, ReadsQemusPhbNodes) {
  auto blob = tests::LoadDtb("dev-pseries.dtb");
  const int node0 = fdt_path_offset(blob.data(), "/pci@800000020000000");
  auto phb = dev::ParsePhb(blob.data(), node0);
  ASSERT_TRUE(phb.is_ok()) << dev::PciErrorName(phb.error());
  EXPECT_EQ(phb.value().buid, kBuid0);
  EXPECT_STREQ(phb.value().path, "/pci@800000020000000");
  EXPECT_TRUE(phb.value().extended_config);
  EXPECT_EQ(phb.value().io.pci_base, 0u);
  EXPECT_EQ(phb.value().io.cpu_base, 0x200000000000u);
  EXPECT_EQ(phb.value().io.size, 0x10000u);
  EXPECT_EQ(phb.value().mem32.pci_base, 0x80000000u);
  EXPECT_EQ(phb.value().mem32.cpu_base, 0x200080000000u);
  EXPECT_EQ(phb.value().mem32.size, 0x80000000u);
  EXPECT_EQ(phb.value().mem64.pci_base, 0x210000000000u);
  EXPECT_EQ(phb.value().mem64.cpu_base, 0x210000000000u);
  EXPECT_EQ(phb.value().mem64.size, 0x10000000000u);

  auto phb1 = dev::ParsePhb(blob.data(), fdt_path_offset(blob.data(), "/pci@800000020000001"));
  ASSERT_TRUE(phb1.is_ok());
  EXPECT_EQ(phb1.value().buid, kBuid1);
  EXPECT_EQ(phb1.value().io.cpu_base, 0x200000010000u);
  EXPECT_EQ(phb1.value().mem32.cpu_base, 0x200100000000u);
  EXPECT_EQ(phb1.value().mem64.cpu_base, 0x220000000000u);
}

TEST(ParsePhb, AcceptsOneCellSizesAndAPhbWithoutOptionalWindows) {
  auto blob = BuildTree(Root(
      {QemuPhb({{"#size-cells", Cells({1})},
                {"ranges", Cells({0x2000000, 0, 0x80000000, 0x2000, 0x80000000, 0x10000000})}})}));
  auto phb = ParseOnly(blob);
  ASSERT_TRUE(phb.is_ok()) << dev::PciErrorName(phb.error());
  EXPECT_EQ(phb.value().mem32.size, 0x10000000u);
  EXPECT_EQ(phb.value().io.size, 0u);
  EXPECT_EQ(phb.value().mem64.size, 0u);
  EXPECT_FALSE(phb.value().extended_config);
}

TEST(ParsePhb, RefusesMalformedNodes) {
  const std::vector<std::pair<const char*, Node>> cases = {
      {"#address-cells 2", QemuPhb({{"#address-cells", Cells({2})}})},
      {"#size-cells 3", QemuPhb({{"#size-cells", Cells({3})}})},
      {"no reg", QemuPhb({{"reg", {}}})},
      {"short reg", QemuPhb({{"reg", Cells({0x8000000})}})},
      {"no ranges", QemuPhb({{"ranges", {}}})},
      {"ranges not whole entries", QemuPhb({{"ranges", Cells({0x2000000, 0, 0x80000000})}})},
      {"empty window",
       QemuPhb({{"ranges", Cells({0x2000000, 0, 0x80000000, 0x2000, 0x80000000, 0, 0})}})},
      {"32-bit window above 4 GiB",
       QemuPhb({{"ranges", Cells({0x2000000, 0, 0x80000000, 0x2000, 0x80000000, 0, 0x80000001})}})},
      {"window wrapping bus space",
       QemuPhb({{"ranges", Cells({0x2000000, 0, 0x80000000, 0x2000, 0x80000000, 0, 0x80000000,
                                  0x3000000, 0xffffffff, 0, 0x2100, 0, 0x100, 0})}})},
      {"window wrapping CPU space", QemuPhb({{"ranges", Cells({0x2000000, 0, 0x80000000, 0xffffffff,
                                                               0xffff0000, 0, 0x80000000})}})},
  };
  for (const auto& [what, node] : cases) {
    auto blob = BuildTree(Root({node}));
    auto phb = ParseOnly(blob);
    ASSERT_TRUE(phb.is_error()) << what;
    EXPECT_EQ(phb.error(), PciError::kBadPhbNode) << what;
  }
  auto no_mem32 =
      BuildTree(Root({QemuPhb({{"ranges", Cells({0x3000000, 0x2100, 0, 0x2100, 0, 0x100, 0})}})}));
  EXPECT_EQ(ParseOnly(no_mem32).error(), PciError::kNoMemoryWindow);
  EXPECT_STREQ(dev::PciErrorName(PciError::kNoMemoryWindow), "PHB without a 32-bit memory window");
}

// ---------------------------------------------------------------------------------------------
// Config space through RTAS.

class RtasConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { hv.Reset(); }
  FakeHypervisor& hv = FakeHypervisor::Get();
};

TEST_F(RtasConfigTest, FindsTheTokensInRtas) {
  auto blob = tests::LoadDtb("dev-pseries.dtb");
  auto rtas = dev::FindRtasPciConfig(blob.data());
  ASSERT_TRUE(rtas.is_ok());
  EXPECT_EQ(rtas.value().read_token, 0x2016u);
  EXPECT_EQ(rtas.value().write_token, 0x2017u);
  auto bare = BuildTree(Root({Node{"rtas", {{"ibm,read-pci-config", Cells({0x2016})}}, {}}}));
  EXPECT_EQ(dev::FindRtasPciConfig(bare.data()).error(), PciError::kNoRtasService);
}

TEST_F(RtasConfigTest, PassesConfigAddressBuidHalvesAndSize) {
  std::vector<uint32_t> read_args;
  std::vector<uint32_t> write_args;
  hv.rtas_services[0x2016] = [&](const std::vector<uint32_t>& args, std::vector<uint32_t>& rets) {
    read_args = args;
    EXPECT_EQ(rets.size(), 1u);
    rets[0] = 0xabcd1af4;  // garbage above the two bytes asked for
    return 0;
  };
  hv.rtas_services[0x2017] = [&](const std::vector<uint32_t>& args, std::vector<uint32_t>& rets) {
    write_args = args;
    EXPECT_TRUE(rets.empty());
    return 0;
  };
  dev::RtasPciConfig rtas{0x2016, 0x2017};
  dev::PciDevice device;
  device.access = rtas.Access();
  device.buid = kBuid0;
  device.device = 2;
  auto vendor = device.ReadConfig(dev::kPciVendorId, 2);
  ASSERT_TRUE(vendor.is_ok());
  EXPECT_EQ(vendor.value(), 0x1af4u);
  EXPECT_EQ(read_args, (std::vector<uint32_t>{0x1000, 0x08000000, 0x20000000, 2}));
  ASSERT_TRUE(device.WriteConfig(dev::kPciCommand, 2, 0x6).is_ok());
  EXPECT_EQ(write_args, (std::vector<uint32_t>{0x1004, 0x08000000, 0x20000000, 2, 6}));
}

TEST_F(RtasConfigTest, ReportsRefusalsAndRefusesBadAccessesItself) {
  hv.rtas_services[0x2016] = [](const std::vector<uint32_t>&, std::vector<uint32_t>&) {
    return -1;  // QEMU: no such function
  };
  dev::RtasPciConfig rtas{0x2016, 0x2099};  // the write token is unknown to the host
  dev::PciDevice device;
  device.access = rtas.Access();
  EXPECT_EQ(device.ReadConfig(0, 4).error(), PciError::kConfigAccess);
  EXPECT_EQ(device.WriteConfig(4, 2, 0).error(), PciError::kConfigAccess);
  hv.calls.clear();
  EXPECT_EQ(device.ReadConfig(0, 3).error(), PciError::kBadAccess);
  EXPECT_EQ(device.ReadConfig(2, 4).error(), PciError::kBadAccess);
  EXPECT_EQ(device.WriteConfig(0x100, 4, 0).error(), PciError::kBadAccess);  // not extended
  device.extended_config = true;
  EXPECT_EQ(device.ReadConfig(0x1000, 4).error(), PciError::kBadAccess);
  EXPECT_TRUE(hv.calls.empty());
  dev::PciDevice unconnected;
  EXPECT_EQ(unconnected.ReadConfig(0, 4).error(), PciError::kConfigAccess);
  EXPECT_EQ(unconnected.WriteConfig(0, 4, 0).error(), PciError::kConfigAccess);
}

// ---------------------------------------------------------------------------------------------
// The scan, on the machine of tests/data/dev-pseries.dts.

class PciScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // QEMU's VGA: a 16 MiB prefetchable frame buffer and 4 KiB of registers; xhci: 16 KiB 64-bit.
    vga.SetBar(0, 16 << 20, FakeFunction::kPrefetch);
    vga.SetBar(2, 0x1000, 0);
    xhci.SetBar(0, 0x4000, FakeFunction::kMem64);
    auto& phb0 = platform.AddQemuPhb(0);
    auto& phb1 = platform.AddQemuPhb(1);
    platform.Plug(phb0, 0, 0, vga);
    platform.Plug(phb0, 1, 0, xhci);
    platform.Plug(phb0, 2, 0, blk);
    platform.Plug(phb0, 3, 0, blk_modern);
    platform.Plug(phb1, 0, 0, blk_phb1);
    rtas = dev::FindRtasPciConfig(tree.data()).value();
  }
  void TearDown() override {
    for (FakeFunction* f :
         {&vga, &xhci, static_cast<FakeFunction*>(&blk), static_cast<FakeFunction*>(&blk_modern),
          static_cast<FakeFunction*>(&blk_phb1)}) {
      EXPECT_TRUE(f->violations.empty()) << f->violations.front();
    }
  }
  void Scan() { dev::ScanPhbs(tree.data(), rtas.Access(), *bus); }
  const dev::PciDevice* Find(uint64_t buid, uint8_t device, uint8_t function = 0) {
    for (int i = 0; i < bus->device_count; ++i) {
      const dev::PciDevice& d = bus->devices[i];
      if (d.buid == buid && d.device == device && d.function == function) return &d;
    }
    return nullptr;
  }

  FakeHypervisor& hv = tests::FreshHypervisor();  // before the platform installs its handlers
  tests::ConsoleCapture capture;  // from construction: the console of the whole test
  std::string& console = capture.text;
  std::vector<uint8_t> tree = tests::LoadDtb("dev-pseries.dtb");
  std::vector<uint8_t> ram = std::vector<uint8_t>(64 * 1024);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  FakePlatform platform{hv};
  FakeFunction vga{0x1234, 0x1111, 0x030000, 2};
  FakeFunction xhci{0x1033, 0x0194, 0x0c0330, 3};
  FakeVirtioBlk blk{memory, std::vector<uint8_t>(4096)};
  FakeVirtioBlk blk_modern{memory, std::vector<uint8_t>(4096), true};
  FakeVirtioBlk blk_phb1{memory, std::vector<uint8_t>(4096)};
  dev::RtasPciConfig rtas;
  std::unique_ptr<dev::PciBus> bus = std::make_unique<dev::PciBus>();
};

TEST_F(PciScanTest, FindsEveryFunctionOnBothPhbs) {
  Scan();
  EXPECT_EQ(console, "");
  ASSERT_EQ(bus->phb_count, 2);
  EXPECT_EQ(bus->phbs[0].buid, kBuid0);
  EXPECT_EQ(bus->phbs[1].buid, kBuid1);
  ASSERT_EQ(bus->device_count, 5);
  const dev::PciDevice* blk0 = Find(kBuid0, 2);
  ASSERT_NE(blk0, nullptr);
  EXPECT_EQ(blk0->vendor_id, 0x1af4);
  EXPECT_EQ(blk0->device_id, 0x1001);
  EXPECT_EQ(blk0->class_code, 0x010000u);
  EXPECT_EQ(blk0->revision, 0);
  EXPECT_EQ(blk0->phb, 0);
  EXPECT_STREQ(blk0->path, "/pci@800000020000000/scsi@2");
  EXPECT_STREQ(blk0->name, "/pci@800000020000000/scsi@2");
  const dev::PciDevice* modern = Find(kBuid0, 3);
  ASSERT_NE(modern, nullptr);
  EXPECT_EQ(modern->device_id, 0x1042);
  EXPECT_EQ(modern->revision, 1);
  EXPECT_STREQ(Find(kBuid0, 0)->path, "/pci@800000020000000/vga@0");
  EXPECT_EQ(Find(kBuid0, 0)->class_code, 0x030000u);
  EXPECT_STREQ(Find(kBuid0, 1)->path, "/pci@800000020000000/usb-xhci@1");
  const dev::PciDevice* other = Find(kBuid1, 0);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->phb, 1);
  EXPECT_STREQ(other->path, "/pci@800000020000001/scsi@0");
}

TEST_F(PciScanTest, SizesEveryKindOfBar) {
  Scan();
  const dev::PciDevice& v = *Find(kBuid0, 0);
  EXPECT_EQ(v.bars[0].kind, PciBarKind::kMem32);
  EXPECT_TRUE(v.bars[0].prefetchable);
  EXPECT_EQ(v.bars[0].size, 16u << 20);
  EXPECT_EQ(v.bars[1].kind, PciBarKind::kNone);
  EXPECT_EQ(v.bars[2].kind, PciBarKind::kMem32);
  EXPECT_EQ(v.bars[2].size, 0x1000u);
  const dev::PciDevice& x = *Find(kBuid0, 1);
  EXPECT_EQ(x.bars[0].kind, PciBarKind::kMem64);
  EXPECT_FALSE(x.bars[0].prefetchable);
  EXPECT_EQ(x.bars[1].kind, PciBarKind::kNone);  // the upper half
  const dev::PciDevice& b = *Find(kBuid0, 2);
  EXPECT_EQ(b.bars[0].kind, PciBarKind::kIo);
  EXPECT_FALSE(b.bars[0].io_16bit);
  EXPECT_EQ(b.bars[0].size, 0x80u);
  EXPECT_EQ(b.bars[1].kind, PciBarKind::kMem32);
  EXPECT_EQ(b.bars[4].kind, PciBarKind::kMem64);
  EXPECT_TRUE(b.bars[4].prefetchable);
  EXPECT_EQ(b.bars[4].size, 0x4000u);
  EXPECT_EQ(Find(kBuid0, 3)->bars[0].kind, PciBarKind::kNone);  // modern-only: no I/O BAR
}

TEST_F(PciScanTest, BarsLandInTheirWindowsAlignedAndApartAndAreProgrammed) {
  Scan();
  struct Placed {
    uint64_t start;
    uint64_t size;
    PciBarKind kind;
  };
  std::vector<Placed> placed[2];
  for (int d = 0; d < bus->device_count; ++d) {
    const dev::PciDevice& device = bus->devices[d];
    const dev::PciPhb& phb = bus->phbs[device.phb];
    for (int i = 0; i < dev::kPciBarCount; ++i) {
      const dev::PciBar& bar = device.bars[i];
      if (bar.kind == PciBarKind::kNone) continue;
      SCOPED_TRACE(std::string(device.name) + " BAR " + std::to_string(i));
      ASSERT_TRUE(bar.assigned);
      EXPECT_EQ(bar.pci_address % bar.size, 0u);
      const dev::PciWindow* window = &phb.mem32;
      if (bar.kind == PciBarKind::kIo) window = &phb.io;
      if (bar.kind == PciBarKind::kMem64 && bar.prefetchable) window = &phb.mem64;
      EXPECT_GE(bar.pci_address, window->pci_base);
      EXPECT_LE(bar.pci_address + bar.size, window->pci_base + window->size);
      EXPECT_EQ(bar.cpu_address, window->cpu_base + (bar.pci_address - window->pci_base));
      EXPECT_GE(bar.pci_address, 0x1000u);  // never bus address 0
      placed[device.phb].push_back({bar.pci_address, bar.size, bar.kind});
    }
  }
  for (auto& list : placed) {
    for (size_t i = 0; i < list.size(); ++i) {
      for (size_t j = i + 1; j < list.size(); ++j) {
        const bool same_space =
            (list[i].kind == PciBarKind::kIo) == (list[j].kind == PciBarKind::kIo);
        const bool apart = list[i].start + list[i].size <= list[j].start ||
                           list[j].start + list[j].size <= list[i].start;
        EXPECT_TRUE(!same_space || apart) << std::hex << list[i].start << " " << list[j].start;
      }
    }
  }
  EXPECT_EQ(placed[0].size(), 8u);  // vga 2, xhci 1, transitional blk 3, modern blk 2
  EXPECT_EQ(placed[1].size(), 3u);
  // What the BARs hold is what was recorded, and decoding stays off until a driver wants it.
  const dev::PciDevice& b = *Find(kBuid0, 2);
  EXPECT_EQ(blk.BarAddress(0), b.bars[0].pci_address);
  EXPECT_EQ(blk.BarAddress(1), b.bars[1].pci_address);
  EXPECT_EQ(blk.BarAddress(4), b.bars[4].pci_address);
  EXPECT_EQ(b.bars[4].pci_address >> 32, 0x2100u);
  EXPECT_EQ(xhci.BarAddress(0), Find(kBuid0, 1)->bars[0].pci_address);
  EXPECT_EQ(Find(kBuid0, 1)->bars[0].pci_address >> 32, 0u);  // non-prefetchable: 32-bit window
  EXPECT_EQ(vga.BarAddress(0), Find(kBuid0, 0)->bars[0].pci_address);
  EXPECT_EQ(blk_phb1.BarAddress(4), Find(kBuid1, 0)->bars[4].pci_address);
  for (FakeFunction* f : {&vga, &xhci, static_cast<FakeFunction*>(&blk)}) {
    EXPECT_EQ(f->command() & 0x7, 0);
  }
}

TEST_F(PciScanTest, TurnsDecodingOffThatWasLeftOn) {
  blk.ConfigWrite(0x04, 2, 0x7);
  Scan();
  EXPECT_EQ(blk.command() & 0x7, 0);
}

TEST_F(PciScanTest, EncodesAssignedAddressesFromWhatItProgrammed) {
  Scan();
  const dev::PciDevice& b = *Find(kBuid0, 2);
  uint8_t bytes[dev::kMaxAssignedAddressesBytes];
  auto size = dev::EncodeAssignedAddresses(b, bytes);
  ASSERT_TRUE(size.is_ok());
  ASSERT_EQ(size.value(), 3 * dev::kAssignedAddressBytes);
  auto cell = [&](int i) { return lib::LoadBe32(bytes + 4 * i); };
  // I/O BAR 0: n=1, ss=01, device 2, register 0x10.
  EXPECT_EQ(cell(0), 0x81001010u);
  EXPECT_EQ((uint64_t{cell(1)} << 32) | cell(2), b.bars[0].pci_address);
  EXPECT_EQ(cell(3), 0u);
  EXPECT_EQ(cell(4), 0x80u);
  // 32-bit BAR 1: ss=10, register 0x14.
  EXPECT_EQ(cell(5), 0x82001014u);
  EXPECT_EQ(cell(6), 0u);
  EXPECT_EQ(cell(7), static_cast<uint32_t>(blk.BarAddress(1)));
  EXPECT_EQ(cell(9), 0x1000u);
  // 64-bit prefetchable BAR 4: n=1, p=1, ss=11, register 0x20.
  EXPECT_EQ(cell(10), 0xc3001020u);
  EXPECT_EQ((uint64_t{cell(11)} << 32) | cell(12), blk.BarAddress(4));
  EXPECT_EQ(cell(13), 0u);
  EXPECT_EQ(cell(14), 0x4000u);

  uint8_t small[2 * dev::kAssignedAddressBytes];
  EXPECT_EQ(dev::EncodeAssignedAddresses(b, small).error(), PciError::kBufferTooSmall);
  dev::PciDevice no_bars;
  EXPECT_EQ(dev::EncodeAssignedAddresses(no_bars, small).value(), 0u);
  // The 64-bit non-prefetchable BAR of xhci, below 4 GiB: ss=11 without p.
  ASSERT_EQ(dev::EncodeAssignedAddresses(*Find(kBuid0, 1), bytes).value(),
            dev::kAssignedAddressBytes);
  EXPECT_EQ(cell(0), 0x83000810u);
  EXPECT_EQ(cell(1), 0u);
}

TEST_F(PciScanTest, EnablesDecodingAndMasteringOnlyWhenAsked) {
  Scan();
  const dev::PciDevice& b = *Find(kBuid0, 2);
  ASSERT_TRUE(dev::EnableDevice(b).is_ok());
  EXPECT_EQ(blk.command() & 0x7, 0x7);  // I/O BAR assigned too
  EXPECT_EQ(blk_modern.command() & 0x7, 0);
  ASSERT_TRUE(dev::EnableDevice(*Find(kBuid0, 3)).is_ok());
  EXPECT_EQ(blk_modern.command() & 0x7, 0x6);  // no I/O BAR: no I/O decoding
  ASSERT_TRUE(dev::DisableDevice(b).is_ok());
  EXPECT_EQ(blk.command() & 0x7, 0);
  platform.fail_config = true;
  EXPECT_EQ(dev::EnableDevice(b).error(), PciError::kConfigAccess);
  EXPECT_EQ(dev::DisableDevice(b).error(), PciError::kConfigAccess);
}

TEST_F(PciScanTest, ScansEveryFunctionOfAMultifunctionDeviceAndSkipsBridges) {
  FakeFunction f0{0x8086, 0x1234, 0x020000};
  FakeFunction f2{0x8086, 0x1235, 0x020000};
  FakeFunction orphan{0x8086, 0x1236, 0x020000};  // function 1 of a device without function 0
  FakeFunction bridge{0x1b36, 0x0001, 0x060400};
  f0.SetHeaderType(0x80);
  f0.SetBar(0, 0x1000, 0);
  f2.SetBar(0, 0x2000, 0);
  bridge.SetHeaderType(0x01);
  auto& phb1 = *platform.phbs[1];
  platform.Plug(phb1, 4, 0, f0);
  platform.Plug(phb1, 4, 2, f2);
  platform.Plug(phb1, 5, 1, orphan);
  platform.Plug(phb1, 6, 0, bridge);
  Scan();
  ASSERT_NE(Find(kBuid1, 4, 0), nullptr);
  ASSERT_NE(Find(kBuid1, 4, 2), nullptr);
  EXPECT_EQ(Find(kBuid1, 4, 1), nullptr);
  EXPECT_EQ(Find(kBuid1, 5, 1), nullptr);
  EXPECT_EQ(Find(kBuid1, 6, 0), nullptr);
  EXPECT_STREQ(Find(kBuid1, 4, 2)->path, "");  // QEMU made no node for it in this tree
  EXPECT_STREQ(Find(kBuid1, 4, 2)->name, "pci@800000020000001/4,2");
  EXPECT_TRUE(Find(kBuid1, 4, 2)->bars[0].assigned);
  EXPECT_NE(console.find("pci@800000020000001/6,0: header type 1 (a bridge)"), std::string::npos)
      << console;
}

TEST_F(PciScanTest, LeavesABarThatDoesNotFitUnassignedAndSaysSo) {
  FakeFunction huge{0x1234, 0x5678, 0xff0000};
  huge.SetBar(0, uint64_t{4} << 30, FakeFunction::kMem64);  // 4 GiB, not prefetchable
  huge.SetBar(2, 0x1000, 0);
  huge.SetBar(3, 0x100, FakeFunction::kIo);
  platform.Plug(*platform.phbs[1], 7, 0, huge);
  Scan();
  const dev::PciDevice* d = Find(kBuid1, 7);
  ASSERT_NE(d, nullptr);
  // Too big for the 2 GiB 32-bit window, so into the 64-bit one, aligned to 4 GiB.
  EXPECT_TRUE(d->bars[0].assigned);
  EXPECT_EQ(d->bars[0].pci_address % (uint64_t{4} << 30), 0u);
  EXPECT_GE(d->bars[0].pci_address, 0x220000000000u);
  EXPECT_TRUE(d->bars[2].assigned);

  FakeFunction greedy{0x1234, 0x5679, 0xff0000};
  greedy.SetBar(0, 0x20000, FakeFunction::kIo);  // 128 KiB of I/O: the window has 64
  platform.Plug(*platform.phbs[1], 8, 0, greedy);
  Scan();
  const dev::PciDevice* g = Find(kBuid1, 8);
  ASSERT_NE(g, nullptr);
  EXPECT_FALSE(g->bars[0].assigned);
  EXPECT_EQ(greedy.BarAddress(0), 0u);
  uint8_t bytes[dev::kMaxAssignedAddressesBytes];
  EXPECT_EQ(dev::EncodeAssignedAddresses(*g, bytes).value(), 0u);
  EXPECT_NE(console.find("pci@800000020000001/8,0: BAR 0 (0x20000 bytes) does not fit the "
                         "windows of /pci@800000020000001"),
            std::string::npos)
      << console;
}

TEST_F(PciScanTest, ReportsBarsThatCannotBeUsed) {
  FakeFunction odd{0x1234, 0x5680, 0xff0000};
  odd.SetBar(5, 0x1000, FakeFunction::kMem64);  // 64-bit, in the last slot
  odd.SetBar(2, 0x1000, 0x6);                   // memory type 11: reserved
  platform.Plug(*platform.phbs[1], 9, 0, odd);
  Scan();
  const dev::PciDevice* d = Find(kBuid1, 9);
  ASSERT_NE(d, nullptr);
  for (int i = 0; i < dev::kPciBarCount; ++i) {
    EXPECT_EQ(d->bars[i].kind, PciBarKind::kNone) << "BAR " << i;
  }
  EXPECT_NE(console.find("BAR 5: a 64-bit BAR in the last slot"), std::string::npos) << console;
  EXPECT_NE(console.find("BAR 2: reserved memory type"), std::string::npos) << console;
}

TEST_F(PciScanTest, SkipsAMalformedPhbAndScansTheOthers) {
  // PHB 0's ranges cut short: the PHB is reported and PHB 1 still scanned.
  const int node = fdt_path_offset(tree.data(), "/pci@800000020000000");
  ASSERT_EQ(fdt_setprop(tree.data(), node, "ranges", "\0\0\0\0", 4), 0);
  Scan();
  ASSERT_EQ(bus->phb_count, 1);
  EXPECT_EQ(bus->phbs[0].buid, kBuid1);
  EXPECT_EQ(bus->device_count, 1);
  EXPECT_EQ(Find(kBuid1, 0)->phb, 0);
  EXPECT_NE(console.find("/pci@800000020000000: malformed PHB node: not scanned"),
            std::string::npos)
      << console;
}

TEST_F(PciScanTest, SkipsADeviceWhoseConfigSpaceFails) {
  // The host answers device 2's vendor ID, then refuses its device ID.
  auto real = hv.rtas_services[FakePlatform::kReadToken];
  hv.rtas_services[FakePlatform::kReadToken] = [&](const std::vector<uint32_t>& args,
                                                   std::vector<uint32_t>& rets) {
    if (args[0] == dev::PciConfigAddress(0, 2, 0, dev::kPciDeviceId)) return -1;
    return real(args, rets);
  };
  Scan();
  EXPECT_EQ(Find(kBuid0, 2), nullptr);
  EXPECT_NE(Find(kBuid0, 3), nullptr);
  EXPECT_NE(console.find("/pci@800000020000000/scsi@2: reading its config space: config-space "
                         "access refused"),
            std::string::npos)
      << console;
}

TEST_F(PciScanTest, StopsAtItsLimitsAndSaysSo) {
  std::vector<std::unique_ptr<FakeFunction>> many;
  for (uint8_t device = 1; device < 32; ++device) {
    for (uint8_t function = 0; function < 8; ++function) {
      many.push_back(std::make_unique<FakeFunction>(0x1234, 0x1000 + device, 0xff0000));
      if (function == 0) many.back()->SetHeaderType(0x80);
      platform.Plug(*platform.phbs[1], device, function, *many.back());
    }
  }
  Scan();
  EXPECT_EQ(bus->device_count, dev::PciBus::kMaxDevices);
  EXPECT_NE(console.find("more than 64 functions"), std::string::npos) << console;

  // Nine PHBs in the tree: the ninth is not scanned.
  std::vector<Node> phbs;
  for (int i = 0; i < 9; ++i) {
    Node phb = QemuPhb();
    phb.name = "pci@80000002000000" + std::to_string(i);
    phbs.push_back(phb);
  }
  auto blob = BuildTree(Root(phbs));
  console.clear();
  dev::ScanPhbs(blob.data(), rtas.Access(), *bus);
  EXPECT_EQ(bus->phb_count, dev::PciBus::kMaxPhbs);
  EXPECT_NE(console.find("more than 8 PHBs: /pci@800000020000008 not scanned"), std::string::npos)
      << console;
}

}  // namespace
