// of/cas.h: checking the OS's ibm,client-architecture-support vector before QEMU sees it (QEMU
// exits on some bad vectors), and merging QEMU's answer into the live tree.
#include "of/cas.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "lib/be.h"
#include "lib/guest-memory.h"
#include "tests/linux-cas-vector.h"
#include "tests/test-data.h"
#include "tests/tree-check.h"

namespace {

using of::CasError;
using of::Phandle;
using tests::LinuxTable;
using tests::LinuxVector;
using tests::PathOf;
using tests::PropertyOf;
using tests::PutBe32;

// ---------------------------------------------------------------------------------------------
// CheckCasVector

// QEMU's /chosen ibm,arch-vec-5-platform-support: byte 23 (interrupts) 0x80 = XICS or XIVE,
// byte 24 (MMU) 0xc0 = hash or radix, 25 = 0x00, 26 = 0x40.
const std::vector<uint8_t> kQemuSupport = {0x17, 0x80, 0x18, 0xc0, 0x19, 0x00, 0x1a, 0x40};

// Bytes CheckCasVector walks in the Linux vector: 14 PVR entries, the count byte, vectors 1..6.
constexpr uint64_t kLinuxWalkedSize =
    14 * 8 + 1 + (1 + 3) + (1 + 33) + (1 + 2) + (1 + 2) + (1 + 26) + (1 + 3);

// Guest RAM as an exact-size heap array: AddressSanitizer catches any read past its end.
class CasVectorTest : public ::testing::Test {
 protected:
  static constexpr size_t kRamSize = 16384;
  CasVectorTest() : ram_(new uint8_t[kRamSize]()), memory_(Base(), kRamSize) {}
  uintptr_t Base() const { return reinterpret_cast<uintptr_t>(ram_.get()); }
  uint64_t Put(uint64_t address, const std::vector<uint8_t>& bytes) {
    std::memcpy(ram_.get() + address, bytes.data(), bytes.size());
    return address;
  }
  lib::Result<of::CasVectorInfo, CasError> Check(uint64_t address,
                                                 const std::vector<uint8_t>& support) {
    return of::CheckCasVector(memory_, address,
                              lib::Span<const uint8_t>(support.data(), support.size()));
  }

  std::unique_ptr<uint8_t[]> ram_;
  lib::GuestMemory memory_;
};

TEST_F(CasVectorTest, AcceptsTheLinuxVector) {
  const uint64_t address = Put(0x1000, LinuxVector(0x40, 0x40));
  auto info = Check(address, kQemuSupport);
  ASSERT_TRUE(info.is_ok()) << of::CasErrorName(info.error());
  EXPECT_EQ(info.value().pvr_entries, 14u);
  EXPECT_EQ(info.value().vectors, 6u);  // as declared, not the 7 present
  EXPECT_EQ(info.value().size, kLinuxWalkedSize);
  EXPECT_EQ(info.value().ov5_interrupt, 0x40);
  EXPECT_EQ(info.value().ov5_mmu, 0x40);

  // Hash MMU and XICS, as Linux asks on a platform without radix or XIVE.
  Put(0x2000, LinuxVector(0x00, 0x00));
  auto hash = Check(0x2000, kQemuSupport);
  ASSERT_TRUE(hash.is_ok());
  EXPECT_EQ(hash.value().ov5_interrupt, 0x00);
  EXPECT_EQ(hash.value().ov5_mmu, 0x00);
  // No platform-support property at all.
  EXPECT_TRUE(Check(0x2000, {}).is_ok());
}

TEST_F(CasVectorTest, OnlyTheDeclaredVectorsAreWalked) {
  // Vector 7 (257 bytes) would run past the end of RAM; the declared six end exactly at it.
  std::vector<uint8_t> vector = LinuxVector();
  vector.resize(kLinuxWalkedSize);
  const uint64_t address = Put(kRamSize - kLinuxWalkedSize, vector);
  auto info = Check(address, kQemuSupport);
  ASSERT_TRUE(info.is_ok()) << of::CasErrorName(info.error());
  EXPECT_EQ(info.value().size, kLinuxWalkedSize);
  // One byte further down, the declared vectors themselves run off the end.
  Put(kRamSize - kLinuxWalkedSize + 1, std::vector<uint8_t>(vector.begin(), vector.end() - 1));
  EXPECT_EQ(Check(kRamSize - kLinuxWalkedSize + 1, kQemuSupport).error(), CasError::kUnreadable);
}

TEST_F(CasVectorTest, MissingOptionVector5IsRefused) {
  // Count byte 3: vectors 1..4 only.
  std::vector<uint8_t> vector = LinuxVector();
  vector[14 * 8] = 3;
  Put(0x1000, vector);
  EXPECT_EQ(Check(0x1000, kQemuSupport).error(), CasError::kMissingVector);
  // Count byte 0: vector 1 only (the format cannot omit vector 1 itself).
  vector[14 * 8] = 0;
  Put(0x1000, vector);
  EXPECT_EQ(Check(0x1000, kQemuSupport).error(), CasError::kMissingVector);
  // Vector 5 present, but nothing after it: count byte 4 is enough.
  vector[14 * 8] = 4;
  Put(0x1000, vector);
  auto five = Check(0x1000, kQemuSupport);
  ASSERT_TRUE(five.is_ok());
  EXPECT_EQ(five.value().vectors, 5u);
}

TEST_F(CasVectorTest, PvrListEndsAtTheFirstEntryWithValueBitsOutsideItsMask) {
  // A single entry: mask ffff0000, value 004e0001 has a bit outside the mask.
  std::vector<uint8_t> vector;
  PutBe32(vector, 0xffff0000);
  PutBe32(vector, 0x004e0001);
  const std::vector<uint8_t> table = LinuxTable(0, 0);
  vector.insert(vector.end(), table.begin(), table.end());
  Put(0x1000, vector);
  auto info = Check(0x1000, kQemuSupport);
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info.value().pvr_entries, 1u);
  EXPECT_EQ(info.value().size, kLinuxWalkedSize - 13 * 8);
}

TEST_F(CasVectorTest, PvrListMustEndWithin512Entries) {
  const std::vector<uint8_t> table = LinuxTable(0, 0);
  // 511 ordinary entries and the terminator: 512 in all, QEMU's limit.
  std::vector<uint8_t> at_limit;
  for (int i = 0; i < 511; ++i) {
    PutBe32(at_limit, 0xffffffff);
    PutBe32(at_limit, 0x004e1200);
  }
  PutBe32(at_limit, 0xfffffffe);
  PutBe32(at_limit, 0x0f000001);
  at_limit.insert(at_limit.end(), table.begin(), table.end());
  ASSERT_LE(at_limit.size() + 16, kRamSize);
  Put(16, at_limit);
  auto info = Check(16, kQemuSupport);
  ASSERT_TRUE(info.is_ok()) << of::CasErrorName(info.error());
  EXPECT_EQ(info.value().pvr_entries, 512u);

  // 512 ordinary entries: no terminator within the limit.
  std::vector<uint8_t> too_long;
  for (int i = 0; i < 512; ++i) {
    PutBe32(too_long, 0xffffffff);
    PutBe32(too_long, 0x004e1200);
  }
  PutBe32(too_long, 0xfffffffe);
  PutBe32(too_long, 0x0f000001);
  too_long.insert(too_long.end(), table.begin(), table.end());
  Put(16, too_long);
  EXPECT_EQ(Check(16, kQemuSupport).error(), CasError::kPvrListTooLong);
}

TEST_F(CasVectorTest, AVectorRunningOffTheEndOfRamIsUnreadable) {
  const std::vector<uint8_t> vector = LinuxVector();
  // Cut inside the PVR list, at the count byte, at a length byte, and inside vector 5.
  for (size_t keep : {size_t{20}, size_t{14 * 8}, size_t{14 * 8 + 1}, size_t{14 * 8 + 1 + 4},
                      size_t{kLinuxWalkedSize - 10}}) {
    const uint64_t address = kRamSize - keep;
    Put(address, std::vector<uint8_t>(vector.begin(), vector.begin() + static_cast<long>(keep)));
    auto info = Check(address, kQemuSupport);
    ASSERT_TRUE(info.is_error()) << keep;
    EXPECT_EQ(info.error(), CasError::kUnreadable) << keep;
  }
  EXPECT_EQ(Check(kRamSize, kQemuSupport).error(), CasError::kUnreadable);
  EXPECT_EQ(Check(0xfffffff8, kQemuSupport).error(), CasError::kUnreadable);
}

TEST_F(CasVectorTest, HashAndRadixTogetherIsRefused) {
  Put(0x1000, LinuxVector(0x00, 0x80));  // OV5 byte 24 bit 0: "both"
  EXPECT_EQ(Check(0x1000, kQemuSupport).error(), CasError::kMmuBoth);
  Put(0x1000, LinuxVector(0x00, 0xc0));
  EXPECT_EQ(Check(0x1000, kQemuSupport).error(), CasError::kMmuBoth);
}

TEST_F(CasVectorTest, BothInterruptModesTogetherIsRefused) {
  Put(0x1000, LinuxVector(0x80, 0x00));  // OV5 byte 23 bit 0: "both"
  EXPECT_EQ(Check(0x1000, kQemuSupport).error(), CasError::kInterruptBoth);
  EXPECT_EQ(Check(0x1000, {}).error(), CasError::kInterruptBoth);
}

TEST_F(CasVectorTest, XiveOnlyWhenThePlatformOffersIt) {
  const std::vector<uint8_t> xics_only = {0x17, 0x00, 0x18, 0x00};
  const std::vector<uint8_t> either = {0x18, 0x40, 0x17, 0x80};
  const std::vector<uint8_t> xive_only = {0x17, 0x40};
  Put(0x1000, LinuxVector(0x40, 0x00));  // asks for XIVE exploitation
  EXPECT_EQ(Check(0x1000, xics_only).error(), CasError::kInterruptMode);
  EXPECT_TRUE(Check(0x1000, either).is_ok());
  EXPECT_TRUE(Check(0x1000, xive_only).is_ok());
  EXPECT_TRUE(Check(0x1000, {}).is_ok());

  Put(0x1000, LinuxVector(0x00, 0x00));  // asks for XICS
  EXPECT_TRUE(Check(0x1000, xics_only).is_ok());
  EXPECT_TRUE(Check(0x1000, either).is_ok());
  EXPECT_EQ(Check(0x1000, xive_only).error(), CasError::kInterruptMode);
  // A truncated pair (index without value) is no information.
  EXPECT_TRUE(Check(0x1000, {0x18, 0x40, 0x17}).is_ok());
}

TEST_F(CasVectorTest, AShortVector5AsksForNeitherXiveNorRadix) {
  std::vector<uint8_t> vector = LinuxVector(0x40, 0x40);
  // Shrink vector 5 to 22 bytes: bytes 23 and 24 are not part of it.
  const size_t ov5 = 14 * 8 + 1 + 4 + 34 + 3 + 3;
  ASSERT_EQ(vector[ov5], 25);
  vector[ov5] = 21;
  vector.erase(vector.begin() + static_cast<long>(ov5 + 1 + 22),
               vector.begin() + static_cast<long>(ov5 + 1 + 26));
  Put(0x1000, vector);
  auto info = Check(0x1000, kQemuSupport);
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info.value().ov5_interrupt, 0);
  EXPECT_EQ(info.value().ov5_mmu, 0);
  EXPECT_EQ(info.value().size, kLinuxWalkedSize - 4);
  EXPECT_EQ(Check(0x1000, {0x17, 0x40}).error(), CasError::kInterruptMode);
}

TEST(CasError, NamesAreDistinct) {
  const CasError errors[] = {CasError::kUnreadable,    CasError::kPvrListTooLong,
                             CasError::kMissingVector, CasError::kMmuBoth,
                             CasError::kInterruptBoth, CasError::kInterruptMode,
                             CasError::kBadAnswer,     CasError::kMerge};
  std::vector<std::string> names;
  for (CasError e : errors) names.push_back(of::CasErrorName(e));
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = i + 1; j < names.size(); ++j) EXPECT_NE(names[i], names[j]);
  }
}

// ---------------------------------------------------------------------------------------------
// MergeCasTree

// cas-initial.dts after Tree::Init: QEMU's 0x1111 kept, the rest numbered from 0x1112.
constexpr Phandle kRoot = 0x1112;
constexpr Phandle kChosen = 0x1113;
constexpr Phandle kEventSources = 0x1115;
constexpr Phandle kHotPlugEvents = 0x1116;
constexpr Phandle kEpowEvents = 0x1117;
constexpr Phandle kCpus = 0x1118;
constexpr Phandle kCpu0 = 0x1119;
constexpr Phandle kVdevice = 0x111a;
constexpr Phandle kVty = 0x111b;
constexpr Phandle kNvram = 0x111c;
constexpr Phandle kPci = 0x111d;
constexpr Phandle kMemory = 0x111e;
constexpr Phandle kIntc = 0x1111;

std::string Cell(uint32_t value) {
  const lib::Be32 be(value);
  return std::string(reinterpret_cast<const char*>(&be), 4);
}

// Names of the root's children, exactly as in the tree.
std::vector<std::string> RootChildren(const of::Tree& tree) {
  std::vector<std::string> names;
  for (Phandle c = tree.Child(tree.Root()); c != 0; c = tree.Peer(c)) {
    names.push_back(PathOf(tree, c).substr(1));
  }
  return names;
}

// A copy of `dtb` with room for libfdt edits.
std::vector<uint8_t> Editable(const std::vector<uint8_t>& dtb) {
  std::vector<uint8_t> out(dtb.size() + 4096);
  EXPECT_EQ(fdt_open_into(dtb.data(), out.data(), static_cast<int>(out.size())), 0);
  return out;
}

class MergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(holder_.Init(tests::LoadDtb("cas-initial.dtb"), 4096));
    answer_ = tests::LoadDtb("cas-answer.dtb");
    ASSERT_TRUE(lib::fdt::CheckBlob(answer_.data(), answer_.size()).is_ok());
    // What the firmware and the OS put into /chosen before CAS.
    const lib::Be32 ihandle(0x49000000);
    ASSERT_TRUE(tree().SetProperty(kChosen, "stdout", &ihandle, 4).is_ok());
    ASSERT_TRUE(tree().SetProperty(kChosen, "linux,memory-limit", "\0\0\0\0\x10\0\0\0", 8).is_ok());
  }
  of::Tree& tree() { return holder_.tree; }
  lib::Result<void, CasError> Merge(const std::vector<uint8_t>& answer) {
    return of::MergeCasTree(tree(), answer.data());
  }

  tests::TreeHolder holder_;
  std::vector<uint8_t> answer_;
};

TEST_F(MergeTest, TheFixturePhandlesAreAsExpected) {
  EXPECT_EQ(tree().Root(), kRoot);
  EXPECT_EQ(tree().FindDevice("/chosen"), kChosen);
  EXPECT_EQ(tree().FindDevice("/event-sources/epow-events"), kEpowEvents);
  EXPECT_EQ(tree().FindDevice("/vdevice/nvram@71000001"), kNvram);
  EXPECT_EQ(tree().FindDevice("/memory@0"), kMemory);
  EXPECT_EQ(tree().FindDevice("/interrupt-controller"), kIntc);
}

TEST_F(MergeTest, XicsControllerIsReplacedByXiveWithTheSamePhandle) {
  ASSERT_TRUE(Merge(answer_).is_ok());
  const Phandle xive = tree().FindDevice("/interrupt-controller@6030000000000");
  EXPECT_EQ(xive, kIntc);
  EXPECT_EQ(PropertyOf(tree(), xive, "compatible"), std::string("ibm,power-ivpe\0", 15));
  EXPECT_EQ(PropertyOf(tree(), xive, "ibm,xive-eq-sizes"),
            Cell(0xc) + Cell(0x10) + Cell(0x15) + Cell(0x18));
  EXPECT_EQ(PropertyOf(tree(), xive, "name"), std::string("interrupt-controller\0", 21));
  EXPECT_EQ(PropertyOf(tree(), xive, "phandle"), Cell(kIntc));
  EXPECT_EQ(PropertyOf(tree(), xive, "linux,phandle"), Cell(kIntc));  // QEMU's, and it agrees
  // The XICS node is gone: no root child is called exactly "interrupt-controller" any more.
  const auto children = RootChildren(tree());
  EXPECT_EQ(std::count(children.begin(), children.end(), "interrupt-controller"), 0);
  EXPECT_EQ(std::count(children.begin(), children.end(), "interrupt-controller@6030000000000"), 1);
  // The PHB's interrupt-map still names 0x1111, now the XIVE controller.
  auto map = tree().GetProperty(kPci, "interrupt-map");
  ASSERT_TRUE(map.is_ok());
  EXPECT_EQ(lib::LoadBe32(map.value().data() + 16), kIntc);
  tests::ExpectConsistent(tree());
}

// /memory@0's reg is read with the root's cells when tern rewrites `available` after the merge:
// an answer that sets them outside 1..2 (0x40000000 cells once overflowed that rewrite; 3 shifted
// a 64-bit value by 64) is refused whole (found by the cas_answer fuzz target).
TEST_F(MergeTest, RootCellsOutsideOneAndTwoAreRefusedBeforeAnythingChanges) {
  std::vector<uint8_t> before(tree().capacity());
  ASSERT_TRUE(tree().Flatten(before.data(), before.size()).is_ok());
  for (const char* name : {"#address-cells", "#size-cells"}) {
    for (uint32_t cells : {0u, 3u, 0x40000000u}) {
      std::vector<uint8_t> answer = Editable(answer_);
      ASSERT_EQ(fdt_setprop_u32(answer.data(), 0, name, cells), 0);
      EXPECT_EQ(Merge(answer).error(), CasError::kBadAnswer) << name << " " << cells;
      std::vector<uint8_t> after(tree().capacity());
      ASSERT_TRUE(tree().Flatten(after.data(), after.size()).is_ok());
      EXPECT_EQ(before, after) << name << " " << cells;
    }
  }
  std::vector<uint8_t> one_cell = Editable(answer_);
  ASSERT_EQ(fdt_setprop(one_cell.data(), 0, "#size-cells", "\0\0", 2), 0);  // not a cell
  EXPECT_EQ(Merge(one_cell).error(), CasError::kBadAnswer);
}

TEST_F(MergeTest, NodesAreAddedAndRemovedOthersKeepTheirPhandles) {
  ASSERT_TRUE(Merge(answer_).is_ok());
  // The nvram is no longer in the answer.
  EXPECT_FALSE(tree().IsValid(kNvram));
  EXPECT_EQ(tree().FindDevice("/vdevice/nvram"), 0u);
  EXPECT_EQ(tree().Child(kVdevice), kVty);
  EXPECT_EQ(tree().Peer(kVty), 0u);
  // The new node, with a phandle of its own and every property of the answer.
  const Phandle drmem = tree().FindDevice("/ibm,dynamic-reconfiguration-memory");
  ASSERT_NE(drmem, 0u);
  for (Phandle old :
       {kRoot, kChosen, kEventSources, kCpus, kCpu0, kVdevice, kVty, kPci, kMemory, kIntc}) {
    EXPECT_NE(drmem, old);
  }
  EXPECT_EQ(PropertyOf(tree(), drmem, "ibm,lmb-size"), Cell(0) + Cell(0x10000000));
  EXPECT_EQ(PropertyOf(tree(), drmem, "name"),
            std::string("ibm,dynamic-reconfiguration-memory\0", 35));
  EXPECT_NE(PropertyOf(tree(), drmem, "ibm,dynamic-memory-v2"), "<absent>");
  // Every node both trees have keeps the phandle Linux may already hold.
  EXPECT_EQ(tree().Root(), kRoot);
  EXPECT_EQ(tree().FindDevice("/chosen"), kChosen);
  EXPECT_EQ(tree().FindDevice("/event-sources"), kEventSources);
  EXPECT_EQ(tree().FindDevice("/event-sources/hot-plug-events"), kHotPlugEvents);
  EXPECT_EQ(tree().FindDevice("/cpus/PowerPC,POWER9@0"), kCpu0);
  EXPECT_EQ(tree().FindDevice("/vdevice/vty@71000000"), kVty);
  EXPECT_EQ(tree().FindDevice("/pci@800000020000000"), kPci);
  EXPECT_EQ(tree().FindDevice("/memory@0"), kMemory);
  // QEMU's own phandle for /event-sources is not taken over.
  EXPECT_EQ(PropertyOf(tree(), kEventSources, "phandle"), Cell(kEventSources));
  EXPECT_FALSE(tree().IsValid(0x2222));
  tests::ExpectConsistent(tree());
}

TEST_F(MergeTest, ChangedPropertiesAreWritten) {
  ASSERT_TRUE(Merge(answer_).is_ok());
  EXPECT_EQ(PropertyOf(tree(), kCpu0, "cpu-version"), Cell(0x0f000005));
  auto pa = tree().GetProperty(kCpu0, "ibm,pa-features");
  ASSERT_TRUE(pa.is_ok());
  EXPECT_EQ(pa.value().size(), 66u);  // grew from 26 bytes
  EXPECT_EQ(pa.value()[0], 0x40);
  EXPECT_EQ(PropertyOf(tree(), tree().FindDevice("/rtas"), "ibm,hypertas-functions"),
            std::string("hcall-pft\0hcall-term\0hcall-multi-tce\0", 37));
  EXPECT_EQ(PropertyOf(tree(), kRoot, "ibm,plat-res-int-priorities"), Cell(8) + Cell(0x70));
  // Untouched properties and the firmware's own additions remain.
  EXPECT_EQ(PropertyOf(tree(), kCpu0, "name"), std::string("PowerPC,POWER9\0", 15));
  EXPECT_EQ(PropertyOf(tree(), kMemory, "reg"), Cell(0) + Cell(0) + Cell(0) + Cell(0x40000000));
}

TEST_F(MergeTest, FirmwareChosenPropertiesSurvive) {
  ASSERT_TRUE(Merge(answer_).is_ok());
  EXPECT_EQ(tree().FindDevice("/chosen"), kChosen);
  // From the answer.
  EXPECT_EQ(PropertyOf(tree(), kChosen, "rng-seed"), Cell(0x33333333) + Cell(0x44444444));
  auto vec5 = tree().GetProperty(kChosen, "ibm,architecture-vec-5");
  ASSERT_TRUE(vec5.is_ok());
  ASSERT_EQ(vec5.value().size(), 25u);
  EXPECT_EQ(vec5.value()[23], 0x40);
  EXPECT_EQ(vec5.value()[24], 0x40);
  // From QEMU's first tree, the firmware and the OS: all kept.
  EXPECT_EQ(PropertyOf(tree(), kChosen, "bootargs"),
            std::string("console=hvc0 root=/dev/vda\0", 27));
  EXPECT_EQ(PropertyOf(tree(), kChosen, "stdout-path"), std::string("/vdevice/vty@71000000\0", 22));
  EXPECT_EQ(PropertyOf(tree(), kChosen, "stdout"), Cell(0x49000000));
  EXPECT_EQ(PropertyOf(tree(), kChosen, "linux,memory-limit"), Cell(0) + Cell(0x10000000));
  EXPECT_EQ(PropertyOf(tree(), kChosen, "ibm,arch-vec-5-platform-support"),
            std::string("\x17\x80\x18\xc0\x19\x00\x1a\x40", 8));
  EXPECT_NE(PropertyOf(tree(), kChosen, "qemu,boot-kernel"), "<absent>");
}

TEST_F(MergeTest, InterruptParentNamingAnExistingNodeByQemusPhandleIsRemapped) {
  ASSERT_TRUE(Merge(answer_).is_ok());
  // The answer's /event-sources is phandle 0x2222 there; the live node is kEventSources.
  EXPECT_EQ(PropertyOf(tree(), kHotPlugEvents, "interrupt-parent"), Cell(kEventSources));
  // 0x1111 is the same node in both trees: unchanged.
  EXPECT_EQ(PropertyOf(tree(), kEpowEvents, "interrupt-parent"), Cell(kIntc));
}

TEST_F(MergeTest, MergingTheSameAnswerTwiceChangesNothingMore) {
  ASSERT_TRUE(Merge(answer_).is_ok());
  std::vector<uint8_t> once(tree().capacity());
  auto once_size = tree().Flatten(once.data(), once.size());
  ASSERT_TRUE(once_size.is_ok());
  ASSERT_TRUE(Merge(answer_).is_ok());
  std::vector<uint8_t> twice(tree().capacity());
  auto twice_size = tree().Flatten(twice.data(), twice.size());
  ASSERT_TRUE(twice_size.is_ok());
  ASSERT_EQ(once_size.value(), twice_size.value());
  EXPECT_EQ(std::memcmp(once.data(), twice.data(), once_size.value()), 0);
}

TEST_F(MergeTest, TheMergedTreeFlattensToAValidBlob) {
  ASSERT_TRUE(Merge(answer_).is_ok());
  std::vector<uint8_t> flat(tree().capacity());
  auto size = tree().Flatten(flat.data(), flat.size());
  ASSERT_TRUE(size.is_ok());
  ASSERT_TRUE(lib::fdt::CheckBlob(flat.data(), size.value()).is_ok());
  const int xive = fdt_path_offset(flat.data(), "/interrupt-controller@6030000000000");
  ASSERT_GE(xive, 0);
  EXPECT_EQ(fdt_get_phandle(flat.data(), xive), kIntc);
  int node;
  fdt_for_each_subnode(node, flat.data(), 0) {
    EXPECT_STRNE(fdt_get_name(flat.data(), node, nullptr), "interrupt-controller");
  }
  EXPECT_EQ(fdt_num_mem_rsv(flat.data()), 1);  // the answer has none; the live tree keeps its own
}

// A new node whose QEMU phandle the live tree already uses for another node gets a fresh phandle,
// and interrupt-parent references to it that the merge reaches after adding it follow.
TEST_F(MergeTest, NewNodeWithATakenPhandleGetsAFreshOneAndLaterReferencesFollow) {
  std::vector<uint8_t> answer = Editable(answer_);
  void* fdt = answer.data();
  const int pci = fdt_path_offset(fdt, "/pci@800000020000000");
  const int added = fdt_add_subnode(fdt, pci, "ibm,new-intc@0");
  ASSERT_GE(added, 0);
  ASSERT_EQ(fdt_setprop_u32(fdt, added, "phandle", kRoot), 0);  // taken by the live root
  ASSERT_EQ(fdt_setprop_u32(fdt, added, "linux,phandle", kRoot), 0);
  ASSERT_EQ(fdt_setprop_u32(fdt, fdt_path_offset(fdt, "/memory@0"), "interrupt-parent", kRoot), 0);
  ASSERT_TRUE(Merge(answer).is_ok());

  const Phandle node = tree().FindDevice("/pci@800000020000000/ibm,new-intc@0");
  ASSERT_NE(node, 0u);
  EXPECT_NE(node, kRoot);
  EXPECT_EQ(tree().Root(), kRoot);
  EXPECT_EQ(PropertyOf(tree(), kMemory, "interrupt-parent"), Cell(node));
  // QEMU's linux,phandle would contradict the new phandle: it is not taken over.
  EXPECT_EQ(PropertyOf(tree(), node, "linux,phandle"), "<absent>");
  EXPECT_EQ(PropertyOf(tree(), kRoot, "linux,phandle"), "<absent>");
  tests::ExpectConsistent(tree());
}

// The same remap for a reference in a node the merge visits before the new node (/vdevice comes
// before /pci@...): MergeCasTree records the remap only when it adds the node, so the earlier
// interrupt-parent keeps QEMU's value, which in the live tree names the root.
TEST_F(MergeTest, NewNodeWithATakenPhandleEarlierReferencesFollowToo) {
  std::vector<uint8_t> answer = Editable(answer_);
  void* fdt = answer.data();
  const int pci = fdt_path_offset(fdt, "/pci@800000020000000");
  const int added = fdt_add_subnode(fdt, pci, "ibm,new-intc@0");
  ASSERT_GE(added, 0);
  ASSERT_EQ(fdt_setprop_u32(fdt, added, "phandle", kRoot), 0);
  ASSERT_EQ(fdt_setprop_u32(fdt, fdt_path_offset(fdt, "/vdevice"), "interrupt-parent", kRoot), 0);
  ASSERT_TRUE(Merge(answer).is_ok());

  const Phandle node = tree().FindDevice("/pci@800000020000000/ibm,new-intc@0");
  ASSERT_NE(node, 0u);
  EXPECT_EQ(PropertyOf(tree(), kVdevice, "interrupt-parent"), Cell(node));
}

// The header promises that the firmware's /chosen is kept whole; an answer without /chosen (QEMU
// always sends one, so this is a malformed answer) deletes it with bootargs and stdout.
TEST_F(MergeTest, AnAnswerWithoutChosenKeepsTheFirmwareChosen) {
  std::vector<uint8_t> answer = Editable(answer_);
  ASSERT_EQ(fdt_del_node(answer.data(), fdt_path_offset(answer.data(), "/chosen")), 0);
  ASSERT_TRUE(Merge(answer).is_ok());
  EXPECT_EQ(tree().FindDevice("/chosen"), kChosen);
  EXPECT_EQ(PropertyOf(tree(), kChosen, "stdout"), Cell(0x49000000));
}

TEST_F(MergeTest, ChosenChildrenSurviveToo) {
  ASSERT_TRUE(tree().AddNode(kChosen, "firmware-child", 0).is_ok());
  ASSERT_TRUE(Merge(answer_).is_ok());
  EXPECT_NE(tree().FindDevice("/chosen/firmware-child"), 0u);
}

// ---------------------------------------------------------------------------------------------
// CasMerge: all or nothing

// A packed copy of `tree`, to compare byte for byte.
std::vector<uint8_t> Flat(const of::Tree& tree) {
  std::vector<uint8_t> out(tree.capacity());
  auto size = tree.Flatten(out.data(), out.size());
  EXPECT_TRUE(size.is_ok());
  out.resize(size.is_ok() ? size.value() : 0);
  return out;
}

// Every node's path and every property's name and value, in the blob's order: two trees with
// the same list have the same content, whatever order their strings blocks hold the names in.
std::vector<std::string> Contents(const of::Tree& tree) {
  std::vector<std::string> out;
  const void* blob = tree.blob();
  for (int node = 0; node >= 0; node = fdt_next_node(blob, node, nullptr)) {
    const std::string path = PathOf(tree, tree.PhandleAt(node));
    out.push_back(path);
    int property;
    fdt_for_each_property_offset(property, blob, node) {
      const char* name = nullptr;
      int length = 0;
      const auto* value =
          static_cast<const char*>(fdt_getprop_by_offset(blob, property, &name, &length));
      out.push_back(path + " " + name + "=" + std::string(value, static_cast<size_t>(length)));
    }
  }
  return out;
}

// MergeTest's tree and answer, with client memory for the scratch copy: 8 MiB of guest RAM,
// the first MiB the firmware's.
class CasMergeTest : public MergeTest {
 protected:
  static constexpr uint64_t kRam = 8u << 20;
  CasMergeTest() : ram_(kRam), memory_(reinterpret_cast<uintptr_t>(ram_.data()), kRam) {}
  void SetUp() override {
    MergeTest::SetUp();
    ASSERT_TRUE(claims_.Reserve(0, 1u << 20).is_ok());
  }
  // What a plain MergeCasTree makes of the same start.
  std::vector<std::string> MergedByMergeCasTree(const std::vector<uint8_t>& answer) {
    tests::TreeHolder copy;
    EXPECT_TRUE(copy.Init(Flat(tree()), 4096));
    EXPECT_TRUE(of::MergeCasTree(copy.tree, answer.data()).is_ok());
    return Contents(copy.tree);
  }

  std::vector<uint8_t> ram_;
  lib::GuestMemory memory_;
  of::ClaimMap claims_{kRam};
};

TEST_F(CasMergeTest, TryLeavesTheLiveTreeAloneAndCommitMergesLikeMergeCasTree) {
  const std::vector<uint8_t> before = Flat(tree());
  const std::vector<std::string> expected = MergedByMergeCasTree(answer_);
  {
    of::CasMerge merge(tree(), claims_, memory_);
    ASSERT_TRUE(merge.Try(answer_.data()).is_ok());
    EXPECT_EQ(Flat(tree()), before);
    EXPECT_EQ(merge.merged().FindDevice("/interrupt-controller@6030000000000"), kIntc);
    EXPECT_EQ(merge.merged().FindDevice("/vdevice/nvram@71000001"), 0u);
    // The scratch copy lives in client memory tern claimed for it.
    ASSERT_EQ(claims_.claimed().size(), 2u);
    EXPECT_GE(claims_.claimed()[1].size, of::CasMerge::ScratchBytes(tree(), answer_.data()));
    ASSERT_TRUE(merge.Commit(answer_.data()).is_ok());
    EXPECT_EQ(Contents(tree()), expected);
  }
  EXPECT_EQ(claims_.claimed().size(), 1u);  // released with the CasMerge
  tests::ExpectConsistent(tree());
}

// `answer_` with "vty" added beside "vty@71000000": libfdt refuses to add it (it matches a name
// without a unit address against one with it), once the merge has removed the nvram and added
// the XIVE controller.
std::vector<uint8_t> WithVtyWithoutUnit(const std::vector<uint8_t>& answer) {
  std::vector<uint8_t> out(answer.size() + 256);
  EXPECT_EQ(fdt_open_into(answer.data(), out.data(), static_cast<int>(out.size())), 0);
  const int vty = fdt_add_subnode(out.data(), fdt_path_offset(out.data(), "/vdevice"), "x");
  EXPECT_GE(vty, 0);
  EXPECT_EQ(fdt_set_name(out.data(), vty, "vty"), 0);
  return out;
}

// `answer` with a new node /big holding a `size`-byte property and `nodes` children.
std::vector<uint8_t> WithMore(const std::vector<uint8_t>& answer, size_t size, int nodes) {
  std::vector<uint8_t> out(answer.size() + size + 64 * static_cast<size_t>(nodes) + 4096);
  EXPECT_EQ(fdt_open_into(answer.data(), out.data(), static_cast<int>(out.size())), 0);
  const int big = fdt_add_subnode(out.data(), 0, "big");
  EXPECT_GE(big, 0);
  EXPECT_EQ(fdt_setprop(out.data(), big, "blob", std::vector<uint8_t>(size, 0x5a).data(),
                        static_cast<int>(size)),
            0);
  for (int i = 0; i < nodes; ++i) {
    EXPECT_GE(fdt_add_subnode(out.data(), big, ("n@" + std::to_string(i)).c_str()), 0);
  }
  return out;
}

TEST_F(CasMergeTest, AFailedTrialLeavesTheLiveTreeAndTheClaimsAlone) {
  const std::vector<uint8_t> before = Flat(tree());
  const std::vector<uint8_t> answer = WithVtyWithoutUnit(answer_);
  {
    // MergeCasTree alone stops half way.
    tests::TreeHolder copy;
    ASSERT_TRUE(copy.Init(before, 4096));
    EXPECT_EQ(of::MergeCasTree(copy.tree, answer.data()).error(), CasError::kMerge);
    EXPECT_NE(Flat(copy.tree), before);
  }
  {
    of::CasMerge merge(tree(), claims_, memory_);
    EXPECT_EQ(merge.Try(answer.data()).error(), CasError::kMerge);
    EXPECT_EQ(merge.Commit(answer.data()).error(), CasError::kMerge);  // no trial to follow
    EXPECT_EQ(Flat(tree()), before);
  }
  EXPECT_EQ(claims_.claimed().size(), 1u);
}

TEST_F(CasMergeTest, WithoutClientMemoryForTheCopyNothingIsTried) {
  const std::vector<uint8_t> before = Flat(tree());
  of::ClaimMap small((1u << 20) + 0x10000);
  ASSERT_TRUE(small.Reserve(0, 1u << 20).is_ok());
  {
    of::CasMerge merge(tree(), small, memory_);
    EXPECT_EQ(merge.Try(answer_.data()).error(), CasError::kNoRoom);
    EXPECT_EQ(merge.Commit(answer_.data()).error(), CasError::kMerge);
  }
  EXPECT_EQ(small.claimed().size(), 1u);
  EXPECT_EQ(Flat(tree()), before);
}

// The live tree's arena holds its first copy and 2 KiB: an answer that needs the blob to grow
// passes the trial (in client memory) and is then refused, the tree as it was.
TEST_F(CasMergeTest, AnArenaTooSmallForTheMergeIsNoRoomWithTheTreeAsItWas) {
  const std::vector<uint8_t> start = Flat(tree());
  tests::TreeHolder small(of::Tree::InitFootprint(start.data(), 4096) + 2048);
  ASSERT_TRUE(small.Init(start, 4096));
  const std::vector<uint8_t> before = Flat(small.tree);
  const std::vector<uint8_t> answer = WithMore(answer_, 64 * 1024, 0);
  of::CasMerge merge(small.tree, claims_, memory_);
  ASSERT_TRUE(merge.Try(answer.data()).is_ok());
  EXPECT_NE(merge.merged().FindDevice("/big"), 0u);
  EXPECT_EQ(merge.Commit(answer.data()).error(), CasError::kNoRoom);
  EXPECT_EQ(Flat(small.tree), before);
  tests::ExpectConsistent(small.tree);
}

// Room for a big value and a hundred new nodes (more than the index holds) is made before the
// merge; the tree ends as MergeCasTree leaves it, the placeholder gone.
TEST_F(CasMergeTest, AMergeThatNeedsTheTreeToGrowEndsAsMergeCasTreeLeavesIt) {
  const std::vector<uint8_t> answer = WithMore(answer_, 64 * 1024, 100);
  const std::vector<std::string> expected = MergedByMergeCasTree(answer);
  const size_t capacity = tree().capacity();
  of::CasMerge merge(tree(), claims_, memory_);
  ASSERT_TRUE(merge.Try(answer.data()).is_ok());
  ASSERT_TRUE(merge.Commit(answer.data()).is_ok());
  EXPECT_GT(tree().capacity(), capacity);
  EXPECT_EQ(Contents(tree()), expected);
  EXPECT_EQ(tree().FindDevice("/tern,cas-room"), 0u);
  tests::ExpectConsistent(tree());
}

// Whatever the arena holds, Commit either merges the whole answer or, kNoRoom, leaves the tree
// as it was: never part merged. Arenas from the first copy alone up to enough, finely around
// the size where the merge starts to fit (where the blob or the index just cannot grow).
TEST_F(CasMergeTest, EveryArenaSizeEndsMergedWholeOrUnchanged) {
  const std::vector<uint8_t> start = Flat(tree());
  const std::vector<uint8_t> answer = WithMore(answer_, 48 * 1024, 40);
  const std::vector<std::string> expected = MergedByMergeCasTree(answer);
  const size_t footprint = of::Tree::InitFootprint(start.data(), 4096);
  // Merged with `extra` bytes of arena beyond the first copy.
  auto merged_with = [&](size_t extra) {
    tests::TreeHolder small(footprint + extra);
    EXPECT_TRUE(small.Init(start, 4096));
    const std::vector<std::string> before = Contents(small.tree);
    of::CasMerge merge(small.tree, claims_, memory_);
    EXPECT_TRUE(merge.Try(answer.data()).is_ok());
    auto committed = merge.Commit(answer.data());
    tests::ExpectConsistent(small.tree);
    if (committed.is_ok()) {
      EXPECT_EQ(Contents(small.tree), expected) << extra;
    } else {
      EXPECT_EQ(committed.error(), CasError::kNoRoom) << extra;
      EXPECT_EQ(Contents(small.tree), before) << extra;
    }
    return committed.is_ok();
  };
  size_t enough = 0;
  for (size_t extra = 0; extra <= 1024 * 1024 && enough == 0; extra += 32 * 1024) {
    if (merged_with(extra)) enough = extra;
  }
  ASSERT_GT(enough, 0u);
  for (size_t extra = enough - 32 * 1024; extra < enough; extra += 1024) (void)merged_with(extra);
}

}  // namespace
