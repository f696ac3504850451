// dev/pci-bridge and boot/os-tree: the bridge nodes QEMU describes in part, completed for the OS,
// on tests/data/dev-bridges.dts against tests/unit/dev/fake-pci's platform.
#include "dev/pci-bridge.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "boot/os-tree.h"
#include "lib/be.h"
#include "tests/console-capture.h"
#include "tests/fake-hv.h"
#include "tests/test-data.h"
#include "tests/tree-check.h"
#include "tests/unit/dev/fake-pci.h"

namespace {

using tests::FakeFunction;
using tests::FakePlatform;
using tests::PropertyOf;

std::string Cells(std::initializer_list<uint32_t> cells) {
  std::string bytes(4 * cells.size(), '\0');
  size_t at = 0;
  for (uint32_t cell : cells) {
    lib::StoreBe32(reinterpret_cast<uint8_t*>(&bytes[at]), cell);
    at += 4;
  }
  return bytes;
}

// The interrupt-map the test expects, written out entry by entry from the swizzle: device d's
// INTx pin p behind a bridge is the bridge's pin ((p - 1 + d) mod 4) + 1.
std::string ExpectedMap(uint32_t bridge_phys_hi, uint32_t parent) {
  std::string map;
  for (uint32_t d = 0; d < 4; ++d) {
    for (uint32_t p = 1; p <= 4; ++p) {
      map += Cells({d << 11, 0, 0, p, parent, bridge_phys_hi, 0, 0, (p - 1 + d) % 4 + 1});
    }
  }
  return map;
}

class Bridge : public FakeFunction {
 public:
  Bridge(uint8_t primary, uint8_t secondary, uint8_t subordinate)
      : FakeFunction(0x1b36, 0x0001, 0x060400) {
    SetHeaderType(1);
    config[0x18] = primary;
    config[0x19] = secondary;
    config[0x1a] = subordinate;
  }
};

class PciBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& phb0 = platform.AddQemuPhb(0);
    auto& phb1 = platform.AddQemuPhb(1);
    platform.Plug(phb0, 4, 0, outer);
    platform.PlugBehindBridge(phb0, 1, 6, 0, inner);
    platform.Plug(phb1, 2, 0, unnumbered);
    platform.Plug(phb1, 3, 0, completed);
    platform.PlugBehindBridge(phb1, 4, 0, 0, behind_completed);
    platform.Plug(phb1, 7, 0, not_a_bridge);
    ASSERT_TRUE(holder.Init(tests::LoadDtb("dev-bridges.dtb"), 4096));
    rtas = dev::FindRtasPciConfig(tree().blob()).value();
  }
  of::Tree& tree() { return holder.tree; }
  of::Phandle Find(const char* path) { return tree().FindDevice(path); }
  std::string Property(const char* path, const char* name) {
    return PropertyOf(tree(), Find(path), name);
  }
  boot::BridgeCount Complete() { return boot::CompletePciBridges(tree(), rtas.Access()); }

  tests::FakeHypervisor& hv = tests::FreshHypervisor();
  tests::ConsoleCapture capture;
  std::string& console = capture.text;
  FakePlatform platform{hv};
  Bridge outer{0, 1, 2};
  Bridge inner{1, 2, 2};
  Bridge unnumbered{0, 0, 0};
  Bridge completed{0, 4, 5};
  Bridge behind_completed{4, 5, 5};
  FakeFunction not_a_bridge{0x1af4, 0x1000, 0x060400};
  tests::TreeHolder holder;
  dev::RtasPciConfig rtas;
};

constexpr const char* kOuter = "/pci@800000020000000/pci@4";
constexpr const char* kInner = "/pci@800000020000000/pci@4/pci@6";

TEST_F(PciBridgeTest, CompletesQemusBridgesAtEveryDepth) {
  const boot::BridgeCount count = Complete();
  EXPECT_EQ(count.completed, 3);  // pci@4, pci@4/pci@6, pci@3/pci@0
  EXPECT_EQ(count.skipped, 2);    // pci@2 (no bus numbers), pci@7 (not a bridge)
  EXPECT_EQ(Property(kOuter, "device_type"), std::string("pci", 4));
  EXPECT_EQ(Property(kOuter, "bus-range"), Cells({1, 2}));
  EXPECT_EQ(Property(kOuter, "ranges"), "");
  EXPECT_EQ(Property(kOuter, "#interrupt-cells"), Cells({1}));
  EXPECT_EQ(Property(kOuter, "interrupt-map-mask"), Cells({0x1800, 0, 0, 7}));
  EXPECT_EQ(Property(kOuter, "interrupt-map"), ExpectedMap(0x2000, Find("/pci@800000020000000")));
  EXPECT_EQ(Property(kInner, "device_type"), std::string("pci", 4));
  EXPECT_EQ(Property(kInner, "bus-range"), Cells({2, 2}));
  // The inner bridge's interrupts resolve in the outer bridge's map: its parent is pci@4.
  EXPECT_EQ(Property(kInner, "interrupt-map"), ExpectedMap(0x13000, Find(kOuter)));
  // What QEMU wrote stays as it was; the devices behind get nothing.
  EXPECT_EQ(Property(kOuter, "class-code"), Cells({0x60400}));
  EXPECT_EQ(Property(kOuter, "reg"), Cells({0x2000, 0, 0, 0, 0, 0x3002010, 0, 0, 0, 0x100}));
  EXPECT_EQ(Property("/pci@800000020000000/pci@4/ethernet@5", "device_type"), "<absent>");
  EXPECT_EQ(Property("/pci@800000020000000/vga@0", "device_type"), "<absent>");
  tests::ExpectConsistent(tree());
}

TEST_F(PciBridgeTest, SkipsABridgeWithoutBusNumbersAndSaysSo) {
  Complete();
  EXPECT_EQ(Property("/pci@800000020000001/pci@2", "device_type"), "<absent>");
  EXPECT_EQ(Property("/pci@800000020000001/pci@2", "bus-range"), "<absent>");
  EXPECT_NE(console.find("tern: pci: /pci@800000020000001/pci@2: bus numbers not set (bus 0, "
                         "secondary 0, subordinate 0): nothing behind it is usable\n"),
            std::string::npos)
      << console;
}

TEST_F(PciBridgeTest, SkipsAFunctionWhoseHeaderIsNotABridgesAndSaysSo) {
  Complete();
  EXPECT_EQ(Property("/pci@800000020000001/pci@7", "device_type"), "<absent>");
  EXPECT_NE(console.find("tern: pci: /pci@800000020000001/pci@7: a bridge's class code, but "
                         "header type 0: nothing behind it is usable\n"),
            std::string::npos)
      << console;
}

TEST_F(PciBridgeTest, LeavesACompletedNodeAsItIsButCompletesTheBridgesBehindIt) {
  Complete();
  const char* done = "/pci@800000020000001/pci@3";
  EXPECT_EQ(Property(done, "bus-range"), "<absent>");
  EXPECT_EQ(Property(done, "interrupt-map"), "<absent>");
  EXPECT_EQ(Property("/pci@800000020000001/pci@3/pci@0", "bus-range"), Cells({5, 5}));
  EXPECT_EQ(Property("/pci@800000020000001/pci@3/pci@0", "interrupt-map"),
            ExpectedMap(0x40000, Find(done)));
}

TEST_F(PciBridgeTest, SkipsEveryBridgeWhenConfigSpaceFails) {
  platform.fail_config = true;
  const boot::BridgeCount count = Complete();
  EXPECT_EQ(count.completed, 0);
  EXPECT_EQ(Property(kOuter, "device_type"), "<absent>");
  EXPECT_EQ(Property(kInner, "device_type"), "<absent>");  // nothing behind a skipped bridge
  EXPECT_NE(console.find("tern: pci: /pci@800000020000000/pci@4: its config space cannot be "
                         "read: nothing behind it is usable\n"),
            std::string::npos)
      << console;
}

TEST_F(PciBridgeTest, RunTwiceChangesNothing) {
  Complete();
  const std::string map = Property(kInner, "interrupt-map");
  const boot::BridgeCount again = Complete();
  EXPECT_EQ(again.completed, 0);  // every completed node has device_type now
  EXPECT_EQ(Property(kOuter, "bus-range"), Cells({1, 2}));
  EXPECT_EQ(Property(kInner, "interrupt-map"), map);
}

TEST(EncodeBridgeInterruptMap, SwizzlesEachPinByTheDeviceNumberAndRefusesAShortBuffer) {
  std::vector<uint8_t> map(dev::kBridgeInterruptMapBytes);
  // Only the bus, device and function of the bridge's phys.hi are its unit address.
  ASSERT_TRUE(
      dev::EncodeBridgeInterruptMap(0x82012000, 0x77, lib::Span<uint8_t>(map.data(), map.size()))
          .is_ok());
  auto cell = [&](size_t entry, size_t index) {
    return lib::LoadBe32(&map[4 * (9 * entry + index)]);
  };
  // Entry 0: device 0 INTA -> the bridge's INTA.
  EXPECT_EQ(cell(0, 0), 0u);
  EXPECT_EQ(cell(0, 3), 1u);
  EXPECT_EQ(cell(0, 4), 0x77u);
  EXPECT_EQ(cell(0, 5), 0x12000u);
  EXPECT_EQ(cell(0, 8), 1u);
  // Entry 4: device 1 INTA -> INTB; entry 15: device 3 INTD -> INTC.
  EXPECT_EQ(cell(4, 0), 0x800u);
  EXPECT_EQ(cell(4, 8), 2u);
  EXPECT_EQ(cell(15, 0), 0x1800u);
  EXPECT_EQ(cell(15, 3), 4u);
  EXPECT_EQ(cell(15, 8), 3u);
  std::vector<uint8_t> small(dev::kBridgeInterruptMapBytes - 1);
  EXPECT_EQ(dev::EncodeBridgeInterruptMap(0x2000, 1, lib::Span<uint8_t>(small.data(), small.size()))
                .error(),
            dev::PciError::kBufferTooSmall);
}

}  // namespace
