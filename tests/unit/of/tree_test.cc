// of/tree.h: the live device tree the client interface serves, on tests/data/of-tree.dts and on
// the QEMU corpus.
#include "of/tree.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "lib/be.h"
#include "tests/test-data.h"
#include "tests/tree-check.h"

namespace {

using lib::fdt::FdtError;
using of::Phandle;
using tests::PathOf;
using tests::PropertyOf;

// of-tree.dts in depth-first order: the phandles Init must give (the source's highest is 0x1111).
const std::vector<std::pair<std::string, Phandle>> kExpectedPhandles = {
    {"/", 0x1112},
    {"/aliases", 0x1113},
    {"/chosen", 0x1114},
    {"/cpus", 0x1115},
    {"/cpus/PowerPC,POWER9@0", 0x1116},
    {"/cpus/PowerPC,POWER9@8", 0x1117},
    {"/memory@0", 0x1118},
    {"/vdevice", 0x1119},
    {"/vdevice/vty@71000000", 0x111a},
    {"/vdevice/nvram@71000001", 0x111b},
    {"/vdevice/v-scsi@7100000a", 0x111c},
    {"/pci@800000020000000", 0x20},  // its own
    {"/pci@800000020000000/usb@1", 0x111d},
    {"/rtas", 0x111e},
    {"/interrupt-controller", 0x1111},  // QEMU's
};

class TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dtb_ = tests::LoadDtb("of-tree.dtb");
    ASSERT_FALSE(dtb_.empty());
    ASSERT_TRUE(holder_.Init(dtb_, 4096));
  }
  Phandle Find(const char* path) const { return tree().FindDevice(path); }
  of::Tree& tree() { return holder_.tree; }
  const of::Tree& tree() const { return holder_.tree; }

  std::vector<uint8_t> dtb_;
  tests::TreeHolder holder_;
};

// Property names of `node` in blob order, through libfdt.
std::vector<std::string> FdtPropertyNames(const void* blob, int node) {
  std::vector<std::string> names;
  int property;
  fdt_for_each_property_offset(property, blob, node) {
    const char* name = nullptr;
    fdt_getprop_by_offset(blob, property, &name, nullptr);
    names.push_back(name);
  }
  return names;
}

TEST_F(TreeTest, InitNumbersNodesWithoutPhandleFromTheHighestUpInDepthFirstOrder) {
  EXPECT_EQ(tree().node_count(), kExpectedPhandles.size());
  for (const auto& [path, phandle] : kExpectedPhandles) {
    const int offset = fdt_path_offset(tree().blob(), path.c_str());
    ASSERT_GE(offset, 0) << path;
    EXPECT_EQ(fdt_get_phandle(tree().blob(), offset), phandle) << path;
    EXPECT_EQ(tree().OffsetOf(phandle), offset) << path;
    EXPECT_EQ(Find(path.c_str()), phandle) << path;
  }
  EXPECT_EQ(tree().Root(), 0x1112u);
  EXPECT_EQ(tree().max_phandle(), 0x111eu);
  tests::ExpectConsistent(tree());
}

TEST_F(TreeTest, InitKeepsQemuPhandlesAndTheirLinuxPhandleTwin) {
  const Phandle intc = Find("/interrupt-controller");
  ASSERT_EQ(intc, 0x1111u);
  EXPECT_EQ(PropertyOf(tree(), intc, "phandle"), std::string("\0\0\x11\x11", 4));
  EXPECT_EQ(PropertyOf(tree(), intc, "linux,phandle"), std::string("\0\0\x11\x11", 4));
  // A phandle is never added twice.
  const auto names = FdtPropertyNames(tree().blob(), tree().OffsetOf(intc));
  EXPECT_EQ(std::count(names.begin(), names.end(), "phandle"), 1);
  // The references in interrupt-map still name the controller.
  auto map = tree().GetProperty(Find("/pci@800000020000000"), "interrupt-map");
  ASSERT_TRUE(map.is_ok());
  EXPECT_EQ(lib::LoadBe32(map.value().data() + 16), 0x1111u);
}

TEST_F(TreeTest, InitAddsNameWithoutUnitAddress) {
  EXPECT_EQ(PropertyOf(tree(), Find("/vdevice/vty@71000000"), "name"), std::string("vty\0", 4));
  EXPECT_EQ(PropertyOf(tree(), Find("/cpus/PowerPC,POWER9@8"), "name"),
            std::string("PowerPC,POWER9\0", 15));
  EXPECT_EQ(PropertyOf(tree(), Find("/chosen"), "name"), std::string("chosen\0", 7));
  EXPECT_EQ(PropertyOf(tree(), Find("/memory@0"), "name"), std::string("memory\0", 7));
  // Every node but the root has exactly one name.
  for (const auto& [path, phandle] : kExpectedPhandles) {
    if (path == "/") continue;
    const auto names = FdtPropertyNames(tree().blob(), tree().OffsetOf(phandle));
    EXPECT_EQ(std::count(names.begin(), names.end(), "name"), 1) << path;
  }
  // The source's properties come first, unchanged.
  const auto vty = FdtPropertyNames(tree().blob(), tree().OffsetOf(Find("/vdevice/vty@71000000")));
  const std::vector<std::string> expected = {"compatible", "device_type", "reg", "phandle", "name"};
  EXPECT_EQ(vty, expected);
}

TEST_F(TreeTest, InitKeepsAnExistingNameAndTheReserveMapAndBootCpu) {
  std::vector<uint8_t> source(dtb_.size() + 256);
  ASSERT_EQ(fdt_open_into(dtb_.data(), source.data(), static_cast<int>(source.size())), 0);
  const int vty = fdt_path_offset(source.data(), "/vdevice/vty@71000000");
  ASSERT_EQ(fdt_setprop_string(source.data(), vty, "name", "hvterm"), 0);
  fdt_set_boot_cpuid_phys(source.data(), 8);

  tests::TreeHolder holder;
  ASSERT_TRUE(holder.Init(source, 0));
  const Phandle node = holder.tree.FindDevice("/vdevice/vty@71000000");
  EXPECT_EQ(PropertyOf(holder.tree, node, "name"), std::string("hvterm\0", 7));
  const auto names = FdtPropertyNames(holder.tree.blob(), holder.tree.OffsetOf(node));
  EXPECT_EQ(std::count(names.begin(), names.end(), "name"), 1);

  // ClaimInUse reads the kernel's reservation from the live tree.
  ASSERT_EQ(fdt_num_mem_rsv(holder.tree.blob()), 1);
  uint64_t address = 0;
  uint64_t size = 0;
  ASSERT_EQ(fdt_get_mem_rsv(holder.tree.blob(), 0, &address, &size), 0);
  EXPECT_EQ(address, 0x400000u);
  EXPECT_EQ(size, 0x1d000u);
  EXPECT_EQ(fdt_boot_cpuid_phys(holder.tree.blob()), 8u);
}

// A legacy tree whose node carries only `linux,phandle`: that is its phandle (libfdt's
// fdt_get_phandle and Linux agree), and interrupt-parent references use it. Init adds a second,
// different `phandle` instead, so the node's handle no longer matches the references to it.
TEST_F(TreeTest, InitKeepsALegacyLinuxPhandle) {
  std::vector<uint8_t> source(dtb_.size() + 256);
  ASSERT_EQ(fdt_open_into(dtb_.data(), source.data(), static_cast<int>(source.size())), 0);
  const int rtas = fdt_path_offset(source.data(), "/rtas");
  ASSERT_EQ(fdt_setprop_u32(source.data(), rtas, "linux,phandle", 0x30), 0);
  ASSERT_EQ(fdt_get_phandle(source.data(), rtas), 0x30u);

  tests::TreeHolder holder;
  ASSERT_TRUE(holder.Init(source, 0));
  EXPECT_EQ(holder.tree.FindDevice("/rtas"), 0x30u);
  EXPECT_TRUE(holder.tree.IsValid(0x30));
}

TEST(TreeCorpus, EveryQemuTreeGetsUniquePhandlesAndNames) {
  const std::vector<tests::CorpusTree> corpus = tests::LoadCorpus();
  ASSERT_FALSE(corpus.empty()) << "no corpus manifest in " << TERN_CORPUS_DIR;
  for (const tests::CorpusTree& entry : corpus) {
    SCOPED_TRACE(entry.name);
    const std::vector<uint8_t>& source = entry.blob;
    tests::TreeHolder holder;
    ASSERT_TRUE(holder.Init(source, 4096));
    const of::Tree& tree = holder.tree;
    // QEMU's phandles are kept (0x1111 on the interrupt controller); the other nodes are
    // numbered from the highest one up in depth-first order, the root first.
    uint32_t max = 0;
    ASSERT_EQ(fdt_find_max_phandle(source.data(), &max), 0);
    EXPECT_GE(max, 0x1111u);
    EXPECT_EQ(tree.FindDevice("/interrupt-controller"), 0x1111u);
    EXPECT_EQ(tree.Root(), max + 1);
    Phandle next = max + 1;
    int live = 0;
    for (int offset = 0; offset >= 0; offset = fdt_next_node(source.data(), offset, nullptr)) {
      const Phandle own = fdt_get_phandle(source.data(), offset);
      const Phandle expected = own != 0 ? own : next++;
      const std::string path = [&] {
        char buffer[512];
        const int rc = fdt_get_path(source.data(), offset, buffer, sizeof(buffer));
        return rc == 0 ? std::string(buffer) : std::string();
      }();
      EXPECT_EQ(tree.FindDevice(path.c_str()), expected) << path;
      if (path != "/") {
        const std::string base = path.substr(path.rfind('/') + 1);
        EXPECT_EQ(PropertyOf(tree, expected, "name"), base.substr(0, base.find('@')) + '\0');
      }
      ++live;
    }
    EXPECT_EQ(tree.node_count(), static_cast<uint32_t>(live));
    tests::ExpectConsistent(tree);
  }
  EXPECT_GE(corpus.size(), 8u);
}

TEST_F(TreeTest, RelativesAndTheirEnds) {
  const Phandle root = tree().Root();
  EXPECT_EQ(tree().Peer(0), root);  // Linux starts every walk here
  EXPECT_EQ(tree().Peer(root), 0u);
  EXPECT_EQ(tree().Parent(root), 0u);

  std::vector<std::string> children;
  for (Phandle child = tree().Child(root); child != 0; child = tree().Peer(child)) {
    children.push_back(PathOf(tree(), child));
  }
  const std::vector<std::string> expected = {"/aliases", "/chosen",
                                             "/cpus",    "/memory@0",
                                             "/vdevice", "/pci@800000020000000",
                                             "/rtas",    "/interrupt-controller"};
  EXPECT_EQ(children, expected);

  const Phandle vty = Find("/vdevice/vty@71000000");
  EXPECT_EQ(tree().Parent(vty), Find("/vdevice"));
  EXPECT_EQ(tree().Child(vty), 0u);                              // a leaf
  EXPECT_EQ(tree().Peer(Find("/vdevice/v-scsi@7100000a")), 0u);  // the last child
  EXPECT_EQ(tree().Peer(Find("/interrupt-controller")), 0u);
  EXPECT_EQ(tree().Child(Find("/pci@800000020000000")), Find("/pci@800000020000000/usb@1"));

  // Unknown handles: 0, never a node.
  for (Phandle unknown : {0x1110u, 0x111fu, 0xdeadbeefu, 0xffffffffu}) {
    EXPECT_FALSE(tree().IsValid(unknown));
    EXPECT_EQ(tree().Peer(unknown), 0u) << unknown;
    EXPECT_EQ(tree().Child(unknown), 0u) << unknown;
    EXPECT_EQ(tree().Parent(unknown), 0u) << unknown;
    EXPECT_EQ(tree().OffsetOf(unknown), -1);
  }
  EXPECT_EQ(tree().Child(0), 0u);
  EXPECT_EQ(tree().Parent(0), 0u);
}

TEST_F(TreeTest, FindDevicePaths) {
  const Phandle vty = 0x111a;
  const Phandle scsi = 0x111c;
  EXPECT_EQ(Find("/"), tree().Root());
  EXPECT_EQ(Find("/vdevice/vty@71000000"), vty);
  EXPECT_EQ(Find("/vdevice/vty"), vty);                  // without the unit address
  EXPECT_EQ(Find("/vdevice/vty@71000000:115200"), vty);  // with device arguments
  EXPECT_EQ(Find("/vdevice/vty:115200"), vty);
  EXPECT_EQ(Find("/vdevice/v-scsi@7100000a"), scsi);
  EXPECT_EQ(Find("/vdevice/v-scsi@7100000A"), scsi);  // upper-case hex unit address
  EXPECT_EQ(Find("/vdevice/"), Find("/vdevice"));
  EXPECT_EQ(Find("/cpus/PowerPC,POWER9"), 0x1116u);  // the first one with that name
  EXPECT_EQ(Find("/cpus/PowerPC,POWER9@8"), 0x1117u);
  EXPECT_EQ(Find("/pci@800000020000000/usb@1"), 0x111du);
  EXPECT_EQ(Find("/pci/usb"), 0x111du);

  EXPECT_EQ(Find(""), 0u);
  EXPECT_EQ(Find("/nope"), 0u);
  EXPECT_EQ(Find("/vdevice/vty@71000002"), 0u);  // wrong unit address
  EXPECT_EQ(Find("/vdevice/vty@7100000"), 0u);   // a prefix of it
  EXPECT_EQ(Find("/VDEVICE"), 0u);               // names are case-sensitive
  EXPECT_EQ(Find("/chosen@0"), 0u);              // a unit address the node does not have
  EXPECT_EQ(Find("/vdevice/vty@71000000/x"), 0u);
}

TEST_F(TreeTest, FindDeviceAliases) {
  EXPECT_EQ(Find("console"), 0x111au);
  EXPECT_EQ(Find("pci"), 0x20u);
  EXPECT_EQ(Find("pci/usb@1"), 0x111du);  // an alias as the first component
  EXPECT_EQ(Find("nope"), 0u);
  EXPECT_EQ(Find("relative"), 0u);      // an alias must name an absolute path
  EXPECT_EQ(Find("unterminated"), 0u);  // its value must be a string
  EXPECT_EQ(Find("aliases"), 0u);       // node names are not aliases
  EXPECT_EQ(Find("console/x"), 0u);
}

// IEEE 1275 4.3.1: device arguments may follow an alias ("console:115200"). The alias name is cut
// at ':' correctly, but the remaining ":115200" is then looked up as a child name and the lookup
// fails.
TEST_F(TreeTest, FindDeviceAliasWithArguments) {
  EXPECT_EQ(Find("console:115200"), 0x111au);
}

TEST_F(TreeTest, GetProperty) {
  auto compatible = tree().GetProperty(tree().Root(), "compatible");
  ASSERT_TRUE(compatible.is_ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(compatible.value().data()),
                        compatible.value().size()),
            std::string("qemu,pseries\0", 13));
  auto empty = tree().GetProperty(Find("/chosen"), "empty");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty.value().size(), 0u);
  EXPECT_EQ(tree().GetProperty(Find("/chosen"), "nope").error(), FdtError::kNotFound);
  EXPECT_EQ(tree().GetProperty(0xdead, "compatible").error(), FdtError::kBadPhandle);
  EXPECT_EQ(tree().GetProperty(0, "compatible").error(), FdtError::kBadPhandle);
}

TEST_F(TreeTest, NextPropertyNameVisitsEveryPropertyOnce) {
  for (const auto& [path, phandle] : kExpectedPhandles) {
    std::vector<std::string> names;
    const char* previous = "";
    for (int guard = 0; guard < 100; ++guard) {
      auto next = tree().NextPropertyName(phandle, previous);
      if (next.is_error()) {
        EXPECT_EQ(next.error(), FdtError::kNotFound) << path;
        break;
      }
      names.push_back(next.value());
      previous = next.value();
    }
    EXPECT_EQ(names, FdtPropertyNames(tree().blob(), tree().OffsetOf(phandle))) << path;
    EXPECT_FALSE(names.empty()) << path;  // at least the phandle
  }
  EXPECT_EQ(tree().NextPropertyName(Find("/chosen"), "no-such-property").error(),
            FdtError::kNotFound);
  EXPECT_EQ(tree().NextPropertyName(0xdead, "").error(), FdtError::kBadPhandle);
}

TEST_F(TreeTest, SetPropertyCreatesReplacesAndGrowsValues) {
  const Phandle chosen = Find("/chosen");
  // Create.
  const lib::Be32 base(0x3fff0000);
  ASSERT_TRUE(tree().SetProperty(chosen, "linux,rtas-base", &base, 4).is_ok());
  EXPECT_EQ(PropertyOf(tree(), chosen, "linux,rtas-base"), std::string("\x3f\xff\0\0", 4));
  // Replace with the same size, a larger and a smaller value.
  ASSERT_TRUE(tree().SetProperty(chosen, "bootargs", "quiet\0", 6).is_ok());
  EXPECT_EQ(PropertyOf(tree(), chosen, "bootargs"), std::string("quiet\0", 6));
  const std::string big(300, 'x');
  ASSERT_TRUE(tree().SetProperty(chosen, "bootargs", big.data(), big.size()).is_ok());
  EXPECT_EQ(PropertyOf(tree(), chosen, "bootargs"), big);
  ASSERT_TRUE(tree().SetProperty(chosen, "bootargs", "a", 1).is_ok());
  EXPECT_EQ(PropertyOf(tree(), chosen, "bootargs"), "a");
  // Zero-length, created and replacing a value (Linux creates empty properties with NULL).
  ASSERT_TRUE(tree().SetProperty(chosen, "linux,flag", nullptr, 0).is_ok());
  EXPECT_EQ(PropertyOf(tree(), chosen, "linux,flag"), "");
  ASSERT_TRUE(tree().SetProperty(chosen, "linux,rtas-base", nullptr, 0).is_ok());
  EXPECT_EQ(PropertyOf(tree(), chosen, "linux,rtas-base"), "");

  // Nothing else changed.
  EXPECT_EQ(PropertyOf(tree(), chosen, "stdout-path"), std::string("/vdevice/vty@71000000\0", 22));
  EXPECT_EQ(PropertyOf(tree(), Find("/rtas"), "rtas-size"), std::string("\0\0\x08\x2c", 4));
  EXPECT_EQ(tree().SetProperty(0xdead, "x", "y", 1).error(), FdtError::kBadPhandle);
  tests::ExpectConsistent(tree());
}

// boot/main.cc sizes the live tree's memory with InitFootprint before building it: an arena of
// exactly that size must hold Init, whatever QEMU's tree, and the estimate must not be loose.
TEST(TreeFootprint, AnArenaOfTheFootprintHoldsInitForEveryQemuTree) {
  const std::vector<tests::CorpusTree> corpus = tests::LoadCorpus();
  ASSERT_FALSE(corpus.empty()) << "no corpus manifest in " << TERN_CORPUS_DIR;
  for (const tests::CorpusTree& entry : corpus) {
    SCOPED_TRACE(entry.name);
    const std::vector<uint8_t>& source = entry.blob;
    for (size_t slack : {size_t{0}, size_t{64 * 1024}}) {
      const size_t footprint = of::Tree::InitFootprint(source.data(), slack);
      // The arena's start is only 8-aligned, as the firmware's may be.
      std::vector<uint8_t> memory(footprint + 8);
      const uintptr_t start = (reinterpret_cast<uintptr_t>(memory.data()) + 7) & ~uintptr_t{7};
      lib::Arena arena(start, start + footprint);
      of::Tree tree;
      auto built = tree.Init(source.data(), arena, slack);
      ASSERT_TRUE(built.is_ok()) << lib::fdt::FdtErrorName(built.error()) << " slack " << slack;
      EXPECT_LE(arena.used(), footprint);
      EXPECT_GE(arena.used() + 64, footprint);
      // One byte less than Init takes fails cleanly.
      lib::Arena small(start, start + arena.used() - 1);
      of::Tree too_big;
      EXPECT_EQ(too_big.Init(source.data(), small, slack).error(), FdtError::kNoSpace);
    }
  }
}

TEST(TreeGrowth, SetPropertyGrowsTheBlobBeyondItsCapacityManyTimes) {
  auto dtb = tests::LoadDtb("of-tree.dtb");
  tests::TreeHolder holder(64u << 20);
  ASSERT_TRUE(holder.Init(dtb, 0));  // no slack: the first large property must grow the blob
  of::Tree& tree = holder.tree;
  const size_t initial = tree.capacity();
  std::vector<Phandle> nodes;
  for (int offset = 0; offset >= 0; offset = fdt_next_node(tree.blob(), offset, nullptr)) {
    nodes.push_back(tree.PhandleAt(offset));
  }
  std::set<size_t> capacities = {initial};
  std::map<std::pair<Phandle, std::string>, std::string> written;
  for (int i = 0; i < 300; ++i) {
    const Phandle node = nodes[static_cast<size_t>(i) % nodes.size()];
    const std::string name = "test,prop-" + std::to_string(i);
    const std::string value(1000 + static_cast<size_t>(i), static_cast<char>('a' + i % 26));
    auto set = tree.SetProperty(node, name.c_str(), value.data(), value.size());
    ASSERT_TRUE(set.is_ok()) << i << ": " << lib::fdt::FdtErrorName(set.error());
    written[{node, name}] = value;
    capacities.insert(tree.capacity());
  }
  EXPECT_GE(capacities.size(), 5u);  // grew at least four times
  EXPECT_GT(tree.capacity(), initial + 300u * 1000u);
  for (const auto& [key, value] : written) {
    EXPECT_EQ(PropertyOf(tree, key.first, key.second.c_str()), value) << key.second;
  }
  // The original content survived every move.
  EXPECT_EQ(PropertyOf(tree, tree.FindDevice("/chosen"), "bootargs"),
            std::string("console=hvc0\0", 13));
  EXPECT_EQ(tree.FindDevice("/interrupt-controller"), 0x1111u);
  tests::ExpectConsistent(tree);
}

TEST_F(TreeTest, DeleteProperty) {
  const Phandle chosen = Find("/chosen");
  ASSERT_TRUE(tree().DeleteProperty(chosen, "bootargs").is_ok());
  EXPECT_EQ(PropertyOf(tree(), chosen, "bootargs"), "<absent>");
  EXPECT_EQ(tree().DeleteProperty(chosen, "bootargs").error(), FdtError::kNotFound);
  EXPECT_EQ(tree().DeleteProperty(0xdead, "bootargs").error(), FdtError::kBadPhandle);
  EXPECT_EQ(PropertyOf(tree(), chosen, "stdout-path"), std::string("/vdevice/vty@71000000\0", 22));
  tests::ExpectConsistent(tree());
}

// A client may setprop any property, "phandle" included. Giving a node the phandle another node
// already has must be refused and leave the tree usable. Instead the blob is modified, the error
// comes from the index rebuild, which stops half-way on the duplicate: the index keeps stale
// entries, the root's children form a cycle, and the next FindDevice that walks them never
// returns (hence the bounded walk first).
TEST_F(TreeTest, SetPropertyRefusesADuplicatePhandleAndKeepsTheTreeUsable) {
  const Phandle rtas = Find("/rtas");
  const lib::Be32 duplicate(0x1111);
  EXPECT_TRUE(tree().SetProperty(rtas, "phandle", &duplicate, 4).is_error());
  EXPECT_EQ(PropertyOf(tree(), rtas, "phandle"), std::string("\0\0\x11\x1e", 4));
  std::vector<Phandle> children;
  for (Phandle c = tree().Child(tree().Root()); c != 0 && children.size() < 20;
       c = tree().Peer(c)) {
    children.push_back(c);
  }
  ASSERT_EQ(children.size(), 8u);
  for (const auto& [path, phandle] : kExpectedPhandles) {
    EXPECT_EQ(Find(path.c_str()), phandle) << path;
  }
  tests::ExpectConsistent(tree());
}

TEST_F(TreeTest, AddNode) {
  const Phandle vdevice = Find("/vdevice");
  auto added = tree().AddNode(vdevice, "vtpm@71000010", 0);
  ASSERT_TRUE(added.is_ok()) << lib::fdt::FdtErrorName(added.error());
  const Phandle vtpm = added.value();
  EXPECT_EQ(vtpm, 0x111fu);  // the next free phandle
  EXPECT_EQ(tree().max_phandle(), 0x111fu);
  EXPECT_EQ(PropertyOf(tree(), vtpm, "name"), std::string("vtpm\0", 5));
  EXPECT_EQ(PathOf(tree(), vtpm), "/vdevice/vtpm@71000010");
  EXPECT_EQ(Find("/vdevice/vtpm"), vtpm);
  EXPECT_EQ(tree().Parent(vtpm), vdevice);
  int children = 0;
  for (Phandle c = tree().Child(vdevice); c != 0; c = tree().Peer(c)) ++children;
  EXPECT_EQ(children, 4);

  // A phandle of the caller's choice (how CAS brings QEMU's), and properties on the new node.
  auto drmem = tree().AddNode(tree().Root(), "ibm,dynamic-reconfiguration-memory", 0x5000);
  ASSERT_TRUE(drmem.is_ok());
  EXPECT_EQ(drmem.value(), 0x5000u);
  ASSERT_TRUE(tree().SetProperty(0x5000, "ibm,lmb-size", "\0\0\0\0\x10\0\0\0", 8).is_ok());
  EXPECT_EQ(tree().max_phandle(), 0x5000u);
  EXPECT_EQ(tree().AddNode(vdevice, "x", 0).value(), 0x5001u);

  // Refusals: a name that exists, a phandle in use or invalid, an unknown parent.
  EXPECT_TRUE(tree().AddNode(vdevice, "vty@71000000", 0).is_error());
  EXPECT_EQ(tree().AddNode(vdevice, "y", 0x1111).error(), FdtError::kBadPhandle);
  EXPECT_EQ(tree().AddNode(vdevice, "y", 0xffffffff).error(), FdtError::kBadPhandle);
  EXPECT_EQ(tree().AddNode(0xdead, "y", 0).error(), FdtError::kBadPhandle);
  EXPECT_EQ(Find("/vdevice/y"), 0u);
  tests::ExpectConsistent(tree());
}

TEST_F(TreeTest, DeleteNodeRemovesTheSubtreeAndKeepsOtherHandles) {
  const uint32_t before = tree().node_count();
  ASSERT_TRUE(tree().DeleteNode(Find("/vdevice")).is_ok());
  EXPECT_EQ(tree().node_count(), before - 4);
  for (Phandle gone : {0x1119u, 0x111au, 0x111bu, 0x111cu}) EXPECT_FALSE(tree().IsValid(gone));
  EXPECT_EQ(Find("/vdevice"), 0u);
  EXPECT_EQ(Find("console"), 0u);  // the alias now points nowhere
  EXPECT_EQ(tree().Peer(Find("/memory@0")), 0x20u);
  for (const auto& [path, phandle] : kExpectedPhandles) {
    if (path.rfind("/vdevice", 0) == 0) continue;
    EXPECT_EQ(Find(path.c_str()), phandle) << path;
    EXPECT_EQ(PathOf(tree(), phandle), path);
  }
  tests::ExpectConsistent(tree());

  // The phandle of a deleted node is free again (CAS replaces the interrupt controller so).
  ASSERT_TRUE(tree().DeleteNode(0x1111).is_ok());
  auto xive = tree().AddNode(tree().Root(), "interrupt-controller@6030000000000", 0x1111);
  ASSERT_TRUE(xive.is_ok());
  EXPECT_EQ(Find("/interrupt-controller@6030000000000"), 0x1111u);
  tests::ExpectConsistent(tree());

  EXPECT_EQ(tree().DeleteNode(tree().Root()).error(), FdtError::kBadOffset);
  EXPECT_EQ(tree().DeleteNode(0xdead).error(), FdtError::kBadPhandle);
  EXPECT_EQ(tree().DeleteNode(0x1119).error(), FdtError::kBadPhandle);  // already gone
}

TEST_F(TreeTest, PathOfRootAndNestedNodes) {
  char buffer[64];
  auto root = tree().Path(tree().Root(), buffer, sizeof(buffer));
  ASSERT_TRUE(root.is_ok());
  EXPECT_EQ(root.value(), 1u);
  EXPECT_STREQ(buffer, "/");
  auto usb = tree().Path(0x111d, buffer, sizeof(buffer));
  ASSERT_TRUE(usb.is_ok());
  EXPECT_EQ(usb.value(), std::strlen("/pci@800000020000000/usb@1"));
  EXPECT_STREQ(buffer, "/pci@800000020000000/usb@1");
  EXPECT_EQ(tree().Path(0xdead, buffer, sizeof(buffer)).error(), FdtError::kBadPhandle);
}

TEST_F(TreeTest, PathIntoATooSmallBufferReturnsTheFullLengthAndStaysInside) {
  const std::string path = "/vdevice/vty@71000000";
  for (size_t size : {size_t{0}, size_t{1}, size_t{8}, path.size()}) {
    std::vector<char> buffer(size + 8, '#');
    auto length = tree().Path(0x111a, buffer.data(), size);
    ASSERT_TRUE(length.is_ok());
    EXPECT_EQ(length.value(), path.size()) << size;
    for (size_t i = size; i < buffer.size(); ++i) EXPECT_EQ(buffer[i], '#') << size;
  }
  EXPECT_EQ(tree().Path(0x111a, nullptr, 0).value(), path.size());
  // Exactly enough room, the NUL included.
  std::vector<char> exact(path.size() + 1, '#');
  EXPECT_EQ(tree().Path(0x111a, exact.data(), exact.size()).value(), path.size());
  EXPECT_EQ(std::string(exact.data()), path);
}

// Every node and property of `a` is in `b` with the same bytes, and the other way round.
void ExpectSameTree(const void* a, const void* b) {
  int offset_a = 0;
  int offset_b = 0;
  while (offset_a >= 0 || offset_b >= 0) {
    ASSERT_TRUE(offset_a >= 0 && offset_b >= 0);
    char path_a[512];
    char path_b[512];
    ASSERT_EQ(fdt_get_path(a, offset_a, path_a, sizeof(path_a)), 0);
    ASSERT_EQ(fdt_get_path(b, offset_b, path_b, sizeof(path_b)), 0);
    EXPECT_STREQ(path_a, path_b);
    const auto names = FdtPropertyNames(a, offset_a);
    EXPECT_EQ(names, FdtPropertyNames(b, offset_b)) << path_a;
    for (const std::string& name : names) {
      int length_a = 0;
      int length_b = 0;
      const void* value_a = fdt_getprop(a, offset_a, name.c_str(), &length_a);
      const void* value_b = fdt_getprop(b, offset_b, name.c_str(), &length_b);
      ASSERT_TRUE(value_a != nullptr && value_b != nullptr) << path_a << " " << name;
      ASSERT_EQ(length_a, length_b) << path_a << " " << name;
      EXPECT_EQ(std::memcmp(value_a, value_b, static_cast<size_t>(length_a)), 0)
          << path_a << " " << name;
    }
    offset_a = fdt_next_node(a, offset_a, nullptr);
    offset_b = fdt_next_node(b, offset_b, nullptr);
  }
}

TEST_F(TreeTest, FlattenWritesAValidPackedCopy) {
  // Modify first, so that the copy must reflect the live state.
  ASSERT_TRUE(
      tree().SetProperty(Find("/chosen"), "linux,stdout-path", "/vdevice/vty\0", 13).is_ok());
  ASSERT_TRUE(tree().AddNode(Find("/vdevice"), "vtpm@71000010", 0).is_ok());
  ASSERT_TRUE(tree().DeleteNode(Find("/vdevice/nvram@71000001")).is_ok());

  std::vector<uint8_t> out(tree().capacity());
  auto size = tree().Flatten(out.data(), out.size());
  ASSERT_TRUE(size.is_ok()) << lib::fdt::FdtErrorName(size.error());
  EXPECT_EQ(size.value(), fdt_totalsize(out.data()));
  EXPECT_LT(size.value(), tree().capacity());
  ASSERT_TRUE(lib::fdt::CheckBlob(out.data(), size.value()).is_ok());
  // Packed: nothing after the strings block.
  EXPECT_EQ(fdt_off_dt_strings(out.data()) + fdt_size_dt_strings(out.data()), size.value());
  ExpectSameTree(tree().blob(), out.data());
  EXPECT_EQ(fdt_num_mem_rsv(out.data()), 1);
  EXPECT_GE(fdt_path_offset(out.data(), "/vdevice/vtpm@71000010"), 0);
  EXPECT_EQ(fdt_path_offset(out.data(), "/vdevice/nvram@71000001"), -FDT_ERR_NOTFOUND);

  // A buffer too small for the tree is refused, not overrun (ASan watches the heap buffer).
  // (Flatten copies the live blob with its free space before packing, so it needs capacity()
  // bytes, not only the packed size; quiesce gives it that.)
  std::vector<uint8_t> small(size.value() / 2);
  EXPECT_TRUE(tree().Flatten(small.data(), small.size()).is_error());
}

}  // namespace

namespace {

// Tree::Reserve: room made ahead so that changes within it allocate nothing; refused whole.
TEST(TreeReserve, GrowsTheBlobAndTheIndexAndKeepsEveryHandle) {
  const std::vector<uint8_t> dtb = tests::LoadDtb("of-tree.dtb");
  tests::TreeHolder holder;
  ASSERT_TRUE(holder.Init(dtb, 4096));
  of::Tree& tree = holder.tree;
  const of::Phandle chosen = tree.FindDevice("/chosen");
  const uint32_t count = tree.node_count();
  ASSERT_TRUE(tree.Reserve(tree.capacity() + 100 * 1024, count + 500).is_ok());
  EXPECT_GE(tree.capacity(), size_t{100 * 1024});
  EXPECT_EQ(tree.FindDevice("/chosen"), chosen);
  tests::ExpectConsistent(tree);
  // Within the room, nothing is taken from the arena any more.
  const size_t used = holder.arena.used();
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(tree.AddNode(tree.Root(), ("n@" + std::to_string(i)).c_str(), 0).is_ok());
  }
  ASSERT_TRUE(
      tree.SetProperty(chosen, "big", std::string(50 * 1024, 'x').data(), 50 * 1024).is_ok());
  EXPECT_EQ(holder.arena.used(), used);
  tests::ExpectConsistent(tree);
}

TEST(TreeReserve, AnArenaTooSmallLeavesTheTreeAsItWas) {
  const std::vector<uint8_t> dtb = tests::LoadDtb("of-tree.dtb");
  tests::TreeHolder holder(of::Tree::InitFootprint(dtb.data(), 4096) + 1024);
  ASSERT_TRUE(holder.Init(dtb, 4096));
  of::Tree& tree = holder.tree;
  const size_t capacity = tree.capacity();
  const std::vector<uint8_t> before(static_cast<const uint8_t*>(tree.blob()),
                                    static_cast<const uint8_t*>(tree.blob()) + capacity);
  EXPECT_EQ(tree.Reserve(capacity + 64 * 1024, 1).error(), lib::fdt::FdtError::kNoSpace);
  EXPECT_EQ(tree.Reserve(capacity, 100000).error(), lib::fdt::FdtError::kNoSpace);
  EXPECT_EQ(tree.capacity(), capacity);
  EXPECT_EQ(std::vector<uint8_t>(static_cast<const uint8_t*>(tree.blob()),
                                 static_cast<const uint8_t*>(tree.blob()) + capacity),
            before);
  EXPECT_NE(tree.FindDevice("/chosen"), 0u);
  tests::ExpectConsistent(tree);
}

}  // namespace
