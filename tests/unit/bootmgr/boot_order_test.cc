// bootmgr/boot-order.h: QEMU's boot list and boot device against the disks tern can read.
#include "bootmgr/boot-order.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/test-data.h"
#include "tests/tree-check.h"

namespace {

class BootOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        holder_.Init(tests::ReadFile(std::string(TERN_TEST_DATA_DIR) + "/boot-disks.dtb"), 4096));
    for (const char* path :
         {"/pci@800000020000000/scsi@2", "/pci@800000020000000/scsi@3",
          "/pci@800000020000001/scsi@0", "/vdevice/v-scsi@71000003/disk@8000000000000000"}) {
      const of::Phandle node = tree().FindDevice(path);
      ASSERT_NE(node, 0u) << path;
      disks_.push_back(bootmgr::BootDevice{node, nullptr, bootmgr::BootKind::kDisk});
    }
  }
  const of::Tree& tree() { return holder_.tree; }
  std::vector<std::string> Plan(const std::string& list, const std::string& device = "",
                                bool* strict = nullptr) {
    const bootmgr::BootOrder order = bootmgr::PlanBootOrder(
        tree(), lib::StringView(list.data(), list.size()),
        lib::StringView(device.data(), device.size()), {disks_.data(), disks_.size()});
    std::vector<std::string> paths;
    for (size_t i = 0; i < order.count; ++i)
      paths.push_back(tests::PathOf(tree(), order.candidates[i]));
    if (strict != nullptr) *strict = order.strict;
    return paths;
  }

  tests::TreeHolder holder_;
  std::vector<bootmgr::BootDevice> disks_;
};

TEST_F(BootOrderTest, WithoutABootListEveryDiskInTreeOrder) {
  EXPECT_EQ(Plan(""),
            (std::vector<std::string>{"/pci@800000020000000/scsi@2", "/pci@800000020000000/scsi@3",
                                      "/pci@800000020000001/scsi@0",
                                      "/vdevice/v-scsi@71000003/disk@8000000000000000"}));
}

TEST_F(BootOrderTest, TheBootListComesFirstThenTheRest) {
  EXPECT_EQ(Plan("/pci@800000020000001/scsi@0 /pci@800000020000000/scsi@3"),
            (std::vector<std::string>{"/pci@800000020000001/scsi@0", "/pci@800000020000000/scsi@3",
                                      "/pci@800000020000000/scsi@2",
                                      "/vdevice/v-scsi@71000003/disk@8000000000000000"}));
}

TEST_F(BootOrderTest, HaltMeansOnlyTheListedDevices) {
  bool strict = false;
  EXPECT_EQ(Plan("/vdevice/v-scsi@71000003/disk@8000000000000000 HALT", "", &strict),
            (std::vector<std::string>{"/vdevice/v-scsi@71000003/disk@8000000000000000"}));
  EXPECT_TRUE(strict);
}

TEST_F(BootOrderTest, UnknownAndRepeatedEntriesAreSkipped) {
  const std::string list =
      "/pci@800000020000000/ethernet@4 /no/such@1 /pci@800000020000000/scsi@3 "
      "/pci@800000020000000/scsi@3";
  const bootmgr::BootOrder order =
      bootmgr::PlanBootOrder(tree(), lib::StringView(list.data(), list.size()), lib::StringView(),
                             {disks_.data(), disks_.size()});
  ASSERT_EQ(order.count, 4u);
  EXPECT_EQ(tests::PathOf(tree(), order.candidates[0]), "/pci@800000020000000/scsi@3");
  ASSERT_EQ(order.unknown_count, 2u);
  EXPECT_EQ(std::string(order.unknown[0].data(), order.unknown[0].size()),
            "/pci@800000020000000/ethernet@4");
}

TEST_F(BootOrderTest, BootDeviceLetters) {
  EXPECT_EQ(Plan("", "c").size(), 4u);
  EXPECT_EQ(Plan("", "cd").size(), 4u);
  EXPECT_TRUE(Plan("", "d").empty());  // CD-ROMs (there are none here) or the network: no disk
  EXPECT_TRUE(Plan("", "n").empty());
  // The boot list still applies when the letters ask for no disk.
  EXPECT_EQ(Plan("/pci@800000020000000/scsi@2", "n"),
            (std::vector<std::string>{"/pci@800000020000000/scsi@2"}));
}

// CD-ROMs come after the disks unless QEMU's letters say otherwise (-boot once=d: 'd' alone;
// order=dc: the CD-ROMs first); the boot list still comes first.
TEST_F(BootOrderTest, CdromsByTheLetters) {
  const of::Phandle cd = disks_[1].node;  // /pci@800000020000000/scsi@3 taken for a CD-ROM
  disks_[1].kind = bootmgr::BootKind::kCdrom;
  const std::string cdrom = "/pci@800000020000000/scsi@3";
  EXPECT_EQ(Plan("").back(), cdrom);
  EXPECT_EQ(Plan("", "d"), (std::vector<std::string>{cdrom}));
  EXPECT_EQ(Plan("", "dc").front(), cdrom);
  EXPECT_EQ(Plan("", "dc").size(), 4u);
  EXPECT_EQ(Plan("", "c").size(), 3u);
  EXPECT_EQ(Plan("/pci@800000020000001/scsi@0", "d"),
            (std::vector<std::string>{"/pci@800000020000001/scsi@0", cdrom}));
  EXPECT_NE(cd, 0u);
}

// Network cards come last by default (disks, CD-ROMs, then NICs, as SLOF orders them); 'n' picks
// them (-boot once=n), and the boot list (bootindex on a NIC) puts one first.
TEST_F(BootOrderTest, NetworkCardsByTheLetters) {
  disks_[1].kind = bootmgr::BootKind::kCdrom;
  disks_[2].kind = bootmgr::BootKind::kNetwork;
  const std::string cdrom = "/pci@800000020000000/scsi@3";
  const std::string nic = "/pci@800000020000001/scsi@0";
  EXPECT_EQ(Plan(""), (std::vector<std::string>{"/pci@800000020000000/scsi@2",
                                                "/vdevice/v-scsi@71000003/disk@8000000000000000",
                                                cdrom, nic}));
  EXPECT_EQ(Plan("", "n"), (std::vector<std::string>{nic}));
  EXPECT_EQ(Plan("", "nc").front(), nic);
  EXPECT_EQ(Plan("", "nc").size(), 3u);
  EXPECT_EQ(Plan(nic + " HALT"), (std::vector<std::string>{nic}));
}

}  // namespace
